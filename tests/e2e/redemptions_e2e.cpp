// End-to-end: promotions applied to orders and carts through the real `emporium serve` binary.
// - 1 000 concurrent checkouts with one 100-use code across three servers (every inventory
//   strategy): exactly 100 orders carry it, the rest are refused with promotion_unavailable and
//   take nothing; cancelling 10 of them gives 10 uses back, and exactly 10 more orders get them.
// - A per-customer limit of 1 with 20 concurrent checkouts of one customer: exactly one.
// - Codes on a cart: applied and rejected with their reasons, the discounted total, checkout
//   carrying the discount to the order's lines; expiry of an unpaid order releases its redemption.
// - Bad input (malformed, unknown, deleted, ended, a sixth code) gets problem+json and changes nothing.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using namespace std::chrono_literals;

constexpr int kShoppers = 20;
constexpr int kTriesEach = 50;  // 1 000 checkouts
constexpr int kUses = 100;
constexpr std::int64_t kPrice = 1000;

std::string order_with(std::int64_t product, const std::vector<std::string>& codes) {
    json::array list;
    for (const auto& c : codes) list.emplace_back(c);
    return json::serialize(json::object{{"items", json::array{json::object{{"product_id", product}, {"quantity", 1}}}},
                                        {"shipping_address", json::object{{"city", "Oslo"}}},
                                        {"codes", std::move(list)}});
}

struct Tally {
    std::mutex mutex;
    int created = 0;
    int unavailable = 0;
    std::vector<std::string> unexpected;
};

// Every money row a refused request must leave as it was.
std::string money_fingerprint_sql() {
    return "SELECT (SELECT count(*) FROM orders) * 1000003 + (SELECT count(*) FROM promotion_redemptions) * 1009 + "
           "(SELECT coalesce(sum(redeemed), 0) FROM promotions) * 17 + (SELECT coalesce(sum(stock), 0) FROM "
           "product_variants)";
}

class RedemptionsE2E : public ::testing::TestWithParam<std::string>, protected E2EFixture {
protected:
    RedemptionsE2E() : E2EFixture("redemptions") {}

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
    unsigned short port(std::size_t i = 0) const { return servers_[i % servers_.size()]->port(); }
    std::int64_t promotion(const json::object& body) {
        auto r = authorized_call(port(), bhttp::verb::post, "/api/v1/admin/promotions", admin_, json::serialize(body));
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return r.result_int() == 201 ? json_object(r).at("id").as_int64() : 0;
    }
    static void shop(std::vector<unsigned short> ports, std::string token, int shopper, int tries, std::string body,
                     std::string key_prefix, Tally* tally) {
        for (int i = 0; i < tries; ++i) {
            const HttpHeaders headers{{"Authorization", token},
                                      {"Idempotency-Key", key_prefix + std::to_string(shopper) + "-" + std::to_string(i)}};
            auto r = http_call(ports[static_cast<std::size_t>(shopper + i) % ports.size()], bhttp::verb::post,
                               "/api/v1/orders", body, headers);
            std::lock_guard lock(tally->mutex);
            if (r.result_int() == 201) {
                ++tally->created;
            } else if (r.result_int() == 409 && problem_code(r) == "promotion_unavailable") {
                ++tally->unavailable;
            } else {
                tally->unexpected.push_back(std::to_string(r.result_int()) + " " + r.body());
            }
        }
    }
    void rush(const std::vector<std::string>& tokens, int tries, const std::string& body, const std::string& key_prefix,
              Tally& tally) {
        std::vector<unsigned short> ports;
        for (auto& s : servers_) ports.push_back(s->port());
        std::vector<std::thread> threads;
        for (std::size_t c = 0; c < tokens.size(); ++c) {
            threads.emplace_back(shop, ports, tokens[c], static_cast<int>(c), tries, body, key_prefix, &tally);
        }
        for (auto& t : threads) t.join();
    }
    // Orders carrying promotion `id` (live redemptions), and checks every order's money adds up.
    std::int64_t carriers(std::int64_t id) {
        EXPECT_EQ(sql("SELECT count(*) FROM orders o WHERE o.subtotal_cents - o.discount_cents + o.shipping_cents + "
                      "o.tax_cents <> o.total_cents OR o.discount_cents <> (SELECT coalesce(sum(i.discount_cents), 0) "
                      "FROM order_items i WHERE i.order_id = o.id)"),
                  0)
            << "an order whose parts do not add up";
        return sql("SELECT count(*) FROM promotion_redemptions WHERE promotion_id = $1 AND released_at IS NULL",
                   db::params(id));
    }

