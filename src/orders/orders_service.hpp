#pragma once
// Business rules of orders: idempotent checkout (stock reserved through the inventory service in
// the same transaction as the order, its items, ledger rows and the order.created outbox event),
// reads, the state machine (cancel, pay, fulfil) and expiry of unpaid orders. No HTTP, no SQL.

#include "core/error.hpp"
#include "core/group_commit.hpp"
#include "inventory/inventory_service.hpp"
#include "orders/orders_store.hpp"
#include "orders/orders_types.hpp"
#include "pricing/pricing.hpp"

#include <boost/asio/awaitable.hpp>


#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace emporium::orders {

struct OrdersSettings {
    std::chrono::seconds order_ttl{900};
    std::chrono::seconds idempotency_ttl{86'400};
    // An in-progress Idempotency-Key older than this belongs to a request that died (far longer
    // than the request budget); a retry of the same request takes it over.
    std::chrono::seconds abandoned_after{60};
    // Group commit of checkouts (the `redis` strategy only, where the mirror has already admitted
    // them): orders waiting while a batch is written go into the next one, at most this many per
    // transaction. 1 = one transaction per order.
    int batch_max = 64;
};

// What a checkout request answers: the stored (replayed == true) or the new response.
struct CheckoutResponse {
    std::int32_t status = 201;
    std::string body;  // JSON text, byte-identical on replay
    bool replayed = false;
    // Set when this (first) request failed (out of stock, unknown product, busy): the caller
    // renders it and stores the answer with remember_failure(), so a retry replays it.
    std::optional<core::Error> failure;
};

// The first step of an idempotent request: either this request owns the key now (claimed), or the
// stored answer of the first request with the same key and fingerprint is replayed.
struct IdempotencyClaim {
    bool claimed = false;
    std::optional<CheckoutResponse> replay;
};

// What paying an order with a captured payment did (mark_paid).
struct PaymentApplied {
    enum class Kind {
        kPaid,             // the order was unpaid; this payment paid it now
        kAlreadyPaidByIt,  // this payment had paid it already (a redelivery: nothing to do)
        kPaidByAnother,    // paid by another payment (or before payments were recorded): a second charge
        kNotPayable,       // cancelled or expired: the order can no longer be paid
    };
    Kind kind = Kind::kPaid;
    Order order;  // as it is now
};

// Where an order comes from when it is not a POST /orders body (a cart): the orders context does
// not know carts. Its lines were read before the order's transaction; inside it, lock_in runs first
// (the lock order: the source's rows, then the variants) and refuses when the source changed since
// it was read or was already used; close_in marks it used by `order_id`, in the same transaction.
class OrderSource {
public:
    OrderSource() = default;
    OrderSource(const OrderSource&) = delete;
    OrderSource& operator=(const OrderSource&) = delete;
    OrderSource(OrderSource&&) = delete;
    OrderSource& operator=(OrderSource&&) = delete;
    virtual ~OrderSource() = default;
    // Before anything is reserved: refuses on what was read (checked again by lock_in).
    virtual core::Result<void> check() const = 0;
    // Errors: kConflict (changed since read, already used): nothing is written.
    virtual boost::asio::awaitable<core::Result<void>> lock_in(
        db::Transaction& tx) = 0;  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    virtual boost::asio::awaitable<void> close_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id) = 0;
};

// What pricing needs to know of one order before its transaction locks anything.
struct PricingRequest {
    std::int64_t user_id = 0;
    std::vector<std::string> codes;         // normalised (upper case), at most kMaxCodes
    std::vector<std::int64_t> product_ids;  // of its lines (their categories may matter)
    std::optional<std::int64_t> expected_total_cents;  // refused (kCartChanged) when the total differs
    std::optional<std::string> country;                // destination (ISO 3166-1 alpha-2, upper case)
    std::optional<std::int64_t> shipping_option_id;
    std::vector<std::int64_t> variant_ids;  // of its lines (their weights may matter)
};

