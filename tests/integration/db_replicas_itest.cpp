// db::ReplicaSet against the local cluster (scripts/services.sh start cluster: a primary and two
// streaming replicas): reads land on replicas, a paused replica leaves the rotation while the other
// serves, one already behind when the set starts is not in rotation, a read after a write never returns what
// the write replaced, and a replica that dies or was never there costs no error. Every test resumes WAL
// replay and restarts what it stopped, also when it fails, so the shared cluster is whole for the next one.

#include "core/spawn.hpp"
#include "db/replicas.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using emporium::test::run_coro;

constexpr Statement kWhere{"test.where", "SELECT pg_is_in_recovery(), inet_server_port()"};
constexpr Statement kResume{"test.resume", "SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()"};
constexpr Statement kPause{"test.pause", "SELECT pg_wal_replay_pause()"};
const Params kNone;  // no parameters (a braced list cannot be written inside co_await)

PoolOptions options_for(std::string url) {
    PoolOptions o;
    o.connection.url = std::move(url);
    o.max_size = 2;
    o.acquire_timeout = 2s;
    return o;
}

ReplicaSettings settings_for(std::vector<std::string> urls) {
    ReplicaSettings s;
    s.urls = std::move(urls);
    s.max_lag = 300ms;
    s.retry = 60s;  // a failed replica stays out for the rest of a test
    s.sample_every = 20ms;
    s.connect_timeout = 2s;
    s.query_timeout = 3s;
    s.acquire_timeout = 2s;
    return s;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// Samples until `done(set)` holds; throws after `limit`.
template <typename Pred>
asio::awaitable<void> sample_until(ReplicaSet* set,
                                   Pred done,
                                   std::chrono::milliseconds limit,
                                   std::string what) {
    const auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
        co_await set->sample();
        if (done(*set)) co_return;
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("timed out waiting until " + what);
        co_await sleep_for(10ms);
    }
}

// Resumes replay on every replica (a paused one would hold the others' tests back).
asio::awaitable<void> resume_all() {
    for (const auto& url : test::cluster_replica_urls()) {
        Pool p(co_await asio::this_coro::executor, options_for(url));
        static_cast<void>(co_await p.query(kResume));
        p.close();
    }
}

class DbReplicas : public ::testing::Test {
protected:
    void SetUp() override {
        primary_url_ = test::cluster_database_url();
        replica_urls_ = test::cluster_replica_urls();
        ASSERT_EQ(replica_urls_.size(), 2U) << "EMPORIUM_CLUSTER_REPLICA_URLS names two replicas";
        table_ = "replica_itest_" + test::unique_suffix();
        run_coro(resume_all());
    }
    void TearDown() override {
        // Whatever the test did: replay resumed, stopped nodes started, the table dropped.
        for (const auto& port : stopped_ports_) {
            const auto cmd = services() + " start-node cluster " + port + " >/dev/null";
            EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(concurrency-mt-unsafe): test teardown
        }
        run_coro(resume_all());
        run_coro(drop_table(primary_url_, table_));
    }

    static asio::awaitable<void> drop_table(std::string url, std::string table) {
        Pool p(co_await asio::this_coro::executor, options_for(url));
        static_cast<void>(co_await p.query_unprepared("DROP TABLE IF EXISTS " + table));
        p.close();
    }

    // The port of a postgresql://user@host:port/db URL.
    static std::string port_of(const std::string& url) {
        const auto at = url.rfind('@');
        const auto colon = url.find(':', at);
        const auto slash = url.find('/', colon);
        return url.substr(colon + 1, slash - colon - 1);
    }

    // services.sh for the cluster's ports (it computes them from PG_PORT).
    static std::string services() {
        return "PG_PORT=" + test::required_env("EMPORIUM_CLUSTER_PG_PORT") + " bash '" +
               test::cluster_services() + "'";
    }

    void stop_node(const std::string& port) {
        stopped_ports_.push_back(port);
        const auto cmd = services() + " stop-node cluster " + port + " kill >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(concurrency-mt-unsafe): test setup
    }

    std::string primary_url_;
    std::vector<std::string> replica_urls_;
    std::string table_;
    std::vector<std::string> stopped_ports_;
};

bool all_in(const ReplicaSet& set) {
    return set.in_rotation() == 2;
}

// ---- reads land on replicas ----------------------------------------------------------------------

