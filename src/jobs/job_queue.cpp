#include "jobs/job_queue.hpp"

#include <boost/asio/this_coro.hpp>

#include "core/ids.hpp"
#include "core/log.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace emporium::jobs {

namespace asio = boost::asio;

namespace {

using redis::Reply;

const Reply& checked(const Reply& r, std::string_view what) {
    if (r.is_error()) throw redis::RedisError("jobs: " + std::string(what) + ": " + r.str);
    return r;
}

// Milliseconds part of a stream id "<ms>-<seq>".
std::optional<std::int64_t> id_ms(std::string_view id) {
    std::int64_t ms = 0;
    auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), ms);
    if (ec != std::errc()) return std::nullopt;
    return ms;
}

// Every script below touches the keys of one queue, which share the hash tag {q:<queue>}.

// KEYS: stream, marker 1, marker 2, ... ARGV: window ms, job 1, job 2, ...
// A job is appended only if its marker (its id) was not set within the window. A skipped job's
// marker is written again as it is (KEEPTTL): the script then always writes, so a WAIT after it on
// this connection covers the master's whole history up to now, the earlier attempt's append
// included. Without a write, WAIT would count replicas for this connection's last write, or for
// none on a new connection, and a retry would pass while the job is on the master only.
const redis::Script kEnqueue(R"lua(
local ids = {}
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'PX', ARGV[1]) then
    ids[i - 1] = redis.call('XADD', KEYS[1], '*', 'job', ARGV[i])
  else
    redis.call('SET', KEYS[i], '1', 'XX', 'KEEPTTL')
    ids[i - 1] = ''
  end
end
return ids
)lua");

// KEYS: stream, stats. ARGV: stream id.
const redis::Script kAck(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if n == 1 then redis.call('HINCRBY', KEYS[2], 'succeeded', 1) end
return n
)lua");

// KEYS: stream, delayed, stats. ARGV: stream id, due ms, job.
const redis::Script kRetry(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
if n == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], 'retried', 1)
return 1
)lua");

// KEYS: stream, dead, stats. ARGV: stream id, job, error, failed ms.
const redis::Script kBury(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
if n == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'job', ARGV[2], 'error', ARGV[3], 'failed_ms', ARGV[4])
redis.call('HINCRBY', KEYS[3], 'dead', 1)
return 1
)lua");

// KEYS: delayed, stream. ARGV: now ms, limit.
const redis::Script kPromote(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, job in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', job)
  redis.call('ZREM', KEYS[1], job)
end
return #due
)lua");

// KEYS: dead, stream. ARGV: dead id, job. Moves the entry only if it is still there.
const redis::Script kRevive(R"lua(
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
return 1
)lua");

// The upgrade from the keys before the hash tags (JobQueue::migrate_legacy).

// KEYS: a legacy stream or sorted set. Deletes it only if it is empty (an old process may still
// be adding to it).
const redis::Script kDropIfEmpty(R"lua(
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'stream' and redis.call('XLEN', KEYS[1]) > 0 then return 0 end
if t == 'zset' and redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
if t == 'none' then return 1 end
redis.call('DEL', KEYS[1])
return 1
)lua");

// KEYS: the legacy stats hash. ARGV: a field. Returns its value and removes it.
const redis::Script kTakeCounter(R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
return v
)lua");

// KEYS: the migration lock. ARGV: token.
const redis::Script kReleaseLock(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

constexpr std::int64_t kMigrateBatch = 500;

std::string field_of(const Reply& fields, std::string_view name) {
    for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        if (fields.elements[i].str == name) return fields.elements[i + 1].str;
    }
    return {};
}

}  // namespace

void parse_entries(const Reply& entries, std::string_view queue, std::vector<Job>& out, std::vector<std::string>& broken) {
    for (const auto& entry : entries.elements) {
        if (entry.elements.size() < 2 || entry.elements[1].is_nil()) continue;  // deleted meanwhile
        const auto& id = entry.elements[0].str;
        auto job = decode(field_of(entry.elements[1], "job"));
        if (!job || job->queue != queue) {
            broken.push_back(id);
            continue;
        }
        job->stream_id = id;
        out.push_back(std::move(*job));
    }
}

JobQueue::JobQueue(ClientRef redis, redis::Keys keys) : redis_(std::move(redis)), keys_(std::move(keys)) {}

