#include "jobs/outbox_relay.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace emporium::jobs {

namespace asio = boost::asio;

namespace {

constexpr db::Statement kClaim{
    "jobs.outbox_claim",
    "SELECT id, aggregate_type, aggregate_id, event_type, payload, "
    "(extract(epoch FROM created_at) * 1000)::bigint AS created_ms "
    "FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"};
constexpr db::Statement kMarkPublished{"jobs.outbox_mark_published",
                                       "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"};

constexpr db::Statement kPurge{
    "jobs.outbox_purge",
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < now() - make_interval(days => $1::int) "
    "ORDER BY id LIMIT 10000)"};

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

void EventRoutes::on(std::string event_type, std::string job_type, std::string queue) {
    routes_[std::move(event_type)].emplace_back(std::move(job_type), std::move(queue));
}

std::vector<Job> EventRoutes::jobs_for(const OutboxEvent& event) const {
    std::vector<Job> out;
    auto it = routes_.find(event.event_type);
    if (it == routes_.end()) return out;
    for (const auto& [type, queue] : it->second) {
        Job job;
        job.id = "ob" + std::to_string(event.id) + ":" + type;
        job.type = type;
        job.queue = queue;
        job.payload = event.payload;
        job.payload["event_id"] = event.id;
        job.payload["event_type"] = event.event_type;
        job.created_ms = event.created_ms;
        out.push_back(std::move(job));
    }
    return out;
}

OutboxRelay::OutboxRelay(PoolRef pool,
                         db::ConnectionOptions listen_connection,
                         std::shared_ptr<JobQueue> queue,
                         EventRoutes routes,
                         RelaySettings settings)
    : pool_(std::move(pool)),
      listen_connection_(std::move(listen_connection)),
      queue_(std::move(queue)),
      routes_(std::move(routes)),
      settings_(settings) {
    listen_connection_.pipeline = false;
}

asio::awaitable<std::int64_t> OutboxRelay::publish_batch() {
    auto tx = co_await pool_().begin();
    auto rows = co_await tx.query(kClaim, settings_.batch);
    if (rows.empty()) {
        co_await tx.commit();
        co_return 0;
    }
    std::vector<Job> jobs;
    std::vector<std::int64_t> ids;
    std::vector<OutboxEvent> events;
    for (std::size_t i = 0; i < rows.rows(); ++i) {
        OutboxEvent e;
        e.id = rows.get<std::int64_t>(i, "id");
        e.aggregate_type = rows.get<std::string>(i, "aggregate_type");
        e.aggregate_id = rows.get<std::string>(i, "aggregate_id");
        e.event_type = rows.get<std::string>(i, "event_type");
        auto payload = rows.get<boost::json::value>(i, "payload");
        if (payload.is_object()) e.payload = std::move(payload.get_object());
        e.created_ms = rows.get<std::int64_t>(i, "created_ms");
        auto more = routes_.jobs_for(e);
        std::move(more.begin(), more.end(), std::back_inserter(jobs));
        ids.push_back(e.id);
        if (fanout_) events.push_back(std::move(e));
    }
    if (fanout_) co_await fanout_(tx, std::move(events));
    // Redis first: if it fails, the exception rolls the claim back and the events stay unpublished.
    co_await queue_->enqueue(std::move(jobs));
    co_await tx.query(kMarkPublished, ids);
    co_await tx.commit();
    core::Metrics::global()
        .counter("emporium_outbox_published_total", "Outbox events moved to the job queues")
        .inc(ids.size());
    co_return static_cast<std::int64_t>(ids.size());
}

asio::awaitable<std::int64_t> OutboxRelay::publish_pending() {
    std::int64_t total = 0;
    while (true) {
        const auto n = co_await publish_batch();
        total += n;
        if (n < settings_.batch) co_return total;
    }
}

asio::awaitable<std::int64_t> OutboxRelay::purge_published(std::int64_t days) {
    auto r = co_await pool_().query(kPurge, days);
    co_return r.affected();
}

asio::awaitable<void> OutboxRelay::run() {
    std::unique_ptr<db::Connection> listener;
    auto backoff = std::chrono::milliseconds(100);
    while (!stopping_) {
        if (!listener) {
            try {
                listener = co_await db::Connection::connect(co_await asio::this_coro::executor, listen_connection_);
                co_await listener->query_unprepared("LISTEN " + std::string(kChannel));
            } catch (const std::exception& e) {
                core::log::warn("outbox relay: LISTEN failed; polling", {{"error", e.what()}});
                listener.reset();
            }
        }
        bool failed = false;
        try {
            const auto n = co_await publish_pending();
            if (n > 0) core::log::debug("outbox relay published", {{"events", n}});
            backoff = std::chrono::milliseconds(100);
        } catch (const std::exception& e) {
            core::log::warn("outbox relay: publishing failed; events wait in PostgreSQL",
                            {{"error", e.what()}, {"retry_in_ms", backoff.count()}});
            failed = true;
        }
        if (failed) {
            co_await sleep_for(backoff);
            backoff = std::min(settings_.max_backoff, backoff * 2);
            continue;
        }
        if (!listener) {
            co_await sleep_for(settings_.poll_interval);
            continue;
        }
        try {
            // Wait for a NOTIFY or the poll interval, in short slices so stop() takes effect soon.
            const auto poll_at = std::chrono::steady_clock::now() + settings_.poll_interval;
            while (!stopping_ && std::chrono::steady_clock::now() < poll_at) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    poll_at - std::chrono::steady_clock::now());
                if (co_await listener->wait_notification(std::min(left, std::chrono::milliseconds(250)))) {
                    // Several commits may have notified: one pass publishes them all.
                    while (co_await listener->wait_notification(std::chrono::milliseconds(0))) {
                    }
                    break;
                }
            }
        } catch (const std::exception& e) {
            core::log::warn("outbox relay: lost the LISTEN connection", {{"error", e.what()}});
            listener.reset();
        }
    }
    if (listener) listener->close();
}

}  // namespace emporium::jobs
