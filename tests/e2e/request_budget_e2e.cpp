// End-to-end: a checkout that runs out of its request budget (HTTP_REQUEST_TIMEOUT_MS) while another
// transaction holds its product's row FOR UPDATE, for every INVENTORY_STRATEGY. The client gets 503
// at the budget; the handler is not interrupted, so whatever happens next its cleanup runs:
//   - the lock outlives the statement timeout: the checkout fails, the Redis mirror gets its units
//     back (mirror == database), the Redlock keys are deleted (no waiting for their TTL) and the
//     Idempotency-Key is freed, so a retry with the same key is processed (201, not a replay);
//   - the lock goes away right after the 503: the checkout completes after its answer was sent, and
//     a retry with the same key replays the order (exactly one order, stock taken once).
#include "db/pg.hpp"
#include "e2e/e2e_fixture.hpp"
#include "integration/redis_support.hpp"
#include "redis/redis.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>

namespace emporium::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using Res = HttpResponse;
using namespace std::chrono_literals;

constexpr auto kBudget = 1000ms;        // HTTP_REQUEST_TIMEOUT_MS
constexpr auto kQueryTimeout = 2500ms;  // DB_QUERY_TIMEOUT_MS: the blocked statement gives up after it

class RequestBudgetE2E : public ::testing::TestWithParam<std::string>, protected E2EFixture {
protected:
    RequestBudgetE2E() : E2EFixture("budget") {}

    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(
            env({{"RATE_LIMIT_ENABLED", "false"},
                 {"INVENTORY_STRATEGY", GetParam()},
                 {"HTTP_REQUEST_TIMEOUT_MS", std::to_string(kBudget.count())},
                 {"DB_QUERY_TIMEOUT_MS", std::to_string(kQueryTimeout.count())},
                 // Far longer than the test: a lock left behind would still be there at the check.
                 {"LOCK_TTL_MS", "60000"}}));
        redis_ = std::make_unique<redis::Client>(io_.get_executor(), redis::test::shared_server_options());
        customer_ = customer("late@example.com", "L").second;
    }
    void TearDown() override { redis_->close(); }

    std::int64_t product(const std::string& sku, std::int64_t stock) {
        return create_product(
            server_->port(),
            admin_,
            {{"sku", sku}, {"name", "Item " + sku}, {"price_cents", 500}, {"stock", stock}});
    }
    Res checkout(std::int64_t product_id, const std::string& key) {
        return authorized_call(server_->port(),
                               bhttp::verb::post,
                               "/api/v1/orders",
                               customer_,
                               order_body(product_id, 1),
                               {{"Idempotency-Key", key}});
    }
    std::int64_t stock(std::int64_t id) {
        return product_stock(id);
    }
    // A product's default variant (the unit of stock, which the mirror and the locks are keyed by).
    std::int64_t variant(std::int64_t product_id) {
        return sql("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", db::params(product_id));
    }
    // The mirror's value, or nullopt when the key is absent (not loaded yet).
    std::optional<std::int64_t> mirror(std::int64_t id) {
        auto reply = run_coro(io_, redis_->command(redis::cmd("GET", prefix_ + "{v:" + std::to_string(variant(id)) + "}:stock")));
        if (reply.is_nil()) return std::nullopt;
        return reply.as_int();
    }
    std::int64_t lock_keys(std::int64_t id) {
        auto reply = run_coro(
            io_, redis_->command(redis::cmd("EXISTS", prefix_ + "lock:variant:" + std::to_string(variant(id)))));
        return reply.as_int();
    }
    std::int64_t lock_waiters() {
        return sql(
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
        expect_problem(r, 503, "unavailable");
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

    asio::io_context io_;
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<redis::Client> redis_;
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
        return sql("SELECT count(*) FROM idempotency_keys WHERE key = 'late-1'") == 0;
    })) << "the Idempotency-Key is still held";
    EXPECT_EQ(stock(p), 5);
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), 0);
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
        return sql("SELECT count(*) FROM idempotency_keys WHERE key = 'late-2' AND status_code IS NOT "
                   "NULL") == 1;
    })) << "the checkout did not finish after its budget";
    auto retry = checkout(p, "late-2");
    ASSERT_EQ(retry.result_int(), 201U) << retry.body();
    EXPECT_EQ(retry["Idempotent-Replayed"], "true");
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE idempotency_key = 'late-2'"), 1);
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
