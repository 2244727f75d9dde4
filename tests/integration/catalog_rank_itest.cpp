// The rank index against the reference query, on the real PostgreSQL: random catalogs (with ties,
// plateaus, young and old products, hidden ones, a skewed vocabulary), random filter
// combinations, text queries and typos, random page sizes, every page of each listing compared;
// facets compared with the database's exact counts; cursors that stay stable while sales happen;
// the change feed (triggers, catch-up, reload) and bad cursors.
#include "core/codec.hpp"
#include "catalog/catalog_service.hpp"
#include "catalog/rank_feed.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

namespace emporium::catalog {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// A vocabulary used Zipf-like: the first words are in many products, the last in few.
const std::vector<std::string> kWords = {
    "classic", "wireless", "steel",  "cotton",    "black",   "lamp",   "chair",   "kettle",  "garden",
    "travel",  "leather",  "ceramic", "bamboo",   "compact", "outdoor", "velvet", "walnut",  "espresso",
    "kayak",   "lantern",  "harmonica", "origami", "quartz", "zephyr",  "marimba", "tundra", "saffron"};
// Queries: common and rare words, AND, OR, negation, a phrase, typos (trigram fallback), nothing.
const std::vector<std::string> kQueries = {
    "classic", "wireless lamp", "steel OR velvet", "black -cotton", "\"garden lamp\"", "saffron",
    "tundra marimba", "walnut", "lampp", "chiar kettel", "espreso", "zzzzqqq", "compact travel"};

std::string timestamp_text(std::int64_t unix_seconds) {
    const std::time_t t = unix_seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 40> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S+00", &tm);
    return {buf.data(), n};
}

// One statement in a transaction that bypasses the change feed, as the seeder's bulk load does.
asio::awaitable<bool> bulk_update(db::Pool* pool, std::string statement) {
    auto tx = co_await pool->begin();
    co_await tx.query_unprepared("SET LOCAL emporium.bulk_load = 'on'");
    co_await tx.query_unprepared(std::move(statement));
    co_await tx.commit();
    co_return true;
}

class CatalogRankTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 6;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
    }
    void TearDown() override {
        if (feed_) feed_->stop();
        pool_->close();
    }

    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw));
    }
    db::QueryResult sql(std::string text, db::Params params = {}) {
        return run(pool_->query_unprepared(std::move(text), std::move(params)));
    }
    CatalogStore store() {
        return CatalogStore([p = pool_.get()]() -> db::Pool& { return *p; });
    }
    std::int64_t pick(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
    }

    // A category tree (3 roots, 3 children each, one grandchild each) and `n` random products.
    void load_catalog(int n) {
        std::vector<std::int64_t> cats;
        auto add = [&](const std::string& slug, std::optional<std::int64_t> parent) {
            const auto id = sql("INSERT INTO categories (slug, name, parent_id) VALUES ($1, $2, $3::bigint) RETURNING id",
                                db::params(slug, "Category " + slug, parent))
                                .get<std::int64_t>(0, 0);
            slugs_.push_back(slug);
            cats.push_back(id);
            return id;
        };
        for (int root = 0; root < 3; ++root) {
            const auto r = add("root-" + std::to_string(root), std::nullopt);
            for (int child = 0; child < 3; ++child) {
                const auto slug = "c-" + std::to_string(root) + "-" + std::to_string(child);
                const auto c = add(slug, r);
                if (child == 0) add(slug + "-leaf", c);
            }
        }
        auto word = [&] {
            const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
            return kWords[static_cast<std::size_t>(static_cast<double>(kWords.size()) * u * u * u)];
        };
        const auto now = std::time(nullptr);
        std::string copy;
        for (int i = 0; i < n; ++i) {
            std::string description;
            for (int w = 0; w < 8; ++w) description += (w ? " " : "") + word();
            const auto category =
                pick(0, 9) == 0 ? std::string("\\N")
                                : std::to_string(cats[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(cats.size()) - 1))]);
            const auto price = pick(0, 4) == 0 ? 1999 : pick(0, 3) == 0 ? pick(1, 30) * 1000 : pick(50, 300'000);
            const auto rating_count = pick(0, 2) == 0 ? 0 : pick(1, 8);
            auto rating_sum = rating_count * pick(1, 5);
            if (rating_sum > rating_count) rating_sum -= pick(0, 1);  // averages that are not whole stars
            auto age = pick(0, 3) == 0 ? pick(0, 30 * 86'400) : pick(30 * 86'400, 900 * 86'400);
            if (pick(0, 9) == 0) age = 400 * 86'400;  // a plateau of equal ages
            copy += "SKU-" + std::to_string(i) + "\t" + word() + " " + word() + " " + word() + "\t" + description +
                    "\t" + category + "\t" + std::to_string(price) + "\t" +
                    std::to_string(pick(0, 6) == 0 ? 0 : pick(1, 50)) + "\t" +
                    std::to_string(pick(0, 2) == 0 ? 0 : pick(0, 30) * pick(0, 30)) + "\t" +
                    std::to_string(rating_sum) + "\t" + std::to_string(rating_count) + "\t" +
                    (pick(0, 19) != 0 ? "t" : "f") + "\t" + (pick(0, 29) == 0 ? timestamp_text(now) : "\\N") +
                    "\t" + timestamp_text(now - age) + "\n";
        }
        bool sent = false;
        db::CopySource source = [&](std::string& chunk) {
            if (sent) return false;
            chunk = std::move(copy);
            sent = true;
            return true;
        };
        run(pool_->copy_in("COPY products (sku, name, description, category_id, price_cents, stock, purchase_count, "
                           "rating_sum, rating_count, is_active, deleted_at, created_at) FROM STDIN",
                           source));
        sql("ANALYZE products");
    }

    void start_index() {
        feed_ = std::make_shared<RankFeed>(store(), cpu_);
        run(feed_->load());
        fast_ = std::make_unique<CatalogService>(store(), CatalogCache({}, redis::Keys("x:")), feed_);
        reference_ = std::make_unique<CatalogService>(store(), CatalogCache({}, redis::Keys("x:")));
    }

    ListQuery random_query() {
        ListQuery q;
        q.explain = true;
        q.limit = pick(0, 3) == 0 ? pick(1, 5) : pick(5, 60);
        if (pick(0, 2) == 0) q.category = slugs_[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(slugs_.size()) - 1))];
        switch (pick(0, 4)) {
            case 0:
                q.min_price = pick(0, 100'000);
                break;
            case 1:
                q.max_price = pick(0, 50'000);
                break;
            case 2:
                q.min_price = 1999;
                q.max_price = 1999;
                break;
            case 3:
                q.min_price = pick(0, 100'000);
                q.max_price = *q.min_price + pick(0, 100'000);
                break;
            default:
                break;
        }
        if (pick(0, 3) == 0) q.in_stock = pick(0, 1) == 0;
        if (pick(0, 2) == 0) q.q = kQueries[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(kQueries.size()) - 1))];
        if (q.q && pick(0, 1) == 0) q.sort = ListSort::kRelevance;  // name matches first, then by rank
        return q;
    }

    struct Listing {
        std::vector<std::int64_t> ids;
        std::vector<double> scores;
        std::vector<std::size_t> page_sizes;
    };
    Listing all_pages(CatalogService& s, ListQuery q, int max_pages = 1000) {
        Listing out;
        for (int p = 0; p < max_pages; ++p) {
            auto page = run(s.list_products(q));
            EXPECT_TRUE(page) << (page ? "" : page.error().message);
            if (!page) break;
            out.page_sizes.push_back(page->items.size());
            for (const auto& i : page->items) {
                out.ids.push_back(i.product.id);
                out.scores.push_back(i.score.score);
            }
            if (!page->next_cursor) break;
            q.cursor = page->next_cursor;
        }
        return out;
    }

    // Equal, except that two products whose scores differ by less than 1e-6 may trade places: the
    // documented tie bound (float rounding of SQL against C++, and the milliseconds between the two
    // queries' clocks, which move the freshness of young products).
    static void expect_same_listing(const Listing& fast, const Listing& ref, const std::string& what) {
        ASSERT_EQ(fast.ids.size(), ref.ids.size()) << what;
        EXPECT_EQ(fast.page_sizes, ref.page_sizes) << what;
        for (std::size_t i = 0; i < fast.ids.size(); ++i) {
            if (fast.ids[i] == ref.ids[i]) {
                EXPECT_NEAR(fast.scores[i], ref.scores[i], 1e-6) << what << " at " << i;
                continue;
            }
            EXPECT_NEAR(fast.scores[i], ref.scores[i], 1e-6) << what << ": " << fast.ids[i] << " vs " << ref.ids[i]
                                                             << " at " << i;
        }
        EXPECT_EQ(std::multiset<std::int64_t>(fast.ids.begin(), fast.ids.end()),
                  std::multiset<std::int64_t>(ref.ids.begin(), ref.ids.end()))
            << what;
    }

    static std::string describe(const ListQuery& q) {
        return "q=" + q.q.value_or("-") + " category=" + q.category.value_or("-") +
               " min=" + (q.min_price ? std::to_string(*q.min_price) : "-") +
               " max=" + (q.max_price ? std::to_string(*q.max_price) : "-") +
               " in_stock=" + (q.in_stock ? (*q.in_stock ? "1" : "0") : "-") + " limit=" + std::to_string(q.limit) +
               " sort=" + std::string(sort_name(q.sort));
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    core::CpuPool cpu_{2};
    std::unique_ptr<db::Pool> pool_;
    std::vector<std::string> slugs_;
    std::mt19937_64 rng_{20261203};
    std::shared_ptr<RankFeed> feed_;
    std::unique_ptr<CatalogService> fast_;
    std::unique_ptr<CatalogService> reference_;
};

// The property: for random catalogs and random listings, every page of the index path equals the
// reference query's page.
TEST_F(CatalogRankTest, EveryPageEqualsTheReferenceQuery) {
    load_catalog(3000);
    start_index();
    EXPECT_GT(feed_->index().size(), 2000U);
    for (int round = 0; round < 160; ++round) {
        auto q = random_query();
        const int pages = q.q ? 6 : 12;  // the reference's text pages are slow; the rest is bounded
        auto fast = all_pages(*fast_, q, pages);
        auto ref = all_pages(*reference_, q, pages);
        expect_same_listing(fast, ref, "round " + std::to_string(round) + " " + describe(q));
        if (HasFailure()) break;
    }
}

// Sales and ratings committed between the pages of a listing: the pages still add up to the
// ranking of the moment of the first page, no product twice, none skipped.
TEST_F(CatalogRankTest, CursorsStayStableWhileSalesHappen) {
    load_catalog(2500);
    start_index();
    for (int round = 0; round < 6; ++round) {
        ListQuery q;
        q.limit = 15;
        q.explain = true;
        if (round % 2 == 1) q.category = "root-" + std::to_string(round % 3);
        if (round == 4) q.q = "classic";
        if (round == 5) {
            q.q = "lamp";
            q.sort = ListSort::kRelevance;
        }
        // The first page, then the truth: the reference ranking right after it, before any sale.
        Listing paged;
        auto page = run(fast_->list_products(q));
        ASSERT_TRUE(page);
        auto truth = all_pages(*reference_, q, 20);
        ASSERT_GE(truth.page_sizes.size(), 10U);  // (fewer than 20 when the text matches fewer)
        for (int p = 0; p < 20; ++p) {
            for (const auto& i : page->items) {
                paged.ids.push_back(i.product.id);
                paged.scores.push_back(i.score.score);
            }
            paged.page_sizes.push_back(page->items.size());
            // Sales of the products around the page boundary and of the best sellers, ratings,
            // stock running out: they would move products across the cursor.
            for (int k = 0; k < 5; ++k) {
                const auto id = k < 2 && !page->items.empty() ? page->items[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(page->items.size()) - 1))].product.id
                                                           : truth.ids[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(truth.ids.size()) - 1))];
                sql("UPDATE products SET purchase_count = purchase_count + $2::bigint, rating_sum = rating_sum + 5, "
                    "rating_count = rating_count + 1, stock = CASE WHEN $3 THEN 0 ELSE stock END WHERE id = $1",
                    db::params(id, pick(1, 400), pick(0, 3) == 0));
            }
            if (!page->next_cursor) break;
            q.cursor = page->next_cursor;
            page = run(fast_->list_products(q));
            ASSERT_TRUE(page) << page.error().message;
        }
        expect_same_listing(paged, truth, "round " + std::to_string(round));
        // The next first page sees the sales.
        q.cursor.reset();
        auto after = all_pages(*fast_, q, 3);
        auto ref_after = all_pages(*reference_, q, 3);
        expect_same_listing(after, ref_after, "after the sales, round " + std::to_string(round));
    }
}

