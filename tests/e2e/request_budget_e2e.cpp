// End-to-end: a checkout that runs out of its request budget (HTTP_REQUEST_TIMEOUT_MS) while another
// transaction holds its product's row FOR UPDATE, for every INVENTORY_STRATEGY. The client gets 503
// at the budget; the handler is not interrupted, so whatever happens next its cleanup runs:
//   - the lock outlives the statement timeout: the checkout fails, the Redis mirror gets its units
//     back (mirror == database), the Redlock keys are deleted (no waiting for their TTL) and the
//     Idempotency-Key is freed, so a retry with the same key is processed (201, not a replay);
//   - the lock goes away right after the 503: the checkout completes after its answer was sent, and
//     a retry with the same key replays the order (exactly one order, stock taken once).
#include "auth/jwt.hpp"
#include "db/pg.hpp"
#include "e2e/http_client.hpp"
#include "e2e/process.hpp"
#include "integration/redis_support.hpp"
#include "redis/redis.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace emporium::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = bhttp::response<bhttp::string_body>;
using namespace std::chrono_literals;

const std::string kJwtSecret = "request-budget-e2e-secret-request-budget-e2e";
constexpr auto kBudget = 1000ms;        // HTTP_REQUEST_TIMEOUT_MS
constexpr auto kQueryTimeout = 2500ms;  // DB_QUERY_TIMEOUT_MS: the blocked statement gives up after it

// Polls `probe` until it is true or `limit` passed; returns the last result.
bool eventually(const std::function<bool()>& probe, std::chrono::milliseconds limit = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (probe()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return probe();
}

class RequestBudgetE2E : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        ASSERT_GE(sodium_init(), 0);
        prefix_ = "e2e:budget:" + unique_suffix() + ":";
        server_ = std::make_unique<ServerProcess>(std::map<std::string, std::string>{
            {"DATABASE_URL", db_.url},
            {"JWT_SECRET", kJwtSecret},
            {"RATE_LIMIT_ENABLED", "false"},
            {"RATE_LIMIT_KEY_PREFIX", prefix_},
            {"INVENTORY_STRATEGY", GetParam()},
            {"HTTP_REQUEST_TIMEOUT_MS", std::to_string(kBudget.count())},
            {"DB_QUERY_TIMEOUT_MS", std::to_string(kQueryTimeout.count())},
            // Far longer than the test: a lock left behind would still be there at the check.
            {"LOCK_TTL_MS", "60000"}});
        db::PoolOptions o;
        o.connection.url = db_.url;
        pool_ = std::make_unique<db::Pool>(io_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(io_.get_executor(), redis::test::shared_server_options());
        codec_ = std::make_unique<auth::JwtCodec>(
            auth::JwtSettings{kJwtSecret, "emporium", "emporium-api", 900s, 30s});
        admin_ = "Bearer " + codec_->issue(1, auth::Role::kAdmin, std::chrono::system_clock::now());
        const auto user = scalar(
            "INSERT INTO users (email, password_hash, name) VALUES ('late@example.com', "
            "'$argon2id$x', 'L') RETURNING id");
        customer_ = "Bearer " + codec_->issue(user, auth::Role::kCustomer, std::chrono::system_clock::now());
    }
    void TearDown() override {
        run_coro(io_, redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }

    std::int64_t scalar(const std::string& sql, db::Params params = {}) {
        auto r = run_coro(io_, pool_->query_unprepared(sql, std::move(params)));
        return r.empty() || r.is_null(0, 0) ? 0 : r.get<std::int64_t>(0, 0);
    }
    std::int64_t product(const std::string& sku, std::int64_t stock) {
        json::object p{{"sku", sku}, {"name", "Item " + sku}, {"price_cents", 500}, {"stock", stock}};
        auto r = http_call(server_->port(),
                           bhttp::verb::post,
                           "/api/v1/products",
                           json::serialize(p),
                           {{"Authorization", admin_}});
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return json::parse(r.body()).at("id").as_int64();
    }
    Res checkout(std::int64_t product_id, const std::string& key) {
        const auto body = json::serialize(
            json::object{{"items", json::array{json::object{{"product_id", product_id}, {"quantity", 1}}}},
                         {"shipping_address", json::object{{"city", "Oslo"}}}});
        return http_call(server_->port(),
                         bhttp::verb::post,
                         "/api/v1/orders",
                         body,
                         {{"Authorization", customer_}, {"Idempotency-Key", key}});
    }
    std::int64_t stock(std::int64_t id) {
        return scalar("SELECT stock::bigint FROM products WHERE id = $1", db::params(id));
    }
    // The mirror's value, or nullopt when the key is absent (not loaded yet).
    std::optional<std::int64_t> mirror(std::int64_t id) {
        auto reply =
            run_coro(io_, redis_->command(redis::cmd("GET", prefix_ + "stock:" + std::to_string(id))));
        if (reply.is_nil()) return std::nullopt;
        return reply.as_int();
    }
    std::int64_t lock_keys(std::int64_t id) {
        auto reply = run_coro(
            io_, redis_->command(redis::cmd("EXISTS", prefix_ + "lock:product:" + std::to_string(id))));
        return reply.as_int();
    }
    std::int64_t lock_waiters() {
        return scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'");
    }
    // Holds the product's row FOR UPDATE in a transaction on a connection of the test's own;
    // release() rolls it back.
    std::unique_ptr<db::Connection> hold_row(std::int64_t id) {
        db::ConnectionOptions o;
        o.url = db_.url;
        auto conn = run_coro(io_, db::Connection::connect(io_.get_executor(), o));
        run_coro(io_, conn->query_unprepared("BEGIN"));
        run_coro(io_,
                 conn->query_unprepared("SELECT id FROM products WHERE id = $1 FOR UPDATE", db::params(id)));
        return conn;
    }
    void release(std::unique_ptr<db::Connection>& held) {
        run_coro(io_, held->query_unprepared("ROLLBACK"));
        held->close();
    }
    // The request runs into the budget: 503 problem+json at about the budget, connection closed.
    void expect_budget_503(const Res& r, std::chrono::steady_clock::duration took) {
        EXPECT_EQ(r.result_int(), 503U) << r.body();
        EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
        EXPECT_EQ(json::parse(r.body()).at("code").as_string(), "unavailable") << r.body();
        EXPECT_FALSE(r.keep_alive());
        EXPECT_GE(took, kBudget - 50ms);
        EXPECT_LT(took, kQueryTimeout) << "the answer waited for the handler instead of the budget";
    }
    void expect_mirror_matches(std::int64_t id) {
        if (GetParam() != "redis") return;
        auto m = mirror(id);
        ASSERT_TRUE(m.has_value()) << "the checkout loaded the mirror";
        EXPECT_EQ(*m, stock(id)) << "the mirror lost or kept units the database does not agree with";
    }

    TestDatabase db_;
    asio::io_context io_;
    std::string prefix_;
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::unique_ptr<auth::JwtCodec> codec_;
    std::string admin_;
    std::string customer_;
};

TEST_P(RequestBudgetE2E, ACheckoutThatFailsAfterItsBudgetStillCleansUp) {
    const auto p = product("late-fail", 5);
    auto held = hold_row(p);
    const auto started = std::chrono::steady_clock::now();
    auto r = checkout(p, "late-1");
    expect_budget_503(r, std::chrono::steady_clock::now() - started);

    // The checkout's statement waits for the row until the statement timeout, then fails; only
    // then does the test let go of the row.
    ASSERT_TRUE(eventually([&] { return lock_waiters() == 0; })) << "the blocked statement never gave up";
    release(held);

    // The failed checkout freed its Idempotency-Key (not "in progress" until it is abandoned).
    EXPECT_TRUE(eventually([&] {
        return scalar("SELECT count(*) FROM idempotency_keys WHERE key = 'late-1'") == 0;
    })) << "the Idempotency-Key is still held";
    EXPECT_EQ(stock(p), 5);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 0);
    expect_mirror_matches(p);
    EXPECT_EQ(lock_keys(p), 0) << "the Redlock key was left to its TTL";

    // A retry with the same key is processed, not answered "in progress" nor replayed.
    auto retry = checkout(p, "late-1");
    ASSERT_EQ(retry.result_int(), 201U) << retry.body();
    EXPECT_TRUE(retry["Idempotent-Replayed"].empty());
    EXPECT_EQ(stock(p), 4);
    expect_mirror_matches(p);
    EXPECT_EQ(lock_keys(p), 0);
}

