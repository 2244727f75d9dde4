// seed::run against real, freshly migrated databases: counts, the ledger invariant, consistency of
// the denormalised counters, full-text search, determinism and --if-empty.
#include "db/pg.hpp"
#include "seed/seed.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace emporium::seed {
namespace {

namespace asio = boost::asio;
using emporium::test::run_coro;

db::PoolOptions pool_options(std::string url,
                             std::size_t max_size = 4,
                             std::chrono::milliseconds acquire_timeout = std::chrono::seconds(2)) {
    db::PoolOptions options;
    options.connection.url = std::move(url);
    options.connection.query_timeout = std::chrono::seconds(60);
    options.max_size = max_size;
    options.acquire_timeout = acquire_timeout;
    return options;
}

asio::awaitable<SeedReport> seed_database(
    std::string url,
    SeedOptions options,
    std::size_t max_size = 4,
    std::chrono::milliseconds acquire_timeout = std::chrono::seconds(2)) {
    db::Pool pool(co_await asio::this_coro::executor,
                  pool_options(std::move(url), max_size, acquire_timeout));
    SeedReport report = co_await run(pool, options);
    pool.close();
    co_return report;
}

// The first column of the first row of `sql`, as text.
asio::awaitable<std::string> scalar(std::string url, std::string sql) {
    db::Pool pool(co_await asio::this_coro::executor, pool_options(std::move(url)));
    const db::QueryResult result = co_await pool.query_unprepared(std::move(sql));
    std::string value = result.is_null(0, 0) ? std::string("<null>") : std::string(result.text(0, 0));
    pool.close();
    co_return value;
}

std::string query(const std::string& url, std::string sql) {
    return run_coro(scalar(url, std::move(sql)));
}
std::int64_t count(const std::string& url, std::string sql) {
    return std::stoll(query(url, std::move(sql)));
}

SeedOptions small_shop(std::uint64_t seed = 42) {
    SeedOptions o;
    o.products = 300;
    o.users = 40;
    o.orders = 800;
    o.seed = seed;
    return o;
}

constexpr const char* kProductsDigest =
    "SELECT md5(string_agg(sku || name || price_cents, ',' ORDER BY id)) FROM products";

TEST(SeedIntegration, LoadsAConsistentSearchableShop) {
    test::TestDatabase db;
    const SeedReport report = run_coro(seed_database(db.url, small_shop()));
    EXPECT_FALSE(report.skipped);
    EXPECT_EQ(report.categories, 48);
    EXPECT_EQ(report.products, 300);
    EXPECT_EQ(report.users, 40);
    EXPECT_EQ(report.orders, 800);
    EXPECT_GE(report.order_items, 800);
    EXPECT_LE(report.order_items, 5 * 800);
    EXPECT_GT(report.reviews, 0);
    EXPECT_GT(report.seconds, 0.0);

    EXPECT_EQ(count(db.url, "SELECT count(*) FROM categories"), 48);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 300);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM users"), 40);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM orders"), 800);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM order_items"), report.order_items);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM reviews"), report.reviews);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM inventory_movements WHERE reason = 'initial'"), 300);

    // The ledger invariant: stock = Σ movements for every product.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE stock <> "
                    "(SELECT coalesce(sum(delta), 0) FROM inventory_movements m WHERE m.product_id = p.id)"),
              0);
    // Denormalised counters agree with the rows they summarise.
    EXPECT_EQ(
        count(db.url,
              "SELECT count(*) FROM products p WHERE purchase_count <> "
              "(SELECT coalesce(sum(quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
              " WHERE i.product_id = p.id AND o.status IN ('paid', 'fulfilled'))"),
        0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE (rating_sum, rating_count) <> "
                    "(SELECT coalesce(sum(rating), 0), count(*) FROM reviews r WHERE r.product_id = p.id)"),
              0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM orders o WHERE total_cents <> "
                    "(SELECT sum(quantity * unit_price_cents) FROM order_items i WHERE i.order_id = o.id)"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products WHERE category_name = ''"), 0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM orders WHERE status NOT IN ('paid', 'fulfilled') OR "
                    "created_at >= now()"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM orders WHERE shipping_address->>'country' = 'US'"), 800);
    // Multi-line descriptions survive the COPY escaping.
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products WHERE description LIKE E'%\\n\\nFeatures %'"),
              300);
    // Some products are new (ranking by recency has something to show).
    EXPECT_GT(count(db.url, "SELECT count(*) FROM products WHERE created_at > now() - interval '30 days'"),
              0);

    // Full-text search over the generated search_vector.
    EXPECT_GT(count(db.url,
                    "SELECT count(*) FROM products "
                    "WHERE search_vector @@ websearch_to_tsquery('english', 'headphones')"),
              0);
    EXPECT_GT(count(db.url,
                    "SELECT count(*) FROM products "
                    "WHERE search_vector @@ websearch_to_tsquery('english', 'iphone')"),
              0);
    EXPECT_GT(count(db.url, "SELECT count(*) FROM products WHERE name % 'wireles hedphones'"), 0)
        << "trigram fallback finds typos";

    // The identity sequences continue after the explicit ids.
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('products', 'id'))"), 301);
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"), 801);
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('categories', 'id'))"), 49);

    // Every user can log in with the documented demo password.
    ASSERT_GE(sodium_init(), 0);
    const std::string hash =
        query(db.url, "SELECT password_hash FROM users WHERE email = 'user7@example.com'");
    EXPECT_EQ(crypto_pwhash_str_verify(hash.c_str(), kDemoPassword.data(), kDemoPassword.size()), 0);
    EXPECT_EQ(count(db.url, "SELECT count(DISTINCT password_hash) FROM users"), 1);
}

