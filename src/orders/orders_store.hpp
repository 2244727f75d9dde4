#pragma once
// SQL of the orders context: orders, order_items, the outbox rows of order events and the
// idempotency_keys of checkout requests. Methods taking a Transaction run inside the caller's.

#include "db/pg.hpp"
#include "orders/orders_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace emporium::orders {

// A stored Idempotency-Key: status/body are empty while the first request is in progress.
struct IdempotencyRecord {
    std::string request_hash;
    std::optional<std::int32_t> status_code;
    std::optional<std::string> response_body;
};

// A new order of a group commit.
struct NewOrderRow {
    std::int64_t user_id = 0;
    std::string idempotency_key;
    std::int64_t total_cents = 0;
    std::string currency;
    boost::json::value shipping_address;
    std::int64_t subtotal_cents = 0;
    std::int64_t discount_cents = 0;
    std::int64_t shipping_cents = 0;
    std::int64_t tax_cents = 0;
    std::vector<AppliedPromotion> promotions;
    std::optional<std::string> country;
    std::optional<std::int64_t> shipping_option_id;
};

// The stored answer of an idempotent request.
struct FinishedKey {
    std::int64_t user_id = 0;
    std::string key;
    std::int32_t status = 0;
    std::string body;
};

class OrdersStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit OrdersStore(PoolProvider pools) : pools_(std::move(pools)) {}

    db::Pool& pool() { return pools_(); }

    // Claims (user, key) with an in-progress row; false when the key already exists (an expired
    // record is removed first). An in-progress record of the same request older than
    // `abandoned_after` is taken over: its request died (crash) before committing, because the
    // final answer is committed together with the order.
    boost::asio::awaitable<bool> claim_key(std::int64_t user_id,
                                           std::string key,
                                           std::string request_hash,
                                           std::chrono::seconds ttl,
                                           std::chrono::seconds abandoned_after);
    boost::asio::awaitable<std::optional<IdempotencyRecord>> find_key(std::int64_t user_id, std::string key);
    boost::asio::awaitable<void> finish_key(std::int64_t user_id, std::string key, std::int32_t status, std::string body);
    boost::asio::awaitable<void> finish_key_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t user_id,
        std::string key,
        std::int32_t status,
        std::string body);
    // Removes an in-progress claim (the request failed on infrastructure; the client may retry).
    boost::asio::awaitable<void> drop_key(std::int64_t user_id, std::string key);
    // Deletes expired idempotency records; returns how many.
    boost::asio::awaitable<std::int64_t> purge_expired_keys();

    // Group commit: several new orders at once, each with its total and currency already known;
    // returns them (no items) in the order of `orders`. One statement.
    boost::asio::awaitable<std::vector<Order>> insert_orders(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<NewOrderRow> orders,
        std::chrono::seconds ttl);
    // The items of several orders, one statement.
    boost::asio::awaitable<void> insert_items(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::pair<std::int64_t, OrderItem>> items);
    // One `event_type` outbox event per (order id, payload), one statement.
    boost::asio::awaitable<void> add_events(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::string event_type,
        std::vector<std::pair<std::int64_t, boost::json::value>> events);
    // finish_key_in for several requests, one statement.
    boost::asio::awaitable<void> finish_keys_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<FinishedKey> keys);

    // Inserts a pending_payment order (money filled in by set_amounts) and returns it (no items).
    boost::asio::awaitable<Order> insert_order(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t user_id,
        boost::json::value shipping_address,
        std::string idempotency_key,
        std::chrono::seconds ttl);
    boost::asio::awaitable<void> insert_item(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        OrderItem item);
    // Writes the order's currency and money (total, its parts, the promotions applied).
    boost::asio::awaitable<void> set_amounts(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        const Order& order);  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    // Adds a succeeded refund of `payment_id` to the order's refunded_cents when that payment paid
    // it; the new total, or nullopt when it did not.
    boost::asio::awaitable<std::optional<std::int64_t>> add_refunded(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        std::int64_t amount_cents,
        std::int64_t payment_id);
    boost::asio::awaitable<void> add_event(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id,
        std::string event_type,
        boost::json::value payload);

    // Whether a payment of the (unpaid) order is still being captured, or was captured and has not
    // paid the order yet. Read in the caller's transaction after the order row is locked: a new
    // payment is only inserted under the same lock, and each statement sees what committed before
    // it, so the answer holds until the caller commits (except for a payment we gave up on that
    // the provider reports captured later: its settle then finds the order closed and flags it).
    boost::asio::awaitable<bool> has_unsettled_payment(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id);
    // With items; nullopt when absent.
    boost::asio::awaitable<std::optional<Order>> find_order(std::int64_t id);
    // Locks the order row (FOR UPDATE) and returns it with its items.
    boost::asio::awaitable<std::optional<Order>> lock_order(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    // `paid_by`: the payment recorded as having paid the order (only stored with status paid).
    boost::asio::awaitable<void> set_status(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        OrderStatus status,
        std::optional<std::int64_t> paid_by = std::nullopt);
    // Newest first; `before_id` is exclusive.
    boost::asio::awaitable<std::vector<Order>> list_orders(OrderFilter filter,
                                                           std::int64_t limit,
                                                           std::optional<std::int64_t> before_id);
    // Locks up to `limit` unpaid orders past their expiry without an unsettled payment (SKIP LOCKED:
    // concurrent runs share work). The payment condition is read on the statement's snapshot, which
    // is older than the locks: check has_unsettled_payment() again before expiring one.
    boost::asio::awaitable<std::vector<std::int64_t>> lock_due_orders(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t limit);

private:
    PoolProvider pools_;
};

}  // namespace emporium::orders
