#pragma once
// Payments: one row per attempt to pay an order (pending → captured | declined | failed).

#include "core/error.hpp"
#include "core/fields.hpp"

#include <boost/describe/class.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::payments {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;  // = db::Timestamp

struct Payment {
    std::int64_t id = 0;
    std::int64_t order_id = 0;
    std::string status;  // pending | captured | declined | failed | refunded
    std::int64_t amount_cents = 0;
    std::string currency = "USD";
    std::string provider;
    std::optional<std::string> provider_reference;
    std::string idempotency_key;  // sent to the provider on every try
    std::string method_token;
    std::int32_t attempts = 0;
    std::optional<std::string> last_error;
    Timestamp created_at{};
    Timestamp updated_at{};
    std::optional<Timestamp> captured_at;
    // Set once on a captured payment whose money must go back: see FlagReason.
    std::optional<std::string> flag_reason;
    std::optional<Timestamp> flagged_at;
    static constexpr std::array kFields{
        core::field("status").values("pending|captured|declined|failed|refunded"),
        core::field("flag_reason")
            .values("paid_by_other_payment|order_cancelled|order_expired")
            .describe("set when money was captured that must go back: another payment already paid the order (a "
                      "second charge), or the order was cancelled or expired")};
};
// The API shows these members; the idempotency key and the method token stay inside.
BOOST_DESCRIBE_STRUCT(Payment, (), (id, order_id, status, amount_cents, currency, provider, provider_reference,
                                    attempts, last_error, created_at, updated_at, captured_at, flag_reason, flagged_at))

// The answer of POST /orders/{id}/pay (202).
struct PaymentAccepted {
    Payment payment;
    std::string status_url;
};
BOOST_DESCRIBE_STRUCT(PaymentAccepted, (), (payment, status_url))

// GET /orders/{id}/payment: the latest attempt and every attempt, newest first.
struct PaymentStatus : Payment {
    std::vector<Payment> history;
};
BOOST_DESCRIBE_STRUCT(PaymentStatus, (Payment), (history))

// Why a captured payment was flagged for a refund (payments.flag_reason).
inline constexpr std::string_view kFlagPaidByOtherPayment = "paid_by_other_payment";  // a second charge
inline constexpr std::string_view kFlagOrderCancelled = "order_cancelled";
inline constexpr std::string_view kFlagOrderExpired = "order_expired";

// A page of flagged payments, newest first; next_cursor is opaque (the last id).
struct FlaggedPage {
    std::vector<Payment> items;
    std::optional<std::string> next_cursor;
    static constexpr std::string_view kSchemaName = "FlaggedPaymentPage";
};
BOOST_DESCRIBE_STRUCT(FlaggedPage, (), (items, next_cursor))

inline constexpr std::int64_t kDefaultFlaggedPage = 20;
inline constexpr std::int64_t kMaxFlaggedPage = 100;

boost::json::object to_json(const Payment& payment);

// The body of POST /orders/{id}/pay.
struct PayRequest {
    std::string payment_method;
    static constexpr std::array kFields{
        core::field("payment_method")
            .length(1, 255)
            .verbatim()
            .match("[!-~]+", "must be 1 to 255 printable ASCII characters")
            .describe("a payment method token (sandbox: tok_ok, tok_declined, tok_flaky_N, tok_slow, tok_invalid)")};
};
BOOST_DESCRIBE_STRUCT(PayRequest, (), (payment_method))

// Decodes {"payment_method": "tok_…"}. Errors: kValidation with field errors.
core::Result<std::string> parse_pay_request(const boost::json::object& body);

// One order line given back: `quantity` units of a variant, for `amount_cents` (its share of what
// was paid for the line).
struct RefundLine {
    std::int64_t variant_id = 0;
    std::int32_t quantity = 0;
    std::int64_t amount_cents = 0;
};
BOOST_DESCRIBE_STRUCT(RefundLine, (), (variant_id, quantity, amount_cents))

