#pragma once
// HTTP adapters of shipping options and tax rates: /api/v1/admin/shipping-options and
// /api/v1/admin/tax-rates (admin), each declared once.

#include "http/endpoint.hpp"
#include "shipping/shipping_service.hpp"

#include <memory>

namespace emporium::shipping {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<ShippingService>& service);

}  // namespace emporium::shipping
