#pragma once
// Plain types of the inventory context: order lines to reserve, what a reservation took, the
// checkout strategies (INVENTORY_STRATEGY) and the ledger audit.

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

// One line to reserve or return: `quantity` units of a variant (the unit of stock) of a product.
// `named_by_variant`: the customer named the variant (errors then name it rather than the product).
// `held`: of those units, how many the buyer's cart already holds (counted in the variant's held;
// a checkout takes them from stock and held together); 0 outside cart checkouts.
struct Line {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    bool named_by_variant = false;
    std::int32_t held = 0;
};

// One reserved line with the price the database had at reservation time.
struct ReservedLine {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
    std::string currency;
};

// One ledger row: `delta` units of a variant, caused by an order.
struct Movement {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int32_t delta = 0;
    std::int64_t order_id = 0;
};

// Ledger reasons that return stock to a product.
enum class ReturnReason { kCancelled, kExpired, kPaymentFailed, kReturned };
std::string_view reason_name(ReturnReason reason);

// What the audit found wrong: a variant whose stock is not the sum of its ledger rows
// (kVariantLedger), a product whose stored total (updated only when a variant crosses zero) says in
// stock when its variants' sum says out, or the reverse (kProductInStock), or a variant whose held
// units are not the sum of its cart lines' holds (kHeld).
enum class AuditKind { kVariantLedger, kProductInStock, kHeld };
struct AuditMismatch {
    AuditKind kind = AuditKind::kVariantLedger;
    std::int64_t id = 0;  // the variant's or the product's
    std::int64_t stock = 0;
    std::int64_t expected = 0;  // the ledger's sum, the variants' sum, or the cart lines' holds
};

struct InventorySettings {
    Strategy strategy = Strategy::kDual;
    std::chrono::milliseconds lock_ttl{2'000};
    int lock_retries = 100;
    int optimistic_retries = 64;
};

// Sorts lines by variant id (the one lock order of stock rows in the whole code base).
std::vector<Line> sorted_lines(std::vector<Line> lines);

}  // namespace emporium::inventory
