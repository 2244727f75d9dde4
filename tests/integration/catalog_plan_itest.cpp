// Query plans of the catalog listing on a seeded catalog (20k products, ANALYZEd by the seeder):
// every listing variant must be able to use its index. (The trigram fallback is not asserted: for
// short typo queries a sequential scan of 20k names is what the planner rightly prefers.) The planner decides
// on its own (no enable_seqscan tricks); the test asserts the expected index names appear in EXPLAIN output.
#include "catalog/catalog_store.hpp"
#include "seed/seed.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace emporium::catalog {
namespace {

namespace asio = boost::asio;

class CatalogPlanTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 4;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        seed::SeedOptions options;
        options.products = 20'000;
        options.users = 50;
        options.orders = 2'000;
        db::ConnectionOptions load;
        load.url = db_.url;
        load.query_timeout = std::chrono::seconds(60);
        test::run_coro(ctx_, seed::run(load, options), std::chrono::seconds(120));
        // What autovacuum does on a live database: merge the GIN pending list that COPY filled
        // (else the planner may rightly avoid the search index) and refresh the statistics.
        db::ConnectionOptions direct;
        direct.url = db_.url;
        direct.pipeline = false;
        auto conn = test::run_coro(ctx_, db::Connection::connect(ctx_.get_executor(), direct));
        test::run_coro(ctx_, conn->execute_script("VACUUM (ANALYZE) products"));
        test::run_coro(ctx_, conn->execute_script("ANALYZE"));
        conn->close();
    }
    void TearDown() override { pool_->close(); }

    // The JSON plan of the statement list_products would run for `spec`.
    std::string plan(const ListSpec& spec) {
        auto built = listing_sql(spec);
        auto r =
            test::run_coro(ctx_, pool_->query_unprepared("EXPLAIN (FORMAT JSON) " + built.sql, built.params));
        std::string out;
        for (std::size_t i = 0; i < r.rows(); ++i) out += r.get<std::string>(i, 0);
        return out;
    }
    ListSpec base(ListSort sort) {
        ListSpec spec;
        spec.sort = sort;
        spec.limit = 21;
        spec.now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
        spec.max_purchase =
            test::run_coro(ctx_,
                           pool_->query_unprepared("SELECT coalesce(max(purchase_count), 0) FROM products"))
                .get<std::int64_t>(0, 0);
        return spec;
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
};

TEST_F(CatalogPlanTest, EveryListingVariantUsesItsIndex) {
    {
        SCOPED_TRACE("full-text search");
        auto spec = base(ListSort::kRank);
        spec.q = "wireless headphones";
        spec.mode = TextMode::kFullText;
        auto p = plan(spec);
        EXPECT_NE(p.find("products_search_idx"), std::string::npos) << p;
    }
    {
        SCOPED_TRACE("category");
        auto spec = base(ListSort::kRank);
        auto leaf = test::run_coro(
            ctx_, pool_->query_unprepared("SELECT min(id) FROM categories WHERE parent_id IS NOT NULL"));
        spec.category_ids = std::vector<std::int64_t>{leaf.get<std::int64_t>(0, 0)};
        auto p = plan(spec);
        EXPECT_NE(p.find("products_category_idx"), std::string::npos) << p;
    }
    {
        SCOPED_TRACE("price range");
        auto spec = base(ListSort::kPriceAsc);
        spec.min_price = 1'000;
        spec.max_price = 1'100;
        auto p = plan(spec);
        EXPECT_NE(p.find("products_price_idx"), std::string::npos) << p;
    }
    {
        SCOPED_TRACE("newest");
        auto p = plan(base(ListSort::kNewest));
        EXPECT_NE(p.find("products_created_at_idx"), std::string::npos) << p;
    }
    {
        SCOPED_TRACE("cheapest first, no filter");
        auto p = plan(base(ListSort::kPriceAsc));
        EXPECT_NE(p.find("products_price_idx"), std::string::npos) << p;
    }
}

}  // namespace
}  // namespace emporium::catalog
