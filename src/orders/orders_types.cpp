#include "orders/orders_types.hpp"

#include <boost/json/array.hpp>
#include "core/codec.hpp"
#include "core/json_text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>

namespace emporium::orders {

namespace json = boost::json;

std::string_view status_name(OrderStatus status) {
    switch (status) {
        case OrderStatus::kPendingPayment: return "pending_payment";
        case OrderStatus::kPaid: return "paid";
        case OrderStatus::kFulfilled: return "fulfilled";
        case OrderStatus::kCancelled: return "cancelled";
        case OrderStatus::kExpired: return "expired";
        case OrderStatus::kPaymentFailed: return "payment_failed";
        case OrderStatus::kReturnRequested: return "return_requested";
        case OrderStatus::kReturned: return "returned";
    }
    return "pending_payment";
}

std::optional<OrderStatus> parse_status(std::string_view text) {
    for (auto s : {OrderStatus::kPendingPayment,
                   OrderStatus::kPaid,
                   OrderStatus::kFulfilled,
                   OrderStatus::kCancelled,
                   OrderStatus::kExpired,
                   OrderStatus::kPaymentFailed,
                   OrderStatus::kReturnRequested,
                   OrderStatus::kReturned}) {
        if (status_name(s) == text) return s;
    }
    return std::nullopt;
}

bool can_transition(OrderStatus from, OrderStatus to) {
    switch (from) {
        case OrderStatus::kPendingPayment:
            return to == OrderStatus::kPaid || to == OrderStatus::kCancelled || to == OrderStatus::kExpired ||
                   to == OrderStatus::kPaymentFailed;
        // A declined payment keeps the reservation: the customer may pay again with another method
        // until the order expires (or cancel it).
        case OrderStatus::kPaymentFailed:
            return to == OrderStatus::kPaid || to == OrderStatus::kCancelled || to == OrderStatus::kExpired;
        case OrderStatus::kPaid: return to == OrderStatus::kFulfilled;
        case OrderStatus::kFulfilled:
        case OrderStatus::kReturned: return to == OrderStatus::kReturnRequested;
        case OrderStatus::kReturnRequested: return to == OrderStatus::kReturned;
        case OrderStatus::kCancelled:
        case OrderStatus::kExpired: return false;
    }
    return false;
}

bool is_paid_state(OrderStatus status) {
    return status == OrderStatus::kPaid || status == OrderStatus::kFulfilled || status == OrderStatus::kReturnRequested ||
           status == OrderStatus::kReturned;
}

bool returns_stock(OrderStatus status) {
    return status == OrderStatus::kCancelled || status == OrderStatus::kExpired;
}

void check_codes(std::vector<std::string>& codes, std::string_view member, std::vector<core::FieldError>& errors) {
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < codes.size(); ++i) {
        auto code = normalize_code(codes[i]);
        if (!code) {
            errors.push_back({std::string(member) + "/" + std::to_string(i), "must be 3 to 32 characters of A-Z a-z 0-9 - _"});
            continue;
        }
        if (std::find(seen.begin(), seen.end(), *code) == seen.end()) seen.push_back(std::move(*code));
    }
    codes = std::move(seen);
}

std::optional<std::string> normalize_code(std::string_view text) {
    if (text.size() < 3 || text.size() > 32) return std::nullopt;
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return std::nullopt;
        out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    }
    return out;
}

void check_decoded(NewOrder& order, std::vector<core::FieldError>& errors) {
    std::vector<OrderLine> merged;
    for (std::size_t i = 0; i < order.items.size(); ++i) {
        const auto& line = order.items[i];
        const std::string quantity = "items/" + std::to_string(i) + "/quantity";
        if (!line.product_id && !line.variant_id) {
            errors.push_back({"items/" + std::to_string(i), "needs a product_id or a variant_id"});
            continue;
        }
        if (line.quantity > kMaxQuantity) {
            errors.push_back({quantity, "must be between " + std::to_string(kMinQuantity) + " and " + std::to_string(kMaxQuantity)});
            continue;
        }
        auto it = std::find_if(merged.begin(), merged.end(), [&](const OrderLine& l) {
            return l.product_id == line.product_id && l.variant_id == line.variant_id;
        });
        if (it == merged.end()) {
            merged.push_back(line);
        } else if (it->quantity + line.quantity > kMaxQuantity) {
            const std::string name = line.variant_id ? "variant " + std::to_string(*line.variant_id)
                                                     : "product " + std::to_string(*line.product_id);
            errors.push_back({quantity,
                              name + " appears more than once; the total must not exceed " + std::to_string(kMaxQuantity)});
        } else {
            it->quantity += line.quantity;
        }
    }
    order.items = std::move(merged);
    check_codes(order.codes, "codes", errors);
    if (order.country) {
        std::string upper;
        for (char c : *order.country) upper.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
        order.country = std::move(upper);
    }
    if (core::json_text::serialize(order.shipping_address).size() > kMaxAddressBytes)
        errors.push_back({"shipping_address", "must be at most " + std::to_string(kMaxAddressBytes) + " bytes"});
}

core::Result<NewOrder> parse_new_order(const json::object& body) {
    return core::codec::decode<NewOrder>(json::value(body), "the order has invalid fields");
}

json::value to_json(const Order& order) { return core::json_text::parse_value(core::codec::encode(order)); }

}  // namespace emporium::orders
