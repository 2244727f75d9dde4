// CatalogService against the real test PostgreSQL and Redis: writes and the stock ledger,
// optimistic concurrency, reviews, the ranked listing (order, filters, search with the typo
// fallback, keyset pagination) and the cache (single flight, invalidation, Redis down).
#include "catalog/catalog_service.hpp"
#include "core/metrics.hpp"
#include "integration/redis_support.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace emporium::catalog {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class CatalogTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 8;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:catalog:" + test::unique_suffix() + ":";
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }

    std::unique_ptr<CatalogService> make_service(bool cached = true, CacheSettings settings = {}) {
        CatalogStore store([p = pool_.get()]() -> db::Pool& { return *p; });
        CatalogCache::ClientProvider clients;
        if (cached) clients = [r = redis_.get()]() -> redis::Client& { return *r; };
        return std::make_unique<CatalogService>(std::move(store),
                                                CatalogCache(clients, redis::Keys(prefix_), settings));
    }
    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw));
    }
    db::QueryResult sql(std::string text, db::Params params = {}) {
        return run(pool_->query_unprepared(std::move(text), std::move(params)));
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        return sql(std::move(text), std::move(params)).get<std::int64_t>(0, 0);
    }
    Category category(CatalogService& s,
                      std::string slug,
                      std::optional<std::int64_t> parent = std::nullopt) {
        auto c = run(s.create_category(NewCategory{slug, "Cat " + slug, parent}));
        EXPECT_TRUE(c) << (c ? "" : c.error().message);
        return c ? *c : Category{};
    }
    Product product(CatalogService& s,
                    std::string sku,
                    std::string name,
                    std::int64_t price = 1000,
                    std::int64_t stock = 5,
                    std::optional<std::int64_t> category_id = std::nullopt,
                    std::string description = "") {
        NewProduct in;
        in.sku = std::move(sku);
        in.name = std::move(name);
        in.description = std::move(description);
        in.price_cents = price;
        in.stock = stock;
        in.category_id = category_id;
        auto p = run(s.create_product(std::move(in)));
        EXPECT_TRUE(p) << (p ? "" : p.error().message);
        return p ? *p : Product{};
    }
    std::int64_t user(const std::string& email) {
        return scalar(
            "INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', 'U') RETURNING id",
            db::params(email));
    }
    ProductPage list(CatalogService& s, ListQuery q) {
        auto page = run(s.list_products(std::move(q)));
        EXPECT_TRUE(page) << (page ? "" : page.error().message);
        return page ? *page : ProductPage{};
    }
    std::vector<std::int64_t> ids(const ProductPage& page) {
        std::vector<std::int64_t> out;
        for (const auto& i : page.items) out.push_back(i.product.id);
        return out;
    }
    // Every page of a listing, following next_cursor.
    std::vector<std::int64_t> all_pages(CatalogService& s, ListQuery q) {
        std::vector<std::int64_t> out;
        for (int guard = 0; guard < 100; ++guard) {
            auto page = list(s, q);
            auto page_ids = ids(page);
            out.insert(out.end(), page_ids.begin(), page_ids.end());
            if (!page.next_cursor) break;
            q.cursor = page.next_cursor;
        }
        return out;
    }
    std::int64_t ledger_sum(std::int64_t product_id) {
        return scalar("SELECT coalesce(sum(delta), 0)::bigint FROM inventory_movements WHERE product_id = $1",
                      db::params(product_id));
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::string prefix_;
};

