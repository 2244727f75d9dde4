// End-to-end: every operation of /openapi.json is made to answer the error statuses it documents
// and that no single feature test provokes for every route: 413 and 415 on each body, 400 for
// malformed JSON, 422 for a bad path parameter or an unknown member, 404 for a missing resource,
// 401 without a token, 429 past the rate limit and 503 with the database gone. The operations are
// read from the served document, so a new route is swept without being listed here; the contract
// test (tests/contract/) then checks each of these answers against the document.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;

constexpr std::string_view kMissingId = "999999999";
// Dead jobs are named by their stream entry id.
constexpr std::string_view kMissingJobId = "1700000000000-0";

struct Op {
    bhttp::verb method = bhttp::verb::get;
    std::string path;
    std::set<unsigned> statuses;
    bool has_body = false;
    bool is_public = false;
    std::vector<std::string> path_params;
    bool needs_idempotency_key = false;

    bool documents(unsigned status) const { return statuses.contains(status); }
    std::string name() const { return std::string(bhttp::to_string(method)) + " " + path; }
};

// The operations of the served document.
std::vector<Op> operations(unsigned short port) {
    const auto doc = json_object(http_call(port, bhttp::verb::get, "/openapi.json"));
    std::vector<Op> ops;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, value] : item.as_object()) {
            if (method == "parameters") continue;
            const auto& o = value.as_object();
            Op op;
            std::string verb(method);
            std::transform(verb.begin(), verb.end(), verb.begin(), [](unsigned char c) { return std::toupper(c); });
            op.method = bhttp::string_to_verb(verb);
            op.path = std::string(path);
            for (const auto& [status, response] : o.at("responses").as_object()) {
                op.statuses.insert(static_cast<unsigned>(std::stoul(std::string(status))));
            }
            op.has_body = o.contains("requestBody");
            const auto* security = o.if_contains("security");
            op.is_public = security != nullptr && security->as_array().empty();
            if (const auto* params = o.if_contains("parameters")) {
                for (const auto& p : params->as_array()) {
                    const auto& po = p.as_object();
                    if (po.at("in") == "path") op.path_params.emplace_back(po.at("name").as_string());
                    if (po.at("in") == "header" && po.at("name") == "Idempotency-Key" &&
                        po.at("required").as_bool())
                        op.needs_idempotency_key = true;
                }
            }
            ops.push_back(std::move(op));
        }
    }
    return ops;
}

// The path with every parameter set to `value`.
std::string target(const Op& op, std::string_view value) {
    std::string out = op.path;
    for (const auto& name : op.path_params) {
        const auto placeholder = "{" + name + "}";
        if (auto at = out.find(placeholder); at != std::string::npos) out.replace(at, placeholder.size(), value);
    }
    return out;
}