    std::vector<std::unique_ptr<ServerProcess>> servers_;
};

TEST_P(RedemptionsE2E, AHundredUseCodeIsRedeemedExactlyAHundredTimesAcrossThreeServers) {
    const auto product = create_product(port(), admin_, {{"sku", "code-rush"}, {"name", "Rush"}, {"price_cents", kPrice},
                                                          {"stock", 5000}});
    const auto id = promotion({{"code", "rush10"}, {"name", "Rush 10%"}, {"kind", "percentage"}, {"value", 1000},
                               {"usage_limit", kUses}});
    std::vector<std::string> tokens;
    for (int i = 0; i < kShoppers; ++i) tokens.push_back(customer("rush" + std::to_string(i) + "@example.com").second);

    Tally tally;
    rush(tokens, kTriesEach, order_with(product, {"rush10"}), "a", tally);
    EXPECT_TRUE(tally.unexpected.empty()) << tally.unexpected.size() << " unexpected, first: " << tally.unexpected.front();
    EXPECT_EQ(tally.created, kUses);
    EXPECT_EQ(tally.unavailable, kShoppers * kTriesEach - kUses);
    EXPECT_EQ(carriers(id), kUses);
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(id)), kUses);
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE discount_cents = 100 AND total_cents = 900"), kUses);
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), kUses) << "a refused order must not be written";
    EXPECT_EQ(product_stock(product), 5000 - kUses) << "a refused order must take no stock";

    // Ten cancelled orders give their uses back; exactly ten more orders get them.
    auto cancelled = sql_query(db_.url, "SELECT o.id FROM orders o ORDER BY o.id LIMIT 10");
    for (std::size_t i = 0; i < cancelled.rows(); ++i) {
        const auto order = cancelled.get<std::int64_t>(i, "id");
        auto r = authorized_call(port(i), bhttp::verb::post, "/api/v1/orders/" + std::to_string(order) + "/cancel", admin_);
        ASSERT_EQ(r.result_int(), 200U) << r.body();
    }
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(id)), kUses - 10);
    EXPECT_EQ(carriers(id), kUses - 10);
    // A second cancel releases nothing more.
    auto again = authorized_call(port(), bhttp::verb::post,
                                 "/api/v1/orders/" + std::to_string(cancelled.get<std::int64_t>(0, "id")) + "/cancel", admin_);
    EXPECT_EQ(again.result_int(), 409U);
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(id)), kUses - 10);

    Tally second;
    rush(tokens, 3, order_with(product, {"RUSH10"}), "b", second);
    EXPECT_TRUE(second.unexpected.empty()) << second.unexpected.front();
    EXPECT_EQ(second.created, 10);
    EXPECT_EQ(carriers(id), kUses);
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(id)), kUses);
    EXPECT_EQ(run_emporium({"inventory", "audit"}, env({{"INVENTORY_STRATEGY", GetParam()}})), 0);
}

