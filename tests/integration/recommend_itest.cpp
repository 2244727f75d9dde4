// Recommendations against the real test PostgreSQL and Redis: the batch rebuild over paid orders
// (batched reads, planted pairs found, unpaid orders ignored, stale lists removed, lists replaced
// whole), normalised scoring, incremental bumps once per order, "also bought" (inactive products
// hidden, answers cached until the next rebuild) and "recommended for you" (own purchases
// excluded, new customers get the ranking).
#include "catalog/catalog_service.hpp"
#include "integration/redis_support.hpp"
#include "recommend/recommend_service.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace emporium::recommend {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

class RecommendTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 4;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:rec:" + test::unique_suffix() + ":";
        auto* p = pool_.get();
        auto* r = redis_.get();
        catalog::CacheSettings cache;
        cache.enabled = false;
        catalog_ = std::make_shared<catalog::CatalogService>(
            catalog::CatalogStore([p]() -> db::Pool& { return *p; }),
            catalog::CatalogCache([r]() -> redis::Client& { return *r; }, redis::Keys(prefix_), cache));
        user_ = scalar("INSERT INTO users (email, password_hash, name) VALUES ('buyer@example.com', '$argon2id$x', 'B') RETURNING id");
        for (const char* name : {"A", "B", "C", "D", "E", "F", "P", "Q", "X"}) {
            ids_[name] = scalar("INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, 1000, 100) RETURNING id",
                                db::params(std::string("sku-") + name, std::string("Product ") + name));
        }
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }
    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw), 120s);
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        auto r = run(pool_->query_unprepared(std::move(text), std::move(params)));
        return r.empty() || r.is_null(0, 0) ? 0 : r.get<std::int64_t>(0, 0);
    }
    std::shared_ptr<RecommendService> service(Scoring scoring = Scoring::kCount,
                                              std::int64_t batch = 20'000,
                                              std::size_t streams = 2,
                                              bool restore = true) {
        RecommendSettings s;
        s.scoring = scoring;
        s.batch_orders = batch;
        s.read_streams = streams;
        s.restore_payloads = restore;
        s.top_k = 5;
        return std::make_shared<RecommendService>(s, RecommendStore([p = pool_.get()]() -> db::Pool& { return *p; }),
                                                  [r = redis_.get()]() -> redis::Client& { return *r; }, redis::Keys(prefix_),
                                                  catalog_);
    }
    // An order of `names` for `user` (default: a fresh customer each time) in `status`.
    std::int64_t order(std::vector<std::string> names, const std::string& status = "paid", std::int64_t user = 0) {
        if (user == 0) {
            user = scalar("INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', 'U') RETURNING id",
                          db::params("u-" + test::unique_suffix() + "@example.com"));
        }
        const auto id = scalar(
            "INSERT INTO orders (user_id, status, total_cents, paid_at) VALUES ($1, $2, 1000, CASE WHEN $2 IN ('paid', "
            "'fulfilled') THEN now() END) RETURNING id",
            db::params(user, status));
        for (const auto& n : names) {
            scalar("INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, 1, 1000) "
                   "RETURNING order_id",
                   db::params(id, ids_.at(n)));
        }
        return id;
    }
    void repeat(int times, std::vector<std::string> names, const std::string& status = "paid") {
        for (int i = 0; i < times; ++i) order(names, status);
    }
    // The neighbour list of `name` in Redis: (name, score), best first.
    std::vector<std::pair<std::string, double>> neighbours(RecommendService& svc, const std::string& name) {
        auto r = run(redis_->command(redis::cmd("ZREVRANGE", svc.neighbours_key(ids_.at(name)), "0", "-1", "WITHSCORES")));
        std::vector<std::pair<std::string, double>> out;
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
            const auto id = std::stoll(r.elements[i].str);
            std::string n = "?";
            for (const auto& [k, v] : ids_) {
                if (v == id) n = k;
            }
            out.emplace_back(n, std::stod(r.elements[i + 1].str));
        }
        return out;
    }
    // RESTORE commands the server has run so far (INFO commandstats; other tests only add to it).
    std::int64_t restore_calls() {
        auto info = run(redis_->command(redis::cmd("INFO", "commandstats")));
        const auto at = info.str.find("cmdstat_restore:calls=");
        if (at == std::string::npos) return 0;
        return std::stoll(info.str.substr(at + std::string("cmdstat_restore:calls=").size()));
    }
    // Every list the index names, as Redis returns it (member, score, …), by key.
    std::map<std::string, std::vector<std::string>> lists(RecommendService& svc) {
        std::map<std::string, std::vector<std::string>> out;
        auto index = run(redis_->command(redis::cmd("SMEMBERS", prefix_ + "cooccurrence:index")));
        for (const auto& member : index.elements) {
            const auto key = svc.neighbours_key(std::stoll(member.str));
            auto r = run(redis_->command(redis::cmd("ZRANGE", key, "0", "-1", "WITHSCORES")));
            auto& list = out[key];
            for (const auto& e : r.elements) list.push_back(e.str);
        }
        return out;
    }
    std::vector<std::string> names(const json::value& body) {
        std::vector<std::string> out;
        for (const auto& item : body.at("items").as_array()) {
            const auto id = item.at("id").as_int64();
            for (const auto& [k, v] : ids_) {
                if (v == id) out.push_back(k);
            }
        }
        return out;
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::string prefix_;
    std::shared_ptr<catalog::CatalogService> catalog_;
    std::map<std::string, std::int64_t> ids_;
    std::int64_t user_ = 0;
};