TEST_F(CatalogTest, CreateProductOpensTheLedgerAndRejectsBadInput) {
    auto s = make_service();
    auto c = category(*s, "lamps");
    auto p = product(*s, "LAMP-1", "Desk Lamp", 2500, 7, c.id);
    EXPECT_EQ(p.version, 1);
    ASSERT_TRUE(p.category);
    EXPECT_EQ(p.category->slug, "lamps");
    EXPECT_EQ(ledger_sum(p.id), 7);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE product_id = $1 AND reason = 'initial'",
                     db::params(p.id)),
              1);

    NewProduct dup;
    dup.sku = "LAMP-1";
    dup.name = "Other";
    auto conflict = run(s->create_product(dup));
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().code, core::Errc::kConflict);

    NewProduct bad;
    bad.sku = "bad sku!";
    bad.name = "X";
    bad.currency = "usd";
    auto invalid = run(s->create_product(bad));
    ASSERT_FALSE(invalid);
    EXPECT_EQ(invalid.error().code, core::Errc::kValidation);
    EXPECT_EQ(invalid.error().details.size(), 2U);

    NewProduct orphan;
    orphan.sku = "ORPHAN";
    orphan.name = "X";
    orphan.category_id = 999999;
    auto missing = run(s->create_product(orphan));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::kValidation);
    ASSERT_EQ(missing.error().details.size(), 1U);
    EXPECT_EQ(missing.error().details[0].field, "category_id");

    auto dup_cat = run(s->create_category(NewCategory{"lamps", "Again", std::nullopt}));
    ASSERT_FALSE(dup_cat);
    EXPECT_EQ(dup_cat.error().code, core::Errc::kConflict);
    auto bad_slug = run(s->create_category(NewCategory{"Bad--slug", "X", std::nullopt}));
    ASSERT_FALSE(bad_slug);
    EXPECT_EQ(bad_slug.error().code, core::Errc::kValidation);
}

TEST_F(CatalogTest, PatchNeedsTheCurrentVersionAndRecordsStockChanges) {
    auto s = make_service();
    auto p = product(*s, "P-1", "Kettle", 3000, 5);
    ProductPatch stale;
    stale.expected_version = 7;
    stale.name = "New";
    auto r = run(s->update_product(p.id, stale));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kPreconditionFailed);

    ProductPatch restock;
    restock.expected_version = 1;
    restock.stock = 8;
    restock.price_cents = 2900;
    auto v2 = run(s->update_product(p.id, restock));
    ASSERT_TRUE(v2) << v2.error().message;
    EXPECT_EQ(v2->version, 2);
    EXPECT_EQ(v2->stock, 8);
    EXPECT_EQ(v2->price_cents, 2900);
    EXPECT_EQ(v2->name, "Kettle");

    ProductPatch shrink;
    shrink.expected_version = 2;
    shrink.stock = 2;
    auto v3 = run(s->update_product(p.id, shrink));
    ASSERT_TRUE(v3);
    EXPECT_EQ(v3->version, 3);
    EXPECT_EQ(ledger_sum(p.id), 2);
    auto reasons = sql("SELECT reason, delta FROM inventory_movements WHERE product_id = $1 ORDER BY id",
                       db::params(p.id));
    ASSERT_EQ(reasons.rows(), 3U);
    EXPECT_EQ(reasons.get<std::string>(1, "reason"), "restock");
    EXPECT_EQ(reasons.get<std::int64_t>(1, "delta"), 3);
    EXPECT_EQ(reasons.get<std::string>(2, "reason"), "adjustment");
    EXPECT_EQ(reasons.get<std::int64_t>(2, "delta"), -6);

    ProductPatch negative;
    negative.expected_version = 3;
    negative.stock = -1;
    auto neg = run(s->update_product(p.id, negative));
    ASSERT_FALSE(neg);
    EXPECT_EQ(neg.error().code, core::Errc::kValidation);

    ProductPatch no_version;
    no_version.name = "x";
    auto nv = run(s->update_product(p.id, no_version));
    ASSERT_FALSE(nv);
    EXPECT_EQ(nv.error().code, core::Errc::kValidation);
}

