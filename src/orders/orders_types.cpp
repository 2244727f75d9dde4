#include "orders/orders_types.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

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
    }
    return "pending_payment";
}

std::optional<OrderStatus> parse_status(std::string_view text) {
    for (auto s : {OrderStatus::kPendingPayment,
                   OrderStatus::kPaid,
                   OrderStatus::kFulfilled,
                   OrderStatus::kCancelled,
                   OrderStatus::kExpired,
                   OrderStatus::kPaymentFailed}) {
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
        case OrderStatus::kCancelled:
        case OrderStatus::kExpired: return false;
    }
    return false;
}

bool returns_stock(OrderStatus status) {
    return status == OrderStatus::kCancelled || status == OrderStatus::kExpired;
}

core::Result<NewOrder> parse_new_order(const json::object& body) {
    std::vector<core::FieldError> errors;
    NewOrder out;
    for (const auto& [k, v] : body) {
        if (k != "items" && k != "shipping_address") errors.push_back({std::string(k), "unknown field"});
    }
    const auto* items = body.if_contains("items");
    if (items == nullptr) {
        errors.push_back({"items", "is required"});
    } else if (!items->is_array() || items->as_array().empty()) {
        errors.push_back({"items", "must be a non-empty array"});
    } else if (items->as_array().size() > kMaxLines) {
        errors.push_back({"items", "at most " + std::to_string(kMaxLines) + " lines"});
    } else {
        const auto& arr = items->as_array();
        for (std::size_t i = 0; i < arr.size(); ++i) {
            const std::string base = "items/" + std::to_string(i);
            if (!arr[i].is_object()) {
                errors.push_back({base, "must be an object"});
                continue;
            }
            const auto& line = arr[i].as_object();
            bool line_ok = true;
            for (const auto& [k, v] : line) {
                if (k != "product_id" && k != "quantity") {
                    errors.push_back({base + "/" + std::string(k), "unknown field"});
                    line_ok = false;
                }
            }
            const auto* pid = line.if_contains("product_id");
            const auto* qty = line.if_contains("quantity");
            std::int64_t product_id = 0;
            std::int64_t quantity = 0;
            if (pid == nullptr || !pid->is_int64() || pid->as_int64() < 1) {
                errors.push_back({base + "/product_id", "must be a positive integer"});
                line_ok = false;
            } else {
                product_id = pid->as_int64();
            }
            if (qty == nullptr || !qty->is_int64() || qty->as_int64() < kMinQuantity ||
                qty->as_int64() > kMaxQuantity) {
                errors.push_back({base + "/quantity",
                                  "must be an integer from " + std::to_string(kMinQuantity) + " to " +
                                      std::to_string(kMaxQuantity)});
                line_ok = false;
            } else {
                quantity = qty->as_int64();
            }
            if (!line_ok) continue;
            auto it = std::find_if(out.items.begin(), out.items.end(), [product_id](const inventory::Line& l) {
                return l.product_id == product_id;
            });
            if (it == out.items.end()) {
                out.items.push_back(inventory::Line{product_id, static_cast<std::int32_t>(quantity)});
            } else if (it->quantity + quantity > kMaxQuantity) {
                errors.push_back({base + "/quantity",
                                  "product " + std::to_string(product_id) + " appears more than once; the total "
                                  "must not exceed " + std::to_string(kMaxQuantity)});
            } else {
                it->quantity += static_cast<std::int32_t>(quantity);
            }
        }
    }
    const auto* address = body.if_contains("shipping_address");
    if (address == nullptr) {
        errors.push_back({"shipping_address", "is required"});
    } else if (!address->is_object() || address->as_object().empty()) {
        errors.push_back({"shipping_address", "must be a non-empty object"});
    } else if (json::serialize(*address).size() > kMaxAddressBytes) {
        errors.push_back({"shipping_address", "must be at most " + std::to_string(kMaxAddressBytes) + " bytes"});
    } else {
        out.shipping_address = address->as_object();
    }
    if (!errors.empty()) {
        return core::make_error(core::Errc::kValidation, "the order has invalid fields", std::move(errors));
    }
    return out;
}

std::string iso8601(Timestamp t) {
    const auto micros = t.time_since_epoch().count();
    const std::time_t secs = static_cast<std::time_t>(micros / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 40> buf{};
    const auto n = std::snprintf(buf.data(),
                                 buf.size(),
                                 "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                                 tm.tm_year + 1900,
                                 tm.tm_mon + 1,
                                 tm.tm_mday,
                                 tm.tm_hour,
                                 tm.tm_min,
                                 tm.tm_sec,
                                 static_cast<long long>(micros % 1'000'000));
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

json::value to_json(const Order& order) {
    json::array items;
    for (const auto& i : order.items) {
        items.push_back(json::object{{"product_id", i.product_id},
                                     {"quantity", i.quantity},
                                     {"unit_price_cents", i.unit_price_cents}});
    }
    json::object out{{"id", order.id},
                     {"user_id", order.user_id},
                     {"status", status_name(order.status)},
                     {"total_cents", order.total_cents},
                     {"currency", order.currency},
                     {"shipping_address", order.shipping_address},
                     {"items", std::move(items)},
                     {"created_at", iso8601(order.created_at)}};
    out["expires_at"] = order.expires_at ? json::value(iso8601(*order.expires_at)) : json::value(nullptr);
    out["paid_payment_id"] =
        order.paid_payment_id ? json::value(*order.paid_payment_id) : json::value(nullptr);
    return out;
}

json::value to_json(const OrderPage& page) {
    json::array items;
    for (const auto& o : page.items) items.push_back(to_json(o));
    json::object out{{"items", std::move(items)}};
    out["next_cursor"] = page.next_cursor ? json::value(*page.next_cursor) : json::value(nullptr);
    return out;
}

}  // namespace emporium::orders
