// The Redis leaky bucket and its HTTP middleware against the real test Redis (a unique key prefix
// per test), plus a Redis port where nothing listens for the fail-open / fail-closed behaviour, and
// the e-mail keys (every spelling of an address, checked against PostgreSQL's own case folding).
#include "core/email.hpp"
#include "core/metrics.hpp"
#include "integration/redis_support.hpp"
#include "ratelimit/rate_limit_middleware.hpp"
#include "ratelimit/rate_limiter.hpp"
#include "support/pg_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sodium.h>

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>

namespace emporium::ratelimit {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using redis::test::run_all;

Policy policy(std::int64_t requests,
              std::chrono::milliseconds period,
              std::int64_t burst,
              bool fail_open = true) {
    return Policy{requests, period, burst, fail_open};
}

std::uint64_t decisions(const std::string& group, const std::string& decision) {
    return core::Metrics::global()
        .counter("emporium_rate_limit_decisions_total", "", {{"group", group}, {"decision", decision}})
        .value();
}

class RateLimiterTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_GE(sodium_init(), 0);
        prefix_ = "itest:rl:" + test::unique_suffix() + ":";
        client_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        limiter_ = std::make_shared<RateLimiter>([c = client_.get()]() -> redis::Client& { return *c; },
                                                 redis::Keys(prefix_));
    }
    void TearDown() override {
        test::run_coro(ctx_, redis::test::delete_prefix(client_.get(), prefix_));
        client_->close();
    }
    Decision check(Policy p, const std::string& group, const std::string& id) {
        return test::run_coro(ctx_, limiter_->check(p, group, id));
    }

    asio::io_context ctx_;
    std::string prefix_;
    std::unique_ptr<redis::Client> client_;
    std::shared_ptr<RateLimiter> limiter_;
};

TEST_F(RateLimiterTest, AdmitsTheBurstThenCountsDown) {
    const auto p = policy(3, 60s, 3);  // one request leaks every 20 s
    for (int expected_remaining : {2, 1, 0}) {
        auto d = check(p, "auth", "ip:1");
        EXPECT_TRUE(d.allowed);
        EXPECT_EQ(d.limit, 3);
        EXPECT_EQ(d.remaining, expected_remaining);
    }
    auto denied = check(p, "auth", "ip:1");
    EXPECT_FALSE(denied.allowed);
    EXPECT_EQ(denied.remaining, 0);
    EXPECT_GT(denied.retry_after, 19s);
    EXPECT_LE(denied.retry_after, 20s);
    EXPECT_GT(denied.reset, 59s);
    EXPECT_LE(denied.reset, 60s);
    // Keys are independent per group and identity.
    EXPECT_TRUE(check(p, "auth", "ip:2").allowed);
    EXPECT_TRUE(check(p, "read", "ip:1").allowed);
    EXPECT_GT(test::run_coro(ctx_, redis::test::count_prefix(client_.get(), prefix_ + "rl:")), 0U);
}