TEST_F(CatalogTest, SoftDeleteHidesTheProductFromThePublicOnly) {
    auto s = make_service();
    auto p = product(*s, "GONE", "Vase");
    ASSERT_TRUE(run(s->get_product(p.id)));  // now cached
    ASSERT_TRUE(run(s->delete_product(p.id)));
    auto pub = run(s->get_product(p.id));
    ASSERT_FALSE(pub);
    EXPECT_EQ(pub.error().code, core::Errc::kNotFound);
    auto admin = run(s->get_product(p.id, true));
    ASSERT_TRUE(admin);
    EXPECT_TRUE(admin->is_deleted);
    EXPECT_FALSE(admin->is_active);
    EXPECT_FALSE(run(s->delete_product(p.id)));
    EXPECT_TRUE(list(*s, ListQuery{}).items.empty());
}

TEST_F(CatalogTest, ReviewsUpdateTheRatingAndKnowVerifiedPurchases) {
    auto s = make_service();
    auto p = product(*s, "R-1", "Chair");
    const auto buyer = user("buyer@example.com");
    const auto other = user("other@example.com");
    const auto order = scalar(
        "INSERT INTO orders (user_id, status, total_cents, paid_at) VALUES ($1, 'paid', 1000, now()) "
        "RETURNING id",
        db::params(buyer));
    sql("INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, 1, 1000)",
        db::params(order, p.id));

    auto r1 = run(s->add_review(p.id, buyer, NewReview{5, "Great", "Sturdy"}));
    ASSERT_TRUE(r1) << r1.error().message;
    EXPECT_TRUE(r1->verified_purchase);
    auto r2 = run(s->add_review(p.id, other, NewReview{2, "", ""}));
    ASSERT_TRUE(r2);
    EXPECT_FALSE(r2->verified_purchase);
    auto again = run(s->add_review(p.id, buyer, NewReview{1, "", ""}));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::Errc::kConflict);
    auto bad = run(s->add_review(p.id, other, NewReview{6, "", ""}));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, core::Errc::kValidation);

    auto after = run(s->get_product(p.id));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->rating_sum, 7);
    EXPECT_EQ(after->rating_count, 2);

    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(
            run(s->add_review(p.id, user("u" + std::to_string(i) + "@example.com"), NewReview{3, "", ""})));
    }
    std::vector<std::int64_t> seen;
    std::optional<std::string> cursor;
    for (int guard = 0; guard < 10; ++guard) {
        auto page = run(s->list_reviews(p.id, 3, cursor));
        ASSERT_TRUE(page);
        for (const auto& r : page->items) seen.push_back(r.id);
        if (!page->next_cursor) break;
        cursor = page->next_cursor;
    }
    ASSERT_EQ(seen.size(), 7U);
    EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));  // same created_at order → id desc
    auto bad_cursor = run(s->list_reviews(p.id, 3, std::string("???")));
    ASSERT_FALSE(bad_cursor);
    EXPECT_EQ(bad_cursor.error().code, core::Errc::kBadRequest);
}