namespace {

std::string queue_tag(std::string_view queue) { return "q:" + std::string(queue); }

}  // namespace

std::string JobQueue::stream_key(std::string_view queue) const { return keys_.tagged(queue_tag(queue), "jobs", "stream"); }
std::string JobQueue::delayed_key(std::string_view queue) const { return keys_.tagged(queue_tag(queue), "jobs", "delayed"); }
std::string JobQueue::dead_key(std::string_view queue) const { return keys_.tagged(queue_tag(queue), "jobs", "dead"); }
std::string JobQueue::stats_key(std::string_view queue) const { return keys_.tagged(queue_tag(queue), "jobs", "stats"); }
std::string JobQueue::enqueued_key(std::string_view queue, std::string_view job_id) const {
    return keys_.tagged(queue_tag(queue), "jobs", "enq", job_id);
}
std::string JobQueue::legacy_stream_key(std::string_view queue) const { return keys_.make("jobs", "stream", queue); }
std::string JobQueue::legacy_delayed_key(std::string_view queue) const { return keys_.make("jobs", "delayed", queue); }
std::string JobQueue::legacy_dead_key(std::string_view queue) const { return keys_.make("jobs", "dead", queue); }
std::string JobQueue::legacy_stats_key() const { return keys_.make("jobs", "stats"); }

asio::awaitable<void> JobQueue::ensure_groups() {
    std::vector<std::vector<std::string>> commands;
    commands.reserve(kQueues.size());
    for (auto q : kQueues) {
        commands.push_back(redis::cmd("XGROUP", "CREATE", stream_key(q), kConsumerGroup, "0", "MKSTREAM"));
    }
    auto replies = co_await redis_().pipeline(std::move(commands));
    for (const auto& r : replies) {
        if (r.is_error() && r.str.rfind("BUSYGROUP", 0) != 0) throw redis::RedisError("jobs: XGROUP CREATE: " + r.str);
    }
}

asio::awaitable<std::vector<std::string>> JobQueue::enqueue(std::vector<Job> jobs) {
    std::vector<std::string> ids(jobs.size());
    if (jobs.empty()) co_return ids;
    const auto now = now_ms();
    for (auto& job : jobs) {
        if (job.id.empty()) throw std::invalid_argument("jobs: a job needs an id (it is what makes it run once)");
        if (job.created_ms == 0) job.created_ms = now;
    }
    // One script call per queue (a queue's keys share a slot; a batch has at most kQueues.size()
    // queues), in the order the queues first appear in the batch.
    std::vector<bool> done(jobs.size(), false);
    for (std::size_t first = 0; first < jobs.size(); ++first) {
        if (done[first]) continue;
        const auto queue = jobs[first].queue;
        std::vector<std::size_t> positions;
        std::vector<std::string> keys{stream_key(queue)};
        std::vector<std::string> args{std::to_string(kEnqueueDedupeWindow.count())};
        for (std::size_t i = first; i < jobs.size(); ++i) {
            if (done[i] || jobs[i].queue != queue) continue;
            done[i] = true;
            positions.push_back(i);
            keys.push_back(enqueued_key(queue, jobs[i].id));
            args.push_back(encode(jobs[i]));
        }
        auto reply = co_await redis_().eval(kEnqueue, std::move(keys), std::move(args));
        const auto& added = checked(reply, "enqueue").elements;
        if (added.size() != positions.size()) throw redis::RedisError("jobs: enqueue: unexpected reply");
        for (std::size_t k = 0; k < positions.size(); ++k) ids[positions[k]] = added[k].str;
        if (replica_acks_ > 0) {
            const auto acked = co_await redis_().wait_replicas(stream_key(queue), replica_acks_, replica_ack_timeout_);
            if (acked < replica_acks_) {
                throw redis::RedisError("jobs: enqueue to queue " + queue + " acknowledged by " + std::to_string(acked) +
                                        " of " + std::to_string(replica_acks_) + " replicas");
            }
        }
    }
    co_return ids;
}

namespace {

// Stream entries of `queue` that are not jobs (parse_entries set them aside) go to the dead letters
// as they are, so that no consumer reads them again.
asio::awaitable<void> bury_undecodable(JobQueue* jobs, std::string queue, std::vector<std::string> stream_ids) {
    for (auto& id : stream_ids) {
        Job raw;
        raw.queue = queue;
        raw.stream_id = std::move(id);
        raw.id = "undecodable";
        co_await jobs->bury(std::move(raw), "the stream entry is not a job");
    }
}

}  // namespace

