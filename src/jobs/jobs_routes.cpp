#include "jobs/jobs_routes.hpp"

#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>

namespace emporium::jobs {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

bool is_stream_id(std::string_view id) {
    const auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 >= id.size() || id.size() > 41) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i != dash && (id[i] < '0' || id[i] > '9')) return false;
    }
    return true;
}

asio::awaitable<Response> handle_stats(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<JobQueue> queue,
    RequestContext& ctx) {
    auto stats = co_await queue->stats();
    json::array queues;
    for (const auto& s : stats) queues.push_back(to_json(s));
    co_return http::json_response(ctx, Status::ok, json::object{{"queues", std::move(queues)}});
}

asio::awaitable<Response> handle_dead(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<JobQueue> queue,
    RequestContext& ctx) {
    std::vector<core::FieldError> problems;
    const auto name = ctx.query("queue");
    if (name && !is_queue(*name)) problems.push_back({"queue", "must be one of email, receipt, payment, recommend, default"});
    std::int64_t limit = 20;
    if (auto text = ctx.query("limit")) {
        auto parsed = http::parse_positive_int(*text, 100);
        if (parsed) {
            limit = *parsed;
        } else {
            problems.push_back({"limit", "must be an integer from 1 to 100"});
        }
    }
    if (!problems.empty()) {
        co_return http::problem_response(
            ctx, core::make_error(core::Errc::kValidation, "invalid query parameters", std::move(problems)));
    }
    json::array items;
    for (auto q : kQueues) {
        if (name && *name != q) continue;
        auto dead = co_await queue->dead_jobs(std::string(q), limit);
        for (auto& d : dead) {
            items.push_back(json::object{{"id", d.id},
                                         {"queue", d.job.queue},
                                         {"error", d.error},
                                         {"failed_ms", d.failed_ms},
                                         {"job", to_json(d.job)}});
        }
    }
    co_return http::json_response(ctx, Status::ok, json::object{{"items", std::move(items)}});
}

asio::awaitable<Response> handle_retry_dead(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<JobQueue> queue,
    RequestContext& ctx) {
    const auto id = ctx.param("id");
    if (!is_stream_id(id)) {
        co_return http::problem_response(
            ctx,
            core::make_error(core::Errc::kValidation, "the dead job id is invalid", {{"id", "must look like 1700000000000-0"}}));
    }
    auto job = co_await queue->retry_dead(std::string(id));
    if (!job) co_return http::problem_response(ctx, job.error());
    co_return http::json_response(ctx, Status::ok, json::object{{"requeued", to_json(*job)}});
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<JobQueue>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<JobQueue> queue;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(queue, ctx); }
};

void document(http::OpenApi& api) {
    api.add_tag("jobs", "Background job queues (admin)");
    const auto count = http::OpenApi::integer_schema();
    api.add_schema("QueueStats",
                   json::object{{"type", "object"},
                                {"properties",
                                 json::object{{"queue", json::object{{"type", "string"}}},
                                              {"pending", count},
                                              {"in_progress", count},
                                              {"delayed", count},
                                              {"dead", count},
                                              {"oldest_age_ms", json::object{{"type", json::array{"integer", "null"}}}},
                                              {"outcomes",
                                               json::object{{"type", "object"},
                                                            {"additionalProperties", count},
                                                            {"description", "succeeded, retried, dead: totals since the queue was created"}}}}}});
    const json::array tags{"jobs"};
    const json::object forbidden = http::OpenApi::problem_ref("not an admin");
    api.add_operation(
        "/api/v1/admin/jobs",
        "get",
        json::object{{"tags", tags},
                     {"summary", "Per queue: pending, in progress, delayed, dead, age of the oldest job"},
                     {"operationId", "jobStats"},
                     {"security", http::OpenApi::bearer_security()},
                     {"responses",
                      json::object{{"200",
                                    json::object{{"description", "queue statistics"},
                                                 {"content",
                                                  json::object{{"application/json",
                                                                json::object{{"schema",
                                                                              json::object{{"type", "object"},
                                                                                           {"properties",
                                                                                            json::object{{"queues",
                                                                                                          json::object{{"type", "array"},
                                                                                                                       {"items", http::OpenApi::schema_ref("QueueStats")}}}}}}}}}}}}},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"403", forbidden}}}});
    api.add_operation(
        "/api/v1/admin/jobs/dead",
        "get",
        json::object{{"tags", tags},
                     {"summary", "Dead-lettered jobs, newest first, with their last error"},
                     {"operationId", "deadJobs"},
                     {"security", http::OpenApi::bearer_security()},
                     {"parameters",
                      json::array{http::OpenApi::parameter("queue", "query", http::OpenApi::string_schema(), "only this queue"),
                                  http::OpenApi::parameter("limit", "query", http::OpenApi::integer_schema(), "1..100 per queue, default 20")}},
                     {"responses",
                      json::object{{"200", json::object{{"description", "dead jobs"}}},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"403", forbidden},
                                   {"422", http::OpenApi::problem_ref("invalid queue or limit")}}}});
    api.add_operation(
        "/api/v1/admin/jobs/dead/{id}/retry",
        "post",
        json::object{{"tags", tags},
                     {"summary", "Move a dead job back to its queue with a fresh attempt count"},
                     {"operationId", "retryDeadJob"},
                     {"security", http::OpenApi::bearer_security()},
                     {"parameters",
                      json::array{http::OpenApi::parameter("id", "path", http::OpenApi::string_schema(), "dead-letter entry id", true)}},
                     {"responses",
                      json::object{{"200", json::object{{"description", "requeued"}}},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"403", forbidden},
                                   {"404", http::OpenApi::problem_ref("no such dead job")},
                                   {"422", http::OpenApi::problem_ref("malformed id")}}}});
}

}  // namespace

json::object to_json(const QueueStats& s) {
    json::object outcomes;
    for (const auto& [k, v] : s.outcomes) outcomes[k] = v;
    json::object o{{"queue", s.queue},
                   {"pending", s.pending},
                   {"in_progress", s.in_progress},
                   {"delayed", s.delayed},
                   {"dead", s.dead},
                   {"outcomes", std::move(outcomes)}};
    o["oldest_age_ms"] = s.oldest_age_ms ? json::value(*s.oldest_age_ms) : json::value(nullptr);
    return o;
}

json::object to_json(const Job& job) {
    json::object o{{"id", job.id},
                   {"type", job.type},
                   {"queue", job.queue},
                   {"attempt", job.attempt},
                   {"created_ms", job.created_ms},
                   {"payload", job.payload}};
    if (!job.last_error.empty()) o["last_error"] = job.last_error;
    return o;
}

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<JobQueue> queue) {
    using http::Access;
    using http::Verb;
    const http::RouteOptions read{"read", false, Access::kAdmin};
    const http::RouteOptions action{"write", false, Access::kAdmin};
    router.add(Verb::get, "/api/v1/admin/jobs", Bound{handle_stats, queue}, read);
    router.add(Verb::get, "/api/v1/admin/jobs/dead", Bound{handle_dead, queue}, read);
    router.add(Verb::post, "/api/v1/admin/jobs/dead/{id}/retry", Bound{handle_retry_dead, queue}, action);
    document(openapi);
}

}  // namespace emporium::jobs
