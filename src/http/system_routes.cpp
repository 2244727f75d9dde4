#include "http/system_routes.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/problem.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>

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
};

asio::awaitable<Response> healthz(RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    co_return json_response(ctx, Status::ok, json::object{{"status", "ok"}});
}

asio::awaitable<Response> readyz(std::shared_ptr<SystemState> state, RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    json::object checks;
    bool ready = true;
    for (const auto& check : state->checks) {
        try {
            co_await check.probe();
            checks[check.name] = "ok";
        } catch (const std::exception& e) {
            ready = false;
            checks[check.name] = "unavailable";
            core::log::warn("readiness check failed", {{"check", check.name}, {"error", e.what()}});
        }
    }
    if (ready) co_return json_response(ctx, Status::ok, json::object{{"status", "ready"}, {"checks", checks}});
    std::string failed;
    for (const auto& [name, v] : checks) {
        if (v.as_string() != "ok") failed += (failed.empty() ? "" : ", ") + std::string(name);
    }
    auto res = problem_response(ctx, core::Errc::kUnavailable, "not ready: " + failed + " unavailable");
    res.set(bhttp::field::retry_after, "1");
    co_return res;
}

asio::awaitable<Response> metrics(RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    co_return text_response(ctx, Status::ok, core::Metrics::global().render(), "text/plain; version=0.0.4; charset=utf-8");
}

asio::awaitable<Response> openapi_json(std::shared_ptr<SystemState> state, RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    co_return text_response(ctx, Status::ok, state->openapi->serialize(), "application/json");
}

asio::awaitable<Response> docs_redirect(RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    auto res = text_response(ctx, Status::moved_permanently, "", "text/plain");
    res.set(bhttp::field::location, "/docs/");
    co_return res;
}

asio::awaitable<Response> docs_file(std::shared_ptr<SystemState> state, RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    auto name = ctx.param("file");
    if (name.empty()) name = "index.html";
    const auto* file = state->docs.find(name);
    if (file == nullptr) co_return problem_response(ctx, core::Errc::kNotFound, "no such documentation file");
    auto res = text_response(ctx, Status::ok, file->body, file->content_type);
    res.set(bhttp::field::cache_control, "public, max-age=3600");
    co_return res;
}

json::object simple_op(std::string summary, std::string tag, std::string ok_description) {
    return json::object{{"summary", std::move(summary)},
                        {"tags", json::array{std::move(tag)}},
                        {"responses", json::object{{"200", json::object{{"description", std::move(ok_description)}}}}}};
}

}  // namespace

void register_system_routes(Router& router, OpenApi& openapi, std::vector<ReadinessCheck> checks,
                            const std::string& docs_dir) {
    auto state = std::make_shared<SystemState>();
    state->openapi = &openapi;
    state->checks = std::move(checks);
    auto loaded = state->docs.load_directory(docs_dir);
    if (loaded == 0) {
        core::log::warn("swagger-ui-dist not found; /docs serves only the initializer", {{"docs_dir", docs_dir}});
    }
    state->docs.put("index.html", "text/html; charset=utf-8", std::string(kDocsIndex));
    state->docs.put("swagger-initializer.js", "text/javascript; charset=utf-8", std::string(kDocsInitializer));

    RouteOptions no_body{"system", false};
    router.add(Verb::get, "/healthz", healthz, no_body);
    router.add(Verb::get, "/readyz", [state](RequestContext& ctx) { return readyz(state, ctx); }, no_body);
    router.add(Verb::get, "/metrics", metrics, no_body);
    router.add(Verb::get, "/openapi.json", [state](RequestContext& ctx) { return openapi_json(state, ctx); }, no_body);
    router.add(Verb::get, "/docs", docs_redirect, no_body);
    router.add(Verb::get, "/docs/", [state](RequestContext& ctx) { return docs_file(state, ctx); }, no_body);
    router.add(Verb::get, "/docs/{file}", [state](RequestContext& ctx) { return docs_file(state, ctx); }, no_body);

    openapi.add_tag("system", "Health, readiness, metrics and documentation");
    openapi.add_operation("/healthz", "get", simple_op("Liveness: the process answers", "system", "alive"));
    auto ready = simple_op("Readiness: PostgreSQL and Redis reachable", "system", "ready");
    ready["responses"].as_object()["503"] = OpenApi::problem_ref("a dependency is unavailable");
    openapi.add_operation("/readyz", "get", std::move(ready));
    openapi.add_operation("/metrics", "get", simple_op("Prometheus metrics (text format)", "system", "metrics"));
    openapi.add_operation("/openapi.json", "get", simple_op("This OpenAPI document", "system", "the document"));
}

}  // namespace emporium::http