// A price shown before ordering (a cart): the codes that name no promotion are listed apart.
struct ShippingQuote {
    std::int64_t id = 0;
    std::string name;
    std::int64_t price_cents = 0;  // for these lines, after a free-shipping promotion
};
struct Quote {
    pricing::Priced priced;
    std::vector<std::string> unknown_codes;
    std::vector<ShippingQuote> shipping_options;  // the country's, in the lines' currency
};

// The price of one or more orders written in one transaction (one checkout, or a group commit).
// Opened before the stock is locked (the lock order: promotions, then variants); each order is then
// priced in arrival order on its reserved lines, and what an accepted order redeems counts for the
// orders after it, so usage limits hold inside a group as across groups.
class PricingRound {
public:
    PricingRound() = default;
    PricingRound(const PricingRound&) = delete;
    PricingRound& operator=(const PricingRound&) = delete;
    PricingRound(PricingRound&&) = delete;
    PricingRound& operator=(PricingRound&&) = delete;
    virtual ~PricingRound() = default;
    // Prices request `i` and, when it succeeds, counts its redemptions as made. Errors:
    // kValidation (a code that names no promotion), kPromotionUnavailable (a code that does not
    // apply: used up, the customer's limit, conditions not met, not combinable, …), kCartChanged
    // (not the expected total).
    virtual core::Result<pricing::Priced> price(std::size_t i, const std::vector<inventory::ReservedLine>& lines) = 0;
    // Writes the redemptions of the accepted requests, given as (index, order id), in `tx`.
    virtual boost::asio::awaitable<void> commit_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::pair<std::size_t, std::int64_t>> orders) = 0;
};

// Where promotions (later shipping and tax) come from: the orders context does not know them.
class Pricer {
public:
    Pricer() = default;
    Pricer(const Pricer&) = delete;
    Pricer& operator=(const Pricer&) = delete;
    Pricer(Pricer&&) = delete;
    Pricer& operator=(Pricer&&) = delete;
    virtual ~Pricer() = default;
    // Locks (ascending id) and reads what pricing `requests` may need, in `tx`.
    virtual boost::asio::awaitable<std::unique_ptr<PricingRound>> open_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<PricingRequest> requests) = 0;
    // The price of `lines` for `user_id` (a guest: none) with the request's codes, country and
    // shipping option now, without locks or writes. An option that does not serve the country is
    // ignored, and no country means no tax (checkout refuses both).
    virtual boost::asio::awaitable<Quote> quote(std::optional<std::int64_t> user_id,
                                                std::vector<inventory::ReservedLine> lines,
                                                PricingRequest request) = 0;
    // Gives back what the (unpaid, now cancelled or expired) orders redeemed, once.
    virtual boost::asio::awaitable<void> release_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> order_ids) = 0;
};

// kCartChanged: the order would cost `total`, not the `expected` total the customer saw.
core::Error unexpected_total(std::int64_t total, std::int64_t expected);

// SHA-256 of `text` as raw bytes (idempotency request fingerprints).
std::string sha256(std::string_view text);

class OrdersService {
public:
    OrdersService(OrdersSettings settings, OrdersStore store, std::shared_ptr<inventory::InventoryService> inventory);

    // Set once at start-up, before any request. Without one, orders are priced without promotions
    // and any code is refused as unknown.
    void set_pricer(std::shared_ptr<Pricer> pricer) { pricer_ = std::move(pricer); }
    const std::shared_ptr<Pricer>& pricer() const { return pricer_; }

