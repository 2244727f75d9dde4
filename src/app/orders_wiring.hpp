#pragma once
// Builds the inventory and orders services from the configuration (serve and the CLI commands).

#include "core/config.hpp"
#include "inventory/inventory_service.hpp"
#include "orders/orders_service.hpp"

namespace emporium::app {

inline inventory::InventorySettings inventory_settings(const core::Config& config) {
    inventory::InventorySettings s;
    s.strategy = inventory::parse_strategy(config.inventory.strategy).value_or(inventory::Strategy::kDual);
    s.lock_ttl = config.inventory.lock_ttl;
    s.lock_retries = config.inventory.lock_retries;
    s.optimistic_retries = config.inventory.optimistic_retries;
    return s;
}

inline orders::OrdersSettings orders_settings(const core::Config& config) {
    orders::OrdersSettings s;
    s.order_ttl = config.inventory.order_ttl;
    s.idempotency_ttl = config.inventory.idempotency_ttl;
    return s;
}

}  // namespace emporium::app
