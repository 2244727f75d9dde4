// End-to-end: `emporium serve` with read replicas (DATABASE_REPLICA_URLS) on the local cluster
// (scripts/services.sh start cluster): a database of the test's own on the primary, streamed to both
// replicas, and replay paused on one of them. REPLICA_MAX_LAG_MS is an hour, so the paused replica
// stays in rotation: only the write positions (a client's own, and the cache's) keep old rows away.
//   - an admin changes a product's price 50 times on one server (cache on), and after each change
//     the admin's listing on another server (read-your-writes through Redis; cache off) and an
//     anonymous detail read on the first (the cache's fill position) both show the new price;
//   - customers post a review each and list the reviews at once: theirs is there;
//   - reads did reach the replicas (/metrics), so the checks above mean something.

#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <regex>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

// The URL with its database name replaced.
std::string with_database(const std::string& url, const std::string& database) {
    const auto slash = url.find('/', url.find("://") + 3);
    return url.substr(0, slash + 1) + database;
}

// The sum of every sample of `metric` in a /metrics text.
double metric_sum(const std::string& text, const std::string& metric) {
    double sum = 0;
    const std::regex line("^" + metric + R"((\{[^}]*\})? ([0-9.e+-]+)$)");
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::smatch m;
        const std::string l = text.substr(at, end - at);
        if (std::regex_match(l, m, line)) sum += std::stod(m[2].str());
        at = end + 1;
    }
    return sum;
}

class ReplicasE2E : public ::testing::Test {
protected:
    void SetUp() override {
        const auto suffix = unique_suffix();
        database_ = "replicas_e2e_" + suffix;
        prefix_ = "e2e:replicas:" + suffix + ":";
        admin_url_ = cluster_database_url();
        replica_urls_ = cluster_replica_urls();
        ASSERT_EQ(replica_urls_.size(), 2U);
        for (const auto& r : replica_urls_)
            sql_query(r, "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()");
        sql_query(admin_url_, "CREATE DATABASE " + database_);
        created_ = true;
        url_ = with_database(admin_url_, database_);
        const Env migrations{{"MIGRATIONS_DIR", source_dir() + "/migrations"}};
        ASSERT_EQ(run_emporium({"migrate"}, emporium_env(url_, test_redis_url(), prefix_, migrations)), 0);
        // The replicas have the migrated schema before the servers start.
        for (const auto& r : replica_urls_) {
            const auto replica = with_database(r, database_);
            ASSERT_TRUE(eventually([&] {
                try {
                    return sql_int(replica, "SELECT count(*) FROM pg_tables WHERE tablename = 'products'") ==
                           1;
                } catch (const std::exception&) {
                    return false;  // the database itself is not there yet
                }
            })) << replica;
        }
    }

