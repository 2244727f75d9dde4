// seed::run against real, freshly migrated databases: counts, the ledger invariant, consistency of
// the denormalised counters, agreement of names, categories and descriptions, word frequencies
// under PostgreSQL's own stemmer, the schema restored exactly after the bulk load (and after a
// failed one), determinism, --if-empty, and the `emporium seed` command's progress output.
#include "db/pg.hpp"
#include "seed/dataset.hpp"
#include "seed/seed.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace emporium::seed {
namespace {

namespace asio = boost::asio;
using emporium::test::run_coro;

db::ConnectionOptions load_options(std::string url) {
    db::ConnectionOptions options;
    options.url = std::move(url);
    options.query_timeout = std::chrono::seconds(120);
    options.pipeline = false;
    return options;
}

asio::awaitable<SeedReport> seed_database(std::string url, SeedOptions options) {
    co_return co_await run(load_options(std::move(url)), options);
}

// The first column of the first row of `sql`, as text ("<null>" for NULL).
asio::awaitable<std::string> scalar(std::string url, std::string sql) {
    auto conn =
        co_await db::Connection::connect(co_await asio::this_coro::executor, load_options(std::move(url)));
    const db::QueryResult result = co_await conn->query_unprepared(std::move(sql));
    std::string value = result.is_null(0, 0) ? std::string("<null>") : std::string(result.text(0, 0));
    conn->close();
    co_return value;
}

asio::awaitable<void> script(std::string url, std::string sql) {
    auto conn =
        co_await db::Connection::connect(co_await asio::this_coro::executor, load_options(std::move(url)));
    co_await conn->execute_script(std::move(sql));
    conn->close();
}

std::string query(const std::string& url, std::string sql) {
    return run_coro(scalar(url, std::move(sql)));
}
std::int64_t count(const std::string& url, std::string sql) {
    return std::stoll(query(url, std::move(sql)));
}
void execute(const std::string& url, std::string sql) {
    run_coro(script(url, std::move(sql)));
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
    "SELECT md5(string_agg(sku || name || price_cents || description, ',' ORDER BY id)) FROM products";

// Everything the bulk load drops and re-creates, as one text: constraints, indexes, their comments,
// and the state of the triggers.
constexpr const char* kSchemaDigest =
    "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ("
    " SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || "
    "  coalesce(obj_description(oid, 'pg_constraint'), '') || ' ' || convalidated::text AS x "
    " FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    " UNION ALL SELECT indexdef || ' ' || coalesce(obj_description(to_regclass(indexname), 'pg_class'), '') "
    " FROM pg_indexes WHERE schemaname = 'public'"
    " UNION ALL SELECT tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text"
    " FROM pg_trigger WHERE NOT tgisinternal) s";

TEST(SeedIntegration, LoadsAConsistentSearchableShop) {
    test::TestDatabase db;
    const SeedReport report = run_coro(seed_database(db.url, small_shop()));
    EXPECT_FALSE(report.skipped);
    EXPECT_EQ(report.categories, Dataset::category_count());
    EXPECT_EQ(report.products, 300);
    EXPECT_EQ(report.users, 40);
    EXPECT_EQ(report.orders, 800);
    EXPECT_GE(report.order_items, 800);
    EXPECT_LE(report.order_items, 5 * 800);
    EXPECT_GT(report.reviews, 0);
    EXPECT_EQ(report.inventory_movements, 300);
    EXPECT_GT(report.seconds, 0.0);
    ASSERT_EQ(report.tables.size(), kTableCount);
    for (const TableTiming& t : report.tables) {
        EXPECT_FALSE(t.table.empty());
        EXPECT_GE(t.total_seconds, t.copy_seconds) << t.table;
    }

    EXPECT_EQ(count(db.url, "SELECT count(*) FROM categories"), Dataset::category_count());
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 300);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM users"), 40);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM orders"), 800);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM order_items"), report.order_items);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM reviews"), report.reviews);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM inventory_movements WHERE reason = 'initial'"),
              report.product_variants);

    // The ledger invariant (what `emporium inventory audit` checks): stock = Σ movements.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE stock <> "
                    "(SELECT coalesce(sum(delta), 0) FROM inventory_movements m WHERE m.product_id = p.id)"),
              0);
    // Every product has its default variant, with the product's id and SKU; three in ten have a
    // Size option with 2 to 12 sizes (1 to 12 variants in all), whose stocks sum to the product's;
    // the ledger balances per variant; the seeded order history names the default variants.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p JOIN product_variants v ON v.id = p.id AND v.product_id = p.id "
                    "WHERE v.is_default AND v.sku = p.sku AND v.held = 0"),
              300);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM product_variants"), report.product_variants);
    const auto sized = count(db.url, "SELECT count(DISTINCT product_id) FROM product_options");
    EXPECT_GE(sized, 60);
    EXPECT_LE(sized, 120);
    EXPECT_EQ(query(db.url,
                    "SELECT min(n) || '-' || max(n) FROM (SELECT count(*) AS n FROM product_variants "
                    "GROUP BY product_id) x"),
              "1-12");
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE stock <> "
                    "(SELECT sum(stock) FROM product_variants v WHERE v.product_id = p.id)"),
              0);
    // Each variant of a sized product names one size of its product's option, all distinct.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM product_variants v JOIN product_options o ON o.product_id = v.product_id "
                    "WHERE NOT EXISTS (SELECT 1 FROM product_variant_values vv WHERE vv.variant_id = v.id "
                    "AND vv.option_id = o.id AND v.option_key = vv.value_id::text)"),
              0);
    EXPECT_GT(count(db.url, "SELECT count(*) FROM product_variants WHERE price_cents IS NOT NULL"), 0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE (coalesce(price_min_cents, price_cents), "
                    "coalesce(price_max_cents, price_cents)) <> (SELECT min(coalesce(v.price_cents, p.price_cents)), "
                    "max(coalesce(v.price_cents, p.price_cents)) FROM product_variants v WHERE v.product_id = p.id)"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM order_items WHERE variant_id <> product_id"), 0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM product_variants v WHERE stock <> "
                    "(SELECT coalesce(sum(delta), 0) FROM inventory_movements m WHERE m.variant_id = v.id)"),
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
    // category_name is what the products_category_name trigger writes (the load disables it and
    // writes the same value itself), and the trigger is enabled again.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id "
                    "WHERE p.category_name <> c.name"),
              0);
    EXPECT_EQ(query(db.url,
                    "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'products'::regclass "
                    "AND tgname = 'products_category_name'"),
              "O");
    // The bulk load skips the per-row triggers of the search vocabulary and the rank index's change
    // feed, and does their work once: every word is in search_words, one row asks for a reload.
    EXPECT_GT(count(db.url, "SELECT count(*) FROM search_words"), 100);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM (SELECT DISTINCT catalog_words(name, category_name) AS w FROM "
                    "products) x WHERE NOT EXISTS (SELECT 1 FROM search_words s WHERE s.word = x.w)"),
              0);
    EXPECT_EQ(query(db.url, "SELECT string_agg(product_id::text, ',') FROM catalog_changes"), "0");
    // The insert triggers the load replaces (loader.cpp, kBulkTriggers) exist under these names: a
    // migration that renames one must update the loader, or the load would fire it row by row.
    EXPECT_EQ(query(db.url,
                    "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = "
                    "'products'::regclass AND tgname IN ('products_category_name', "
                    "'products_search_words_insert', 'products_feed_insert')"),
              "products_category_name,products_feed_insert,products_search_words_insert");
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM orders WHERE status NOT IN ('paid', 'fulfilled') OR "
                    "created_at >= now()"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM orders WHERE shipping_address->>'country' = 'US'"), 800);
    // Orders come after their user's sign-up and after the products in them.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM orders o JOIN users u ON u.id = o.user_id WHERE o.created_at <= "
                    "u.created_at"),
              0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id JOIN products p "
                    "ON p.id = i.product_id WHERE o.created_at <= p.created_at"),
              0);
    // Two-paragraph descriptions survive the COPY escaping.
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products WHERE description LIKE E'%_\\n\\n_%'"), 300);
    // Products live in leaves (categories without children), under a subcategory and a top level.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p WHERE EXISTS (SELECT 1 FROM categories c WHERE "
                    "c.parent_id = p.category_id)"),
              0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM products p JOIN categories leaf ON leaf.id = p.category_id "
                    "JOIN categories sub ON sub.id = leaf.parent_id JOIN categories top ON top.id = "
                    "sub.parent_id WHERE top.parent_id IS NULL"),
              300);
    // Some products are new (ranking by recency has something to show).
    EXPECT_GT(count(db.url, "SELECT count(*) FROM products WHERE created_at > now() - interval '90 days'"),
              0);

    // Full-text search over the generated search_vector.
    EXPECT_GT(count(db.url,
                    "SELECT count(*) FROM products "
                    "WHERE search_vector @@ websearch_to_tsquery('english', 'headphones')"),
              0);
    EXPECT_GT(count(db.url,
                    "SELECT count(*) FROM products "
                    "WHERE search_vector @@ websearch_to_tsquery('english', 'blouses')"),
              0);
    EXPECT_GT(count(db.url, "SELECT count(*) FROM products WHERE name % 'wireles hedphones'"), 0)
        << "trigram fallback finds typos";

    // The identity sequences continue after the explicit ids.
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('products', 'id'))"), 301);
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('orders', 'id'))"), 801);
    EXPECT_EQ(count(db.url, "SELECT nextval(pg_get_serial_sequence('categories', 'id'))"),
              Dataset::category_count() + 1);

    // Every user can log in with the documented demo password.
    ASSERT_GE(sodium_init(), 0);
    const std::string hash =
        query(db.url, "SELECT password_hash FROM users WHERE email = 'user7@example.com'");
    EXPECT_EQ(crypto_pwhash_str_verify(hash.c_str(), kDemoPassword.data(), kDemoPassword.size()), 0);
    EXPECT_EQ(count(db.url, "SELECT count(DISTINCT password_hash) FROM users"), 1);

    // Last, as it adds a product: a variant made after the load takes an id past every product's.
    execute(db.url,
            "INSERT INTO products (sku, name, price_cents, currency) VALUES ('SEED-AFTER', 'After', 100, 'USD')");
    EXPECT_GT(count(db.url, "SELECT id FROM product_variants WHERE sku = 'SEED-AFTER'"),
              count(db.url, "SELECT max(id) FROM products WHERE sku <> 'SEED-AFTER'"));
}

