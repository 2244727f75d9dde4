#pragma once
// HTTP adapters of the inventory context (admin): a variant's stock ledger and the ledger audit,
// documented in the OpenAPI document.

#include "http/endpoint.hpp"
#include "inventory/inventory_service.hpp"

#include <memory>

namespace emporium::inventory {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<InventoryService>& service);

}  // namespace emporium::inventory
