#pragma once
// SQL of the inventory context: product_variants.stock / held / version / fence_token (the unit of
// stock is the variant; products.stock follows as their sum, in the database) and the
// inventory_movements ledger. Methods taking a Transaction run inside the caller's transaction
// (the order's), which awaits them directly.

#include "db/pg.hpp"
#include "inventory/inventory_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace emporium::inventory {

// What checkout needs to know about one variant.
struct StockRow {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int64_t price_cents = 0;  // the variant's override, else the product's price
    std::string currency;
    std::int64_t available = 0;  // stock − held
    std::int64_t version = 0;
    bool is_for_sale = false;  // variant and product active and not deleted
};

// A variant and its product.
struct VariantRef {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    bool is_default = false;
};

class InventoryStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit InventoryStore(PoolProvider pools) : pools_(std::move(pools)) {}

    db::Pool& pool() { return pools_(); }

    // Rows for the variants `ids` (ascending id); absent variants are missing from the result.
    boost::asio::awaitable<std::vector<StockRow>> snapshot(std::vector<std::int64_t> ids);
    // Same, inside `tx`; with `lock` the variant rows are locked FOR UPDATE in ascending id order.
    boost::asio::awaitable<std::vector<StockRow>> snapshot_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> ids,
        bool lock);
    // stock -= q, held -= h, version += 1 (rows locked by the caller): q units of which the buyer's
    // cart held h; false if fewer than q - h units are available besides.
    boost::asio::awaitable<bool> take(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t quantity,
        std::int32_t held);
    // As take, also writes `fence` when it is newer than the stored token; false when stale or short.
    boost::asio::awaitable<bool> take_fenced(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t quantity,
        std::int32_t held,
        std::int64_t fence);
    // Optimistic: only when the version still is `version`; false on a conflict or short stock.
    boost::asio::awaitable<bool> take_if_version(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t quantity,
        std::int32_t held,
        std::int64_t version);
    // stock += q, version += 1.
    boost::asio::awaitable<void> give_back(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t quantity);
    // Adds sold units to products.purchase_count (the ranking's popularity).
    boost::asio::awaitable<void> record_sale(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t quantity);
    boost::asio::awaitable<void> record_movement(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Movement movement,
        std::string reason);

    // Group commit (one statement each, rows already locked by the caller): takes `quantity` units
    // of each variant unless fewer are available; returns how many variants were decremented (the
    // caller expects all of them).
    boost::asio::awaitable<std::int64_t> take_many(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<Line> totals);
    boost::asio::awaitable<void> record_movements(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<Movement> movements,
        std::string reason);

    // Variants whose stock differs from the sum of their ledger rows, products whose stock differs
    // from the sum of their variants'.
    boost::asio::awaitable<std::vector<AuditMismatch>> audit();
    // The variant's stock, holds and ledger sum with up to `limit` ledger rows older than
    // `before_id`, newest first (items empty, next_cursor unset); nullopt when there is no such
    // variant (deleted ones included).
    boost::asio::awaitable<std::optional<VariantLedger>> ledger(std::int64_t variant_id,
                                                                std::int64_t limit,
                                                                std::optional<std::int64_t> before_id);
    // (variant id, available units) of every variant, for the Redis mirror.
    boost::asio::awaitable<std::vector<std::pair<std::int64_t, std::int64_t>>> all_stock();
    // The variants `variant_ids` and the default variants of `product_ids` that exist.
    boost::asio::awaitable<std::vector<VariantRef>> resolve(std::vector<std::int64_t> variant_ids,
                                                            std::vector<std::int64_t> product_ids);
    // The ids of a product's variants.
    boost::asio::awaitable<std::vector<std::int64_t>> variants_of(std::int64_t product_id);

private:
    PoolProvider pools_;
};

}  // namespace emporium::inventory
