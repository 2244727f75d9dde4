#pragma once
// The Redis side of the job system: one Stream per queue read by the consumer group `workers`,
// a delayed sorted set per queue for retries, a dead-letter stream per queue and a hash of outcome
// counters per queue. Every state change of a delivered job (ack, retry, bury) is one Lua script,
// so a job is never both acknowledged and lost, and a delivery that another worker already settled
// (after a reclaim) is not settled twice.
//
// Keys: a queue's keys share the hash tag {q:<queue>} (one Redis Cluster slot), so that every
// script touches one slot: <prefix>{q:<queue>}:jobs:stream, …:jobs:delayed, …:jobs:dead,
// …:jobs:stats and the enqueue markers …:jobs:enq:<job id>. No call spans two queues.

#include "core/fields.hpp"
#include "jobs/jobs_types.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/describe/class.hpp>

#include <array>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace emporium::jobs {

struct QueueStats {
    std::string queue;
    std::int64_t pending = 0;      // in the stream, not yet delivered
    std::int64_t in_progress = 0;  // delivered, not yet acknowledged
    std::int64_t delayed = 0;      // waiting for a retry
    std::int64_t dead = 0;         // in the dead-letter stream
    std::optional<std::int64_t> oldest_age_ms;  // age of the oldest undelivered or running job
    std::map<std::string, std::int64_t> outcomes;  // succeeded, retried, dead (cluster-wide totals)
    static constexpr std::array kFields{
        core::field("outcomes").describe("succeeded, retried, dead: totals since the queue was created")};
};
BOOST_DESCRIBE_STRUCT(QueueStats, (), (queue, pending, in_progress, delayed, dead, oldest_age_ms, outcomes))

struct DeadJob {
    std::string id;  // dead-letter stream entry id
    Job job;
    std::string error;
    std::int64_t failed_ms = 0;
};

class JobQueue {
public:
    using ClientRef = std::function<redis::Client&()>;

    JobQueue(ClientRef redis, redis::Keys keys);

    std::string stream_key(std::string_view queue) const;
    std::string delayed_key(std::string_view queue) const;
    std::string dead_key(std::string_view queue) const;
    std::string stats_key(std::string_view queue) const;
    std::string enqueued_key(std::string_view queue, std::string_view job_id) const;
    // The names before the hash tags: <prefix>jobs:stream:<queue>, …:delayed:<queue>,
    // …:dead:<queue> and the shared <prefix>jobs:stats (fields "<queue>:<outcome>").
    std::string legacy_stream_key(std::string_view queue) const;
    std::string legacy_delayed_key(std::string_view queue) const;
    std::string legacy_dead_key(std::string_view queue) const;
    std::string legacy_stats_key() const;

    // How long a job id is remembered after it was enqueued: enqueueing the same id again within
    // this window is a no-op (a relay that published and then failed to record it, or crashed,
    // publishes the same outbox event again; the job must still run once).
    static constexpr std::chrono::milliseconds kEnqueueDedupeWindow{std::chrono::hours(1)};

    // With `replicas` > 0, enqueue() returns only once that many replicas of the queue's master
    // acknowledged the write (WAIT, at most `timeout`), and throws RedisError otherwise: the outbox
    // relay then keeps its rows unpublished and tries again, so a failover that loses the newest
    // writes of a master (replication is asynchronous) cannot lose a job.
    void require_replica_acks(std::int64_t replicas, std::chrono::milliseconds timeout) {
        replica_acks_ = replicas;
        replica_ack_timeout_ = timeout;
    }

