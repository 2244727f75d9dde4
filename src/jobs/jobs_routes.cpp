#include "jobs/jobs_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::jobs {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

// Every name of kQueues (ConsoleE2E checks that each is accepted).
constexpr std::string_view kQueueNames = "email|receipt|payment|recommend|webhook|default";

struct QueueList {
    std::vector<QueueStats> queues;
};
BOOST_DESCRIBE_STRUCT(QueueList, (), (queues))

struct DeadQuery {
    std::optional<std::string> queue;
    std::int64_t limit = 20;
    static constexpr std::array kFields{core::field("queue").values(kQueueNames).describe("only this queue"),
                                        core::field("limit").range(1, 100).optional().describe("per queue, default 20")};
};
BOOST_DESCRIBE_STRUCT(DeadQuery, (), (queue, limit))

struct DeadEntry {
    std::string id;
    std::string queue;
    std::string error;
    std::int64_t failed_ms = 0;
    Job job;
    static constexpr std::array kFields{core::field("id").describe("dead-letter entry id (retry with it)")};
};
BOOST_DESCRIBE_STRUCT(DeadEntry, (), (id, queue, error, failed_ms, job))

struct DeadList {
    std::vector<DeadEntry> items;
};
BOOST_DESCRIBE_STRUCT(DeadList, (), (items))

struct DeadId {
    std::string id;
    static constexpr std::array kFields{
        core::field("id").length(3, 41).match("[0-9]+-[0-9]+", "must look like 1700000000000-0").describe("dead-letter entry id")};
};
BOOST_DESCRIBE_STRUCT(DeadId, (), (id))

struct Requeued {
    Job requeued;
};
BOOST_DESCRIBE_STRUCT(Requeued, (), (requeued))

asio::awaitable<Reply<QueueList>> stats(std::shared_ptr<JobQueue> queue, In<> /*in*/, Caller /*caller*/) {
    auto all = co_await queue->stats();
    co_return QueueList{std::move(all)};
}

asio::awaitable<Reply<DeadList>> dead(std::shared_ptr<JobQueue> queue, In<NoInput, DeadQuery> in, Caller /*caller*/) {
    DeadList out;
    for (auto q : kQueues) {
        if (in.query.queue && *in.query.queue != q) continue;
        auto jobs = co_await queue->dead_jobs(std::string(q), in.query.limit);
        for (auto& d : jobs) out.items.push_back({std::move(d.id), d.job.queue, std::move(d.error), d.failed_ms, std::move(d.job)});
    }
    co_return out;
}

asio::awaitable<Reply<Requeued>> retry_dead(std::shared_ptr<JobQueue> queue, In<DeadId> in, Caller /*caller*/) {
    auto job = co_await queue->retry_dead(std::move(in.path.id));
    if (!job) co_return job.error();
    co_return Requeued{std::move(*job)};
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<JobQueue>& queue) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("jobs", "Background job queues (admin)");
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/jobs",
             .id = "jobStats",
             .tag = "jobs",
             .summary = "Per queue: pending, in progress, delayed, dead, age of the oldest job",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "queue statistics"},
            stats, queue);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/jobs/dead",
             .id = "deadJobs",
             .tag = "jobs",
             .summary = "Dead-lettered jobs, newest first, with their last error",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "dead jobs"},
            dead, queue);
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/jobs/dead/{id}/retry",
             .id = "retryDeadJob",
             .tag = "jobs",
             .summary = "Move a dead job back to its queue with a fresh attempt count",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "requeued",
             .errors = {{404, "no such dead job"}}},
            retry_dead, queue);
}

}  // namespace emporium::jobs
