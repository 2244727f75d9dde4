// End-to-end: `emporium serve` with read replicas (DATABASE_REPLICA_URLS) on the local cluster
// (scripts/services.sh start cluster): a database of the test's own on the primary, streamed to both
// replicas, and replay paused on one of them. REPLICA_MAX_LAG_MS is an hour, so the paused replica
// stays in rotation: only the write positions (a client's own, and the cache's) keep old rows away.
//   - an admin changes a product's price 50 times on one server (cache on), and after each change
//     the admin's listing on another server (read-your-writes through Redis; cache off) and an
//     anonymous detail read on the first (the cache's fill position) both show the new price;
//   - customers post a review each and list the reviews at once: theirs is there;
//   - reads did reach the replicas (/metrics), so the checks above mean something;
//   - under a steady load of anonymous reads, one replica is killed (SIGKILL) and the other stops
//     replaying (it lags past REPLICA_MAX_LAG_MS): reads move to what is left, no answer is a 5xx,
//     the admin never reads an older price than their own last change, and both replicas are back
//     in rotation once they are;
//   - the primary is stopped: writes answer 503 (problem+json, Retry-After) while it is down, the
//     catalog is still read from the replicas, and writes work again once it is back, without a
//     restart of the server.

#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <numeric>
#include <regex>
#include <thread>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

// The URL with its database name replaced.
std::string with_database(const std::string& url, const std::string& database) {
    const auto slash = url.find('/', url.find("://") + 3);
    return url.substr(0, slash + 1) + database;
}

// The samples of `metric` in a /metrics text whose labels contain `label_part`.
std::vector<double> metric_samples(const std::string& text,
                                   const std::string& metric,
                                   const std::string& label_part = "") {
    std::vector<double> out;
    const std::regex line("^" + metric + R"((\{[^}]*\})? ([0-9.e+-]+)$)");
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::smatch m;
        const std::string l = text.substr(at, end - at);
        if (std::regex_match(l, m, line) && m[1].str().find(label_part) != std::string::npos)
            out.push_back(std::stod(m[2].str()));
        at = end + 1;
    }
    return out;
}

double metric_sum(const std::string& text, const std::string& metric, const std::string& label_part = "") {
    double sum = 0;
    for (const double v : metric_samples(text, metric, label_part)) sum += v;
    return sum;
}

// The port of a postgresql://…:PORT/… URL.
std::string port_of(const std::string& url) {
    const auto host = url.find('@') == std::string::npos ? url.find("://") + 3 : url.find('@') + 1;
    const auto colon = url.find(':', host);
    const auto slash = url.find('/', host);
    return url.substr(colon + 1, slash - colon - 1);
}

