#include "auth/auth_store.hpp"

#include "db/transaction_helper.hpp"

namespace emporium::auth {

namespace {

namespace asio = boost::asio;

constexpr db::Statement kInsertUser{
    "auth.insert_user",
    "INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4) "
    "RETURNING id, email::text AS email, name, role, created_at"};
constexpr db::Statement kUserByEmail{
    "auth.user_by_email",
    "SELECT id, email::text AS email, name, role, created_at, password_hash FROM users WHERE email = $1"};
constexpr db::Statement kUserById{
    "auth.user_by_id", "SELECT id, email::text AS email, name, role, created_at FROM users WHERE id = $1"};
constexpr db::Statement kReplacePasswordHash{
    "auth.replace_password_hash", "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2"};
constexpr db::Statement kInsertFirstRefreshToken{
    "auth.insert_first_refresh_token",
    "INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) "
    "VALUES ($1, gen_random_uuid(), $2, now() + $3::bigint * interval '1 second') "
    "RETURNING family_id::text AS family_id"};
// A family is revoked as a whole (logout, logout-all, reuse), so one revoked row says it all.
constexpr db::Statement kFamilyRevoked{
    "auth.family_revoked",
    "SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1::uuid AND revoked_at IS NOT NULL) "
    "AS revoked"};
constexpr db::Statement kRefreshFamily{
    "auth.refresh_family", "SELECT family_id::text AS family_id FROM refresh_tokens WHERE token_hash = $1"};
// Serialises rotation and revocation within one family until the transaction ends. The first key
// (0x4175_7468, "Auth") is this context's advisory-lock class; the second is the family's hash.
constexpr db::Statement kLockFamily{"auth.lock_family",
                                    "SELECT pg_advisory_xact_lock(1098216552, hashtext($1))"};
constexpr db::Statement kConsumeRefreshToken{
    "auth.consume_refresh_token",
    "UPDATE refresh_tokens rt SET consumed_at = clock_timestamp() FROM users u "
    "WHERE rt.token_hash = $1 AND rt.consumed_at IS NULL AND rt.revoked_at IS NULL "
    "AND rt.expires_at > clock_timestamp() AND u.id = rt.user_id "
    "RETURNING rt.id, rt.user_id, rt.family_id::text AS family_id, u.role"};
constexpr db::Statement kInsertChildRefreshToken{
    "auth.insert_child_refresh_token",
    "INSERT INTO refresh_tokens (user_id, family_id, token_hash, parent_id, expires_at) "
    "VALUES ($1, $2::uuid, $3, $4, now() + $5::bigint * interval '1 second')"};
constexpr db::Statement kRefreshTokenState{
    "auth.refresh_token_state",
    "SELECT user_id, revoked_at IS NOT NULL AS revoked, consumed_at IS NOT NULL AS consumed, "
    "expires_at <= clock_timestamp() AS expired, "
    "coalesce(clock_timestamp() - consumed_at <= $2::bigint * interval '1 millisecond', false) AS "
    "within_grace "
    "FROM refresh_tokens WHERE token_hash = $1"};
constexpr db::Statement kRevokeFamily{"auth.revoke_family",
                                      "UPDATE refresh_tokens SET revoked_at = clock_timestamp() WHERE "
                                      "family_id = $1::uuid AND revoked_at IS NULL"};
constexpr db::Statement kLockUserFamilies{
    "auth.lock_user_families",
    "SELECT pg_advisory_xact_lock(1098216552, hashtext(f.family_id)) FROM "
    "(SELECT DISTINCT family_id::text AS family_id FROM refresh_tokens "
    " WHERE user_id = $1 AND revoked_at IS NULL ORDER BY 1) f"};
constexpr db::Statement kRevokeUserTokens{
    "auth.revoke_user_tokens",
    "UPDATE refresh_tokens SET revoked_at = clock_timestamp() WHERE user_id = $1 AND revoked_at IS NULL"};

Role role_of(const db::QueryResult& r, std::size_t row) {
    return parse_role(r.get<std::string>(row, "role")).value_or(Role::kCustomer);
}

User user_of(const db::QueryResult& r, std::size_t row) {
    User u;
    u.id = r.get<std::int64_t>(row, "id");
    u.email = r.get<std::string>(row, "email");
    u.name = r.get<std::string>(row, "name");
    u.role = role_of(r, row);
    u.created_at = r.get<db::Timestamp>(row, "created_at");
    return u;
}

asio::awaitable<RotateOutcome>
rotate_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by with_transaction
    db::Transaction& tx,
    std::string old_hash,
    std::string new_hash,
    std::chrono::seconds ttl,
    std::chrono::milliseconds grace) {
    RotateOutcome out;
    auto family = co_await tx.query(kRefreshFamily, db::params(db::Param::bytea(old_hash)));
    if (family.empty()) co_return out;  // kUnknown
    out.family_id = family.get<std::string>(0, "family_id");
    co_await tx.query(kLockFamily, db::params(out.family_id));

    auto consumed = co_await tx.query(kConsumeRefreshToken, db::params(db::Param::bytea(old_hash)));
    if (!consumed.empty()) {
        out.kind = RotateOutcome::Kind::kRotated;
        out.user_id = consumed.get<std::int64_t>(0, "user_id");
        out.role = role_of(consumed, 0);
        co_await tx.query(kInsertChildRefreshToken,
                          db::params(out.user_id,
                                     out.family_id,
                                     db::Param::bytea(new_hash),
                                     consumed.get<std::int64_t>(0, "id"),
                                     static_cast<long long>(ttl.count())));
        co_return out;
    }
    auto state = co_await tx.query(
        kRefreshTokenState, db::params(db::Param::bytea(old_hash), static_cast<long long>(grace.count())));
    if (state.empty()) co_return out;  // deleted in between (user deleted): unknown
    out.user_id = state.get<std::int64_t>(0, "user_id");
    if (state.get<bool>(0, "revoked")) {
        out.kind = RotateOutcome::Kind::kRevoked;
    } else if (state.get<bool>(0, "consumed")) {
        if (state.get<bool>(0, "within_grace")) {
            out.kind = RotateOutcome::Kind::kRaceLost;
        } else {
            out.kind = RotateOutcome::Kind::kReuse;
            auto revoked = co_await tx.query(kRevokeFamily, db::params(out.family_id));
            out.revoked_tokens = revoked.affected();
        }
    } else {
        out.kind = RotateOutcome::Kind::kExpired;
    }
    co_return out;
}

struct RotateWork {
    std::string old_hash;
    std::string new_hash;
    std::chrono::seconds ttl;
    std::chrono::milliseconds grace;
    asio::awaitable<RotateOutcome> operator()(db::Transaction& tx) const {
        return rotate_in(tx, old_hash, new_hash, ttl, grace);
    }
};

asio::awaitable<std::int64_t>
revoke_family_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                   // awaited by with_transaction
    db::Transaction& tx,
    std::string token_hash) {
    auto family = co_await tx.query(kRefreshFamily, db::params(db::Param::bytea(token_hash)));
    if (family.empty()) co_return 0;
    auto family_id = family.get<std::string>(0, "family_id");
    co_await tx.query(kLockFamily, db::params(family_id));
    auto revoked = co_await tx.query(kRevokeFamily, db::params(family_id));
    co_return revoked.affected();
}

