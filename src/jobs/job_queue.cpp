#include "jobs/job_queue.hpp"

#include <boost/asio/this_coro.hpp>

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

// KEYS: stream 1, marker 1, stream 2, marker 2, ... ARGV: window ms, job 1, job 2, ...
// A job is appended only if its marker (its id) was not set within the window.
const redis::Script kEnqueue(R"lua(
local ids = {}
for i = 1, #KEYS / 2 do
  if redis.call('SET', KEYS[2 * i], '1', 'NX', 'PX', ARGV[1]) then
    ids[i] = redis.call('XADD', KEYS[2 * i - 1], '*', 'job', ARGV[i + 1])
  else
    ids[i] = ''
  end
end
return ids
)lua");

// KEYS: stream, stats. ARGV: stream id, stats field.
const redis::Script kAck(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
if n == 1 then redis.call('HINCRBY', KEYS[2], ARGV[2], 1) end
return n
)lua");

// KEYS: stream, delayed, stats. ARGV: stream id, due ms, job, stats field.
const redis::Script kRetry(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
if n == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[4], 1)
return 1
)lua");

// KEYS: stream, dead, stats. ARGV: stream id, job, error, failed ms, stats field.
const redis::Script kBury(R"lua(
local n = redis.call('XACK', KEYS[1], 'workers', ARGV[1])
if n == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', 'job', ARGV[2], 'error', ARGV[3], 'failed_ms', ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
return 1
)lua");

// KEYS: delayed_1, stream_1, delayed_2, stream_2, … ARGV: now ms, limit per queue.
const redis::Script kPromote(R"lua(
local moved = 0
for i = 1, #KEYS, 2 do
  local due = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
  for _, job in ipairs(due) do
    redis.call('XADD', KEYS[i + 1], '*', 'job', job)
    redis.call('ZREM', KEYS[i], job)
    moved = moved + 1
  end
end
return moved
)lua");

// KEYS: dead, stream. ARGV: dead id, job. Moves the entry only if it is still there.
const redis::Script kRevive(R"lua(
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
return 1
)lua");

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

std::string JobQueue::stream_key(std::string_view queue) const { return keys_.make("jobs", "stream", queue); }
std::string JobQueue::delayed_key(std::string_view queue) const { return keys_.make("jobs", "delayed", queue); }
std::string JobQueue::dead_key(std::string_view queue) const { return keys_.make("jobs", "dead", queue); }
std::string JobQueue::stats_key() const { return keys_.make("jobs", "stats"); }
std::string JobQueue::enqueued_key(std::string_view job_id) const { return keys_.make("jobs", "enqueued", job_id); }

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
    std::vector<std::string> ids;
    if (jobs.empty()) co_return ids;
    std::vector<std::string> keys;
    std::vector<std::string> args{std::to_string(kEnqueueDedupeWindow.count())};
    keys.reserve(jobs.size() * 2);
    args.reserve(jobs.size() + 1);
    const auto now = now_ms();
    for (auto& job : jobs) {
        if (job.id.empty()) throw std::invalid_argument("jobs: a job needs an id (it is what makes it run once)");
        if (job.created_ms == 0) job.created_ms = now;
        keys.push_back(stream_key(job.queue));
        keys.push_back(enqueued_key(job.id));
        args.push_back(encode(job));
    }
    auto reply = co_await redis_().eval(kEnqueue, std::move(keys), std::move(args));
    for (const auto& r : checked(reply, "enqueue").elements) ids.push_back(r.str);
    co_return ids;
}

