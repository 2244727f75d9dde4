#include "payments/payments_routes.hpp"

#include "http/json_body.hpp"
#include "http/problem.hpp"
#include "orders/orders_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace emporium::payments {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

std::optional<std::int64_t> order_id_of(const RequestContext& ctx) { return http::parse_positive_int(ctx.param("id")); }

Response invalid_id(const RequestContext& ctx) {
    return http::problem_response(
        ctx, core::make_error(core::Errc::kValidation, "the order id is invalid", {{"id", "must be a positive integer"}}));
}

asio::awaitable<Response> handle_pay(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<PaymentsService> service,
    RequestContext& ctx) {
    auto id = order_id_of(ctx);
    if (!id) co_return invalid_id(ctx);
    auto key = orders::idempotency_key(ctx);
    if (!key) co_return http::problem_response(ctx, key.error());
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto token = parse_pay_request(*body);
    if (!token) co_return http::problem_response(ctx, token.error());
    const auto user_id = ctx.user_id.value_or(0);
    std::string fingerprint = "POST /api/v1/orders/" + std::to_string(*id) + "/pay\n" + json::serialize(*body);
    auto started = co_await service->request_payment(user_id, *id, *key, std::move(*token), std::move(fingerprint));
    if (!started) co_return http::problem_response(ctx, started.error());
    if (started->failure) {
        auto res = http::problem_response(ctx, *started->failure);
        co_await service->remember_failure(user_id, std::move(*key), static_cast<std::int32_t>(res.result_int()), res.body());
        co_return res;
    }
    auto res = orders::stored_response(ctx, *started);
    if (started->status == 202) res.set("Location", "/api/v1/orders/" + std::to_string(*id) + "/payment");
    co_return res;
}

asio::awaitable<Response> handle_payment(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<PaymentsService> service,
    RequestContext& ctx) {
    auto id = order_id_of(ctx);
    if (!id) co_return invalid_id(ctx);
    auto list = co_await service->payments_of(*id, ctx.user_id.value_or(0), ctx.user_role == "admin");
    if (!list) co_return http::problem_response(ctx, list.error());
    json::array attempts;
    for (const auto& p : *list) attempts.push_back(to_json(p));
    auto latest = to_json(list->front());
    latest["history"] = std::move(attempts);
    co_return http::json_response(ctx, Status::ok, latest);
}

asio::awaitable<Response> handle_flagged(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<PaymentsService> service,
    RequestContext& ctx) {
    std::int64_t limit = kDefaultFlaggedPage;
    if (auto text = ctx.query("limit")) {
        auto v = http::parse_positive_int(*text, kMaxFlaggedPage);
        if (!v) {
            co_return http::problem_response(
                ctx,
                core::make_error(core::Errc::kValidation,
                                 "the request has invalid query parameters",
                                 {{"limit", "must be an integer from 1 to 100"}}));
        }
        limit = *v;
    }
    std::optional<std::string> cursor;
    if (auto text = ctx.query("cursor")) cursor = std::string(*text);
    auto page = co_await service->flagged(limit, std::move(cursor));
    if (!page) co_return http::problem_response(ctx, page.error());
    json::array items;
    for (const auto& p : page->items) items.push_back(to_json(p));
    json::object out{{"items", std::move(items)}};
    out["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
    co_return http::json_response(ctx, Status::ok, out);
}

asio::awaitable<Response> handle_webhook(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters)
    std::shared_ptr<PaymentsService> service,
    RequestContext& ctx) {
    auto header = ctx.request.find("Stripe-Signature");
    std::string signature = header == ctx.request.end() ? std::string() : std::string(header->value());
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto outcome = co_await service->handle_webhook(std::move(signature), ctx.request.body(), now);
    if (!outcome) co_return http::problem_response(ctx, outcome.error());
    co_return http::json_response(
        ctx, Status::ok, json::object{{"received", true}, {"duplicate", outcome->duplicate}, {"action", outcome->action}});
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<PaymentsService>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<PaymentsService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(service, ctx); }
};