// A refund of (part of) a captured payment: pending → succeeded | failed.
struct Refund {
    std::int64_t id = 0;
    std::int64_t order_id = 0;
    std::int64_t payment_id = 0;
    std::int64_t amount_cents = 0;
    std::string currency = "USD";
    std::string status;  // pending | succeeded | failed
    std::string reason;
    std::vector<RefundLine> lines;
    bool automatic = false;
    std::string provider_key;  // sent to the provider on every try (not shown)
    std::optional<std::string> provider_reference;
    std::int32_t attempts = 0;
    std::optional<std::string> last_error;
    Timestamp created_at{};
    std::optional<Timestamp> refunded_at;
    static constexpr std::array kFields{
        core::field("status").values("pending|succeeded|failed"),
        core::field("lines").describe("the order lines it gives back (empty: a refund by amount)"),
        core::field("automatic").describe("made by the shop for a payment flagged as a second charge")};
};
BOOST_DESCRIBE_STRUCT(Refund, (), (id, order_id, payment_id, amount_cents, currency, status, reason, lines, automatic,
                                   provider_reference, attempts, last_error, created_at, refunded_at))

struct RefundList {
    std::vector<Refund> items;  // newest first
};
BOOST_DESCRIBE_STRUCT(RefundList, (), (items))

inline constexpr std::size_t kMaxRefundLines = 50;

struct RefundLineRequest {
    std::int64_t variant_id = 0;
    std::int32_t quantity = 0;
    static constexpr std::array kFields{core::field("variant_id").at_least(1),
                                        core::field("quantity").range(1, 100)};
};
BOOST_DESCRIBE_STRUCT(RefundLineRequest, (), (variant_id, quantity))

// The body of POST /orders/{id}/refunds: an amount, or order lines (exactly one of them).
struct NewRefund {
    std::optional<std::int64_t> amount_cents{};
    std::vector<RefundLineRequest> lines;
    std::string reason;
    static constexpr std::array kFields{
        core::field("amount_cents").at_least(1).describe("cents to give back (at most what is left of the capture)"),
        core::field("lines").length(0, kMaxRefundLines).optional().describe(
            "order lines to give back: each line's paid share (after its discount, with its tax when added) "
            "per unit; a unit is refunded at most once"),
        core::field("reason").length(0, 500).optional()};
    static constexpr std::string_view kSchemaDescription = "Exactly one of amount_cents and lines.";
};
BOOST_DESCRIBE_STRUCT(NewRefund, (), (amount_cents, lines, reason))
void check_decoded(NewRefund& body, std::vector<core::FieldError>& errors);

struct ReturnLine {
    std::int64_t variant_id = 0;
    std::int32_t quantity = 0;
};
BOOST_DESCRIBE_STRUCT(ReturnLine, (), (variant_id, quantity))

// A return: units of a fulfilled order the customer sends back; received by an admin, who
// restocks them and refunds their paid share in one step.
struct Return {
    std::int64_t id = 0;
    std::int64_t order_id = 0;
    std::string status;  // requested | received
    std::vector<ReturnLine> lines;
    std::string reason;
    std::optional<std::int64_t> refund_id;
    Timestamp created_at{};
    std::optional<Timestamp> received_at;
    static constexpr std::array kFields{
        core::field("status").values("requested|received"),
        core::field("refund_id").describe("the refund made when it was received")};
    static constexpr std::string_view kSchemaName = "OrderReturn";
};
BOOST_DESCRIBE_STRUCT(Return, (), (id, order_id, status, lines, reason, refund_id, created_at, received_at))

struct ReturnList {
    std::vector<Return> items;  // newest first
    static constexpr std::string_view kSchemaName = "OrderReturnList";
};
BOOST_DESCRIBE_STRUCT(ReturnList, (), (items))

// The body of POST /orders/{id}/returns.
struct NewReturn {
    std::vector<RefundLineRequest> lines;
    std::string reason;
    static constexpr std::array kFields{
        core::field("lines").length(1, kMaxRefundLines).describe("the units to send back (each variant once)"),
        core::field("reason").length(0, 500).optional()};
    static constexpr std::string_view kSchemaName = "NewOrderReturn";
};
BOOST_DESCRIBE_STRUCT(NewReturn, (), (lines, reason))
void check_decoded(NewReturn& body, std::vector<core::FieldError>& errors);

inline constexpr std::string_view kRefundJob = "refund.execute";
inline constexpr std::string_view kCaptureJob = "payment.capture";
inline constexpr std::string_view kSettleJob = "payment.settle";

}  // namespace emporium::payments
