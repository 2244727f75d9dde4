#pragma once
// Moves outbox rows (written in the same transaction as the change they describe) to the job
// queues, then marks them published. Woken by NOTIFY outbox_new, with a periodic poll as the
// safety net; rows are claimed with FOR UPDATE SKIP LOCKED so several workers share the work. If
// Redis is down the transaction rolls back and the events wait in PostgreSQL. Publishing twice
// (Redis accepted, the commit failed) is possible; handlers are idempotent.

#include "db/pg.hpp"
#include "jobs/job_queue.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace emporium::jobs {

struct OutboxEvent {
    std::int64_t id = 0;
    std::string aggregate_type;
    std::string aggregate_id;
    std::string event_type;
    boost::json::object payload;
    std::int64_t created_ms = 0;
};

// Which jobs an event type starts: event_type → [(job type, queue)].
class EventRoutes {
public:
    void on(std::string event_type, std::string job_type, std::string queue);
    // The jobs for one event: id "ob<event id>:<job type>", payload = the event payload plus
    // "event_id" and "event_type".
    std::vector<Job> jobs_for(const OutboxEvent& event) const;

private:
    std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>> routes_;
};

struct RelaySettings {
    std::int64_t batch = 200;
    std::chrono::milliseconds poll_interval{1'000};
    std::chrono::milliseconds max_backoff{5'000};
};

class OutboxRelay {
public:
    using PoolRef = std::function<db::Pool&()>;
    // More rows written for a batch in the batch's transaction (webhook deliveries, with outbox
    // events of their own that a later pass publishes once this one has committed: a job must
    // never run before the rows it reads exist).
    using Fanout = std::function<boost::asio::awaitable<void>(db::Transaction&, std::vector<OutboxEvent>)>;

    OutboxRelay(PoolRef pool,
                db::ConnectionOptions listen_connection,
                std::shared_ptr<JobQueue> queue,
                EventRoutes routes,
                RelaySettings settings);

    // Publishes every unpublished event (batch by batch); returns how many. Throws when
    // PostgreSQL or Redis fails (the current batch stays unpublished).
    boost::asio::awaitable<std::int64_t> publish_pending();
    // Deletes published events older than `days` (at most 10 000 per call); returns how many.
    boost::asio::awaitable<std::int64_t> purge_published(std::int64_t days);
    // Runs until stop().
    boost::asio::awaitable<void> run();
    void stop() { stopping_ = true; }
    void set_fanout(Fanout fanout) { fanout_ = std::move(fanout); }

    static constexpr std::string_view kChannel = "outbox_new";

private:
    boost::asio::awaitable<std::int64_t> publish_batch();

    PoolRef pool_;
    db::ConnectionOptions listen_connection_;
    std::shared_ptr<JobQueue> queue_;
    EventRoutes routes_;
    RelaySettings settings_;
    Fanout fanout_;
    bool stopping_ = false;
};

}  // namespace emporium::jobs
