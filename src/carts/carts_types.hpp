#pragma once
// Plain types of the carts context: a cart and its priced lines as the API shows them, the
// requests that change them, and the rules for cart tokens.

#include "core/fields.hpp"
#include "db/pg.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::carts {

using Timestamp = db::Timestamp;

inline constexpr std::int32_t kMaxQuantity = 100;
inline constexpr std::size_t kMaxLines = 50;

// open → checked_out (its order made) | merged (into the customer's cart at sign-in) | expired.
enum class CartStatus { kOpen, kCheckedOut, kMerged, kExpired };
BOOST_DESCRIBE_ENUM(CartStatus, kOpen, kCheckedOut, kMerged, kExpired)

// One line as the customer sees it: prices re-read from the catalog on every read.
struct CartLine {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::string sku;
    std::string name;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;    // the catalog's price now
    std::int64_t quoted_price_cents = 0;  // the price the customer accepted when the line was last set
    std::int64_t line_total_cents = 0;    // quantity × unit price (0 when unavailable)
    std::int64_t discount_cents = 0;      // the line's share of the promotions that apply
    std::string currency;
    std::int32_t held = 0;                // units held for this cart
    std::optional<Timestamp> hold_expires_at;
    bool price_changed = false;  // unit price ≠ quoted price: set the line again to accept it
    bool unavailable = false;    // withdrawn (variant or product inactive or deleted): remove it
    static constexpr std::array kFields{
        core::field("unit_price_cents").describe("the catalog's price now"),
        core::field("quoted_price_cents").describe("the price accepted when the line was last set"),
        core::field("held").describe("units held for this cart (others cannot buy them) until hold_expires_at"),
        core::field("hold_expires_at").omitted_when_null(),
        core::field("discount_cents").describe("the line's share of the promotions that apply now"),
        core::field("price_changed").describe("the price moved since it was quoted: setting the line again accepts it"),
        core::field("unavailable").describe("withdrawn from sale: not counted in the subtotal; remove it")};
};
BOOST_DESCRIBE_STRUCT(CartLine, (), (variant_id, product_id, sku, name, quantity, unit_price_cents, quoted_price_cents,
                                     line_total_cents, discount_cents, currency, held, hold_expires_at, price_changed,
                                     unavailable))

// A promotion code on a cart: whether it applies now, and why not.
struct CartCode {
    std::string code;
    bool applied = false;
    std::int64_t discount_cents = 0;
    std::optional<std::string> reason;
    static constexpr std::array kFields{core::field("reason").omitted_when_null().describe(
        "why it does not apply: unknown_code, inactive, not_started, ended, minimum_not_met, no_matching_lines, "
        "not_first_order, usage_limit_reached, customer_limit_reached, not_combinable, other_currency")};
};
BOOST_DESCRIBE_STRUCT(CartCode, (), (code, applied, discount_cents, reason))

// A shipping option of the cart's country with its price for the cart's lines now.
struct CartShippingOption {
    std::int64_t id = 0;
    std::string name;
    std::int64_t price_cents = 0;
};
BOOST_DESCRIBE_STRUCT(CartShippingOption, (), (id, name, price_cents))

// An automatic promotion that applies to the cart now.
struct CartPromotion {
    std::int64_t promotion_id = 0;
    std::optional<std::string> code;
    std::int64_t discount_cents = 0;
};
BOOST_DESCRIBE_STRUCT(CartPromotion, (), (promotion_id, code, discount_cents))

