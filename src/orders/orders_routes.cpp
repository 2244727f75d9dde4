#include "orders/orders_routes.hpp"

#include "core/codec.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::orders {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::Reply;

asio::awaitable<Reply<Order>> place_order(std::shared_ptr<OrdersService> service, In<http::NoInput, http::NoInput, NewOrder> in,
                                          Caller caller) {
    std::string fingerprint = "POST /api/v1/orders\n" + core::codec::encode(in.body);
    auto placed = co_await service->place_order(caller.user(), caller.idempotency_key, std::move(in.body), std::move(fingerprint));
    if (!placed) co_return placed.error();
    if (placed->failure) co_return co_await remember_failure(service, caller, std::move(*placed->failure));
    co_return stored_reply<Order>(*placed);
}

asio::awaitable<Reply<OrderPage>> list_orders(std::shared_ptr<OrdersService> service, In<http::NoInput, http::PageQuery> in,
                                              Caller caller) {
    OrderFilter mine{.user_id = caller.user()};
    co_return co_await service->list_orders(std::move(mine), in.query.limit, std::move(in.query.cursor));
}

struct AdminOrderQuery : http::PageQuery {
    std::optional<std::string> status;
    std::optional<std::string> email;
    static constexpr std::array kFields{
        core::field("limit").range(1, 100).optional().describe("page size, default 20"),
        core::field("cursor").describe("next_cursor of the previous page"),
        core::field("status")
            .values("pending_payment|paid|fulfilled|cancelled|expired|payment_failed|return_requested|returned")
            .describe("only orders in this state"),
        core::field("email").length(0, 254).describe("only orders of customers whose e-mail contains this (any case)")};
};
BOOST_DESCRIBE_STRUCT(AdminOrderQuery, (http::PageQuery), (status, email))

asio::awaitable<Reply<OrderPage>> list_all_orders(std::shared_ptr<OrdersService> service,
                                                  In<http::NoInput, AdminOrderQuery> in, Caller /*caller*/) {
    // A named local: a braced aggregate with non-trivial members as a temporary inside co_await is
    // destroyed twice by GCC 12 (STYLE §4).
    OrderFilter filter{.status = std::move(in.query.status), .email = std::move(in.query.email)};
    if (filter.email && filter.email->empty()) filter.email.reset();
    co_return co_await service->list_orders(std::move(filter), in.query.limit, std::move(in.query.cursor));
}

asio::awaitable<Reply<Order>> get_order(std::shared_ptr<OrdersService> service, In<OrderRef> in, Caller caller) {
    co_return co_await service->get_order(in.path.id, caller.user(), caller.is_admin());
}

asio::awaitable<Reply<Order>> cancel_order(std::shared_ptr<OrdersService> service, In<OrderRef> in, Caller caller) {
    co_return co_await service->cancel(in.path.id, caller.user(), caller.is_admin());
}

asio::awaitable<Reply<Order>> fulfil_order(std::shared_ptr<OrdersService> service, In<OrderRef> in, Caller /*caller*/) {
    co_return co_await service->fulfil(in.path.id);
}

}  // namespace

asio::awaitable<core::Error> remember_failure(std::shared_ptr<OrdersService> service,
                                              http::Caller caller,
                                              core::Error failure) {
    auto res = http::problem_response(caller.version, caller.request_id, failure);
    co_await service->remember_failure(caller.user(), caller.idempotency_key, static_cast<std::int32_t>(res.result_int()),
                                       res.body());
    co_return failure;
}

void register_routes(http::Api& api, const std::shared_ptr<OrdersService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("orders", "Checkout (idempotent, never oversells), order history, cancel, fulfil");
    api.add({.method = Verb::post,
             .path = "/api/v1/orders",
             .id = "placeOrder",
             .tag = "orders",
             .summary = "Place an order: stock is reserved and the order awaits payment until expires_at",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .idempotency_key = true,
             .success = http::Status::created,
             .success_description = "created (or replayed: Idempotent-Replayed: true)",
             .errors = {{409, "out_of_stock (names the product), promotion_unavailable (a code that does not apply: "
                              "used up, the customer's limit, conditions not met), cart_changed (not the "
                              "expected_total_cents), the key is in use by a request in progress, busy"},
                        {422, "unknown or inactive product, a code no promotion has, the key reused with another body"}},
             .response_headers = {{"Idempotent-Replayed", "true when this answer is a replay"}}},
            place_order, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/orders",
             .id = "listOrders",
             .tag = "orders",
             .summary = "My orders, newest first (keyset pagination)",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "a page",
             .errors = {{400, "malformed cursor"}}},
            list_orders, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/orders",
             .id = "listAllOrders",
             .tag = "orders",
             .summary = "Every customer's orders, newest first (admin): by state and by e-mail",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "a page",
             .errors = {{400, "malformed cursor"}}},
            list_all_orders, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/orders/{id}",
             .id = "getOrder",
             .tag = "orders",
             .summary = "One order (its owner or an admin)",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the order",
             .errors = {{404, "no such order (or not yours)"}}},
            get_order, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/orders/{id}/cancel",
             .id = "cancelOrder",
             .tag = "orders",
             .summary = "Cancel an unpaid order (owner or admin); its stock is returned",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .success_description = "cancelled",
             .errors = {{404, "no such order (or not yours)"}, {409, "the order can no longer be cancelled"}}},
            cancel_order, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/orders/{id}/fulfil",
             .id = "fulfilOrder",
             .tag = "orders",
             .summary = "Mark a paid order fulfilled (admin)",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "fulfilled",
             .errors = {{404, "no such order"}, {409, "the order is not paid"}}},
            fulfil_order, service);
}

}  // namespace emporium::orders