TEST_P(RedemptionsE2E, APerCustomerLimitOfOneHoldsForOneCustomersConcurrentCheckouts) {
    const auto product = create_product(port(), admin_, {{"sku", "once"}, {"name", "Once"}, {"price_cents", kPrice},
                                                          {"stock", 100}});
    const auto id = promotion({{"code", "ONCE"}, {"name", "Once each"}, {"kind", "fixed_amount"}, {"value", 250},
                               {"per_customer_limit", 1}});
    const auto token = customer("once@example.com").second;
    std::vector<std::string> same(20, token);
    Tally tally;
    rush(same, 1, order_with(product, {"once"}), "p", tally);
    EXPECT_TRUE(tally.unexpected.empty()) << tally.unexpected.front();
    EXPECT_EQ(tally.created, 1);
    EXPECT_EQ(tally.unavailable, 19);
    EXPECT_EQ(carriers(id), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE discount_cents = 250 AND total_cents = 750"), 1);
}

INSTANTIATE_TEST_SUITE_P(Strategies,
                         RedemptionsE2E,
                         ::testing::Values("pessimistic", "dual", "optimistic", "redis"),
                         [](const ::testing::TestParamInfo<std::string>& param_info) { return param_info.param; });

class CartCodesE2E : public ::testing::Test, protected E2EFixture {
protected:
    CartCodesE2E() : E2EFixture("cart_codes") {
        server_ = std::make_unique<ServerProcess>(env({{"RATE_LIMIT_ENABLED", "false"}, {"ORDER_TTL_S", "1"}}));
    }
    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    std::int64_t promotion(const json::object& body) {
        auto r = send(bhttp::verb::post, "/api/v1/admin/promotions", admin_, json::serialize(body));
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return r.result_int() == 201 ? json_object(r).at("id").as_int64() : 0;
    }
    static json::object code_of(const json::object& cart, const std::string& code) {
        for (const auto& c : cart.at("codes").as_array()) {
            if (c.as_object().at("code").as_string() == code) return c.as_object();
        }
        return {};
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(CartCodesE2E, TheCartShowsAppliedAndRejectedCodesAndCheckoutCarriesTheDiscount) {
    const auto tee = create_product(server_->port(), admin_, {{"sku", "tee"}, {"name", "Tee"}, {"price_cents", 1999}, {"stock", 50}});
    const auto mug = create_product(server_->port(), admin_, {{"sku", "mug"}, {"name", "Mug"}, {"price_cents", 1001}, {"stock", 50}});
    const auto third = promotion({{"code", "THIRD"}, {"name", "A third off"}, {"kind", "percentage"}, {"value", 3333}});
    promotion({{"code", "BIGSPEND"}, {"name", "5 off 500"}, {"kind", "fixed_amount"}, {"value", 500}, {"min_subtotal_cents", 50000}});
    promotion({{"code", "OVER"}, {"name", "Ended"}, {"kind", "percentage"}, {"value", 5000},
               {"starts_at", "2020-01-01T00:00:00Z"}, {"ends_at", "2020-02-01T00:00:00Z"}});
    const auto [user_id, token] = customer("codes@example.com");
    (void)user_id;
    auto opened = send(bhttp::verb::post, "/api/v1/carts", token);
    ASSERT_EQ(opened.result_int() / 100, 2U) << opened.body();
    const auto cart = "/api/v1/carts/" + std::to_string(json_object(opened).at("id").as_int64());
    ASSERT_EQ(send(bhttp::verb::post, cart + "/lines", token, json::serialize(json::object{{"product_id", tee}, {"quantity", 2}})).result_int(), 200U);
    ASSERT_EQ(send(bhttp::verb::post, cart + "/lines", token, json::serialize(json::object{{"product_id", mug}, {"quantity", 1}})).result_int(), 200U);

    for (const char* code : {"third", "BigSpend", "over"}) {
        auto r = send(bhttp::verb::post, cart + "/codes", token, json::serialize(json::object{{"code", code}}));
        ASSERT_EQ(r.result_int(), 200U) << code << ": " << r.body();
    }
    auto read = send(bhttp::verb::get, cart, token);
    ASSERT_EQ(read.result_int(), 200U);
    auto body = json_object(read);
    // 2 × 1999 + 1001 = 4999; a third off: floor(4999 × 3333 / 10000) = 1666.
    EXPECT_EQ(body.at("subtotal_cents").as_int64(), 4999);
    EXPECT_EQ(body.at("discount_cents").as_int64(), 1666);
    EXPECT_EQ(body.at("total_cents").as_int64(), 4999 - 1666);
    EXPECT_TRUE(code_of(body, "THIRD").at("applied").as_bool());
    EXPECT_EQ(code_of(body, "THIRD").at("discount_cents").as_int64(), 1666);
    EXPECT_EQ(code_of(body, "BIGSPEND").at("reason").as_string(), "minimum_not_met");
    EXPECT_EQ(code_of(body, "OVER").at("reason").as_string(), "ended");
    std::int64_t lines = 0;
    for (const auto& l : body.at("lines").as_array()) lines += l.as_object().at("discount_cents").as_int64();
    EXPECT_EQ(lines, 1666) << "the lines' shares sum to the discount";

    // Bad input: nothing changes.
    const auto before = sql(money_fingerprint_sql());
    const auto codes_before = sql("SELECT count(*) FROM cart_codes");
    expect_problem(send(bhttp::verb::post, cart + "/codes", token, R"({"code":"no such"})"), 422, "validation_failed", "malformed");
    expect_problem(send(bhttp::verb::post, cart + "/codes", token, R"({"code":"NOPE"})"), 422, "validation_failed", "unknown");
    expect_problem(send(bhttp::verb::post, cart + "/codes", token, R"({})"), 422, "validation_failed", "missing");
    expect_problem(send(bhttp::verb::delete_, cart + "/codes/ABSENT", token), 404, "not_found", "not on the cart");
    expect_problem(send(bhttp::verb::post, cart + "/codes", "", R"({"code":"THIRD"})"), 404, "not_found", "a stranger");
    promotion({{"code", "FOURTH"}, {"name", "4"}, {"kind", "fixed_amount"}, {"value", 1}});
    promotion({{"code", "FIFTH"}, {"name", "5"}, {"kind", "fixed_amount"}, {"value", 1}});
    promotion({{"code", "SIXTH"}, {"name", "6"}, {"kind", "fixed_amount"}, {"value", 1}});
    ASSERT_EQ(send(bhttp::verb::post, cart + "/codes", token, R"({"code":"fourth"})").result_int(), 200U);
    ASSERT_EQ(send(bhttp::verb::post, cart + "/codes", token, R"({"code":"fifth"})").result_int(), 200U);
    expect_problem(send(bhttp::verb::post, cart + "/codes", token, R"({"code":"sixth"})"), 409, "conflict", "a sixth code");
    EXPECT_EQ(sql("SELECT count(*) FROM cart_codes"), codes_before + 2);
    EXPECT_EQ(send(bhttp::verb::delete_, cart + "/codes/fourth", token).result_int(), 200U);
    EXPECT_EQ(send(bhttp::verb::delete_, cart + "/codes/FIFTH", token).result_int(), 200U);

    // Checkout with codes that do not apply is refused, naming the code; nothing is taken.
    const std::string checkout_body = R"({"shipping_address":{"city":"Oslo"},"expected_total_cents":3333})";
    auto refused = send(bhttp::verb::post, cart + "/checkout", token, checkout_body, {{"Idempotency-Key", "k1"}});
    expect_problem(refused, 409, "promotion_unavailable", "BIGSPEND does not apply");
    EXPECT_NE(refused.body().find("BIGSPEND"), std::string::npos) << refused.body();
    EXPECT_EQ(sql(money_fingerprint_sql()), before);
    ASSERT_EQ(send(bhttp::verb::delete_, cart + "/codes/BIGSPEND", token).result_int(), 200U);
    ASSERT_EQ(send(bhttp::verb::delete_, cart + "/codes/OVER", token).result_int(), 200U);

    // The subtotal is not the total any more: expected_total_cents is compared with the total.
    auto stale = send(bhttp::verb::post, cart + "/checkout", token,
                      R"({"shipping_address":{"city":"Oslo"},"expected_total_cents":4999})", {{"Idempotency-Key", "k2"}});
    expect_problem(stale, 409, "cart_changed", "the subtotal sent as the total");
    EXPECT_EQ(sql(money_fingerprint_sql()), before);

    auto placed = send(bhttp::verb::post, cart + "/checkout", token, checkout_body, {{"Idempotency-Key", "k3"}});
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json_object(placed);
    EXPECT_EQ(order.at("subtotal_cents").as_int64(), 4999);
    EXPECT_EQ(order.at("discount_cents").as_int64(), 1666);
    EXPECT_EQ(order.at("total_cents").as_int64(), 3333);
    ASSERT_EQ(order.at("promotions").as_array().size(), 1U);
    EXPECT_EQ(order.at("promotions").as_array()[0].as_object().at("code").as_string(), "THIRD");
    std::int64_t shares = 0;
    for (const auto& item : order.at("items").as_array()) shares += item.as_object().at("discount_cents").as_int64();
    EXPECT_EQ(shares, 1666);
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(third)), 1);

    // The order is unpaid and expires (ORDER_TTL_S=1): its redemption is released, once.
    std::this_thread::sleep_for(1500ms);
    ASSERT_EQ(run_emporium({"expire-orders"}, env()), 0);
    ASSERT_EQ(run_emporium({"expire-orders"}, env()), 0);
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(third)), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM promotion_redemptions WHERE promotion_id = $1 AND released_at IS NOT NULL",
                  db::params(third)),
              1);
}

