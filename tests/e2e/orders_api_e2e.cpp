// End-to-end: the orders API through the real `emporium serve` binary: Idempotency-Key handling
// (required, replay byte-identical, 422 for another body), problem+json errors naming the
// product, ownership (others get 404), cancel, admin fulfil rules, keyset listing, an admin's
// stock change reaching the `redis` strategy's mirror, and the `emporium expire-orders` /
// `emporium inventory audit|resync` commands.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;

class OrdersApiE2E : public ::testing::Test, protected E2EFixture {
protected:
    OrdersApiE2E() : E2EFixture("orders-api") {}

    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(
            env({{"RATE_LIMIT_ENABLED", "false"}, {"INVENTORY_STRATEGY", "redis"}}));
        alice_ = customer("alice@example.com").second;
        bob_ = customer("bob@example.com").second;
    }
    Res send(bhttp::verb method,
             const std::string& target,
             const std::string& token,
             const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    std::int64_t product(const std::string& sku, std::int64_t stock, std::int64_t price) {
        return create_product(
            server_->port(),
            admin_,
            {{"sku", sku}, {"name", "Item " + sku}, {"price_cents", price}, {"stock", stock}});
    }
    static std::string order_body(std::int64_t product_id, int quantity) {
        return test::order_body(product_id, quantity, {{"line1", "1 Main St"}, {"city", "Oslo"}});
    }
    Res place(const std::string& token, const std::string& key, const std::string& body) {
        return send(bhttp::verb::post, "/api/v1/orders", token, body, {{"Idempotency-Key", key}});
    }
    static void expect_problem(const Res& r, unsigned status, const std::string& code) {
        test::expect_problem(r, status, code);
    }
    int command(std::vector<std::string> args) {
        return run_emporium(std::move(args), env({{"INVENTORY_STRATEGY", "redis"}}));
    }

    std::unique_ptr<ServerProcess> server_;
    std::string alice_;
    std::string bob_;
};