int services(const std::string& args) {
    const auto command = "bash " + cluster_services() + " " + args + " >/dev/null";
    return std::system(command.c_str());  // NOLINT(cert-env33-c): the project's own script
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
        // Every node running again, replay resumed whatever happened, and the servers gone before
        // the database.
        for (const auto& port : stopped_)
            EXPECT_EQ(services("start-node cluster " + port), 0) << "node " << port;
        for (const auto& r : replica_urls_)
            sql_query(r, "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()");
        servers_.clear();
        if (created_) sql_query(admin_url_, "DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
        delete_redis_prefix(test_redis_url(), prefix_);
    }

    ServerProcess& start_server(bool cache, const std::string& max_lag_ms = "3600000") {
        std::string replicas;
        for (const auto& r : replica_urls_)
            replicas += (replicas.empty() ? "" : ",") + with_database(r, database_);
        Env extra{{"DATABASE_REPLICA_URLS", replicas},
                  {"REPLICA_MAX_LAG_MS", max_lag_ms},
                  {"REPLICA_SAMPLE_MS", "20"},
                  {"CACHE_ENABLED", cache ? "true" : "false"},
                  {"RATE_LIMIT_ENABLED", "false"}};
        servers_.push_back(
            std::make_unique<ServerProcess>(emporium_env(url_, test_redis_url(), prefix_, extra)));
        return *servers_.back();
    }

    void pause_first_replica() { pause_replica(0); }
    void pause_replica(std::size_t i) {
        sql_query(with_database(replica_urls_[i], database_), "SELECT pg_wal_replay_pause()");
    }
    void resume_replica(std::size_t i) {
        sql_query(with_database(replica_urls_[i], database_),
                  "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()");
    }

    // Stops a node of the cluster by its port (`kill`: SIGKILL / immediate); TearDown starts it.
    void stop_node(const std::string& port, bool kill) {
        stopped_.push_back(port);
        ASSERT_EQ(services("stop-node cluster " + port + (kill ? " kill" : "")), 0) << "node " << port;
    }
    // Starts a stopped node and waits until it is back (a replica streams, the primary accepts).
    void start_node(const std::string& port) {
        ASSERT_EQ(services("start-node cluster " + port), 0) << "node " << port;
        std::erase(stopped_, port);
    }

    // A product of the admin's, 5 in stock.
    std::int64_t new_product(unsigned short port,
                             const std::string& sku,
                             const std::string& name,
                             std::int64_t price) {
        return create_product(
            port,
            tokens_.admin(),
            json::object{{"sku", sku}, {"name", name}, {"price_cents", price}, {"stock", 5}});
    }

    // PATCHes a product's price (the version as If-Match would be: the body's `version`).
    static HttpResponse change_price(unsigned short port,
                                     const std::string& path,
                                     const std::string& token,
                                     std::int64_t price,
                                     std::int64_t version) {
        return authorized_call(port,
                               bhttp::verb::patch,
                               path,
                               token,
                               json::serialize(json::object{{"price_cents", price}, {"version", version}}));
    }

    static std::string metrics_of(unsigned short port) {
        auto r = http_call(port, bhttp::verb::get, "/metrics");
        EXPECT_EQ(r.result_int(), 200U);
        return r.body();
    }
    // Every I/O context of the server counts `n` replicas in rotation.
    static bool in_rotation_everywhere(unsigned short port, double n) {
        const auto samples = metric_samples(metrics_of(port), "emporium_db_replicas_in_rotation");
        return !samples.empty() &&
               std::all_of(samples.begin(), samples.end(), [&](double v) { return v == n; });
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
    std::vector<std::string> stopped_;
    bool created_ = false;
    Tokens tokens_;
    std::vector<std::unique_ptr<ServerProcess>> servers_;
};

TEST_F(ReplicasE2E, AdminSeesEveryPriceChangeAtOnceAndSoDoesTheCache) {
    auto& uncached = start_server(false);
    auto& cached = start_server(true);
    const auto admin = tokens_.admin();
    const auto id = new_product(uncached.port(), "RYW-1", "Replica lamp", 1000);
    ASSERT_GT(id, 0);
    const auto path = "/api/v1/products/" + std::to_string(id);
    const auto before = replica_reads(uncached.port()) + replica_reads(cached.port());
    pause_first_replica();
    std::int64_t version = 1;
    int stale_listing = 0;
    int stale_detail = 0;
    for (int i = 1; i <= 50; ++i) {
        const std::int64_t price = 1000 + i;
        auto patched = change_price(cached.port(), path, admin, price, version);
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
    const auto id = new_product(server.port(), "RYW-2", "Replica chair", 500);
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

// Anonymous catalog reads in a loop until stopped, each answer's status counted.
class ReadLoad {
public:
    ReadLoad(unsigned short port, std::string product_path) {
        thread_ = std::thread([this, port, path = std::move(product_path)] {
            for (int i = 0; !stop_; ++i) {
                try {
                    auto r =
                        http_call(port,
                                  bhttp::verb::get,
                                  i % 2 == 0 ? path : std::string("/api/v1/products?sort=newest&limit=10"));
                    std::lock_guard lock(mutex_);
                    ++statuses_[r.result_int()];
                } catch (const std::exception&) {
                    std::lock_guard lock(mutex_);
                    ++statuses_[0];  // no answer at all
                }
            }
        });
    }
    ReadLoad(const ReadLoad&) = delete;
    ReadLoad& operator=(const ReadLoad&) = delete;
    ~ReadLoad() { stop(); }

    std::map<unsigned, int> stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        std::lock_guard lock(mutex_);
        return statuses_;
    }

private:
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::map<unsigned, int> statuses_;
    std::thread thread_;
};

std::string describe(const std::map<unsigned, int>& statuses) {
    std::string out;
    for (const auto& [status, n] : statuses) out += std::to_string(status) + "×" + std::to_string(n) + " ";
    return out;
}

TEST_F(ReplicasE2E, AKilledAndALaggingReplicaUnderLoadCostNoErrorAndNoStaleRead) {
    // A lag limit the paused replica passes quickly (the price changes keep the primary moving).
    auto& server = start_server(false, "300");
    const auto admin = tokens_.admin();
    const auto id = new_product(server.port(), "RYW-3", "Replica desk", 2000);
    ASSERT_GT(id, 0);
    const auto path = "/api/v1/products/" + std::to_string(id);
    ASSERT_TRUE(eventually([&] { return in_rotation_everywhere(server.port(), 2); }));
    const auto killed = port_of(replica_urls_[0]);
    const auto lagging = port_of(replica_urls_[1]);

    ReadLoad load(server.port(), path);
    std::int64_t version = 1;
    int stale = 0;
    int failed = 0;
    // One price change by the admin, then the admin's own detail read: never an older price.
    auto change_and_read = [&](std::int64_t price) {
        auto patched = change_price(server.port(), path, admin, price, version);
        if (patched.result_int() != 200U) {
            ++failed;
            ADD_FAILURE() << "price change: " << patched.result_int() << " " << patched.body();
            return;
        }
        version = json_object(patched).at("version").as_int64();
        auto shown = authorized_call(server.port(), bhttp::verb::get, path, admin);
        if (shown.result_int() != 200U) {
            ++failed;
            ADD_FAILURE() << "own read: " << shown.result_int() << " " << shown.body();
            return;
        }
        if (json_object(shown).at("price").at("amount_cents").as_int64() != price) ++stale;
    };
    std::int64_t price = 2000;
    for (int i = 0; i < 10; ++i) change_and_read(++price);

    // Phase 1: one replica killed; its reads move to the other one and the primary.
    const auto metrics_before = metrics_of(server.port());
    stop_node(killed, true);
    for (int i = 0; i < 20; ++i) change_and_read(++price);
    EXPECT_TRUE(eventually([&] { return in_rotation_everywhere(server.port(), 1); }))
        << "the killed replica should have left the rotation";
    const auto lagging_reads =
        metric_sum(metrics_of(server.port()), "emporium_db_replica_reads_total", ":" + lagging + "/");
    for (int i = 0; i < 10; ++i) change_and_read(++price);
    EXPECT_GT(metric_sum(metrics_of(server.port()), "emporium_db_replica_reads_total", ":" + lagging + "/"),
              lagging_reads)
        << "the surviving replica should take the reads";

    // Phase 2: the other one stops replaying and falls behind: everything is read on the primary.
    pause_replica(1);
    for (int i = 0; i < 10; ++i) change_and_read(++price);
    EXPECT_TRUE(eventually([&] { return in_rotation_everywhere(server.port(), 0); }))
        << "the lagging replica should have left the rotation";
    for (int i = 0; i < 10; ++i) change_and_read(++price);

    // Phase 3: both back; both in rotation again, without a restart of the server.
    resume_replica(1);
    start_node(killed);
    EXPECT_TRUE(
        eventually([&] { return in_rotation_everywhere(server.port(), 2); }, std::chrono::seconds(30)))
        << "both replicas should be in rotation again";
    const auto killed_reads =
        metric_sum(metrics_of(server.port()), "emporium_db_replica_reads_total", ":" + killed + "/");
    for (int i = 0; i < 10; ++i) change_and_read(++price);
    const auto statuses = load.stop();

    EXPECT_EQ(stale, 0) << "the admin read an older price than their own last change";
    EXPECT_EQ(failed, 0);
    int ok = 0;
    for (const auto& [status, n] : statuses) {
        if (status == 200U) ok += n;
    }
    EXPECT_GT(ok, 50) << describe(statuses);
    EXPECT_EQ(ok,
              std::accumulate(
                  statuses.begin(), statuses.end(), 0, [](int a, const auto& e) { return a + e.second; }))
        << "every anonymous read should have answered 200: " << describe(statuses);
    const auto metrics_after = metrics_of(server.port());
    EXPECT_GT(metric_sum(metrics_after, "emporium_db_replica_failures_total", ":" + killed + "/"),
              metric_sum(metrics_before, "emporium_db_replica_failures_total", ":" + killed + "/"))
        << "the killed replica's failures should show";
    EXPECT_GT(metric_sum(metrics_after, "emporium_db_replica_reads_total", ":" + killed + "/"), killed_reads)
        << "the restarted replica should take reads again";
}

TEST_F(ReplicasE2E, WhileThePrimaryIsDownWritesAnswer503AndTheCatalogIsReadFromTheReplicas) {
    auto& server = start_server(false);
    const auto admin = tokens_.admin();
    const auto id = new_product(server.port(), "RYW-4", "Replica shelf", 700);
    ASSERT_GT(id, 0);
    const auto path = "/api/v1/products/" + std::to_string(id);
    ASSERT_TRUE(eventually([&] {
        auto shown = http_call(server.port(), bhttp::verb::get, path);
        return shown.result_int() == 200U && in_rotation_everywhere(server.port(), 2);
    }));

    stop_node(port_of(admin_url_), false);
    // Writes fail fast and say so.
    for (int i = 0; i < 5; ++i) {
        auto patched = change_price(server.port(), path, admin, 800, 1);
        EXPECT_EQ(patched.result_int(), 503U) << patched.body();
        EXPECT_TRUE(is_problem(patched)) << patched.body();
        EXPECT_NE(patched.find(bhttp::field::retry_after), patched.end());
    }
    // The catalog is still read, anonymously and by the admin (their last write is replayed).
    for (int i = 0; i < 10; ++i) {
        auto shown = http_call(server.port(), bhttp::verb::get, path);
        EXPECT_EQ(shown.result_int(), 200U) << shown.body();
        if (shown.result_int() == 200U) {
            EXPECT_EQ(json_object(shown).at("price").at("amount_cents").as_int64(), 700);
        }
        auto listed =
            authorized_call(server.port(), bhttp::verb::get, "/api/v1/products?sort=newest&limit=5", admin);
        EXPECT_EQ(listed.result_int(), 200U) << listed.body();
    }

    // Back: the same server writes again, and the admin reads the write at once.
    start_node(port_of(admin_url_));
    HttpResponse patched;
    EXPECT_TRUE(eventually(
        [&] {
            patched = change_price(server.port(), path, admin, 900, 1);
            return patched.result_int() == 200U;
        },
        std::chrono::seconds(30)))
        << patched.result_int() << " " << patched.body();
    auto shown = authorized_call(server.port(), bhttp::verb::get, path, admin);
    ASSERT_EQ(shown.result_int(), 200U) << shown.body();
    EXPECT_EQ(json_object(shown).at("price").at("amount_cents").as_int64(), 900);
}

}  // namespace
}  // namespace emporium::test
