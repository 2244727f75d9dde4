// End-to-end: shipping options and tax rates through the real `emporium serve` binary.
// - Admins create, list, filter and withdraw shipping options and set, list and remove tax rates;
//   bad input and non-admins are refused with problem+json and change nothing.
// - A cart chooses its country and option: the options are listed with their price for the cart
//   (flat, by started kilogram, free above an amount after discounts); tax per line by category
//   and on shipping; the order stores every part per order and per line.
// - Once tax rates exist an order must name its country, and a country with options needs one.
// - PRICES_INCLUDE_TAX: the tax is contained in the amounts, shown and not added.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;

class ShippingE2E : public ::testing::Test, protected E2EFixture {
protected:
    ShippingE2E() : E2EFixture("shipping") {}

    void start(const Env& extra = {}) {
        Env settings{{"RATE_LIMIT_ENABLED", "false"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        server_ = std::make_unique<ServerProcess>(env(settings));
    }
    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    Res admin(bhttp::verb method, const std::string& target, const json::object& body = {}) {
        return send(method, target, admin_, body.empty() ? "" : json::serialize(body));
    }
    std::int64_t option(const json::object& body) {
        auto r = admin(bhttp::verb::post, "/api/v1/admin/shipping-options", body);
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return r.result_int() == 201 ? json_object(r).at("id").as_int64() : 0;
    }
    // A product of `category` (0: none) whose default variant weighs `grams`.
    std::int64_t product(const std::string& sku, std::int64_t price, std::int64_t category, int grams, int stock = 50) {
        json::object fields{{"sku", sku}, {"name", sku}, {"price_cents", price}, {"stock", stock}};
        if (category != 0) fields["category_id"] = category;
        const auto id = create_product(server_->port(), admin_, fields);
        auto variants = json_object(send(bhttp::verb::get, "/api/v1/products/" + std::to_string(id) + "/variants", admin_));
        const auto& v = variants.at("items").as_array().at(0).as_object();
        auto patched = admin(bhttp::verb::patch, "/api/v1/variants/" + std::to_string(v.at("id").as_int64()),
                             {{"weight_g", grams}, {"version", v.at("version").as_int64()}});
        EXPECT_EQ(patched.result_int(), 200U) << patched.body();
        EXPECT_EQ(json_object(patched).at("weight_g").as_int64(), grams);
        return id;
    }
    std::string open_cart(const std::string& token) {
        auto opened = send(bhttp::verb::post, "/api/v1/carts", token);
        EXPECT_EQ(opened.result_int() / 100, 2U) << opened.body();
        return "/api/v1/carts/" + std::to_string(json_object(opened).at("id").as_int64());
    }
    void add(const std::string& cart, const std::string& token, std::int64_t product, int quantity) {
        auto r = send(bhttp::verb::post, cart + "/lines", token,
                      json::serialize(json::object{{"product_id", product}, {"quantity", quantity}}));
        ASSERT_EQ(r.result_int(), 200U) << r.body();
    }
    std::int64_t fingerprint() {
        return sql("SELECT (SELECT count(*) FROM shipping_options WHERE deleted_at IS NULL) * 1000003 + "
                   "(SELECT count(*) FROM tax_rates) * 1009 + (SELECT coalesce(sum(rate_bp), 0) FROM tax_rates) + "
                   "(SELECT count(*) FROM orders) * 7");
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ShippingE2E, AdminsManageOptionsAndRatesAndBadInputChangesNothing) {
    start();
    const auto books = json_object(admin(bhttp::verb::post, "/api/v1/categories", {{"slug", "books"}, {"name", "Books"}})).at("id").as_int64();
    const auto flat = option({{"country", "no"}, {"name", "Post"}, {"base_cents", 4900}});
    option({{"country", "SE"}, {"name", "PostNord"}, {"base_cents", 3900}});
    auto listed = json_object(admin(bhttp::verb::get, "/api/v1/admin/shipping-options?country=NO"));
    ASSERT_EQ(listed.at("items").as_array().size(), 1U);
    EXPECT_EQ(listed.at("items").as_array()[0].as_object().at("country").as_string(), "NO");
    EXPECT_EQ(json_object(admin(bhttp::verb::get, "/api/v1/admin/shipping-options")).at("items").as_array().size(), 2U);

    auto rates = admin(bhttp::verb::put, "/api/v1/admin/tax-rates/no",
                       {{"standard_bp", 2500}, {"categories", json::array{json::object{{"category_id", books}, {"rate_bp", 1500}}}}});
    ASSERT_EQ(rates.result_int(), 200U) << rates.body();
    EXPECT_EQ(json_object(rates).at("country").as_string(), "NO");
    EXPECT_EQ(json_object(rates).at("categories").as_array().size(), 1U);
    // PUT replaces.
    ASSERT_EQ(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/SE", {{"standard_bp", 2500}}).result_int(), 200U);
    ASSERT_EQ(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/SE", {{"standard_bp", 1200}}).result_int(), 200U);
    auto all = json_object(admin(bhttp::verb::get, "/api/v1/admin/tax-rates")).at("items").as_array();
    ASSERT_EQ(all.size(), 2U);
    EXPECT_EQ(all[1].as_object().at("standard_bp").as_int64(), 1200);

    const auto before = fingerprint();
    const auto customer_token = customer("shopper@example.com").second;
    expect_problem(admin(bhttp::verb::post, "/api/v1/admin/shipping-options", {{"country", "N0"}, {"name", "x"}}), 422, "validation_failed", "a digit in the country");
    expect_problem(admin(bhttp::verb::post, "/api/v1/admin/shipping-options", {{"country", "NOR"}, {"name", "x"}}), 422, "validation_failed", "three letters");
    expect_problem(admin(bhttp::verb::post, "/api/v1/admin/shipping-options", {{"country", "NO"}, {"name", "x"}, {"base_cents", -1}}), 422, "validation_failed", "a negative price");
    expect_problem(admin(bhttp::verb::post, "/api/v1/admin/shipping-options", {{"country", "NO"}, {"name", "x"}, {"currency", "usd"}}), 422, "validation_failed", "a lower-case currency");
    expect_problem(admin(bhttp::verb::post, "/api/v1/admin/shipping-options", {{"country", "NO"}}), 422, "validation_failed", "no name");
    expect_problem(admin(bhttp::verb::get, "/api/v1/admin/shipping-options?country=N0"), 422, "validation_failed", "a bad filter");
    expect_problem(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/N0", {{"standard_bp", 100}}), 422, "validation_failed", "a bad country");
    expect_problem(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO", {{"standard_bp", 100001}}), 422, "validation_failed", "a rate too high");
    expect_problem(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO", {{"standard_bp", -5}}), 422, "validation_failed", "a negative rate");
    expect_problem(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO",
                         {{"standard_bp", 100}, {"categories", json::array{json::object{{"category_id", books}, {"rate_bp", 1}},
                                                                            json::object{{"category_id", books}, {"rate_bp", 2}}}}}),
                   422, "validation_failed", "a category twice");
    expect_problem(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO",
                         {{"standard_bp", 100}, {"categories", json::array{json::object{{"category_id", 999999}, {"rate_bp", 1}}}}}),
                   422, "validation_failed", "an unknown category");
    expect_problem(admin(bhttp::verb::delete_, "/api/v1/admin/tax-rates/DE"), 404, "not_found", "no rates");
    expect_problem(admin(bhttp::verb::delete_, "/api/v1/admin/shipping-options/999999"), 404, "not_found", "no option");
    expect_problem(send(bhttp::verb::post, "/api/v1/admin/shipping-options", customer_token, R"({"country":"NO","name":"x"})"), 403, "forbidden", "a customer");
    expect_problem(send(bhttp::verb::put, "/api/v1/admin/tax-rates/NO", "", R"({"standard_bp":0})"), 401, "unauthorized", "anonymous");
    EXPECT_EQ(fingerprint(), before);
    // The rates of NO are the ones set first (the refused PUTs changed nothing).
    EXPECT_EQ(sql("SELECT rate_bp FROM tax_rates WHERE country = 'NO' AND category_id IS NULL"), 2500);

    // Replacements of one country's rates sent together each succeed, one after the other.
    std::vector<std::thread> writers;
    std::atomic<int> ok{0};
    for (int i = 0; i < 8; ++i) {
        writers.emplace_back([&, i] {
            auto r = authorized_call(server_->port(), bhttp::verb::put, "/api/v1/admin/tax-rates/FI", admin_,
                                     json::serialize(json::object{{"standard_bp", 2400 + i}}));
            if (r.result_int() == 200) ++ok;
        });
    }
    for (auto& w : writers) w.join();
    EXPECT_EQ(ok.load(), 8);
    EXPECT_EQ(sql("SELECT count(*) FROM tax_rates WHERE country = 'FI'"), 1);

    ASSERT_EQ(admin(bhttp::verb::delete_, "/api/v1/admin/shipping-options/" + std::to_string(flat)).result_int(), 204U);
    ASSERT_EQ(admin(bhttp::verb::delete_, "/api/v1/admin/tax-rates/SE").result_int(), 204U);
    EXPECT_EQ(json_object(admin(bhttp::verb::get, "/api/v1/admin/shipping-options")).at("items").as_array().size(), 1U);
}

TEST_F(ShippingE2E, ACartPaysShippingAndTaxPerLineAndTheOrderKeepsEveryPart) {
    start();
    const auto books = json_object(admin(bhttp::verb::post, "/api/v1/categories", {{"slug", "books"}, {"name", "Books"}})).at("id").as_int64();
    const auto book = product("book", 10000, books, 1200);
    const auto tee = product("tee", 5000, 0, 300);
    const auto post = option({{"country", "NO"}, {"name", "Post"}, {"base_cents", 4900}});
    const auto parcel = option({{"country", "NO"}, {"name", "Parcel"}, {"base_cents", 1000}, {"per_kg_cents", 500}, {"free_above_cents", 30000}});
    const auto sweden = option({{"country", "SE"}, {"name", "PostNord"}, {"base_cents", 3900}});
    ASSERT_EQ(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO",
                    {{"standard_bp", 2500}, {"categories", json::array{json::object{{"category_id", books}, {"rate_bp", 1500}}}}})
                  .result_int(),
              200U);
    const auto token = customer("nordic@example.com").second;
    const auto cart = open_cart(token);
    add(cart, token, book, 1);
    add(cart, token, tee, 1);

    // Without a country: no tax, no options; checkout needs the country (the shop has rates).
    auto plain = json_object(send(bhttp::verb::get, cart, token));
    EXPECT_EQ(plain.at("tax_cents").as_int64(), 0);
    EXPECT_EQ(plain.at("total_cents").as_int64(), 15000);
    const auto before = fingerprint();
    expect_problem(send(bhttp::verb::post, cart + "/checkout", token, R"({"shipping_address":{"city":"Oslo"}})", {{"Idempotency-Key", "c1"}}),
                   422, "validation_failed", "no country");
    expect_problem(send(bhttp::verb::put, cart + "/shipping", token, R"({"country":"NOR"})"), 422, "validation_failed", "a bad country");
    expect_problem(send(bhttp::verb::put, cart + "/shipping", token, json::serialize(json::object{{"country", "NO"}, {"shipping_option_id", sweden}})),
                   422, "validation_failed", "another country's option");

    auto chosen = send(bhttp::verb::put, cart + "/shipping", token, R"({"country":"no"})");
    ASSERT_EQ(chosen.result_int(), 200U) << chosen.body();
    auto body = json_object(chosen);
    EXPECT_EQ(body.at("country").as_string(), "NO");
    const auto& options = body.at("shipping_options").as_array();
    ASSERT_EQ(options.size(), 2U);
    EXPECT_EQ(options[0].as_object().at("id").as_int64(), post);
    EXPECT_EQ(options[0].as_object().at("price_cents").as_int64(), 4900);
    EXPECT_EQ(options[1].as_object().at("price_cents").as_int64(), 2000) << "1.5 kg: two started kilograms";
    // Tax without shipping: book 15% of 10000, tee 25% of 5000.
    EXPECT_EQ(body.at("tax_cents").as_int64(), 1500 + 1250);
    expect_problem(send(bhttp::verb::post, cart + "/checkout", token, R"({"shipping_address":{"city":"Oslo"}})", {{"Idempotency-Key", "c2"}}),
                   422, "validation_failed", "no shipping option for a country that has them");
    EXPECT_EQ(fingerprint(), before);

    body = json_object(send(bhttp::verb::put, cart + "/shipping", token, json::serialize(json::object{{"country", "NO"}, {"shipping_option_id", parcel}})));
    EXPECT_EQ(body.at("shipping_cents").as_int64(), 2000);
    EXPECT_EQ(body.at("tax_cents").as_int64(), 1500 + 1250 + 500) << "shipping taxed at the standard rate";
    EXPECT_EQ(body.at("total_cents").as_int64(), 15000 + 2000 + 3250);

    auto placed = send(bhttp::verb::post, cart + "/checkout", token,
                       R"({"shipping_address":{"city":"Oslo"},"expected_total_cents":20250})", {{"Idempotency-Key", "c3"}});
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json_object(placed);
    EXPECT_EQ(order.at("subtotal_cents").as_int64(), 15000);
    EXPECT_EQ(order.at("shipping_cents").as_int64(), 2000);
    EXPECT_EQ(order.at("tax_cents").as_int64(), 3250);
    EXPECT_EQ(order.at("total_cents").as_int64(), 20250);
    EXPECT_EQ(order.at("country").as_string(), "NO");
    EXPECT_EQ(order.at("shipping_option_id").as_int64(), parcel);
    std::int64_t line_tax = 0;
    for (const auto& item : order.at("items").as_array()) line_tax += item.as_object().at("tax_cents").as_int64();
    EXPECT_EQ(line_tax, 2750) << "the lines' tax; the shipping's is the rest";
    const auto id = std::to_string(order.at("id").as_int64());
    EXPECT_EQ(sql("SELECT tax_cents FROM orders WHERE id = " + id), 3250);

    // Free above 30000 after discounts: three books make 30000.
    const auto cart2 = open_cart(customer("reader@example.com").second);
    (void)cart2;
    const auto reader = customer("reader2@example.com").second;
    const auto cart3 = open_cart(reader);
    add(cart3, reader, book, 3);
    body = json_object(send(bhttp::verb::put, cart3 + "/shipping", reader, json::serialize(json::object{{"country", "NO"}, {"shipping_option_id", parcel}})));
    EXPECT_EQ(body.at("shipping_cents").as_int64(), 0);
    EXPECT_EQ(body.at("total_cents").as_int64(), 30000 + 4500);

    // POST /orders names its country and option too.
    const auto items = json::array{json::object{{"product_id", tee}, {"quantity", 1}}};
    const auto order_body_with = [&](const json::object& extra) {
        json::object b{{"items", items}, {"shipping_address", json::object{{"city", "Oslo"}}}};
        for (const auto& m : extra) b[m.key()] = m.value();
        return json::serialize(b);
    };
    const auto orders_before = sql("SELECT count(*) FROM orders");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders", reader, order_body_with({}), {{"Idempotency-Key", "o1"}}), 422, "validation_failed", "no country");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders", reader, order_body_with({{"country", "NO"}}), {{"Idempotency-Key", "o2"}}), 422, "validation_failed", "no option");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders", reader, order_body_with({{"country", "NO"}, {"shipping_option_id", sweden}}), {{"Idempotency-Key", "o3"}}), 422, "validation_failed", "another country's option");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders", reader, order_body_with({{"country", "N"}, {"shipping_option_id", post}}), {{"Idempotency-Key", "o4"}}), 422, "validation_failed", "a malformed country");
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), orders_before);
    auto direct = send(bhttp::verb::post, "/api/v1/orders", reader, order_body_with({{"country", "no"}, {"shipping_option_id", post}}), {{"Idempotency-Key", "o5"}});
    ASSERT_EQ(direct.result_int(), 201U) << direct.body();
    EXPECT_EQ(json_object(direct).at("total_cents").as_int64(), 5000 + 4900 + 1250 + 1225);
}

TEST_F(ShippingE2E, PricesIncludingTaxShowTheTaxWithoutAddingIt) {
    start({{"PRICES_INCLUDE_TAX", "true"}});
    const auto books = json_object(admin(bhttp::verb::post, "/api/v1/categories", {{"slug", "books"}, {"name", "Books"}})).at("id").as_int64();
    const auto book = product("book", 10000, books, 1200);
    const auto tee = product("tee", 5000, 0, 300);
    const auto parcel = option({{"country", "NO"}, {"name", "Parcel"}, {"base_cents", 1000}, {"per_kg_cents", 500}});
    ASSERT_EQ(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO",
                    {{"standard_bp", 2500}, {"categories", json::array{json::object{{"category_id", books}, {"rate_bp", 1500}}}}})
                  .result_int(),
              200U);
    const auto token = customer("incl@example.com").second;
    const auto cart = open_cart(token);
    add(cart, token, book, 1);
    add(cart, token, tee, 1);
    auto body = json_object(send(bhttp::verb::put, cart + "/shipping", token, json::serialize(json::object{{"country", "NO"}, {"shipping_option_id", parcel}})));
    // Contained: 10000 × 15/115 = 1304.35 → 1304; 5000 × 25/125 = 1000; 2000 × 25/125 = 400.
    EXPECT_EQ(body.at("tax_cents").as_int64(), 1304 + 1000 + 400);
    EXPECT_EQ(body.at("total_cents").as_int64(), 15000 + 2000);
    auto placed = send(bhttp::verb::post, cart + "/checkout", token,
                       R"({"shipping_address":{"city":"Oslo"},"expected_total_cents":17000})", {{"Idempotency-Key", "i1"}});
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    EXPECT_EQ(json_object(placed).at("tax_cents").as_int64(), 2704);
    EXPECT_EQ(json_object(placed).at("total_cents").as_int64(), 17000);
}

