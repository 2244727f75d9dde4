// End-to-end: authentication abuse against the real `emporium serve` binary. Password guessing
// spread over many client addresses, or over many spellings of the address, is throttled per
// account; another customer's order, payment, receipt and review cannot be read or changed (404,
// no existence leak); every admin operation of the OpenAPI document refuses customers (403) and
// anonymous callers (401); and access tokens die with their session: after logout, logout-all and
// refresh-token reuse both the refresh token and the still-unexpired access token get 401.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;

class AbuseE2E : public ::testing::Test, protected E2EFixture {
protected:
    AbuseE2E() : E2EFixture("abuse") {}

    void start(const Env& extra = {}) {
        Env settings = {
            {"RATE_LIMIT_AUTH", "1000/s burst 1000"},
            {"RATE_LIMIT_LOGIN_ACCOUNT", "1000/s burst 1000"},
            {"RATE_LIMIT_WRITE", "1000/s burst 1000"},
            {"RATE_LIMIT_READ", "1000/s burst 1000"},
            {"INVENTORY_STRATEGY", "pessimistic"},
        };
        for (const auto& [k, v] : extra) settings[k] = v;
        server_ = std::make_unique<ServerProcess>(env(settings));
    }
    unsigned short port() const { return server_->port(); }
    Res call(bhttp::verb method,
             const std::string& target,
             const std::string& body = "",
             const std::string& token = "",
             HttpHeaders headers = {}) {
        return authorized_call(port(), method, target, token, body, std::move(headers));
    }
    Res login_attempt(const std::string& email,
                      const std::string& password,
                      const HttpHeaders& headers = {}) {
        return test::login(port(), email, password, headers);
    }
    void register_user(const std::string& email) {
        auto r = test::register_user(port(), email);
        ASSERT_EQ(r.result_int(), 201U) << r.body();
    }
    Session login(const std::string& email) { return sign_in(port(), email); }
    Res refresh(const std::string& token) {
        return call(bhttp::verb::post, "/api/v1/auth/refresh", json::serialize(json::object{{"refresh_token", token}}));
    }
    unsigned me(const std::string& access) { return call(bhttp::verb::get, "/api/v1/auth/me", "", access).result_int(); }
    std::int64_t product(const std::string& sku) {
        return create_product(
            port(), admin_, {{"sku", sku}, {"name", "Item " + sku}, {"price_cents", 1500}, {"stock", 50}});
    }
    static void expect_problem(const Res& r, unsigned status, const std::string& what) {
        test::expect_problem(r, status, "", what);
    }

    std::unique_ptr<ServerProcess> server_;
};

// ---- brute force ----

