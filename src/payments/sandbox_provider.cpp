#include "payments/sandbox_provider.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>

namespace emporium::payments {

namespace asio = boost::asio;

asio::awaitable<ChargeOutcome> SandboxProvider::charge(ChargeRequest request) {
    const auto& token = request.method_token;
    const auto approved = [&] {
        return ChargeOutcome{ChargeOutcome::Kind::kApproved, "sb_" + request.idempotency_key, "approved"};
    };
    if (token == "tok_ok") co_return approved();
    if (token == "tok_declined") co_return ChargeOutcome{ChargeOutcome::Kind::kDeclined, {}, "card_declined"};
    if (token == "tok_invalid") {
        co_return ChargeOutcome{ChargeOutcome::Kind::kRejected, {}, "invalid_request: malformed payment method"};
    }
    if (token == "tok_slow") {
        // The provider would answer after the client gave up: model the client's timeout.
        asio::steady_timer t(co_await asio::this_coro::executor, timeout_);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return ChargeOutcome{ChargeOutcome::Kind::kTransient, {},
                                "timed out after " + std::to_string(timeout_.count()) + " ms"};
    }
    constexpr std::string_view kFlaky = "tok_flaky_";
    if (token.rfind(kFlaky, 0) == 0) {
        int failures = 0;
        const auto digits = std::string_view(token).substr(kFlaky.size());
        auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), failures);
        if (ec == std::errc() && p == digits.data() + digits.size() && failures >= 0) {
            if (request.attempt <= failures) {
                co_return ChargeOutcome{ChargeOutcome::Kind::kTransient, {},
                                        "sandbox: transient failure " + std::to_string(request.attempt) + " of " +
                                            std::to_string(failures)};
            }
            co_return approved();
        }
    }
    co_return ChargeOutcome{ChargeOutcome::Kind::kDeclined, {}, "unknown test token"};
}

asio::awaitable<RefundOutcome> SandboxProvider::refund(RefundRequest request) {
    if (request.payment_reference.empty()) {
        co_return RefundOutcome{RefundOutcome::Kind::kRejected, {}, "sandbox: no such charge " + request.payment_reference};
    }
    if (request.amount_cents % 100 == 99 && request.attempt == 1) {
        co_return RefundOutcome{RefundOutcome::Kind::kTransient, {}, "sandbox: transient refund failure"};
    }
    co_return RefundOutcome{RefundOutcome::Kind::kApproved, "sbr_" + request.idempotency_key, "refunded"};
}

}  // namespace emporium::payments
