#pragma once
// HTTP adapters of the payments context: POST /api/v1/orders/{id}/pay (owner, Idempotency-Key),
// GET /api/v1/orders/{id}/payment (owner or admin) and POST /webhooks/payments (provider
// signature), each declared once (http::Api).

#include "http/endpoint.hpp"
#include "payments/payments_service.hpp"

#include <memory>

namespace emporium::payments {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<PaymentsService>& service);

}  // namespace emporium::payments
