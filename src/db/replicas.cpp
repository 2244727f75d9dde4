#include "db/replicas.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

namespace emporium::db {

namespace asio = boost::asio;

namespace {

constexpr Statement kInsertLsn{"db.primary_insert_lsn", "SELECT pg_current_wal_insert_lsn()::text"};
constexpr Statement kReplayLsn{"db.replica_replay_lsn", "SELECT pg_last_wal_replay_lsn()::text"};

// How much primary history is kept: enough to date any lag up to a few times the limit.
constexpr std::size_t kMaxHistory = 256;

bool parse_hex32(std::string_view text, std::uint64_t& out) {
    if (text.empty() || text.size() > 8) return false;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 16);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

// host:port/dbname of a postgresql:// URL (no user, password or options), for logs and metrics.
std::string replica_name(std::string_view url) {
    if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
    if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
    if (auto q = url.find('?'); q != std::string_view::npos) url = url.substr(0, q);
    return std::string(url);
}

}  // namespace

std::optional<Lsn> parse_lsn(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    if (!parse_hex32(text.substr(0, slash), hi) || !parse_hex32(text.substr(slash + 1), lo))
        return std::nullopt;
    return (hi << 32U) | lo;
}

std::string format_lsn(Lsn lsn) {
    std::array<char, 24> buf{};
    const int n = std::snprintf(buf.data(),
                                buf.size(),
                                "%X/%X",
                                static_cast<unsigned>(lsn >> 32U),
                                static_cast<unsigned>(lsn & 0xFFFFFFFFU));
    return {buf.data(), static_cast<std::size_t>(n)};
}

asio::awaitable<Lsn> current_insert_lsn(Pool& primary) {
    auto r = co_await primary.query(kInsertLsn);
    const auto text = r.get<std::string>(0, 0);
    auto lsn = parse_lsn(text);
    if (!lsn) throw DbError("pg_current_wal_insert_lsn() returned '" + text + "'", "XX000");
    co_return *lsn;
}

struct ReplicaSet::Replica {
    Replica(const asio::any_io_executor& ex, PoolOptions options, std::string replica_name)
        : pool(ex, std::move(options)), name(std::move(replica_name)) {}
    Pool pool;
    std::string name;
    bool sampled = false;  // the last probe succeeded (it is a standby)
    Lsn replay = 0;        // as of the last successful probe
    std::chrono::milliseconds lag{0};
    Clock::time_point failed_until{};  // out of rotation until then (after a failure)
    core::Metrics::Gauge* lag_gauge = nullptr;
    core::Metrics::Counter* reads = nullptr;
    core::Metrics::Counter* failures = nullptr;
};

ReplicaSet::ReplicaSet(asio::any_io_executor ex, Pool& primary, ReplicaSettings settings, std::string label)
    : ex_(std::move(ex)), primary_(primary), settings_(std::move(settings)), label_(std::move(label)) {
    auto& metrics = core::Metrics::global();
    for (const auto& url : settings_.urls) {
        PoolOptions o;
        o.connection.url = url;
        o.connection.connect_timeout = settings_.connect_timeout;
        o.connection.query_timeout = settings_.query_timeout;
        o.connection.pipeline = true;
        o.max_size = std::max<std::size_t>(1, settings_.pool_size);
        o.acquire_timeout = settings_.acquire_timeout;
        auto r = std::make_unique<Replica>(ex_, std::move(o), replica_name(url));
        r->lag_gauge =
            &metrics.gauge("emporium_db_replica_lag_ms",
                           "Replication lag of each read replica as sampled (ms; -1 when it does not answer)",
                           {{"replica", r->name}, {"context", label_}});
        r->reads = &metrics.counter("emporium_db_replica_reads_total",
                                    "Statements routed to each read replica",
                                    {{"replica", r->name}});
        r->failures = &metrics.counter("emporium_db_replica_failures_total",
                                       "Read replica failures (queries rerun on the primary, failed probes)",
                                       {{"replica", r->name}});
        replicas_.push_back(std::move(r));
    }
}

ReplicaSet::~ReplicaSet() = default;

std::chrono::milliseconds ReplicaSet::lag_of(Lsn replay, Clock::time_point now) const {
    if (history_.empty() || replay >= history_.back().lsn) return std::chrono::milliseconds(0);
    // The newest primary sample the replica has replayed: it is at most that old.
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
        if (it->lsn <= replay) return std::chrono::duration_cast<std::chrono::milliseconds>(now - it->at);
    }
    // Not even the oldest sample: at least that old, and not known to be within the limit. (Right
    // after start-up the history is milliseconds long while the replica may be hours behind.)
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(now - history_.front().at),
                    settings_.max_lag + std::chrono::milliseconds(1));
}

