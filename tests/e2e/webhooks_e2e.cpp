// End-to-end: webhooks out through the real `emporium serve`, `worker` and `scheduler`, delivered to
// a receiver that misbehaves on purpose (tests/support/fake_webhook_receiver.py, which checks every
// signature with the endpoint's secret on its own). Every event reaches an endpoint that fails,
// hangs and answers late at least once, signed; 4xx other than 408/429 stops the retries, 429 does
// not, the retries run out into dead; a replay sends the same event again; product and low-stock
// events; the admin routes and their bad input.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using namespace std::chrono_literals;

class WebhooksE2E : public ::testing::Test, protected E2EFixture {
protected:
    WebhooksE2E() : E2EFixture("webhooks") {
        receiver_ = std::make_unique<Process>(
            std::vector<std::string>{"/usr/bin/python3", source_dir() + "/tests/support/fake_webhook_receiver.py",
                                     "--port", "0", "--slow-seconds", "1.5"},
            Env{});
        const auto line = receiver_->wait_for_line("fake receiver listening on", 15s);
        receiver_port_ = static_cast<unsigned short>(std::stoi(line.substr(line.rfind(' ') + 1)));
        // One POST may take 1 s; retries 50-200 ms apart, 6 attempts.
        const Env extra{{"RATE_LIMIT_ENABLED", "false"},
                        {"WEBHOOK_TIMEOUT_MS", "1000"},
                        {"JOB_RETRY_POLICIES", "webhook.deliver=50/200/6/10000"}};
        server_ = std::make_unique<ServerProcess>(env(extra));
        worker_ = start_emporium("worker", env(extra));
        scheduler_ = start_emporium("scheduler", env(extra));
    }

    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "") {
        return authorized_call(server_->port(), method, target, token, body);
    }
    // Registers an endpoint for `events` at the receiver's `path`, tells the receiver its secret and
    // `plan`; returns the endpoint's id.
    std::int64_t endpoint(const std::string& path, const json::array& events, const json::array& plan = {}) {
        const json::object body{{"url", "http://127.0.0.1:" + std::to_string(receiver_port_) + path},
                                {"events", events},
                                {"description", "receiver " + path}};
        auto created = send(bhttp::verb::post, "/api/v1/admin/webhook-endpoints", admin_, json::serialize(body));
        EXPECT_EQ(created.result_int(), 201U) << created.body();
        const auto object = json_object(created);
        const json::object spec{{"path", path}, {"secret", object.at("secret")}, {"plan", plan}};
        auto told = http_call(receiver_port_, bhttp::verb::post, "/_control/path", json::serialize(spec));
        EXPECT_EQ(told.result_int(), 200U);
        return object.at("id").as_int64();
    }
    json::object received(const std::string& path) {
        return json::parse(http_call(receiver_port_, bhttp::verb::get, "/_control/received?path=" + path).body()).as_object();
    }
    std::int64_t place_order(const std::string& token, std::int64_t product, int n) {
        auto placed = authorized_call(server_->port(), bhttp::verb::post, "/api/v1/orders", token, order_body(product, 1),
                                      {{"Idempotency-Key", "order-" + std::to_string(n)}});
        EXPECT_EQ(placed.result_int(), 201U) << placed.body();
        return json_object(placed).at("id").as_int64();
    }
    void pay(const std::string& token, std::int64_t order) {
        auto paid = authorized_call(server_->port(), bhttp::verb::post, "/api/v1/orders/" + std::to_string(order) + "/pay",
                                    token, R"({"payment_method":"tok_ok"})",
                                    {{"Idempotency-Key", "pay-" + std::to_string(order)}});
        EXPECT_EQ(paid.result_int(), 202U) << paid.body();
    }
    // Whether every delivery of `endpoint_id` is settled (none pending or retrying) and there are `n`.
    bool settled(std::int64_t endpoint_id, std::int64_t n) {
        return sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status IN ('succeeded', 'dead')",
                   {endpoint_id}) == n &&
               sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1", {endpoint_id}) == n;
    }
    // The deliveries, for failure messages.
    std::string deliveries() {
        const auto r = sql_query(db_.url,
                                 "SELECT string_agg(format('%s/%s %s %s %s %s', id, endpoint_id, status, attempts, "
                                 "last_status_code, last_error), E'\\n' ORDER BY id) FROM webhook_deliveries");
        return r.rows() == 1 && !r.is_null(0, 0) ? std::string(r.text(0, 0)) : std::string();
    }
    // "evt_<id>" of the outbox events of these groups.
    std::set<std::string> outbox_events(const std::string& groups) {
        const auto r = sql_query(db_.url,
                                 "SELECT id FROM outbox WHERE split_part(event_type, '.', 1) = ANY(string_to_array($1, ','))",
                                 {groups});
        std::set<std::string> out;
        for (std::size_t i = 0; i < r.rows(); ++i) out.insert("evt_" + std::to_string(r.get<std::int64_t>(i, 0)));
        return out;
    }

    std::unique_ptr<Process> receiver_;
    unsigned short receiver_port_ = 0;
    std::unique_ptr<ServerProcess> server_;
    std::unique_ptr<Process> worker_;
    std::unique_ptr<Process> scheduler_;
};