asio::awaitable<std::vector<Job>> JobQueue::read(std::string consumer,
                                                 std::vector<std::string> queues,
                                                 std::int64_t count) {
    std::vector<Job> jobs;
    for (const auto& q : queues) {
        const auto wanted = count - static_cast<std::int64_t>(jobs.size());
        if (wanted <= 0) break;
        auto reply = co_await redis_().command(redis::cmd("XREADGROUP", "GROUP", kConsumerGroup, consumer, "COUNT",
                                                          std::to_string(wanted), "STREAMS", stream_key(q), ">"));
        if (reply.is_error() && reply.str.rfind("NOGROUP", 0) == 0) {
            // The stream vanished (Redis restarted without persistence): recreate them.
            co_await ensure_groups();
            continue;
        }
        checked(reply, "XREADGROUP");
        for (const auto& stream : reply.elements) {
            if (stream.elements.size() < 2) continue;
            std::vector<std::string> broken;
            parse_entries(stream.elements[1], q, jobs, broken);
            co_await bury_undecodable(this, q, std::move(broken));
        }
    }
    co_return jobs;
}

asio::awaitable<std::string> JobQueue::last_id(std::string queue) {
    auto reply = co_await redis_().command(redis::cmd("XINFO", "STREAM", stream_key(queue)));
    if (reply.is_error()) co_return std::string("$");  // no stream yet: anything added later is new
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        if (reply.elements[i].str == "last-generated-id") co_return reply.elements[i + 1].str;
    }
    co_return std::string("$");
}

