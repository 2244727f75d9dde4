#pragma once
// Read replicas (DATABASE_REPLICA_URLS): statements a caller chose to run on a replica go to one
// that is in rotation and has replayed the WAL up to the position the caller needs; otherwise, and
// whenever a replica fails, they run on the primary. A replica never causes an error the primary
// would not have caused.
//
// Lag is measured against the primary's WAL, not the clock of the last replayed transaction (which
// grows while the primary is idle): a sampler reads pg_current_wal_insert_lsn() on the primary and
// pg_last_wal_replay_lsn() on every replica every `sample_every`, keeps a short history of the
// primary's positions, and takes a replica's lag to be 0 when it has replayed the newest primary
// position, else the age of the newest primary position it has replayed (the whole history span
// when it has replayed none of them).
//
// Threading: like Pool, a ReplicaSet belongs to one I/O context (one per context, next to that
// context's primary pool) and is used only from that context's thread; there are no locks.

#include "db/pg.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::db {

// A WAL position (pg_lsn) as a number; 0 means "none" (no position required).
using Lsn = std::uint64_t;

// Parses PostgreSQL's text form "X/Y" (two hexadecimal halves of at most 8 digits each);
// nullopt for anything else.
std::optional<Lsn> parse_lsn(std::string_view text);
// The text form PostgreSQL prints ("16/B374D848", upper-case hex, no padding).
std::string format_lsn(Lsn lsn);

// The primary's current WAL insert position (pg_current_wal_insert_lsn()). Read after a commit, it
// is at or past that commit's record, also with synchronous_commit=off (where pg_current_wal_lsn()
// may still be behind it). Throws as Pool::query.
boost::asio::awaitable<Lsn> current_insert_lsn(Pool& primary);

struct ReplicaSettings {
    std::vector<std::string> urls;                // postgresql:// URLs, one per replica
    std::size_t pool_size = 2;                    // connections per replica (per I/O context)
    std::chrono::milliseconds max_lag{1'000};     // beyond it a replica leaves the rotation
    std::chrono::milliseconds retry{5'000};       // a failed replica is probed again after it
    std::chrono::milliseconds sample_every{500};  // how often positions are sampled
    std::chrono::milliseconds connect_timeout{3'000};
    std::chrono::milliseconds query_timeout{5'000};
    std::chrono::milliseconds acquire_timeout{2'000};
};

class ReplicaSet {
public:
    // `primary` must outlive the set. `label` names the set in metrics (the I/O context's index).
    ReplicaSet(boost::asio::any_io_executor ex,
               Pool& primary,
               ReplicaSettings settings,
               std::string label = "0");
    ~ReplicaSet();
    ReplicaSet(const ReplicaSet&) = delete;
    ReplicaSet& operator=(const ReplicaSet&) = delete;

    // No replica configured: every query goes straight to the primary.
    bool empty() const { return replicas_.empty(); }
    Pool& primary() { return primary_; }

    // Runs `stmt` on a replica in rotation whose sampled replay position is at or past `after`
    // (after == 0: any replica in rotation), round-robin, else on the primary. A replica's
    // infrastructure failure (connection lost, pool or statement timeout, a conflict with
    // recovery) takes it out of rotation when it is one and reruns the statement on the primary;
    // SQL errors propagate as from the primary. Throws as Pool::query (for the primary).
    boost::asio::awaitable<QueryResult> query(Statement stmt, Params params, Lsn after);
    boost::asio::awaitable<QueryResult> query_unprepared(std::string sql, Params params, Lsn after);

    // One sampling round: the primary's insert position, then each replica not in its failure
    // back-off. Never throws for a failed server (the replica leaves the rotation; a failed
    // primary sample keeps the history as it was).
    boost::asio::awaitable<void> sample();
    // Samples every `sample_every` until stop(). Spawn it (core::spawn_tracked) on the set's
    // executor; nothing samples when the set is empty. The set must outlive it.
    boost::asio::awaitable<void> run();
    // Both may be called from any thread (they run on the set's executor: at once when called
    // from it, else posted there): stop() ends run(); close() also closes the replicas'
    // connections (shutdown).
    void stop();
    void close();
    // Whether run() is running (it returns soon after stop()).
    bool running() const { return running_; }

    // What the set knows of each replica (tests, logs).
    struct ReplicaState {
        std::string name;  // host:port/dbname
        bool in_rotation = false;
        bool sampled = false;  // the last probe answered as a standby
        Lsn replay = 0;
        std::chrono::milliseconds lag{0};
    };
    std::vector<ReplicaState> states() const;
    std::size_t in_rotation() const;

private:
    struct Replica;
    struct PrimarySample {
        std::chrono::steady_clock::time_point at;
        Lsn lsn = 0;
    };
    using Clock = std::chrono::steady_clock;

    Replica* pick(Lsn after);
    bool is_in_rotation(const Replica& r, Clock::time_point now) const;
    std::chrono::milliseconds lag_of(Lsn replay, Clock::time_point now) const;
    void fail(Replica& r, const char* during, const std::exception& e);
    void publish_metrics();
    boost::asio::awaitable<void> sample_replica(Replica& r);  // NOLINT: awaited directly by sample()
    // Runs `stmt` (or `sql` when stmt.name is empty) on `pool`.
    static boost::asio::awaitable<QueryResult> run_on(Pool& pool,
                                                      Statement stmt,
                                                      std::string sql,
                                                      Params params);
    boost::asio::awaitable<QueryResult> route(Statement stmt, std::string sql, Params params, Lsn after);

    boost::asio::any_io_executor ex_;
    Pool& primary_;
    ReplicaSettings settings_;
    std::string label_;
    std::vector<std::unique_ptr<Replica>> replicas_;
    std::deque<PrimarySample> history_;
    std::size_t next_ = 0;  // round-robin position
    bool stopping_ = false;
    bool running_ = false;
    std::unique_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace emporium::db