TEST_F(RecommendTest, RebuildFindsPlantedPairsFromPaidOrdersOnlyInSmallBatches) {
    repeat(20, {"A", "B"});
    repeat(5, {"A", "C"});
    repeat(3, {"A", "B", "C"}, "fulfilled");
    repeat(30, {"A", "F"}, "pending_payment");  // not purchases
    repeat(30, {"A", "F"}, "cancelled");
    repeat(10, {"D", "E"});
    auto svc = service(Scoring::kCount, 7);  // many small batches
    auto report = run(svc->rebuild());
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->baskets, 38U);
    EXPECT_EQ(report->products, 5U);  // A B C D E
    auto a = neighbours(*svc, "A");
    ASSERT_EQ(a.size(), 2U);
    EXPECT_EQ(a[0], (std::pair<std::string, double>{"B", 23}));
    EXPECT_EQ(a[1], (std::pair<std::string, double>{"C", 8}));
    EXPECT_EQ(neighbours(*svc, "D"), (std::vector<std::pair<std::string, double>>{{"E", 10}}));
    EXPECT_TRUE(neighbours(*svc, "F").empty());

    // The same answer with one big batch.
    run(redis::test::delete_prefix(redis_.get(), prefix_));
    ASSERT_TRUE(run(service(Scoring::kCount, 1'000'000)->rebuild()));
    EXPECT_EQ(neighbours(*svc, "A"), a);
}