TEST_F(OrdersApiE2E, CheckoutIdempotencyOwnershipAndLifecycle) {
    const auto p = product("api-1", 10, 1250);

    expect_problem(http_call(server_->port(), bhttp::verb::post, "/api/v1/orders", order_body(p, 1), {}), 401, "unauthorized");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders", alice_, order_body(p, 1)), 400, "bad_request");
    expect_problem(place(alice_, "bad", order_body(p, 0)), 422, "validation_failed");
    expect_problem(place(alice_, "unknown", order_body(999'999, 1)), 422, "validation_failed");

    auto first = place(alice_, "k-1", order_body(p, 2));
    ASSERT_EQ(first.result_int(), 201U) << first.body();
    auto order = json::parse(first.body()).as_object();
    EXPECT_EQ(order.at("status").as_string(), "pending_payment");
    EXPECT_EQ(order.at("total_cents").as_int64(), 2500);
    EXPECT_EQ(order.at("items").as_array().size(), 1U);
    const auto id = std::to_string(order.at("id").as_int64());

    auto replay = place(alice_, "k-1", order_body(p, 2));
    EXPECT_EQ(replay.result_int(), 201U);
    EXPECT_EQ(replay.body(), first.body());
    EXPECT_EQ(replay["Idempotent-Replayed"], "true");
    expect_problem(place(alice_, "k-1", order_body(p, 3)), 422, "validation_failed");
    EXPECT_EQ(product_stock(p), 8);

    // Out of stock names the product; a replay of the same request gives the same answer.
    auto short_stock = place(alice_, "k-2", order_body(p, 50));
    expect_problem(short_stock, 409, "out_of_stock");
    EXPECT_NE(short_stock.body().find(std::to_string(p)), std::string::npos);
    auto short_again = place(alice_, "k-2", order_body(p, 50));
    EXPECT_EQ(short_again.result_int(), 409U);
    EXPECT_EQ(short_again.body(), short_stock.body());

    // Ownership: bob sees 404, the admin sees the order.
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/orders/" + id, alice_).result_int(), 200U);
    expect_problem(send(bhttp::verb::get, "/api/v1/orders/" + id, bob_), 404, "not_found");
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/orders/" + id, admin_).result_int(), 200U);
    expect_problem(send(bhttp::verb::post, "/api/v1/orders/" + id + "/cancel", bob_), 404, "not_found");
    auto bob_list = json::parse(send(bhttp::verb::get, "/api/v1/orders", bob_).body());
    EXPECT_TRUE(bob_list.at("items").as_array().empty());

    // Fulfil needs an admin and a paid order.
    expect_problem(send(bhttp::verb::post, "/api/v1/orders/" + id + "/fulfil", alice_), 403, "forbidden");
    expect_problem(send(bhttp::verb::post, "/api/v1/orders/" + id + "/fulfil", admin_), 409, "conflict");

    // Cancel returns the stock; a second cancel is an illegal transition.
    auto cancelled = send(bhttp::verb::post, "/api/v1/orders/" + id + "/cancel", alice_);
    ASSERT_EQ(cancelled.result_int(), 200U) << cancelled.body();
    EXPECT_EQ(json::parse(cancelled.body()).at("status").as_string(), "cancelled");
    EXPECT_EQ(product_stock(p), 10);
    expect_problem(send(bhttp::verb::post, "/api/v1/orders/" + id + "/cancel", alice_), 409, "conflict");

    // Listing pages newest first.
    for (int i = 0; i < 3; ++i) ASSERT_EQ(place(alice_, "page-" + std::to_string(i), order_body(p, 1)).result_int(), 201U);
    auto page1 = json::parse(send(bhttp::verb::get, "/api/v1/orders?limit=2", alice_).body()).as_object();
    ASSERT_EQ(page1.at("items").as_array().size(), 2U);
    ASSERT_TRUE(page1.at("next_cursor").is_string());
    auto page2 = json::parse(send(bhttp::verb::get,
                                  "/api/v1/orders?limit=2&cursor=" + std::string(page1.at("next_cursor").as_string()),
                                  alice_)
                                 .body())
                     .as_object();
    EXPECT_EQ(page2.at("items").as_array().size(), 2U);
    expect_problem(send(bhttp::verb::get, "/api/v1/orders?cursor=zzz", alice_), 400, "bad_request");

    // expire-orders returns the stock of overdue orders; the ledger stays balanced.
    EXPECT_EQ(product_stock(p), 7);
    sql("UPDATE orders SET expires_at = now() - interval '1 minute' WHERE status = 'pending_payment' "
        "RETURNING 0::bigint");
    EXPECT_EQ(command({"expire-orders"}), 0);
    EXPECT_EQ(product_stock(p), 10);
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE status = 'expired'"), 3);
    EXPECT_EQ(command({"inventory", "audit"}), 0);
    EXPECT_EQ(command({"inventory", "resync"}), 0);
    // The mirror follows the database after the returns: all 10 units can be sold again.
    EXPECT_EQ(place(alice_, "after-expiry", order_body(p, 10)).result_int(), 201U);

    // A broken ledger makes the audit fail.
    sql("UPDATE product_variants SET stock = stock + 1 WHERE product_id = " + std::to_string(p) +
        " AND is_default RETURNING 0::bigint");
    EXPECT_NE(command({"inventory", "audit"}), 0);
}

// INVENTORY_STRATEGY=redis keeps stock in a Redis mirror: an admin's stock change must reach it
// (the issue: stock 1, one order, PATCH stock 50 → the next order got 409 "available 0").
TEST_F(OrdersApiE2E, AnAdminsStockChangeReachesTheRedisMirrorAtOnce) {
    const auto id = product("restock-1", 1, 700);
    const auto target = "/api/v1/products/" + std::to_string(id);
    ASSERT_EQ(place(alice_, "r1", order_body(id, 1)).result_int(), 201U);
    expect_problem(place(bob_, "r2", order_body(id, 1)), 409, "out_of_stock");
    auto patch = [&](std::int64_t stock) {
        const auto version =
            json::parse(send(bhttp::verb::get, target, admin_).body()).at("version").as_int64();
        auto r = send(bhttp::verb::patch,
                      target,
                      admin_,
                      json::serialize(json::object{{"stock", stock}}),
                      {{"If-Match", "W/\"" + std::to_string(version) + "\""}});
        EXPECT_EQ(r.result_int(), 200U) << r.body();
    };
    patch(50);
    auto restocked = place(bob_, "r3", order_body(id, 1));
    EXPECT_EQ(restocked.result_int(), 201U) << restocked.body();

    // A reduction is seen by the mirror too: it answers with the new figure.
    patch(2);
    auto three = place(bob_, "r4", order_body(id, 3));
    expect_problem(three, 409, "out_of_stock");
    EXPECT_NE(three.body().find("available 2"), std::string::npos) << three.body();
    EXPECT_EQ(place(bob_, "r5", order_body(id, 2)).result_int(), 201U);
    expect_problem(place(bob_, "r6", order_body(id, 1)), 409, "out_of_stock");
    EXPECT_EQ(product_stock(id), 0);
}

// Sales move a product's stock, not its version (0013): its ETag W/"<version>.<stock>" changes, so
// a copy showing the old stock is not answered 304; an admin's edit of other fields is not refused
// because of the sales; a stock set from a copy the sales overtook is refused (412) instead of
// silently undoing them.
TEST_F(OrdersApiE2E, SalesMoveTheProductsETagButNotItsVersion) {
    const auto id = product("etag-1", 5, 700);
    const auto target = "/api/v1/products/" + std::to_string(id);
    const auto total = [&] {
        return product_stock(id);
    };
    auto before = send(bhttp::verb::get, target, "");
    ASSERT_EQ(before.result_int(), 200U);
    const std::string read_before(before[bhttp::field::etag]);
    EXPECT_EQ(read_before, "W/\"1.5\"");
    ASSERT_EQ(place(alice_, "e1", order_body(id, 2)).result_int(), 201U);

    auto after = send(bhttp::verb::get, target, "", "", {{"If-None-Match", read_before}});
    ASSERT_EQ(after.result_int(), 200U) << "the client's copy shows 5 units";
    EXPECT_EQ(after[bhttp::field::etag], "W/\"1.3\"");
    EXPECT_EQ(json::parse(after.body()).at("stock").as_int64(), 3);
    EXPECT_EQ(json::parse(after.body()).at("version").as_int64(), 1);
    EXPECT_EQ(send(bhttp::verb::get, target, "", "", {{"If-None-Match", "W/\"1.3\""}}).result_int(), 304U);

    expect_problem(send(bhttp::verb::patch, target, admin_, R"({"stock":10})", {{"If-Match", read_before}}), 412,
                   "precondition_failed");
    EXPECT_EQ(total(), 3) << "the refused stock set changed nothing";
    auto renamed = send(bhttp::verb::patch, target, admin_, R"({"name":"Renamed"})", {{"If-Match", read_before}});
    ASSERT_EQ(renamed.result_int(), 200U) << renamed.body();
    EXPECT_EQ(renamed[bhttp::field::etag], "W/\"2.3\"");
    auto restocked = send(bhttp::verb::patch, target, admin_, R"({"stock":10})", {{"If-Match", "W/\"2.3\""}});
    ASSERT_EQ(restocked.result_int(), 200U) << restocked.body();
    EXPECT_EQ(restocked[bhttp::field::etag], "W/\"3.10\"");
    EXPECT_EQ(total(), 10);
    EXPECT_EQ(command({"inventory", "audit"}), 0);
}

// Lines may name a variant (the unit of stock) instead of a product (its default variant); bad
// lines are refused with a problem naming them, and take nothing.
TEST_F(OrdersApiE2E, OrdersNameVariantsAndBadVariantLinesAreRefused) {
    const auto p = product("shirt-1", 4, 2000);
    const auto q = product("shirt-2", 4, 2000);
    const auto large = sql("INSERT INTO product_variants (product_id, sku, option_key, price_cents, stock) VALUES (" +
                           std::to_string(p) + ", 'shirt-1-L', 'L', 2500, 2) RETURNING id");
    sql("INSERT INTO inventory_movements (variant_id, product_id, delta, reason) VALUES (" + std::to_string(large) +
        ", " + std::to_string(p) + ", 2, 'initial') RETURNING 0::bigint");
    const auto line = [](json::object item) {
        item["quantity"] = item.contains("quantity") ? item["quantity"] : json::value(1);
        return json::serialize(json::object{{"items", json::array{item}}, {"shipping_address", {{"city", "Oslo"}}}});
    };
    const auto large_text = std::to_string(large);

    auto bought = place(alice_, "v1", line({{"variant_id", large}, {"quantity", 2}}));
    ASSERT_EQ(bought.result_int(), 201U) << bought.body();
    const auto item = json::parse(bought.body()).at("items").at(0);
    EXPECT_EQ(item.at("variant_id").as_int64(), large);
    EXPECT_EQ(item.at("product_id").as_int64(), p);
    EXPECT_EQ(item.at("unit_price_cents").as_int64(), 2500);
    EXPECT_EQ(product_stock(p), 4);

    auto sold_out = place(alice_, "v2", line({{"variant_id", large}}));
    expect_problem(sold_out, 409, "out_of_stock");
    EXPECT_NE(sold_out.body().find("variant " + large_text), std::string::npos) << sold_out.body();
    auto neither = place(alice_, "v3", line({{"quantity", 1}}));
    expect_problem(neither, 422, "validation_failed");
    EXPECT_NE(neither.body().find("items/0"), std::string::npos) << neither.body();
    expect_problem(place(alice_, "v4", line({{"variant_id", 0}})), 422, "validation_failed");
    expect_problem(place(alice_, "v5", line({{"variant_id", "L"}})), 422, "validation_failed");
    auto unknown = place(alice_, "v6", line({{"variant_id", 999'999'999}}));
    expect_problem(unknown, 422, "validation_failed");
    EXPECT_NE(unknown.body().find("variant 999999999"), std::string::npos) << unknown.body();
    expect_problem(place(alice_, "v7", line({{"product_id", q}, {"variant_id", large}})), 422, "validation_failed");
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), 1);
    EXPECT_EQ(product_stock(q), 4);
    EXPECT_EQ(command({"inventory", "audit"}), 0);

    // The audit checks every variant against its own ledger rows.
    sql("UPDATE product_variants SET stock = stock + 1 WHERE id = " + large_text + " RETURNING 0::bigint");
    EXPECT_NE(command({"inventory", "audit"}), 0);
}

TEST_F(OrdersApiE2E, OpenApiDocumentsEveryOrdersEndpoint) {
    auto doc = json::parse(http_call(server_->port(), bhttp::verb::get, "/openapi.json", "", {}).body()).as_object();
    const auto& paths = doc.at("paths").as_object();
    EXPECT_TRUE(paths.at("/api/v1/orders").as_object().contains("post"));
    EXPECT_TRUE(paths.at("/api/v1/orders").as_object().contains("get"));
    EXPECT_TRUE(paths.at("/api/v1/orders/{id}").as_object().contains("get"));
    EXPECT_TRUE(paths.at("/api/v1/orders/{id}/cancel").as_object().contains("post"));
    EXPECT_TRUE(paths.at("/api/v1/orders/{id}/fulfil").as_object().contains("post"));
}

}  // namespace
}  // namespace emporium::test
