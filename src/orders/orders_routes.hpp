#pragma once
// HTTP adapters of the orders context: /api/v1/orders (checkout with Idempotency-Key, list,
// detail, cancel, fulfil), documented in the OpenAPI document.

#include "http/openapi.hpp"
#include "http/router.hpp"
#include "orders/orders_service.hpp"

#include <memory>

namespace emporium::orders {

// The Idempotency-Key header (1..255 characters). Errors: kBadRequest.
core::Result<std::string> idempotency_key(const http::RequestContext& ctx);
// A stored (or first) answer of an idempotent request; replays carry Idempotent-Replayed: true.
http::Response stored_response(const http::RequestContext& ctx, const CheckoutResponse& r);

// The service must outlive the router.
void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<OrdersService> service);

}  // namespace emporium::orders