TEST_F(RecommendTest, EveryReadAndPublishPathPublishesTheSameListsAsSql) {
    // 2 500 products and 6 000 orders of 2–4 of them (a tenth cancelled): over two publish chunks.
    const auto first = scalar(
        "WITH p AS (INSERT INTO products (sku, name, price_cents, stock) SELECT 'bulk-' || g, 'Bulk ' || g, 100, 10 "
        "FROM generate_series(1, 2500) g RETURNING id) SELECT min(id) FROM p");
    scalar("WITH o AS (INSERT INTO orders (user_id, status, total_cents, paid_at) SELECT $1, CASE WHEN g % 10 = 0 THEN "
           "'cancelled' WHEN g % 3 = 0 THEN 'fulfilled' ELSE 'paid' END, 100, CASE WHEN g % 10 = 0 THEN NULL ELSE now() END "
           "FROM generate_series(1, 6000) g RETURNING id) "
           "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) "
           "SELECT DISTINCT o.id, $2::bigint + (o.id * 131 + j * j * 37 + (o.id % 5) * j) % 2500, 1, 100 "
           "FROM o CROSS JOIN generate_series(0, 3) j WHERE j <= 1 + o.id % 3 RETURNING 1",
           db::params(user_, first));
    for (auto scoring : {Scoring::kCount, Scoring::kCosine}) {
        // One stream and one statement, ZADD + RENAME: the reference for the other paths.
        auto reference = service(scoring, 1'000'000, 1, false);
        auto report = run(reference->rebuild());
        ASSERT_TRUE(report) << report.error().message;
        EXPECT_GT(report->products, 2000U);
        const auto expected = lists(*reference);
        ASSERT_EQ(expected.size(), report->products);
        struct Path {
            std::int64_t batch;
            std::size_t streams;
            bool restore;
        };
        for (const auto& path : {Path{97, 3, true}, Path{1'000'000, 1, true}, Path{500, 2, false}, Path{1, 4, true}}) {
            run(redis::test::delete_prefix(redis_.get(), prefix_));
            auto svc = service(scoring, path.batch, path.streams, path.restore);
            const auto restores = restore_calls();
            auto again = run(svc->rebuild());
            ASSERT_TRUE(again) << again.error().message;
            // The test Redis (7.0) takes the payloads: every list went in by RESTORE.
            if (path.restore) {
                EXPECT_GE(restore_calls() - restores, static_cast<std::int64_t>(again->products));
            }
            EXPECT_EQ(again->baskets, report->baskets);
            EXPECT_EQ(again->pairs, report->pairs);
            EXPECT_EQ(lists(*svc), expected)
                << scoring_name(scoring) << ", batch " << path.batch << ", streams " << path.streams << ", restore " << path.restore;
        }
    }
    // The counts against SQL for a few products: top 5 by (count desc, id asc).
    auto svc = service();
    ASSERT_TRUE(run(svc->rebuild()));
    for (std::int64_t offset : {0, 1, 777, 2499}) {
        const auto product = first + offset;
        auto sql = run(pool_->query_unprepared(
            "SELECT b.product_id, count(*) FROM order_items a JOIN order_items b ON b.order_id = a.order_id AND "
            "b.product_id <> a.product_id JOIN orders o ON o.id = a.order_id WHERE o.status IN ('paid', 'fulfilled') "
            "AND a.product_id = $1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
            db::params(product)));
        std::vector<std::pair<std::int64_t, double>> want;
        for (std::size_t i = 0; i < sql.rows(); ++i) want.emplace_back(sql.get<std::int64_t>(i, 0), sql.get<std::int64_t>(i, 1));
        auto r = run(redis_->command(redis::cmd("ZRANGE", svc->neighbours_key(product), "0", "-1", "WITHSCORES")));
        std::vector<std::pair<std::int64_t, double>> got;
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) got.emplace_back(std::stoll(r.elements[i].str), std::stod(r.elements[i + 1].str));
        std::sort(got.begin(), got.end(), [](const auto& x, const auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
        EXPECT_FALSE(want.empty()) << product;
        EXPECT_EQ(got, want) << "product " << product;
    }
}

TEST_F(RecommendTest, ARebuildReplacesListsWholeAndRemovesStaleOnes) {
    repeat(4, {"D", "E"});
    repeat(2, {"A", "B"});
    auto svc = service();
    ASSERT_TRUE(run(svc->rebuild()));
    ASSERT_FALSE(neighbours(*svc, "D").empty());
    // The D+E orders are refunded/cancelled: the next rebuild drops their lists.
    scalar("UPDATE orders SET status = 'cancelled', paid_at = NULL WHERE id IN (SELECT order_id FROM order_items WHERE "
           "product_id = $1) RETURNING 1",
           db::params(ids_["D"]));
    auto report = run(svc->rebuild());
    ASSERT_TRUE(report);
    EXPECT_EQ(report->removed, 2U);
    EXPECT_TRUE(neighbours(*svc, "D").empty());
    EXPECT_TRUE(neighbours(*svc, "E").empty());
    EXPECT_EQ(neighbours(*svc, "A").size(), 1U);
    // No temporary keys are left behind.
    EXPECT_EQ(run(redis::test::count_prefix(redis_.get(), prefix_ + "*cooccurrence:tmp:")), 0U);
    // Only one rebuild at a time.
    run(redis_->command(redis::cmd("SET", prefix_ + "cooccurrence:rebuild-lock", "someone", "PX", "5000")));
    auto busy = run(svc->rebuild());
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().code, core::Errc::kConflict);
}

