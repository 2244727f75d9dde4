// End-to-end: refunds through the real `emporium serve` and `emporium worker` with the sandbox
// provider. An order paid with tok_ok is refunded by lines (each unit's paid share, after its
// discount) and by amount; the worker calls the provider with the refund's key (a transient
// failure is retried with the same key); the order's refunded_cents follow; replays answer the
// same; 20 concurrent partial refunds never exceed the capture; a provider webhook settles a
// pending refund once; bad input gets problem+json and changes nothing.
#include "e2e/e2e_fixture.hpp"
#include "payments/webhook_signature.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <chrono>
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

constexpr const char* kWebhookSecret = "whsec_refunds_e2e";

class RefundsE2E : public ::testing::Test, protected E2EFixture {
protected:
    RefundsE2E() : E2EFixture("refunds") {
        const Env extra{{"RATE_LIMIT_ENABLED", "false"}, {"WEBHOOK_SECRET", kWebhookSecret}, {"JOB_RETRY_BASE_MS", "50"}};
        server_ = std::make_unique<ServerProcess>(env(extra));
        // The admin needs a row of its own: Idempotency-Keys belong to a user.
        const auto id = customer("refund-admin@example.com", "Admin").first;
        sql("UPDATE users SET role = 'admin' WHERE id = $1 RETURNING id", {id});
        admin_ = tokens_.bearer(id, auth::Role::kAdmin);
        worker_ = start_emporium("worker", env(extra));
        scheduler_ = start_emporium("scheduler", env(extra));  // moves retries that are due back to the queue
    }
    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    // An order of `items` ({product, quantity}) with `codes`, paid with tok_ok (waits for it).
    std::int64_t paid_order(const std::string& token, const json::array& items, const json::array& codes = {}) {
        const json::object body{{"items", items}, {"shipping_address", json::object{{"city", "Oslo"}}}, {"codes", codes}};
        auto placed = send(bhttp::verb::post, "/api/v1/orders", token, json::serialize(body), {{"Idempotency-Key", "o" + std::to_string(++keys_)}});
        EXPECT_EQ(placed.result_int(), 201U) << placed.body();
        const auto id = json_object(placed).at("id").as_int64();
        auto paid = send(bhttp::verb::post, "/api/v1/orders/" + std::to_string(id) + "/pay", token, R"({"payment_method":"tok_ok"})",
                         {{"Idempotency-Key", "p" + std::to_string(id)}});
        EXPECT_EQ(paid.result_int(), 202U) << paid.body();
        EXPECT_TRUE(eventually([&] { return sql("SELECT count(*) FROM orders WHERE id = $1 AND status = 'paid'", {id}) == 1; }))
            << "the order was not paid";
        return id;
    }
    Res refund(std::int64_t order, const json::object& body, const std::string& key) {
        return send(bhttp::verb::post, "/api/v1/orders/" + std::to_string(order) + "/refunds", admin_, json::serialize(body),
                    {{"Idempotency-Key", key}});
    }
    bool settled(std::int64_t refund) {
        return eventually([&] { return sql("SELECT count(*) FROM refunds WHERE id = $1 AND status <> 'pending'", {refund}) == 1; });
    }
    std::int64_t money() {
        return sql("SELECT (SELECT count(*) FROM refunds) * 1000003 + (SELECT coalesce(sum(amount_cents), 0) FROM refunds) + "
                   "(SELECT coalesce(sum(refunded_cents), 0) FROM orders) * 7");
    }

    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<Process> worker_;
    std::unique_ptr<Process> scheduler_;
    int keys_ = 0;
};