asio::awaitable<std::vector<Job>> JobQueue::read(redis::Client& blocking,
                                                 std::string consumer,
                                                 std::vector<std::string> queues,
                                                 std::int64_t count,
                                                 std::chrono::milliseconds block) {
    std::vector<std::string> args{"XREADGROUP", "GROUP", std::string(kConsumerGroup), consumer,
                                  "COUNT", std::to_string(std::max<std::int64_t>(1, count)),
                                  "BLOCK", std::to_string(block.count()), "STREAMS"};
    for (const auto& q : queues) args.push_back(stream_key(q));
    for (std::size_t i = 0; i < queues.size(); ++i) args.emplace_back(">");
    auto reply = co_await blocking.command(std::move(args), block + std::chrono::milliseconds(2'000));
    std::vector<Job> jobs;
    if (reply.is_error() && reply.str.rfind("NOGROUP", 0) == 0) {
        // The streams vanished (Redis restarted without persistence): recreate them.
        co_await ensure_groups();
        co_return jobs;
    }
    checked(reply, "XREADGROUP");
    for (const auto& stream : reply.elements) {
        if (stream.elements.size() < 2) continue;
        const auto& key = stream.elements[0].str;
        auto it = std::find_if(queues.begin(), queues.end(), [&](const std::string& q) { return stream_key(q) == key; });
        if (it == queues.end()) continue;
        std::vector<std::string> broken;
        parse_entries(stream.elements[1], *it, jobs, broken);
        for (const auto& id : broken) {
            Job raw;
            raw.queue = *it;
            raw.stream_id = id;
            raw.id = "undecodable";
            co_await bury(std::move(raw), "the stream entry is not a job");
        }
    }
    co_return jobs;
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
    for (const auto& id : broken) {
        Job raw;
        raw.queue = queue;
        raw.stream_id = id;
        raw.id = "undecodable";
        co_await bury(std::move(raw), "the stream entry is not a job");
    }
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
    std::vector<std::string> keys{stream_key(job.queue), stats_key()};
    std::vector<std::string> args{job.stream_id, job.queue + ":succeeded"};
    auto r = co_await redis_().eval(kAck, std::move(keys), std::move(args));
    co_return checked(r, "ack").integer == 1;
}

asio::awaitable<bool> JobQueue::retry(Job job, std::int64_t due_ms, std::string error) {
    const auto stream_id = job.stream_id;
    job.attempt += 1;
    job.last_error = std::move(error);
    std::vector<std::string> keys{stream_key(job.queue), delayed_key(job.queue), stats_key()};
    std::vector<std::string> args{stream_id, std::to_string(due_ms), encode(job), job.queue + ":retried"};
    auto r = co_await redis_().eval(kRetry, std::move(keys), std::move(args));
    co_return checked(r, "retry").integer == 1;
}

asio::awaitable<bool> JobQueue::bury(Job job, std::string error) {
    std::vector<std::string> keys{stream_key(job.queue), dead_key(job.queue), stats_key()};
    std::vector<std::string> args{job.stream_id, encode(job), error, std::to_string(now_ms()), job.queue + ":dead"};
    auto r = co_await redis_().eval(kBury, std::move(keys), std::move(args));
    co_return checked(r, "bury").integer == 1;
}

asio::awaitable<void> JobQueue::schedule(Job job, std::int64_t due_ms) {
    if (job.created_ms == 0) job.created_ms = now_ms();
    auto r = co_await redis_().command(redis::cmd("ZADD", delayed_key(job.queue), std::to_string(due_ms), encode(job)));
    checked(r, "ZADD");
}

asio::awaitable<std::int64_t> JobQueue::promote_due(std::int64_t now, std::int64_t limit) {
    std::vector<std::string> keys;
    for (auto q : kQueues) {
        keys.push_back(delayed_key(q));
        keys.push_back(stream_key(q));
    }
    std::vector<std::string> args{std::to_string(now), std::to_string(limit)};
    auto r = co_await redis_().eval(kPromote, std::move(keys), std::move(args));
    co_return checked(r, "promote").integer;
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
    }
    commands.push_back(redis::cmd("HGETALL", stats_key()));
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
        out.push_back(std::move(s));
        i += 5;
    }
    const auto& counters = checked(replies[i], "HGETALL");
    for (std::size_t k = 0; k + 1 < counters.elements.size(); k += 2) {
        const auto& field = counters.elements[k].str;
        const auto colon = field.find(':');
        if (colon == std::string::npos) continue;
        std::int64_t n = 0;
        const auto& value = counters.elements[k + 1].str;
        std::from_chars(value.data(), value.data() + value.size(), n);
        for (auto& s : out) {
            if (s.queue == field.substr(0, colon)) s.outcomes[field.substr(colon + 1)] = n;
        }
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

}  // namespace emporium::jobs
