#pragma once
// Builds the inventory and orders services from the configuration (serve and the CLI commands).

#include "carts/carts_service.hpp"
#include "core/config.hpp"
#include "inventory/inventory_service.hpp"
#include "orders/orders_service.hpp"
#include "promotions/promotions_pricer.hpp"
#include "app/wiring.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

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
    s.batch_max = config.inventory.order_batch_max;
    return s;
}

inline carts::CartsSettings carts_settings(const core::Config& config) {
    carts::CartsSettings s;
    s.holds = config.inventory.cart_holds;
    s.hold_ttl = config.inventory.cart_hold_ttl;
    s.hold_max = config.inventory.cart_hold_max;
    s.cart_ttl = config.inventory.cart_ttl;
    s.cart_retention = config.inventory.cart_retention;
    s.group_max = config.inventory.order_batch_max;
    return s;
}

// Inventory, orders and carts on one io_context (the CLI commands and the worker).
struct OrdersStack {
    std::unique_ptr<db::Pool> pool;
    std::unique_ptr<redis::Client> redis;
    std::shared_ptr<inventory::InventoryService> inventory;
    std::shared_ptr<orders::OrdersService> orders;
    std::shared_ptr<carts::CartsService> carts;

    OrdersStack(const boost::asio::any_io_executor& ex, const core::Config& config)
        : pool(std::make_unique<db::Pool>(ex, pool_options(config, 1))),
          redis(std::make_unique<redis::Client>(ex, redis_options(config))) {
        auto* r = redis.get();
        auto* p = pool.get();
        auto redlock = std::make_shared<inventory::Redlock>(
            [r] { return std::vector<redis::Client*>{r}; }, config.inventory.lock_ttl, config.inventory.lock_retries);
        inventory = std::make_shared<inventory::InventoryService>(
            inventory_settings(config),
            inventory::InventoryStore([p]() -> db::Pool& { return *p; }),
            [r]() -> redis::Client& { return *r; },
            redis::Keys(config.rate_limit.key_prefix),
            std::move(redlock),
            nullptr);
        orders = std::make_shared<orders::OrdersService>(
            orders_settings(config), orders::OrdersStore([p]() -> db::Pool& { return *p; }), inventory);
        orders->set_pricer(std::make_shared<promotions::PromotionsPricer>(
            promotions::PromotionsStore([p]() -> db::Pool& { return *p; }),
            shipping::ShippingStore([p]() -> db::Pool& { return *p; }), config.inventory.prices_include_tax));
        carts = std::make_shared<carts::CartsService>(
            carts_settings(config), carts::CartsStore([p]() -> db::Pool& { return *p; }), inventory, orders);
    }
    void close() {  // NOLINT(readability-make-member-function-const): it closes what it owns
        pool->close();
        redis->close();
    }
};

}  // namespace emporium::app
