#pragma once
// Paying orders: an idempotent "pay" request records a payment attempt and a payment.requested
// outbox event in one transaction; the `payment` queue's capture job charges the provider (same
// idempotency key on every try, retried with backoff on transient failures); the outcome is
// committed with a payment.* event whose settle job moves the order (paid → e-mail, receipt,
// purchase counts; declined → payment_failed, stock kept until expiry). Provider webhooks apply
// the same transitions under the same row lock, so a webhook racing the worker ends in one state.

#include "core/error.hpp"
#include "orders/orders_service.hpp"
#include "payments/payments_store.hpp"
#include "payments/provider.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace emporium::payments {

struct PaymentsSettings {
    std::string provider = "sandbox";
    int max_attempts = 8;  // deliveries of a capture job before the payment is marked failed
    int refund_max_attempts = 8;  // deliveries of a refund.execute job before a transient failure is final
    std::string webhook_secret;  // empty: webhooks are refused (503)
    std::chrono::seconds webhook_tolerance{300};
    std::chrono::days return_window{30};  // returns are accepted this long after fulfilment
};

struct WebhookOutcome {
    bool duplicate = false;
    std::string action;  // "captured", "declined", "ignored: …"
};

class PaymentsService {
public:
    // `provider` may be null in processes that never charge (the API server).
    PaymentsService(PaymentsSettings settings,
                    PaymentsStore store,
                    std::shared_ptr<orders::OrdersService> orders,
                    std::shared_ptr<PaymentProvider> provider);

    // POST /orders/{id}/pay. Replays the stored answer for a repeated Idempotency-Key. Failures of
    // the request itself come back in CheckoutResponse::failure (the caller renders and
    // remembers them): kNotFound (no such order or not the user's), kConflict (order not payable,
    // another payment in progress). Errors: kValidation / kConflict for the key itself.
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> request_payment(std::int64_t user_id,
                                                                                   std::int64_t order_id,
                                                                                   std::string key,
                                                                                   std::string method_token,
                                                                                   std::string fingerprint);
    boost::asio::awaitable<void> remember_failure(std::int64_t user_id, std::string key, std::int32_t status, std::string body);

    // The order's payment attempts, newest first (owner or admin). Errors: kNotFound.
    boost::asio::awaitable<core::Result<std::vector<Payment>>> payments_of(std::int64_t order_id,
                                                                           std::int64_t viewer_id,
                                                                           bool is_admin);

    // The capture job. `delivery` is the job's attempt number. Errors: kUnavailable (transient:
    // retry), kNotFound / kValidation (permanent).
    boost::asio::awaitable<core::Result<void>> capture(std::int64_t payment_id, int delivery);
    // The settle job: moves the order according to its payment's final status. Idempotent. A
    // captured payment that cannot pay its order — another payment paid it (a second charge), or
    // it was cancelled or expired meanwhile — is flagged for a refund: payments.flag_reason and
    // flagged_at, a payment.flagged outbox event, one error log line and
    // emporium_payments_flagged_total{reason}, all once however often settle runs. Errors:
    // kNotFound.
    boost::asio::awaitable<core::Result<void>> settle(std::int64_t payment_id);

    // GET /admin/payments/flagged: flagged payments, newest first (`limit` 1..100 already checked).
    // Errors: kBadRequest (malformed cursor).
    boost::asio::awaitable<core::Result<FlaggedPage>> flagged(std::int64_t limit,
                                                              std::optional<std::string> cursor);

