// End-to-end flash sale: THREE `emporium serve` processes share one database and one Redis; 500
// checkout requests (20 customers, distinct Idempotency-Keys) race for 50 units of one product.
// Exactly 50 orders succeed, every other answer is 409, nothing is 5xx, stock ends at 0 and
// `emporium inventory audit` finds the ledger balanced — for every INVENTORY_STRATEGY. A second
// run SIGKILLs one server in the middle of the sale: stock + units sold still equal 50.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr int kStock = 50;
constexpr int kCustomers = 20;
constexpr int kOrdersPerCustomer = 25;  // 500 requests

class OrdersE2E : public ::testing::TestWithParam<std::string>, protected E2EFixture {
protected:
    OrdersE2E() : E2EFixture("orders") {}

    void SetUp() override {
        for (int i = 0; i < 3; ++i) {
            servers_.push_back(std::make_unique<ServerProcess>(env({{"RATE_LIMIT_ENABLED", "false"},
                                                                    {"INVENTORY_STRATEGY", GetParam()},
                                                                    {"LOCK_RETRIES", "2000"},
                                                                    {"OPTIMISTIC_RETRIES", "1000"},
                                                                    {"LOCK_TTL_MS", "2000"},
                                                                    {"DB_POOL_SIZE", "8"}})));
        }
    }
    std::vector<std::string> customers() {
        std::vector<std::string> tokens;
        for (int i = 0; i < kCustomers; ++i)
            tokens.push_back(customer("c" + std::to_string(i) + "@example.com").second);
        return tokens;
    }
    std::int64_t create_product() {
        return test::create_product(
            servers_[0]->port(),
            admin_,
            {{"sku", "flash-1"}, {"name", "Flash sale item"}, {"price_cents", 999}, {"stock", kStock}});
    }
    void sale(std::int64_t product, SaleTally& tally, bool kill_one) {
        auto tokens = customers();
        std::vector<unsigned short> ports;
        for (auto& s : servers_) ports.push_back(s->port());
        std::vector<std::thread> threads;
        for (int c = 0; c < kCustomers; ++c)
            threads.emplace_back(shop_flash_sale,
                                 ports,
                                 tokens[static_cast<std::size_t>(c)],
                                 c,
                                 kOrdersPerCustomer,
                                 product,
                                 &tally);
        if (kill_one) {
            eventually(
                [&] {
                    std::lock_guard lock(tally.mutex);
                    return tally.created + tally.conflict >= 20;
                },
                10s,
                1ms);
            servers_[1]->process().signal(SIGKILL);
        }
        for (auto& t : threads) t.join();
    }
    int audit() { return run_emporium({"inventory", "audit"}, env()); }

    std::vector<std::unique_ptr<ServerProcess>> servers_;
};

TEST_P(OrdersE2E, FlashSaleThroughThreeServersSellsExactlyTheStock) {
    const auto product = create_product();
    SaleTally tally;
    sale(product, tally, false);
    EXPECT_EQ(tally.created, kStock);
    EXPECT_EQ(tally.conflict, kCustomers * kOrdersPerCustomer - kStock);
    EXPECT_EQ(tally.server_error + tally.unavailable, 0);
    EXPECT_EQ(tally.unreachable, 0);
    EXPECT_TRUE(tally.unexpected.empty()) << tally.unexpected.front();
    EXPECT_EQ(product_stock(product), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), kStock);
    EXPECT_EQ(audit(), 0);
}

TEST_P(OrdersE2E, ServerKilledMidSaleLosesNothing) {
    const auto product = create_product();
    SaleTally tally;
    sale(product, tally, true);
    EXPECT_EQ(tally.server_error + tally.unavailable, 0);
    EXPECT_TRUE(tally.unexpected.empty()) << tally.unexpected.front();
    const auto stock = product_stock(product);
    const auto sold = sql("SELECT coalesce(sum(quantity), 0)::bigint FROM order_items WHERE product_id = " +
                          std::to_string(product));
    EXPECT_EQ(stock + sold, kStock);
    EXPECT_GE(sold, tally.created);
    EXPECT_EQ(audit(), 0);
}

INSTANTIATE_TEST_SUITE_P(Strategies,
                         OrdersE2E,
                         ::testing::Values("pessimistic", "dual", "optimistic", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                             return param_info.param;
                         });

}  // namespace
}  // namespace emporium::test
