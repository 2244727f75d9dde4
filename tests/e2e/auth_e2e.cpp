// End-to-end: the real `emporium serve` binary with a fresh migrated database, the test Redis (a
// unique rate-limit key prefix per test) and a fixed JWT_SECRET; `emporium create-admin` as a
// child process.
#include "auth/jwt.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using namespace std::chrono_literals;

class AuthE2E : public ::testing::Test, protected E2EFixture {
protected:
    AuthE2E() : E2EFixture("auth") {}

    // Starts a server; `extra` overrides the test defaults (cheap Argon2id, a generous auth limit).
    void start(const Env& extra = {}) {
        Env settings = {{"RATE_LIMIT_AUTH", "1000/s burst 1000"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        server_ = std::make_unique<ServerProcess>(env(settings));
    }
    unsigned short port() const { return server_->port(); }
    Res post(const std::string& path, const json::object& body, const HttpHeaders& headers = {}) {
        return http_call(port(), bhttp::verb::post, "/api/v1/auth" + path, json::serialize(body), headers);
    }
    Res get(const std::string& path, const HttpHeaders& headers = {}) {
        return http_call(port(), bhttp::verb::get, path, "", headers);
    }
    Res register_user(const std::string& email, const std::string& password = kE2EPassword) {
        return test::register_user(port(), email, password, "Test User");
    }
    json::object login(const std::string& email, const std::string& password = kE2EPassword) {
        auto r = test::login(port(), email, password);
        EXPECT_EQ(r.result_int(), 200U) << r.body();
        return r.result_int() == 200 ? json_object(r) : json::object{};
    }
    // Runs `emporium create-admin`; returns its exit code.
    int create_admin(const std::string& email, const std::string& password, bool via_stdin) {
        Env settings = env();
        if (!via_stdin) {
            settings["EMPORIUM_ADMIN_PASSWORD"] = password;
            return run_emporium({"create-admin", "--email", email, "--name", "Root"}, settings);
        }
        settings["EMPORIUM_ADMIN_PASSWORD"] = "";
        settings["PW"] = password;
        settings["BIN"] = EMPORIUM_BINARY;
        settings["EMAIL"] = email;
        Process p(
            {"/bin/sh",
             "-c",
             "printf '%s\\n' \"$PW\" | \"$BIN\" --env-file /nonexistent create-admin --email \"$EMAIL\""},
            settings);
        return p.wait(30s);
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(AuthE2E, RegisterLoginAndMe) {
    start();
    auto reg = register_user(" Alice@Example.com ");
    ASSERT_EQ(reg.result_int(), 201U) << reg.body();
    EXPECT_EQ(json_object(reg).at("email").as_string(), "alice@example.com");
    EXPECT_EQ(json_object(reg).at("role").as_string(), "customer");

    auto tokens = login("ALICE@example.com");
    EXPECT_EQ(tokens.at("token_type").as_string(), "Bearer");
    EXPECT_EQ(tokens.at("expires_in").as_int64(), 900);
    EXPECT_EQ(tokens.at("refresh_expires_in").as_int64(), 2'592'000);
    EXPECT_EQ(tokens.at("user").at("email").as_string(), "alice@example.com");

    auto me = get("/api/v1/auth/me",
                  {{"Authorization", bearer(std::string(tokens.at("access_token").as_string()))}});
    ASSERT_EQ(me.result_int(), 200U) << me.body();
    EXPECT_EQ(json_object(me).at("email").as_string(), "alice@example.com");
    EXPECT_EQ(me["RateLimit-Limit"], "200") << "reads: burst 200 per IP";
}

TEST_F(AuthE2E, RegisterErrorsAreProblemJson) {
    start();
    ASSERT_EQ(register_user("bob@example.com").result_int(), 201U);
    auto dup = register_user("BOB@example.com");
    EXPECT_EQ(dup.result_int(), 409U);
    EXPECT_EQ(dup[bhttp::field::content_type], "application/problem+json");
    EXPECT_EQ(json_object(dup).at("code").as_string(), "conflict");

    auto weak = register_user("carol@example.com", "aaaaaaaaaaaa");
    EXPECT_EQ(weak.result_int(), 422U);
    auto body = json_object(weak);
    EXPECT_EQ(body.at("code").as_string(), "validation_failed");
    ASSERT_EQ(body.at("errors").as_array().size(), 1U);
    EXPECT_EQ(body.at("errors").at(0).at("field").as_string(), "password");

    auto role =
        post("/register",
             {{"email", "eve@example.com"}, {"password", kE2EPassword}, {"name", "E"}, {"role", "admin"}});
    EXPECT_EQ(role.result_int(), 422U) << "no admin through the public API";
    auto missing = post("/register", {{"email", "eve@example.com"}});
    EXPECT_EQ(missing.result_int(), 422U);
    auto not_json = http_call(port(), bhttp::verb::post, "/api/v1/auth/register", "{nope");
    EXPECT_EQ(not_json.result_int(), 400U);
}

TEST_F(AuthE2E, LoginFailuresLookTheSame) {
    start();
    ASSERT_EQ(register_user("dan@example.com").result_int(), 201U);
    auto wrong = post("/login", {{"email", "dan@example.com"}, {"password", "wrong password"}});
    auto unknown = post("/login", {{"email", "ghost@example.com"}, {"password", "wrong password"}});
    EXPECT_EQ(wrong.result_int(), 401U);
    EXPECT_EQ(unknown.result_int(), 401U);
    EXPECT_EQ(json_object(wrong).at("detail"), json_object(unknown).at("detail"));
    EXPECT_EQ(wrong[bhttp::field::www_authenticate], "Bearer realm=\"emporium\"");
}

TEST_F(AuthE2E, ProtectedRoutesNeedAValidToken) {
    start();
    auto none = get("/api/v1/auth/me");
    EXPECT_EQ(none.result_int(), 401U);
    EXPECT_EQ(none[bhttp::field::www_authenticate], "Bearer realm=\"emporium\"");
    EXPECT_EQ(json_object(none).at("code").as_string(), "unauthorized");

    ASSERT_EQ(register_user("fred@example.com").result_int(), 201U);
    const auto id =
        json_object(get("/api/v1/auth/me",
                        {{"Authorization",
                          bearer(std::string(login("fred@example.com").at("access_token").as_string()))}}))
            .at("id")
            .as_int64();
    const auth::JwtCodec& good = tokens_.codec();
    auth::JwtCodec wrong_key(
        {"not-the-server-secret-not-the-server-secret", "emporium", "emporium-api", 900s, 30s});
    auth::JwtCodec wrong_aud({kE2EJwtSecret, "emporium", "another-api", 900s, 30s});
    const auto now = auth::JwtCodec::Clock::now();
    const auto valid = good.issue(id, auth::Role::kCustomer, now);
    ASSERT_EQ(get("/api/v1/auth/me", {{"Authorization", bearer(valid)}}).result_int(), 200U) << "control";

    auto dot1 = valid.find('.');
    auto dot2 = valid.find('.', dot1 + 1);
    auto payload = json::object{
        {"sub", std::to_string(id)},
        {"role", "admin"},
        {"jti", "x"},
        {"iss", "emporium"},
        {"aud", "emporium-api"},
        {"iat", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()},
        {"exp", std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + 900}};
    const auto forged_payload = auth::base64url_encode(json::serialize(payload));
    const std::map<std::string, std::string> forged = {
        {"alg none", auth::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + forged_payload + "."},
        {"wrong key", wrong_key.issue(id, auth::Role::kCustomer, now)},
        {"tampered payload", valid.substr(0, dot1 + 1) + forged_payload + valid.substr(dot2)},
        {"expired", good.issue(id, auth::Role::kCustomer, now - 2h)},
        {"future iat", good.issue(id, auth::Role::kCustomer, now + 10min)},
        {"wrong audience", wrong_aud.issue(id, auth::Role::kCustomer, now)},
        {"oversized", valid + std::string(5000, 'A')},
    };
    for (const auto& [what, token] : forged) {
        auto r = get("/api/v1/auth/me", {{"Authorization", bearer(token)}});
        EXPECT_EQ(r.result_int(), 401U) << what;
        EXPECT_EQ(r[bhttp::field::www_authenticate], "Bearer realm=\"emporium\", error=\"invalid_token\"")
            << what;
    }
    auto metrics = get("/metrics").body();
    EXPECT_NE(metrics.find("emporium_auth_security_events_total{kind=\"rejected_access_token\"}"),
              std::string::npos);
}

TEST_F(AuthE2E, RefreshRotatesAndReuseRevokesTheFamily) {
    start({{"REFRESH_REUSE_GRACE_MS", "0"}});
    ASSERT_EQ(register_user("gina@example.com").result_int(), 201U);
    auto first = login("gina@example.com");
    const std::string r1(first.at("refresh_token").as_string());
    auto second = post("/refresh", {{"refresh_token", r1}});
    ASSERT_EQ(second.result_int(), 200U) << second.body();
    EXPECT_EQ(second[bhttp::field::cache_control], "no-store");
    const std::string r2(json_object(second).at("refresh_token").as_string());
    EXPECT_NE(r1, r2);

    auto replay = post("/refresh", {{"refresh_token", r1}});
    EXPECT_EQ(replay.result_int(), 401U);
    EXPECT_EQ(replay[bhttp::field::www_authenticate], "Bearer realm=\"emporium\", error=\"invalid_token\"");
    EXPECT_EQ(post("/refresh", {{"refresh_token", r2}}).result_int(), 401U) << "the family is revoked";
    auto metrics = get("/metrics").body();
    EXPECT_NE(metrics.find("emporium_auth_security_events_total{kind=\"refresh_token_reuse\"} 1"),
              std::string::npos);
}

TEST_F(AuthE2E, ConcurrentRefreshesHaveExactlyOneWinner) {
    start();
    ASSERT_EQ(register_user("hank@example.com").result_int(), 201U);
    const std::string token(login("hank@example.com").at("refresh_token").as_string());
    constexpr int kRacers = 8;
    std::atomic<int> ok{0};
    std::atomic<int> unauthorized{0};
    std::string winner;
    std::mutex m;
    std::vector<std::thread> threads;
    for (int i = 0; i < kRacers; ++i) {
        threads.emplace_back([&] {
            auto r = http_call(port(),
                                  bhttp::verb::post,
                                  "/api/v1/auth/refresh",
                                  json::serialize(json::object{{"refresh_token", token}}));
            if (r.result_int() == 200) {
                ok.fetch_add(1);
                std::lock_guard lock(m);
                winner = std::string(json_object(r).at("refresh_token").as_string());
            } else if (r.result_int() == 401) {
                unauthorized.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(unauthorized.load(), kRacers - 1);
    EXPECT_EQ(post("/refresh", {{"refresh_token", winner}}).result_int(), 200U)
        << "losers did not revoke the family";
}

TEST_F(AuthE2E, LogoutAndLogoutAll) {
    start();
    ASSERT_EQ(register_user("ida@example.com").result_int(), 201U);
    auto a = login("ida@example.com");
    auto b = login("ida@example.com");
    auto c = login("ida@example.com");
    auto out = post("/logout", {{"refresh_token", a.at("refresh_token")}});
    EXPECT_EQ(out.result_int(), 204U);
    EXPECT_EQ(post("/refresh", {{"refresh_token", a.at("refresh_token")}}).result_int(), 401U);
    EXPECT_EQ(post("/logout", {{"refresh_token", "unknown"}}).result_int(), 204U);

    EXPECT_EQ(http_call(port(), bhttp::verb::post, "/api/v1/auth/logout-all").result_int(), 401U);
    auto all = http_call(port(),
                            bhttp::verb::post,
                            "/api/v1/auth/logout-all",
                            "",
                            {{"Authorization", bearer(std::string(b.at("access_token").as_string()))}});
    EXPECT_EQ(all.result_int(), 204U);
    EXPECT_EQ(post("/refresh", {{"refresh_token", b.at("refresh_token")}}).result_int(), 401U);
    EXPECT_EQ(post("/refresh", {{"refresh_token", c.at("refresh_token")}}).result_int(), 401U);
    // Access tokens die with their session (abuse_e2e covers the details).
    EXPECT_EQ(
        get("/api/v1/auth/me", {{"Authorization", bearer(std::string(c.at("access_token").as_string()))}})
            .result_int(),
        401U);
}

TEST_F(AuthE2E, AdminsComeFromTheCliAndRolesAreEnforced) {
    start();
    EXPECT_EQ(create_admin("root@example.com", "short", false), 1) << "same policy as registration";
    EXPECT_EQ(create_admin("root@example.com", "a long admin password", false), 0);
    EXPECT_EQ(create_admin("root@example.com", "a long admin password", false), 1) << "duplicate";
    EXPECT_EQ(create_admin("ops@example.com", "another admin password", true), 0) << "password on stdin";

    auto admin = login("root@example.com", "a long admin password");
    EXPECT_EQ(admin.at("user").at("role").as_string(), "admin");
    EXPECT_EQ(login("ops@example.com", "another admin password").at("user").at("role").as_string(), "admin");
    ASSERT_EQ(register_user("cust@example.com").result_int(), 201U);
    auto customer = login("cust@example.com");
    const auto cust_id = customer.at("user").at("id").as_int64();
    const std::string path = "/api/v1/auth/users/" + std::to_string(cust_id);

    auto as_admin = get(path, {{"Authorization", bearer(std::string(admin.at("access_token").as_string()))}});
    EXPECT_EQ(as_admin.result_int(), 200U) << as_admin.body();
    EXPECT_EQ(json_object(as_admin).at("email").as_string(), "cust@example.com");
    auto as_customer =
        get(path, {{"Authorization", bearer(std::string(customer.at("access_token").as_string()))}});
    EXPECT_EQ(as_customer.result_int(), 403U);
    EXPECT_EQ(json_object(as_customer).at("code").as_string(), "forbidden");
    auto anonymous = get(path);
    EXPECT_EQ(anonymous.result_int(), 401U);
    EXPECT_EQ(anonymous[bhttp::field::www_authenticate], "Bearer realm=\"emporium\"");
}

TEST_F(AuthE2E, AuthRateLimitAdmitsExactlyTheBurstUnderConcurrency) {
    start({{"RATE_LIMIT_AUTH", ""}});  // the default: 5/min per IP + e-mail, burst 5
    constexpr int kRequests = 20;
    std::atomic<int> limited{0};
    std::atomic<int> passed{0};
    std::atomic<int> good_headers{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kRequests; ++i) {
        threads.emplace_back([&] {
            auto r = http_call(port(),
                                  bhttp::verb::post,
                                  "/api/v1/auth/login",
                                  R"({"email":"victim@example.com","password":"guess number n"})");
            if (r.result_int() == 429) {
                limited.fetch_add(1);
                auto retry = std::stoi(std::string(r[bhttp::field::retry_after]));
                if (r[bhttp::field::content_type] == "application/problem+json" && retry >= 1 &&
                    retry <= 12 && r["RateLimit-Limit"] == "5" && r["RateLimit-Remaining"] == "0" &&
                    !r["RateLimit-Reset"].empty())
                    good_headers.fetch_add(1);
            } else if (r.result_int() == 401) {
                passed.fetch_add(1);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(passed.load(), 5);
    EXPECT_EQ(limited.load(), kRequests - 5);
    EXPECT_EQ(good_headers.load(), kRequests - 5);
    auto other = post("/login", {{"email", "someone-else@example.com"}, {"password", "x"}});
    EXPECT_EQ(other.result_int(), 401U) << "another e-mail has its own bucket";
}

TEST_F(AuthE2E, ForwardedForIsBelievedOnlyFromTrustedProxies) {
    const json::object body{{"email", "pat@example.com"}, {"password", "wrong password"}};
    start({{"RATE_LIMIT_AUTH", "1/60s burst 1"}, {"TRUSTED_PROXIES", "127.0.0.1"}});
    EXPECT_EQ(post("/login", body, {{"X-Forwarded-For", "203.0.113.1"}}).result_int(), 401U);
    EXPECT_EQ(post("/login", body, {{"X-Forwarded-For", "203.0.113.2"}}).result_int(), 401U)
        << "another client";
    EXPECT_EQ(post("/login", body, {{"X-Forwarded-For", "203.0.113.1"}}).result_int(), 429U);

    server_.reset();
    prefix_ += "untrusted:";
    start({{"RATE_LIMIT_AUTH", "1/60s burst 1"}});
    EXPECT_EQ(post("/login", body, {{"X-Forwarded-For", "203.0.113.1"}}).result_int(), 401U);
    EXPECT_EQ(post("/login", body, {{"X-Forwarded-For", "203.0.113.2"}}).result_int(), 429U)
        << "without a trusted proxy the header is ignored: same peer, same bucket";
}

TEST_F(AuthE2E, RedisDownFailsOpenForReadsAndClosedForAuth) {
    const auto dead_port = free_port();
    start({{"REDIS_URL", "redis://127.0.0.1:" + std::to_string(dead_port)}, {"RATE_LIMIT_AUTH", ""}});

    auto me = get("/api/v1/auth/me", {{"Authorization", tokens_.bearer(12345, auth::Role::kCustomer)}});
    EXPECT_EQ(me.result_int(), 401U) << "the read passed the limiter (fail open) and reached the handler: "
                                     << me.body();
    EXPECT_EQ(json_object(me).at("detail").as_string(), "the account no longer exists");

    auto login = post("/login", {{"email", "a@example.com"}, {"password", "whatever password"}});
    EXPECT_EQ(login.result_int(), 503U) << "auth fails closed";
    EXPECT_EQ(json_object(login).at("code").as_string(), "unavailable");
    EXPECT_EQ(login[bhttp::field::retry_after], "1");

    auto metrics = get("/metrics").body();
    EXPECT_NE(metrics.find(R"(emporium_rate_limit_decisions_total{group="read",decision="fail_open"})"),
              std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find(R"(emporium_rate_limit_decisions_total{group="auth",decision="fail_closed"} 1)"),
              std::string::npos);
}

TEST_F(AuthE2E, OpenApiDocumentsTheAuthEndpoints) {
    start();
    auto doc = json_object(get("/openapi.json"));
    const auto& paths = doc.at("paths").as_object();
    for (const char* p : {"/api/v1/auth/register",
                          "/api/v1/auth/login",
                          "/api/v1/auth/refresh",
                          "/api/v1/auth/logout",
                          "/api/v1/auth/logout-all",
                          "/api/v1/auth/me",
                          "/api/v1/auth/users/{id}"}) {
        EXPECT_TRUE(paths.contains(p)) << p;
    }
    EXPECT_EQ(doc.at("components").at("securitySchemes").at("bearerAuth").at("scheme").as_string(), "bearer");
    const auto& reg = paths.at("/api/v1/auth/register").at("post").at("responses").as_object();
    for (const char* code : {"201", "409", "422", "429"}) EXPECT_TRUE(reg.contains(code)) << code;
    EXPECT_TRUE(paths.at("/api/v1/auth/users/{id}").at("get").at("responses").as_object().contains("403"));
    EXPECT_TRUE(paths.at("/api/v1/auth/me").at("get").at("responses").as_object().contains("401"));
}

}  // namespace
}  // namespace emporium::test