TEST_F(WebhooksE2E, EveryEventReachesAReceiverThatFailsHangsAndAnswersLateSignedAtLeastOnce) {
    const auto flaky = endpoint("/flaky", json::array{"order.*", "payment.*"}, json::array{"fail", "hang", "late"});
    const auto all = endpoint("/all", json::array{"*"});
    const auto product = create_product(server_->port(), admin_,
                                        {{"sku", "mug"}, {"name", "Mug"}, {"price_cents", 1200}, {"stock", 10}});
    const auto token = customer("buyer@example.com").second;
    for (int n = 0; n < 3; ++n) pay(token, place_order(token, product, n));
    ASSERT_TRUE(eventually([&] { return sql("SELECT count(*) FROM orders WHERE status = 'paid'") == 3; }, 30s));

    // order.created, payment.requested, payment.captured, order.paid for each order.
    const auto expected = outbox_events("order,payment");
    ASSERT_EQ(expected.size(), 12U);
    ASSERT_TRUE(eventually([&] { return settled(flaky, 12); }, 60s)) << deliveries();
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded' AND attempts = 4",
                  {flaky}),
              12)
        << "each took 500, a hang, a late answer (the sender gave up), then 200";

    const auto got = received("/flaky");
    std::set<std::string> unique;
    for (const auto& id : got.at("unique").as_array()) unique.insert(std::string(id.as_string()));
    EXPECT_EQ(unique, expected) << "every event, deduplicated by its id";
    std::size_t accepted = 0;
    for (const auto& r : got.at("requests").as_array()) {
        const auto& request = r.as_object();
        EXPECT_TRUE(request.at("signature_valid").as_bool()) << json::serialize(request);
        EXPECT_EQ(request.at("event_id"), request.at("body_id")) << "the header names the body's event";
        EXPECT_EQ(request.at("event_type_header"), request.at("type"));
        if (request.at("accepted").as_bool()) ++accepted;
    }
    EXPECT_EQ(got.at("requests").as_array().size(), 48U);
    EXPECT_EQ(accepted, 24U) << "the late answers' events came again: the receiver saw each twice";

    // The delivery log of one of them.
    const auto one = sql("SELECT min(id) FROM webhook_deliveries WHERE endpoint_id = $1", {flaky});
    auto detail = send(bhttp::verb::get, "/api/v1/admin/webhook-deliveries/" + std::to_string(one), admin_);
    ASSERT_EQ(detail.result_int(), 200U) << detail.body();
    const auto log = json_object(detail).at("log").as_array();
    ASSERT_EQ(log.size(), 4U);
    EXPECT_EQ(log[0].at("status_code"), 500);
    EXPECT_TRUE(log[1].at("status_code").is_null());
    EXPECT_TRUE(log[2].at("status_code").is_null());
    EXPECT_EQ(log[3].at("status_code"), 200);
    const auto body = json::parse(json_object(detail).at("body").as_string()).as_object();
    EXPECT_EQ(body.at("id"), json_object(detail).at("event_id"));

    // The "*" endpoint got those and the product's events, each once.
    const auto subscribable = outbox_events("order,payment,refund,inventory,product");
    EXPECT_GE(subscribable.size(), 13U);
    ASSERT_TRUE(eventually([&] { return settled(all, static_cast<std::int64_t>(subscribable.size())); }, 30s));
    const auto everything = received("/all");
    EXPECT_EQ(everything.at("unique").as_array().size(), subscribable.size());
    EXPECT_EQ(everything.at("requests").as_array().size(), subscribable.size());
}