    // POST /orders/{id}/refunds (admin): a pending refund of the payment that paid the order, by
    // amount or by order lines, with a refund.requested event and the stored 202 answer, in one
    // transaction under the order's and the payment's row locks (so concurrent refunds never sum
    // to more than the capture). Failures as request_payment's: kNotFound (no such order),
    // kConflict (not paid; more than what is left to refund), kValidation (more than captured,
    // lines not in the order or refunded already).
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> request_refund(std::int64_t admin_id,
                                                                                  std::int64_t order_id,
                                                                                  std::string key,
                                                                                  NewRefund body,
                                                                                  std::string fingerprint);
    // The order's refunds, newest first (owner or admin). Errors: kNotFound.
    boost::asio::awaitable<core::Result<RefundList>> refunds_of(std::int64_t order_id,
                                                               std::int64_t viewer_id,
                                                               bool is_admin);
    // POST /orders/{id}/returns (the order's customer): units of a fulfilled order to send back,
    // within return_window of its fulfilment; the order becomes return_requested. Errors:
    // kNotFound, kConflict (not fulfilled, a return already open, the window closed), kValidation
    // (lines not in the order, more units than are left to return).
    boost::asio::awaitable<core::Result<Return>> request_return(std::int64_t user_id,
                                                               std::int64_t order_id,
                                                               NewReturn body);
    // POST /admin/returns/{id}/receive: in one transaction the units go back on sale (ledger
    // 'order_returned'), their paid share is refunded (a refund like POST /refunds by lines) and
    // the order becomes returned. Errors: kNotFound, kConflict (received already), the refund's.
    boost::asio::awaitable<core::Result<Return>> receive_return(std::int64_t return_id);
    boost::asio::awaitable<core::Result<ReturnList>> returns_of(std::int64_t order_id,
                                                               std::int64_t viewer_id,
                                                               bool is_admin);
    // The refund.execute job: the provider refunds with the refund's key (the same on every try);
    // succeeded → the order's refunded_cents grow; rejected → failed (refundable again); transient
    // → kUnavailable (retried with backoff), failed after the last delivery.
    boost::asio::awaitable<core::Result<void>> execute_refund(std::int64_t refund_id, int delivery);
    // POST /webhooks/payments. Refund events (refund.updated, refund.failed, charge.refunded)
    // settle pending refunds the same way. Errors: kBadRequest (signature, timestamp, body),
    // kUnavailable (no webhook secret configured).
    boost::asio::awaitable<core::Result<WebhookOutcome>> handle_webhook(std::string signature_header,
                                                                        std::string body,
                                                                        std::int64_t now_seconds);

private:
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> start_payment(std::int64_t user_id,
                                                                                 std::int64_t order_id,
                                                                                 std::string key,
                                                                                 std::string method_token);
    // pending → `status` with its outbox event; false when the payment was no longer pending.
    boost::asio::awaitable<bool> finish(std::int64_t payment_id,
                                        std::string status,
                                        std::optional<std::string> reference,
                                        std::optional<std::string> error);

    // What an idempotent request does once its key is claimed (pay or refund).
    struct Step {
        enum class Kind { kPay, kRefund };
        Kind kind = Kind::kPay;
        std::int64_t order_id = 0;
        std::string method_token;
        NewRefund refund;
    };
    // Claims the key (a replay answers as the first request did), runs the step, frees the key if
    // it threw, and turns its error into a failure for the caller to render and remember.
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> claimed(std::int64_t user_id,
                                                                           std::string key,
                                                                           std::string fingerprint,
                                                                           Step step);
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> start_refund(std::int64_t admin_id,
                                                                                std::int64_t order_id,
                                                                                std::string key,
                                                                                NewRefund body);
    // A pending refund of the locked order's paying payment, by amount or lines, with its
    // refund.requested event, in `tx` (see request_refund for the rules).
    boost::asio::awaitable<core::Result<Refund>> refund_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        orders::Order locked,
        NewRefund body);
    // pending → `status` under the refund's row lock, with its event (and the order's
    // refunded_cents on success); false when it was no longer pending.
    boost::asio::awaitable<bool> finish_refund(std::int64_t refund_id,
                                               std::string status,
                                               std::optional<std::string> reference,
                                               std::optional<std::string> error);
    boost::asio::awaitable<WebhookOutcome> handle_refund_webhook(std::string event_id,
                                                                 std::string event_type,
                                                                 boost::json::object object);
    // finish_refund in the caller's transaction (order, then refund locked); false when the
    // refund was no longer pending.
    boost::asio::awaitable<bool> finish_refund_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t refund_id,
        std::string status,
        std::optional<std::string> reference,
        std::optional<std::string> error);
    // A refund event of the provider's webhook: the refund object's state applied to ours, in `tx`.
    boost::asio::awaitable<std::string> apply_refund_event_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        boost::json::object refund);
    // Flags a captured payment for a refund and starts that refund (once; see settle()).
    boost::asio::awaitable<void> flag(Payment payment,
                                      std::string reason,
                                      std::optional<std::int64_t> paid_by);

    PaymentsSettings settings_;
    PaymentsStore store_;
    std::shared_ptr<orders::OrdersService> orders_;
    std::shared_ptr<PaymentProvider> provider_;
};

}  // namespace emporium::payments
