// End-to-end: the catalog through the real `emporium serve` binary (fresh migrated database, the
// test Redis under a unique key prefix). Admin tokens are minted with the server's JWT secret;
// the reviewing customer registers and logs in through the API.
#include "db/pg.hpp"
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>
#include <memory>
#include <set>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using Headers = HttpHeaders;
using namespace std::chrono_literals;

// Base64url without padding, both ways (cursors are base64url JSON).
std::string encoded(const std::string& raw) {
    std::string out(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
    sodium_bin2base64(out.data(),
                      out.size(),
                      reinterpret_cast<const unsigned char*>(raw.data()),  // NOLINT(*-reinterpret-cast)
                      raw.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    out.resize(std::strlen(out.c_str()));
    return out;
}

std::string decoded(const std::string& text) {
    std::string out(text.size(), '\0');
    std::size_t n = 0;
    EXPECT_EQ(sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),  // NOLINT(*-reinterpret-cast)
                                out.size(),
                                text.data(),
                                text.size(),
                                nullptr,
                                &n,
                                nullptr,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING),
              0);
    out.resize(n);
    return out;
}

class CatalogE2E : public ::testing::Test, protected E2EFixture {
protected:
    CatalogE2E() : E2EFixture("catalog") {}

    void SetUp() override {
        server_ = std::make_unique<ServerProcess>(env({{"RATE_LIMIT_AUTH", "1000/s burst 1000"},
                                                       {"RATE_LIMIT_READ", "1000/s burst 1000"},
                                                       {"RATE_LIMIT_WRITE", "1000/s burst 1000"}}));
    }
    Res get(const std::string& target, const Headers& headers = {}) {
        return http_call(server_->port(), bhttp::verb::get, target, "", headers);
    }
    Res send(bhttp::verb method,
             const std::string& target,
             const json::value& body,
             const Headers& headers = {}) {
        return http_call(server_->port(), method, target, json::serialize(body), headers);
    }
    Res admin(bhttp::verb method, const std::string& target, const json::value& body, Headers headers = {}) {
        headers.emplace_back("Authorization", admin_);
        return send(method, target, body, headers);
    }
    std::string customer_token(const std::string& email) {
        return register_and_sign_in(server_->port(), email, "C");
    }
    static void expect_problem(const Res& r, unsigned status, const std::string& code) {
        test::expect_problem(r, status, code);
    }

    std::unique_ptr<ServerProcess> server_;
};