struct RevokeFamilyWork {
    std::string token_hash;
    asio::awaitable<std::int64_t> operator()(db::Transaction& tx) const {
        return revoke_family_in(tx, token_hash);
    }
};

asio::awaitable<std::int64_t>
revoke_user_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                 // awaited by with_transaction
    db::Transaction& tx,
    std::int64_t user_id) {
    co_await tx.query(kLockUserFamilies, db::params(user_id));
    auto revoked = co_await tx.query(kRevokeUserTokens, db::params(user_id));
    co_return revoked.affected();
}

struct RevokeUserWork {
    std::int64_t user_id;
    asio::awaitable<std::int64_t> operator()(db::Transaction& tx) const {
        return revoke_user_in(tx, user_id);
    }
};

}  // namespace

asio::awaitable<core::Result<User>> AuthStore::insert_user(std::string email,
                                                           std::string password_hash,
                                                           std::string name,
                                                           Role role) {
    try {
        auto r = co_await pools_().query(
            kInsertUser, db::params(email, password_hash, name, std::string(role_name(role))));
        co_return user_of(r, 0);
    } catch (const db::DbError& e) {
        if (!e.is_unique_violation() || e.constraint() != "users_email_key") throw;
    }
    co_return core::make_error(core::Errc::kConflict,
                               "an account with this e-mail address already exists",
                               {{"email", "is already registered"}});
}

asio::awaitable<std::optional<StoredUser>> AuthStore::find_user_by_email(std::string email) {
    auto r = co_await pools_().query(kUserByEmail, db::params(email));
    if (r.empty()) co_return std::nullopt;
    StoredUser stored{user_of(r, 0), r.get<std::string>(0, "password_hash")};
    co_return stored;
}

asio::awaitable<std::optional<User>> AuthStore::find_user_by_id(std::int64_t user_id) {
    auto r = co_await pools_().query(kUserById, db::params(user_id));
    if (r.empty()) co_return std::nullopt;
    co_return user_of(r, 0);
}

asio::awaitable<bool> AuthStore::replace_password_hash(std::int64_t user_id,
                                                       std::string old_hash,
                                                       std::string new_hash) {
    auto r = co_await pools_().query(kReplacePasswordHash, db::params(user_id, old_hash, new_hash));
    co_return r.affected() == 1;
}

asio::awaitable<std::string> AuthStore::insert_refresh_token(std::int64_t user_id,
                                                             std::string token_hash,
                                                             std::chrono::seconds ttl) {
    auto r = co_await pools_().query(
        kInsertFirstRefreshToken,
        db::params(user_id, db::Param::bytea(token_hash), static_cast<long long>(ttl.count())));
    co_return r.get<std::string>(0, "family_id");
}

asio::awaitable<bool> AuthStore::family_revoked(std::string family_id) {
    auto r = co_await pools_().query(kFamilyRevoked, db::params(family_id));
    co_return r.get<bool>(0, "revoked");
}

asio::awaitable<RotateOutcome> AuthStore::rotate_refresh_token(std::string old_hash,
                                                               std::string new_hash,
                                                               std::chrono::seconds ttl,
                                                               std::chrono::milliseconds grace) {
    // GCC 12 destroys an aggregate temporary inside a co_await expression twice: build it first.
    RotateWork work{std::move(old_hash), std::move(new_hash), ttl, grace};
    auto rotation = db::with_transaction(pools_(), std::move(work));
    co_return co_await std::move(rotation);
}

asio::awaitable<std::int64_t> AuthStore::revoke_family_of(std::string token_hash) {
    RevokeFamilyWork work{std::move(token_hash)};
    auto revocation = db::with_transaction(pools_(), std::move(work));
    co_return co_await std::move(revocation);
}

asio::awaitable<std::int64_t> AuthStore::revoke_user_tokens(std::int64_t user_id) {
    auto revocation = db::with_transaction(pools_(), RevokeUserWork{user_id});
    co_return co_await std::move(revocation);
}

}  // namespace emporium::auth
