#include "notify/notify_routes.hpp"

#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>

namespace emporium::notify {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

asio::awaitable<Response> handle_receipt(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<NotifyService> service,
    RequestContext& ctx) {
    const auto id = http::parse_positive_int(ctx.param("id"));
    if (!id) {
        co_return http::problem_response(
            ctx,
            core::make_error(core::Errc::kValidation, "the order id is invalid", {{"id", "must be a positive integer"}}));
    }
    auto pdf = co_await service->receipt_pdf(*id, ctx.user_id.value_or(0), ctx.user_role == "admin");
    if (!pdf) co_return http::problem_response(ctx, pdf.error());
    auto res = http::text_response(ctx, Status::ok, std::move(*pdf), "application/pdf");
    res.set("Content-Disposition", "inline; filename=\"receipt-" + std::to_string(*id) + ".pdf\"");
    res.set("Cache-Control", "private, no-store");
    co_return res;
}

struct Bound {
    std::shared_ptr<NotifyService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return handle_receipt(service, ctx); }
};

}  // namespace

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<NotifyService> service) {
    router.add(http::Verb::get,
               "/api/v1/orders/{id}/receipt",
               Bound{std::move(service)},
               {"read", false, http::Access::kAuthenticated});
    openapi.add_operation(
        "/api/v1/orders/{id}/receipt",
        "get",
        json::object{
            {"tags", json::array{"orders"}},
            {"summary", "The PDF receipt of a paid order (owner or admin); rendered by a background job after payment"},
            {"operationId", "getReceipt"},
            {"security", http::OpenApi::bearer_security()},
            {"parameters",
             json::array{http::OpenApi::parameter("id", "path", http::OpenApi::integer_schema(), "order id", true)}},
            {"responses",
             json::object{{"200",
                           json::object{{"description", "the receipt"},
                                        {"content",
                                         json::object{{"application/pdf",
                                                       json::object{{"schema",
                                                                     json::object{{"type", "string"}, {"format", "binary"}}}}}}}}},
                          {"401", http::OpenApi::problem_ref("no token")},
                          {"404", http::OpenApi::problem_ref("no such order (or not yours), or no receipt yet")},
                          {"422", http::OpenApi::problem_ref("invalid id")}}}});
}

}  // namespace emporium::notify
