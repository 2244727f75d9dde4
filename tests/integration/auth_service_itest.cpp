// AuthService against the real test PostgreSQL: registration, login, rotation, reuse detection,
// the concurrent-refresh race, logout, admin creation, hash upgrades and login timing.
#include "auth/auth_service.hpp"
#include "core/metrics.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace emporium::auth {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

AuthSettings cheap_settings() {
    AuthSettings s;
    s.jwt = JwtSettings{"0123456789abcdef0123456789abcdef-itest", "emporium", "emporium-api", 900s, 30s};
    s.password = PasswordParams{1, 8192};
    s.refresh_ttl = 3600s;
    s.refresh_reuse_grace = 2000ms;
    return s;
}

std::uint64_t metric(const std::string& name, const std::string& label, const std::string& value) {
    return core::Metrics::global().counter(name, "", {{label, value}}).value();
}

class AuthServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_GE(sodium_init(), 0);
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 12;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
    }
    void TearDown() override { pool_->close(); }

    std::unique_ptr<AuthService> make_service(AuthSettings s = cheap_settings()) {
        return std::make_unique<AuthService>(
            std::move(s), AuthStore([p = pool_.get()]() -> db::Pool& { return *p; }), cpu_);
    }
    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw));
    }
    db::QueryResult sql(std::string text, db::Params params = {}) {
        return run(pool_->query_unprepared(std::move(text), std::move(params)));
    }
    User register_user(AuthService& s, std::string email, std::string password = "correct horse battery") {
        auto u = run(s.register_user(RegisterInput{std::move(email), std::move(password), "Alice"}));
        EXPECT_TRUE(u) << (u ? "" : u.error().message);
        return u ? *u : User{};
    }
    LoginResult login(AuthService& s, std::string email, std::string password = "correct horse battery") {
        auto r = run(s.login(std::move(email), std::move(password)));
        EXPECT_TRUE(r) << (r ? "" : r.error().message);
        return r ? *r : LoginResult{};
    }

    test::TestDatabase db_;  // one per test: counts below are about this test's rows only
    asio::io_context ctx_;
    core::CpuPool cpu_{2};
    std::unique_ptr<db::Pool> pool_;
};

TEST_F(AuthServiceTest, RegisterNormalisesEmailAndStoresOnlyAnArgon2idHash) {
    auto service = make_service();
    auto user = register_user(*service, "  Alice@Example.COM ");
    EXPECT_GT(user.id, 0);
    EXPECT_EQ(user.email, "alice@example.com");
    EXPECT_EQ(user.role, Role::kCustomer);
    auto row = sql("SELECT email::text, password_hash, role FROM users WHERE id = $1", db::params(user.id));
    ASSERT_EQ(row.rows(), 1U);
    EXPECT_EQ(row.get<std::string>(0, 0), "alice@example.com");
    auto hash = row.get<std::string>(0, 1);
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
    EXPECT_EQ(hash.find("correct horse"), std::string::npos);
    EXPECT_EQ(row.get<std::string>(0, 2), "customer");
}

TEST_F(AuthServiceTest, DuplicateEmailIsAConflictWhateverItsCase) {
    auto service = make_service();
    register_user(*service, "bob@example.com");
    auto again = run(service->register_user(RegisterInput{"BOB@example.com ", "another password!", "Bob"}));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::Errc::kConflict);
    ASSERT_EQ(again.error().details.size(), 1U);
    EXPECT_EQ(again.error().details[0].field, "email");
}

