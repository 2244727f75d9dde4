#pragma once
// The payment-provider port: one charge (create + confirm) per call, always with the same
// idempotency key for the same payment, so a retry after a timeout never charges twice.

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <string>

namespace emporium::payments {

struct ChargeRequest {
    std::int64_t payment_id = 0;
    std::int64_t order_id = 0;
    std::string idempotency_key;  // identical on every retry of this payment
    std::int64_t amount_cents = 0;
    std::string currency = "USD";  // ISO 4217, upper case
    std::string method_token;      // the customer's payment method (tok_…, pm_…)
    int attempt = 1;               // 1-based; the sandbox uses it to script tok_flaky_N
};

struct ChargeOutcome {
    enum class Kind {
        kApproved,   // money captured; provider_reference identifies the charge
        kDeclined,   // the provider said no (card declined…): final, never retried
        kTransient,  // timeout, connection error, 5xx, 429: retry with the same key
        kRejected,   // any other 4xx (bad request, bad key…): final, never retried
        kPending,    // accepted, the outcome comes later (a webhook, or a retry with the same key)
    };
    Kind kind = Kind::kTransient;
    std::string provider_reference;  // e.g. pi_…, when known
    std::string message;             // decline reason or error, for payments.last_error
};

// Giving back (part of) a captured payment; the same key on every retry of this refund.
struct RefundRequest {
    std::int64_t refund_id = 0;
    std::int64_t payment_id = 0;
    std::string idempotency_key;     // identical on every retry of this refund
    std::string payment_reference;   // the captured charge (provider_reference of the payment)
    std::int64_t amount_cents = 0;
    std::string currency = "USD";
    int attempt = 1;
};
// kApproved: refunded (provider_reference names the refund); kDeclined / kRejected: final, the
// refund failed; kTransient: retry with the same key.
using RefundOutcome = ChargeOutcome;

class PaymentProvider {
public:
    virtual ~PaymentProvider() = default;
    virtual std::string name() const = 0;  // stored in payments.provider
    // Never throws for provider-side problems: they are outcomes.
    virtual boost::asio::awaitable<ChargeOutcome> charge(ChargeRequest request) = 0;
    virtual boost::asio::awaitable<RefundOutcome> refund(RefundRequest request) = 0;
};

}  // namespace emporium::payments
