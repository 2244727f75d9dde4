// End-to-end: options and variants through the real `emporium serve` binary: the admin CRUD with
// its problem+json refusals (401, 403, 404, 409, 412, 422, 428), ETags and If-None-Match, the
// product detail with options, variants and price range, an order that buys a created variant,
// and the inventory audit staying clean; the OpenAPI document lists the new operations.
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

class VariantsE2E : public ::testing::Test, protected E2EFixture {
protected:
    VariantsE2E() : E2EFixture("variants") {}

    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(
            env({{"RATE_LIMIT_ENABLED", "false"}, {"INVENTORY_STRATEGY", "redis"}}));
        alice_ = customer("alice@example.com").second;
    }
    Res send(bhttp::verb method,
             const std::string& target,
             const std::string& token,
             const json::value& body = nullptr,
             HttpHeaders headers = {}) {
        const auto text = body.is_null() ? std::string() : json::serialize(body);
        return authorized_call(server_->port(), method, target, token, text, std::move(headers));
    }
    static void expect_problem(const Res& r, unsigned status, const std::string& code) {
        test::expect_problem(r, status, code);
    }

    std::unique_ptr<ServerProcess> server_;
    std::string alice_;
};

TEST_F(VariantsE2E, AdminCrudRefusalsDetailAndAnOrderOfAVariant) {
    const auto p = create_product(server_->port(),
                                  admin_,
                                  {{"sku", "V-TEE"}, {"name", "Tee"}, {"price_cents", 2000}, {"stock", 2}});
    ASSERT_GT(p, 0);
    const auto variants = "/api/v1/products/" + std::to_string(p) + "/variants";
    const json::object medium{{"sku", "V-TEE-M"}, {"options", {{"Size", "M"}}}, {"price_cents", 2500}, {"stock", 5}};

    // Who may write.
    expect_problem(send(bhttp::verb::post, variants, "", medium), 401, "unauthorized");
    expect_problem(send(bhttp::verb::post, variants, alice_, medium), 403, "forbidden");

    // Bad input: each a 422 naming the field, nothing written.
    const std::string long_value(51, 'x');
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-X"}, {"options", {{"Size", long_value}}}, {"stock", 1}}),
                   422, "validation_failed");
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-X"}, {"options", {{"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}}}}),
                   422, "validation_failed");
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-X"}, {"options", {{"Size", 3}}}}),
                   422, "validation_failed");
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V X"}, {"options", {{"Size", "L"}}}}),
                   422, "validation_failed");
    auto negative = send(bhttp::verb::post, variants, admin_,
                         json::object{{"sku", "V-X"}, {"options", {{"Size", "L"}}}, {"stock", -1}});
    expect_problem(negative, 422, "validation_failed");
    EXPECT_NE(negative.body().find("\"stock\""), std::string::npos) << negative.body();
    EXPECT_EQ(sql("SELECT count(*) FROM product_variants WHERE product_id = $1", {p}), 1);

    // Created: Location, ETag, the variant with its options and price.
    auto created = send(bhttp::verb::post, variants, admin_, medium);
    ASSERT_EQ(created.result_int(), 201U) << created.body();
    auto v = json_object(created);
    const auto vid = v.at("id").as_int64();
    const auto variant = "/api/v1/variants/" + std::to_string(vid);
    EXPECT_EQ(created[bhttp::field::location], variant);
    EXPECT_EQ(created[bhttp::field::etag], "W/\"1\"");
    EXPECT_EQ(v.at("price_cents").as_int64(), 2500);
    EXPECT_EQ(v.at("available").as_int64(), 5);
    EXPECT_EQ(v.at("options").at(0).at("option").as_string(), "Size");
    EXPECT_EQ(v.at("options").at(0).at("value").as_string(), "M");
    EXPECT_EQ(sql("SELECT delta::bigint FROM inventory_movements WHERE variant_id = $1 AND reason = 'initial'", {vid}), 5);

    // Conflicts and mismatched options.
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-TEE-M2"}, {"options", {{"Size", "M"}}}}),
                   409, "conflict");
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-TEE-M"}, {"options", {{"Size", "S"}}}}),
                   409, "conflict");
    expect_problem(send(bhttp::verb::post, variants, admin_,
                        json::object{{"sku", "V-TEE-RED"}, {"options", {{"Colour", "Red"}}}}),
                   422, "validation_failed");
    expect_problem(send(bhttp::verb::post, "/api/v1/products/999999/variants", admin_, medium), 404, "not_found");
    auto small = send(bhttp::verb::post, variants, admin_,
                      json::object{{"sku", "V-TEE-S"}, {"options", {{"Size", "S"}}}, {"price_cents", 1500}});
    ASSERT_EQ(small.result_int(), 201U) << small.body();

    // Public reads: the live list, one variant with ETag and 304.
    auto list = send(bhttp::verb::get, variants, "");
    ASSERT_EQ(list.result_int(), 200U) << list.body();
    EXPECT_EQ(json_object(list).at("items").as_array().size(), 3U);
    auto one = send(bhttp::verb::get, variant, "");
    ASSERT_EQ(one.result_int(), 200U) << one.body();
    EXPECT_EQ(one[bhttp::field::etag], "W/\"1\"");
    EXPECT_EQ(send(bhttp::verb::get, variant, "", nullptr, {{"If-None-Match", "W/\"1\""}}).result_int(), 304U);
    expect_problem(send(bhttp::verb::get, "/api/v1/variants/999999", ""), 404, "not_found");
    expect_problem(send(bhttp::verb::get, "/api/v1/variants/0", ""), 422, "validation_failed");

    // PATCH: the version is required (428), must be current (412); admins only.
    const json::object restock{{"stock", 8}};
    expect_problem(send(bhttp::verb::patch, variant, admin_, restock), 428, "precondition_required");
    expect_problem(send(bhttp::verb::patch, variant, admin_, restock, {{"If-Match", "W/\"9\""}}), 412,
                   "precondition_failed");
    expect_problem(send(bhttp::verb::patch, variant, alice_, restock, {{"If-Match", "W/\"1\""}}), 403, "forbidden");
    expect_problem(send(bhttp::verb::patch, variant, admin_, json::object{{"stock", 10'000'001}}, {{"If-Match", "W/\"1\""}}),
                   422, "validation_failed");
    auto patched = send(bhttp::verb::patch, variant, admin_, restock, {{"If-Match", "W/\"1\""}});
    ASSERT_EQ(patched.result_int(), 200U) << patched.body();
    EXPECT_EQ(patched[bhttp::field::etag], "W/\"2\"");
    EXPECT_EQ(json_object(patched).at("stock").as_int64(), 8);
    EXPECT_EQ(sql("SELECT delta::bigint FROM inventory_movements WHERE variant_id = $1 AND reason = 'restock'", {vid}), 3);
    // Never below what carts hold (held written as a cart would).
    sql("UPDATE product_variants SET held = 7 WHERE id = $1 RETURNING id", {vid});
    expect_problem(send(bhttp::verb::patch, variant, admin_, json::object{{"stock", 6}}, {{"If-Match", "W/\"2\""}}),
                   409, "conflict");
    sql("UPDATE product_variants SET held = 0 WHERE id = $1 RETURNING id", {vid});
    // price_cents null clears the override.
    auto cleared = send(bhttp::verb::patch, variant, admin_, json::object{{"price_cents", nullptr}, {"version", 2}});
    ASSERT_EQ(cleared.result_int(), 200U) << cleared.body();
    EXPECT_TRUE(json_object(cleared).at("price_override_cents").is_null());
    EXPECT_EQ(json_object(cleared).at("price_cents").as_int64(), 2000);
    auto repriced = send(bhttp::verb::patch, variant, admin_, json::object{{"price_cents", 2500}}, {{"If-Match", "W/\"3\""}});
    ASSERT_EQ(repriced.result_int(), 200U) << repriced.body();

    // The product detail: options, variants, price range.
    auto detail = send(bhttp::verb::get, "/api/v1/products/" + std::to_string(p), "");
    ASSERT_EQ(detail.result_int(), 200U) << detail.body();
    auto d = json_object(detail);
    EXPECT_EQ(d.at("variants").as_array().size(), 3U);
    EXPECT_EQ(d.at("options").at(0).at("name").as_string(), "Size");
    EXPECT_EQ(d.at("options").at(0).at("values").as_array().size(), 2U);
    EXPECT_EQ(d.at("price_range").at("min_cents").as_int64(), 1500);
    EXPECT_EQ(d.at("price_range").at("max_cents").as_int64(), 2500);
    EXPECT_FALSE(d.at("variants").at(0).as_object().contains("available"));
    // Listings show the range too (kept on the products row).
    auto listing = send(bhttp::verb::get, "/api/v1/products?sort=newest", "");
    ASSERT_EQ(listing.result_int(), 200U) << listing.body();
    const auto listed = json_object(listing);
    const auto& item = listed.at("items").at(0);
    EXPECT_EQ(item.at("id").as_int64(), p);
    EXPECT_EQ(item.at("price_range").at("min_cents").as_int64(), 1500);
    EXPECT_EQ(item.at("price_range").at("max_cents").as_int64(), 2500);
    EXPECT_FALSE(item.as_object().contains("variants"));

    // An order buys the created variant at its price.
    const json::object order{{"items", json::array{json::object{{"variant_id", vid}, {"quantity", 2}}}},
                             {"shipping_address", {{"city", "Oslo"}}}};
    auto bought = send(bhttp::verb::post, "/api/v1/orders", alice_, order, {{"Idempotency-Key", "variant-1"}});
    ASSERT_EQ(bought.result_int(), 201U) << bought.body();
    auto o = json_object(bought);
    EXPECT_EQ(o.at("items").at(0).at("variant_id").as_int64(), vid);
    EXPECT_EQ(o.at("total_cents").as_int64(), 5000);
    auto after = json_object(send(bhttp::verb::get, variant, ""));
    EXPECT_EQ(after.at("available").as_int64(), 6);
    EXPECT_EQ(product_stock(p), 2 + 6);
    // The cached detail follows the sale.
    auto sold = json_object(send(bhttp::verb::get, "/api/v1/products/" + std::to_string(p), ""));
    EXPECT_EQ(sold.at("stock").as_int64(), 8);

    // Delete: never the default variant; soft, then gone for everyone.
    const auto default_id = sql("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", {p});
    expect_problem(send(bhttp::verb::delete_, "/api/v1/variants/" + std::to_string(default_id), admin_), 409, "conflict");
    expect_problem(send(bhttp::verb::delete_, variant, alice_), 403, "forbidden");
    expect_problem(send(bhttp::verb::delete_, variant, ""), 401, "unauthorized");
    EXPECT_EQ(send(bhttp::verb::delete_, variant, admin_).result_int(), 204U);
    expect_problem(send(bhttp::verb::delete_, variant, admin_), 404, "not_found");
    expect_problem(send(bhttp::verb::get, variant, ""), 404, "not_found");
    expect_problem(send(bhttp::verb::patch, variant, admin_, restock, {{"If-Match", "W/\"5\""}}), 404, "not_found");
    EXPECT_EQ(sql("SELECT count(*) FROM product_variants WHERE id = $1 AND deleted_at IS NOT NULL", {vid}), 1);
    auto gone = send(bhttp::verb::post, "/api/v1/orders", alice_,
                     json::object{{"items", json::array{json::object{{"variant_id", vid}, {"quantity", 1}}}},
                                  {"shipping_address", {{"city", "Oslo"}}}},
                     {{"Idempotency-Key", "variant-2"}});
    EXPECT_GE(gone.result_int(), 400U) << gone.body();
    EXPECT_LT(gone.result_int(), 500U) << gone.body();

    EXPECT_EQ(run_emporium({"inventory", "audit"}, env({{"INVENTORY_STRATEGY", "redis"}})), 0);
}