asio::awaitable<void> reads_land_on_replicas(std::string primary_url, std::vector<std::string> replicas) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    ReplicaSet set(ex, primary, settings_for(replicas));
    co_await sample_until(&set, all_in, 10s, "both replicas are in rotation");
    std::set<std::int32_t> ports;
    for (int i = 0; i < 20; ++i) {
        auto r = co_await set.query(kWhere, kNone, 0);
        EXPECT_TRUE(r.get<bool>(0, 0)) << "read " << i << " ran on the primary";
        ports.insert(r.get<std::int32_t>(0, 1));
    }
    EXPECT_EQ(ports.size(), 2U) << "round-robin over both replicas";
    // Unprepared statements too.
    auto r = co_await set.query_unprepared("SELECT pg_is_in_recovery()", kNone, 0);
    EXPECT_TRUE(r.get<bool>(0, 0));
    // A position no replica has replayed: the primary.
    auto p = co_await set.query(kWhere, kNone, ~Lsn{0});
    EXPECT_FALSE(p.get<bool>(0, 0));
    set.close();
    primary.close();
}

TEST_F(DbReplicas, ReadsLandOnReplicasRoundRobin) {
    run_coro(reads_land_on_replicas(primary_url_, replica_urls_));
}

// Without replicas the set is the primary.
asio::awaitable<void> empty_set_is_the_primary(std::string primary_url) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    ReplicaSet set(ex, primary, settings_for({}));
    EXPECT_TRUE(set.empty());
    co_await set.sample();
    auto r = co_await set.query(kWhere, kNone, 0);
    EXPECT_FALSE(r.get<bool>(0, 0));
    primary.close();
}

TEST_F(DbReplicas, EmptySetIsThePrimary) {
    run_coro(empty_set_is_the_primary(primary_url_));
}

// ---- read-your-writes ----------------------------------------------------------------------------

struct RywCounts {
    int on_replica = 0;
    int on_primary = 0;
};

asio::awaitable<RywCounts> read_after_write(std::string primary_url,
                                            std::vector<std::string> replicas,
                                            std::string table) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    static_cast<void>(
        co_await primary.query_unprepared("CREATE TABLE " + table + " (id int PRIMARY KEY, v int NOT NULL)"));
    ReplicaSet set(ex, primary, settings_for(replicas));
    core::spawn_tracked(ex, set.run(), "test.sampler");  // samples every 20 ms meanwhile
    co_await sample_until(&set, all_in, 10s, "both replicas are in rotation");
    const auto insert =
        "INSERT INTO " + table + " VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v";
    const auto select = "SELECT v, pg_is_in_recovery() FROM " + table + " WHERE id = 1";
    RywCounts counts;
    for (int i = 1; i <= 200; ++i) {
        // Overwrite one row, then read it back at once with the write's position: the old value
        // must never come back.
        static_cast<void>(co_await primary.query_unprepared(insert, db::params(1, i)));
        const auto lsn = co_await current_insert_lsn(primary);
        if (i % 2 == 0) {
            // Every other time wait until a replica has replayed it, so that replicas answer too.
            const auto until = std::chrono::steady_clock::now() + 5s;
            auto replayed = [&] {
                for (const auto& s : set.states())
                    if (s.in_rotation && s.replay >= lsn) return true;
                return false;
            };
            while (!replayed() && std::chrono::steady_clock::now() < until) co_await sleep_for(5ms);
        }
        auto r = co_await set.query_unprepared(select, kNone, lsn);
        if (r.rows() != 1) throw std::runtime_error("the row is missing at iteration " + std::to_string(i));
        EXPECT_EQ(r.get<std::int32_t>(0, 0), i)
            << "stale read at iteration " << i << " (on a replica: " << r.get<bool>(0, 1) << ")";
        (r.get<bool>(0, 1) ? counts.on_replica : counts.on_primary)++;
    }
    set.stop();
    while (set.running()) co_await sleep_for(5ms);  // the sampler returns
    set.close();
    primary.close();
    co_return counts;
}

TEST_F(DbReplicas, ReadWithTheWritesPositionNeverSeesOlderData) {
    const auto counts =
        run_coro(read_after_write(primary_url_, replica_urls_, table_), std::chrono::seconds(120));
    // Both paths were taken: the check means something.
    EXPECT_GT(counts.on_replica, 50);
    EXPECT_GT(counts.on_primary, 0);
}

