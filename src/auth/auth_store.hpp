#pragma once
// SQL of the authentication context: users and rotating refresh tokens. No business rules here
// beyond what must be atomic in the database (rotation, family revocation).

#include "auth/auth_types.hpp"
#include "core/error.hpp"
#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace emporium::auth {

struct StoredUser {
    User user;
    std::string password_hash;
};

// Outcome of presenting a refresh token for rotation.
struct RotateOutcome {
    enum class Kind {
        kRotated,   // consumed; the child token was stored
        kUnknown,   // no such token
        kExpired,   // past expires_at
        kRevoked,   // its family was revoked (logout, reuse)
        kRaceLost,  // consumed moments ago (within the grace window) by a concurrent refresh
        kReuse,     // consumed earlier: the family has now been revoked
    };
    Kind kind = Kind::kUnknown;
    std::int64_t user_id = 0;
    Role role = Role::kCustomer;
    std::string family_id;
    std::int64_t revoked_tokens = 0;  // kReuse: how many tokens the revocation hit
};

// Every method uses the pool returned by `pools()` on the calling thread (one pool per I/O
// context) and throws db::DbError subclasses for infrastructure failures.
class AuthStore {
public:
    using PoolProvider = std::function<db::Pool&()>;

    explicit AuthStore(PoolProvider pools) : pools_(std::move(pools)) {}

    // Errors: kConflict when the (normalised) e-mail is taken.
    boost::asio::awaitable<core::Result<User>> insert_user(std::string email,
                                                           std::string password_hash,
                                                           std::string name,
                                                           Role role);
    boost::asio::awaitable<std::optional<StoredUser>> find_user_by_email(std::string email);
    boost::asio::awaitable<std::optional<User>> find_user_by_id(std::int64_t user_id);
    // Replaces the hash only if it is still `old_hash` (a concurrent change wins); true if replaced.
    boost::asio::awaitable<bool> replace_password_hash(std::int64_t user_id,
                                                       std::string old_hash,
                                                       std::string new_hash);

    // Stores the first token of a new family (a login); returns the new family id (a UUID).
    boost::asio::awaitable<std::string> insert_refresh_token(std::int64_t user_id,
                                                             std::string token_hash,
                                                             std::chrono::seconds ttl);
    // True when the family `family_id` (a UUID) has been revoked (logout, logout-all, reuse).
    boost::asio::awaitable<bool> family_revoked(std::string family_id);
    // Atomically consumes `old_hash` and stores `new_hash` as its child (same family), or reports
    // why not; a consumed token presented after `grace` revokes the whole family. Serialised per
    // family (advisory lock) so a revocation never misses a concurrently issued child.
    boost::asio::awaitable<RotateOutcome> rotate_refresh_token(std::string old_hash,
                                                               std::string new_hash,
                                                               std::chrono::seconds ttl,
                                                               std::chrono::milliseconds grace);
    // Revokes the family of the token with this hash; returns the number of tokens revoked (0 for
    // an unknown token or an already revoked family).
    boost::asio::awaitable<std::int64_t> revoke_family_of(std::string token_hash);
    // Revokes every family of the user; returns the number of tokens revoked.
    boost::asio::awaitable<std::int64_t> revoke_user_tokens(std::int64_t user_id);

private:
    PoolProvider pools_;
};

}  // namespace emporium::auth
