#pragma once
// HTTP adapters of the promotions context: /api/v1/admin/promotions (admin), each declared once.

#include "http/endpoint.hpp"
#include "promotions/promotions_service.hpp"

#include <memory>

namespace emporium::promotions {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<PromotionsService>& service);

}  // namespace emporium::promotions