// A body each operation accepts as far as its members go, so what it answers depends on the
// resource named in the path (404) or on the server's state (429, 503).
std::string valid_body(const Op& op) {
    static const std::map<std::string, std::string> kBodies = {
        {"/api/v1/auth/register", R"({"email":"sweep@example.com","password":"correct horse battery","name":"S"})"},
        {"/api/v1/auth/login", R"({"email":"sweep@example.com","password":"correct horse battery"})"},
        {"/api/v1/auth/refresh", R"({"refresh_token":"not-a-token"})"},
        {"/api/v1/auth/logout", R"({"refresh_token":"not-a-token"})"},
        {"/api/v1/categories", R"({"slug":"sweep","name":"Sweep"})"},
        {"/api/v1/products", R"({"sku":"SWEEP-1","name":"Sweep","price_cents":100})"},
        {"/api/v1/products/{id}", R"({"name":"Sweep","version":1})"},
        {"/api/v1/products/{id}/reviews", R"({"rating":5})"},
        {"/api/v1/products/{id}/variants", R"({"sku":"SWEEP-V","options":{"Size":"M"}})"},
        {"/api/v1/variants/{id}", R"({"stock":1,"version":1})"},
        {"/api/v1/orders",
         R"({"items":[{"product_id":)" + std::string(kMissingId) + R"(,"quantity":1}],"shipping_address":{"city":"Oslo"}})"},
        {"/api/v1/orders/{id}/pay", R"({"payment_method":"tok_ok"})"},
        {"/api/v1/orders/{id}/refunds", R"({"amount_cents":1})"},
        {"/api/v1/orders/{id}/returns", R"({"lines":[{"variant_id":1,"quantity":1}]})"},
        {"/api/v1/carts/{id}/lines", R"({"variant_id":)" + std::string(kMissingId) + R"(,"quantity":1})"},
        {"/api/v1/carts/{id}/lines/{variant_id}", R"({"quantity":1})"},
        {"/api/v1/carts/{id}/checkout", R"({"shipping_address":{"city":"Oslo"}})"},
        {"/api/v1/carts/{id}/codes", R"({"code":"SWEEP"})"},
        {"/api/v1/carts/{id}/shipping", R"({"country":"NO"})"},
        {"/api/v1/admin/shipping-options", R"({"country":"NO","name":"Sweep"})"},
        {"/api/v1/admin/tax-rates/{country}", R"({"standard_bp":2500})"},
        {"/webhooks/payments", R"({})"},
        {"/api/v1/admin/promotions", R"({"name":"Sweep","kind":"free_shipping"})"},
        {"/api/v1/admin/promotions/{id}", R"({"name":"Sweep","version":1})"},
        {"/api/v1/admin/webhook-endpoints", R"({"url":"http://127.0.0.1:9/hook","events":["order.*"]})"},
        {"/api/v1/admin/webhook-endpoints/{id}", R"({"description":"Sweep"})"},
    };
    if (!op.has_body) return "";
    auto it = kBodies.find(op.path);
    return it == kBodies.end() ? "{}" : it->second;
}

class ContractSweepE2E : public ::testing::Test, protected E2EFixture {
protected:
    ContractSweepE2E() : E2EFixture("sweep") {}

    void start(const Env& extra = {}) {
        Env settings = {
            {"HTTP_BODY_LIMIT", "4096"},
            {"WEBHOOK_SECRET", "whsec_sweep"},
            {"RATE_LIMIT_AUTH", "1000/s burst 1000"},
            {"RATE_LIMIT_LOGIN_ACCOUNT", "1000/s burst 1000"},
            {"RATE_LIMIT_WRITE", "1000/s burst 1000"},
            {"RATE_LIMIT_READ", "1000/s burst 1000"},
        };
        for (const auto& [k, v] : extra) settings[k] = v;
        // An administrator with a row of its own (E2EFixture's admin token names no user, and the
        // routes that key an Idempotency-Key to the caller need one).
        const auto id = customer("sweep-admin@example.com", "Admin").first;
        sql("UPDATE users SET role = 'admin' WHERE id = $1 RETURNING id", {id});
        admin_ = tokens_.bearer(id, auth::Role::kAdmin);
        server_ = std::make_unique<ServerProcess>(env(settings));
        ops_ = operations(server_->port());
        ASSERT_GE(ops_.size(), 30U);
    }

    // `op` with the admin's token (none for public operations, or when `token` is false), the
    // Idempotency-Key it requires, and `body` as `content_type`.
    Res call(const Op& op,
             const std::string& path,
             const std::string& body,
             bool token = true,
             const std::string& content_type = "application/json") {
        HttpHeaders headers;
        if (op.needs_idempotency_key) headers.emplace_back("Idempotency-Key", "sweep-" + std::to_string(++keys_));
        if (!body.empty() && content_type != "application/json") headers.emplace_back("Content-Type", content_type);
        return authorized_call(server_->port(), op.method, path, token && !op.is_public ? admin_ : "", body, headers);
    }

    // Runs `check` for every operation that documents `status`; returns how many there were.
    template <class F>
    int sweep(unsigned status, F check) {
        int n = 0;
        for (const auto& op : ops_) {
            if (!op.documents(status)) continue;
            SCOPED_TRACE(op.name());
            check(op);
            ++n;
        }
        return n;
    }

    std::unique_ptr<ServerProcess> server_;
    std::vector<Op> ops_;
    int keys_ = 0;
};

TEST_F(ContractSweepE2E, EveryBodyRefusesWhatItCannotRead) {
    start();
    const std::string oversized = R"({"name":")" + std::string(8192, 'x') + R"("})";
    const int too_large = sweep(413, [&](const Op& op) {
        expect_problem(call(op, target(op, "1"), oversized), 413, "payload_too_large");
    });
    EXPECT_GE(too_large, 10);
    const int media = sweep(415, [&](const Op& op) {
        expect_problem(call(op, target(op, "1"), valid_body(op), true, "text/plain"), 415);
    });
    EXPECT_GE(media, 9);
    const int malformed = sweep(400, [&](const Op& op) {
        if (!op.has_body) return;
        expect_problem(call(op, target(op, "1"), R"({"name": )"), 400);
    });
    EXPECT_GE(malformed, 9);
    // An unknown member is refused by every body that does not take free-form objects.
    sweep(422, [&](const Op& op) {
        if (!op.has_body || op.path == "/webhooks/payments") return;
        expect_problem(call(op, target(op, "1"), R"({"no_such_member":1})"), 422);
    });
}

TEST_F(ContractSweepE2E, PathParametersAreCheckedAndMissingResourcesAre404) {
    start();
    const int invalid = sweep(422, [&](const Op& op) {
        if (std::find(op.path_params.begin(), op.path_params.end(), "id") == op.path_params.end()) return;
        const auto r = call(op, target(op, "0"), valid_body(op));
        expect_problem(r, 422);
        EXPECT_NE(r.body().find("\"id\""), std::string::npos) << r.body();
    });
    EXPECT_GE(invalid, 15);
    const int missing = sweep(404, [&](const Op& op) {
        if (op.path_params.empty()) return;  // GET /products: an unknown category filter
        const auto id = op.path.starts_with("/api/v1/admin/jobs/") ? kMissingJobId : kMissingId;
        expect_problem(call(op, target(op, id), valid_body(op)), 404);
    });
    EXPECT_GE(missing, 15);
}

TEST_F(ContractSweepE2E, EveryProtectedOperationWantsAToken) {
    start();
    const int n = sweep(401, [&](const Op& op) {
        if (op.is_public) return;  // login and refresh: 401 is their wrong credentials
        const auto r = call(op, target(op, "1"), valid_body(op), false);
        expect_problem(r, 401);
        EXPECT_FALSE(r[bhttp::field::www_authenticate].empty());
    });
    EXPECT_GE(n, 20);
}

TEST_F(ContractSweepE2E, EveryApiOperationIsRateLimited) {
    start({{"RATE_LIMIT_AUTH", "1/60s burst 1"},
           {"RATE_LIMIT_WRITE", "1/60s burst 1"},
           {"RATE_LIMIT_READ", "1/60s burst 1"}});
    const int n = sweep(429, [&](const Op& op) {
        const auto path = target(op, "1");
        const auto body = valid_body(op);
        call(op, path, body);
        const auto r = call(op, path, body);
        expect_problem(r, 429, "rate_limited");
        EXPECT_FALSE(r[bhttp::field::retry_after].empty());
    });
    EXPECT_GE(n, 30);
}

TEST_F(ContractSweepE2E, AnEmptyDeadLetterListIsAnEmptyPage) {
    start();
    const auto r = authorized_call(server_->port(), bhttp::verb::get, "/api/v1/admin/jobs/dead", admin_);
    ASSERT_EQ(r.result_int(), 200U) << r.body();
    EXPECT_TRUE(json_object(r).at("items").as_array().empty()) << r.body();
}

TEST_F(ContractSweepE2E, WithTheDatabaseGoneOperationsAnswer503) {
    start();
    // No new connection is allowed into the database, and the server's are ended.
    const std::string name = db_.url.substr(db_.url.rfind('/') + 1);
    sql_query(test_database_admin_url(), "ALTER DATABASE \"" + name + "\" WITH ALLOW_CONNECTIONS false");
    sql_query(test_database_admin_url(),
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
              {name});
    int unavailable = 0;
    for (const auto& op : ops_) {
        SCOPED_TRACE(op.name());
        const auto r = call(op, target(op, "1"), valid_body(op));
        EXPECT_TRUE(r.result_int() < 500 || r.result_int() == 503) << r.result_int() << " " << r.body();
        if (r.result_int() == 503) {
            EXPECT_TRUE(is_problem(r)) << r.body();
            EXPECT_FALSE(r[bhttp::field::retry_after].empty());
            ++unavailable;
        }
    }
    sql_query(test_database_admin_url(), "ALTER DATABASE \"" + name + "\" WITH ALLOW_CONNECTIONS true");
    // Reads served from memory (the rank index, the document) still answer; the rest cannot.
    EXPECT_GE(unavailable, 20);
}

}  // namespace
}  // namespace emporium::test