TEST_F(CatalogTest, RankingOrderMatchesTheFormula) {
    auto s = make_service(false);
    struct Row {
        const char* sku;
        std::int64_t purchases, rating_sum, rating_count;
        double age_days;
    };
    // Scores: C 0.53, E 0.52, A 0.5, B 0.3, D 0.2 (future), F 0.0033.
    const std::vector<Row> rows = {{"A", 100, 0, 0, 60},
                                   {"B", 0, 5, 1, 60},
                                   {"C", 50, 6, 2, 15},
                                   {"D", 0, 0, 0, -2},
                                   {"E", 20, 4, 1, 3},
                                   {"F", 0, 0, 0, 29.5}};
    std::map<std::int64_t, std::string> sku_of;
    for (const auto& r : rows) {
        auto p = product(*s, r.sku, std::string("Item ") + r.sku);
        sku_of[p.id] = r.sku;
        sql("UPDATE products SET purchase_count = $2, rating_sum = $3, rating_count = $4, "
            "created_at = now() - $5::float8 * interval '1 day' WHERE id = $1",
            db::params(p.id, r.purchases, r.rating_sum, r.rating_count, r.age_days));
    }
    // An inactive best seller does not move the normalisation.
    auto hidden = product(*s, "HIDDEN", "Hidden");
    sql("UPDATE products SET purchase_count = 1000, is_active = false WHERE id = $1", db::params(hidden.id));

    ListQuery q;
    q.explain = true;
    auto page = list(*s, q);
    std::vector<std::string> order;
    for (const auto& i : page.items) order.push_back(sku_of[i.product.id]);
    EXPECT_EQ(order, (std::vector<std::string>{"C", "E", "A", "B", "D", "F"}));
    for (const auto& i : page.items) {
        const auto& r = *std::find_if(
            rows.begin(), rows.end(), [&](const Row& x) { return sku_of[i.product.id] == x.sku; });
        auto expected = ranking_score(r.purchases, 100, r.rating_sum, r.rating_count, r.age_days);
        EXPECT_NEAR(i.score.popularity, expected.popularity, 1e-12) << r.sku;
        EXPECT_NEAR(i.score.rating, expected.rating, 1e-12) << r.sku;
        EXPECT_NEAR(i.score.freshness, expected.freshness, 1e-4) << r.sku;  // seconds pass between steps
        EXPECT_NEAR(i.score.score, expected.score, 1e-4) << r.sku;
    }
    EXPECT_NEAR(page.items[0].score.score, 0.53, 1e-4);
}

TEST_F(CatalogTest, FiltersCategoriesIncludeDescendants) {
    auto s = make_service();
    auto electronics = category(*s, "electronics");
    auto phones = category(*s, "phones", electronics.id);
    auto garden = category(*s, "garden");
    auto phone = product(*s, "PH", "Apple iPhone 15 Pro", 99900, 3, phones.id, "A phone with a good camera");
    auto tv = product(*s, "TV", "Sonora Television", 49900, 0, electronics.id);
    auto hose = product(*s, "HOSE", "Garden Hose", 1999, 10, garden.id);

    ListQuery q;
    q.category = "electronics";
    q.sort = ListSort::kPriceAsc;
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{tv.id, phone.id}));
    q.category = "phones";
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{phone.id}));
    q.category = "no-such";
    auto unknown = run(s->list_products(q));
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, core::Errc::kNotFound);

    ListQuery price;
    price.sort = ListSort::kPriceDesc;
    price.min_price = 1999;
    price.max_price = 49900;
    EXPECT_EQ(ids(list(*s, price)), (std::vector<std::int64_t>{tv.id, hose.id}));
    price.in_stock = true;
    EXPECT_EQ(ids(list(*s, price)), (std::vector<std::int64_t>{hose.id}));
    price.in_stock = false;
    EXPECT_EQ(ids(list(*s, price)), (std::vector<std::int64_t>{tv.id}));
    price.min_price = 50000;
    auto inverted = run(s->list_products(price));
    ASSERT_FALSE(inverted);
    EXPECT_EQ(inverted.error().code, core::Errc::kValidation);
}

TEST_F(CatalogTest, SearchCorrectsTyposFromTheVocabulary) {
    auto s = make_service();
    auto phone =
        product(*s, "PH", "Apple iPhone 15 Pro", 99900, 3, std::nullopt, "A phone with a good camera");
    product(*s, "LAMP", "Desk Lamp", 2000, 3, std::nullopt, "Warm light for reading");
    product(*s, "CAM", "Camera Strap", 900, 3, std::nullopt, "Fits any camera");

    ListQuery q;
    q.q = "iphone";
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{phone.id}));
    q.q = "iphnoe";
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{phone.id}));
    q.q = "aple iphnoe";  // every unknown word is replaced by its nearest vocabulary word
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{phone.id}));
    q.q = "zzqqxx";  // nothing near: nothing found
    EXPECT_TRUE(ids(list(*s, q)).empty());
    q.q = "camera";
    q.sort = ListSort::kRelevance;
    q.explain = true;
    auto page = list(*s, q);
    ASSERT_EQ(page.items.size(), 2U);
    EXPECT_GE(page.items[0].score.text_rank, page.items[1].score.text_rank);
    EXPECT_EQ(page.items[0].product.sku, "CAM");  // name (weight A) beats description (C)

    ListQuery relevance_without_q;
    relevance_without_q.sort = ListSort::kRelevance;
    auto r = run(s->list_products(relevance_without_q));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, core::Errc::kValidation);
}

