#pragma once
// HTTP adapters of the job system (admin only): queue statistics, the dead-letter streams and
// retrying a dead job, each declared once (http::Api).

#include "http/endpoint.hpp"
#include "jobs/job_queue.hpp"

#include <memory>

namespace emporium::jobs {

// The queue must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<JobQueue>& queue);

}  // namespace emporium::jobs
