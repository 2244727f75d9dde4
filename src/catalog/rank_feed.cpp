#include "catalog/rank_feed.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace emporium::catalog {

namespace asio = boost::asio;

namespace {

// Changes older than the cursors' lifetime plus this margin are no longer needed.
constexpr auto kHistoryMargin = std::chrono::minutes(5);
constexpr auto kTrimEvery = std::chrono::seconds(10);
// A waiter gives up (and its request fails with 503) if no round finished in this time.
constexpr auto kWaitLimit = std::chrono::seconds(30);

std::int64_t wall_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

RankIndex::Options index_options(const RankFeedSettings& s) {
    RankIndex::Options o;
    o.history_micros = std::chrono::duration_cast<std::chrono::microseconds>(s.cursor_ttl + kHistoryMargin).count();
    return o;
}

struct ResetJob {
    RankIndex* index;
    PgSnapshot snapshot;
    CatalogStore::RankBaseline* base;
    std::int64_t now_micros;
    bool operator()() const {
        index->reset(snapshot, base->products, std::move(base->history), now_micros, &base->texts);
        return true;
    }
};

struct RebuildJob {
    RankIndex* index;
    std::int64_t now_micros;
    bool operator()() const {
        index->rebuild(now_micros);
        return true;
    }
};

core::Metrics::Counter& rows_applied() {
    static auto& c = core::Metrics::global().counter(
        "emporium_rank_index_changes_total", "Catalog change rows applied to this process's rank index", {});
    return c;
}

}  // namespace

RankFeed::RankFeed(CatalogStore store, core::CpuPool& cpu, RankFeedSettings settings)
    : store_(std::move(store)), cpu_(cpu), settings_(std::move(settings)), index_(index_options(settings_)) {}

std::int64_t RankFeed::history_micros() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(settings_.cursor_ttl + kHistoryMargin).count();
}

asio::awaitable<void> RankFeed::load() {
    const auto started = std::chrono::steady_clock::now();
    auto base = co_await store_.load_rank_baseline(history_micros());
    auto snapshot = PgSnapshot::parse(base.snapshot);
    if (!snapshot) throw core::InfraError("rank index: unreadable snapshot " + base.snapshot);
    const auto products = base.products.size();
    auto resetting = core::run_on_cpu(cpu_, ResetJob{&index_, std::move(*snapshot), &base, base.now_micros});
    static_cast<void>(co_await std::move(resetting));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    core::log::info("rank index loaded", {{"products", static_cast<std::int64_t>(products)}, {"ms", ms}});
    core::Metrics::global()
        .gauge("emporium_rank_index_products", "Visible products in this process's rank index", {})
        .set(static_cast<std::int64_t>(index_.size()));
}

asio::awaitable<void> RankFeed::catch_up() {
    if (!index_.loaded()) {
        co_await load();
        co_return;
    }
    const auto current = index_.snapshot();
    auto r = co_await store_.rank_changes_since(current.text(), current.xmin);
    if (r.reload) {
        core::log::info("rank index reload requested by a bulk load");
        co_await load();
        co_return;
    }
    auto snapshot = PgSnapshot::parse(r.snapshot);
    if (!snapshot) throw core::InfraError("rank index: unreadable snapshot " + r.snapshot);
    const auto n = r.changes.size();
    if (on_change_) {
        for (const auto& c : r.changes) on_change_(c.product_id);
    }
    index_.apply(*snapshot, std::move(r.changes));
    if (n > 0) rows_applied().inc(n);
}

asio::awaitable<void> RankFeed::sync() {
    std::shared_ptr<Round> mine;
    std::shared_ptr<asio::steady_timer> timer;
    bool lead = false;
    const auto ex = co_await asio::this_coro::executor;
    {
        std::lock_guard lock(mutex_);
        if (!running_) {
            running_ = std::make_shared<Round>();
            mine = running_;
            lead = true;
        } else {
            if (!next_) next_ = std::make_shared<Round>();
            mine = next_;
            timer = std::make_shared<asio::steady_timer>(ex);
            timer->expires_after(kWaitLimit);
            mine->waiters.push_back(timer);
        }
    }
    if (lead) {
        co_await run_round(shared_from_this(), mine);
    } else {
        // Woken by the round's end (which sets the timer's expiry to the past), or the limit.
        static_cast<void>(co_await timer->async_wait(asio::as_tuple(asio::use_awaitable)));
    }
    std::exception_ptr error;
    {
        std::lock_guard lock(mutex_);
        if (!mine->done) throw core::TimeoutError("rank index: no catch-up finished in time");
        error = mine->error;
    }
    if (error) std::rethrow_exception(error);
}