// Name, category and description agree (issue 17: a turntable was filed under Music, described as
// "a hardcover edition and bonus material", with a BOO- SKU).
TEST(SeedIntegration, NamesCategoriesSkusAndDescriptionsAgree) {
    test::TestDatabase db;
    SeedOptions options;
    options.products = 6'000;
    options.users = 10;
    options.orders = 0;
    run_coro(seed_database(db.url, options));
    constexpr const char* kTree =
        "FROM products p JOIN categories leaf ON leaf.id = p.category_id "
        "JOIN categories sub ON sub.id = leaf.parent_id JOIN categories top ON top.id = sub.parent_id ";
    // One SKU prefix per leaf, and no prefix shared by two leaves.
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM (SELECT category_id FROM products GROUP BY category_id "
                    "HAVING count(DISTINCT left(sku, 4)) > 1) x"),
              0);
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM (SELECT left(sku, 4) FROM products GROUP BY 1 "
                    "HAVING count(DISTINCT category_id) > 1) x"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products WHERE sku !~ '^[A-Z]{3}-[0-9]{7}$'"), 0);
    // Turntables are hi-fi, and only books talk about hardcovers.
    EXPECT_GT(count(db.url, std::string("SELECT count(*) ") + kTree + "WHERE p.name ILIKE '%turntable%'"), 0);
    EXPECT_EQ(count(db.url,
                    std::string("SELECT count(*) ") + kTree +
                        "WHERE p.name ILIKE '%turntable%' AND leaf.slug <> 'turntables-hifi'"),
              0);
    EXPECT_EQ(count(db.url,
                    std::string("SELECT count(*) ") + kTree +
                        "WHERE p.description ILIKE '%hardcover%' AND top.slug <> 'books'"),
              0);
    EXPECT_EQ(count(db.url,
                    std::string("SELECT count(*) ") + kTree +
                        "WHERE p.description ~* '(recipe|roast|flavour)' AND top.slug IN ('electronics', "
                        "'fashion')"),
              0);
    // A category's own words find it: "headphones" matches the Headphones leaf far above the rest.
    EXPECT_GT(
        count(db.url,
              std::string("SELECT count(*) ") + kTree +
                  "WHERE leaf.slug = 'headphones' AND p.search_vector @@ to_tsquery('english', "
                  "'headphones')"),
        10 * count(db.url,
                   std::string("SELECT count(*) ") + kTree +
                       "WHERE leaf.slug NOT IN ('headphones', 'gaming-accessories') AND p.search_vector "
                       "@@ to_tsquery('english', 'headphones')") +
            1);
}