TEST_F(AbuseE2E, PasswordGuessingFromManyAddressesIsThrottledPerAccount) {
    start({{"TRUSTED_PROXIES", "127.0.0.1"},
           {"RATE_LIMIT_AUTH", "5/60s burst 5"},
           {"RATE_LIMIT_LOGIN_ACCOUNT", "4/60s burst 4"}});
    register_user("victim@example.com");
    register_user("bystander@example.com");

    // Every guess comes from another address: the per-address bucket never fills.
    int rejected = 0;
    int throttled = 0;
    for (int i = 0; i < 12; ++i) {
        auto r = login_attempt("victim@example.com",
                               "guess number " + std::to_string(i),
                               {{"X-Forwarded-For", "198.51.100." + std::to_string(i + 1)}});
        if (r.result_int() == 401) {
            ++rejected;
            continue;
        }
        ASSERT_EQ(r.result_int(), 429U) << r.body();
        ++throttled;
        EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
        auto problem = json_object(r);
        EXPECT_EQ(problem.at("code"), "rate_limited");
        EXPECT_NE(std::string(problem.at("detail").as_string()).find("this account"), std::string::npos) << r.body();
        const auto retry = std::stoi(std::string(r[bhttp::field::retry_after]));
        EXPECT_GE(retry, 1);
        EXPECT_LE(retry, 60);
        EXPECT_EQ(r["RateLimit-Limit"], "4");
        EXPECT_EQ(r["RateLimit-Remaining"], "0");
    }
    EXPECT_EQ(rejected, 4) << "exactly the account's burst is tried against the password";
    EXPECT_EQ(throttled, 8);

    // Even the right password waits now (the guesser cannot tell a hit from a throttle).
    EXPECT_EQ(login_attempt("victim@example.com", kE2EPassword, {{"X-Forwarded-For", "198.51.100.200"}})
                  .result_int(),
              429U);
    // Other accounts are not affected, from the same addresses.
    EXPECT_EQ(login_attempt("bystander@example.com", "wrong guess", {{"X-Forwarded-For", "198.51.100.1"}}).result_int(), 401U);
    EXPECT_EQ(login_attempt("bystander@example.com", kE2EPassword, {{"X-Forwarded-For", "198.51.100.2"}})
                  .result_int(),
              200U);
    // The e-mail is normalised before it names the bucket: case and spaces do not escape it.
    EXPECT_EQ(login_attempt("  VICTIM@Example.COM ", "guess", {{"X-Forwarded-For", "198.51.100.201"}}).result_int(), 429U);
}

// Login trims \f and \v like spaces and the database compares case-insensitively: no spelling of
// the address may open a fresh bucket (the issue: 11 wrong passwords with \f, \f\f, … prefixes
// got 401 each, then the right one 200).
TEST_F(AbuseE2E, NoSpellingOfTheAddressEscapesTheLoginLimits) {
    start({{"TRUSTED_PROXIES", "127.0.0.1"},
           {"RATE_LIMIT_AUTH", "5/60s burst 5"},
           {"RATE_LIMIT_LOGIN_ACCOUNT", "4/60s burst 4"}});
    register_user("victim@example.com");
    register_user("\xC3\xA9mile@example.com");

    // One client, a new run of form feeds each time.
    int rejected = 0;
    int throttled = 0;
    for (int i = 0; i < 11; ++i) {
        const std::string spelling =
            std::string(static_cast<std::size_t>(i + 1), '\f') + "victim@example.com";
        auto r = login_attempt(
            spelling, "guess number " + std::to_string(i), {{"X-Forwarded-For", "198.51.100.7"}});
        if (r.result_int() == 401) {
            ++rejected;
        } else {
            expect_problem(r, 429, "guess " + std::to_string(i));
            ++throttled;
        }
    }
    EXPECT_EQ(rejected, 4) << "the account's burst, not one per spelling";
    EXPECT_EQ(throttled, 7);
    // The right password under yet another spelling, from yet another address, still waits.
    auto right =
        login_attempt("\v\f VICTIM@Example.COM\f", kE2EPassword, {{"X-Forwarded-For", "198.51.100.8"}});
    expect_problem(right, 429, "right password after the limit");

    // Case variants of a non-ASCII address drain its account's bucket too.
    for (int i = 0; i < 4; ++i) {
        auto r = login_attempt(i % 2 == 0 ? "\xC3\x89MILE@example.com" : "\v\xC3\x89mile@EXAMPLE.com",
                               "wrong guess",
                               {{"X-Forwarded-For", "203.0.113." + std::to_string(i + 1)}});
        EXPECT_EQ(r.result_int(), 401U) << r.body();
    }
    auto emile =
        login_attempt("\xC3\xA9mile@example.com", kE2EPassword, {{"X-Forwarded-For", "203.0.113.50"}});
    expect_problem(emile, 429, "right password after case-variant guesses");
    // Another address from the same client is not affected.
    EXPECT_EQ(login_attempt("someone-else@example.com", "wrong guess", {{"X-Forwarded-For", "198.51.100.7"}})
                  .result_int(),
              401U);
}

// ---- IDOR ----