TEST_F(VariantsE2E, OpenApiDocumentsTheVariantOperations) {
    auto doc = json::parse(http_call(server_->port(), bhttp::verb::get, "/openapi.json", "", {}).body()).as_object();
    const auto& paths = doc.at("paths").as_object();
    const auto& of_product = paths.at("/api/v1/products/{id}/variants").as_object();
    EXPECT_EQ(of_product.at("get").at("operationId").as_string(), "listVariants");
    EXPECT_EQ(of_product.at("post").at("operationId").as_string(), "createVariant");
    const auto& one = paths.at("/api/v1/variants/{id}").as_object();
    EXPECT_EQ(one.at("get").at("operationId").as_string(), "getVariant");
    EXPECT_EQ(one.at("patch").at("operationId").as_string(), "updateVariant");
    EXPECT_EQ(one.at("delete").at("operationId").as_string(), "deleteVariant");
    EXPECT_TRUE(one.at("patch").at("responses").as_object().contains("428"));
    const auto& schemas = doc.at("components").at("schemas").as_object();
    EXPECT_TRUE(schemas.contains("Variant"));
    EXPECT_TRUE(schemas.contains("NewVariant"));
    EXPECT_TRUE(schemas.at("Product").at("properties").as_object().contains("price_range"));
}

}  // namespace
}  // namespace emporium::test
