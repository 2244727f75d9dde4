#pragma once
// Plain types of the orders context: the order state machine, checkout input validation and the
// JSON shape of an order.

#include "core/error.hpp"
#include "core/fields.hpp"
#include "db/pg.hpp"
#include "inventory/inventory_types.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::orders {

using Timestamp = db::Timestamp;

inline constexpr std::size_t kMaxLines = 50;
inline constexpr std::int64_t kMinQuantity = 1;
inline constexpr std::int64_t kMaxQuantity = 100;
inline constexpr std::size_t kMaxAddressBytes = 4096;
inline constexpr std::int64_t kDefaultPageSize = 20;
inline constexpr std::int64_t kMaxPageSize = 100;
inline constexpr std::size_t kMaxCodes = 5;  // promotion codes per order (and per cart)

// pending_payment → paid → fulfilled; pending_payment → cancelled | expired (stock returned);
// pending_payment → payment_failed (a declined payment; the stock stays reserved) → paid (paid
// again with another method) | cancelled | expired. Returns: fulfilled → return_requested (the
// customer asks) → returned (received: restocked and refunded); returned → return_requested (units
// left to send back). Refunds do not change the status (refunded_cents).
enum class OrderStatus {
    kPendingPayment,
    kPaid,
    kFulfilled,
    kCancelled,
    kExpired,
    kPaymentFailed,
    kReturnRequested,
    kReturned
};
BOOST_DESCRIBE_ENUM(OrderStatus, kPendingPayment, kPaid, kFulfilled, kCancelled, kExpired, kPaymentFailed,
                    kReturnRequested, kReturned)
// Whether the order was paid by its payment (paid, fulfilled, being returned or returned).
bool is_paid_state(OrderStatus status);

std::string_view status_name(OrderStatus status);
std::optional<OrderStatus> parse_status(std::string_view text);
// Whether the state machine allows `from` → `to`.
bool can_transition(OrderStatus from, OrderStatus to);
// Whether reaching `status` returns the reserved stock.
bool returns_stock(OrderStatus status);

// One line of a checkout request: a variant (variant_id), or a product's default variant
// (product_id alone); naming both, the variant must be the product's.
struct OrderLine {
    std::optional<std::int64_t> product_id{};
    std::int32_t quantity = 0;
    std::optional<std::int64_t> variant_id{};
    static constexpr std::array kFields{
        core::field("product_id").at_least(1).describe("a product: its default variant (if variant_id is absent)"),
        core::field("quantity").at_least(1),
        core::field("variant_id").at_least(1).describe("the variant to buy; one of product_id and variant_id is required")};
};
BOOST_DESCRIBE_STRUCT(OrderLine, (), (product_id, quantity, variant_id))

// A checkout request (the body of POST /orders). Lines naming the same product or variant twice
// are merged (quantities added; the merged quantity must still be ≤ kMaxQuantity), in first-seen
// order; so are lines that turn out to name one variant once resolved.
struct NewOrder {
    std::vector<OrderLine> items;
    boost::json::object shipping_address;
    std::vector<std::string> codes;
    std::optional<std::int64_t> expected_total_cents{};
    std::optional<std::string> country;
    std::optional<std::int64_t> shipping_option_id{};
    static constexpr std::array kFields{
        core::field("country").match("^[A-Za-z]{2}$", "must be an ISO 3166-1 alpha-2 country code such as NO").describe(
            "the destination (its tax rates and shipping options); required once the shop has tax rates"),
        core::field("shipping_option_id").at_least(1).describe(
            "one of the country's shipping options; required when the country has any"),
        core::field("items").length(1, kMaxLines).describe("quantity 1..100 per variant; lines naming one variant are merged"),
        core::field("shipping_address").length(1, 100).describe("free-form, at most 4096 bytes as JSON"),
        core::field("codes").length(0, kMaxCodes).optional().describe(
            "promotion codes (case-insensitive); each must apply, or the order is refused with "
            "409 promotion_unavailable and nothing is taken"),
        core::field("expected_total_cents").at_least(0).describe(
            "the total the customer saw; a different one answers 409 cart_changed and takes nothing")};
    static constexpr std::string_view kSchemaDescription =
        "Prices come from the catalog; promotions in force (and the codes given) are applied in the order's transaction.";
};
BOOST_DESCRIBE_STRUCT(NewOrder, (), (items, shipping_address, codes, expected_total_cents, country, shipping_option_id))
// A promotion code as stored (upper case), or nullopt when it is not 3 to 32 of A-Z a-z 0-9 - _.
std::optional<std::string> normalize_code(std::string_view text);
// Normalises `codes` in place (upper case, duplicates dropped), naming malformed ones `member/i`.
void check_codes(std::vector<std::string>& codes, std::string_view member, std::vector<core::FieldError>& errors);
// Merges the lines, checks the quantities, the codes and the address size (called by the decoder).
void check_decoded(NewOrder& order, std::vector<core::FieldError>& errors);