TEST_F(AbuseE2E, AnotherUsersOrderPaymentReceiptAndReviewAreOutOfReach) {
    start();
    register_user("alice@example.com");
    register_user("mallory@example.com");
    const auto alice = login("alice@example.com").access;
    const auto mallory = login("mallory@example.com").access;
    const auto p = product("idor-1");
    const auto order_body = json::serialize(
        json::object{{"items", json::array{json::object{{"product_id", p}, {"quantity", 2}}}},
                     {"shipping_address", json::object{{"line1", "1 Secret St"}, {"city", "Oslo"}}}});

    auto placed = call(bhttp::verb::post, "/api/v1/orders", order_body, alice, {{"Idempotency-Key", "alice-1"}});
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order_id = std::to_string(json_object(placed).at("id").as_int64());
    auto second = call(bhttp::verb::post, "/api/v1/orders", order_body, alice, {{"Idempotency-Key", "alice-2"}});
    ASSERT_EQ(second.result_int(), 201U) << second.body();
    const auto unpaid_id = std::to_string(json_object(second).at("id").as_int64());
    const std::string missing_id = "999999";

    // Mallory sees exactly what she sees for an order that does not exist: 404 "no such order".
    auto same_as_missing = [&](bhttp::verb method, const std::string& suffix, const std::string& body,
                               HttpHeaders headers, const std::string& what) {
        auto theirs = call(method, "/api/v1/orders/" + order_id + suffix, body, mallory, headers);
        if (!headers.empty()) headers.back().second += "-missing";
        auto missing = call(method, "/api/v1/orders/" + missing_id + suffix, body, mallory, headers);
        expect_problem(theirs, 404, what);
        EXPECT_EQ(theirs.result_int(), missing.result_int()) << what;
        if (theirs.result_int() == 404 && missing.result_int() == 404) {
            EXPECT_EQ(json_object(theirs).at("detail"), json_object(missing).at("detail"))
                << what << ": no existence leak";
        }
        EXPECT_EQ(theirs.body().find("Secret"), std::string::npos) << what;
    };
    same_as_missing(bhttp::verb::get, "", "", {}, "read the order");
    same_as_missing(bhttp::verb::post, "/pay", R"({"payment_method":"tok_ok"})", {{"Idempotency-Key", "mallory-pay"}},
                    "pay the order");
    same_as_missing(bhttp::verb::get, "/payment", "", {}, "read the payment before it exists");
    same_as_missing(bhttp::verb::post, "/cancel", "", {}, "cancel the order");
    same_as_missing(bhttp::verb::get, "/receipt", "", {}, "fetch the receipt");
    // Her own list does not show it.
    auto list = call(bhttp::verb::get, "/api/v1/orders", "", mallory);
    ASSERT_EQ(list.result_int(), 200U);
    EXPECT_EQ(json_object(list).at("items").as_array().size(), 0U) << list.body();

    // Alice pays; the payment and the receipt stay hers.
    auto paid = call(bhttp::verb::post, "/api/v1/orders/" + order_id + "/pay", R"({"payment_method":"tok_ok"})", alice,
                     {{"Idempotency-Key", "alice-pay"}});
    ASSERT_LT(paid.result_int(), 300U) << paid.body();
    ASSERT_EQ(call(bhttp::verb::get, "/api/v1/orders/" + order_id + "/payment", "", alice).result_int(), 200U);
    same_as_missing(bhttp::verb::get, "/payment", "", {}, "read the payment");
    same_as_missing(bhttp::verb::post, "/pay", R"({"payment_method":"tok_declined"})", {{"Idempotency-Key", "mallory-pay-2"}},
                    "pay again to change the payment");
    same_as_missing(bhttp::verb::get, "/receipt", "", {}, "fetch the receipt of a paid order");
    // Cancelling the other, unpaid order of Alice's fails the same way.
    auto cancel = call(bhttp::verb::post, "/api/v1/orders/" + unpaid_id + "/cancel", "", mallory);
    expect_problem(cancel, 404, "cancel another unpaid order");
    // A fulfilment is for admins only (403, not a leak of existence either way).
    expect_problem(call(bhttp::verb::post, "/api/v1/orders/" + order_id + "/fulfil", "", mallory), 403, "fulfil");

    // Nothing changed for Alice.
    auto mine = call(bhttp::verb::get, "/api/v1/orders/" + unpaid_id, "", alice);
    ASSERT_EQ(mine.result_int(), 200U);
    EXPECT_EQ(json_object(mine).at("status"), "pending_payment");
    auto payment = call(bhttp::verb::get, "/api/v1/orders/" + order_id + "/payment", "", alice);
    ASSERT_EQ(payment.result_int(), 200U);
    EXPECT_EQ(json_object(payment).at("history").as_array().size(), 1U) << payment.body();

    // Reviews: one per user and product; Mallory's review is hers, Alice's is untouched, and
    // there is no route to edit or delete a review at all.
    const auto reviews = "/api/v1/products/" + std::to_string(p) + "/reviews";
    ASSERT_EQ(call(bhttp::verb::post, reviews, R"({"rating":5,"title":"Great","body":"Alice wrote this"})", alice).result_int(),
              201U);
    ASSERT_EQ(call(bhttp::verb::post, reviews, R"({"rating":1,"title":"Bad","body":"Mallory wrote this"})", mallory).result_int(),
              201U);
    expect_problem(call(bhttp::verb::post, reviews, R"({"rating":1,"title":"Again"})", mallory), 409, "second review");
    for (auto method : {bhttp::verb::put, bhttp::verb::patch, bhttp::verb::delete_}) {
        auto r = call(method, reviews, R"({"rating":1})", mallory);
        expect_problem(r, 405, "no review edits");
        auto one = call(method, reviews + "/1", R"({"rating":1})", mallory);
        expect_problem(one, 404, "no review resource");
    }
    auto listed = call(bhttp::verb::get, reviews);
    ASSERT_EQ(listed.result_int(), 200U);
    EXPECT_NE(listed.body().find("Alice wrote this"), std::string::npos) << listed.body();
    EXPECT_NE(listed.body().find("Mallory wrote this"), std::string::npos) << listed.body();
    EXPECT_EQ(listed.body().find("Again"), std::string::npos) << listed.body();
}