// ---- a paused replica ------------------------------------------------------------------------------

asio::awaitable<void> paused_replica(std::string primary_url,
                                     std::vector<std::string> replicas,
                                     std::string table) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    Pool first(ex, options_for(replicas[0]));
    ReplicaSet set(ex, primary, settings_for(replicas));
    std::exception_ptr failure;
    try {
        co_await sample_until(&set, all_in, 10s, "both replicas are in rotation");
        static_cast<void>(co_await first.query(kPause));
        // A write the paused replica cannot replay; the primary keeps moving (the sampler reads
        // its position) while the lag grows past 300 ms.
        static_cast<void>(
            co_await primary.query_unprepared("CREATE TABLE " + table + " (id int PRIMARY KEY)"));
        static_cast<void>(co_await primary.query_unprepared("INSERT INTO " + table + " VALUES (1)"));
        const auto lsn = co_await current_insert_lsn(primary);
        co_await sample_until(
            &set,
            [](const ReplicaSet& s) { return !s.states()[0].in_rotation; },
            10s,
            "the paused replica leaves");
        const auto states = set.states();
        EXPECT_FALSE(states[0].in_rotation);
        EXPECT_GT(states[0].lag, 300ms);
        EXPECT_TRUE(states[1].in_rotation)
            << "the other replica keeps serving (lag " << states[1].lag.count() << " ms)";
        // Reads go to the other replica only.
        const auto other_port = std::stoi(replicas[1].substr(replicas[1].rfind(':') + 1));
        for (int i = 0; i < 10; ++i) {
            auto r = co_await set.query(kWhere, kNone, 0);
            EXPECT_TRUE(r.get<bool>(0, 0));
            EXPECT_EQ(r.get<std::int32_t>(0, 1), other_port);
        }
        // A read after the write sees it (the other replica or the primary).
        auto seen = co_await set.query_unprepared("SELECT count(*) FROM " + table, kNone, lsn);
        EXPECT_EQ(seen.get<std::int64_t>(0, 0), 1);
        // Resumed, it catches up and comes back.
        static_cast<void>(co_await first.query(kResume));
        co_await sample_until(&set, all_in, 10s, "the resumed replica is back");
    } catch (...) {
        failure = std::current_exception();
    }
    static_cast<void>(co_await first.query(kResume));
    set.close();
    first.close();
    primary.close();
    if (failure) std::rethrow_exception(failure);
}

TEST_F(DbReplicas, PausedReplicaLeavesTheRotationWhileTheOtherServes) {
    run_coro(paused_replica(primary_url_, replica_urls_, table_));
}

// A replica already far behind when the set starts: the set's history is then milliseconds long,
// and a replica that has replayed none of it must not count as within the limit.
asio::awaitable<void> behind_from_the_start(std::string primary_url,
                                            std::vector<std::string> replicas,
                                            std::string table) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    Pool first(ex, options_for(replicas[0]));
    std::exception_ptr failure;
    try {
        static_cast<void>(co_await first.query(kPause));
        static_cast<void>(
            co_await primary.query_unprepared("CREATE TABLE " + table + " (id int PRIMARY KEY)"));
        static_cast<void>(co_await primary.query_unprepared("INSERT INTO " + table + " VALUES (1)"));
        ReplicaSet set(ex, primary, settings_for(replicas));
        // Well inside the 300 ms limit of the set's age: only the rule above keeps it out.
        for (int i = 0; i < 4; ++i) {
            co_await set.sample();
            EXPECT_FALSE(set.states()[0].in_rotation)
                << "sample " << i << ": the paused replica is in rotation";
            co_await sleep_for(10ms);
        }
        const auto paused_port = std::stoi(replicas[0].substr(replicas[0].rfind(':') + 1));
        for (int i = 0; i < 6; ++i) {
            auto r = co_await set.query(kWhere, kNone, 0);
            EXPECT_NE(r.get<std::int32_t>(0, 1), paused_port) << "read " << i << " ran on the paused replica";
        }
        set.close();
    } catch (...) {
        failure = std::current_exception();
    }
    static_cast<void>(co_await first.query(kResume));
    first.close();
    primary.close();
    if (failure) std::rethrow_exception(failure);
}