TEST_F(CatalogE2E, AdminWritesPublicReadsAndReviews) {
    // Anonymous and customer writes are refused.
    json::object cat{{"slug", "electronics"}, {"name", "Electronics"}};
    expect_problem(send(bhttp::verb::post, "/api/v1/categories", cat), 401, "unauthorized");
    const auto customer = customer_token("buyer@example.com");
    expect_problem(
        send(bhttp::verb::post, "/api/v1/categories", cat, {{"Authorization", customer}}), 403, "forbidden");

    auto c = admin(bhttp::verb::post, "/api/v1/categories", cat);
    ASSERT_EQ(c.result_int(), 201U) << c.body();
    const auto electronics = json_body(c).at("id").as_int64();
    auto sub = admin(bhttp::verb::post,
                     "/api/v1/categories",
                     json::object{{"slug", "phones"}, {"name", "Phones"}, {"parent_id", electronics}});
    ASSERT_EQ(sub.result_int(), 201U) << sub.body();
    expect_problem(admin(bhttp::verb::post, "/api/v1/categories", cat), 409, "conflict");
    expect_problem(
        admin(bhttp::verb::post, "/api/v1/categories", json::object{{"slug", "Bad Slug"}, {"name", "x"}}),
        422,
        "validation_failed");
    auto tree = json_body(get("/api/v1/categories"));
    ASSERT_EQ(tree.at("items").as_array().size(), 1U);
    EXPECT_EQ(tree.at("items").at(0).at("children").at(0).at("slug").as_string(), "phones");
    EXPECT_EQ(get("/api/v1/categories/phones").result_int(), 200U);

    json::object phone{{"sku", "IPH-15"},
                       {"name", "Apple iPhone 15 Pro"},
                       {"description", "A phone with a very good camera"},
                       {"category_id", json_body(sub).at("id").as_int64()},
                       {"price_cents", 99900},
                       {"currency", "USD"},
                       {"stock", 5}};
    expect_problem(
        send(bhttp::verb::post, "/api/v1/products", phone, {{"Authorization", customer}}), 403, "forbidden");
    auto created = admin(bhttp::verb::post, "/api/v1/products", phone);
    ASSERT_EQ(created.result_int(), 201U) << created.body();
    const auto id = json_body(created).at("id").as_int64();
    const auto path = "/api/v1/products/" + std::to_string(id);
    EXPECT_EQ(created[bhttp::field::location], path);
    EXPECT_EQ(created[bhttp::field::etag], "W/\"1.5\"") << "the version, then the stock total";
    expect_problem(admin(bhttp::verb::post, "/api/v1/products", phone), 409, "conflict");
    auto bad =
        admin(bhttp::verb::post,
              "/api/v1/products",
              json::object{{"sku", "bad sku"}, {"name", ""}, {"price_cents", -1}, {"currency", "usd"}});
    expect_problem(bad, 422, "validation_failed");
    EXPECT_GE(json_body(bad).at("errors").as_array().size(), 2U);
    expect_problem(
        admin(bhttp::verb::post,
              "/api/v1/products",
              json::object{{"sku", "X1"}, {"name", "X"}, {"price_cents", 1}, {"category_id", 99999}}),
        422,
        "validation_failed");

    auto shown = get(path);
    ASSERT_EQ(shown.result_int(), 200U);
    auto p = json_body(shown);
    EXPECT_EQ(p.at("price").at("amount_cents").as_int64(), 99900);
    EXPECT_EQ(p.at("category").at("slug").as_string(), "phones");
    EXPECT_TRUE(p.at("in_stock").as_bool());
    EXPECT_EQ(get(path, {{"If-None-Match", "W/\"1.5\""}}).result_int(), 304U);
    EXPECT_EQ(get(path, {{"If-None-Match", "W/\"1\""}}).result_int(), 200U) << "a tag without the stock total";
    expect_problem(get("/api/v1/products/999999"), 404, "not_found");

    // Optimistic concurrency.
    auto patched = admin(bhttp::verb::patch,
                         path,
                         json::object{{"price_cents", 89900}, {"stock", 9}},
                         {{"If-Match", "W/\"1\""}});
    ASSERT_EQ(patched.result_int(), 200U) << patched.body();
    EXPECT_EQ(patched[bhttp::field::etag], "W/\"2.9\"");
    expect_problem(
        admin(bhttp::verb::patch, path, json::object{{"name", "Stale"}}, {{"If-Match", "W/\"1\""}}),
        412,
        "precondition_failed");
    expect_problem(
        admin(bhttp::verb::patch, path, json::object{{"name", "No version"}}), 422, "validation_failed");
    auto by_body =
        admin(bhttp::verb::patch, path, json::object{{"name", "Apple iPhone 15 Pro Max"}, {"version", 2}});
    ASSERT_EQ(by_body.result_int(), 200U) << by_body.body();
    EXPECT_EQ(json_body(get(path)).at("name").as_string(), "Apple iPhone 15 Pro Max");  // cache invalidated

    // Reviews.
    auto review = send(bhttp::verb::post,
                       path + "/reviews",
                       json::object{{"rating", 4}, {"title", "Nice"}, {"body", "Good camera"}},
                       {{"Authorization", customer}});
    ASSERT_EQ(review.result_int(), 201U) << review.body();
    EXPECT_FALSE(json_body(review).at("verified_purchase").as_bool());
    expect_problem(
        send(
            bhttp::verb::post, path + "/reviews", json::object{{"rating", 5}}, {{"Authorization", customer}}),
        409,
        "conflict");
    expect_problem(
        send(bhttp::verb::post, path + "/reviews", json::object{{"rating", 5}}), 401, "unauthorized");
    expect_problem(send(bhttp::verb::post,
                        path + "/reviews",
                        json::object{{"rating", 9}},
                        {{"Authorization", customer_token("other@example.com")}}),
                   422,
                   "validation_failed");
    auto reviews = json_body(get(path + "/reviews?limit=10"));
    ASSERT_EQ(reviews.at("items").as_array().size(), 1U);
    EXPECT_EQ(json_body(get(path)).at("rating").at("average").to_number<double>(), 4.0);
    for (const char* t : {"9000000000000000000", "-9000000000000000000"}) {
        const auto forged = encoded(std::string(R"({"t":)") + t + R"(,"i":1})");
        expect_problem(get(path + "/reviews?limit=10&cursor=" + forged), 400, "bad_request");
    }

    // Delete.
    expect_problem(http_call(server_->port(), bhttp::verb::delete_, path, "", {{"Authorization", customer}}),
                   403,
                   "forbidden");
    auto gone = http_call(server_->port(), bhttp::verb::delete_, path, "", {{"Authorization", admin_}});
    EXPECT_EQ(gone.result_int(), 204U) << gone.body();
    expect_problem(get(path), 404, "not_found");
}