bool ReplicaSet::is_in_rotation(const Replica& r, Clock::time_point now) const {
    return r.sampled && now >= r.failed_until && r.lag <= settings_.max_lag;
}

std::size_t ReplicaSet::in_rotation() const {
    const auto now = Clock::now();
    return static_cast<std::size_t>(std::count_if(
        replicas_.begin(), replicas_.end(), [&](const auto& r) { return is_in_rotation(*r, now); }));
}

std::vector<ReplicaSet::ReplicaState> ReplicaSet::states() const {
    const auto now = Clock::now();
    std::vector<ReplicaState> out;
    out.reserve(replicas_.size());
    for (const auto& r : replicas_)
        out.push_back(ReplicaState{r->name, is_in_rotation(*r, now), r->sampled, r->replay, r->lag});
    return out;
}

ReplicaSet::Replica* ReplicaSet::pick(Lsn after) {
    const auto now = Clock::now();
    const auto n = replicas_.size();
    for (std::size_t i = 0; i < n; ++i) {
        auto& r = *replicas_[(next_ + i) % n];
        if (is_in_rotation(r, now) && r.replay >= after) {
            next_ = (next_ + i + 1) % n;
            return &r;
        }
    }
    return nullptr;
}

void ReplicaSet::fail(Replica& r, const char* during, const std::exception& e) {
    const bool was_in = r.sampled && Clock::now() >= r.failed_until;
    r.sampled = false;
    r.failed_until = Clock::now() + settings_.retry;
    r.failures->inc();
    r.lag_gauge->set(-1);
    if (was_in) {
        core::log::warn("read replica out of rotation",
                        {{"replica", r.name},
                         {"during", during},
                         {"error", e.what()},
                         {"retry_ms", settings_.retry.count()}});
    }
    publish_metrics();
}

void ReplicaSet::publish_metrics() {
    core::Metrics::global()
        .gauge("emporium_db_replicas_in_rotation",
               "Read replicas in rotation per I/O context",
               {{"context", label_}})
        .set(static_cast<std::int64_t>(in_rotation()));
}

asio::awaitable<QueryResult> ReplicaSet::run_on(Pool& pool, Statement stmt, std::string sql, Params params) {
    if (stmt.name.empty()) co_return co_await pool.query_unprepared(std::move(sql), std::move(params));
    co_return co_await pool.query(stmt, std::move(params));
}

asio::awaitable<QueryResult> ReplicaSet::route(Statement stmt, std::string sql, Params params, Lsn after) {
    // The per-thread series of the primary's share (the registry's lookup takes a mutex).
    thread_local core::Metrics::Counter* primary_reads =
        &core::Metrics::global().counter("emporium_db_replica_routed_to_primary_total",
                                         "Replica-eligible statements that ran on the primary (no replica in "
                                         "rotation had replayed far enough, "
                                         "or a replica failed)");
    if (Replica* r = pick(after)) {
        r->reads->inc();
        // Kept for the rerun on the primary.
        Params copy = params;
        try {
            co_return co_await run_on(r->pool, stmt, sql, std::move(copy));
        } catch (const ConnectionLostError& e) {
            fail(*r, "query", e);
        } catch (const PoolTimeoutError& e) {
            fail(*r, "query", e);
        } catch (const QueryTimeoutError& e) {
            fail(*r, "query", e);
        } catch (const RetryableDbError& e) {
            // A conflict with recovery cancelled the statement (40001 on a standby): transient,
            // the replica stays in rotation.
            r->failures->inc();
            core::log::debug("read replica statement cancelled; rerun on the primary",
                             {{"replica", r->name}, {"error", e.what()}});
        }
    }
    primary_reads->inc();
    co_return co_await run_on(primary_, stmt, std::move(sql), std::move(params));
}