// A burst of searches for one misspelt word looks the correction up once (the others wait for
// it), and the correction is kept for the next searches.
TEST_F(CatalogTest, ConcurrentSearchesForOneTypoLookItUpOnce) {
    auto s = make_service(false);
    auto phone = product(*s, "PH", "Apple iPhone 15 Pro", 99900, 3, std::nullopt, "A phone with a good camera");
    product(*s, "LAMP", "Desk Lamp", 2000, 3, std::nullopt, "Warm light for reading");
    ListQuery q;
    q.q = "iphnoe";
    constexpr int kSearches = 16;
    int finished = 0;
    int found = 0;
    for (int i = 0; i < kSearches; ++i) {
        asio::co_spawn(ctx_, s->list_products(q), [&](std::exception_ptr error, core::Result<ProductPage> page) {
            ++finished;
            if (!error && page && page->items.size() == 1 && page->items[0].product.id == phone.id) ++found;
        });
    }
    ctx_.restart();
    for (int spins = 0; finished < kSearches && spins < 1000; ++spins) ctx_.run_one_for(std::chrono::milliseconds(50));
    EXPECT_EQ(finished, kSearches);
    EXPECT_EQ(found, kSearches);
    EXPECT_EQ(s->store().word_lookups(), 1);
    EXPECT_EQ(ids(list(*s, q)), (std::vector<std::int64_t>{phone.id}));
    EXPECT_EQ(s->store().word_lookups(), 1) << "the correction is kept";
}

TEST_F(CatalogTest, KeysetPagesCoverEveryRowOnceForEverySort) {
    auto s = make_service();
    for (int i = 0; i < 23; ++i) {
        auto p = product(*s, "K" + std::to_string(i), "Widget " + std::to_string(i), 100 * (i % 5), i % 3);
        sql("UPDATE products SET purchase_count = $2, created_at = now() - $3::int * interval '1 hour' WHERE "
            "id = $1",
            db::params(p.id, i % 4, i % 6));
    }
    for (auto sort : {ListSort::kRank,
                      ListSort::kPriceAsc,
                      ListSort::kPriceDesc,
                      ListSort::kNewest,
                      ListSort::kRelevance}) {
        ListQuery full;
        full.sort = sort;
        full.limit = 100;
        if (sort == ListSort::kRelevance) full.q = "widget";
        const auto expected = ids(list(*s, full));
        ASSERT_EQ(expected.size(), 23U) << sort_name(sort);
        ListQuery paged = full;
        paged.limit = 4;
        auto got = all_pages(*s, paged);
        EXPECT_EQ(got, expected) << sort_name(sort);
    }
    ListQuery a;
    a.sort = ListSort::kPriceAsc;
    a.limit = 2;
    auto first = list(*s, a);
    ASSERT_TRUE(first.next_cursor);
    ListQuery b;
    b.sort = ListSort::kNewest;
    b.cursor = first.next_cursor;
    auto mixed = run(s->list_products(b));
    ASSERT_FALSE(mixed);
    EXPECT_EQ(mixed.error().code, core::Errc::kBadRequest);
    a.cursor = first.next_cursor;
    a.min_price = 1;
    auto other_filter = run(s->list_products(a));
    ASSERT_FALSE(other_filter);
    EXPECT_EQ(other_filter.error().code, core::Errc::kBadRequest);
    ListQuery garbage;
    garbage.cursor = "eyJ4IjoxfQ";
    auto bad = run(s->list_products(garbage));
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, core::Errc::kBadRequest);
}