// ---- admin endpoints ----

TEST_F(AbuseE2E, EveryAdminOperationRejectsCustomersAndAnonymousCallers) {
    start();
    register_user("carol@example.com");
    const auto carol = login("carol@example.com").access;

    // The admin operations are the ones the OpenAPI document marks with a 403 "not an admin".
    auto doc = call(bhttp::verb::get, "/openapi.json");
    ASSERT_EQ(doc.result_int(), 200U);
    std::set<std::string> admin_ops;
    const auto document = json_object(doc);
    for (const auto& [path, item] : document.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            if (!op.is_object()) continue;  // e.g. path-level `parameters`
            const auto* responses = op.as_object().if_contains("responses");
            if (responses == nullptr || !responses->is_object()) continue;
            const auto* forbidden = responses->as_object().if_contains("403");
            if (forbidden == nullptr || !forbidden->is_object()) continue;
            const auto* description = forbidden->as_object().if_contains("description");
            if (description != nullptr && *description == "not an admin")
                admin_ops.insert(std::string(method) + " " + std::string(path));
        }
    }
    const std::set<std::string> expected = {
        "get /api/v1/auth/users/{id}",
        "post /api/v1/categories",
        "post /api/v1/products",
        "patch /api/v1/products/{id}",
        "delete /api/v1/products/{id}",
        "post /api/v1/products/{id}/variants",
        "patch /api/v1/variants/{id}",
        "delete /api/v1/variants/{id}",
        "post /api/v1/orders/{id}/fulfil",
        "post /api/v1/orders/{id}/refunds",
        "post /api/v1/admin/returns/{id}/receive",
        "get /api/v1/admin/jobs",
        "get /api/v1/admin/jobs/dead",
        "post /api/v1/admin/jobs/dead/{id}/retry",
        "get /api/v1/admin/payments/flagged",
        "post /api/v1/admin/promotions",
        "get /api/v1/admin/promotions",
        "get /api/v1/admin/promotions/{id}",
        "patch /api/v1/admin/promotions/{id}",
        "delete /api/v1/admin/promotions/{id}",
        "post /api/v1/admin/shipping-options",
        "get /api/v1/admin/shipping-options",
        "delete /api/v1/admin/shipping-options/{id}",
        "put /api/v1/admin/tax-rates/{country}",
        "get /api/v1/admin/tax-rates",
        "delete /api/v1/admin/tax-rates/{country}",
        "post /api/v1/admin/webhook-endpoints",
        "get /api/v1/admin/webhook-endpoints",
        "get /api/v1/admin/webhook-endpoints/{id}",
        "patch /api/v1/admin/webhook-endpoints/{id}",
        "delete /api/v1/admin/webhook-endpoints/{id}",
        "post /api/v1/admin/webhook-endpoints/{id}/secret",
        "get /api/v1/admin/webhook-endpoints/{id}/deliveries",
        "get /api/v1/admin/webhook-deliveries/{id}",
        "post /api/v1/admin/webhook-deliveries/{id}/replay",
        "get /api/v1/admin/orders",
        "get /api/v1/admin/variants/{id}/ledger",
        "get /api/v1/admin/inventory/audit",
        "get /api/v1/admin/recommendations",
        "post /api/v1/admin/recommendations/rebuild",
    };
    EXPECT_EQ(admin_ops, expected) << "every admin route documents its 403, and the list is complete";

    const auto p = product("admin-1");
    for (const auto& op : admin_ops) {
        const auto space = op.find(' ');
        const auto method_name = op.substr(0, space);
        auto target = op.substr(space + 1);
        for (auto at = target.find("{id}"); at != std::string::npos; at = target.find("{id}"))
            target.replace(at, 4, std::to_string(p));
        for (auto at = target.find("{country}"); at != std::string::npos; at = target.find("{country}"))
            target.replace(at, 9, "NO");
        const auto method = bhttp::string_to_verb(
            std::string(method_name == "get"     ? "GET"
                        : method_name == "post"  ? "POST"
                        : method_name == "patch" ? "PATCH"
                        : method_name == "put"   ? "PUT"
                                                 : "DELETE"));
        const std::string body = method == bhttp::verb::get || method == bhttp::verb::delete_ ? "" : R"({"name":"x"})";
        HttpHeaders headers = {{"If-Match", "W/\"1\""}, {"Idempotency-Key", "admin-probe"}};

        SCOPED_TRACE(op);
        auto customer = call(method, target, body, carol, headers);
        expect_problem(customer, 403, op + " as a customer");
        if (customer.result_int() == 403) {
            EXPECT_EQ(json_object(customer).at("code"), "forbidden") << op;
        }
        auto anonymous = call(method, target, body, "", headers);
        expect_problem(anonymous, 401, op + " without a token");
        EXPECT_EQ(anonymous[bhttp::field::www_authenticate], "Bearer realm=\"emporium\"") << op;
        auto forged = call(method, target, body, tokens_.admin() + "x", headers);
        expect_problem(forged, 401, op + " with a tampered admin token");
    }
    // The probes changed nothing.
    auto still = call(bhttp::verb::get, "/api/v1/products/" + std::to_string(p));
    ASSERT_EQ(still.result_int(), 200U);
    EXPECT_EQ(json_object(still).at("name"), "Item admin-1");
}