asio::awaitable<void> RankFeed::refresh() {
    if (settings_.notify && listening_.load() && notified_.load() <= caught_up_.load()) co_return;
    co_await sync();
}

asio::awaitable<void> RankFeed::listen() {
    if (!settings_.notify) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto backoff = std::chrono::milliseconds(100);
    while (!stopping_) {
        std::unique_ptr<db::Connection> listener;
        try {
            listener = co_await db::Connection::connect(co_await asio::this_coro::executor, settings_.listen_connection);
            co_await listener->query_unprepared("LISTEN catalog_changes");
            // Changes committed before the LISTEN took effect were not notified: catch up once.
            notified_.fetch_add(1);
            listening_ = true;
            backoff = std::chrono::milliseconds(100);
            while (!stopping_) {
                if (co_await listener->wait_notification(std::chrono::milliseconds(250))) notified_.fetch_add(1);
            }
        } catch (const core::InfraError& e) {
            listening_ = false;
            core::log::warn("rank index: lost the LISTEN connection; catching up on every listing until it is back",
                            {{"error", e.what()}});
        }
        listening_ = false;
        if (listener) listener->close();
        if (stopping_) break;
        timer.expires_after(backoff);
        static_cast<void>(co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(5'000));
    }
}

asio::awaitable<void> RankFeed::run_round(std::shared_ptr<RankFeed> self, std::shared_ptr<Round> round) {
    std::exception_ptr error;
    // Notifications up to here are covered by this round's snapshot (taken after them).
    const auto seen = self->notified_.load();
    try {
        co_await self->catch_up();
        auto prev = self->caught_up_.load();
        while (prev < seen && !self->caught_up_.compare_exchange_weak(prev, seen)) {
        }
    } catch (const std::exception&) {
        error = std::current_exception();  // handed to every caller of the round
    }
    std::vector<std::shared_ptr<asio::steady_timer>> wake;
    std::shared_ptr<Round> next;
    {
        std::lock_guard lock(self->mutex_);
        round->done = true;
        round->error = error;
        wake = std::move(round->waiters);
        self->running_ = std::move(self->next_);
        self->next_.reset();
        next = self->running_;
    }
    for (auto& t : wake) {
        asio::post(t->get_executor(), [t] { t->expires_at(asio::steady_timer::time_point::min()); });
    }
    // The callers that arrived during this round: their round starts now, led by nobody in
    // particular (this caller returns to its request).
    if (next) {
        const auto ex = co_await asio::this_coro::executor;
        core::spawn_tracked(ex, run_round(self, next), "rank.catch_up");
    }
}

asio::awaitable<void> RankFeed::maintain() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto last_sync = std::chrono::steady_clock::now() - settings_.idle_sync;
    auto last_trim = std::chrono::steady_clock::now();
    auto last_warning = std::chrono::steady_clock::now() - std::chrono::minutes(1);
    while (!stopping_) {
        try {
            const auto now = std::chrono::steady_clock::now();
            if (!index_.loaded() || now - last_sync >= settings_.idle_sync) {
                co_await sync();
                last_sync = now;
            }
            const auto wall = wall_micros();
            if (index_.needs_rebuild(wall) && !rebuilding_.exchange(true)) {
                auto building = core::run_on_cpu(cpu_, RebuildJob{&index_, wall});
                std::exception_ptr failure;
                try {
                    static_cast<void>(co_await std::move(building));
                } catch (const std::exception&) {
                    failure = std::current_exception();
                }
                rebuilding_ = false;
                if (failure) std::rethrow_exception(failure);
                core::Metrics::global()
                    .counter("emporium_rank_index_builds_total", "Rank index builds sorted by this process", {})
                    .inc();
                core::Metrics::global()
                    .gauge("emporium_rank_index_products", "Visible products in this process's rank index", {})
                    .set(static_cast<std::int64_t>(index_.size()));
            }
            if (now - last_trim >= kTrimEvery) {
                index_.trim(wall);
                last_trim = now;
            }
        } catch (const core::InfraError& e) {
            if (std::chrono::steady_clock::now() - last_warning >= std::chrono::seconds(10)) {
                last_warning = std::chrono::steady_clock::now();
                core::log::warn("rank index maintenance failed; listings use the reference query until it recovers",
                                {{"error", e.what()}});
            }
        }
        timer.expires_after(settings_.maintenance_tick);
        static_cast<void>(co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    }
}

}  // namespace emporium::catalog