struct Cart {
    std::int64_t id = 0;
    CartStatus status = CartStatus::kOpen;
    std::optional<std::string> token;  // a guest cart's token, in the answer that created it only
    std::vector<CartLine> lines;
    std::int32_t item_count = 0;
    std::int64_t subtotal_cents = 0;
    std::int64_t discount_cents = 0;
    std::int64_t shipping_cents = 0;
    std::int64_t tax_cents = 0;
    std::int64_t total_cents = 0;
    std::vector<CartCode> codes;
    std::vector<CartPromotion> promotions;  // every promotion that applies now (codes and automatic)
    std::optional<std::string> country;
    std::optional<std::int64_t> shipping_option_id;
    std::vector<CartShippingOption> shipping_options;  // the country's
    std::string currency;
    bool checkout_ready = false;  // lines, none flagged, one currency
    std::optional<std::int64_t> order_id;
    Timestamp expires_at{};
    std::int64_t version = 0;
    static constexpr std::array kFields{
        core::field("token").omitted_when_null().describe(
            "guest carts: the secret to send as X-Cart-Token; shown once, in the answer that created the cart"),
        core::field("checkout_ready").describe("has lines, none flagged price_changed or unavailable, one currency"),
        core::field("total_cents").describe("what checkout would charge now: subtotal − discount + shipping (+ tax "
                                            "when prices exclude it); send it as expected_total_cents"),
        core::field("codes").describe("the codes entered, each applied or not with the reason"),
        core::field("country").omitted_when_null().describe("the destination chosen (PUT /carts/{id}/shipping)"),
        core::field("shipping_option_id").omitted_when_null().describe("the shipping option chosen"),
        core::field("shipping_options").describe("the options of the cart's country, priced for its lines now"),
        core::field("order_id").omitted_when_null().describe("the order made from it (checked_out)"),
        core::field("expires_at").describe("an open cart expires (its holds released) after this; activity moves it")};
};
BOOST_DESCRIBE_STRUCT(Cart, (), (id, status, token, lines, item_count, subtotal_cents, discount_cents, shipping_cents,
                                 tax_cents, total_cents, codes, promotions, country, shipping_option_id,
                                 shipping_options, currency, checkout_ready, order_id, expires_at, version))

// PUT /carts/{id}/shipping.
struct CartShipping {
    std::string country;
    std::optional<std::int64_t> shipping_option_id{};
    static constexpr std::array kFields{
        core::field("country").match("^[A-Za-z]{2}$", "must be an ISO 3166-1 alpha-2 country code such as NO").describe(
            "the destination: its tax rates and shipping options apply"),
        core::field("shipping_option_id").at_least(1).describe("one of the country's shipping_options; absent: none yet")};
};
BOOST_DESCRIBE_STRUCT(CartShipping, (), (country, shipping_option_id))

// POST /carts/{id}/codes.
struct NewCartCode {
    std::string code;
    static constexpr std::array kFields{
        core::field("code").match("^[A-Za-z0-9_-]{3,32}$", "must be 3 to 32 characters of A-Z a-z 0-9 - _").describe(
            "a promotion code (case-insensitive)")};
};
BOOST_DESCRIBE_STRUCT(NewCartCode, (), (code))

// POST /carts/{id}/lines: adds `quantity` units of a variant (or of a product's default variant).
struct NewCartLine {
    std::optional<std::int64_t> product_id{};
    std::optional<std::int64_t> variant_id{};
    std::int32_t quantity = 1;
    static constexpr std::array kFields{
        core::field("product_id").at_least(1).describe("a product: its default variant (if variant_id is absent)"),
        core::field("variant_id").at_least(1).describe("the variant; one of product_id and variant_id is required"),
        core::field("quantity").range(1, kMaxQuantity).optional().describe("added to the line's quantity; default 1")};
};
BOOST_DESCRIBE_STRUCT(NewCartLine, (), (product_id, variant_id, quantity))
void check_decoded(NewCartLine& line, std::vector<core::FieldError>& errors);

// PUT /carts/{id}/lines/{variant_id}: the line's quantity (and acceptance of its current price).
struct LineQuantity {
    std::int32_t quantity = 1;
    static constexpr std::array kFields{core::field("quantity").range(1, kMaxQuantity)};
};
BOOST_DESCRIBE_STRUCT(LineQuantity, (), (quantity))

// POST /carts/{id}/checkout.
struct CartCheckout {
    boost::json::object shipping_address;
    std::optional<std::int64_t> expected_total_cents{};
    static constexpr std::array kFields{
        core::field("shipping_address").length(1, 100).describe("free-form, at most 4096 bytes as JSON"),
        core::field("expected_total_cents").at_least(0).describe(
            "the total_cents the customer saw; a different one answers 409 cart_changed and charges nothing")};
};
BOOST_DESCRIBE_STRUCT(CartCheckout, (), (shipping_address, expected_total_cents))
void check_decoded(CartCheckout& body, std::vector<core::FieldError>& errors);

// A new guest cart token (32 random bytes, base64url) and the digest stored for it.
std::string new_token();
std::string token_digest(std::string_view token);  // SHA-256, 32 raw bytes

}  // namespace emporium::carts