// ---- revocation of access tokens ----

TEST_F(AbuseE2E, AccessTokensDieWithTheirSessionOnLogout) {
    start();
    register_user("dave@example.com");
    auto a = login("dave@example.com");
    auto b = login("dave@example.com");
    ASSERT_EQ(me(a.access), 200U);
    ASSERT_EQ(me(b.access), 200U);

    ASSERT_EQ(call(bhttp::verb::post, "/api/v1/auth/logout", json::serialize(json::object{{"refresh_token", a.refresh}}))
                  .result_int(),
              204U);
    auto dead = call(bhttp::verb::get, "/api/v1/auth/me", "", a.access);
    expect_problem(dead, 401, "access token of a logged-out session");
    EXPECT_EQ(dead[bhttp::field::www_authenticate], "Bearer realm=\"emporium\", error=\"invalid_token\"");
    EXPECT_EQ(json_object(dead).at("detail"), "the session has been revoked");
    EXPECT_EQ(refresh(a.refresh).result_int(), 401U);
    EXPECT_EQ(me(b.access), 200U) << "the other session lives on";
    // Writes too, not only reads.
    auto order = call(bhttp::verb::post, "/api/v1/orders", R"({"items":[],"shipping_address":{"line1":"x"}})", a.access,
                      {{"Idempotency-Key", "dead-1"}});
    expect_problem(order, 401, "write with a revoked token");
    // On public routes the revoked token is ignored: the request runs anonymously.
    EXPECT_EQ(call(bhttp::verb::get, "/api/v1/products", "", a.access).result_int(), 200U);
}