TEST_F(DbReplicas, AReplicaFarBehindWhenTheSetStartsIsNotInRotation) {
    run_coro(behind_from_the_start(primary_url_, replica_urls_, table_));
}

// ---- failures --------------------------------------------------------------------------------------

// One replica that nothing listens on: sampled out, reads on the primary, never an error.
asio::awaitable<void> nothing_listens(std::string primary_url, std::string dead_url) {
    auto ex = co_await asio::this_coro::executor;
    Pool primary(ex, options_for(primary_url));
    std::vector<std::string> urls{std::move(dead_url)};
    ReplicaSet set(ex, primary, settings_for(urls));
    for (int i = 0; i < 3; ++i) co_await set.sample();
    EXPECT_EQ(set.in_rotation(), 0U);
    EXPECT_FALSE(set.states()[0].sampled);
    for (int i = 0; i < 5; ++i) {
        auto r = co_await set.query(kWhere, kNone, 0);
        EXPECT_FALSE(r.get<bool>(0, 0));
    }
    set.close();
    primary.close();
}

TEST_F(DbReplicas, ReplicaThatNeverAnsweredCostsNoError) {
    // Port 1 on the loopback: refused at once.
    run_coro(nothing_listens(primary_url_, "postgresql://emporium@127.0.0.1:1/postgres"));
}

// A replica in rotation whose connections the server drops (pg_terminate_backend): no read fails
// (the pool replaces the connections, or the statement reruns on the primary), and the replicas
// go on serving.
asio::awaitable<void> connections_dropped(std::string primary_url, std::vector<std::string> replicas) {
    auto ex = co_await asio::this_coro::executor;
    // Named, so that only this set's connections are dropped (others may use the cluster).
    const auto name = "replica_itest_" + test::unique_suffix();
    for (auto& url : replicas) url += "?application_name=" + name;
    Pool primary(ex, options_for(primary_url));
    Pool first(ex, options_for(replicas[0]));
    ReplicaSet set(ex, primary, settings_for(replicas));
    co_await sample_until(&set, all_in, 10s, "both replicas are in rotation");
    // Open connections to both replicas.
    for (int i = 0; i < 4; ++i) static_cast<void>(co_await set.query(kWhere, kNone, 0));
    static_cast<void>(
        co_await first.query_unprepared("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                                        "application_name = $1 AND pid <> pg_backend_pid()",
                                        db::params(name)));
    int on_replica = 0;
    for (int i = 0; i < 10; ++i) {
        auto r = co_await set.query(kWhere, kNone, 0);  // never throws
        if (r.get<bool>(0, 0)) ++on_replica;
    }
    EXPECT_GE(on_replica, 5);
    EXPECT_TRUE(set.states()[1].in_rotation);
    set.close();
    first.close();
    primary.close();
}

TEST_F(DbReplicas, DroppedConnectionsCostNoError) {
    run_coro(connections_dropped(primary_url_, replica_urls_));
}

asio::awaitable<void> sample_in(ReplicaSet* set) {
    co_await sample_until(set, all_in, 10s, "both replicas are in rotation");
}

asio::awaitable<int> read_through(ReplicaSet* set, int reads) {
    int on_replica = 0;
    for (int i = 0; i < reads; ++i) {
        auto r = co_await set->query(kWhere, kNone, 0);  // never throws
        if (r.get<bool>(0, 0)) ++on_replica;
    }
    co_return on_replica;
}

// A replica killed (SIGKILL-like immediate shutdown) while in rotation: no error, its reads move.
TEST_F(DbReplicas, KilledReplicaCostsNoError) {
    asio::io_context ctx;
    Pool primary(ctx.get_executor(), options_for(primary_url_));
    ReplicaSet set(ctx.get_executor(), primary, settings_for(replica_urls_));
    run_coro(ctx, sample_in(&set));
    EXPECT_EQ(run_coro(ctx, read_through(&set, 6)), 6);  // connections to both are open
    stop_node(port_of(replica_urls_[1]));
    EXPECT_GE(run_coro(ctx, read_through(&set, 20)), 9);  // the first replica still serves
    const auto states = set.states();
    EXPECT_TRUE(states[0].in_rotation);
    EXPECT_FALSE(states[1].in_rotation);
    set.close();
    primary.close();
    ctx.run_for(100ms);
}

}  // namespace
}  // namespace emporium::db