    // Places an order for `user_id` under Idempotency-Key `key`. `fingerprint` identifies the
    // request (method, path, canonical body): the same key with another fingerprint is rejected.
    // A stored answer is replayed as is. Errors: kValidation (key reused for another request,
    // unknown or inactive product, mixed currencies), kOutOfStock (names the product), kConflict
    // (same key still in progress). Failures of the checkout itself (kOutOfStock naming the
    // product, kValidation for unknown / inactive products or mixed currencies, kConflict when
    // the products are busy) come back as CheckoutResponse::failure.
    boost::asio::awaitable<core::Result<CheckoutResponse>> place_order(std::int64_t user_id,
                                                                       std::string key,
                                                                       NewOrder order,
                                                                       std::string fingerprint);
    // As place_order, for an order of `lines` (resolved; `held` = units the source already holds)
    // from `source`; `order` gives the address, the codes and the expected total (no items).
    // Errors and failures as place_order's, plus the source's lock_in errors as failures.
    boost::asio::awaitable<core::Result<CheckoutResponse>> place_from(std::int64_t user_id,
                                                                      std::string key,
                                                                      std::string fingerprint,
                                                                      NewOrder order,
                                                                      std::vector<inventory::Line> lines,
                                                                      std::shared_ptr<OrderSource> source);
    boost::asio::awaitable<void> remember_failure(std::int64_t user_id,
                                                  std::string key,
                                                  std::int32_t status,
                                                  std::string body);

    // Idempotency-Key handling for other contexts' requests (payments), with checkout's rules.
    // Errors: kValidation (key used for another request), kConflict (in progress, recycled).
    boost::asio::awaitable<core::Result<IdempotencyClaim>> claim_request(std::int64_t user_id,
                                                                         std::string key,
                                                                         std::string fingerprint);
    // Frees a claimed key whose request failed on infrastructure (the client may retry).
    boost::asio::awaitable<void> release_request(std::int64_t user_id, std::string key);
    // Stores the final answer in the caller's transaction (committed with the change it reports).
    boost::asio::awaitable<void> remember_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t user_id,
        std::string key,
        std::int32_t status,
        std::string body);
    // A succeeded refund of `payment_id` (in the caller's transaction): when that payment paid the
    // order, its refunded_cents grow and an order.refunded event is written.
    boost::asio::awaitable<void> refunded_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        std::int64_t amount_cents,
        std::int64_t payment_id);
    // Moves the (locked) order to `target` in the caller's transaction with its order.<status>
    // event; false when the state machine refuses it.
    boost::asio::awaitable<bool> move_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Order order,
        OrderStatus target);
    // Units sent back by the customer go back on sale: ledger rows 'order_returned', in the
    // caller's transaction; after_restock() after the commit (the Redis mirror).
    boost::asio::awaitable<void> restock_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        std::vector<inventory::Line> lines);
    boost::asio::awaitable<void> after_restock(std::vector<inventory::Line> lines);
    // Locks the order row (FOR UPDATE) in the caller's transaction; nullopt when absent.
    boost::asio::awaitable<std::optional<Order>> lock_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);

    // Errors: kNotFound (absent, or not the viewer's and the viewer is no admin).
    boost::asio::awaitable<core::Result<Order>> get_order(std::int64_t id, std::int64_t viewer_id, bool is_admin);
    // Newest first. Errors: kBadRequest (malformed cursor).
    boost::asio::awaitable<core::Result<OrderPage>> list_orders(OrderFilter filter,
                                                                std::int64_t limit,
                                                                std::optional<std::string> cursor);
    // Owner or admin; returns the stock (order_cancelled). Errors: kNotFound, kConflict (state).
    boost::asio::awaitable<core::Result<Order>> cancel(std::int64_t id, std::int64_t viewer_id, bool is_admin);
    // paid → fulfilled (admin). Errors: kNotFound, kConflict.
    boost::asio::awaitable<core::Result<Order>> fulfil(std::int64_t id);
    // pending_payment | payment_failed → paid by the captured payment `payment_id` (for the payments
    // context), recorded as orders.paid_payment_id in the same transaction. Any other state is not an
    // error but an outcome the caller must act on (see PaymentApplied). Concurrent calls for one order
    // are serialised by its row lock: exactly one payment pays it. Errors: kNotFound.
    boost::asio::awaitable<core::Result<PaymentApplied>> mark_paid(std::int64_t id, std::int64_t payment_id);
    // pending_payment → payment_failed: a declined payment; the stock stays reserved until the
    // order expires, so the customer may pay again. Errors: kNotFound, kConflict.
    boost::asio::awaitable<core::Result<Order>> mark_payment_failed(std::int64_t id);
    // Expires unpaid orders past expires_at in batches of `batch`, returning their stock
    // (order_expired); returns how many were expired. Safe to run concurrently (SKIP LOCKED).
    boost::asio::awaitable<std::int64_t> expire_due(std::int64_t batch = 100);
    // Deletes idempotency records older than their TTL.
    boost::asio::awaitable<std::int64_t> purge_idempotency_keys();