void document(http::OpenApi& api) {
    api.add_tag("payments", "Paying orders (captured in the background), payment status, provider webhooks");
    api.add_schema(
        "Payment",
        json::object{
            {"type", "object"},
            {"properties",
             json::object{
                 {"id", http::OpenApi::integer_schema()},
                 {"order_id", http::OpenApi::integer_schema()},
                 {"status",
                  json::object{
                      {"type", "string"},
                      {"enum", json::array{"pending", "captured", "declined", "failed", "refunded"}}}},
                 {"amount_cents", http::OpenApi::integer_schema()},
                 {"currency", http::OpenApi::string_schema()},
                 {"provider", http::OpenApi::string_schema()},
                 {"provider_reference", json::object{{"type", json::array{"string", "null"}}}},
                 {"attempts", http::OpenApi::integer_schema()},
                 {"last_error", json::object{{"type", json::array{"string", "null"}}}},
                 {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                 {"updated_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                 {"captured_at",
                  json::object{{"type", json::array{"string", "null"}}, {"format", "date-time"}}},
                 {"flag_reason",
                  json::object{
                      {"type", json::array{"string", "null"}},
                      {"enum",
                       json::array{"paid_by_other_payment", "order_cancelled", "order_expired", nullptr}},
                      {"description",
                       "set when money was captured that must go back: another payment already "
                       "paid the order (a second charge), or the order was cancelled or expired"}}},
                 {"flagged_at",
                  json::object{{"type", json::array{"string", "null"}}, {"format", "date-time"}}},
                 {"history",
                  json::object{{"type", "array"},
                               {"items", json::object{{"type", "object"}}},
                               {"description", "every attempt, newest first (GET only)"}}}}}});
    const json::array tags{"payments"};
    const auto id_param = http::OpenApi::parameter("id", "path", http::OpenApi::integer_schema(), "order id", true);
    api.add_operation(
        "/api/v1/orders/{id}/pay",
        "post",
        json::object{
            {"tags", tags},
            {"summary", "Pay an order with a payment method token; the capture runs in the background (202)"},
            {"description",
             "Sandbox tokens: tok_ok, tok_declined, tok_flaky_N (N transient failures, then approved), tok_slow "
             "(times out), tok_invalid. A declined payment leaves the order payment_failed with its stock still "
             "reserved until it expires; pay again with another method."},
            {"operationId", "payOrder"},
            {"security", http::OpenApi::bearer_security()},
            {"parameters",
             json::array{id_param,
                         http::OpenApi::parameter("Idempotency-Key", "header", http::OpenApi::string_schema(),
                                                  "same key + same body replays the first answer", true)}},
            {"requestBody",
             json::object{{"required", true},
                          {"content",
                           json::object{{"application/json",
                                         json::object{{"schema",
                                                       json::object{{"type", "object"},
                                                                    {"required", json::array{"payment_method"}},
                                                                    {"additionalProperties", false},
                                                                    {"properties",
                                                                     json::object{{"payment_method",
                                                                                   json::object{{"type", "string"},
                                                                                                {"maxLength", 255}}}}}}}}}}}}},
            {"responses",
             json::object{{"202", json::object{{"description", "payment accepted; poll status_url (Location)"}}},
                          {"400", http::OpenApi::problem_ref("no Idempotency-Key, malformed JSON")},
                          {"401", http::OpenApi::problem_ref("no token")},
                          {"404", http::OpenApi::problem_ref("no such order (or not yours)")},
                          {"409", http::OpenApi::problem_ref("order not payable, a payment already in progress, key in progress")},
                          {"422", http::OpenApi::problem_ref("invalid payment_method or id, key reused for another body")}}}});
    api.add_operation("/api/v1/orders/{id}/payment",
                      "get",
                      json::object{{"tags", tags},
                                   {"summary", "The order's latest payment: status, attempts, last error, and its history"},
                                   {"operationId", "getPayment"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param}},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("the latest payment", "Payment")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"404", http::OpenApi::problem_ref("no such order, or no payment yet")},
                                                 {"422", http::OpenApi::problem_ref("invalid id")}}}});
    api.add_schema(
        "FlaggedPaymentPage",
        json::object{
            {"type", "object"},
            {"properties",
             json::object{
                 {"items", json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("Payment")}}},
                 {"next_cursor", json::object{{"type", json::array{"string", "null"}}}}}}});
    api.add_operation(
        "/api/v1/admin/payments/flagged",
        "get",
        json::object{
            {"tags", tags},
            {"summary",
             "Captured payments flagged for a refund (second charges, orders cancelled or expired), newest "
             "first"},
            {"description",
             "Each was logged once at error level and counted in emporium_payments_flagged_total{reason}. "
             "Refund it "
             "at the provider; see docs/operations.md."},
            {"operationId", "listFlaggedPayments"},
            {"security", http::OpenApi::bearer_security()},
            {"parameters",
             json::array{
                 http::OpenApi::parameter(
                     "limit", "query", http::OpenApi::integer_schema(), "1..100, default 20"),
                 http::OpenApi::parameter(
                     "cursor", "query", http::OpenApi::string_schema(), "next_cursor of the previous page")}},
            {"responses",
             json::object{{"200", http::OpenApi::json_response("a page", "FlaggedPaymentPage")},
                          {"400", http::OpenApi::problem_ref("malformed cursor")},
                          {"401", http::OpenApi::problem_ref("no token")},
                          {"403", http::OpenApi::problem_ref("not an admin")},
                          {"422", http::OpenApi::problem_ref("invalid limit")}}}});
    api.add_operation(
        "/webhooks/payments",
        "post",
        json::object{{"tags", tags},
                     {"summary", "Provider events (payment_intent.succeeded / payment_intent.payment_failed)"},
                     {"description",
                      "Signed like Stripe: header Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "
                      "\"<t>.<body>\")>; outside WEBHOOK_TOLERANCE_S the event is rejected; duplicates are ignored."},
                     {"operationId", "paymentWebhook"},
                     {"parameters",
                      json::array{http::OpenApi::parameter("Stripe-Signature", "header", http::OpenApi::string_schema(),
                                                           "t=…,v1=…", true)}},
                     {"responses",
                      json::object{{"200", json::object{{"description", "received (or a duplicate, ignored)"}}},
                                   {"400", http::OpenApi::problem_ref("bad or stale signature, malformed event")},
                                   {"503", http::OpenApi::problem_ref("webhooks not configured")}}}});
}

}  // namespace

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<PaymentsService> service) {
    using http::Access;
    using http::Verb;
    router.add(Verb::post, "/api/v1/orders/{id}/pay", Bound{handle_pay, service}, {"write", true, Access::kAuthenticated});
    router.add(Verb::get, "/api/v1/orders/{id}/payment", Bound{handle_payment, service}, {"read", false, Access::kAuthenticated});
    router.add(Verb::post, "/webhooks/payments", Bound{handle_webhook, service}, {"write", true, Access::kPublic});
    router.add(Verb::get,
               "/api/v1/admin/payments/flagged",
               Bound{handle_flagged, service},
               {"read", false, Access::kAdmin});
    document(openapi);
}

}  // namespace emporium::payments
