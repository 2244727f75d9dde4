#include "orders/orders_routes.hpp"

#include "http/json_body.hpp"
#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace emporium::orders {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

constexpr std::string_view kAdminRole = "admin";
constexpr std::size_t kMaxKeyLength = 255;

bool is_admin(const RequestContext& ctx) {
    return ctx.user_role == kAdminRole;
}

Response invalid_id(const RequestContext& ctx) {
    return http::problem_response(
        ctx,
        core::make_error(core::Errc::kValidation, "the order id is invalid", {{"id", "must be a positive integer"}}));
}


asio::awaitable<Response>
handle_place_order(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                     // the server awaits handlers directly
    std::shared_ptr<OrdersService> service,
    RequestContext& ctx) {
    auto key_header = idempotency_key(ctx);
    if (!key_header) co_return http::problem_response(ctx, key_header.error());
    std::string key = std::move(*key_header);
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto order = parse_new_order(*body);
    if (!order) co_return http::problem_response(ctx, order.error());
    const auto user_id = ctx.user_id.value_or(0);
    std::string fingerprint = "POST /api/v1/orders\n" + json::serialize(*body);
    auto placed = co_await service->place_order(user_id, key, std::move(*order), std::move(fingerprint));
    if (!placed) co_return http::problem_response(ctx, placed.error());
    if (placed->failure) {
        auto res = http::problem_response(ctx, *placed->failure);
        co_await service->remember_failure(user_id, std::move(key), static_cast<std::int32_t>(res.result_int()), res.body());
        co_return res;
    }
    co_return stored_response(ctx, *placed);
}

asio::awaitable<Response>
handle_list_orders(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                     // the server awaits handlers directly
    std::shared_ptr<OrdersService> service,
    RequestContext& ctx) {
    std::int64_t limit = kDefaultPageSize;
    if (auto text = ctx.query("limit")) {
        auto v = http::parse_positive_int(*text);
        if (!v || *v > kMaxPageSize) {
            co_return http::problem_response(ctx,
                                             core::make_error(core::Errc::kValidation,
                                                              "the request has invalid query parameters",
                                                              {{"limit", "must be an integer from 1 to 100"}}));
        }
        limit = *v;
    }
    std::optional<std::string> cursor;
    if (auto text = ctx.query("cursor")) cursor = std::string(*text);
    auto page = co_await service->list_orders(ctx.user_id.value_or(0), limit, std::move(cursor));
    if (!page) co_return http::problem_response(ctx, page.error());
    co_return http::json_response(ctx, Status::ok, to_json(*page));
}

asio::awaitable<Response>
handle_get_order(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                   // the server awaits handlers directly
    std::shared_ptr<OrdersService> service,
    RequestContext& ctx) {
    auto id = http::parse_positive_int(ctx.param("id"));
    if (!id) co_return invalid_id(ctx);
    auto order = co_await service->get_order(*id, ctx.user_id.value_or(0), is_admin(ctx));
    if (!order) co_return http::problem_response(ctx, order.error());
    co_return http::json_response(ctx, Status::ok, to_json(*order));
}

asio::awaitable<Response>
handle_cancel_order(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                      // the server awaits handlers directly
    std::shared_ptr<OrdersService> service,
    RequestContext& ctx) {
    auto id = http::parse_positive_int(ctx.param("id"));
    if (!id) co_return invalid_id(ctx);
    auto order = co_await service->cancel(*id, ctx.user_id.value_or(0), is_admin(ctx));
    if (!order) co_return http::problem_response(ctx, order.error());
    co_return http::json_response(ctx, Status::ok, to_json(*order));
}

asio::awaitable<Response>
handle_fulfil_order(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                      // the server awaits handlers directly
    std::shared_ptr<OrdersService> service,
    RequestContext& ctx) {
    auto id = http::parse_positive_int(ctx.param("id"));
    if (!id) co_return invalid_id(ctx);
    auto order = co_await service->fulfil(*id);
    if (!order) co_return http::problem_response(ctx, order.error());
    co_return http::json_response(ctx, Status::ok, to_json(*order));
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<OrdersService>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<OrdersService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(service, ctx); }
};

// ---- OpenAPI ----

