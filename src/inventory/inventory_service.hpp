#pragma once
// Stock reservation for checkout under the configured strategy, stock returns, the ledger audit
// and the Redis stock mirror. No HTTP, no SQL strings.
//
// Checkout uses three steps so the order can be written in the same transaction as the stock:
//   1. acquire(lines)            outside any transaction: Redlocks + fencing tokens (dual), the
//                                Redis check-and-decrement (redis), a cheap stock pre-check.
//   2. reserve_in(tx, hold, id)  inside the order's transaction: decrement + ledger rows.
//   3. settle(hold, committed)   after commit or rollback: release locks, give a Redis reservation
//                                back when the transaction failed, invalidate cached products.
// settle must be called exactly once for every successful acquire.

#include "catalog/catalog_service.hpp"
#include "core/error.hpp"
#include "inventory/inventory_store.hpp"
#include "inventory/inventory_types.hpp"
#include "inventory/redlock.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace emporium::inventory {

// What acquire() took outside the database.
struct Hold {
    std::vector<Line> lines;            // ascending variant id, no duplicates
    std::vector<Lock> locks;            // dual
    std::vector<std::int64_t> fences;   // dual: fencing token per line
    bool redis_reserved = false;        // redis: the mirror was decremented
};

class InventoryService {
public:
    using ClientProvider = std::function<redis::Client&()>;

    // `redis` is the main Redis (mirror); `redlock` the lock masters; `catalog` may be null (tests).
    InventoryService(InventorySettings settings,
                     InventoryStore store,
                     ClientProvider redis,
                     redis::Keys keys,
                     std::shared_ptr<Redlock> redlock,
                     std::shared_ptr<catalog::CatalogService> catalog);

    Strategy strategy() const { return settings_.strategy; }
    db::Pool& pool() { return store_.pool(); }

    // Fills in each line's variant (a line naming only a product gets its default variant) and
    // product. Errors: kValidation (a variant or product that does not exist, or a variant named
    // with another product's id).
    boost::asio::awaitable<core::Result<std::vector<Line>>> resolve(std::vector<Line> lines);

    // Errors: kValidation (unknown / inactive variant or product, named), kOutOfStock (named),
    // kConflict (locks busy). `lines` are resolved and must not contain a variant twice.
    boost::asio::awaitable<core::Result<Hold>> acquire(std::vector<Line> lines);
    // Decrements stock and writes order_reserved ledger rows for `order_id`; returns the lines
    // with their database prices. Errors as acquire, plus kConflict (optimistic retries exhausted,
    // stale fencing token). On error the caller must roll back.
    boost::asio::awaitable<core::Result<std::vector<ReservedLine>>> reserve_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        const Hold& hold,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id);
    boost::asio::awaitable<void> settle(Hold hold, bool committed);

    // The caller's own rules for one order of a batch, given its priced lines (e.g. one currency).
    // Called with the order's index in the group and its priced lines.
    using OrderRule = std::function<core::Result<void>(std::size_t, const std::vector<ReservedLine>&)>;
    // Group commit (several checkouts in one transaction): locks the rows of every variant of
    // `orders` in ascending id order and checks each order in turn against the stock the ones
    // before it left. An order that passes the stock check is then put to `rule` (if set) before
    // its units count as taken, so an order refused by either leaves its units to the orders after
    // it. Each order gets its priced lines or its error (as reserve_in, or the rule's); nothing is
    // written yet.
    boost::asio::awaitable<std::vector<core::Result<std::vector<ReservedLine>>>> check_many_in(
        // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        db::Transaction& tx,
        std::vector<std::vector<Line>> orders,
        OrderRule rule = {});
    // Then, for the orders that passed, given their ledger rows (delta = −quantity): one
    // conditional decrement per variant and the order_reserved ledger rows. Throws
    // core::InfraError if the database disagrees with the check (it cannot while the rows stay
    // locked); the caller rolls back.
    boost::asio::awaitable<void> take_many_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<Movement> taken);

    // Returns stock of an order's lines with ledger rows of `reason`, inside the caller's transaction.
    boost::asio::awaitable<void> release_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        std::vector<Line> lines,
        ReturnReason reason);
    // After the release committed: Redis mirror and caches.
    boost::asio::awaitable<void> after_release(std::vector<Line> lines);

    // An order was paid: adds its units to the products' purchase_count (the ranking's popularity),
    // inside the caller's transaction, rows in ascending id order.
    boost::asio::awaitable<void> record_sale_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<Line> lines);
    // After the sale committed: drops the products' cached entries.
    boost::asio::awaitable<void> after_sale(std::vector<Line> lines);

    // After a committed change of a product's stock outside checkout and order returns (an admin's
    // update, a new product): with the `redis` strategy, drops its variants' mirror keys so the next
    // checkout loads it from the database, and voids any load that read the database before the
    // change. Checkouts in flight that reserved from the dropped key still meet the database's
    // conditional decrement. Never throws: a Redis failure is logged (resync repairs it).
    boost::asio::awaitable<void> stock_changed(std::int64_t product_id);

    // Variants whose stock ≠ Σ ledger, products whose stock ≠ Σ variants (empty = clean).
    boost::asio::awaitable<std::vector<AuditMismatch>> audit();
    // A page of the variant's ledger, newest first. Errors: kNotFound, kBadRequest (cursor).
    boost::asio::awaitable<core::Result<VariantLedger>> ledger(std::int64_t variant_id,
                                                               std::int64_t limit,
                                                               std::optional<std::string> cursor);
    // Rewrites the Redis mirror from the database; returns the number of variants. Run it while
    // no checkout is in flight (startup, maintenance).
    boost::asio::awaitable<std::size_t> resync();

private:
    std::string stock_key(std::int64_t variant_id) const;
    std::string epoch_key(std::int64_t variant_id) const;
    boost::asio::awaitable<core::Result<void>> precheck(std::vector<Line> lines, bool init_mirror);
    boost::asio::awaitable<core::Result<Hold>> acquire_dual(std::vector<Line> lines);
    boost::asio::awaitable<core::Result<Hold>> acquire_redis(std::vector<Line> lines);
    boost::asio::awaitable<void> mirror_add(std::vector<Line> lines);
    boost::asio::awaitable<void> invalidate(std::vector<Line> lines);

    InventorySettings settings_;
    InventoryStore store_;
    ClientProvider redis_;
    redis::Keys keys_;
    std::shared_ptr<Redlock> redlock_;
    std::shared_ptr<catalog::CatalogService> catalog_;
};

// The listener the composition root registers with CatalogService::on_stock_change, so the catalog's
// stock changes reach the mirror without the catalog knowing the inventory (weak: the inventory
// holds the catalog).
catalog::CatalogService::StockListener mirror_follower(std::weak_ptr<InventoryService> inventory);

// The error for a line that cannot be ordered / has too little stock (exposed for tests): it names
// the variant when the customer named it, else the product.
core::Error unknown_product_error(const Line& line);
core::Error out_of_stock_error(const Line& line, std::int64_t available);

}  // namespace emporium::inventory