TEST_F(CatalogTest, RankedPagesStayConsistentWhenCountsMove) {
    auto s = make_service(false);
    std::vector<std::int64_t> created;
    for (int i = 0; i < 10; ++i) {
        auto p = product(*s, "M" + std::to_string(i), "Mug " + std::to_string(i));
        sql("UPDATE products SET purchase_count = $2 WHERE id = $1", db::params(p.id, (i + 1) * 10));
        created.push_back(p.id);
    }
    ListQuery q;
    q.limit = 5;
    auto first = list(*s, q);
    ASSERT_TRUE(first.next_cursor);
    // A new best seller raises the max: the second page still uses the first page's snapshot.
    sql("UPDATE products SET purchase_count = 100000 WHERE id = $1", db::params(created[0]));
    q.cursor = first.next_cursor;
    auto second = list(*s, q);
    std::set<std::int64_t> all;
    for (auto id : ids(first)) all.insert(id);
    for (auto id : ids(second)) all.insert(id);
    EXPECT_EQ(all.size(), 9U);  // created[0] moved ahead of the cursor: it is not repeated
}

asio::awaitable<void> fetch_product(CatalogService* service, std::int64_t id, int* found) {
    auto p = co_await service->get_product(id);
    if (p) ++*found;
}

asio::awaitable<void> fetch_page(CatalogService* service, int* found) {
    ListQuery q;
    q.sort = ListSort::kNewest;
    auto page = co_await service->list_products(std::move(q));
    if (page && page->items.size() == 3) ++*found;
}

TEST_F(CatalogTest, ColdProductKeyIsLoadedOnceUnderConcurrency) {
    // Losers wait up to 2 s (instead of 200 ms) so a slow CI machine cannot turn them into readers.
    CacheSettings patient;
    patient.wait_steps = 200;
    auto s = make_service(true, patient);
    auto p = product(*s, "HOT", "Hot Item");
    auto& hits = core::Metrics::global().counter(
        "emporium_cache_requests_total", "", {{"cache", "product"}, {"result", "hit"}});
    auto& misses = core::Metrics::global().counter(
        "emporium_cache_requests_total", "", {{"cache", "product"}, {"result", "miss"}});
    const auto hits_before = hits.value();
    const auto misses_before = misses.value();
    const auto before = s->store().product_reads();
    int found = 0;
    std::vector<asio::awaitable<void>> tasks;
    for (int i = 0; i < 200; ++i) tasks.push_back(fetch_product(s.get(), p.id, &found));
    redis::test::run_all(ctx_, std::move(tasks));
    EXPECT_EQ(found, 200);
    EXPECT_EQ(s->store().product_reads() - before, 1);
    EXPECT_EQ(misses.value() - misses_before, 1U);
    EXPECT_EQ(hits.value() - hits_before, 199U);

    // A write invalidates: the next read sees the new version.
    ProductPatch patch;
    patch.expected_version = 1;
    patch.name = "Hotter Item";
    ASSERT_TRUE(run(s->update_product(p.id, patch)));
    auto fresh = run(s->get_product(p.id));
    ASSERT_TRUE(fresh);
    EXPECT_EQ(fresh->name, "Hotter Item");
    EXPECT_EQ(fresh->version, 2);
}