TEST_F(RecommendTest, NormalisedScoresDemoteBestSellers) {
    // P is in every basket; Q only ever appears with X.
    repeat(10, {"X", "P"});
    repeat(5, {"X", "Q"});
    for (const char* other : {"A", "B", "C", "D", "E", "F"}) repeat(15, {other, "P"});
    auto count = service(Scoring::kCount);
    ASSERT_TRUE(run(count->rebuild()));
    EXPECT_EQ(neighbours(*count, "X").front().first, "P");
    for (auto mode : {Scoring::kCosine, Scoring::kJaccard, Scoring::kLift}) {
        auto svc = service(mode);
        ASSERT_TRUE(run(svc->rebuild()));
        EXPECT_EQ(neighbours(*svc, "X").front().first, "Q") << scoring_name(mode);
    }
}

TEST_F(RecommendTest, PaidOrdersBumpPairsOnceBeforeTheNextRebuild) {
    repeat(3, {"A", "B"});
    auto svc = service();
    ASSERT_TRUE(run(svc->rebuild()));
    const auto fresh = order({"A", "B", "C"});
    ASSERT_TRUE(run(svc->on_order_paid(fresh)));
    ASSERT_TRUE(run(svc->on_order_paid(fresh)));  // a redelivered job
    auto a = neighbours(*svc, "A");
    ASSERT_EQ(a.size(), 2U);
    EXPECT_EQ(a[0], (std::pair<std::string, double>{"B", 4}));
    EXPECT_EQ(a[1], (std::pair<std::string, double>{"C", 1}));
    EXPECT_EQ(neighbours(*svc, "C").size(), 2U);
    // Unpaid orders bump nothing.
    const auto unpaid = order({"D", "E"}, "pending_payment");
    ASSERT_TRUE(run(svc->on_order_paid(unpaid)));
    EXPECT_TRUE(neighbours(*svc, "D").empty());
    // The next rebuild recounts from PostgreSQL (4 baskets of A+B, 1 with C).
    ASSERT_TRUE(run(svc->rebuild()));
    EXPECT_EQ(neighbours(*svc, "A")[0].second, 4);
}

// Each product's bump is its own script call (its keys in its slot), so a job can fail between
// two products: when it runs again the products already bumped are skipped, the others bumped.
TEST_F(RecommendTest, ABumpInterruptedBetweenProductsCompletesOnceWhenRedelivered) {
    auto svc = service();
    const auto paid = order({"A", "B", "C"});
    // The first run bumped A (its marker is set, its set holds B and C), then failed.
    const auto a = ids_.at("A");
    const auto marker = redis::Keys(prefix_).tagged("p:" + std::to_string(a), "cooccurrence", "bumped", paid);
    EXPECT_EQ(marker, prefix_ + "{p:" + std::to_string(a) + "}:cooccurrence:bumped:" + std::to_string(paid));
    run(redis_->command(redis::cmd("SET", marker, "1", "EX", "60")));
    run(redis_->command(redis::cmd("ZADD", svc->neighbours_key(a), "1", std::to_string(ids_.at("B")), "1",
                                   std::to_string(ids_.at("C")))));
    ASSERT_TRUE(run(svc->on_order_paid(paid)));
    ASSERT_TRUE(run(svc->on_order_paid(paid)));
    const auto sorted = [&](const std::string& name) {
        auto list = neighbours(*svc, name);
        std::sort(list.begin(), list.end());
        return list;
    };
    EXPECT_EQ(sorted("A"), (std::vector<std::pair<std::string, double>>{{"B", 1}, {"C", 1}}));
    EXPECT_EQ(sorted("B"), (std::vector<std::pair<std::string, double>>{{"A", 1}, {"C", 1}}));
    EXPECT_EQ(sorted("C"), (std::vector<std::pair<std::string, double>>{{"A", 1}, {"B", 1}}));
    auto index = run(redis_->command(redis::cmd("SCARD", prefix_ + "cooccurrence:index")));
    EXPECT_EQ(index.as_int(), 3);
    // The neighbour set is in its product's slot.
    EXPECT_EQ(svc->neighbours_key(a), prefix_ + "{p:" + std::to_string(a) + "}:cooccurrence");
}