TEST_F(WebhooksE2E, FourHundredsStopRetriesThrottlingDoesNotAndAReplaySendsTheSameEventAgain) {
    const auto gone = endpoint("/gone", json::array{"order.created"}, json::array{"gone"});
    const auto throttled = endpoint("/throttled", json::array{"order.created"}, json::array{"throttle"});
    const auto broken = endpoint("/broken", json::array{"order.created"},
                                 json::array{"fail", "fail", "fail", "fail", "fail", "fail"});
    // An answer that is not text is kept as text (it once made the attempt unrecordable, so the
    // delivery was sent again and again and never settled).
    const auto binary = endpoint("/binary", json::array{"order.created"}, json::array{"binary"});
    const auto product = create_product(server_->port(), admin_,
                                        {{"sku", "pen"}, {"name", "Pen"}, {"price_cents", 300}, {"stock", 10}});
    const auto token = customer("pen@example.com").second;
    place_order(token, product, 1);
    ASSERT_TRUE(eventually([&] {
        return settled(gone, 1) && settled(throttled, 1) && settled(broken, 1) && settled(binary, 1);
    }, 30s)) << deliveries();
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded' AND attempts = 2",
                  {binary}),
              1);
    const auto garbled = sql("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1", {binary});
    const auto garbled_log =
        json_object(send(bhttp::verb::get, "/api/v1/admin/webhook-deliveries/" + std::to_string(garbled), admin_)).at("log");
    EXPECT_EQ(garbled_log.at(0).at("status_code"), 500);
    EXPECT_GT(garbled_log.at(0).at("response_excerpt").as_string().size(), 400U);
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'dead' AND attempts = 1 "
                  "AND last_status_code = 410",
                  {gone}),
              1);
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded' AND attempts = 2",
                  {throttled}),
              1);
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'dead' AND attempts = 6 "
                  "AND last_status_code = 500",
                  {broken}),
              1)
        << "dead when the six attempts ran out";

    auto dead = send(bhttp::verb::get, "/api/v1/admin/webhook-endpoints/" + std::to_string(broken) + "/deliveries?status=dead",
                     admin_);
    ASSERT_EQ(dead.result_int(), 200U) << dead.body();
    ASSERT_EQ(json_object(dead).at("items").as_array().size(), 1U);
    auto none = send(bhttp::verb::get,
                     "/api/v1/admin/webhook-endpoints/" + std::to_string(broken) + "/deliveries?status=succeeded", admin_);
    EXPECT_EQ(json_object(none).at("items").as_array().size(), 0U);

    // The receiver at /gone works again (its plan is spent): a replay delivers the same event.
    const auto delivery = sql("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1", {gone});
    const auto replay_path = "/api/v1/admin/webhook-deliveries/" + std::to_string(delivery) + "/replay";
    auto replayed = send(bhttp::verb::post, replay_path, admin_);
    ASSERT_EQ(replayed.result_int(), 202U) << replayed.body();
    EXPECT_EQ(json_object(replayed).at("replays"), 1);
    ASSERT_TRUE(eventually([&] {
        return sql("SELECT count(*) FROM webhook_deliveries WHERE id = $1 AND status = 'succeeded' AND attempts = 2",
                   {delivery}) == 1;
    }));
    const auto at_gone = received("/gone").at("requests").as_array();
    ASSERT_EQ(at_gone.size(), 2U);
    EXPECT_EQ(at_gone[0].at("event_id"), at_gone[1].at("event_id")) << "a replay is the same event";
    EXPECT_TRUE(at_gone[1].at("signature_valid").as_bool());

    // A delivery still being sent is not replayed.
    const auto sending = sql("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1", {broken});
    sql("UPDATE webhook_deliveries SET status = 'retrying' WHERE id = $1 RETURNING id", {sending});
    expect_problem(send(bhttp::verb::post, "/api/v1/admin/webhook-deliveries/" + std::to_string(sending) + "/replay", admin_),
                   409, "conflict", "replay while retrying");
    EXPECT_EQ(sql("SELECT replays FROM webhook_deliveries WHERE id = $1", {sending}), 0);
    // Unchanged for longer than a retry's wait and an attempt: its job was lost; a replay sends it.
    sql("ALTER TABLE webhook_deliveries DISABLE TRIGGER webhook_deliveries_touch");
    sql("UPDATE webhook_deliveries SET updated_at = now() - interval '2 hours' WHERE id = $1 RETURNING id", {sending});
    sql("ALTER TABLE webhook_deliveries ENABLE TRIGGER webhook_deliveries_touch");
    auto unstuck = send(bhttp::verb::post, "/api/v1/admin/webhook-deliveries/" + std::to_string(sending) + "/replay", admin_);
    ASSERT_EQ(unstuck.result_int(), 202U) << unstuck.body();
    ASSERT_TRUE(eventually([&] {
        return sql("SELECT count(*) FROM webhook_deliveries WHERE id = $1 AND status = 'succeeded' AND attempts = 7",
                   {sending}) == 1;
    })) << deliveries();
    expect_problem(send(bhttp::verb::post, "/api/v1/admin/webhook-deliveries/999999/replay", admin_), 404, "not_found",
                   "replay of nothing");
}