// The property test of the stored totals, against the database: random orders (random lines, codes,
// with and without PRICES_INCLUDE_TAX) placed through the server, then every order's stored parts
// recomputed here on their own: subtotal, per-line discounts summing to the order's, per-line tax
// by category rate (half away from zero, added or contained), shipping (by weight, free above an
// amount, or by a free-shipping promotion) and its tax at the standard rate, the total, and the
// applied promotions and redemption rows adding up to the discounts.
TEST_F(ShippingE2E, StoredTotalsAddUpOnRandomOrders) {
    start();
    const auto books = json_object(admin(bhttp::verb::post, "/api/v1/categories", {{"slug", "books"}, {"name", "Books"}})).at("id").as_int64();
    const auto toys = json_object(admin(bhttp::verb::post, "/api/v1/categories", {{"slug", "toys"}, {"name", "Toys"}})).at("id").as_int64();
    std::mt19937_64 rng(20261205);
    const auto pick = [&](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    std::vector<std::int64_t> products;
    for (int i = 0; i < 8; ++i) {
        const std::int64_t category = i % 3 == 0 ? books : i % 3 == 1 ? toys : 0;
        products.push_back(product("rnd" + std::to_string(i), pick(1, 9'999), category, static_cast<int>(pick(0, 2'500)), 1'000));
    }
    const auto parcel = option({{"country", "NO"}, {"name", "Parcel"}, {"base_cents", 490}, {"per_kg_cents", 130}, {"free_above_cents", 25'000}});
    ASSERT_EQ(admin(bhttp::verb::put, "/api/v1/admin/tax-rates/NO",
                    {{"standard_bp", 2500}, {"categories", json::array{json::object{{"category_id", books}, {"rate_bp", 1200}},
                                                                       json::object{{"category_id", toys}, {"rate_bp", 0}}}}})
                  .result_int(),
              200U);
    const auto promotion = [&](const json::object& body) {
        auto r = admin(bhttp::verb::post, "/api/v1/admin/promotions", body);
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return r.result_int() == 201 ? json_object(r).at("id").as_int64() : 0;
    };
    promotion({{"code", "TEN"}, {"name", "10%"}, {"kind", "percentage"}, {"value", 1000}});
    promotion({{"code", "FIVER"}, {"name", "5 off"}, {"kind", "fixed_amount"}, {"value", 500}, {"min_subtotal_cents", 3'000}});
    promotion({{"code", "SOLO"}, {"name", "30% alone"}, {"kind", "percentage"}, {"value", 3000}, {"exclusive", true}});
    promotion({{"name", "Books 15%"}, {"kind", "percentage"}, {"value", 1500}, {"category_ids", json::array{books}}, {"priority", 1}});
    const auto free_shipping = promotion({{"name", "Free shipping"}, {"kind", "free_shipping"}, {"min_subtotal_cents", 20'000}});
    const std::vector<std::string> codes = {"TEN", "FIVER", "SOLO"};
    const std::vector<std::string> tokens = {customer("a@example.com").second, customer("b@example.com").second,
                                             customer("c@example.com").second};

    int placed = 0;
    for (const bool inclusive : {false, true}) {
        if (inclusive) {
            server_.reset();
            start({{"PRICES_INCLUDE_TAX", "true"}});
        }
        const auto after = sql("SELECT coalesce(max(id), 0) FROM orders");
        for (int n = 0; n < 40; ++n) {
            json::array items;
            std::vector<std::int64_t> chosen = products;
            std::shuffle(chosen.begin(), chosen.end(), rng);
            const auto lines = pick(1, 4);
            for (std::int64_t l = 0; l < lines; ++l) items.push_back(json::object{{"product_id", chosen[static_cast<std::size_t>(l)]}, {"quantity", pick(1, 3)}});
            json::array with;
            for (const auto& code : codes) {
                if (pick(0, 2) == 0) with.emplace_back(code);
            }
            json::object body{{"items", items}, {"shipping_address", json::object{{"city", "Oslo"}}}, {"country", "NO"},
                              {"shipping_option_id", parcel}, {"codes", with}};
            const auto& token = tokens[static_cast<std::size_t>(pick(0, 2))];
            const std::string key = "rnd-" + std::to_string(inclusive) + "-" + std::to_string(n);
            auto r = send(bhttp::verb::post, "/api/v1/orders", token, json::serialize(body), {{"Idempotency-Key", key}});
            if (r.result_int() == 409 && problem_code(r) == "promotion_unavailable") {
                body["codes"] = json::array{};
                r = send(bhttp::verb::post, "/api/v1/orders", token, json::serialize(body), {{"Idempotency-Key", key + "-plain"}});
            }
            ASSERT_EQ(r.result_int(), 201U) << r.body();
            ++placed;
        }

        const auto orders = sql_query(db_.url,
                                      "SELECT id, subtotal_cents, discount_cents, shipping_cents, tax_cents, total_cents, "
                                      "promotions::text FROM orders WHERE id > $1 ORDER BY id",
                                      {after});
        ASSERT_EQ(orders.rows(), 40U);
        for (std::size_t o = 0; o < orders.rows(); ++o) {
            const auto id = orders.get<std::int64_t>(o, 0);
            const auto subtotal = orders.get<std::int64_t>(o, 1);
            const auto discount = orders.get<std::int64_t>(o, 2);
            const auto shipping = orders.get<std::int64_t>(o, 3);
            const auto tax = orders.get<std::int64_t>(o, 4);
            const auto total = orders.get<std::int64_t>(o, 5);
            const auto applied = json::parse(orders.get<std::string>(o, 6)).as_array();
            const auto items = sql_query(db_.url,
                                         "SELECT i.unit_price_cents, i.quantity, i.discount_cents, i.tax_cents, "
                                         "coalesce(p.category_id, 0), v.weight_g FROM order_items i JOIN products p ON "
                                         "p.id = i.product_id JOIN product_variants v ON v.id = i.variant_id WHERE i.order_id = $1",
                                         {id});
            const auto rate_of = [&](std::int64_t category) { return category == books ? 1200 : category == toys ? 0 : 2500; };
            const auto tax_on = [&](std::int64_t amount, std::int64_t bp) {
                return inclusive ? (2 * amount * bp + (10'000 + bp)) / (2 * (10'000 + bp)) : (amount * bp + 5'000) / 10'000;
            };
            std::int64_t lines_subtotal = 0;
            std::int64_t lines_discount = 0;
            std::int64_t lines_tax = 0;
            std::int64_t grams = 0;
            for (std::size_t i = 0; i < items.rows(); ++i) {
                const auto amount = items.get<std::int64_t>(i, 0) * items.get<std::int32_t>(i, 1);
                const auto line_discount = items.get<std::int64_t>(i, 2);
                const auto line_tax = items.get<std::int64_t>(i, 3);
                EXPECT_GE(line_discount, 0) << "order " << id;
                EXPECT_LE(line_discount, amount) << "order " << id;
                EXPECT_EQ(line_tax, tax_on(amount - line_discount, rate_of(items.get<std::int64_t>(i, 4))))
                    << "order " << id << " line " << i << (inclusive ? " (inclusive)" : "");
                lines_subtotal += amount;
                lines_discount += line_discount;
                lines_tax += line_tax;
                grams += items.get<std::int32_t>(i, 5) * items.get<std::int32_t>(i, 1);
            }
            bool shipped_free = false;
            std::int64_t promoted = 0;
            std::int64_t free_shipping_value = 0;
            bool solo = false;
            for (const auto& a : applied) {
                const auto value = a.at("discount_cents").as_int64();
                promoted += value;
                if (a.at("promotion_id").as_int64() == free_shipping) {
                    shipped_free = true;
                    free_shipping_value = value;
                }
                if (a.at("code") == "SOLO") solo = true;
            }
            if (solo) {
                EXPECT_EQ(applied.size(), 1U) << "an exclusive promotion applies alone (order " << id << ")";
            }
            const auto net = lines_subtotal - lines_discount;
            const std::int64_t priced_shipping = net >= 25'000 ? 0 : 490 + 130 * ((grams + 999) / 1000);
            EXPECT_EQ(subtotal, lines_subtotal) << "order " << id;
            EXPECT_EQ(discount, lines_discount) << "order " << id;
            EXPECT_EQ(shipping, shipped_free ? 0 : priced_shipping) << "order " << id;
            if (shipped_free) {
                EXPECT_EQ(free_shipping_value, priced_shipping) << "order " << id;
            }
            EXPECT_EQ(tax, lines_tax + tax_on(shipping, 2500)) << "order " << id;
            EXPECT_EQ(total, subtotal - discount + shipping + (inclusive ? 0 : tax)) << "order " << id;
            EXPECT_EQ(promoted, discount + free_shipping_value) << "order " << id;
            EXPECT_EQ(sql("SELECT coalesce(sum(discount_cents), 0) FROM promotion_redemptions WHERE order_id = $1", {id}),
                      promoted)
                << "order " << id;
        }
    }
    EXPECT_EQ(placed, 80);
    EXPECT_GT(sql("SELECT count(*) FROM orders WHERE promotions <> '[]'::jsonb"), 20) << "the promotions were exercised";
    EXPECT_GT(sql("SELECT count(*) FROM orders WHERE discount_cents > 0 AND shipping_cents = 0"), 0);
}

}  // namespace
}  // namespace emporium::test
