#pragma once

#include "http/openapi.hpp"
#include "http/router.hpp"
#include "http/static_files.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace emporium::http {

// A dependency probe for /readyz: returns normally when the dependency answers, throws otherwise.
struct ReadinessCheck {
    std::string name;
    std::function<boost::asio::awaitable<void>()> probe;
};

// Where /metrics is answered on the API port: not at all when the process has a metrics port
// (METRICS_PORT; 404 here), and only with "Authorization: Bearer <token>" when a token is set.
struct MetricsExposure {
    bool on_api_port = true;
    std::string token;
};

// Operational endpoints: /healthz, /readyz, /metrics, /openapi.json, and Swagger UI under /docs
// (files of the swagger-ui-dist package in `docs_dir`, with our own initializer).
// The OpenApi object must outlive the router; the document is serialized per request so routes
// registered later are included.
void register_system_routes(Router& router, OpenApi& openapi, std::vector<ReadinessCheck> checks,
                            const std::string& docs_dir, MetricsExposure exposure = {});

}  // namespace emporium::http