TEST_F(AuthServiceTest, RegisterReportsEveryInvalidField) {
    auto service = make_service();
    auto r = run(service->register_user(RegisterInput{"not-an-email", "aaaa", "  "}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kValidation);
    std::vector<std::string> fields;
    for (const auto& f : r.error().details) fields.push_back(f.field);
    EXPECT_NE(std::find(fields.begin(), fields.end(), "email"), fields.end());
    EXPECT_NE(std::find(fields.begin(), fields.end(), "name"), fields.end());
    EXPECT_EQ(std::count(fields.begin(), fields.end(), "password"), 2)
        << "too short and one repeated character";

    auto same_as_email =
        run(service->register_user(RegisterInput{"carol.long@example.com", "Carol.Long@example.com", "C"}));
    ASSERT_FALSE(same_as_email);
    EXPECT_EQ(same_as_email.error().details.at(0).field, "password");
    EXPECT_EQ(sql("SELECT count(*) FROM users").get<std::int64_t>(0, 0), 0);
}

TEST_F(AuthServiceTest, LoginIssuesAVerifiableAccessTokenAndAHashedRefreshToken) {
    auto service = make_service();
    auto user = register_user(*service, "dave@example.com");
    const auto before = metric("emporium_auth_logins_total", "outcome", "success");
    auto result = login(*service, "DAVE@example.com");
    EXPECT_EQ(result.user.id, user.id);
    EXPECT_EQ(metric("emporium_auth_logins_total", "outcome", "success"), before + 1);
    auto claims = service->verify_access_token(result.tokens.access_token);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->user_id, user.id);
    EXPECT_EQ(claims->role, Role::kCustomer);
    EXPECT_EQ(result.tokens.access_expires_in, 900s);
    EXPECT_EQ(result.tokens.refresh_token.size(), 43U) << "base64url of 32 bytes";

    auto rows = sql("SELECT token_hash, user_id FROM refresh_tokens");
    ASSERT_EQ(rows.rows(), 1U);
    EXPECT_EQ(rows.get<db::Bytea>(0, 0).bytes, refresh_token_hash(result.tokens.refresh_token));
    EXPECT_EQ(rows.get<std::int64_t>(0, 1), user.id);
    EXPECT_EQ(sql("SELECT count(*) FROM refresh_tokens WHERE position($1::bytea IN token_hash) > 0",
                  db::params(db::Param::bytea(result.tokens.refresh_token)))
                  .get<std::int64_t>(0, 0),
              0);
}

TEST_F(AuthServiceTest, UnknownEmailAndWrongPasswordGiveTheSameError) {
    auto service = make_service();
    register_user(*service, "erin@example.com");
    auto wrong = run(service->login("erin@example.com", "wrong password!!"));
    auto unknown = run(service->login("nobody@example.com", "wrong password!!"));
    auto malformed = run(service->login("not an email", "wrong password!!"));
    ASSERT_FALSE(wrong);
    ASSERT_FALSE(unknown);
    ASSERT_FALSE(malformed);
    for (const auto* r : {&wrong, &unknown, &malformed}) {
        EXPECT_EQ(r->error().code, core::Errc::kUnauthorized);
        EXPECT_EQ(r->error().message, wrong.error().message);
        EXPECT_TRUE(r->error().details.empty());
    }
}

TEST_F(AuthServiceTest, RefreshRotatesWithinTheFamily) {
    auto service = make_service();
    register_user(*service, "fay@example.com");
    auto first = login(*service, "fay@example.com").tokens;
    auto second = run(service->refresh(first.refresh_token));
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_NE(second->refresh_token, first.refresh_token);
    EXPECT_TRUE(service->verify_access_token(second->access_token));
    auto rows =
        sql("SELECT c.family_id = p.family_id, c.parent_id = p.id, p.consumed_at IS NOT NULL, c.consumed_at "
            "IS NULL "
            "FROM refresh_tokens c JOIN refresh_tokens p ON c.parent_id = p.id");
    ASSERT_EQ(rows.rows(), 1U);
    for (int col = 0; col < 4; ++col) EXPECT_TRUE(rows.get<bool>(0, col)) << col;
    auto third = run(service->refresh(second->refresh_token));
    EXPECT_TRUE(third);
    EXPECT_FALSE(run(service->refresh("not-a-token")));
    EXPECT_FALSE(run(service->refresh(std::string(1000, 'x'))));
}