TEST_F(CartCodesE2E, AGuestCartsCodesMoveIntoTheCustomersCartOnMerge) {
    const auto tee = create_product(server_->port(), admin_, {{"sku", "merge-tee"}, {"name", "Tee"}, {"price_cents", 1000}, {"stock", 5}});
    promotion({{"code", "GUEST5"}, {"name", "5 off"}, {"kind", "fixed_amount"}, {"value", 500}});
    promotion({{"code", "MINE"}, {"name", "1 off"}, {"kind", "fixed_amount"}, {"value", 100}});
    auto guest = send(bhttp::verb::post, "/api/v1/carts", "");
    ASSERT_EQ(guest.result_int(), 201U) << guest.body();
    const auto gid = json_object(guest).at("id").as_int64();
    const HttpHeaders token{{"X-Cart-Token", std::string(json_object(guest).at("token").as_string())}};
    const auto gpath = "/api/v1/carts/" + std::to_string(gid);
    ASSERT_EQ(send(bhttp::verb::post, gpath + "/lines", "", json::serialize(json::object{{"product_id", tee}}), token).result_int(), 200U);
    ASSERT_EQ(send(bhttp::verb::post, gpath + "/codes", "", R"({"code":"guest5"})", token).result_int(), 200U);
    ASSERT_EQ(send(bhttp::verb::post, gpath + "/codes", "", R"({"code":"MINE"})", token).result_int(), 200U);
    const auto customer_token = customer("merger@example.com").second;
    auto own = send(bhttp::verb::post, "/api/v1/carts", customer_token);
    const auto own_path = "/api/v1/carts/" + std::to_string(json_object(own).at("id").as_int64());
    ASSERT_EQ(send(bhttp::verb::post, own_path + "/codes", customer_token, R"({"code":"mine"})").result_int(), 200U);
    auto merged = send(bhttp::verb::post, gpath + "/merge", customer_token, "", token);
    ASSERT_EQ(merged.result_int(), 200U) << merged.body();
    const auto body = json_object(merged);
    ASSERT_EQ(body.at("codes").as_array().size(), 2U) << merged.body();
    EXPECT_TRUE(code_of(body, "GUEST5").at("applied").as_bool());
    EXPECT_TRUE(code_of(body, "MINE").at("applied").as_bool());
    EXPECT_EQ(body.at("discount_cents").as_int64(), 600);
}