asio::awaitable<void> wait_ms(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

TEST_F(RateLimiterTest, TheBucketLeaksOverTime) {
    const auto p = policy(1, 50ms, 1);
    EXPECT_TRUE(check(p, "read", "leaky").allowed);
    auto denied = check(p, "read", "leaky");
    ASSERT_FALSE(denied.allowed);
    EXPECT_LE(denied.retry_after, 50ms);
    // Wait for the condition (bounded), not a fixed sleep.
    bool admitted = false;
    for (auto deadline = std::chrono::steady_clock::now() + 2s;
         !admitted && std::chrono::steady_clock::now() < deadline;) {
        test::run_coro(ctx_, wait_ms(10ms));
        admitted = check(p, "read", "leaky").allowed;
    }
    EXPECT_TRUE(admitted);
}

asio::awaitable<void> check_into(RateLimiter* limiter,
                                 Policy p,
                                 std::atomic<int>* allowed,
                                 std::atomic<int>* denied) {
    auto d = co_await limiter->check(p, "auth", "ip:10.0.0.1|email:x@example.com");
    (d.allowed ? allowed : denied)->fetch_add(1);
}

// N parallel checks from several threads, each with its own connection: exactly the burst passes.
TEST_F(RateLimiterTest, ExactlyTheAllowedNumberPassUnderConcurrency) {
    const auto p = policy(20, 3600s, 20);  // nothing leaks during the test
    constexpr int kThreads = 4;
    constexpr int kPerThread = 25;
    std::atomic<int> allowed{0};
    std::atomic<int> denied{0};
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, this] {
            asio::io_context ctx;
            redis::Client client(ctx.get_executor(), redis::test::shared_server_options());
            RateLimiter limiter([&client]() -> redis::Client& { return client; }, redis::Keys(prefix_));
            std::vector<asio::awaitable<void>> tasks;
            for (int i = 0; i < kPerThread; ++i) tasks.push_back(check_into(&limiter, p, &allowed, &denied));
            try {
                run_all(ctx, std::move(tasks));
            } catch (const std::exception&) {
                failures.fetch_add(1);
            }
            client.close();
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(allowed.load(), 20);
    EXPECT_EQ(denied.load(), kThreads * kPerThread - 20);
}

TEST_F(RateLimiterTest, UnreachableRedisThrowsAnInfraError) {
    redis::ClientOptions o;
    o.url = "redis://127.0.0.1:" + std::to_string(redis::test::free_port());
    o.connect_timeout = 300ms;
    redis::Client dead(ctx_.get_executor(), o);
    RateLimiter limiter([&dead]() -> redis::Client& { return dead; }, redis::Keys(prefix_));
    EXPECT_THROW(test::run_coro(ctx_, limiter.check(policy(1, 1s, 1), "read", "x")), core::InfraError);
    dead.close();
}

// ---- the middleware ----

class RateLimitMiddlewareTest : public RateLimiterTest {
protected:
    http::MiddlewareResult call(const http::Middleware& mw,
                                http::Verb method,
                                const std::string& path,
                                std::string group,
                                const std::string& ip,
                                const std::string& body = "") {
        http::Request req{method, path, 11};
        req.body() = body;
        http::RequestContext ctx{
            req, "rid", ip, path, {}, {}, std::chrono::steady_clock::now() + 5s, std::nullopt, {}};
        auto op = std::make_shared<http::Operation>();
        op->method = method;
        op->path = path;
        op->rate_group = std::move(group);
        const http::Route route{{}, {}, op};
        return test::run_coro(ctx_, mw(ctx, route));
    }
    static std::string header(const http::MiddlewareResult& r, std::string_view name) {
        for (const auto& [k, v] : r.extra_headers)
            if (k == name) return v;
        if (r.response) return std::string((*r.response)[name]);
        return {};
    }
    core::RateLimitConfig config_;
};

TEST_F(RateLimitMiddlewareTest, AuthGroupIsKeyedByIpAndNormalisedEmail) {
    config_.auth = policy(2, 60s, 2, false);
    auto mw = make_rate_limit_middleware(limiter_, config_, nullptr);
    const std::string login = "/api/v1/auth/login";
    auto body = [](const std::string& email) { return R"({"email":")" + email + R"(","password":"x"})"; };
    auto first = call(mw, http::Verb::post, login, "auth", "10.1.1.1", body("Ann@Example.com"));
    EXPECT_FALSE(first.response);
    EXPECT_EQ(header(first, "RateLimit-Limit"), "2");
    EXPECT_EQ(header(first, "RateLimit-Remaining"), "1");
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.1.1.1", body(" ann@example.COM ")).response);

    const auto limited_before = decisions("auth", "limited");
    auto third = call(mw, http::Verb::post, login, "auth", "10.1.1.1", body("ann@example.com"));
    ASSERT_TRUE(third.response);
    EXPECT_EQ(third.response->result(), http::Status::too_many_requests);
    EXPECT_EQ((*third.response)[http::bhttp::field::content_type], "application/problem+json");
    EXPECT_EQ(boost::json::parse(third.response->body()).at("code").as_string(), "rate_limited");
    EXPECT_EQ(header(third, "Retry-After"), "30");
    EXPECT_EQ(header(third, "RateLimit-Remaining"), "0");
    EXPECT_EQ(header(third, "RateLimit-Reset"), "60");
    EXPECT_EQ(decisions("auth", "limited"), limited_before + 1);

    // Another e-mail from the same IP, or the same e-mail from another IP, has its own bucket.
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.1.1.1", body("bob@example.com")).response);
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.2.2.2", body("ann@example.com")).response);
}

// Login normalises the e-mail (trims \f and \v too, lower-cases); citext compares non-ASCII case-
// insensitively. Every spelling of one address must drain the same buckets.
TEST_F(RateLimitMiddlewareTest, EverySpellingOfAnAddressDrainsTheSameAuthAndAccountBuckets) {
    config_.auth = policy(3, 60s, 3, false);
    config_.login_account = policy(4, 60s, 4, false);
    auto mw = make_rate_limit_middleware(limiter_, config_, nullptr);
    const std::string login = "/api/v1/auth/login";
    auto body = [](const std::string& email) {
        return boost::json::serialize(boost::json::object{{"email", email}, {"password", "guess"}});
    };
    // One client: the auth bucket (ip + address) admits 3, whatever the spelling.
    const std::vector<std::string> spellings = {
        "\fvictim@example.com", "\f\fvictim@example.com", "\vVICTIM@example.com", "victim@EXAMPLE.com\f\v"};
    for (std::size_t i = 0; i < spellings.size(); ++i) {
        auto r = call(mw, http::Verb::post, login, "auth", "10.3.3.3", body(spellings[i]));
        EXPECT_EQ(static_cast<bool>(r.response), i == 3) << "attempt " << i;
        if (r.response) {
            EXPECT_EQ(r.response->result(), http::Status::too_many_requests);
        }
    }
    // Many clients: the account bucket admits 4, whatever the spelling, including non-ASCII case
    // variants of a non-ASCII address.
    const std::vector<std::string> unicode = {"\xC3\x89MILE@example.com",
                                              "\f\xC3\xA9mile@example.com",
                                              "\xC3\x89mile@EXAMPLE.COM\v",
                                              "\xC3\xA9MILE@example.com",
                                              "\xC3\xA9mile@example.com"};
    int admitted = 0;
    for (std::size_t i = 0; i < unicode.size(); ++i) {
        auto r =
            call(mw, http::Verb::post, login, "auth", "10.4.4." + std::to_string(i + 1), body(unicode[i]));
        if (!r.response) {
            ++admitted;
            continue;
        }
        EXPECT_EQ(r.response->result(), http::Status::too_many_requests);
        EXPECT_NE(boost::json::parse(r.response->body()).at("detail").as_string().find("this account"),
                  std::string::npos);
    }
    EXPECT_EQ(admitted, 4);
    // The Kelvin sign lower-cases to an ASCII k in the database: the same account as "kim@".
    for (int i = 0; i < 4; ++i) {
        EXPECT_FALSE(call(mw,
                          http::Verb::post,
                          login,
                          "auth",
                          "10.5.5." + std::to_string(i + 1),
                          body("kim@example.com"))
                         .response);
    }
    auto kelvin = call(mw, http::Verb::post, login, "auth", "10.5.5.9", body("\xE2\x84\xAAIM@example.com"));
    ASSERT_TRUE(kelvin.response);
    EXPECT_EQ(kelvin.response->result(), http::Status::too_many_requests);
}

TEST_F(RateLimitMiddlewareTest, RefusedAddressesShareOneBucketPerClient) {
    config_.auth = policy(2, 60s, 2, false);
    auto mw = make_rate_limit_middleware(limiter_, config_, nullptr);
    const std::string login = "/api/v1/auth/login";
    auto body = [](const boost::json::value& email) {
        return boost::json::serialize(boost::json::object{{"email", email}, {"password", "guess"}});
    };
    // Variants the normaliser refuses (and a non-string) do not get a bucket each.
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.6.6.6", body("\f")).response);
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.6.6.6", body("no-at-sign")).response);
    auto third = call(mw, http::Verb::post, login, "auth", "10.6.6.6", body("\f\fno@dot"));
    ASSERT_TRUE(third.response);
    EXPECT_EQ(third.response->result(), http::Status::too_many_requests);
    EXPECT_TRUE(call(mw, http::Verb::post, login, "auth", "10.6.6.6", body(42)).response);
    // A valid address of the same client still has its own bucket; another client is not affected.
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.6.6.6", body("ann@example.com")).response);
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.7.7.7", body("\f")).response);
    // A body the login handler refuses (duplicate member) names no address either: it is counted
    // per client, not under whichever `email` a lenient parser would have kept.
    const std::string dup = R"({"email":"a1@example.com","email":"a2@example.com","password":"x"})";
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.8.8.8", dup).response);
    EXPECT_FALSE(call(mw, http::Verb::post, login, "auth", "10.8.8.8", dup).response);
    EXPECT_TRUE(call(mw, http::Verb::post, login, "auth", "10.8.8.8", dup).response);
}

TEST_F(RateLimitMiddlewareTest, WritesAreKeyedPerUserAndReadsPerIp) {
    config_.write = policy(1, 60s, 1);
    config_.read = policy(1, 60s, 1);
    std::int64_t user = 1;
    auto mw = make_rate_limit_middleware(
        limiter_, config_, [&user](const http::RequestContext&) -> std::optional<std::int64_t> {
            return user;
        });
    EXPECT_FALSE(call(mw, http::Verb::post, "/api/v1/orders", "", "10.0.0.1").response);
    EXPECT_TRUE(call(mw, http::Verb::post, "/api/v1/orders", "", "10.0.0.2").response)
        << "same user, other IP";
    user = 2;
    EXPECT_FALSE(call(mw, http::Verb::post, "/api/v1/orders", "", "10.0.0.1").response)
        << "other user, same IP";
    EXPECT_FALSE(call(mw, http::Verb::get, "/api/v1/products", "", "10.0.0.1").response);
    EXPECT_TRUE(call(mw, http::Verb::get, "/api/v1/products", "", "10.0.0.1").response);
    EXPECT_FALSE(call(mw, http::Verb::get, "/api/v1/products", "", "10.0.0.3").response);
}

TEST_F(RateLimitMiddlewareTest, OnlyApiRoutesAreLimitedAndItCanBeDisabled) {
    config_.read = policy(1, 60s, 1);
    auto mw = make_rate_limit_middleware(limiter_, config_, nullptr);
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(call(mw, http::Verb::get, "/healthz", "", "10.0.0.9").response);
    config_.enabled = false;
    auto off = make_rate_limit_middleware(limiter_, config_, nullptr);
    for (int i = 0; i < 3; ++i) {
        auto r = call(off, http::Verb::get, "/api/v1/products", "", "10.0.0.9");
        EXPECT_FALSE(r.response);
        EXPECT_TRUE(r.extra_headers.empty());
    }
}

TEST_F(RateLimitMiddlewareTest, RedisDownFailsOpenForReadsAndClosedForAuth) {
    redis::ClientOptions o;
    o.url = "redis://127.0.0.1:" + std::to_string(redis::test::free_port());
    o.connect_timeout = 300ms;
    redis::Client dead(ctx_.get_executor(), o);
    auto dead_limiter =
        std::make_shared<RateLimiter>([&dead]() -> redis::Client& { return dead; }, redis::Keys(prefix_));
    auto mw = make_rate_limit_middleware(dead_limiter, config_, nullptr);  // default policies

    const auto open_before = decisions("read", "fail_open");
    auto read = call(mw, http::Verb::get, "/api/v1/products", "", "10.0.0.1");
    EXPECT_FALSE(read.response) << "reads fail open";
    EXPECT_EQ(decisions("read", "fail_open"), open_before + 1);

    const auto closed_before = decisions("auth", "fail_closed");
    auto login =
        call(mw, http::Verb::post, "/api/v1/auth/login", "auth", "10.0.0.1", R"({"email":"a@b.co"})");
    ASSERT_TRUE(login.response) << "auth fails closed";
    EXPECT_EQ(login.response->result(), http::Status::service_unavailable);
    EXPECT_EQ((*login.response)[http::bhttp::field::retry_after], "1");
    EXPECT_EQ(boost::json::parse(login.response->body()).at("code").as_string(), "unavailable");
    EXPECT_EQ(decisions("auth", "fail_closed"), closed_before + 1);

    auto write = call(mw, http::Verb::post, "/api/v1/orders", "", "10.0.0.1");
    EXPECT_FALSE(write.response) << "writes fail open by default";
    dead.close();
}

// ---- the e-mail key against PostgreSQL's own case folding ----

struct PgConnClose {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultClear {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgConn = std::unique_ptr<PGconn, PgConnClose>;
using PgResult = std::unique_ptr<PGresult, PgResultClear>;

PgResult exec(PGconn* conn, const std::string& sql) {
    PgResult r(PQexec(conn, sql.c_str()));
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error("`" + sql + "` failed: " + PQerrorMessage(conn));
    }
    return r;
}

// Decodes one UTF-8 code point (the whole of `s`), or 0 when `s` is not exactly one.
char32_t single_code_point(std::string_view s) {
    if (s.size() == 1) return static_cast<unsigned char>(s[0]);
    const auto b0 = static_cast<unsigned char>(s[0]);
    char32_t cp = 0;
    std::size_t n = 0;
    if ((b0 & 0xE0U) == 0xC0U) {
        cp = b0 & 0x1FU;
        n = 2;
    } else if ((b0 & 0xF0U) == 0xE0U) {
        cp = b0 & 0x0FU;
        n = 3;
    } else {
        cp = b0 & 0x07U;
        n = 4;
    }
    if (s.size() != n) return 0;
    for (std::size_t i = 1; i < n; ++i) cp = (cp << 6U) | (static_cast<unsigned char>(s[i]) & 0x3FU);
    return cp;
}

// Production databases are initialised with a UTF-8 locale, where citext (users.email) lower-cases
// every code point with the locale's table. The key's folding must equate at least what the
// database equates; on this machine it is the very same table, checked over all of Unicode.
TEST(EmailRateKeyAgainstPostgres, FoldsExactlyAsCitextOnAUtf8LocaleDatabase) {
    const auto admin_url = test::test_database_admin_url();
    const auto name = "test_utf8_" + test::unique_suffix();  // drop_test_database wants test_*
    {
        PgConn admin(PQconnectdb(admin_url.c_str()));
        ASSERT_EQ(PQstatus(admin.get()), CONNECTION_OK) << PQerrorMessage(admin.get());
        exec(admin.get(),
             "CREATE DATABASE " + name +
                 " TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'");
    }
    const auto url = test::database_url(admin_url, name);
    std::map<char32_t, char32_t> lowered;  // code point → PostgreSQL's lower(), where it differs
    std::vector<std::string> equal;        // citext comparisons, "t" or "f"
    {
        PgConn conn(PQconnectdb(url.c_str()));
        ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
        exec(conn.get(), "CREATE EXTENSION citext");
        auto r = exec(conn.get(),
                      "SELECT c, lower(chr(c)) FROM generate_series(1, 1114111) AS c "
                      "WHERE (c < 55296 OR c > 57343) AND lower(chr(c)) <> chr(c)");
        for (int i = 0; i < PQntuples(r.get()); ++i) {
            const auto c = static_cast<char32_t>(std::stoul(PQgetvalue(r.get(), i, 0)));
            lowered[c] = single_code_point(PQgetvalue(r.get(), i, 1));
        }
        auto cmp = exec(conn.get(),
                        "SELECT U&'\\00C9MILE@example.com'::citext = U&'\\00E9mile@example.com'::citext, "
                        "U&'\\212AIM@example.com'::citext = 'kim@example.com'::citext");
        equal = {PQgetvalue(cmp.get(), 0, 0), PQgetvalue(cmp.get(), 0, 1)};
    }
    test::drop_test_database(url);

    EXPECT_GT(lowered.size(), 1000U) << "the database lower-cases beyond ASCII";
    std::size_t mismatches = 0;
    for (char32_t c = 1; c < 0x110000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        const auto it = lowered.find(c);
        const char32_t want = it == lowered.end() ? c : it->second;
        if (core::fold_code_point(c) != want && ++mismatches <= 5) {
            ADD_FAILURE() << "U+" << std::hex << static_cast<unsigned>(c) << ": key folds to U+"
                          << static_cast<unsigned>(core::fold_code_point(c)) << ", PostgreSQL to U+"
                          << static_cast<unsigned>(want);
        }
    }
    EXPECT_EQ(mismatches, 0U);
    // The spellings the database equates get one key.
    EXPECT_EQ(equal, (std::vector<std::string>{"t", "t"}));
    EXPECT_EQ(core::email_rate_key("\xC3\x89MILE@example.com"),
              core::email_rate_key("\xC3\xA9mile@example.com"));
    EXPECT_EQ(core::email_rate_key("\xE2\x84\xAAIM@example.com"), core::email_rate_key("kim@example.com"));
}

}  // namespace
}  // namespace emporium::ratelimit
