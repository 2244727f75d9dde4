#include "inventory/inventory_types.hpp"

#include <algorithm>

namespace emporium::inventory {

std::optional<Strategy> parse_strategy(std::string_view text) {
    if (text == "pessimistic") return Strategy::kPessimistic;
    if (text == "dual") return Strategy::kDual;
    if (text == "optimistic") return Strategy::kOptimistic;
    if (text == "redis") return Strategy::kRedis;
    return std::nullopt;
}

std::string_view strategy_name(Strategy strategy) {
    switch (strategy) {
        case Strategy::kPessimistic: return "pessimistic";
        case Strategy::kDual: return "dual";
        case Strategy::kOptimistic: return "optimistic";
        case Strategy::kRedis: return "redis";
    }
    return "dual";
}

std::string_view reason_name(ReturnReason reason) {
    switch (reason) {
        case ReturnReason::kCancelled: return "order_cancelled";
        case ReturnReason::kExpired: return "order_expired";
        case ReturnReason::kPaymentFailed: return "order_payment_failed";
        case ReturnReason::kReturned: return "order_returned";
    }
    return "order_cancelled";
}

std::vector<Line> sorted_lines(std::vector<Line> lines) {
    std::sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.variant_id < b.variant_id; });
    return lines;
}

}  // namespace emporium::inventory