TEST_F(AuthServiceTest, ReusingAConsumedTokenRevokesTheWholeFamily) {
    auto settings = cheap_settings();
    settings.refresh_reuse_grace = 0ms;
    auto service = make_service(settings);
    register_user(*service, "gus@example.com");
    auto stolen = login(*service, "gus@example.com").tokens;
    auto other_session = login(*service, "gus@example.com").tokens;
    auto second = run(service->refresh(stolen.refresh_token));
    ASSERT_TRUE(second);
    auto third = run(service->refresh(second->refresh_token));
    ASSERT_TRUE(third);
    const auto events = metric("emporium_auth_security_events_total", "kind", "refresh_token_reuse");

    auto replay = run(service->refresh(stolen.refresh_token));
    ASSERT_FALSE(replay);
    EXPECT_EQ(replay.error().code, core::Errc::kUnauthorized);
    EXPECT_NE(replay.error().message.find("revoked"), std::string::npos);
    EXPECT_EQ(metric("emporium_auth_security_events_total", "kind", "refresh_token_reuse"), events + 1);
    // Every descendant is dead, including the newest token the legitimate client holds.
    EXPECT_FALSE(run(service->refresh(third->refresh_token)));
    EXPECT_EQ(sql("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL").get<std::int64_t>(0, 0), 1)
        << "only the other login's family survives";
    EXPECT_TRUE(run(service->refresh(other_session.refresh_token)));
}

TEST_F(AuthServiceTest, ReuseWithinTheGraceWindowIsRefusedWithoutRevoking) {
    auto settings = cheap_settings();
    settings.refresh_reuse_grace = 60'000ms;
    auto service = make_service(settings);
    register_user(*service, "hal@example.com");
    auto first = login(*service, "hal@example.com").tokens;
    auto second = run(service->refresh(first.refresh_token));
    ASSERT_TRUE(second);
    auto late = run(service->refresh(first.refresh_token));
    ASSERT_FALSE(late);
    EXPECT_EQ(late.error().code, core::Errc::kUnauthorized);
    EXPECT_TRUE(run(service->refresh(second->refresh_token))) << "the winner's token still works";
}

asio::awaitable<void> refresh_into(AuthService* service,
                                   std::string token,
                                   std::vector<core::Result<TokenPair>>* out) {
    out->push_back(co_await service->refresh(std::move(token)));
}

TEST_F(AuthServiceTest, ConcurrentRefreshesOfOneTokenHaveExactlyOneWinner) {
    auto service = make_service();
    register_user(*service, "ivy@example.com");
    auto first = login(*service, "ivy@example.com").tokens;
    constexpr int kRacers = 10;
    std::vector<core::Result<TokenPair>> results;
    int done = 0;
    for (int i = 0; i < kRacers; ++i) {
        asio::co_spawn(
            ctx_, refresh_into(service.get(), first.refresh_token, &results), [&done](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
                ++done;
            });
    }
    ctx_.restart();
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (done < kRacers && std::chrono::steady_clock::now() < deadline) ctx_.run_one_for(50ms);
    ASSERT_EQ(done, kRacers);
    auto winners = std::count_if(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    EXPECT_EQ(winners, 1);
    for (const auto& r : results) {
        if (!r) {
            EXPECT_EQ(r.error().code, core::Errc::kUnauthorized);
        }
    }
    // Losers within the grace window did not revoke the family: the winner carries on.
    auto winner = std::find_if(results.begin(), results.end(), [](const auto& r) { return r.has_value(); });
    ASSERT_NE(winner, results.end());
    EXPECT_TRUE(run(service->refresh((*winner)->refresh_token)));
    EXPECT_EQ(sql("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NOT NULL").get<std::int64_t>(0, 0),
              0);
}

TEST_F(AuthServiceTest, ExpiredRefreshTokenIsRejected) {
    auto service = make_service();
    register_user(*service, "jon@example.com");
    auto tokens = login(*service, "jon@example.com").tokens;
    sql("UPDATE refresh_tokens SET issued_at = now() - interval '2 hours', expires_at = now() - interval '1 "
        "hour'");
    auto r = run(service->refresh(tokens.refresh_token));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kUnauthorized);
    EXPECT_EQ(
        sql("SELECT count(*) FROM refresh_tokens WHERE consumed_at IS NOT NULL").get<std::int64_t>(0, 0), 0);
}

TEST_F(AuthServiceTest, LogoutRevokesOneFamilyAndLogoutAllEvery) {
    auto service = make_service();
    auto user = register_user(*service, "kim@example.com");
    auto a = login(*service, "kim@example.com").tokens;
    auto b = login(*service, "kim@example.com").tokens;
    auto c = login(*service, "kim@example.com").tokens;
    run(service->logout(a.refresh_token));
    EXPECT_FALSE(run(service->refresh(a.refresh_token)));
    run(service->logout("unknown-token"));  // idempotent, no error
    auto b2 = run(service->refresh(b.refresh_token));
    ASSERT_TRUE(b2);
    run(service->logout_all(user.id));
    EXPECT_FALSE(run(service->refresh(b2->refresh_token)));
    EXPECT_FALSE(run(service->refresh(c.refresh_token)));
    EXPECT_EQ(sql("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL").get<std::int64_t>(0, 0), 0);
}