json::object id_param() {
    return json::object{{"name", "id"},
                        {"in", "path"},
                        {"required", true},
                        {"schema", http::OpenApi::integer_schema()},
                        {"description", "order id"}};
}

void document(http::OpenApi& api) {
    api.add_tag("orders", "Checkout (idempotent, never oversells), order history, cancel, fulfil");
    api.add_schema(
        "OrderItem",
        json::object{{"type", "object"},
                     {"required", json::array{"product_id", "quantity", "unit_price_cents"}},
                     {"properties",
                      json::object{{"product_id", http::OpenApi::integer_schema()},
                                   {"quantity", json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
                                   {"unit_price_cents", http::OpenApi::integer_schema()}}}});
    api.add_schema(
        "Order",
        json::object{
            {"type", "object"},
            {"properties",
             json::object{
                 {"id", http::OpenApi::integer_schema()},
                 {"user_id", http::OpenApi::integer_schema()},
                 {"status",
                  json::object{{"type", "string"},
                               {"enum",
                                json::array{"pending_payment",
                                            "paid",
                                            "fulfilled",
                                            "cancelled",
                                            "expired",
                                            "payment_failed"}}}},
                 {"total_cents", http::OpenApi::integer_schema()},
                 {"currency", json::object{{"type", "string"}}},
                 {"shipping_address", json::object{{"type", "object"}}},
                 {"items",
                  json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("OrderItem")}}},
                 {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                 {"expires_at",
                  json::object{{"type", json::array{"string", "null"}}, {"format", "date-time"}}},
                 {"paid_payment_id",
                  json::object{
                      {"type", json::array{"integer", "null"}},
                      {"description", "the payment that paid the order (paid and fulfilled orders)"}}}}}});
    api.add_schema(
        "NewOrder",
        json::object{
            {"type", "object"},
            {"additionalProperties", false},
            {"required", json::array{"items", "shipping_address"}},
            {"description",
             "1..50 lines, quantity 1..100; lines naming the same product are merged (total ≤ 100). Prices come "
             "from the catalog."},
            {"properties",
             json::object{{"items",
                           json::object{{"type", "array"},
                                        {"minItems", 1},
                                        {"maxItems", 50},
                                        {"items",
                                         json::object{{"type", "object"},
                                                      {"required", json::array{"product_id", "quantity"}},
                                                      {"properties",
                                                       json::object{{"product_id", http::OpenApi::integer_schema()},
                                                                    {"quantity",
                                                                     json::object{{"type", "integer"},
                                                                                  {"minimum", 1},
                                                                                  {"maximum", 100}}}}}}}}},
                          {"shipping_address", json::object{{"type", "object"}, {"minProperties", 1}}}}}});
    api.add_schema("OrderPage",
                   json::object{{"type", "object"},
                                {"properties",
                                 json::object{{"items", json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("Order")}}},
                                              {"next_cursor", json::object{{"type", json::array{"string", "null"}}}}}}});
    const json::array tags{"orders"};
    api.add_operation(
        "/api/v1/orders",
        "post",
        json::object{
            {"tags", tags},
            {"summary", "Place an order: stock is reserved and the order awaits payment until expires_at"},
            {"operationId", "placeOrder"},
            {"security", http::OpenApi::bearer_security()},
            {"parameters",
             json::array{json::object{{"name", "Idempotency-Key"},
                                      {"in", "header"},
                                      {"required", true},
                                      {"schema", json::object{{"type", "string"}, {"maxLength", 255}}},
                                      {"description",
                                       "same key + same body replays the first answer (24 h); same key + other "
                                       "body is 422"}}}},
            {"requestBody",
             json::object{{"required", true},
                          {"content", json::object{{"application/json", json::object{{"schema", http::OpenApi::schema_ref("NewOrder")}}}}}}},
            {"responses",
             json::object{{"201", http::OpenApi::json_response("created (or replayed: Idempotent-Replayed: true)", "Order")},
                          {"400", http::OpenApi::problem_ref("no Idempotency-Key, malformed JSON")},
                          {"401", http::OpenApi::problem_ref("no token")},
                          {"409", http::OpenApi::problem_ref("out_of_stock (names the product), key in progress, busy")},
                          {"422", http::OpenApi::problem_ref("invalid fields, unknown or inactive product, key reused")}}}});
    api.add_operation(
        "/api/v1/orders",
        "get",
        json::object{{"tags", tags},
                     {"summary", "My orders, newest first (keyset pagination)"},
                     {"operationId", "listOrders"},
                     {"security", http::OpenApi::bearer_security()},
                     {"parameters",
                      json::array{json::object{{"name", "limit"},
                                               {"in", "query"},
                                               {"schema", http::OpenApi::integer_schema()},
                                               {"description", "1..100, default 20"}},
                                  json::object{{"name", "cursor"},
                                               {"in", "query"},
                                               {"schema", json::object{{"type", "string"}}},
                                               {"description", "next_cursor of the previous page"}}}},
                     {"responses",
                      json::object{{"200", http::OpenApi::json_response("a page", "OrderPage")},
                                   {"400", http::OpenApi::problem_ref("malformed cursor")},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"422", http::OpenApi::problem_ref("invalid limit")}}}});
    api.add_operation("/api/v1/orders/{id}",
                      "get",
                      json::object{{"tags", tags},
                                   {"summary", "One order (its owner or an admin)"},
                                   {"operationId", "getOrder"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param()}},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("the order", "Order")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"404", http::OpenApi::problem_ref("no such order (or not yours)")},
                                                 {"422", http::OpenApi::problem_ref("invalid id")}}}});
    api.add_operation("/api/v1/orders/{id}/cancel",
                      "post",
                      json::object{{"tags", tags},
                                   {"summary", "Cancel an unpaid order (owner or admin); its stock is returned"},
                                   {"operationId", "cancelOrder"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param()}},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("cancelled", "Order")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"404", http::OpenApi::problem_ref("no such order (or not yours)")},
                                                 {"409", http::OpenApi::problem_ref("the order can no longer be cancelled")},
                                                 {"422", http::OpenApi::problem_ref("invalid id")}}}});
    api.add_operation("/api/v1/orders/{id}/fulfil",
                      "post",
                      json::object{{"tags", tags},
                                   {"summary", "Mark a paid order fulfilled (admin)"},
                                   {"operationId", "fulfilOrder"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param()}},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("fulfilled", "Order")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"403", http::OpenApi::problem_ref("not an admin")},
                                                 {"404", http::OpenApi::problem_ref("no such order")},
                                                 {"409", http::OpenApi::problem_ref("the order is not paid")},
                                                 {"422", http::OpenApi::problem_ref("invalid id")}}}});
}

}  // namespace