asio::awaitable<std::optional<std::string>> JobQueue::wait_for_new(redis::Client& blocking,
                                                                  std::string queue,
                                                                  std::string after,
                                                                  std::chrono::milliseconds block) {
    auto reply = co_await blocking.command(
        redis::cmd("XREAD", "COUNT", "1", "BLOCK", std::to_string(block.count()), "STREAMS", stream_key(queue), after),
        block + std::chrono::milliseconds(2'000));
    checked(reply, "XREAD");
    for (const auto& stream : reply.elements) {
        if (stream.elements.size() < 2) continue;
        for (const auto& entry : stream.elements[1].elements) {
            if (!entry.elements.empty()) co_return entry.elements[0].str;
        }
    }
    co_return std::nullopt;
}

asio::awaitable<std::vector<Job>> JobQueue::reclaim(std::string consumer,
                                                    std::string queue,
                                                    std::chrono::milliseconds min_idle,
                                                    std::int64_t count) {
    auto reply = co_await redis_().command(redis::cmd("XAUTOCLAIM", stream_key(queue), kConsumerGroup, consumer,
                                                      std::to_string(min_idle.count()), "0-0", "COUNT",
                                                      std::to_string(std::max<std::int64_t>(1, count))));
    std::vector<Job> jobs;
    if (reply.is_error() && reply.str.rfind("NOGROUP", 0) == 0) co_return jobs;
    checked(reply, "XAUTOCLAIM");
    if (reply.elements.size() < 2) co_return jobs;
    std::vector<std::string> broken;
    parse_entries(reply.elements[1], queue, jobs, broken);
    co_await bury_undecodable(this, queue, std::move(broken));
    co_return co_await with_delivery_counts(queue, std::move(jobs));
}

asio::awaitable<std::vector<Job>> JobQueue::with_delivery_counts(std::string queue, std::vector<Job> jobs) {
    if (jobs.empty()) co_return jobs;
    std::vector<std::vector<std::string>> commands;
    commands.reserve(jobs.size());
    for (const auto& job : jobs) {
        commands.push_back(redis::cmd("XPENDING", stream_key(queue), kConsumerGroup, job.stream_id, job.stream_id, "1"));
    }
    auto replies = co_await redis_().pipeline(std::move(commands));
    for (std::size_t i = 0; i < jobs.size() && i < replies.size(); ++i) {
        const auto& r = replies[i];
        if (r.is_error() || r.elements.empty() || r.elements[0].elements.size() < 4) continue;
        // Each earlier delivery that never settled counts as a failed attempt (a crash, a hang).
        const auto deliveries = r.elements[0].elements[3].integer;
        if (deliveries > 1) jobs[i].attempt += static_cast<int>(std::min<std::int64_t>(deliveries - 1, 1'000));
    }
    co_return jobs;
}

asio::awaitable<void> JobQueue::touch(std::string consumer, std::string queue, std::vector<std::string> stream_ids) {
    if (stream_ids.empty()) co_return;
    std::vector<std::string> args{"XCLAIM", stream_key(queue), std::string(kConsumerGroup), consumer, "0"};
    args.insert(args.end(), stream_ids.begin(), stream_ids.end());
    args.emplace_back("JUSTID");
    co_await redis_().command(std::move(args));
}

asio::awaitable<bool> JobQueue::ack(Job job) {
    std::vector<std::string> keys{stream_key(job.queue), stats_key(job.queue)};
    std::vector<std::string> args{job.stream_id};
    auto r = co_await redis_().eval(kAck, std::move(keys), std::move(args));
    co_return checked(r, "ack").integer == 1;
}

asio::awaitable<bool> JobQueue::retry(Job job, std::int64_t due_ms, std::string error) {
    const auto stream_id = job.stream_id;
    job.attempt += 1;
    job.last_error = std::move(error);
    std::vector<std::string> keys{stream_key(job.queue), delayed_key(job.queue), stats_key(job.queue)};
    std::vector<std::string> args{stream_id, std::to_string(due_ms), encode(job)};
    auto r = co_await redis_().eval(kRetry, std::move(keys), std::move(args));
    co_return checked(r, "retry").integer == 1;
}

asio::awaitable<bool> JobQueue::bury(Job job, std::string error) {
    std::vector<std::string> keys{stream_key(job.queue), dead_key(job.queue), stats_key(job.queue)};
    std::vector<std::string> args{job.stream_id, encode(job), error, std::to_string(now_ms())};
    auto r = co_await redis_().eval(kBury, std::move(keys), std::move(args));
    co_return checked(r, "bury").integer == 1;
}

asio::awaitable<void> JobQueue::schedule(Job job, std::int64_t due_ms) {
    if (job.created_ms == 0) job.created_ms = now_ms();
    auto r = co_await redis_().command(redis::cmd("ZADD", delayed_key(job.queue), std::to_string(due_ms), encode(job)));
    checked(r, "ZADD");
}

asio::awaitable<std::int64_t> JobQueue::promote_due(std::int64_t now, std::int64_t limit) {
    // One call per queue (each queue's keys in their own slot).
    std::int64_t moved = 0;
    for (auto q : kQueues) {
        std::vector<std::string> keys{delayed_key(q), stream_key(q)};
        std::vector<std::string> args{std::to_string(now), std::to_string(limit)};
        auto r = co_await redis_().eval(kPromote, std::move(keys), std::move(args));
        moved += checked(r, "promote").integer;
    }
    co_return moved;
}

asio::awaitable<std::vector<QueueStats>> JobQueue::stats() {
    std::vector<std::vector<std::string>> commands;
    for (auto q : kQueues) {
        const auto stream = stream_key(q);
        commands.push_back(redis::cmd("XLEN", stream));
        commands.push_back(redis::cmd("XPENDING", stream, kConsumerGroup));
        commands.push_back(redis::cmd("ZCARD", delayed_key(q)));
        commands.push_back(redis::cmd("XLEN", dead_key(q)));
        commands.push_back(redis::cmd("XRANGE", stream, "-", "+", "COUNT", "1"));
        commands.push_back(redis::cmd("HGETALL", stats_key(q)));
    }
    auto replies = co_await redis_().pipeline(std::move(commands));
    const auto now = now_ms();
    std::vector<QueueStats> out;
    std::size_t i = 0;
    for (auto q : kQueues) {
        QueueStats s;
        s.queue = std::string(q);
        const auto length = checked(replies[i], "XLEN").integer;
        const auto& pel = replies[i + 1];
        s.in_progress = (!pel.is_error() && !pel.elements.empty()) ? pel.elements[0].integer : 0;
        s.pending = std::max<std::int64_t>(0, length - s.in_progress);
        s.delayed = checked(replies[i + 2], "ZCARD").integer;
        s.dead = checked(replies[i + 3], "XLEN").integer;
        const auto& first = replies[i + 4];
        if (!first.is_error() && !first.elements.empty() && !first.elements[0].elements.empty()) {
            if (auto ms = id_ms(first.elements[0].elements[0].str)) s.oldest_age_ms = std::max<std::int64_t>(0, now - *ms);
        }
        // The queue's own counters hash (one per queue: it is in the queue's slot).
        const auto& counters = checked(replies[i + 5], "HGETALL");
        for (std::size_t k = 0; k + 1 < counters.elements.size(); k += 2) {
            std::int64_t n = 0;
            const auto& value = counters.elements[k + 1].str;
            std::from_chars(value.data(), value.data() + value.size(), n);
            s.outcomes[counters.elements[k].str] = n;
        }
        out.push_back(std::move(s));
        i += 6;
    }
    co_return out;
}

asio::awaitable<std::vector<DeadJob>> JobQueue::dead_jobs(std::string queue, std::int64_t limit) {
    auto r = co_await redis_().command(
        redis::cmd("XREVRANGE", dead_key(queue), "+", "-", "COUNT", std::to_string(std::max<std::int64_t>(1, limit))));
    checked(r, "XREVRANGE");
    std::vector<DeadJob> out;
    for (const auto& entry : r.elements) {
        if (entry.elements.size() < 2) continue;
        DeadJob d;
        d.id = entry.elements[0].str;
        const auto& fields = entry.elements[1];
        if (auto job = decode(field_of(fields, "job"))) d.job = std::move(*job);
        d.job.queue = queue;
        d.error = field_of(fields, "error");
        const auto failed = field_of(fields, "failed_ms");
        std::from_chars(failed.data(), failed.data() + failed.size(), d.failed_ms);
        out.push_back(std::move(d));
    }
    co_return out;
}

asio::awaitable<core::Result<Job>> JobQueue::retry_dead(std::string dead_id) {
    for (auto q : kQueues) {
        auto r = co_await redis_().command(redis::cmd("XRANGE", dead_key(q), dead_id, dead_id));
        if (r.is_error()) {
            // A malformed id is "not found", not a server error.
            if (r.str.find("Invalid stream ID") != std::string::npos) break;
            checked(r, "XRANGE");
        }
        if (r.elements.empty() || r.elements[0].elements.size() < 2) continue;
        auto job = decode(field_of(r.elements[0].elements[1], "job"));
        if (!job) co_return core::make_error(core::Errc::kConflict, "the dead job cannot be decoded; it stays dead");
        job->attempt = 1;
        job->last_error.clear();
        std::vector<std::string> keys{dead_key(q), stream_key(q)};
        std::vector<std::string> args{dead_id, encode(*job)};
        auto moved = co_await redis_().eval(kRevive, std::move(keys), std::move(args));
        if (checked(moved, "revive").integer == 1) co_return std::move(*job);
        break;
    }
    co_return core::make_error(core::Errc::kNotFound, "no dead job with id " + dead_id);
}

namespace {

// Copies the entries of the legacy stream `from` to `to` (all their fields, new ids), a batch at a
// time, deleting each batch from `from` once it is in `to`: a crash in between queues that batch
// twice (at-least-once), never loses it. Returns how many entries moved.
asio::awaitable<std::int64_t> move_stream(redis::Client& client, std::string from, std::string to) {
    std::int64_t moved = 0;
    for (;;) {
        auto batch = co_await client.command(redis::cmd("XRANGE", from, "-", "+", "COUNT", kMigrateBatch));
        checked(batch, "XRANGE");
        if (batch.elements.empty()) co_return moved;
        std::vector<std::vector<std::string>> adds;
        std::vector<std::string> del{"XDEL", from};
        for (const auto& entry : batch.elements) {
            if (entry.elements.size() < 2) continue;
            std::vector<std::string> add{"XADD", to, "*"};
            for (const auto& field : entry.elements[1].elements) add.push_back(field.str);
            if (add.size() > 3) adds.push_back(std::move(add));
            del.push_back(entry.elements[0].str);
        }
        if (!adds.empty()) {
            for (const auto& r : co_await client.pipeline(std::move(adds))) checked(r, "XADD");
        }
        checked(co_await client.command(std::move(del)), "XDEL");
        moved += static_cast<std::int64_t>(batch.elements.size());
    }
}

// The same for a legacy sorted set of delayed jobs (members keep their due time as score).
asio::awaitable<std::int64_t> move_delayed(redis::Client& client, std::string from, std::string to) {
    std::int64_t moved = 0;
    for (;;) {
        auto batch = co_await client.command(redis::cmd("ZRANGE", from, "0", kMigrateBatch - 1, "WITHSCORES"));
        checked(batch, "ZRANGE");
        if (batch.elements.size() < 2) co_return moved;
        std::vector<std::string> add{"ZADD", to};
        std::vector<std::string> rem{"ZREM", from};
        for (std::size_t i = 0; i + 1 < batch.elements.size(); i += 2) {
            add.push_back(batch.elements[i + 1].str);
            add.push_back(batch.elements[i].str);
            rem.push_back(batch.elements[i].str);
        }
        checked(co_await client.command(std::move(add)), "ZADD");
        checked(co_await client.command(std::move(rem)), "ZREM");
        moved += static_cast<std::int64_t>(rem.size() - 2);
    }
}

}  // namespace

asio::awaitable<std::int64_t> JobQueue::migrate_legacy() {
    auto& client = redis_();
    // The common case (nothing left under the old names) costs one round trip.
    std::vector<std::vector<std::string>> probes;
    for (auto q : kQueues) {
        probes.push_back(redis::cmd("EXISTS", legacy_stream_key(q)));
        probes.push_back(redis::cmd("EXISTS", legacy_delayed_key(q)));
        probes.push_back(redis::cmd("EXISTS", legacy_dead_key(q)));
    }
    probes.push_back(redis::cmd("EXISTS", legacy_stats_key()));
    bool any = false;
    for (const auto& r : co_await client.pipeline(std::move(probes))) any = any || checked(r, "EXISTS").integer > 0;
    if (!any) co_return 0;

    // One migrating process at a time; the others find the lock taken and try again later.
    const auto lock = keys_.make("jobs", "migrate-lock");
    const auto token = core::random_hex_id();
    auto taken = co_await client.command(redis::cmd("SET", lock, token, "NX", "PX", "300000"));
    if (!taken.is_ok()) co_return 0;
    std::int64_t moved = 0;
    std::exception_ptr failure;
    try {
        co_await ensure_groups();
        for (auto q : kQueues) {
            // Every entry left in an old stream is undelivered or delivered and not acknowledged
            // (acknowledged entries are deleted): both are queued again, so a job whose worker
            // was stopped by the upgrade runs again (at-least-once; handlers are idempotent).
            moved += co_await move_stream(client, legacy_stream_key(q), stream_key(q));
            moved += co_await move_delayed(client, legacy_delayed_key(q), delayed_key(q));
            moved += co_await move_stream(client, legacy_dead_key(q), dead_key(q));
            // An old process still running may have added meanwhile: then the key stays, and the
            // next check moves the rest.
            std::vector<std::string> legacy;
            legacy.push_back(legacy_stream_key(q));
            legacy.push_back(legacy_delayed_key(q));
            legacy.push_back(legacy_dead_key(q));
            for (const auto& key : legacy) {
                std::vector<std::string> keys{key};
                std::vector<std::string> args;
                checked(co_await client.eval(kDropIfEmpty, std::move(keys), std::move(args)), "drop legacy key");
            }
        }
        // The outcome totals: fields "<queue>:<outcome>" of the one shared hash, each added to its
        // queue's own hash.
        auto fields = co_await client.command(redis::cmd("HKEYS", legacy_stats_key()));
        for (const auto& f : checked(fields, "HKEYS").elements) {
            const auto colon = f.str.find(':');
            std::vector<std::string> keys{legacy_stats_key()};
            std::vector<std::string> args{f.str};
            auto value = co_await client.eval(kTakeCounter, std::move(keys), std::move(args));
            checked(value, "take counter");
            if (colon == std::string::npos || value.is_nil() || !is_queue(f.str.substr(0, colon))) continue;
            const auto n = value.as_int();
            checked(co_await client.command(redis::cmd("HINCRBY", stats_key(f.str.substr(0, colon)), f.str.substr(colon + 1), n)),
                    "HINCRBY");
        }
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    try {
        std::vector<std::string> keys{lock};
        std::vector<std::string> args{token};
        co_await client.eval(kReleaseLock, std::move(keys), std::move(args));
    } catch (const std::exception&) {
        // The lock expires on its own.
    }
    if (failure) std::rethrow_exception(failure);
    if (moved > 0) core::log::info("jobs moved from the keys of the previous release", {{"entries", moved}});
    co_return moved;
}

}  // namespace emporium::jobs