TEST_F(CatalogTest, ColdListPageIsLoadedOnceAndWritesBumpTheGeneration) {
    // Losers wait up to 2 s (instead of 200 ms) so a slow CI machine cannot turn them into readers.
    CacheSettings patient;
    patient.wait_steps = 200;
    auto s = make_service(true, patient);
    for (int i = 0; i < 3; ++i) product(*s, "L" + std::to_string(i), "List Item");
    const auto before = s->store().product_reads();
    int found = 0;
    std::vector<asio::awaitable<void>> tasks;
    for (int i = 0; i < 200; ++i) tasks.push_back(fetch_page(s.get(), &found));
    redis::test::run_all(ctx_, std::move(tasks));
    EXPECT_EQ(found, 200);
    EXPECT_EQ(s->store().product_reads() - before, 1);

    product(*s, "L3", "List Item");
    ListQuery q;
    q.sort = ListSort::kNewest;
    EXPECT_EQ(list(*s, q).items.size(), 4U);
}

TEST_F(CatalogTest, AFillAfterAnInvalidationIsDropped) {
    // A rebuild that read the row before a write committed must not store the old value.
    CatalogCache cache([r = redis_.get()]() -> redis::Client& { return *r; }, redis::Keys(prefix_));
    const auto key = cache.product_key(5);
    // The fill script's keys (lock, value, stale copy) share one hash slot.
    EXPECT_EQ(key, prefix_ + "{p:5}:catalog:product");
    EXPECT_EQ(redis::test::slot_tag(cache.list_key(7, "ab12")), redis::test::slot_tag(cache.list_stale_key("ab12")));
    EXPECT_EQ(redis::test::slot_tag(cache.list_key(7, "ab12") + ":lock"), "l:ab12");
    auto look = run(cache.lookup("product", key, key + ":stale"));
    ASSERT_EQ(look.kind, CacheLookup::Kind::kLoad);
    run(cache.invalidate_product(5));
    run(cache.fill(key, key + ":stale", std::string("old"), 60s, look.lock_token));
    EXPECT_TRUE(run(redis_->command(redis::cmd("GET", key))).is_nil());
    EXPECT_TRUE(run(redis_->command(redis::cmd("GET", key + ":stale"))).is_nil());

    // Without a write in between, the winner's fill is stored and the lock released.
    look = run(cache.lookup("product", key, key + ":stale"));
    ASSERT_EQ(look.kind, CacheLookup::Kind::kLoad);
    run(cache.fill(key, key + ":stale", std::string("new"), 60s, look.lock_token));
    EXPECT_EQ(run(redis_->command(redis::cmd("GET", key))).str, "new");
    EXPECT_TRUE(run(redis_->command(redis::cmd("GET", key + ":lock"))).is_nil());
    auto ttl = run(redis_->command(redis::cmd("PTTL", key))).integer;
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 75'000);  // 60 s + at most 15 s of jitter
}

asio::awaitable<bool> pause(std::chrono::milliseconds ms) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(ms);
    co_await timer.async_wait(asio::use_awaitable);
    co_return true;
}

asio::awaitable<bool> wait_off(std::shared_ptr<LocalProductCache> cache) {
    for (int i = 0; i < 500 && cache->enabled(); ++i) co_await pause(10ms);
    co_return !cache->enabled();
}

