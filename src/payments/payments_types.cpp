#include "payments/payments_types.hpp"

#include "orders/orders_types.hpp"

#include <algorithm>

namespace emporium::payments {

namespace json = boost::json;

json::object to_json(const Payment& p) {
    json::object o{{"id", p.id},
                   {"order_id", p.order_id},
                   {"status", p.status},
                   {"amount_cents", p.amount_cents},
                   {"currency", p.currency},
                   {"provider", p.provider},
                   {"attempts", p.attempts},
                   {"created_at", orders::iso8601(p.created_at)},
                   {"updated_at", orders::iso8601(p.updated_at)}};
    o["provider_reference"] = p.provider_reference ? json::value(*p.provider_reference) : json::value(nullptr);
    o["last_error"] = p.last_error ? json::value(*p.last_error) : json::value(nullptr);
    o["captured_at"] = p.captured_at ? json::value(orders::iso8601(*p.captured_at)) : json::value(nullptr);
    o["flag_reason"] = p.flag_reason ? json::value(*p.flag_reason) : json::value(nullptr);
    o["flagged_at"] = p.flagged_at ? json::value(orders::iso8601(*p.flagged_at)) : json::value(nullptr);
    return o;
}

core::Result<std::string> parse_pay_request(const json::object& body) {
    std::vector<core::FieldError> errors;
    for (const auto& [k, v] : body) {
        if (k != "payment_method") errors.push_back({std::string(k), "unknown field"});
    }
    std::string token;
    const auto* method = body.if_contains("payment_method");
    if (method == nullptr) {
        errors.push_back({"payment_method", "is required"});
    } else if (!method->is_string()) {
        errors.push_back({"payment_method", "must be a string"});
    } else {
        token = std::string(method->get_string());
        const bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
        if (token.empty() || token.size() > 255 || !printable) {
            errors.push_back({"payment_method", "must be 1 to 255 printable ASCII characters"});
        }
    }
    if (!errors.empty()) return core::make_error(core::Errc::kValidation, "invalid payment request", std::move(errors));
    return token;
}

}  // namespace emporium::payments