// Decodes {items: [{product_id | variant_id, quantity}], shipping_address: {…}}. Errors: kValidation with field
// errors (items/0/quantity, shipping_address, …).
core::Result<NewOrder> parse_new_order(const boost::json::object& body);

struct OrderItem {
    std::int64_t product_id = 0;
    std::int64_t variant_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
    std::int64_t discount_cents = 0;  // this line's share of the order's discounts (largest remainder)
    std::int64_t tax_cents = 0;
    static constexpr std::array kFields{
        core::field("discount_cents").describe("the line's share of the promotions applied (the lines sum to the "
                                               "order's discount_cents)"),
        core::field("tax_cents").describe("the line's tax (added, or contained when prices include tax)")};
};
BOOST_DESCRIBE_STRUCT(OrderItem, (), (product_id, variant_id, quantity, unit_price_cents, discount_cents, tax_cents))

// A promotion an order redeemed.
struct AppliedPromotion {
    std::int64_t promotion_id = 0;
    std::optional<std::string> code;  // null: an automatic promotion
    std::int64_t discount_cents = 0;
};
BOOST_DESCRIBE_STRUCT(AppliedPromotion, (), (promotion_id, code, discount_cents))

struct Order {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    OrderStatus status = OrderStatus::kPendingPayment;
    std::int64_t total_cents = 0;
    std::string currency = "USD";
    boost::json::value shipping_address;
    std::vector<OrderItem> items;
    Timestamp created_at{};
    std::optional<Timestamp> expires_at;
    // The captured payment that paid the order (paid and fulfilled orders; none for orders paid
    // before payments were recorded this way, e.g. seeded ones).
    std::optional<std::int64_t> paid_payment_id;
    std::int64_t subtotal_cents = 0;
    std::int64_t discount_cents = 0;
    std::int64_t shipping_cents = 0;
    std::int64_t tax_cents = 0;
    std::vector<AppliedPromotion> promotions;
    std::optional<std::string> country;
    std::optional<std::int64_t> shipping_option_id;
    std::int64_t refunded_cents = 0;
    std::optional<Timestamp> fulfilled_at;
    static constexpr std::array kFields{
        core::field("fulfilled_at").describe("when it was fulfilled (returns are open RETURN_WINDOW_DAYS after)"),
        core::field("refunded_cents").describe("given back by the order's succeeded refunds (GET /orders/{id}/refunds)"),
        core::field("shipping_cents").describe("the shipping charged (after a free-shipping promotion)"),
        core::field("tax_cents").describe("Σ of the items' tax and the shipping's (added, or contained when prices "
                                          "include tax)"),
        core::field("total_cents").describe("what the customer pays: subtotal − discount + shipping (+ tax when "
                                            "prices exclude it)"),
        core::field("paid_payment_id").describe("the payment that paid the order (paid and fulfilled orders)"),
        core::field("subtotal_cents").describe("Σ quantity × unit price"),
        core::field("discount_cents").describe("Σ of the promotions applied (Σ of the items' discount_cents)"),
        core::field("promotions").describe("the promotions the order redeemed, in order of application")};
};
BOOST_DESCRIBE_STRUCT(Order, (), (id, user_id, status, total_cents, currency, shipping_address, items, created_at,
                                  expires_at, paid_payment_id, subtotal_cents, discount_cents, shipping_cents,
                                  tax_cents, promotions, country, shipping_option_id, refunded_cents, fulfilled_at))

// Which orders a listing shows: one customer's (GET /orders), or any customer's narrowed by
// state and e-mail (GET /admin/orders).
struct OrderFilter {
    std::optional<std::int64_t> user_id = std::nullopt;
    std::optional<std::string> status = std::nullopt;  // an OrderStatus name, e.g. "paid"
    std::optional<std::string> email = std::nullopt;   // a part of the customer's e-mail, any case
};

struct OrderPage {
    std::vector<Order> items;
    std::optional<std::string> next_cursor;  // the last id, opaque to clients
};
BOOST_DESCRIBE_STRUCT(OrderPage, (), (items, next_cursor))

// The JSON form of an order (the API's, also the outbox event's payload).
boost::json::value to_json(const Order& order);

}  // namespace emporium::orders
