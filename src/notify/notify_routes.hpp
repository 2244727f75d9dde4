#pragma once
// HTTP adapter of the notify context: GET /api/v1/orders/{id}/receipt (owner or admin, PDF).

#include "http/endpoint.hpp"
#include "notify/notify_service.hpp"

#include <memory>

namespace emporium::notify {

// The service must outlive the router.
void register_routes(http::Api& api, std::shared_ptr<NotifyService> service);

}  // namespace emporium::notify