core::Result<std::string> idempotency_key(const http::RequestContext& ctx) {
    auto header = ctx.request.find("Idempotency-Key");
    if (header == ctx.request.end() || header->value().empty() || header->value().size() > kMaxKeyLength) {
        return core::make_error(core::Errc::kBadRequest,
                                "the Idempotency-Key header is required",
                                {{"Idempotency-Key", "must be 1 to 255 characters"}});
    }
    return std::string(header->value());
}

http::Response stored_response(const http::RequestContext& ctx, const CheckoutResponse& r) {
    const auto content_type = r.status >= 400 ? "application/problem+json" : "application/json";
    auto res = http::text_response(ctx, static_cast<Status>(r.status), r.body, content_type);
    if (r.replayed) res.set("Idempotent-Replayed", "true");
    return res;
}

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<OrdersService> service) {
    using http::Access;
    using http::Verb;
    const http::RouteOptions write{"write", true, Access::kAuthenticated};
    const http::RouteOptions action{"write", false, Access::kAuthenticated};
    const http::RouteOptions read{"read", true, Access::kAuthenticated};
    router.add(Verb::post, "/api/v1/orders", Bound{handle_place_order, service}, write);
    router.add(Verb::get, "/api/v1/orders", Bound{handle_list_orders, service}, read);
    router.add(Verb::get, "/api/v1/orders/{id}", Bound{handle_get_order, service}, read);
    router.add(Verb::post, "/api/v1/orders/{id}/cancel", Bound{handle_cancel_order, service}, action);
    router.add(Verb::post,
               "/api/v1/orders/{id}/fulfil",
               Bound{handle_fulfil_order, service},
               {"write", false, Access::kAdmin});
    document(openapi);
}

}  // namespace emporium::orders