TEST_F(CatalogRankTest, FacetsEqualTheDatabasesCounts) {
    load_catalog(3000);
    start_index();
    for (int round = 0; round < 80; ++round) {
        auto q = random_query();
        q.facet_categories = true;
        q.facet_prices = true;
        q.limit = 5;
        auto fast = run(fast_->list_products(q));
        auto ref = run(reference_->list_products(q));
        ASSERT_TRUE(fast && ref);
        ASSERT_TRUE(fast->facets && ref->facets);
        EXPECT_FALSE(fast->facets->approximate) << describe(q);
        EXPECT_EQ(core::codec::encode(*fast->facets), core::codec::encode(*ref->facets)) << describe(q);
    }
}

TEST_F(CatalogRankTest, ChangesThroughTheApiAndSqlAreSeenByTheNextRequest) {
    load_catalog(400);
    start_index();
    ListQuery q;
    q.limit = 10;
    q.explain = true;
    auto top = all_pages(*fast_, q, 1);
    ASSERT_EQ(top.ids.size(), 10U);
    // A product from the bottom becomes the best seller by a sale committed elsewhere.
    const auto bottom = sql("SELECT id FROM products WHERE is_active AND deleted_at IS NULL ORDER BY purchase_count, id LIMIT 1")
                            .get<std::int64_t>(0, 0);
    sql("UPDATE products SET purchase_count = 100000 WHERE id = $1", db::params(bottom));
    auto after = all_pages(*fast_, q, 1);
    EXPECT_EQ(after.ids.front(), bottom);
    expect_same_listing(after, all_pages(*reference_, q, 1), "after a sale");
    // Withdrawn through the service: gone at once.
    auto current = run(fast_->get_product(bottom, true));
    ASSERT_TRUE(current);
    ProductPatch patch;
    patch.expected_version = current->version;
    patch.is_active = false;
    ASSERT_TRUE(run(fast_->update_product(bottom, patch)));
    after = all_pages(*fast_, q, 1);
    EXPECT_NE(after.ids.front(), bottom);
    expect_same_listing(after, all_pages(*reference_, q, 1), "after a withdrawal");
    // A new product, and a price change into a filter.
    NewProduct in;
    in.sku = "NEW-1";
    in.name = "zephyr lantern";
    in.price_cents = 123;
    in.stock = 1;
    auto created = run(fast_->create_product(in));
    ASSERT_TRUE(created);
    sql("UPDATE products SET purchase_count = 200000 WHERE id = $1", db::params(created->id));
    after = all_pages(*fast_, q, 1);
    EXPECT_EQ(after.ids.front(), created->id);
    ListQuery cheap = q;
    cheap.max_price = 123;
    expect_same_listing(all_pages(*fast_, cheap), all_pages(*reference_, cheap), "cheap");
    // A bulk load that bypassed the triggers asks every index to load again.
    run(bulk_update(pool_.get(), "UPDATE products SET purchase_count = 300000 WHERE sku = 'SKU-7'"));
    EXPECT_NE(all_pages(*fast_, q, 1).ids.front(), sql("SELECT id FROM products WHERE sku = 'SKU-7'").get<std::int64_t>(0, 0))
        << "the bulk change bypassed the feed, as it should";
    run(store().request_rank_reload());
    after = all_pages(*fast_, q, 1);
    expect_same_listing(after, all_pages(*reference_, q, 1), "after a reload");
    EXPECT_EQ(after.ids.front(), sql("SELECT id FROM products WHERE sku = 'SKU-7'").get<std::int64_t>(0, 0));
}