TEST(SeedIntegration, SameSeedSameRows) {
    test::TestDatabase a;
    test::TestDatabase b;
    test::TestDatabase c;
    run_coro(seed_database(a.url, small_shop(42)));
    run_coro(seed_database(b.url, small_shop(42)));
    run_coro(seed_database(c.url, small_shop(43)));
    const std::string digest_a = query(a.url, kProductsDigest);
    EXPECT_EQ(digest_a, query(b.url, kProductsDigest));
    EXPECT_NE(digest_a, query(c.url, kProductsDigest));
    constexpr const char* kItemsDigest =
        "SELECT md5(string_agg(order_id || ':' || product_id || 'x' || quantity, ',' ORDER BY order_id, "
        "product_id)) "
        "FROM order_items";
    EXPECT_EQ(query(a.url, kItemsDigest), query(b.url, kItemsDigest));
    constexpr const char* kUsersDigest =
        "SELECT md5(string_agg(email || name || password_hash, ',' ORDER BY id)) FROM users";
    EXPECT_EQ(query(a.url, kUsersDigest), query(b.url, kUsersDigest));
}

TEST(SeedIntegration, OnlyIfEmptySkipsAndRefusesToLoadTwice) {
    test::TestDatabase db;
    SeedOptions options = small_shop();
    options.only_if_empty = true;
    EXPECT_FALSE(run_coro(seed_database(db.url, options)).skipped) << "empty: loads";
    const std::string digest = query(db.url, kProductsDigest);

    const SeedReport again = run_coro(seed_database(db.url, options));
    EXPECT_TRUE(again.skipped);
    EXPECT_EQ(again.products, 0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 300);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM orders"), 800);
    EXPECT_EQ(query(db.url, kProductsDigest), digest);

    options.only_if_empty = false;
    EXPECT_THROW(run_coro(seed_database(db.url, options)), SeedError);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 300);
}

// seed::run loads shards over up to three connections; with a one-connection pool and a short
// acquire timeout the extra workers give their shards back and one connection loads everything.
TEST(SeedIntegration, WorksWithASingleConnectionPool) {
    test::TestDatabase db;
    SeedOptions options;
    options.products = 30'000;  // several shards per table, each COPY longer than the timeout
    options.users = 100;
    options.orders = 20'000;
    const SeedReport report = run_coro(seed_database(db.url, options, 1, std::chrono::milliseconds(100)),
                                       std::chrono::seconds(300));
    EXPECT_EQ(report.products, 30'000);
    EXPECT_EQ(report.orders, 20'000);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 30'000);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM order_items"), report.order_items);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM inventory_movements"), 30'000);
}

TEST(SeedIntegration, EmptyShopAndCatalogWithoutOrders) {
    test::TestDatabase db;
    SeedOptions options;
    options.products = 20;
    options.users = 0;
    options.orders = 100;  // no users → no orders
    const SeedReport report = run_coro(seed_database(db.url, options));
    EXPECT_EQ(report.products, 20);
    EXPECT_EQ(report.orders, 0);
    EXPECT_EQ(report.order_items, 0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products WHERE purchase_count <> 0 OR rating_count <> 0"),
              0);
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"), 1);
}

}  // namespace
}  // namespace emporium::seed
