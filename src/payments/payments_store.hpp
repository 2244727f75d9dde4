#pragma once
// SQL of the payments context: payments, their outbox events and applied webhook events. Methods
// taking a Transaction run inside the caller's.

#include "db/pg.hpp"
#include "payments/payments_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace emporium::payments {

class PaymentsStore {
public:
    using PoolRef = std::function<db::Pool&()>;
    explicit PaymentsStore(PoolRef pool) : pool_(std::move(pool)) {}
    db::Pool& pool() { return pool_(); }

    // Throws DbError (unique violation payments_one_pending_per_order: another attempt is pending).
    boost::asio::awaitable<Payment> insert(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Payment payment);
    boost::asio::awaitable<std::optional<Payment>> find(std::int64_t id);
    boost::asio::awaitable<std::optional<Payment>> lock(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    // Newest first.
    boost::asio::awaitable<std::vector<Payment>> for_order(std::int64_t order_id);
    boost::asio::awaitable<std::optional<std::int64_t>> by_reference(std::string provider, std::string reference);
    // Counts one more try of a pending payment; nullopt when it is no longer pending.
    boost::asio::awaitable<std::optional<std::int32_t>> begin_attempt(std::int64_t id);
    boost::asio::awaitable<void> record_error(std::int64_t id, std::string error);
    boost::asio::awaitable<void> set_outcome(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        std::string status,
        std::optional<std::string> reference,
        std::optional<std::string> error);
    boost::asio::awaitable<void> add_event(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t payment_id,
        std::string event_type,
        boost::json::value payload);
    // False when this provider event was already recorded (a duplicate delivery).
    boost::asio::awaitable<bool> record_webhook(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::string provider,
        std::string event_id,
        std::string event_type,
        std::optional<std::int64_t> payment_id);

    // Flags a captured payment for a refund with `reason` unless it is flagged already; true when
    // this call flagged it (so the caller logs and counts it once).
    boost::asio::awaitable<bool> flag(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        std::string reason);
    // Flagged payments, newest first; `before_id` is exclusive.
    boost::asio::awaitable<std::vector<Payment>> flagged(std::int64_t limit,
                                                         std::optional<std::int64_t> before_id);

    // Returns (migration 0018). Throws DbError (unique violation returns_one_open_per_order).
    boost::asio::awaitable<Return> insert_return(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t user_id,
        Return value);
    boost::asio::awaitable<std::optional<Return>> find_return(std::int64_t id);
    boost::asio::awaitable<std::optional<Return>> lock_return(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    boost::asio::awaitable<std::vector<Return>> returns_of_order(std::int64_t order_id);
    // requested → received, with the refund it made.
    boost::asio::awaitable<Return> receive_return(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        std::optional<std::int64_t> refund_id);
    // variant id → units of the order asked back so far.
    boost::asio::awaitable<std::map<std::int64_t, std::int64_t>> returned_units(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id);
    // Refunds (migration 0017).
    boost::asio::awaitable<Refund> insert_refund(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Refund refund);
    boost::asio::awaitable<std::optional<Refund>> find_refund(std::int64_t id);
    boost::asio::awaitable<std::optional<Refund>> lock_refund(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    // Newest first.
    boost::asio::awaitable<std::vector<Refund>> refunds_of_order(std::int64_t order_id);
    boost::asio::awaitable<std::optional<std::int64_t>> refund_by_reference(std::string reference);
    // Σ of the payment's refunds that did not fail (read under the payment's row lock).
    boost::asio::awaitable<std::int64_t> refunded_of(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t payment_id);
    // variant id → units given back by the order's refunds that did not fail.
    boost::asio::awaitable<std::map<std::int64_t, std::int64_t>> refunded_units(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id);
    // Counts one more try of a pending refund; nullopt when it is no longer pending.
    boost::asio::awaitable<std::optional<std::int32_t>> begin_refund_attempt(std::int64_t id);
    boost::asio::awaitable<void> record_refund_error(std::int64_t id, std::string error);
    boost::asio::awaitable<void> set_refund_outcome(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        std::string status,
        std::optional<std::string> reference,
        std::optional<std::string> error);
    boost::asio::awaitable<void> add_refund_event(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t refund_id,
        std::string event_type,
        boost::json::value payload);

private:
    PoolRef pool_;
};

}  // namespace emporium::payments
