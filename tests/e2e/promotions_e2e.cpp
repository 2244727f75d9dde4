// End-to-end: promotions administered through the real `emporium serve` binary: create (code upper
// cased, ETag, Location), read, list with its cursor and filter, change with If-Match, delete (the
// code free again); bad input refused with problem+json and changing nothing; admins only.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;

constexpr const char* kPromotions = "/api/v1/admin/promotions";

class PromotionsE2E : public ::testing::Test, protected E2EFixture {
protected:
    PromotionsE2E() : E2EFixture("promotions") { server_ = std::make_unique<ServerProcess>(env({{"RATE_LIMIT_ENABLED", "false"}})); }

    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    Res create(const json::object& body) { return send(bhttp::verb::post, kPromotions, admin_, json::serialize(body)); }
    static std::string path(std::int64_t id) { return std::string(kPromotions) + "/" + std::to_string(id); }
    // Every promotion row, summarised: a refused request must leave it unchanged.
    std::int64_t fingerprint() {
        return sql("SELECT count(*) * 1000003 + coalesce(sum(version * 7 + value + priority), 0) FROM promotions");
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(PromotionsE2E, AdminsCreateReadListChangeAndDeletePromotions) {
    const auto product = create_product(server_->port(), admin_, {{"sku", "promo-tee"}, {"name", "Tee"}, {"price_cents", 2000}, {"stock", 5}});
    auto created = create({{"code", "summer-10"},
                           {"name", "Summer 10%"},
                           {"kind", "percentage"},
                           {"value", 1000},
                           {"product_ids", json::array{product, product}},
                           {"usage_limit", 100},
                           {"per_customer_limit", 1},
                           {"starts_at", "2026-06-01T00:00:00Z"},
                           {"ends_at", "2026-09-01T00:00:00Z"}});
    ASSERT_EQ(created.result_int(), 201U) << created.body();
    const auto body = json_object(created);
    const auto id = body.at("id").as_int64();
    EXPECT_EQ(body.at("code").as_string(), "SUMMER-10");
    EXPECT_EQ(body.at("kind").as_string(), "percentage");
    EXPECT_EQ(body.at("product_ids").as_array().size(), 1U);  // the repeat dropped
    EXPECT_EQ(body.at("redeemed").as_int64(), 0);
    EXPECT_EQ(body.at("version").as_int64(), 1);
    EXPECT_EQ(std::string(created.at(bhttp::field::etag)), "W/\"1\"");
    EXPECT_EQ(std::string(created.at(bhttp::field::location)), path(id));

    auto automatic = create({{"name", "Free shipping over 50"}, {"kind", "free_shipping"}, {"min_subtotal_cents", 5000}});
    ASSERT_EQ(automatic.result_int(), 201U) << automatic.body();
    EXPECT_TRUE(json_object(automatic).at("code").is_null());
    const auto automatic_id = json_object(automatic).at("id").as_int64();

    auto read = send(bhttp::verb::get, path(id), admin_);
    ASSERT_EQ(read.result_int(), 200U);
    EXPECT_EQ(json_object(read).at("name").as_string(), "Summer 10%");

    // The list: newest first, one per page, then the filter.
    auto first = send(bhttp::verb::get, std::string(kPromotions) + "?limit=1", admin_);
    ASSERT_EQ(first.result_int(), 200U) << first.body();
    EXPECT_EQ(json_object(first).at("items").at(0).at("id").as_int64(), automatic_id);
    const std::string cursor(json_object(first).at("next_cursor").as_string());
    auto second = send(bhttp::verb::get, std::string(kPromotions) + "?limit=1&cursor=" + cursor, admin_);
    ASSERT_EQ(second.result_int(), 200U);
    EXPECT_EQ(json_object(second).at("items").at(0).at("id").as_int64(), id);
    EXPECT_TRUE(json_object(second).at("next_cursor").is_null());

    // A change with If-Match; the stale version is refused.
    auto changed = send(bhttp::verb::patch, path(id), admin_, R"({"value":1500,"ends_at":null,"is_active":false})",
                        {{"If-Match", "W/\"1\""}});
    ASSERT_EQ(changed.result_int(), 200U) << changed.body();
    EXPECT_EQ(json_object(changed).at("value").as_int64(), 1500);
    EXPECT_TRUE(json_object(changed).at("ends_at").is_null());
    EXPECT_EQ(json_object(changed).at("version").as_int64(), 2);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"value":500})", {{"If-Match", "W/\"1\""}}), 412);
    auto inactive = send(bhttp::verb::get, std::string(kPromotions) + "?active=false", admin_);
    ASSERT_EQ(inactive.result_int(), 200U);
    EXPECT_EQ(json_object(inactive).at("items").as_array().size(), 1U);

    // Delete: gone from reads, and its code can be used again.
    EXPECT_EQ(send(bhttp::verb::delete_, path(id), admin_).result_int(), 204U);
    expect_problem(send(bhttp::verb::get, path(id), admin_), 404);
    expect_problem(send(bhttp::verb::delete_, path(id), admin_), 404);
    EXPECT_EQ(create({{"code", "SUMMER-10"}, {"name", "Again"}, {"kind", "fixed_amount"}, {"value", 500}}).result_int(), 201U);
}

