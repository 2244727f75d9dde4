#pragma once
// HTTP adapters of the orders context: /api/v1/orders (checkout with Idempotency-Key, list,
// detail, cancel, fulfil), each declared once (http::Api).

#include "http/endpoint.hpp"
#include "orders/orders_service.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <memory>

namespace emporium::orders {

// The path of the routes under /api/v1/orders/{id}.
struct OrderRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("order id")};
};
BOOST_DESCRIBE_STRUCT(OrderRef, (), (id))

// A stored (or first) answer of an idempotent request; replays carry Idempotent-Replayed: true.
template <class T>
http::Reply<T> stored_reply(const CheckoutResponse& r) {
    auto reply = http::Reply<T>::encoded(static_cast<unsigned>(r.status), r.body,
                                         r.status >= 400 ? "application/problem+json" : "application/json");
    if (r.replayed) reply.header("Idempotent-Replayed", "true");
    return reply;
}

// A checkout's failure (out of stock, changed cart…) rendered and stored as its Idempotency-Key's
// answer, so a retry replays it; returns the failure for the handler to answer with.
boost::asio::awaitable<core::Error> remember_failure(std::shared_ptr<OrdersService> service,
                                                     http::Caller caller,
                                                     core::Error failure);

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<OrdersService>& service);

}  // namespace emporium::orders
