#pragma once
// HTTP adapters of webhooks out: /api/v1/admin/webhook-endpoints and
// /api/v1/admin/webhook-deliveries (admin), each declared once.

#include "http/endpoint.hpp"
#include "webhooks/webhooks_service.hpp"

#include <memory>

namespace emporium::webhooks {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<WebhooksService>& service);

}  // namespace emporium::webhooks