asio::awaitable<bool> wait_live(std::shared_ptr<LocalProductCache> cache) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 500 && !cache->enabled(); ++i) {
        timer.expires_after(10ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_return cache->enabled();
}

// Two servers, each with its in-process layer and its listener on the invalidation channel: a hot
// product costs no Redis command, and a write on one server is seen by the other's next read.
TEST_F(CatalogTest, TheInProcessLayerServesHotProductsAndIsInvalidatedAcrossServers) {
    std::atomic<bool> stopping{false};
    auto redis_calls = std::make_shared<std::atomic<int>>(0);
    struct Server {
        std::shared_ptr<LocalProductCache> local;
        std::shared_ptr<redis::Subscriber> subscriber;
        std::unique_ptr<CatalogService> service;
    };
    auto make_server = [&] {
        Server sv;
        LocalCacheSettings settings;
        settings.ttl = 60s;  // long: only an invalidation can make a read see a write
        sv.local = std::make_shared<LocalProductCache>(settings);
        sv.subscriber = std::make_shared<redis::Subscriber>(ctx_.get_executor(), redis::test::shared_server_options());
        CatalogStore store([p = pool_.get()]() -> db::Pool& { return *p; });
        CatalogCache cache(
            [r = redis_.get(), redis_calls]() -> redis::Client& {
                ++*redis_calls;
                return *r;
            },
            redis::Keys(prefix_));
        sv.service = std::make_unique<CatalogService>(std::move(store), std::move(cache), nullptr, CatalogSettings{}, sv.local);
        asio::co_spawn(ctx_,
                       listen_for_invalidations(sv.local, sv.subscriber, invalidation_channel(redis::Keys(prefix_)), &stopping),
                       asio::detached);
        return sv;
    };
    auto a = make_server();
    auto b = make_server();
    EXPECT_FALSE(a.local->enabled());  // nothing is served locally before the channel is subscribed
    ASSERT_TRUE(run(wait_live(a.local)));
    ASSERT_TRUE(run(wait_live(b.local)));

    auto p = product(*a.service, "LOCAL-1", "Local Item");
    ASSERT_TRUE(run(a.service->get_product(p.id)));  // Redis + database, then kept locally
    ASSERT_TRUE(run(b.service->get_product(p.id)));
    const auto calls = redis_calls->load();
    const auto reads = a.service->store().product_reads() + b.service->store().product_reads();
    for (int i = 0; i < 100; ++i) {
        auto got = run(a.service->get_product(p.id));
        ASSERT_TRUE(got);
        EXPECT_EQ(got->name, "Local Item");
    }
    EXPECT_EQ(redis_calls->load(), calls);  // not one Redis command
    EXPECT_EQ(a.service->store().product_reads() + b.service->store().product_reads(), reads);

    // A write through server B: A's copy is dropped by the channel.
    ProductPatch patch;
    patch.expected_version = p.version;
    patch.name = "Renamed Item";
    ASSERT_TRUE(run(b.service->update_product(p.id, patch)));
    std::string seen;
    for (int i = 0; i < 200; ++i) {
        auto got = run(a.service->get_product(p.id));
        ASSERT_TRUE(got);
        seen = got->name;
        if (seen == "Renamed Item") break;
        run(wait_live(a.local));  // lets the listener run
    }
    EXPECT_EQ(seen, "Renamed Item");

    // The channel lost: the layer is off (and empty) until it is back.
    a.subscriber->close();
    ASSERT_TRUE(run(wait_off(a.local)));
    EXPECT_EQ(a.local->size(), 0U);
    EXPECT_EQ(run(a.service->get_product(p.id))->name, "Renamed Item");
    EXPECT_EQ(a.local->size(), 0U);  // nothing kept while off
    stopping = true;
    b.subscriber->close();
    run(pause(700ms));  // the listeners notice `stopping` within their 500 ms wait
}

TEST_F(CatalogTest, RedisDownFallsBackToTheDatabase) {
    redis::ClientOptions dead;
    dead.url = "redis://127.0.0.1:" + std::to_string(redis::test::free_port()) + "/0";
    dead.connect_timeout = 200ms;
    redis::Client down(ctx_.get_executor(), dead);
    CatalogStore store([p = pool_.get()]() -> db::Pool& { return *p; });
    CatalogService s(std::move(store),
                     CatalogCache([d = &down]() -> redis::Client& { return *d; }, redis::Keys(prefix_)));
    auto p = product(s, "D1", "Offline Item");
    auto got = run(s.get_product(p.id));
    ASSERT_TRUE(got);
    EXPECT_EQ(got->sku, "D1");
    EXPECT_EQ(list(s, ListQuery{}).items.size(), 1U);
    down.close();
}

}  // namespace
}  // namespace emporium::catalog
