#pragma once
// Payments: one row per attempt to pay an order (pending → captured | declined | failed).

#include "core/error.hpp"

#include <boost/json/object.hpp>

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
};

// Why a captured payment was flagged for a refund (payments.flag_reason).
inline constexpr std::string_view kFlagPaidByOtherPayment = "paid_by_other_payment";  // a second charge
inline constexpr std::string_view kFlagOrderCancelled = "order_cancelled";
inline constexpr std::string_view kFlagOrderExpired = "order_expired";

// A page of flagged payments, newest first; next_cursor is opaque (the last id).
struct FlaggedPage {
    std::vector<Payment> items;
    std::optional<std::string> next_cursor;
};

inline constexpr std::int64_t kDefaultFlaggedPage = 20;
inline constexpr std::int64_t kMaxFlaggedPage = 100;

boost::json::object to_json(const Payment& payment);

// The body of POST /orders/{id}/pay: {"payment_method": "tok_…"} (1..255 printable ASCII).
// Errors: kValidation with field errors.
core::Result<std::string> parse_pay_request(const boost::json::object& body);

inline constexpr std::string_view kCaptureJob = "payment.capture";
inline constexpr std::string_view kSettleJob = "payment.settle";

}  // namespace emporium::payments
