#include "recommend/recommend_routes.hpp"

#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>

namespace emporium::recommend {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

constexpr std::int64_t kDefaultLimit = 10;
constexpr std::int64_t kMaxLimit = 50;

// The `limit` query parameter (1..50, default 10); nullopt after answering 422 in `problem`.
std::optional<std::int64_t> limit_of(const RequestContext& ctx, std::optional<Response>& problem) {
    auto text = ctx.query("limit");
    if (!text) return kDefaultLimit;
    auto v = http::parse_positive_int(*text, kMaxLimit);
    if (!v) {
        problem = http::problem_response(ctx,
                                         core::make_error(core::Errc::kValidation,
                                                          "the request has invalid query parameters",
                                                          {{"limit", "must be an integer from 1 to 50"}}));
    }
    return v;
}

asio::awaitable<Response> handle_also_bought(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<RecommendService> service,
    RequestContext& ctx) {
    auto id = http::parse_positive_int(ctx.param("id"));
    if (!id) {
        co_return http::problem_response(
            ctx, core::make_error(core::Errc::kValidation, "the product id is invalid", {{"id", "must be a positive integer"}}));
    }
    std::optional<Response> problem;
    auto limit = limit_of(ctx, problem);
    if (!limit) co_return std::move(*problem);
    auto body = co_await service->also_bought(*id, *limit);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto res = http::text_response(ctx, Status::ok, std::move(*body), "application/json");
    res.set("Cache-Control", "public, max-age=60");
    co_return res;
}

asio::awaitable<Response> handle_for_you(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<RecommendService> service,
    RequestContext& ctx) {
    std::optional<Response> problem;
    auto limit = limit_of(ctx, problem);
    if (!limit) co_return std::move(*problem);
    auto body = co_await service->recommendations(ctx.user_id.value_or(0), *limit);
    auto res = http::json_response(ctx, Status::ok, body);
    res.set("Cache-Control", "private, no-store");
    co_return res;
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<RecommendService>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<RecommendService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(service, ctx); }
};

void document(http::OpenApi& api) {
    api.add_tag("recommendations", "Frequently bought together, and recommendations for the signed-in customer");
    const json::array tags{"recommendations"};
    const auto limit = http::OpenApi::parameter(
        "limit", "query", json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 50}, {"default", 10}}, "how many");
    json::object item{{"allOf", json::array{http::OpenApi::schema_ref("Product")}},
                      {"properties", json::object{{"score", json::object{{"type", "number"}}}}}};
    json::object items{{"type", "array"}, {"items", std::move(item)}};
    const json::object list_response{{"type", "object"}, {"properties", json::object{{"items", std::move(items)}}}};
    api.add_operation(
        "/api/v1/products/{id}/also-bought",
        "get",
        json::object{
            {"tags", tags},
            {"summary", "Products most often bought together with this one (active products only)"},
            {"description", "Computed by the scheduled rebuild (RECOMMEND_SCORING: count, cosine, jaccard or lift) and "
                            "bumped as orders are paid; answers are cached for up to 60 s."},
            {"operationId", "alsoBought"},
            {"parameters",
             json::array{http::OpenApi::parameter("id", "path", http::OpenApi::integer_schema(), "product id", true), limit}},
            {"responses",
             json::object{{"200",
                           json::object{{"description", "neighbours, best first (empty when never bought together)"},
                                        {"content", json::object{{"application/json", json::object{{"schema", list_response}}}}}}},
                          {"404", http::OpenApi::problem_ref("no such product")},
                          {"422", http::OpenApi::problem_ref("invalid id or limit")}}}});
    api.add_operation(
        "/api/v1/recommendations",
        "get",
        json::object{
            {"tags", tags},
            {"summary", "Recommended for you: the neighbours of your recent purchases, minus what you own"},
            {"description", "source = cooccurrence, popular (no purchases yet: the shop's ranking) or mixed (topped up "
                            "with the ranking)."},
            {"operationId", "recommendations"},
            {"security", http::OpenApi::bearer_security()},
            {"parameters", json::array{limit}},
            {"responses",
             json::object{{"200", json::object{{"description", "recommendations"}}},
                          {"401", http::OpenApi::problem_ref("no token")},
                          {"422", http::OpenApi::problem_ref("invalid limit")}}}});
}

}  // namespace

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<RecommendService> service) {
    using http::Access;
    using http::Verb;
    router.add(Verb::get, "/api/v1/products/{id}/also-bought", Bound{handle_also_bought, service}, {"read", false, Access::kPublic});
    router.add(Verb::get, "/api/v1/recommendations", Bound{handle_for_you, service}, {"read", false, Access::kAuthenticated});
    document(openapi);
}

}  // namespace emporium::recommend