// Word frequencies under PostgreSQL's english configuration: Zipf-like, from a large share of the
// catalog down to a handful of products.
TEST(SeedIntegration, SearchTermsSpanCommonToRare) {
    test::TestDatabase db;
    SeedOptions options;
    options.products = 20'000;
    options.users = 10;
    options.orders = 0;
    run_coro(seed_database(db.url, options));
    execute(db.url,
            "CREATE TABLE lexemes AS SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM products') "
            "WHERE word ~ '^[a-z]+$'");
    const std::int64_t top = count(db.url, "SELECT max(ndoc) FROM lexemes");
    const std::int64_t tenth = count(db.url, "SELECT ndoc FROM lexemes ORDER BY ndoc DESC OFFSET 9 LIMIT 1");
    const std::int64_t median =
        count(db.url, "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ndoc) FROM lexemes");
    const std::int64_t rarest = count(db.url, "SELECT min(ndoc) FROM lexemes");
    const std::int64_t words = count(db.url, "SELECT count(*) FROM lexemes");
    std::printf(
        "lexemes: %lld, products with the most common: %lld, 10th: %lld, median: %lld, rarest: %lld\n",
        static_cast<long long>(words),
        static_cast<long long>(top),
        static_cast<long long>(tenth),
        static_cast<long long>(median),
        static_cast<long long>(rarest));
    EXPECT_GT(words, 1500);
    EXPECT_GT(top, 20'000 * 40 / 100) << "common words match a large share";
    EXPECT_GT(tenth, 20'000 * 15 / 100);
    EXPECT_LT(median, 20'000 / 100) << "the median word matches under 1 %";
    EXPECT_LT(rarest, 10) << "rare words match a handful";
    // Model codes ("X240") name a handful of products each.
    EXPECT_LT(count(db.url,
                    "SELECT max(ndoc) FROM ts_stat('SELECT search_vector FROM products') WHERE word ~ "
                    "'^[a-z][0-9]{3}$'"),
              20);
}

// The bulk load drops keys, indexes and foreign keys and rebuilds them from the catalog: what a
// migration added (an index, comments) comes back exactly, and the tables end up all-visible.
TEST(SeedIntegration, RestoresTheSchemaExactly) {
    test::TestDatabase db;
    execute(db.url,
            "CREATE INDEX products_lower_name_idx ON products (lower(name)) WHERE is_active; "
            "COMMENT ON INDEX products_price_idx IS 'price filters and sorts'; "
            "COMMENT ON CONSTRAINT order_items_product_id_fkey ON order_items IS 'never orphaned'; "
            "COMMENT ON CONSTRAINT products_sku_key ON products IS 'one SKU per product'");
    const std::string before = query(db.url, kSchemaDigest);
    SeedOptions options = small_shop();
    options.products = 3'000;
    options.orders = 2'000;
    run_coro(seed_database(db.url, options));
    EXPECT_EQ(query(db.url, kSchemaDigest), before);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid"), 0);
    // Frozen, all-visible tables: index-only scans work at once and autovacuum has nothing to do.
    // (products and inventory_movements are written again by the sizes after the load: not here.)
    EXPECT_EQ(count(db.url,
                    "SELECT count(*) FROM pg_class WHERE relname IN ('order_items', 'reviews') "
                    "AND (relpages = 0 OR relallvisible < relpages)"),
              0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM pg_stats WHERE tablename = 'products'"),
              count(db.url,
                    "SELECT count(*) FROM pg_attribute WHERE attrelid = 'products'::regclass AND attnum > 0 "
                    "AND NOT attisdropped"))
        << "ANALYZEd";
}

// A failure inside the catalog's transaction rolls it back entirely: no half-loaded table, and
// every key, index, foreign key and trigger it had dropped or disabled is back.
TEST(SeedIntegration, AFailedLoadLeavesNoTrace) {
    test::TestDatabase db;
    // The ledger's opening balances include stocks above 300: the inventory COPY fails.
    execute(db.url, "ALTER TABLE inventory_movements ADD CONSTRAINT test_small_stock CHECK (delta < 300)");
    const std::string before = query(db.url, kSchemaDigest);
    SeedOptions options = small_shop();
    options.products = 2'000;
    EXPECT_THROW(run_coro(seed_database(db.url, options)), db::DbError);
    EXPECT_EQ(query(db.url, kSchemaDigest), before);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM products"), 0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM inventory_movements"), 0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM order_items"), 0);
    EXPECT_EQ(count(db.url, "SELECT count(*) FROM reviews"), 0);

    // A table that is not empty is refused, and nothing else is loaded into it.
    test::TestDatabase other;
    execute(other.url, "INSERT INTO categories (slug, name) VALUES ('existing', 'Existing')");
    EXPECT_THROW(run_coro(seed_database(other.url, small_shop())), SeedError);
    EXPECT_EQ(count(other.url, "SELECT count(*) FROM categories"), 1);
}

// Every row of `table`, every column as text, in one digest.
std::string table_digest(const std::string& url, Table table) {
    return query(url,
                 "SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM " +
                     std::string(table_name(table)) + " t");
}

TEST(SeedIntegration, SameSeedSameRows) {
    test::TestDatabase a;
    test::TestDatabase b;
    test::TestDatabase c;
    const auto today = [] { return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()); };
    const auto first_day = today();
    run_coro(seed_database(a.url, small_shop(42)));
    run_coro(seed_database(b.url, small_shop(42)));
    const bool same_day = today() == first_day;
    run_coro(seed_database(c.url, small_shop(43)));
    // The whole of every table, timestamps included: they count back from the day of the load (UTC),
    // so two loads of one seed on the same day are identical row for row.
    for (const Table table : kAllTables) {
        if (!same_day) break;  // the loads straddled midnight: the checks below still hold
        EXPECT_EQ(table_digest(a.url, table), table_digest(b.url, table)) << table_name(table);
    }
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
    constexpr const char* kCategoriesDigest =
        "SELECT md5(string_agg(id || slug || name || coalesce(parent_id, 0), ',' ORDER BY id)) FROM "
        "categories";
    EXPECT_EQ(query(a.url, kCategoriesDigest), query(c.url, kCategoriesDigest)) << "one tree for every seed";
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

    test::TestDatabase none;
    options.products = 0;
    const SeedReport nothing = run_coro(seed_database(none.url, options));
    EXPECT_EQ(nothing.products, 0);
    EXPECT_EQ(nothing.categories, Dataset::category_count());
    EXPECT_EQ(query(none.url, kSchemaDigest), query(db.url, kSchemaDigest));
}

// ---- the `emporium seed` command -------------------------------------------------------------

struct CommandResult {
    int status = -1;
    std::string output;  // stdout and stderr
};

// Runs `emporium seed <args>` against `url`, stderr and stdout both into a pipe (not a terminal).
CommandResult run_seed_command(const std::string& url, const std::string& args) {
    const std::string command = "DATABASE_URL='" + url + "' LOG_LEVEL=info '" + EMPORIUM_BINARY +
                                "' seed --env-file /nonexistent " + args + " 2>&1";
    CommandResult result;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return result;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        result.output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

TEST(SeedCommand, QuietWhenNotATerminalUnlessAskedForProgress) {
    test::TestDatabase quiet;
    const CommandResult auto_mode = run_seed_command(quiet.url, "--products 500 --users 20 --orders 300");
    ASSERT_EQ(auto_mode.status, 0) << auto_mode.output;
    EXPECT_NE(auto_mode.output.find("seeded "), std::string::npos) << auto_mode.output;
    EXPECT_NE(auto_mode.output.find("\"msg\":\"seed loaded\""), std::string::npos) << auto_mode.output;
    EXPECT_EQ(auto_mode.output.find("elapsed"), std::string::npos) << "no progress in a pipe:\n"
                                                                   << auto_mode.output;
    EXPECT_EQ(auto_mode.output.find('\x1b'), std::string::npos) << "no terminal escapes in a pipe";
    // Two lines: the summary and the structured log line.
    EXPECT_EQ(std::count(auto_mode.output.begin(), auto_mode.output.end(), '\n'), 2) << auto_mode.output;

    test::TestDatabase shown;
    const CommandResult always =
        run_seed_command(shown.url, "--products 500 --users 20 --orders 300 --progress always");
    ASSERT_EQ(always.status, 0) << always.output;
    EXPECT_NE(always.output.find("seed: "), std::string::npos) << always.output;
    EXPECT_NE(always.output.find("elapsed, done"), std::string::npos) << always.output;
    EXPECT_NE(always.output.find("\x1b[2K"), std::string::npos) << "lines are redrawn in place";
    for (const char* table :
         {"categories", "products", "users", "orders", "order_items", "reviews", "inventory_movements"}) {
        EXPECT_NE(always.output.find(std::string("  ") + table + " "), std::string::npos) << table;
    }

    test::TestDatabase never;
    const CommandResult off =
        run_seed_command(never.url, "--products 50 --users 5 --orders 10 --progress never");
    ASSERT_EQ(off.status, 0) << off.output;
    EXPECT_EQ(off.output.find("elapsed"), std::string::npos);

    const CommandResult bad = run_seed_command(never.url, "--progress sometimes");
    EXPECT_NE(bad.status, 0);
    EXPECT_NE(bad.output.find("--progress"), std::string::npos) << bad.output;

    const CommandResult twice = run_seed_command(never.url, "--products 50 --users 5 --orders 10");
    EXPECT_EQ(twice.status, 1) << "a seeded database is refused";
    EXPECT_NE(twice.output.find("seed failed: seed: the database already has"), std::string::npos)
        << twice.output;
    const CommandResult skipped = run_seed_command(never.url, "--products 50 --if-empty");
    EXPECT_EQ(skipped.status, 0);
    EXPECT_NE(skipped.output.find("nothing to do"), std::string::npos) << skipped.output;
}

}  // namespace
}  // namespace emporium::seed
