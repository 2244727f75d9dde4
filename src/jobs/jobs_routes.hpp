#pragma once
// HTTP adapters of the job system (admin only): queue statistics, the dead-letter streams and
// retrying a dead job. Documented in the OpenAPI document.

#include "http/openapi.hpp"
#include "http/router.hpp"
#include "jobs/job_queue.hpp"

#include <memory>

namespace emporium::jobs {

// The queue must outlive the router.
void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<JobQueue> queue);

boost::json::object to_json(const QueueStats& stats);
boost::json::object to_json(const Job& job);

}  // namespace emporium::jobs