// Loading the index reads the whole catalog in one COPY, which at a million products takes longer
// than the statement timeout meant for requests (it was cancelled at every attempt, so the index
// never loaded). Here reading a product takes 4 ms (a slowed copy of a function the COPY calls, in
// this test's own database), so the COPY streams for about 1.6 s against a 400 ms pool timeout.
TEST_F(CatalogRankTest, TheIndexLoadIsNotCutShortByTheRequestStatementTimeout) {
    // About 1.5 kB of lexemes per row, so the server sends rows as it makes them (it flushes
    // every 8 kB).
    sql("INSERT INTO products (sku, name, description, price_cents, stock) "
        "SELECT 'SLOW-' || g, 'slow lamp ' || g, (SELECT string_agg('word' || w, ' ') FROM generate_series(1, 300) w), "
        "100, 1 FROM generate_series(1, 400) g");
    sql("ALTER FUNCTION catalog_name_lexemes(tsvector) RENAME TO catalog_name_lexemes_quick");
    sql("CREATE FUNCTION catalog_name_lexemes(v tsvector) RETURNS text LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.004); RETURN catalog_name_lexemes_quick(v); END $$");
    db::PoolOptions tight;
    tight.connection.url = db_.url;
    tight.connection.query_timeout = std::chrono::milliseconds(400);
    db::Pool hurried(ctx_.get_executor(), tight);
    CatalogStore hurried_store([p = &hurried]() -> db::Pool& { return *p; });
    const auto started = std::chrono::steady_clock::now();
    const auto loaded = run(hurried_store.load_rank_baseline(0));
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(loaded.products.size(), 400U);
    EXPECT_GT(took, std::chrono::milliseconds(1200)) << "the COPY was not slowed down: the test proves nothing";
    ASSERT_EQ(loaded.texts.size(), 400U);
    // The longer timeout was the load transaction's own: the pool's sessions keep theirs.
    EXPECT_NE(run(hurried.query_unprepared("SHOW statement_timeout")).get<std::string>(0, 0), "30min");
    hurried.close();
}