    void TearDown() override {
        // Resumed whatever happened, and the servers gone before the database.
        for (const auto& r : replica_urls_)
            sql_query(r, "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()");
        servers_.clear();
        if (created_) sql_query(admin_url_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
        delete_redis_prefix(test_redis_url(), prefix_);
    }

    ServerProcess& start_server(bool cache) {
        std::string replicas;
        for (const auto& r : replica_urls_)
            replicas += (replicas.empty() ? "" : ",") + with_database(r, database_);
        Env extra{{"DATABASE_REPLICA_URLS", replicas},
                  {"REPLICA_MAX_LAG_MS", "3600000"},
                  {"REPLICA_SAMPLE_MS", "20"},
                  {"CACHE_ENABLED", cache ? "true" : "false"},
                  {"RATE_LIMIT_ENABLED", "false"}};
        servers_.push_back(
            std::make_unique<ServerProcess>(emporium_env(url_, test_redis_url(), prefix_, extra)));
        return *servers_.back();
    }

    void pause_first_replica() {
        sql_query(with_database(replica_urls_[0], database_), "SELECT pg_wal_replay_pause()");
    }

    // The replicas' reads so far, as a server reports them.
    static double replica_reads(unsigned short port) {
        auto r = http_call(port, bhttp::verb::get, "/metrics");
        EXPECT_EQ(r.result_int(), 200U);
        return metric_sum(r.body(), "emporium_db_replica_reads_total");
    }

    std::string database_;
    std::string prefix_;
    std::string admin_url_;
    std::string url_;
    std::vector<std::string> replica_urls_;
    bool created_ = false;
    Tokens tokens_;
    std::vector<std::unique_ptr<ServerProcess>> servers_;
};

TEST_F(ReplicasE2E, AdminSeesEveryPriceChangeAtOnceAndSoDoesTheCache) {
    auto& uncached = start_server(false);
    auto& cached = start_server(true);
    const auto admin = tokens_.admin();
    const auto id = create_product(
        uncached.port(),
        admin,
        json::object{{"sku", "RYW-1"}, {"name", "Replica lamp"}, {"price_cents", 1000}, {"stock", 5}});
    ASSERT_GT(id, 0);
    const auto path = "/api/v1/products/" + std::to_string(id);
    const auto before = replica_reads(uncached.port()) + replica_reads(cached.port());
    pause_first_replica();
    std::int64_t version = 1;
    int stale_listing = 0;
    int stale_detail = 0;
    for (int i = 1; i <= 50; ++i) {
        const std::int64_t price = 1000 + i;
        auto patched =
            authorized_call(cached.port(),
                            bhttp::verb::patch,
                            path,
                            admin,
                            json::serialize(json::object{{"price_cents", price}, {"version", version}}));
        ASSERT_EQ(patched.result_int(), 200U) << patched.body();
        version = json_object(patched).at("version").as_int64();
        // The admin's own listing on the other server, with no cache in the way: read-your-writes
        // alone, its position shared through Redis.
        for (int k = 0; k < 3; ++k) {
            // A one-statement read in between shifts the replicas' round-robin (a listing takes two
            // statements), so that the listings land on both replicas.
            if (k == 1) {
                auto categories =
                    authorized_call(uncached.port(), bhttp::verb::get, "/api/v1/categories", admin);
                ASSERT_EQ(categories.result_int(), 200U) << categories.body();
            }
            auto listed = authorized_call(
                uncached.port(), bhttp::verb::get, "/api/v1/products?sort=newest&limit=5", admin);
            ASSERT_EQ(listed.result_int(), 200U) << listed.body();
            bool found = false;
            const auto page = json_object(listed);
            for (const auto& item : page.at("items").as_array()) {
                if (item.at("id").as_int64() != id) continue;
                found = true;
                if (item.at("price").at("amount_cents").as_int64() != price) ++stale_listing;
            }
            if (!found) ++stale_listing;
        }
        // Anyone's detail read: the cache is filled only from a replica that has replayed the write
        // that invalidated it.
        auto shown = http_call(cached.port(), bhttp::verb::get, path);
        ASSERT_EQ(shown.result_int(), 200U) << shown.body();
        if (json_object(shown).at("price").at("amount_cents").as_int64() != price) ++stale_detail;
    }
    EXPECT_EQ(stale_listing, 0) << "listings showing an older price than the admin's own last change";
    EXPECT_EQ(stale_detail, 0) << "cached details showing an older price than the last change";
    const auto after = replica_reads(uncached.port()) + replica_reads(cached.port());
    EXPECT_GT(after - before, 20) << "the reads should have reached the replicas too";
}

TEST_F(ReplicasE2E, CustomersSeeTheirOwnReviewsAtOnce) {
    auto& server = start_server(false);
    const auto admin = tokens_.admin();
    const auto id = create_product(
        server.port(),
        admin,
        json::object{{"sku", "RYW-2"}, {"name", "Replica chair"}, {"price_cents", 500}, {"stock", 5}});
    ASSERT_GT(id, 0);
    const auto path = "/api/v1/products/" + std::to_string(id) + "/reviews";
    // The customers exist on the replicas before replay stops.
    std::vector<std::string> customers;
    for (int i = 0; i < 30; ++i) {
        const auto user = insert_user(url_, "ryw" + std::to_string(i) + "@example.com", "C");
        customers.push_back(tokens_.bearer(user, auth::Role::kCustomer));
    }
    ASSERT_TRUE(eventually([&] {
        return sql_int(with_database(replica_urls_[0], database_), "SELECT count(*) FROM users") >= 30;
    }));
    pause_first_replica();
    int missing = 0;
    for (std::size_t i = 0; i < customers.size(); ++i) {
        auto posted = authorized_call(server.port(),
                                      bhttp::verb::post,
                                      path,
                                      customers[i],
                                      json::serialize(json::object{{"rating", 4}, {"title", "Fine"}}));
        ASSERT_EQ(posted.result_int(), 201U) << posted.body();
        const auto review_id = json_object(posted).at("id").as_int64();
        auto listed = authorized_call(server.port(), bhttp::verb::get, path + "?limit=100", customers[i]);
        ASSERT_EQ(listed.result_int(), 200U) << listed.body();
        bool found = false;
        const auto page = json_object(listed);
        for (const auto& item : page.at("items").as_array())
            found = found || item.at("id").as_int64() == review_id;
        if (!found) ++missing;
    }
    EXPECT_EQ(missing, 0) << "customers who did not see the review they had just posted";
    EXPECT_GT(replica_reads(server.port()), 0);
}

}  // namespace
}  // namespace emporium::test
