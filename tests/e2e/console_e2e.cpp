// End-to-end: what the admin console and the storefront need from `emporium serve` beyond the shop's
// API: the pages and their assets (CSP, cache headers, same-origin only), every customer's orders
// by state and e-mail, a variant's ledger, the ledger audit (clean, then finding a planted
// mismatch), and the recommendations' rebuild started from the API and run by the worker. Each with
// its bad input and a customer's 403.
#include "e2e/e2e_fixture.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using namespace std::chrono_literals;

class ConsoleE2E : public ::testing::Test, protected E2EFixture {
protected:
    ConsoleE2E() : E2EFixture("console") {}

    void start(const Env& extra = {}) {
        Env settings{{"RATE_LIMIT_ENABLED", "false"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        server_ = std::make_unique<ServerProcess>(env(settings));
    }
    Res get(const std::string& target, const std::string& token = {}) {
        return authorized_call(server_->port(), bhttp::verb::get, target, token);
    }
    Res post(const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), bhttp::verb::post, target, token, body, std::move(headers));
    }
    std::int64_t place_order(const std::string& token, std::int64_t product, int quantity, const std::string& key) {
        auto placed = post("/api/v1/orders", token, order_body(product, quantity), {{"Idempotency-Key", key}});
        EXPECT_EQ(placed.result_int(), 201U) << placed.body();
        return placed.result_int() == 201U ? json_object(placed).at("id").as_int64() : 0;
    }
    static std::vector<std::int64_t> ids(const Res& page) {
        std::vector<std::int64_t> out;
        const auto body = json_object(page);  // a named object: the loop outlives a temporary's member
        for (const auto& item : body.at("items").as_array()) out.push_back(item.at("id").as_int64());
        return out;
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(ConsoleE2E, ServesTheStorefrontAndTheConsoleWithTheirPolicyAndOnlySameOriginAssets) {
    start();
    for (const std::string page : {"/", "/admin/"}) {
        SCOPED_TRACE(page);
        auto r = get(page);
        ASSERT_EQ(r.result_int(), 200U) << r.body();
        EXPECT_EQ(r[bhttp::field::content_type], "text/html; charset=utf-8");
        EXPECT_EQ(r[bhttp::field::cache_control], "no-cache");
        const std::string policy(r["Content-Security-Policy"]);
        EXPECT_NE(policy.find("default-src 'self'"), std::string::npos) << policy;
        EXPECT_NE(policy.find("script-src 'self'"), std::string::npos) << policy;
        EXPECT_NE(policy.find("frame-ancestors 'none'"), std::string::npos) << policy;
        EXPECT_EQ(policy.find("unsafe-inline"), std::string::npos) << policy;
        EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
        // The server's clock, which the cart's hold countdown follows (RFC 9110 IMF-fixdate).
        EXPECT_TRUE(std::regex_match(std::string(r[bhttp::field::date]),
                                     std::regex(R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)")))
            << r[bhttp::field::date];
        // Every src and href names this origin's assets (or a data: icon): nothing from a CDN.
        const std::string html = r.body();
        EXPECT_EQ(html.find("<script>"), std::string::npos) << "no inline script";
        EXPECT_EQ(html.find("<style"), std::string::npos) << "no inline style";
        const std::regex reference(R"re((?:src|href)="([^"]*)")re");
        int scripts = 0;
        for (auto it = std::sregex_iterator(html.begin(), html.end(), reference); it != std::sregex_iterator(); ++it) {
            const std::string url = (*it)[1];
            if (url == "data:,") continue;
            ASSERT_EQ(url.rfind("/assets/", 0), 0U) << url;
            auto asset = get(url);
            EXPECT_EQ(asset.result_int(), 200U) << url;
            EXPECT_EQ(asset[bhttp::field::cache_control], "public, max-age=31536000, immutable") << url;
            EXPECT_FALSE(asset.body().empty()) << url;
            if (url.ends_with(".js")) {
                ++scripts;
                EXPECT_EQ(asset[bhttp::field::content_type], "text/javascript; charset=utf-8");
            }
            // Plain unless asked; gzip (the build's pre-compressed copy) when the browser accepts it.
            EXPECT_EQ(asset[bhttp::field::content_encoding], "") << url;
            EXPECT_EQ(asset[bhttp::field::vary], "Accept-Encoding") << url;
            auto packed = http_call(server_->port(), bhttp::verb::get, url, "", {{"Accept-Encoding", "br, GZIP;q=0.8"}});
            EXPECT_EQ(packed[bhttp::field::content_encoding], "gzip") << url;
            EXPECT_EQ(packed.body().substr(0, 2), "\x1f\x8b") << url;
            EXPECT_LT(packed.body().size(), asset.body().size()) << url;
            auto refused = http_call(server_->port(), bhttp::verb::get, url, "", {{"Accept-Encoding", "gzip;q=0, br"}});
            EXPECT_EQ(refused[bhttp::field::content_encoding], "") << url;
            EXPECT_EQ(refused.body(), asset.body()) << url;
            expect_problem(get(url + ".gz"), 404, "not_found", "the compressed copy is not a file of its own");
        }
        EXPECT_EQ(scripts, 1) << html;
    }
    auto redirect = get("/admin");
    EXPECT_EQ(redirect.result_int(), 301U);
    EXPECT_EQ(redirect[bhttp::field::location], "/admin/");
    expect_problem(get("/assets/nothing-here.js"), 404, "not_found", "an unknown asset");
    expect_problem(get("/assets/..%2Fstore.html"), 404, "not_found", "no path outside the assets");
    // The pages are not part of the API's document.
    const auto document = get("/openapi.json").body();
    EXPECT_EQ(document.find("\"/admin/\""), std::string::npos);
    EXPECT_EQ(document.find("\"/assets/{file}\""), std::string::npos);
}

TEST_F(ConsoleE2E, WithoutABuildThePagesSayHowToMakeOne) {
    const auto empty = std::filesystem::temp_directory_path() / ("emporium-web-" + std::to_string(::getpid()));
    std::filesystem::create_directories(empty);
    start({{"WEB_DIR", empty.string()}});
    auto r = get("/");
    expect_problem(r, 404, "not_found", "no build");
    EXPECT_NE(r.body().find("web/build.mjs"), std::string::npos) << r.body();
    expect_problem(get("/admin/"), 404, "not_found", "no build");
    EXPECT_EQ(get("/healthz").result_int(), 200U) << "the API still answers";
    std::filesystem::remove_all(empty);
}

TEST_F(ConsoleE2E, AdminListsEveryCustomersOrdersByStateAndEmail) {
    start();
    const auto product = create_product(server_->port(), admin_,
                                        {{"sku", "lamp"}, {"name", "Lamp"}, {"price_cents", 2500}, {"stock", 50}});
    const auto [ann_id, ann] = customer("ann.Smith@example.com");
    const auto [bob_id, bob] = customer("bob@example.org");
    const auto a1 = place_order(ann, product, 1, "a1");
    const auto a2 = place_order(ann, product, 2, "a2");
    const auto b1 = place_order(bob, product, 1, "b1");
    ASSERT_EQ(post("/api/v1/orders/" + std::to_string(a2) + "/cancel", ann).result_int(), 200U);

    auto all = get("/api/v1/admin/orders", admin_);
    ASSERT_EQ(all.result_int(), 200U) << all.body();
    EXPECT_EQ(ids(all), (std::vector<std::int64_t>{b1, a2, a1})) << "every customer's, newest first";

    EXPECT_EQ(ids(get("/api/v1/admin/orders?status=cancelled", admin_)), (std::vector<std::int64_t>{a2}));
    EXPECT_EQ(ids(get("/api/v1/admin/orders?status=pending_payment", admin_)), (std::vector<std::int64_t>{b1, a1}));
    EXPECT_EQ(ids(get("/api/v1/admin/orders?email=SMITH", admin_)), (std::vector<std::int64_t>{a2, a1}))
        << "a part of the e-mail, any case";
    EXPECT_EQ(ids(get("/api/v1/admin/orders?email=smith&status=pending_payment", admin_)),
              (std::vector<std::int64_t>{a1}));
    EXPECT_TRUE(ids(get("/api/v1/admin/orders?email=%25", admin_)).empty()) << "% is a character, not a wildcard";
    EXPECT_EQ(ids(get("/api/v1/admin/orders?email=", admin_)).size(), 3U) << "an empty filter is no filter";

    auto first = get("/api/v1/admin/orders?limit=2", admin_);
    EXPECT_EQ(ids(first), (std::vector<std::int64_t>{b1, a2}));
    const auto cursor = json_object(first).at("next_cursor").as_string();
    auto second = get("/api/v1/admin/orders?limit=2&cursor=" + std::string(cursor), admin_);
    EXPECT_EQ(ids(second), (std::vector<std::int64_t>{a1}));
    EXPECT_TRUE(json_object(second).at("next_cursor").is_null());

    expect_problem(get("/api/v1/admin/orders?status=shipped", admin_), 422, "validation_failed", "unknown state");
    expect_problem(get("/api/v1/admin/orders?cursor=x1", admin_), 400, "bad_request", "malformed cursor");
    expect_problem(get("/api/v1/admin/orders?limit=0", admin_), 422, "validation_failed", "limit");
    expect_problem(get("/api/v1/admin/orders?email=" + std::string(300, 'a'), admin_), 422, "validation_failed",
                   "e-mail too long");
    expect_problem(get("/api/v1/admin/orders", ann), 403, "forbidden", "a customer");
    expect_problem(get("/api/v1/admin/orders"), 401, "unauthorized", "anonymous");
    // A customer's own listing still shows only theirs.
    EXPECT_EQ(ids(get("/api/v1/orders", bob)), (std::vector<std::int64_t>{b1}));
    static_cast<void>(ann_id);
    static_cast<void>(bob_id);
}

TEST_F(ConsoleE2E, AVariantsLedgerShowsEveryMovementAndTheAuditFindsAPlantedMismatch) {
    start();
    const auto product = create_product(server_->port(), admin_,
                                        {{"sku", "kettle"}, {"name", "Kettle"}, {"price_cents", 3000}, {"stock", 10}});
    const auto variant = sql("SELECT id FROM product_variants WHERE product_id = $1", {product});
    const auto token = customer("led@example.com").second;
    const auto order = place_order(token, product, 3, "led-1");
    ASSERT_EQ(post("/api/v1/orders/" + std::to_string(order) + "/cancel", token).result_int(), 200U);

    const auto path = "/api/v1/admin/variants/" + std::to_string(variant) + "/ledger";
    auto books = get(path, admin_);
    ASSERT_EQ(books.result_int(), 200U) << books.body();
    auto o = json_object(books);
    EXPECT_EQ(o.at("variant_id").as_int64(), variant);
    EXPECT_EQ(o.at("product_id").as_int64(), product);
    EXPECT_EQ(o.at("stock").as_int64(), 10);
    EXPECT_EQ(o.at("ledger_sum").as_int64(), 10);
    std::vector<std::string> rows;
    for (const auto& row : o.at("items").as_array()) {
        rows.push_back(std::string(row.at("reason").as_string()) + " " + std::to_string(row.at("delta").as_int64()) +
                       (row.at("order_id").is_null() ? "" : " #" + std::to_string(row.at("order_id").as_int64())));
    }
    const auto ref = " #" + std::to_string(order);
    EXPECT_EQ(rows, (std::vector<std::string>{"order_cancelled 3" + ref, "order_reserved -3" + ref, "initial 10"}))
        << "newest first";

    auto page = get(path + "?limit=2", admin_);
    EXPECT_EQ(json_object(page).at("items").as_array().size(), 2U);
    const auto cursor = std::string(json_object(page).at("next_cursor").as_string());
    auto rest = json_object(get(path + "?limit=2&cursor=" + cursor, admin_));
    ASSERT_EQ(rest.at("items").as_array().size(), 1U);
    EXPECT_EQ(rest.at("items").as_array()[0].at("reason").as_string(), "initial");

    expect_problem(get("/api/v1/admin/variants/999999/ledger", admin_), 404, "not_found", "no such variant");
    expect_problem(get("/api/v1/admin/variants/0/ledger", admin_), 422, "validation_failed", "id 0");
    expect_problem(get(path + "?cursor=-4", admin_), 400, "bad_request", "malformed cursor");
    expect_problem(get(path, token), 403, "forbidden", "a customer");

    auto audit = get("/api/v1/admin/inventory/audit", admin_);
    ASSERT_EQ(audit.result_int(), 200U) << audit.body();
    EXPECT_TRUE(json_object(audit).at("clean").as_bool()) << audit.body();
    EXPECT_TRUE(json_object(audit).at("mismatches").as_array().empty());

    // A unit that appears without a ledger row (a hand-made UPDATE): the audit names the variant.
    sql("UPDATE product_variants SET stock = stock + 1 WHERE id = $1 RETURNING 1", {variant});
    auto found = json_object(get("/api/v1/admin/inventory/audit", admin_));
    EXPECT_FALSE(found.at("clean").as_bool());
    bool named = false;
    for (const auto& m : found.at("mismatches").as_array()) {
        if (m.at("kind") == "variant_ledger" && m.at("id").as_int64() == variant) {
            named = true;
            EXPECT_EQ(m.at("stock").as_int64(), 11);
            EXPECT_EQ(m.at("expected").as_int64(), 10);
        }
    }
    EXPECT_TRUE(named) << json::serialize(found);
    expect_problem(get("/api/v1/admin/inventory/audit", token), 403, "forbidden", "a customer");
}

TEST_F(ConsoleE2E, ARebuildStartedFromTheApiRunsInTheWorkerAndShowsItsReport) {
    start();
    auto worker = start_emporium("worker", env({{"RATE_LIMIT_ENABLED", "false"}}));
    auto before = get("/api/v1/admin/recommendations", admin_);
    ASSERT_EQ(before.result_int(), 200U) << before.body();
    EXPECT_TRUE(json_object(before).at("last_run").is_null()) << before.body();
    EXPECT_EQ(json_object(before).at("scoring"), "count");

    const auto token = customer("rec@example.com").second;
    expect_problem(post("/api/v1/admin/recommendations/rebuild", token), 403, "forbidden", "a customer");
    auto started = post("/api/v1/admin/recommendations/rebuild", admin_);
    ASSERT_EQ(started.result_int(), 202U) << started.body();
    EXPECT_EQ(std::string(json_object(started).at("job_id").as_string()).rfind("manual:recommend.rebuild:", 0), 0U);

    json::object state;
    ASSERT_TRUE(eventually(
        [&] {
            state = json_object(get("/api/v1/admin/recommendations", admin_));
            return !state.at("last_run").is_null();
        },
        30s))
        << json::serialize(state);
    EXPECT_FALSE(state.at("running").as_bool());
    const auto& last = state.at("last_run").as_object();
    EXPECT_EQ(last.at("baskets").as_int64(), 0) << "no order was paid";
    EXPECT_GE(last.at("seconds").as_double(), 0.0);
    expect_problem(get("/api/v1/admin/recommendations", token), 403, "forbidden", "a customer");
}

}  // namespace
}  // namespace emporium::test
