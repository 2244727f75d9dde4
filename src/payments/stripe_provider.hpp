#pragma once
// The Stripe payment provider: one HTTPS request per charge, `POST {base_url}/v1/payment_intents`
// with `confirm=true`, sent with libcurl on the CPU pool (never on the calling I/O thread) and the
// payment's idempotency key, so a retry after a timeout replays Stripe's first answer instead of
// charging twice.

#include "core/cpu_pool.hpp"
#include "payments/provider.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>

namespace emporium::payments {

struct StripeSettings {
    // Scheme, host and optional port (and path prefix), without a trailing "/v1". http:// is
    // accepted for local fakes and tests; production uses https://.
    std::string base_url = "https://api.stripe.com";
    std::string secret_key;                            // sk_…; sent as a Bearer token, never logged
    std::chrono::milliseconds timeout{10'000};         // the whole request, connect included
    std::chrono::milliseconds connect_timeout{3'000};  // TCP + TLS handshake
    bool verify_peer = true;                           // verify the certificate and the host name
};

// How charge() maps Stripe's answer to an outcome:
// - 2xx with JSON `status`:
//     "succeeded"                          → kApproved, provider_reference = `id`;
//     "requires_payment_method", "canceled" → kDeclined (the reason from `last_payment_error` or
//                                            `cancellation_reason` when present);
//     "processing", "requires_action", any other status → kTransient, the message names the status.
//   A retry with the same idempotency key replays the same answer, so a payment stuck in
//   "requires_action" (customer authentication, which a server-side charge cannot complete)
//   ends when the caller's retry budget does.
//   A 2xx body that is not a JSON object, or lacks `status` (or `id` on success) → kTransient.
// - 402 (card_error)                      → kDeclined; the message carries the error `code`,
//                                            `decline_code` and `message`.
// - 409 (idempotency: the first request with this key is still in progress), 429, 5xx,
//   1xx/3xx                               → kTransient.
// - any other 4xx (400 invalid request or idempotency key reused with other parameters, 401 bad
//   key, 404…)                            → kRejected.
// - no HTTP answer at all (timeout, connection refused or reset, DNS or TLS failure, empty
//   reply)                                → kTransient: the provider never said no, and the
//                                            request may have reached it.
// provider_reference is the PaymentIntent id whenever the answer names one. Messages start with
// "stripe: ", are at most a few hundred characters and never contain the secret key.
class StripeProvider final : public PaymentProvider {
public:
    // Throws std::invalid_argument for settings that can never work (a base_url that is not
    // http:// or https://, an empty secret key, a non-positive timeout): a configuration error to
    // report once at startup. Throws std::runtime_error if libcurl cannot be initialised.
    // `cpu` must outlive this object.
    StripeProvider(StripeSettings settings, core::CpuPool& cpu);

    std::string name() const override { return "stripe"; }

    // Never throws for provider-side problems (see the mapping above). Thread-safe; may be called
    // from any executor, which is where it resumes. The request blocks one CPU-pool thread for up
    // to `timeout`. The provider must outlive the returned awaitable.
    boost::asio::awaitable<ChargeOutcome> charge(ChargeRequest request) override;
    // POST {base_url}/v1/refunds (payment_intent, amount, metadata[refund_id]) with the refund's
    // idempotency key: 2xx "succeeded" → kApproved (the Refund id); "failed"/"canceled" →
    // kRejected; "pending" → kPending (the webhook, or a retry with the same key, settles it);
    // anything else → kTransient; errors as charge().
    boost::asio::awaitable<RefundOutcome> refund(RefundRequest request) override;

private:
    StripeSettings settings_;
    core::CpuPool& cpu_;
};

}  // namespace emporium::payments