TEST_F(WebhooksE2E, ProductChangesAndLowStockAreEvents) {
    const auto watcher = endpoint("/catalog", json::array{"product.*", "inventory.low_stock"});
    const auto product = create_product(server_->port(), admin_,
                                        {{"sku", "lamp"}, {"name", "Lamp"}, {"price_cents", 4000}, {"stock", 2}});
    auto renamed = authorized_call(server_->port(), bhttp::verb::patch, "/api/v1/products/" + std::to_string(product),
                                   admin_, R"({"name":"Desk lamp"})", {{"If-Match", "W/\"1\""}});
    ASSERT_EQ(renamed.result_int(), 200U) << renamed.body();
    // Warn at one unit left (the default, 0, warns when it runs out).
    auto variants = json_object(send(bhttp::verb::get, "/api/v1/products/" + std::to_string(product) + "/variants", admin_));
    const auto& variant = variants.at("items").as_array().at(0).as_object();
    EXPECT_EQ(variant.at("low_stock_threshold"), 0);
    const json::object threshold{{"low_stock_threshold", 1}, {"version", variant.at("version")}};
    auto patched = send(bhttp::verb::patch, "/api/v1/variants/" + std::to_string(variant.at("id").as_int64()), admin_,
                        json::serialize(threshold));
    ASSERT_EQ(patched.result_int(), 200U) << patched.body();
    EXPECT_EQ(json_object(patched).at("low_stock_threshold"), 1);
    expect_problem(send(bhttp::verb::patch, "/api/v1/variants/" + std::to_string(variant.at("id").as_int64()), admin_,
                        R"({"low_stock_threshold":-1,"version":99})"),
                   422, "validation_failed", "a negative threshold");
    // Sales counters and the like are not events; selling out is (in_stock) and so is the low stock.
    const auto token = customer("lamp@example.com").second;
    pay(token, place_order(token, product, 1));
    place_order(token, product, 2);
    ASSERT_TRUE(eventually([&] { return sql("SELECT purchase_count FROM products WHERE id = $1", {product}) == 1; }))
        << "the paid order counts as a purchase";
    auto removed = send(bhttp::verb::delete_, "/api/v1/products/" + std::to_string(product), admin_);
    ASSERT_EQ(removed.result_int(), 204U) << removed.body();

    ASSERT_TRUE(eventually([&] {
        const auto n = sql("SELECT count(*) FROM outbox WHERE split_part(event_type, '.', 1) IN ('product', 'inventory')");
        return n >= 5 && settled(watcher, n) && received("/catalog").at("requests").as_array().size() == static_cast<std::size_t>(n);
    }, 30s)) << deliveries();
    std::multiset<std::string> types;
    const auto catalog = received("/catalog");
    for (const auto& r : catalog.at("requests").as_array()) {
        types.emplace(r.at("type").as_string());
        EXPECT_TRUE(r.at("signature_valid").as_bool());
    }
    EXPECT_EQ(types.count("product.created"), 1U);
    EXPECT_EQ(types.count("product.deleted"), 1U);
    EXPECT_EQ(types.count("inventory.low_stock"), 1U) << "once, when one unit was left";
    EXPECT_EQ(types.count("product.updated"), 2U) << "renamed, sold out; not the purchase count or the version";
    EXPECT_EQ(types.size(), types.count("product.created") + types.count("product.deleted") +
                                types.count("inventory.low_stock") + types.count("product.updated"));
    EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE event_type = 'product.updated' AND payload->>'name' = 'Desk lamp' "
                  "AND (payload->>'in_stock')::boolean = false"),
              1)
        << "selling out is an update";
    const auto r = sql_query(db_.url,
                             "SELECT (data->>'stock')::int, (data->>'product_id')::bigint FROM webhook_deliveries "
                             "WHERE event_type = 'inventory.low_stock'");
    ASSERT_EQ(r.rows(), 1U);
    EXPECT_EQ(r.get<std::int32_t>(0, 0), 1);
    EXPECT_EQ(r.get<std::int64_t>(0, 1), product);
}