TEST_F(AbuseE2E, AccessTokensDieWithEverySessionOnLogoutAll) {
    start();
    register_user("erin@example.com");
    register_user("frank@example.com");
    auto a = login("erin@example.com");
    auto b = login("erin@example.com");
    auto rotated = refresh(b.refresh);
    ASSERT_EQ(rotated.result_int(), 200U);
    const Session b2{"Bearer " + std::string(json_object(rotated).at("access_token").as_string()),
                     std::string(json_object(rotated).at("refresh_token").as_string())};
    auto other = login("frank@example.com");

    ASSERT_EQ(call(bhttp::verb::post, "/api/v1/auth/logout-all", "", a.access).result_int(), 204U);
    for (const Session* s : std::vector<const Session*>{&a, &b, &b2}) {
        EXPECT_EQ(me(s->access), 401U);
        EXPECT_EQ(refresh(s->refresh).result_int(), 401U);
    }
    EXPECT_EQ(me(other.access), 200U) << "another user's session is not touched";
    // A new login works and is not affected by the old revocation.
    auto fresh = login("erin@example.com");
    EXPECT_EQ(me(fresh.access), 200U);
}

TEST_F(AbuseE2E, AccessTokensDieWhenRefreshTokenReuseRevokesTheFamily) {
    start({{"REFRESH_REUSE_GRACE_MS", "0"}});
    register_user("gina@example.com");
    auto first = login("gina@example.com");
    auto rotated = refresh(first.refresh);
    ASSERT_EQ(rotated.result_int(), 200U);
    const Session second{"Bearer " + std::string(json_object(rotated).at("access_token").as_string()),
                         std::string(json_object(rotated).at("refresh_token").as_string())};
    auto parallel = login("gina@example.com");
    ASSERT_EQ(me(second.access), 200U);

    // A thief replays the consumed refresh token: the whole family is revoked.
    auto reuse = refresh(first.refresh);
    expect_problem(reuse, 401, "reuse");
    EXPECT_EQ(me(first.access), 401U) << "the access token minted at login";
    EXPECT_EQ(me(second.access), 401U) << "the access token minted by the rotation";
    EXPECT_EQ(refresh(second.refresh).result_int(), 401U);
    EXPECT_EQ(me(parallel.access), 200U) << "another session (another family) of the same user lives on";
}

}  // namespace
}  // namespace emporium::test