TEST_F(CatalogRankTest, BadAndExpiredCursorsAre400) {
    load_catalog(300);
    start_index();
    ListQuery q;
    q.limit = 5;
    auto page = run(fast_->list_products(q));
    ASSERT_TRUE(page && page->next_cursor);
    auto cursor = decode_cursor(*page->next_cursor);
    ASSERT_TRUE(cursor && cursor->snapshot);
    auto expect_400 = [&](const ListCursor& c, const std::string& what) {
        ListQuery next = q;
        next.cursor = encode_cursor(c);
        auto r = run(fast_->list_products(next));
        ASSERT_FALSE(r) << what;
        EXPECT_EQ(r.error().code, core::Errc::kBadRequest) << what;
    };
    auto old = *cursor;
    old.now_micros -= 3600LL * 1'000'000;  // older than the kept history
    expect_400(old, "expired");
    auto future = *cursor;
    future.snapshot = "999999999:999999999:";  // a snapshot the database has not reached
    expect_400(future, "future snapshot");
    // A rank-index cursor is refused by the reference mode, and the other way round it is just
    // continued by the reference query (a listing begun before the index loaded).
    ListQuery next = q;
    next.cursor = page->next_cursor;
    auto refused = run(reference_->list_products(next));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::kBadRequest);
    auto ref_page = run(reference_->list_products(q));
    ASSERT_TRUE(ref_page && ref_page->next_cursor);
    next.cursor = ref_page->next_cursor;
    EXPECT_TRUE(run(fast_->list_products(next)));
    // The cursor of another sort cannot carry a snapshot.
    auto other = *cursor;
    other.sort = ListSort::kNewest;
    EXPECT_FALSE(decode_cursor(encode_cursor(other)));
}

}  // namespace
}  // namespace emporium::catalog