TEST_F(WebhooksE2E, AdminRoutesAndBadInput) {
    const std::string base = "/api/v1/admin/webhook-endpoints";
    auto created = send(bhttp::verb::post, base, admin_,
                        R"({"url":"https://hooks.example.com/in","events":["order.paid","refund.*"]})");
    ASSERT_EQ(created.result_int(), 201U) << created.body();
    const auto endpoint = json_object(created);
    const auto id = endpoint.at("id").as_int64();
    const auto secret = std::string(endpoint.at("secret").as_string());
    EXPECT_EQ(secret.rfind("whsec_", 0), 0U);
    EXPECT_EQ(secret.size(), 6U + 48U);
    EXPECT_EQ(created["Location"], base + "/" + std::to_string(id));
    const auto path = base + "/" + std::to_string(id);

    auto listed = send(bhttp::verb::get, base, admin_);
    ASSERT_EQ(listed.result_int(), 200U);
    ASSERT_EQ(json_object(listed).at("items").as_array().size(), 1U);
    EXPECT_EQ(json_object(listed).at("items").as_array()[0].as_object().if_contains("secret"), nullptr)
        << "the secret is shown once";
    EXPECT_EQ(json_object(send(bhttp::verb::get, path, admin_)).if_contains("secret"), nullptr);

    auto patched = send(bhttp::verb::patch, path, admin_, R"({"events":["*"],"enabled":false,"description":"all"})");
    ASSERT_EQ(patched.result_int(), 200U) << patched.body();
    EXPECT_EQ(json_object(patched).at("events"), (json::array{"*"}));
    EXPECT_EQ(json_object(patched).at("enabled"), false);
    EXPECT_EQ(json_object(patched).at("url"), "https://hooks.example.com/in") << "members not given stay";

    auto rotated = send(bhttp::verb::post, path + "/secret", admin_);
    ASSERT_EQ(rotated.result_int(), 200U);
    EXPECT_NE(json_object(rotated).at("secret").as_string(), secret);

    // A disabled endpoint gets nothing.
    const auto product = create_product(server_->port(), admin_, {{"sku", "cup"}, {"name", "Cup"}, {"price_cents", 100}, {"stock", 3}});
    place_order(customer("cup@example.com").second, product, 1);
    ASSERT_TRUE(eventually([&] { return sql("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0; }));
    EXPECT_EQ(sql("SELECT count(*) FROM webhook_deliveries"), 0);

    // Bad input: problem+json, nothing changed.
    const auto before = sql("SELECT count(*) * 1000 + coalesce(sum(length(url) + cardinality(events)), 0) FROM webhook_endpoints");
    const auto bad = [&](const std::string& body, const std::string& what) {
        expect_problem(send(bhttp::verb::post, base, admin_, body), 422, "validation_failed", what);
    };
    bad(R"({"url":"ftp://hooks.example.com/in","events":["order.paid"]})", "not http(s)");
    bad(R"x({"url":"javascript:alert(1)","events":["order.paid"]})x", "a script URL");
    bad(R"({"url":"http://user:pw@hooks.example.com/","events":["order.paid"]})", "credentials in the URL");
    bad(R"({"url":"http:///nohost","events":["order.paid"]})", "no host");
    bad(R"({"url":"https://hooks.example.com/in","events":[]})", "no events");
    bad(R"({"url":"https://hooks.example.com/in","events":["order.shipped"]})", "an unknown event type");
    bad(R"({"url":"https://hooks.example.com/in","events":["webhook.replay"]})", "an internal event");
    bad(R"({"url":"https://hooks.example.com/in","events":["orders.*"]})", "an unknown group");
    bad(R"({"url":"https://hooks.example.com/in","events":["order.paid","order.paid"]})", "an event twice");
    bad(R"({"events":["order.paid"]})", "no url");
    expect_problem(send(bhttp::verb::patch, path, admin_, R"({"url":"mailto:x@example.com"})"), 422, "validation_failed",
                   "patch to a bad URL");
    expect_problem(send(bhttp::verb::patch, path, admin_, R"({"events":["nope"]})"), 422, "validation_failed",
                   "patch to an unknown event");
    expect_problem(send(bhttp::verb::get, path + "/deliveries?status=lost", admin_), 422, "validation_failed", "a bad status");
    expect_problem(send(bhttp::verb::get, path + "/deliveries?cursor=abc", admin_), 422, "validation_failed", "a bad cursor");
    EXPECT_EQ(sql("SELECT count(*) * 1000 + coalesce(sum(length(url) + cardinality(events)), 0) FROM webhook_endpoints"),
              before);

    const auto customer_token = customer("nosy@example.com").second;
    expect_problem(send(bhttp::verb::get, base, customer_token), 403, "forbidden", "a customer lists endpoints");
    expect_problem(send(bhttp::verb::post, base, customer_token, R"({"url":"https://x.example.com","events":["*"]})"), 403,
                   "forbidden", "a customer creates one");

    const std::string missing = base + "/999999";
    expect_problem(send(bhttp::verb::get, missing, admin_), 404, "not_found");
    expect_problem(send(bhttp::verb::patch, missing, admin_, R"({"enabled":true})"), 404, "not_found");
    expect_problem(send(bhttp::verb::post, missing + "/secret", admin_), 404, "not_found");
    expect_problem(send(bhttp::verb::get, missing + "/deliveries", admin_), 404, "not_found");
    expect_problem(send(bhttp::verb::get, "/api/v1/admin/webhook-deliveries/999999", admin_), 404, "not_found");

    auto deleted = send(bhttp::verb::delete_, path, admin_);
    EXPECT_EQ(deleted.result_int(), 204U);
    expect_problem(send(bhttp::verb::delete_, path, admin_), 404, "not_found", "deleted twice");
}

}  // namespace
}  // namespace emporium::test