TEST_F(RefundsE2E, LinesAndAmountsGoBackThroughTheProviderNeverMoreThanCaptured) {
    const auto shirt = create_product(server_->port(), admin_, {{"sku", "shirt"}, {"name", "Shirt"}, {"price_cents", 1000}, {"stock", 20}});
    const auto cap = create_product(server_->port(), admin_, {{"sku", "cap"}, {"name", "Cap"}, {"price_cents", 501}, {"stock", 20}});
    auto promo = send(bhttp::verb::post, "/api/v1/admin/promotions", admin_,
                      R"({"code":"TENOFF","name":"10%","kind":"percentage","value":1000})");
    ASSERT_EQ(promo.result_int(), 201U) << promo.body();
    const auto [user, token] = customer("buyer@example.com");
    (void)user;
    const auto order = paid_order(token, json::array{json::object{{"product_id", shirt}, {"quantity", 2}},
                                                     json::object{{"product_id", cap}, {"quantity", 1}}},
                                  json::array{"TENOFF"});
    const auto placed = json_object(send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order), token));
    ASSERT_EQ(placed.at("total_cents").as_int64(), 2501 - 250);
    std::int64_t shirt_discount = 0;
    std::int64_t shirt_variant = 0;
    std::int64_t cap_variant = 0;
    for (const auto& i : placed.at("items").as_array()) {
        const auto& item = i.as_object();
        if (item.at("product_id").as_int64() == shirt) {
            shirt_discount = item.at("discount_cents").as_int64();
            shirt_variant = item.at("variant_id").as_int64();
        } else {
            cap_variant = item.at("variant_id").as_int64();
        }
    }
    // One shirt of two: half of what the shirts were paid after their discount.
    const auto shirts_paid = 2000 - shirt_discount;
    auto by_line = refund(order, {{"lines", json::array{json::object{{"variant_id", shirt_variant}, {"quantity", 1}}}}, {"reason", "too small"}}, "r1");
    ASSERT_EQ(by_line.result_int(), 202U) << by_line.body();
    const auto first = json_object(by_line);
    EXPECT_EQ(first.at("amount_cents").as_int64(), shirts_paid / 2);
    EXPECT_EQ(first.at("status").as_string(), "pending");
    // The same key replays the answer; the refund is made once.
    auto replay = refund(order, {{"lines", json::array{json::object{{"variant_id", shirt_variant}, {"quantity", 1}}}}, {"reason", "too small"}}, "r1");
    EXPECT_EQ(replay.result_int(), 202U);
    EXPECT_EQ(replay["Idempotent-Replayed"], "true");
    EXPECT_EQ(json_object(replay).at("id"), first.at("id"));
    ASSERT_TRUE(settled(first.at("id").as_int64()));
    EXPECT_EQ(sql("SELECT count(*) FROM refunds WHERE order_id = $1 AND status = 'succeeded'", {order}), 1);

    // The second shirt: the rest of the shirts' share, so the two sum to it exactly.
    auto second = refund(order, {{"lines", json::array{json::object{{"variant_id", shirt_variant}, {"quantity", 1}}}}}, "r2");
    ASSERT_EQ(second.result_int(), 202U) << second.body();
    EXPECT_EQ(json_object(second).at("amount_cents").as_int64(), shirts_paid - shirts_paid / 2);
    ASSERT_TRUE(settled(json_object(second).at("id").as_int64()));

    // Bad input: nothing changes.
    const auto before = money();
    const std::string path = "/api/v1/orders/" + std::to_string(order) + "/refunds";
    int n = 0;
    const auto bad = [&](const std::string& body) {
        return send(bhttp::verb::post, path, admin_, body, {{"Idempotency-Key", "bad-" + std::to_string(++n)}});
    };
    expect_problem(bad(R"({"lines":[{"variant_id":)" + std::to_string(shirt_variant) + R"(,"quantity":1}]})"), 422,
                   "validation_failed", "a unit refunded already");
    expect_problem(bad(R"({"lines":[{"variant_id":999999,"quantity":1}]})"), 422, "validation_failed", "a line not in the order");
    expect_problem(bad(R"({"amount_cents":-5})"), 422, "validation_failed", "a negative amount");
    expect_problem(bad(R"({"amount_cents":0})"), 422, "validation_failed", "a zero amount");
    expect_problem(bad(R"({})"), 422, "validation_failed", "neither amount nor lines");
    expect_problem(bad(R"({"amount_cents":1,"lines":[{"variant_id":)" + std::to_string(cap_variant) + R"(,"quantity":1}]})"),
                   422, "validation_failed", "both");
    expect_problem(bad(R"({"amount_cents":999999})"), 422, "validation_failed", "more than the capture");
    expect_problem(bad(R"({"amount_cents":)" + std::to_string(2251 - shirts_paid + 1) + "}"), 409, "conflict",
                   "more than what is left");
    expect_problem(send(bhttp::verb::post, path, token, R"({"amount_cents":1})", {{"Idempotency-Key", "cust"}}), 403,
                   "forbidden", "a customer");
    expect_problem(send(bhttp::verb::post, path, admin_, R"({"amount_cents":1})"), 400, "", "no Idempotency-Key");
    EXPECT_EQ(money(), before);

    // An amount ending in 99 cents fails once at the sandbox: retried with the same key.
    auto flaky = refund(order, {{"amount_cents", 99}}, "r3");
    ASSERT_EQ(flaky.result_int(), 202U) << flaky.body();
    const auto flaky_id = json_object(flaky).at("id").as_int64();
    ASSERT_TRUE(settled(flaky_id));
    EXPECT_EQ(sql("SELECT attempts FROM refunds WHERE id = $1 AND status = 'succeeded'", {flaky_id}), 2);

    EXPECT_TRUE(eventually([&] { return sql("SELECT refunded_cents FROM orders WHERE id = $1", {order}) == shirts_paid + 99; }));
    auto listed = json_object(send(bhttp::verb::get, path, token));
    ASSERT_EQ(listed.at("items").as_array().size(), 3U) << "the owner sees the order's refunds";
    expect_problem(send(bhttp::verb::get, path, customer("other@example.com").second), 404, "not_found", "another customer");
    // An unpaid order has nothing to refund.
    const json::object unpaid_body{{"items", json::array{json::object{{"product_id", cap}, {"quantity", 1}}}},
                                   {"shipping_address", json::object{{"city", "Oslo"}}}};
    auto unpaid = send(bhttp::verb::post, "/api/v1/orders", token, json::serialize(unpaid_body), {{"Idempotency-Key", "unpaid"}});
    ASSERT_EQ(unpaid.result_int(), 201U);
    expect_problem(refund(json_object(unpaid).at("id").as_int64(), {{"amount_cents", 1}}, "r-unpaid"), 409, "conflict", "unpaid");
}