TEST_F(CartCodesE2E, OrdersWithBadCodesAreRefusedAndChangeNothing) {
    const auto product = create_product(server_->port(), admin_, {{"sku", "plain"}, {"name", "Plain"}, {"price_cents", 800}, {"stock", 10}});
    const auto gone = promotion({{"code", "GONE"}, {"name", "Deleted"}, {"kind", "percentage"}, {"value", 1000}});
    ASSERT_EQ(send(bhttp::verb::delete_, "/api/v1/admin/promotions/" + std::to_string(gone), admin_).result_int(), 204U);
    promotion({{"code", "ENDED"}, {"name", "Ended"}, {"kind", "percentage"}, {"value", 1000},
               {"starts_at", "2020-01-01T00:00:00Z"}, {"ends_at", "2020-02-01T00:00:00Z"}});
    promotion({{"code", "EUROS"}, {"name", "Other currency"}, {"kind", "fixed_amount"}, {"value", 100}, {"currency", "EUR"}});
    promotion({{"code", "ALONE"}, {"name", "Exclusive"}, {"kind", "percentage"}, {"value", 500}, {"exclusive", true}});
    promotion({{"code", "ALSO"}, {"name", "Combinable"}, {"kind", "fixed_amount"}, {"value", 50}});
    const auto token = customer("bad-codes@example.com").second;
    const auto before = sql(money_fingerprint_sql());
    int n = 0;
    const auto post = [&](const std::string& body) {
        return send(bhttp::verb::post, "/api/v1/orders", token, body, {{"Idempotency-Key", "bad-" + std::to_string(++n)}});
    };
    expect_problem(post(order_with(product, {"a b"})), 422, "validation_failed", "a malformed code");
    expect_problem(post(order_with(product, {"NOSUCH"})), 422, "validation_failed", "an unknown code");
    expect_problem(post(order_with(product, {"GONE"})), 422, "validation_failed", "a deleted promotion's code");
    expect_problem(post(order_with(product, {"ENDED"})), 409, "promotion_unavailable", "an ended promotion");
    expect_problem(post(order_with(product, {"EUROS"})), 409, "promotion_unavailable", "another currency");
    expect_problem(post(order_with(product, {"ALONE", "ALSO"})), 409, "promotion_unavailable", "not combinable");
    expect_problem(post(order_with(product, {"A1A", "B2B", "C3C", "D4D", "E5E", "F6F"})), 422, "validation_failed",
                   "six codes");
    expect_problem(post(R"({"items":[{"product_id":)" + std::to_string(product) +
                        R"(,"quantity":1}],"shipping_address":{"city":"Oslo"},"expected_total_cents":-1})"),
                   422, "validation_failed", "a negative expected total");
    EXPECT_EQ(sql(money_fingerprint_sql()), before);
    // A promotion worth nothing on an order (free shipping, and the order has no shipping) uses
    // up nothing: a one-use free-shipping code serves two such orders.
    const auto ship_free = promotion({{"code", "SHIPFREE"}, {"name", "Free shipping"}, {"kind", "free_shipping"}, {"usage_limit", 1}});
    ASSERT_EQ(post(order_with(product, {"shipfree"})).result_int(), 201U);
    auto twice = post(order_with(product, {"shipfree"}));
    ASSERT_EQ(twice.result_int(), 201U) << twice.body();
    EXPECT_EQ(sql("SELECT redeemed FROM promotions WHERE id = $1", db::params(ship_free)), 0);
    // With one code that applies, the order is placed at its price.
    auto placed = post(order_with(product, {"also"}));
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    EXPECT_EQ(json_object(placed).at("total_cents").as_int64(), 750);
}

}  // namespace
}  // namespace emporium::test
