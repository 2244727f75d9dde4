#pragma once
// Plain types of the inventory context: order lines to reserve, what a reservation took, the
// checkout strategies (INVENTORY_STRATEGY) and the ledger audit.

#include "core/fields.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

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
BOOST_DESCRIBE_ENUM(AuditKind, kVariantLedger, kProductInStock, kHeld)
struct AuditMismatch {
    AuditKind kind = AuditKind::kVariantLedger;
    std::int64_t id = 0;  // the variant's or the product's
    std::int64_t stock = 0;
    std::int64_t expected = 0;  // the ledger's sum, the variants' sum, or the cart lines' holds
    static constexpr std::array kFields{
        core::field("kind").describe("variant_ledger: stock ≠ Σ ledger; product_in_stock: the product's stored "
                                     "total is on the wrong side of zero; held: held ≠ Σ cart lines' holds"),
        core::field("id").describe("the variant's id (the product's for product_in_stock)"),
        core::field("expected").describe("the ledger's sum, the variants' sum, or the cart lines' holds")};
};
BOOST_DESCRIBE_STRUCT(AuditMismatch, (), (kind, id, stock, expected))

// GET /admin/inventory/audit.
struct InventoryAudit {
    bool clean = true;
    std::chrono::sys_time<std::chrono::microseconds> checked_at{};
    std::vector<AuditMismatch> mismatches;
};
BOOST_DESCRIBE_STRUCT(InventoryAudit, (), (clean, checked_at, mismatches))

// One row of a variant's stock ledger (inventory_movements).
struct LedgerEntry {
    std::int64_t id = 0;
    std::int32_t delta = 0;
    std::string reason;
    std::optional<std::int64_t> order_id;
    std::optional<std::string> note;
    std::chrono::sys_time<std::chrono::microseconds> created_at{};
    static constexpr std::array kFields{
        core::field("reason").describe("initial, restock, adjustment, order_reserved, order_cancelled, order_expired, "
                                       "order_payment_failed, order_returned, …")};
};
BOOST_DESCRIBE_STRUCT(LedgerEntry, (), (id, delta, reason, order_id, note, created_at))

// GET /admin/variants/{id}/ledger: the variant's stock with a page of its ledger, newest first.
struct VariantLedger {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::string sku;
    std::int64_t stock = 0;
    std::int64_t held = 0;
    std::int64_t ledger_sum = 0;
    std::vector<LedgerEntry> items;
    std::optional<std::string> next_cursor;
    static constexpr std::array kFields{
        core::field("ledger_sum").describe("Σ of every ledger row of the variant; equals stock when the books agree"),
        core::field("held").describe("units held by carts (part of stock, not for sale to others)")};
};
BOOST_DESCRIBE_STRUCT(VariantLedger, (), (variant_id, product_id, sku, stock, held, ledger_sum, items, next_cursor))

struct InventorySettings {
    Strategy strategy = Strategy::kDual;
    std::chrono::milliseconds lock_ttl{2'000};
    int lock_retries = 100;
    int optimistic_retries = 64;
};

// Sorts lines by variant id (the one lock order of stock rows in the whole code base).
std::vector<Line> sorted_lines(std::vector<Line> lines);

}  // namespace emporium::inventory