TEST_F(AuthServiceTest, MeAndFindUser) {
    auto service = make_service();
    auto user = register_user(*service, "lea@example.com");
    auto me = run(service->me(user.id));
    ASSERT_TRUE(me);
    EXPECT_EQ(me->email, "lea@example.com");
    EXPECT_EQ(me->name, "Alice");
    auto gone = run(service->me(user.id + 1000));
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, core::Errc::kUnauthorized);
    auto missing = run(service->find_user(user.id + 1000));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
}

TEST_F(AuthServiceTest, CreateAdminAppliesThePolicyAndGrantsTheAdminRole) {
    auto service = make_service();
    auto weak = run(service->create_admin(RegisterInput{"root@example.com", "tooshort", "Root"}));
    ASSERT_FALSE(weak);
    EXPECT_EQ(weak.error().code, core::Errc::kValidation);
    auto admin =
        run(service->create_admin(RegisterInput{"root@example.com", "a long admin password", "Root"}));
    ASSERT_TRUE(admin);
    EXPECT_EQ(admin->role, Role::kAdmin);
    auto tokens = login(*service, "root@example.com", "a long admin password").tokens;
    auto claims = service->verify_access_token(tokens.access_token);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->role, Role::kAdmin);
    auto refreshed = run(service->refresh(tokens.refresh_token));
    ASSERT_TRUE(refreshed);
    EXPECT_EQ(service->verify_access_token(refreshed->access_token)->role, Role::kAdmin)
        << "role survives rotation";
}

TEST_F(AuthServiceTest, LoginUpgradesAHashMadeWithWeakerParameters) {
    auto weak = make_service();
    auto user = register_user(*weak, "max@example.com");
    auto old_hash =
        sql("SELECT password_hash FROM users WHERE id = $1", db::params(user.id)).get<std::string>(0, 0);
    EXPECT_NE(old_hash.find("m=8,t=1"), std::string::npos) << old_hash;

    auto settings = cheap_settings();
    settings.password = PasswordParams{2, 16384};
    auto stronger = make_service(settings);
    login(*stronger, "max@example.com");
    auto new_hash =
        sql("SELECT password_hash FROM users WHERE id = $1", db::params(user.id)).get<std::string>(0, 0);
    EXPECT_NE(new_hash, old_hash);
    EXPECT_NE(new_hash.find("m=16,t=2"), std::string::npos) << new_hash;
    EXPECT_FALSE(needs_rehash(new_hash, settings.password));
    login(*stronger, "max@example.com");  // the upgraded hash verifies
    EXPECT_EQ(
        sql("SELECT password_hash FROM users WHERE id = $1", db::params(user.id)).get<std::string>(0, 0),
        new_hash)
        << "no second upgrade";
}

// With the production cost (19 MiB, 2 iterations): an unknown e-mail costs the same Argon2id
// verification as a known one, so timing does not reveal which accounts exist.
TEST_F(AuthServiceTest, LoginTimingForUnknownAndKnownEmailIsTheSameOrderOfMagnitude) {
    auto settings = cheap_settings();
    settings.password = PasswordParams{};  // the defaults
    auto service = make_service(settings);
    register_user(*service, "ned@example.com");
    auto median_ms = [&](const std::string& email) {
        std::vector<double> samples;
        for (int i = 0; i < 5; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            auto r = run(service->login(email, "wrong password!!"));
            samples.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            EXPECT_FALSE(r);
        }
        std::sort(samples.begin(), samples.end());
        return samples[2];
    };
    const double known = median_ms("ned@example.com");
    const double unknown = median_ms("nobody-here@example.com");
    EXPECT_GT(known, 5.0) << "the default parameters make verification measurably expensive";
    EXPECT_LT(unknown / known, 10.0) << "known " << known << " ms, unknown " << unknown << " ms";
    EXPECT_GT(unknown / known, 0.1) << "known " << known << " ms, unknown " << unknown << " ms";
}

}  // namespace
}  // namespace emporium::auth
