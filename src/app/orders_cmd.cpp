// `emporium expire-orders`, `emporium expire-carts` and `emporium inventory audit|resync`.
#include "app/commands.hpp"
#include "app/orders_wiring.hpp"
#include "app/wiring.hpp"
#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <memory>

namespace emporium::app {
namespace {

namespace asio = boost::asio;

asio::awaitable<int> expire_orders(core::Config config) {
    OrdersStack s(co_await asio::this_coro::executor, config);
    const auto expired = co_await s.orders->expire_due();
    const auto purged = co_await s.orders->purge_idempotency_keys();
    s.close();
    std::cout << "expired " << expired << " orders, purged " << purged << " idempotency keys\n";
    co_return 0;
}

asio::awaitable<int> expire_carts(core::Config config) {
    OrdersStack s(co_await asio::this_coro::executor, config);
    const auto released = co_await s.carts->expire_due();
    s.close();
    std::cout << "released " << released << " expired holds and carts\n";
    co_return 0;
}

asio::awaitable<int> inventory_command(core::Config config, std::string action) {
    OrdersStack s(co_await asio::this_coro::executor, config);
    int code = 0;
    if (action == "audit") {
        auto mismatches = co_await s.inventory->audit();
        for (const auto& m : mismatches) {
            switch (m.kind) {
                case inventory::AuditKind::kVariantLedger:
                    std::cout << "variant " << m.id << ": stock " << m.stock << " but ledger sums to " << m.expected << "\n";
                    break;
                case inventory::AuditKind::kProductInStock:
                    std::cout << "product " << m.id << ": stored total " << m.stock << " but its variants sum to "
                              << m.expected << "\n";
                    break;
                case inventory::AuditKind::kHeld:
                    std::cout << "variant " << m.id << ": held " << m.stock << " but its cart lines hold " << m.expected
                              << "\n";
                    break;
            }
        }
        std::cout << (mismatches.empty() ? "inventory audit: clean\n" : "inventory audit: MISMATCH\n");
        code = mismatches.empty() ? 0 : 1;
    } else {
        const auto n = co_await s.inventory->resync();
        std::cout << "inventory resync: mirrored the stock of " << n << " variants to Redis\n";
    }
    s.close();
    co_return code;
}

}  // namespace

int run_expire_orders(const core::Config& config) {
    return run_command(expire_orders(config), "expire-orders");
}

int run_expire_carts(const core::Config& config) {
    return run_command(expire_carts(config), "expire-carts");
}

int run_inventory(const core::Config& config, const std::string& action) {
    return run_command(inventory_command(config, action), "inventory");
}

}  // namespace emporium::app