TEST_F(CatalogE2E, ListingSearchFiltersSortsAndPages) {
    auto cat =
        admin(bhttp::verb::post, "/api/v1/categories", json::object{{"slug", "home"}, {"name", "Home"}});
    ASSERT_EQ(cat.result_int(), 201U);
    const auto home = json_body(cat).at("id").as_int64();
    for (int i = 0; i < 12; ++i) {
        json::object p{{"sku", "LAMP-" + std::to_string(i)},
                       {"name", "Desk Lamp " + std::to_string(i)},
                       {"price_cents", 1000 + i * 100},
                       {"stock", i % 2},
                       {"category_id", home}};
        ASSERT_EQ(admin(bhttp::verb::post, "/api/v1/products", p).result_int(), 201U);
    }
    ASSERT_EQ(
        admin(bhttp::verb::post,
              "/api/v1/products",
              json::object{{"sku", "IPH"}, {"name", "Apple iPhone 15"}, {"price_cents", 99900}, {"stock", 1}})
            .result_int(),
        201U);

    auto search = json_body(get("/api/v1/products?q=iphnoe"));
    ASSERT_EQ(search.at("items").as_array().size(), 1U);
    EXPECT_EQ(search.at("items").at(0).at("sku").as_string(), "IPH");

    auto filtered = json_body(
        get("/api/v1/products?category=home&min_price=1200&max_price=1500&in_stock=true&sort=price_asc"));
    std::vector<std::int64_t> prices;
    for (const auto& item : filtered.at("items").as_array())
        prices.push_back(item.at("price").at("amount_cents").as_int64());
    EXPECT_EQ(prices, (std::vector<std::int64_t>{1300, 1500}));

    std::set<std::string> seen;
    std::string target = "/api/v1/products?category=home&sort=price_desc&limit=5";
    std::string cursor;
    for (int guard = 0; guard < 10; ++guard) {
        auto page = get(target + (cursor.empty() ? "" : "&cursor=" + cursor));
        ASSERT_EQ(page.result_int(), 200U) << page.body();
        auto b = json_body(page);
        for (const auto& item : b.at("items").as_array())
            seen.insert(std::string(item.at("sku").as_string()));
        if (b.at("next_cursor").is_null()) break;
        cursor = std::string(b.at("next_cursor").as_string());
    }
    EXPECT_EQ(seen.size(), 12U);

    auto explained = json_body(get("/api/v1/products?explain=true&limit=1"));
    EXPECT_TRUE(explained.at("items").at(0).as_object().contains("score"));
    auto first = json_body(get("/api/v1/products?sort=newest&limit=2"));
    const std::string newest_cursor(first.at("next_cursor").as_string());

    expect_problem(get("/api/v1/products?sort=price_asc&cursor=" + newest_cursor), 400, "bad_request");
    // Forged times beyond the storable range in an otherwise valid cursor: 400, not 500.
    auto forged = json::parse(decoded(newest_cursor)).as_object();
    for (const char* field : {"t", "k"}) {
        for (const char* value : {"9000000000000000000", "-9000000000000000000"}) {
            auto c = forged;
            if (std::string(field) == "t") {
                c["t"] = std::stoll(value);
            } else {
                c["k"] = value;
            }
            expect_problem(get("/api/v1/products?sort=newest&limit=2&cursor=" + encoded(json::serialize(c))),
                           400,
                           "bad_request");
        }
    }
    expect_problem(get("/api/v1/products?cursor=not-a-cursor"), 400, "bad_request");
    expect_problem(get("/api/v1/products?limit=0"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?limit=101"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?min_price=abc"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?sort=cheapest"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?sort=relevance"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?category=nope"), 404, "not_found");

    // Facets for the query and filters: the 12 lamps, all in `home`, 1000..2100 cents.
    auto faceted = json_body(get("/api/v1/products?q=lamp&limit=2&facets=category,price"));
    EXPECT_EQ(faceted.at("items").as_array().size(), 2U);
    const auto& facets = faceted.at("facets").as_object();
    EXPECT_EQ(facets.at("total").as_int64(), 12);
    EXPECT_FALSE(facets.at("approximate").as_bool());
    ASSERT_EQ(facets.at("category").as_array().size(), 1U);
    EXPECT_EQ(facets.at("category").at(0).at("slug").as_string(), "home");
    EXPECT_EQ(facets.at("category").at(0).at("count").as_int64(), 12);
    std::int64_t banded = 0;
    for (const auto& b : facets.at("price").as_array()) banded += b.at("count").as_int64();
    EXPECT_EQ(banded, 12) << "every match falls in one price band";
    auto in_stock = json_body(get("/api/v1/products?q=lamp&in_stock=true&facets=category"));
    EXPECT_EQ(in_stock.at("facets").at("total").as_int64(), 6);
    EXPECT_FALSE(in_stock.at("facets").as_object().contains("price")) << "only the facets asked for";
    EXPECT_FALSE(json_body(get("/api/v1/products?q=lamp")).as_object().contains("facets"));
    expect_problem(get("/api/v1/products?facets=colour"), 422, "validation_failed");
    expect_problem(get("/api/v1/products?facets=category,,price"), 422, "validation_failed");

    auto metrics = get("/metrics");
    EXPECT_NE(metrics.body().find("emporium_cache_requests_total{cache=\"list\",result=\"miss\"}"),
              std::string::npos);

    auto doc = json_body(get("/openapi.json"));
    EXPECT_TRUE(doc.at("paths").as_object().contains("/api/v1/products"));
    EXPECT_TRUE(doc.at("paths").as_object().contains("/api/v1/products/{id}/reviews"));
}

// A sale committed by another process (here: SQL on the test's own connection, as the worker
// would) reaches the server's rank index through PostgreSQL's notification, and a cursor made
// before it still pages the ranking of its first page.
TEST_F(CatalogE2E, ChangesFromOtherProcessesReachTheRankingAndCursorsStayPut) {
    for (int i = 0; i < 6; ++i) {
        json::object p{{"sku", "FEED-" + std::to_string(i)}, {"name", "Feed Item " + std::to_string(i)}, {"price_cents", 500}, {"stock", 3}};
        ASSERT_EQ(admin(bhttp::verb::post, "/api/v1/products", p).result_int(), 201U);
    }
    auto all_six = json_body(get("/api/v1/products?sort=rank&limit=6")).at("items").as_array();
    ASSERT_EQ(all_six.size(), 6U);
    const auto last = all_six.at(5).at("id").as_int64();  // on page 2 of the listing below
    auto first = json_body(get("/api/v1/products?sort=rank&limit=3"));
    const std::string cursor(first.at("next_cursor").as_string());
    std::set<std::int64_t> page1;
    for (const auto& item : first.at("items").as_array()) page1.insert(item.at("id").as_int64());
    // The last-ranked product becomes the best seller, committed outside the server.
    sql_query(db_.url, "UPDATE products SET purchase_count = 1000 WHERE id = $1", db::params(last));
    const auto best = last;
    // Each poll asks for a page not asked for before: a page computed before the notification
    // arrived is cached in Redis for its TTL (listing pages may be that stale; only the rank index
    // is under test here).
    int limit = 0;
    std::int64_t top = 0;
    eventually(
        [&] {
            ++limit;
            top = json_body(get("/api/v1/products?sort=rank&limit=" + std::to_string(limit)))
                      .at("items")
                      .at(0)
                      .at("id")
                      .as_int64();
            return top == best || limit == 100;  // 100: the largest page
        },
        20s,
        20ms);
    EXPECT_EQ(top, best);
    // Page 2 of the listing begun before the sale: the other three, not the best seller again.
    auto second = json_body(get("/api/v1/products?sort=rank&limit=3&cursor=" + cursor));
    std::set<std::int64_t> all = page1;
    for (const auto& item : second.at("items").as_array()) {
        EXPECT_TRUE(all.insert(item.at("id").as_int64()).second) << "repeated " << item.at("id").as_int64();
    }
    EXPECT_EQ(all.size(), 6U);
}

}  // namespace
}  // namespace emporium::test