TEST_F(RefundsE2E, ConcurrentPartialRefundsNeverExceedTheCapture) {
    const auto tv = create_product(server_->port(), admin_, {{"sku", "tv"}, {"name", "TV"}, {"price_cents", 10000}, {"stock", 5}});
    const auto token = customer("tv@example.com").second;
    const auto order = paid_order(token, json::array{json::object{{"product_id", tv}, {"quantity", 1}}});
    std::mutex mutex;
    int accepted = 0;
    int refused = 0;
    std::vector<std::string> unexpected;
    std::vector<std::thread> threads;
    for (int i = 0; i < 20; ++i) {
        threads.emplace_back([&, i] {
            auto r = refund(order, {{"amount_cents", 1000}}, "c" + std::to_string(i));
            std::lock_guard lock(mutex);
            if (r.result_int() == 202) {
                ++accepted;
            } else if (r.result_int() == 409 && problem_code(r) == "conflict") {
                ++refused;
            } else {
                unexpected.push_back(std::to_string(r.result_int()) + " " + r.body());
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_TRUE(unexpected.empty()) << unexpected.front();
    EXPECT_EQ(accepted, 10);
    EXPECT_EQ(refused, 10);
    EXPECT_EQ(sql("SELECT sum(amount_cents) FROM refunds WHERE order_id = $1", {order}), 10000);
    EXPECT_TRUE(eventually([&] { return sql("SELECT refunded_cents FROM orders WHERE id = $1", {order}) == 10000; }));
}

TEST_F(RefundsE2E, AProviderWebhookSettlesAPendingRefundOnce) {
    const auto lamp = create_product(server_->port(), admin_, {{"sku", "lamp"}, {"name", "Lamp"}, {"price_cents", 4000}, {"stock", 5}});
    const auto token = customer("lamp@example.com").second;
    const auto order = paid_order(token, json::array{json::object{{"product_id", lamp}, {"quantity", 1}}});
    worker_.reset();  // no worker: the refund stays pending until the provider reports it
    auto made = refund(order, {{"amount_cents", 1500}}, "w1");
    ASSERT_EQ(made.result_int(), 202U) << made.body();
    const auto id = json_object(made).at("id").as_int64();
    const auto event = json::serialize(json::object{
        {"id", "evt_refund_" + std::to_string(id)},
        {"type", "refund.updated"},
        {"data", json::object{{"object", json::object{{"id", "re_hook_" + std::to_string(id)},
                                                      {"object", "refund"},
                                                      {"status", "succeeded"},
                                                      {"metadata", json::object{{"refund_id", std::to_string(id)}}}}}}}});
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const HttpHeaders signed_headers{{"Stripe-Signature", payments::sign_webhook(kWebhookSecret, now, event)}};
    for (int i = 0; i < 2; ++i) {
        auto r = authorized_call(server_->port(), bhttp::verb::post, "/webhooks/payments", "", event, signed_headers);
        ASSERT_EQ(r.result_int(), 200U) << r.body();
        EXPECT_EQ(json_object(r).at("duplicate").as_bool(), i == 1) << r.body();
    }
    EXPECT_EQ(sql("SELECT count(*) FROM refunds WHERE id = $1 AND status = 'succeeded'", {id}), 1);
    EXPECT_EQ(sql("SELECT refunded_cents FROM orders WHERE id = $1", {order}), 1500);
    EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE event_type = 'refund.succeeded' AND aggregate_id = $1",
                  db::params(std::to_string(id))),
              1);
}

TEST_F(RefundsE2E, AReturnRestocksItsUnitsAndRefundsTheirShareInOneStep) {
    const auto mug = create_product(server_->port(), admin_, {{"sku", "mug"}, {"name", "Mug"}, {"price_cents", 1200}, {"stock", 10}});
    const auto token = customer("returner@example.com").second;
    const auto order = paid_order(token, json::array{json::object{{"product_id", mug}, {"quantity", 3}}});
    const auto placed = json_object(send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order), token));
    const auto variant = placed.at("items").as_array().at(0).as_object().at("variant_id").as_int64();
    const std::string path = "/api/v1/orders/" + std::to_string(order) + "/returns";
    const auto lines = [&](std::int64_t v, int q) {
        return json::serialize(json::object{{"lines", json::array{json::object{{"variant_id", v}, {"quantity", q}}}}, {"reason", "chipped"}});
    };
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 1)), 409, "conflict", "not fulfilled yet");
    ASSERT_EQ(send(bhttp::verb::post, "/api/v1/orders/" + std::to_string(order) + "/fulfil", admin_).result_int(), 200U);
    const auto stock = product_stock(mug);
    ASSERT_EQ(stock, 7);

    const auto before = sql("SELECT count(*) FROM returns") * 1000 + sql("SELECT count(*) FROM inventory_movements");
    expect_problem(send(bhttp::verb::post, path, token, lines(999999, 1)), 422, "validation_failed", "a line not in the order");
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 4)), 422, "validation_failed", "more than ordered");
    expect_problem(send(bhttp::verb::post, path, token, R"({"lines":[]})"), 422, "validation_failed", "no lines");
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 0)), 422, "validation_failed", "zero units");
    expect_problem(send(bhttp::verb::post, path, customer("stranger@example.com").second, lines(variant, 1)), 404, "not_found",
                   "another customer");
    EXPECT_EQ(sql("SELECT count(*) FROM returns") * 1000 + sql("SELECT count(*) FROM inventory_movements"), before);

    auto asked = send(bhttp::verb::post, path, token, lines(variant, 2));
    ASSERT_EQ(asked.result_int(), 201U) << asked.body();
    const auto ret = json_object(asked);
    EXPECT_EQ(ret.at("status").as_string(), "requested");
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE id = $1 AND status = 'return_requested'", {order}), 1);
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 1)), 409, "conflict", "a return already open");
    EXPECT_EQ(product_stock(mug), 7) << "nothing goes back on sale before it is received";

    const std::string receive = "/api/v1/admin/returns/" + std::to_string(ret.at("id").as_int64()) + "/receive";
    expect_problem(send(bhttp::verb::post, receive, token), 403, "forbidden", "a customer receiving");
    auto received = send(bhttp::verb::post, receive, admin_);
    ASSERT_EQ(received.result_int(), 200U) << received.body();
    const auto got = json_object(received);
    EXPECT_EQ(got.at("status").as_string(), "received");
    ASSERT_TRUE(got.at("refund_id").is_int64());
    EXPECT_EQ(product_stock(mug), 9);
    EXPECT_EQ(sql("SELECT coalesce(sum(delta), 0)::bigint FROM inventory_movements WHERE reason = 'order_returned' AND order_id = $1", {order}), 2);
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE id = $1 AND status = 'returned'", {order}), 1);
    EXPECT_EQ(sql("SELECT amount_cents FROM refunds WHERE id = $1", {got.at("refund_id").as_int64()}), 2400);
    EXPECT_TRUE(settled(got.at("refund_id").as_int64()));
    EXPECT_TRUE(eventually([&] { return sql("SELECT refunded_cents FROM orders WHERE id = $1", {order}) == 2400; }));
    expect_problem(send(bhttp::verb::post, receive, admin_), 409, "conflict", "received twice");
    expect_problem(send(bhttp::verb::post, "/api/v1/admin/returns/999999/receive", admin_), 404, "not_found", "no such return");

    // The last unit can still come back, in a second return of the same variant; then nothing is
    // left. An admin gave its money back before it arrived (a refund by lines): receiving it
    // restocks it and refunds nothing more.
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 2)), 422, "validation_failed", "more than is left");
    auto goodwill = refund(order, {{"lines", json::array{json::object{{"variant_id", variant}, {"quantity", 1}}}}}, "goodwill");
    ASSERT_EQ(goodwill.result_int(), 202U) << goodwill.body();
    auto second = send(bhttp::verb::post, path, token, lines(variant, 1));
    ASSERT_EQ(second.result_int(), 201U) << second.body();
    const auto second_receive = "/api/v1/admin/returns/" + std::to_string(json_object(second).at("id").as_int64()) + "/receive";
    auto received_again = send(bhttp::verb::post, second_receive, admin_);
    ASSERT_EQ(received_again.result_int(), 200U) << received_again.body();
    EXPECT_TRUE(json_object(received_again).at("refund_id").is_null()) << "its unit was refunded already";
    EXPECT_EQ(product_stock(mug), 10);
    EXPECT_EQ(sql("SELECT coalesce(sum(amount_cents), 0)::bigint FROM refunds WHERE order_id = $1", {order}), 3600);
    auto listed = json_object(send(bhttp::verb::get, path, token));
    EXPECT_EQ(listed.at("items").as_array().size(), 2U);
    expect_problem(send(bhttp::verb::post, path, token, lines(variant, 1)), 422, "validation_failed", "nothing left to return");
    EXPECT_EQ(run_emporium({"inventory", "audit"}, env()), 0);

    // Past the window: refused.
    const auto late = paid_order(token, json::array{json::object{{"product_id", mug}, {"quantity", 1}}});
    ASSERT_EQ(send(bhttp::verb::post, "/api/v1/orders/" + std::to_string(late) + "/fulfil", admin_).result_int(), 200U);
    sql("UPDATE orders SET fulfilled_at = now() - interval '31 days' WHERE id = $1 RETURNING id", {late});
    expect_problem(send(bhttp::verb::post, "/api/v1/orders/" + std::to_string(late) + "/returns", token, lines(variant, 1)), 409,
                   "conflict", "the window closed");
}

}  // namespace
}  // namespace emporium::test