// Lists written by a release before the hash tags (`cooccurrence:<id>`) are not read; the first
// rebuild drops them (once), and publishes the lists under the new names.
TEST_F(RecommendTest, TheFirstRebuildAfterTheUpgradeDropsTheListsUnderTheirOldNames) {
    repeat(2, {"A", "B"});
    auto svc = service();
    const auto legacy = svc->legacy_neighbours_key(ids_.at("A"));
    EXPECT_EQ(legacy, prefix_ + "cooccurrence:" + std::to_string(ids_.at("A")));
    run(redis_->command(redis::cmd("ZADD", legacy, "9", std::to_string(ids_.at("X")))));
    run(redis_->command(redis::cmd("SADD", prefix_ + "cooccurrence:index", std::to_string(ids_.at("A")))));
    ASSERT_TRUE(run(svc->rebuild()));
    EXPECT_EQ(run(redis_->command(redis::cmd("EXISTS", legacy))).as_int(), 0);
    EXPECT_EQ(neighbours(*svc, "A"), (std::vector<std::pair<std::string, double>>{{"B", 2}}));
    // Dropped once: a key of that name written later is left alone.
    run(redis_->command(redis::cmd("ZADD", legacy, "9", std::to_string(ids_.at("X")))));
    ASSERT_TRUE(run(svc->rebuild()));
    EXPECT_EQ(run(redis_->command(redis::cmd("EXISTS", legacy))).as_int(), 1);
}

TEST_F(RecommendTest, AlsoBoughtHidesInactiveProductsAndIsCachedUntilTheNextRebuild) {
    repeat(6, {"A", "B"});
    repeat(4, {"A", "C"});
    repeat(2, {"A", "D"});
    auto svc = service();
    ASSERT_TRUE(run(svc->rebuild()));
    auto body = run(svc->also_bought(ids_["A"], 10));
    ASSERT_TRUE(body);
    auto parsed = json::parse(*body);
    EXPECT_EQ(names(parsed), (std::vector<std::string>{"B", "C", "D"}));
    EXPECT_EQ(parsed.at("items").at(0).at("score").to_number<double>(), 6.0);
    auto two = run(svc->also_bought(ids_["A"], 2));
    EXPECT_EQ(names(json::parse(*two)).size(), 2U);

    scalar("UPDATE products SET is_active = false WHERE id = $1 RETURNING id", db::params(ids_["C"]));
    EXPECT_EQ(names(json::parse(*run(svc->also_bought(ids_["A"], 10)))), (std::vector<std::string>{"B", "C", "D"}))
        << "served from the cache";
    ASSERT_TRUE(run(svc->rebuild()));  // a new version
    EXPECT_EQ(names(json::parse(*run(svc->also_bought(ids_["A"], 10)))), (std::vector<std::string>{"B", "D"}));

    auto none = run(svc->also_bought(ids_["F"], 10));
    ASSERT_TRUE(none);
    EXPECT_TRUE(json::parse(*none).at("items").as_array().empty());
    auto missing = run(svc->also_bought(999'999, 10));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
}

TEST_F(RecommendTest, RecommendationsSumNeighboursExcludeOwnedAndFallBackToTheRanking) {
    repeat(8, {"A", "B"});
    repeat(5, {"C", "D"});
    repeat(3, {"A", "E"});
    repeat(2, {"C", "B"});
    order({"A"}, "paid", user_);
    order({"C"}, "paid", user_);
    auto svc = service();
    ASSERT_TRUE(run(svc->rebuild()));
    auto recs = json::parse(run(svc->recommendations(user_, 3)));
    EXPECT_EQ(recs.at("source").as_string(), "cooccurrence");
    auto got = names(recs);
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0], "B") << "8 (with A) + 2 (with C)";
    EXPECT_EQ(got[1], "D");
    EXPECT_EQ(got[2], "E");
    for (const auto& n : got) EXPECT_TRUE(n != "A" && n != "C") << "owned products are excluded";

    auto topped = json::parse(run(svc->recommendations(user_, 6)));
    EXPECT_EQ(topped.at("source").as_string(), "mixed");
    for (const auto& n : names(topped)) EXPECT_TRUE(n != "A" && n != "C");

    const auto newcomer = scalar("INSERT INTO users (email, password_hash, name) VALUES ('new@example.com', '$argon2id$x', 'N') RETURNING id");
    auto fresh = json::parse(run(svc->recommendations(newcomer, 4)));
    EXPECT_EQ(fresh.at("source").as_string(), "popular");
    EXPECT_EQ(fresh.at("items").as_array().size(), 4U);
}

}  // namespace
}  // namespace emporium::recommend