asio::awaitable<QueryResult> ReplicaSet::query(Statement stmt, Params params, Lsn after) {
    if (replicas_.empty()) co_return co_await primary_.query(stmt, std::move(params));
    co_return co_await route(stmt, std::string(), std::move(params), after);
}

asio::awaitable<QueryResult> ReplicaSet::query_unprepared(std::string sql, Params params, Lsn after) {
    if (replicas_.empty()) co_return co_await primary_.query_unprepared(std::move(sql), std::move(params));
    co_return co_await route(Statement{}, std::move(sql), std::move(params), after);
}

asio::awaitable<void> ReplicaSet::sample_replica(
    Replica& r) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    try {
        auto res = co_await r.pool.query(kReplayLsn);
        if (res.is_null(0, 0)) {
            // Not (or no longer) a standby: a promoted server's data may have diverged.
            const bool was_in = r.sampled;
            r.sampled = false;
            r.failed_until = Clock::now() + settings_.retry;
            r.lag_gauge->set(-1);
            if (was_in) core::log::warn("read replica out of rotation: not a standby", {{"replica", r.name}});
            co_return;
        }
        const auto text = res.get<std::string>(0, 0);
        auto lsn = parse_lsn(text);
        if (!lsn) throw DbError("pg_last_wal_replay_lsn() returned '" + text + "'", "XX000");
        const bool was_in = is_in_rotation(r, Clock::now());
        r.replay = std::max(r.replay, *lsn);
        r.sampled = true;
        r.lag = lag_of(r.replay, Clock::now());
        r.lag_gauge->set(r.lag.count());
        const bool now_in = is_in_rotation(r, Clock::now());
        if (was_in && !now_in) {
            core::log::warn(
                "read replica out of rotation: lagging",
                {{"replica", r.name}, {"lag_ms", r.lag.count()}, {"max_lag_ms", settings_.max_lag.count()}});
        } else if (!was_in && now_in) {
            core::log::info("read replica in rotation", {{"replica", r.name}, {"lag_ms", r.lag.count()}});
        }
    } catch (const DbError& e) {
        fail(r, "probe", e);
    } catch (const core::TimeoutError& e) {
        fail(r, "probe", e);
    }
}

asio::awaitable<void> ReplicaSet::sample() {
    if (replicas_.empty()) co_return;
    try {
        const auto lsn = co_await current_insert_lsn(primary_);
        history_.push_back(PrimarySample{Clock::now(), lsn});
        // Enough history to date a lag a few times the limit; older samples say nothing more.
        const auto keep = 4 * std::max(settings_.max_lag, settings_.sample_every) + settings_.sample_every;
        while (history_.size() > kMaxHistory ||
               (history_.size() > 2 && Clock::now() - history_.front().at > keep)) {
            history_.pop_front();
        }
    } catch (const DbError& e) {
        core::log::warn("replica sampler: primary position unavailable", {{"error", e.what()}});
    } catch (const core::TimeoutError& e) {
        core::log::warn("replica sampler: primary position unavailable", {{"error", e.what()}});
    }
    const auto now = Clock::now();
    for (auto& r : replicas_) {
        // A replica in its failure back-off is left alone until the back-off ends.
        if (now < r->failed_until) continue;
        co_await sample_replica(*r);
    }
    publish_metrics();
}

asio::awaitable<void> ReplicaSet::run() {
    if (replicas_.empty() || running_) co_return;
    running_ = true;
    if (!timer_) timer_ = std::make_unique<asio::steady_timer>(ex_);
    while (!stopping_) {
        co_await sample();
        if (stopping_) break;
        timer_->expires_after(settings_.sample_every);
        co_await timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    running_ = false;
}

void ReplicaSet::stop() {
    // The set belongs to its executor's thread; the caller may be on another one (a signal handler).
    asio::dispatch(ex_, [this] {
        stopping_ = true;
        if (timer_) timer_->cancel();
    });
}

void ReplicaSet::close() {
    asio::dispatch(ex_, [this] {
        stopping_ = true;
        if (timer_) timer_->cancel();
        for (auto& r : replicas_) r->pool.close();
    });
}

}  // namespace emporium::db
