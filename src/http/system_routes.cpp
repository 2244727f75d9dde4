#include "http/system_routes.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/metrics_listener.hpp"
#include "http/endpoint.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/object.hpp>

#include <array>

namespace emporium::http {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;

constexpr std::string_view kDocsIndex = R"(<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Emporium API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
)";

constexpr std::string_view kDocsInitializer = R"(window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
)";

struct SystemState {
    OpenApi* openapi;
    std::vector<ReadinessCheck> checks;
    StaticFiles docs;
    MetricsExposure metrics;
};

struct Health {
    std::string status;
};
BOOST_DESCRIBE_STRUCT(Health, (), (status))

struct Readiness {
    std::string status;
    json::object checks;  // dependency name → "ok"
    static constexpr std::array kFields{core::field("checks").describe("each dependency's state")};
};
BOOST_DESCRIBE_STRUCT(Readiness, (), (status, checks))

struct DocsFile {
    std::optional<std::string> file;
};
BOOST_DESCRIBE_STRUCT(DocsFile, (), (file))

asio::awaitable<Reply<Health>> healthz(std::shared_ptr<SystemState> /*state*/, In<> /*in*/, Caller /*caller*/) {
    co_return Health{"ok"};
}

asio::awaitable<Reply<Readiness>> readyz(std::shared_ptr<SystemState> state, In<> /*in*/, Caller /*caller*/) {
    Readiness out{"ready", {}};
    std::string failed;
    for (const auto& check : state->checks) {
        try {
            co_await check.probe();
            out.checks[check.name] = "ok";
        } catch (const std::exception& e) {
            out.checks[check.name] = "unavailable";
            failed += (failed.empty() ? "" : ", ") + check.name;
            core::log::warn("readiness check failed", {{"check", check.name}, {"error", e.what()}});
        }
    }
    if (failed.empty()) co_return out;
    Reply<Readiness> reply(core::make_error(core::Errc::kUnavailable, "not ready: " + failed + " unavailable"));
    co_return reply;
}

asio::awaitable<Reply<Bytes>> metrics(std::shared_ptr<SystemState> state, In<> /*in*/, Caller caller) {
    if (!state->metrics.on_api_port) {
        co_return core::make_error(core::Errc::kNotFound, "metrics are served on the metrics port (METRICS_PORT)");
    }
    if (!metrics_authorized(caller.header("Authorization").value_or(""), state->metrics.token)) {
        co_return core::make_error(core::Errc::kUnauthorized, "metrics want the bearer token (METRICS_TOKEN)");
    }
    co_return Bytes{core::Metrics::global().render(), "text/plain; version=0.0.4; charset=utf-8"};
}

asio::awaitable<Reply<Bytes>> openapi_json(std::shared_ptr<SystemState> state, In<> /*in*/, Caller /*caller*/) {
    co_return Bytes{state->openapi->serialize(), "application/json"};
}

asio::awaitable<Reply<NoContent>> docs_redirect(std::shared_ptr<SystemState> /*state*/, In<> /*in*/, Caller /*caller*/) {
    Reply<NoContent> reply(NoContent{});
    reply.header("Location", "/docs/");
    co_return reply;
}

asio::awaitable<Reply<Bytes>> docs_file(std::shared_ptr<SystemState> state, In<DocsFile> in, Caller /*caller*/) {
    const std::string name = in.path.file.value_or("index.html");
    const auto* file = state->docs.find(name);
    if (file == nullptr) co_return core::make_error(core::Errc::kNotFound, "no such documentation file");
    Reply<Bytes> reply(Bytes{file->body, file->content_type});
    reply.header("Cache-Control", "public, max-age=3600");
    co_return reply;
}

}  // namespace

void register_system_routes(Router& router, OpenApi& openapi, std::vector<ReadinessCheck> checks,
                            const std::string& docs_dir, MetricsExposure exposure) {
    auto state = std::make_shared<SystemState>();
    state->metrics = std::move(exposure);
    state->openapi = &openapi;
    state->checks = std::move(checks);
    auto loaded = state->docs.load_directory(docs_dir);
    if (loaded == 0) {
        core::log::warn("swagger-ui-dist not found; /docs serves only the initializer", {{"docs_dir", docs_dir}});
    }
    state->docs.put("index.html", "text/html; charset=utf-8", std::string(kDocsIndex));
    state->docs.put("swagger-initializer.js", "text/javascript; charset=utf-8", std::string(kDocsInitializer));

    Api api(router, openapi);
    openapi.add_tag("system", "Health, readiness, metrics and documentation");
    api.add({.method = Verb::get, .path = "/healthz", .id = "healthz", .tag = "system",
             .summary = "Liveness: the process answers", .rate_group = "system", .success_description = "alive"},
            healthz, state);
    api.add({.method = Verb::get, .path = "/readyz", .id = "readyz", .tag = "system",
             .summary = "Readiness: PostgreSQL and Redis reachable", .rate_group = "system",
             .success_description = "ready"},
            readyz, state);
    api.add({.method = Verb::get, .path = "/metrics", .id = "metrics", .tag = "system",
             .summary = "Prometheus metrics (text format)",
             .description = "Not here when the server has a metrics port of its own (METRICS_PORT); with METRICS_TOKEN "
                            "it wants Authorization: Bearer <token>.",
             .rate_group = "system", .success_description = "metrics", .media_type = "text/plain",
             .errors = {{401, "METRICS_TOKEN is set and the request does not carry it"},
                        {404, "served on the metrics port (METRICS_PORT) instead"}},
             .request_headers = {{"Authorization", "Bearer <METRICS_TOKEN>, when it is set"}}},
            metrics, state);
    api.add({.method = Verb::get, .path = "/openapi.json", .id = "openapi", .tag = "system",
             .summary = "This OpenAPI document", .rate_group = "system", .success_description = "the document"},
            openapi_json, state);
    // Swagger UI's files: declared like every route, kept out of the API document.
    api.add({.method = Verb::get, .path = "/docs", .id = "docsRedirect", .rate_group = "system",
             .success = Status::moved_permanently, .hidden = true},
            docs_redirect, state);
    api.add({.method = Verb::get, .path = "/docs/", .id = "docsIndex", .rate_group = "system", .hidden = true},
            docs_file, state);
    api.add({.method = Verb::get, .path = "/docs/{file}", .id = "docsFile", .rate_group = "system", .hidden = true},
            docs_file, state);
}

}  // namespace emporium::http
