#pragma once
// The built-in sandbox provider (PAYMENT_PROVIDER=sandbox, the default): no network, deterministic
// by payment method token —
//   tok_ok         approves (provider_reference "sb_<idempotency key>")
//   tok_declined   declines ("card_declined")
//   tok_flaky_N    fails transiently on attempts 1..N, then approves
//   tok_slow       answers after longer than the client timeout, so the call times out (transient)
//   tok_invalid    is rejected like a malformed request (final, not a decline)
//   anything else  declines ("unknown test token")
// Refunds: a captured payment's charge is refunded (reference "sbr_<key>"), except that an amount
// ending in 99 cents fails transiently on the first attempt (to show retries with the same key);
// a payment without a provider reference is rejected ("no such charge").

#include "payments/provider.hpp"

#include <chrono>

namespace emporium::payments {

class SandboxProvider final : public PaymentProvider {
public:
    // `client_timeout`: how long a charge may take before the caller gives up (PAYMENT_TIMEOUT_MS).
    explicit SandboxProvider(std::chrono::milliseconds client_timeout) : timeout_(client_timeout) {}
    std::string name() const override { return "sandbox"; }
    boost::asio::awaitable<ChargeOutcome> charge(ChargeRequest request) override;
    boost::asio::awaitable<RefundOutcome> refund(RefundRequest request) override;

private:
    std::chrono::milliseconds timeout_;
};

}  // namespace emporium::payments
