#pragma once
// Keeps a RankIndex equal to the database: loads every product once, then reads the change feed
// (catalog_changes) committed since the index's snapshot. A listing calls sync() first, so it is
// ranked as of a snapshot taken after the request arrived: "the same instant" as the reference
// query would be. Concurrent sync() calls share catch-up rounds: a caller that arrives while a
// round's query is in flight waits for the next round (whose snapshot is taken after it arrived),
// so one query serves every request that arrived meanwhile.
//
// A background task (maintain) catches up when idle, sorts new builds on the CPU pool and trims
// the kept history. All members may be called from any I/O thread; database work runs on the
// calling thread's pool.

#include "catalog/catalog_store.hpp"
#include "catalog/rank_index.hpp"
#include "core/cpu_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace emporium::catalog {

struct RankFeedSettings {
    // How long a cursor's snapshot can be ranked as of (changes are kept this long, plus a margin).
    std::chrono::seconds cursor_ttl{900};
    std::chrono::milliseconds idle_sync{1'000};
    std::chrono::milliseconds maintenance_tick{200};
    // notify: refresh() catches up only after PostgreSQL notified a change (LISTEN on
    // catalog_changes, opened by listen()); request: every refresh() catches up.
    bool notify = false;
    db::ConnectionOptions listen_connection;
};

class RankFeed : public std::enable_shared_from_this<RankFeed> {
public:
    RankFeed(CatalogStore store, core::CpuPool& cpu, RankFeedSettings settings = {});

    // Loads every product (and the kept history) as of one snapshot and builds. Throws
    // core::InfraError subclasses.
    boost::asio::awaitable<void> load();
    // Returns once the index reflects every change committed before the call. Throws
    // core::InfraError subclasses (the index is then unchanged).
    boost::asio::awaitable<void> sync();
    // What a listing calls: sync() in request mode, or while the listener is down; in notify mode
    // only when a change was notified since the last catch-up began (else nothing to read).
    boost::asio::awaitable<void> refresh();
    // Runs until stop(): LISTENs on catalog_changes (notify mode), reconnecting after failures.
    boost::asio::awaitable<void> listen();
    // A change committed by this process: the next refresh() catches up (its own writes are seen
    // at once, before PostgreSQL's notification arrives).
    void mark_changed() { notified_.fetch_add(1); }
    // Runs until stop(): idle catch-up, rebuilds, history trim. Loads first if needed (retrying).
    boost::asio::awaitable<void> maintain();
    void stop() { stopping_ = true; }

    bool ready() const { return index_.loaded(); }
    // Called (on the catching-up thread) with the id of every product a catch-up saw change.
    // Set before the feed is used.
    void on_change(std::function<void(std::int64_t)> listener) { on_change_ = std::move(listener); }
    RankIndex& index() { return index_; }
    const RankIndex& index() const { return index_; }
    std::int64_t history_micros() const;

private:
    struct Round {
        bool done = false;
        std::exception_ptr error;
        std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;
    };
    static boost::asio::awaitable<void> run_round(std::shared_ptr<RankFeed> self, std::shared_ptr<Round> round);
    boost::asio::awaitable<void> catch_up();

    CatalogStore store_;
    core::CpuPool& cpu_;
    RankFeedSettings settings_;
    RankIndex index_;
    std::mutex mutex_;
    std::shared_ptr<Round> running_;  // a round whose query is in flight
    std::shared_ptr<Round> next_;     // callers that arrived meanwhile
    std::atomic<bool> stopping_{false};
    std::atomic<bool> rebuilding_{false};
    std::atomic<bool> listening_{false};
    std::atomic<std::uint64_t> notified_{1};    // notifications (and own changes) seen
    std::atomic<std::uint64_t> caught_up_{0};   // notified_ when the last good catch-up began
    std::function<void(std::int64_t)> on_change_;
};

}  // namespace emporium::catalog