TEST_F(PromotionsE2E, BadInputIsRefusedAndChangesNothing) {
    auto made = create({{"code", "TAKEN"}, {"name", "Taken"}, {"kind", "fixed_amount"}, {"value", 500}, {"usage_limit", 10}});
    ASSERT_EQ(made.result_int(), 201U) << made.body();
    const auto id = json_object(made).at("id").as_int64();
    sql("UPDATE promotions SET redeemed = 5 WHERE id = $1", db::params(id));
    const auto before = fingerprint();

    const auto refused = [&](const json::object& body, unsigned status, const std::string& field) {
        auto r = create(body);
        expect_problem(r, status, "", json::serialize(body));
        if (!field.empty()) {
            EXPECT_NE(r.body().find(field), std::string::npos) << r.body();
        }
    };
    refused({{"code", "TAKEN"}, {"name", "Twice"}, {"kind", "fixed_amount"}, {"value", 1}}, 409, "code");
    refused({{"code", "taken"}, {"name", "Twice"}, {"kind", "fixed_amount"}, {"value", 1}}, 409, "code");
    refused({{"code", "no spaces"}, {"name", "X"}, {"kind", "percentage"}, {"value", 10}}, 422, "code");
    refused({{"code", "AB"}, {"name", "X"}, {"kind", "percentage"}, {"value", 10}}, 422, "code");
    refused({{"name", "X"}, {"kind", "percentage"}, {"value", 10001}}, 422, "value");
    refused({{"name", "X"}, {"kind", "percentage"}}, 422, "value");
    refused({{"name", "X"}, {"kind", "fixed_amount"}, {"value", 0}}, 422, "value");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"value", 5}}, 422, "value");
    refused({{"name", "X"}, {"kind", "bogus"}}, 422, "kind");
    refused({{"name", ""}, {"kind", "free_shipping"}}, 422, "name");
    refused({{"kind", "free_shipping"}}, 422, "name");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"value", -1}}, 422, "value");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"min_subtotal_cents", -5}}, 422, "min_subtotal_cents");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"usage_limit", 0}}, 422, "usage_limit");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"currency", "usd"}}, 422, "currency");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"starts_at", "2026-09-01T00:00:00Z"}, {"ends_at", "2026-09-01T00:00:00Z"}},
            422, "ends_at");
    refused({{"name", "X"}, {"kind", "free_shipping"}, {"starts_at", "yesterday"}}, 422, "starts_at");
    refused({{"name", "X"}, {"kind", "percentage"}, {"value", 10}, {"product_ids", json::array{999999}}}, 422, "product_ids");
    refused({{"name", "X"}, {"kind", "percentage"}, {"value", 10}, {"variant_ids", json::array{0}}}, 422, "variant_ids");
    refused({{"name", "X"}, {"kind", "percentage"}, {"value", 10}, {"category_ids", json::array{424242}}}, 422, "category_ids");
    refused({{"name", "X"}, {"kind", "percentage"}, {"value", 10}, {"unknown", 1}}, 422, "unknown");
    expect_problem(send(bhttp::verb::post, kPromotions, admin_, "[1]"), 400);

    // Changes: no version, a bad one, the immutable code, a limit below the redemptions.
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"value":1})"), 428);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"value":1})", {{"If-Match", "soon"}}), 422);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"code":"OTHER","version":1})"), 422);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"kind":"percentage","version":1})"), 422);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"value":0,"version":1})"), 422);
    expect_problem(send(bhttp::verb::patch, path(id), admin_, R"({"usage_limit":4,"version":1})"), 409);
    expect_problem(send(bhttp::verb::patch, path(999999), admin_, R"({"value":1,"version":1})"), 404);
    expect_problem(send(bhttp::verb::get, std::string(kPromotions) + "?cursor=abc", admin_), 400);
    expect_problem(send(bhttp::verb::get, std::string(kPromotions) + "?limit=0", admin_), 422);
    expect_problem(send(bhttp::verb::get, path(0), admin_), 422);

    // Only admins.
    const auto customer_token = customer("shopper@example.com").second;
    expect_problem(send(bhttp::verb::post, kPromotions, customer_token,
                        R"({"name":"Mine","kind":"free_shipping"})"),
                   403);
    expect_problem(send(bhttp::verb::get, path(id), customer_token), 403);
    expect_problem(send(bhttp::verb::get, path(id), ""), 401);
    EXPECT_EQ(fingerprint(), before);

    // A usage limit may be raised above the redemptions, or cleared.
    auto raised = send(bhttp::verb::patch, path(id), admin_, R"({"usage_limit":null,"version":1})");
    ASSERT_EQ(raised.result_int(), 200U) << raised.body();
    EXPECT_TRUE(json_object(raised).at("usage_limit").is_null());
}

}  // namespace
}  // namespace emporium::test