private:
    // Without a source the lines are resolved from order.items; with one, `wanted` are its lines.
    boost::asio::awaitable<core::Result<CheckoutResponse>> checkout(std::int64_t user_id,
                                                                    std::string key,
                                                                    NewOrder order,
                                                                    std::vector<inventory::Line> wanted,
                                                                    std::shared_ptr<OrderSource> source);
    // The request's lines with their variants and products, in the client's order, merged by
    // variant. Errors: kValidation (an unknown variant or product; more than kMaxQuantity of one
    // variant once merged).
    boost::asio::awaitable<core::Result<std::vector<inventory::Line>>> resolve_lines(std::vector<OrderLine> items);
    // Claims the key, runs checkout() (a replay skips it) and turns its error into a failure.
    boost::asio::awaitable<core::Result<CheckoutResponse>> claimed(std::int64_t user_id,
                                                                   std::string key,
                                                                   std::string fingerprint,
                                                                   NewOrder order,
                                                                   std::vector<inventory::Line> wanted,
                                                                   std::shared_ptr<OrderSource> source);
    // `wanted`: the resolved lines in the client's order (the order of the items); `source`, if
    // any, is locked first and closed with the order.
    boost::asio::awaitable<core::Result<CheckoutResponse>> write_order(
        std::int64_t user_id,
        std::string key,
        NewOrder order,
        std::vector<inventory::Line> wanted,
        const inventory::Hold& hold,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::shared_ptr<OrderSource> source = nullptr);  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    struct PendingOrder;
    boost::asio::awaitable<core::Result<CheckoutResponse>> write_grouped(std::int64_t user_id,
                                                                         std::string key,
                                                                         NewOrder order,
                                                                         std::vector<inventory::Line> lines);
    boost::asio::awaitable<void> write_batch(std::vector<std::shared_ptr<PendingOrder>> batch);
    // The order after a transition attempt: `changed` is false when the state machine refused it
    // (the order as it was, locked).
    struct Transitioned {
        Order order;
        bool changed = false;
    };
    boost::asio::awaitable<core::Result<Transitioned>> transition(std::int64_t id,
                                                                  std::optional<std::int64_t> owner,
                                                                  OrderStatus target,
                                                                  std::optional<std::int64_t> paid_by);
    // transition() for callers that treat a refused transition as kConflict.
    boost::asio::awaitable<core::Result<Order>> transition_or_conflict(std::int64_t id,
                                                                       std::optional<std::int64_t> owner,
                                                                       OrderStatus target);
    boost::asio::awaitable<std::int64_t> expire_batch(std::int64_t batch);

    // Opens the pricing of `requests` in `tx` (a round without promotions when there is no pricer).
    boost::asio::awaitable<std::unique_ptr<PricingRound>> open_pricing(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<PricingRequest> requests);

    OrdersSettings settings_;
    OrdersStore store_;
    std::shared_ptr<inventory::InventoryService> inventory_;
    std::shared_ptr<Pricer> pricer_;
    // Orders waiting for the next group commit (the `redis` strategy).
    core::GroupCommit<PendingOrder> batches_;
};

}  // namespace emporium::orders