    // Creates the consumer group of every queue (idempotent). Throws RedisError.
    boost::asio::awaitable<void> ensure_groups();
    // Moves what the previous release left under the legacy names (streams, delayed sets, dead
    // letters, the shared outcome totals) into the tagged keys; returns how many entries moved.
    // Entries are copied before they are deleted (a crash in between queues a job twice, never
    // loses one), and delivered-but-unacknowledged entries are queued again. Cheap when there is
    // nothing to move (one pipelined round of EXISTS); safe to run from several processes at once
    // (a lock key makes the others skip). Throws RedisError.
    boost::asio::awaitable<std::int64_t> migrate_legacy();
    // Appends jobs to their queues, one script call per queue, skipping any whose id was enqueued
    // within kEnqueueDedupeWindow; returns the stream ids in the order of `jobs` ("" for a skipped
    // duplicate). Throws RedisError.
    boost::asio::awaitable<std::vector<std::string>> enqueue(std::vector<Job> jobs);
    // Reads up to `count` new jobs for `consumer` without blocking: one XREADGROUP per queue, in
    // the order of `queues`, until `count` jobs are in hand. Throws RedisError.
    boost::asio::awaitable<std::vector<Job>> read(std::string consumer, std::vector<std::string> queues, std::int64_t count);
    // The id of the last entry added to `queue`'s stream ("$" when there is no stream yet).
    boost::asio::awaitable<std::string> last_id(std::string queue);
    // Waits up to `block` on the dedicated `blocking` client (a blocked connection cannot carry
    // other commands) for an entry of `queue` newer than `after`; returns its id, or nullopt after
    // the time ran out. Reads the stream outside the consumer group: it only tells that there is
    // something to read. Throws RedisError.
    boost::asio::awaitable<std::optional<std::string>> wait_for_new(redis::Client& blocking,
                                                                   std::string queue,
                                                                   std::string after,
                                                                   std::chrono::milliseconds block);
    // Takes over jobs of `queue` idle (unacknowledged) for at least `min_idle` — their worker died
    // or hangs. Each job's `attempt` counts the earlier deliveries.
    boost::asio::awaitable<std::vector<Job>> reclaim(std::string consumer,
                                                     std::string queue,
                                                     std::chrono::milliseconds min_idle,
                                                     std::int64_t count);
    // Resets the idle time of jobs this consumer is still running, so they are not reclaimed.
    boost::asio::awaitable<void> touch(std::string consumer, std::string queue, std::vector<std::string> stream_ids);

    // Settles one delivery; each returns false when the delivery was already settled elsewhere.
    boost::asio::awaitable<bool> ack(Job job);
    boost::asio::awaitable<bool> retry(Job job, std::int64_t due_ms, std::string error);
    boost::asio::awaitable<bool> bury(Job job, std::string error);

    // Schedules a job for later (used by retries and by callers that want a delay).
    boost::asio::awaitable<void> schedule(Job job, std::int64_t due_ms);
    // Moves due delayed jobs of every queue into their streams (one call per queue); returns how
    // many moved.
    boost::asio::awaitable<std::int64_t> promote_due(std::int64_t now_ms, std::int64_t limit = 500);

    boost::asio::awaitable<std::vector<QueueStats>> stats();
    // Newest first.
    boost::asio::awaitable<std::vector<DeadJob>> dead_jobs(std::string queue, std::int64_t limit);
    // Moves a dead job back to its queue with a fresh attempt count. Errors: kNotFound.
    boost::asio::awaitable<core::Result<Job>> retry_dead(std::string dead_id);

private:
    std::int64_t replica_acks_ = 0;
    std::chrono::milliseconds replica_ack_timeout_{1000};
    boost::asio::awaitable<std::vector<Job>> with_delivery_counts(std::string queue, std::vector<Job> jobs);

    ClientRef redis_;
    redis::Keys keys_;
};

// Parses the entries of an XREADGROUP/XAUTOCLAIM/XRANGE reply ([id, [field, value, …]] …).
// Entries whose `job` field does not decode are returned in `broken` (stream ids).
void parse_entries(const redis::Reply& entries, std::string_view queue, std::vector<Job>& out, std::vector<std::string>& broken);

}  // namespace emporium::jobs