TEST_P(RequestBudgetE2E, ACheckoutThatSucceedsAfterItsBudgetIsReplayedToTheRetry) {
    const auto p = product("late-ok", 5);
    auto held = hold_row(p);
    const auto started = std::chrono::steady_clock::now();
    auto r = checkout(p, "late-2");
    expect_budget_503(r, std::chrono::steady_clock::now() - started);
    // The row comes free long before the statement timeout: the handler, which kept running,
    // completes the order after its 503 went out.
    release(held);

    ASSERT_TRUE(eventually([&] {
        return scalar(
                   "SELECT count(*) FROM idempotency_keys WHERE key = 'late-2' AND status_code IS NOT "
                   "NULL") == 1;
    })) << "the checkout did not finish after its budget";
    auto retry = checkout(p, "late-2");
    ASSERT_EQ(retry.result_int(), 201U) << retry.body();
    EXPECT_EQ(retry["Idempotent-Replayed"], "true");
    EXPECT_EQ(scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'late-2'"), 1);
    EXPECT_EQ(stock(p), 4);
    expect_mirror_matches(p);
    EXPECT_EQ(lock_keys(p), 0);

    // Operators see the overrun.
    auto metrics = http_call(server_->port(), bhttp::verb::get, "/metrics").body();
    EXPECT_NE(metrics.find("emporium_http_handler_overruns_total{route=\"/api/v1/orders\"} 1"),
              std::string::npos)
        << metrics;
}

INSTANTIATE_TEST_SUITE_P(Strategies,
                         RequestBudgetE2E,
                         ::testing::Values("pessimistic", "dual", "optimistic", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return param_info.param;
                         });

}  // namespace
}  // namespace emporium::test
