#pragma once
// Plain types of the inventory context: order lines to reserve, what a reservation took, the
// checkout strategies (INVENTORY_STRATEGY) and the ledger audit.

#include "core/fields.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::inventory {

// How checkout keeps stock from going negative under concurrency (DESIGN.md "Inventory").
enum class Strategy {
    kPessimistic,  // SELECT … FOR UPDATE in ascending id order, check, decrement
    kDual,         // Redlock per product, then the pessimistic transaction with a fencing token
    kOptimistic,   // UPDATE … WHERE version = $v AND stock >= q, bounded retries
    kRedis,        // atomic Lua check-and-decrement of a Redis mirror first, DB update as final guard
};

std::optional<Strategy> parse_strategy(std::string_view text);
std::string_view strategy_name(Strategy strategy);

struct Line {
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    static constexpr std::array kFields{core::field("product_id").at_least(1),
                                        core::field("quantity").at_least(1)};
};
BOOST_DESCRIBE_STRUCT(Line, (), (product_id, quantity))

// One reserved line with the price the database had at reservation time.
struct ReservedLine {
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
    std::string currency;
};

// One ledger row: `delta` units of a product, caused by an order.
struct Movement {
    std::int64_t product_id = 0;
    std::int32_t delta = 0;
    std::int64_t order_id = 0;
};

// Ledger reasons that return stock to a product.
enum class ReturnReason { kCancelled, kExpired, kPaymentFailed };
std::string_view reason_name(ReturnReason reason);

// A product whose stock does not equal the sum of its ledger rows.
struct AuditMismatch {
    std::int64_t product_id = 0;
    std::int64_t stock = 0;
    std::int64_t ledger_sum = 0;
};

struct InventorySettings {
    Strategy strategy = Strategy::kDual;
    std::chrono::milliseconds lock_ttl{2'000};
    int lock_retries = 100;
    int optimistic_retries = 64;
};

// Sorts lines by product id (the one lock order of the whole code base).
std::vector<Line> sorted_lines(std::vector<Line> lines);

}  // namespace emporium::inventory
