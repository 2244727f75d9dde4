#pragma once
// The price of a cart or an order: promotions (codes and automatic ones), shipping and tax, in
// integer cents, by one pure function that the cart view, the checkout and the tests all call.
// No I/O: whoever calls it reads the promotions, the customer's uses and the rates first.
//
// The rules (docs/architecture.md, "Pricing", once wired):
// - A promotion that names products, categories or variants is a *line* promotion: it discounts
//   only the matching lines. One that names none is an *order* promotion. Free shipping discounts
//   the shipping amount only.
// - Order of application: line promotions, then order promotions, then free shipping; within each,
//   ascending `priority`, then ascending id. An *exclusive* promotion applies alone: the first
//   eligible exclusive one (in that order) is the only one applied, every other is rejected as
//   not combinable. Combinable promotions apply one after the other, each on what the previous
//   ones left, never below zero.
// - Eligibility (`min_subtotal_cents` is compared with the subtotal before any discount): active,
//   within its window, the minimum met, a matching line (line promotions), the customer's first
//   order (when required), global and per-customer uses left.
// - Rounding: a percentage is `floor(amount × basis points / 10 000)` of the amount it applies to
//   (the matching lines' remaining total, or every line's); the discount is then allocated to the
//   lines by largest remainder in proportion to what each line has left, so the lines always sum
//   to the promotion's discount. Tax is computed per line on its discounted amount and rounded half
//   away from zero; the order's tax is the sum of its lines' and the shipping's.
// - Tax-exclusive prices: tax = round(net × rate); total = net + tax. Tax-inclusive prices: the
//   amounts already contain it; tax = round(amount × rate / (1 + rate)) is shown, not added.

#include <boost/describe/enum.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace emporium::pricing {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

inline constexpr std::int64_t kBasisPoints = 10'000;  // 100%

enum class PromotionKind { kPercentage, kFixedAmount, kFreeShipping };
BOOST_DESCRIBE_ENUM(PromotionKind, kPercentage, kFixedAmount, kFreeShipping)

// Why a promotion did not apply (shown on the cart next to the code).
enum class Rejection {
    kInactive,
    kNotStarted,
    kEnded,
    kMinimumNotMet,
    kNoMatchingLines,
    kNotFirstOrder,
    kUsageLimitReached,
    kCustomerLimitReached,
    kNotCombinable,
    kOtherCurrency,  // not decided by price(): the caller drops promotions of another currency
};
BOOST_DESCRIBE_ENUM(Rejection,
                    kInactive,
                    kNotStarted,
                    kEnded,
                    kMinimumNotMet,
                    kNoMatchingLines,
                    kNotFirstOrder,
                    kUsageLimitReached,
                    kCustomerLimitReached,
                    kNotCombinable,
                    kOtherCurrency)

struct Promotion {
    std::int64_t id = 0;
    std::string code;  // empty: automatic
    PromotionKind kind = PromotionKind::kPercentage;
    std::int64_t value = 0;  // basis points (1..10 000) for a percentage, cents for a fixed amount
    std::int64_t min_subtotal_cents = 0;
    std::vector<std::int64_t> product_ids;  // any of these names a line promotion
    std::vector<std::int64_t> category_ids;
    std::vector<std::int64_t> variant_ids;
    bool first_order_only = false;
    std::optional<Timestamp> starts_at;
    std::optional<Timestamp> ends_at;  // exclusive
    bool exclusive = false;
    std::int32_t priority = 0;
    std::optional<std::int64_t> usage_limit;  // global
    std::int64_t redeemed = 0;                // global uses so far
    std::optional<std::int64_t> per_customer_limit;
    bool active = true;

    bool targets_lines() const { return !product_ids.empty() || !category_ids.empty() || !variant_ids.empty(); }
};

struct Line {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::optional<std::int64_t> category_id;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
};

// Tax rates of the destination, in basis points: the standard rate (also the shipping's) and
// overrides per category.
struct TaxRates {
    std::int64_t standard_bp = 0;
    std::map<std::int64_t, std::int64_t> category_bp;
};

struct PricingInput {
    std::vector<Line> lines;
    std::vector<Promotion> promotions;  // the cart's codes and the automatic promotions in force
    std::int64_t shipping_cents = 0;    // the chosen option's price, before promotions
    TaxRates tax;
    bool prices_include_tax = false;
    bool first_order = true;                     // the customer has no earlier order
    std::map<std::int64_t, std::int64_t> uses;  // promotion id → this customer's uses so far
    Timestamp now{};
};

struct PricedLine {
    std::int64_t variant_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
    std::int64_t amount_cents = 0;    // quantity × unit price
    std::int64_t discount_cents = 0;  // Σ of the promotions' shares
    std::int64_t tax_rate_bp = 0;
    std::int64_t tax_cents = 0;    // added (exclusive prices) or contained (inclusive)
    std::int64_t total_cents = 0;  // amount − discount (+ tax when prices exclude it)
};

struct Applied {
    std::int64_t promotion_id = 0;
    std::string code;
    std::int64_t discount_cents = 0;  // on lines, or on shipping for free shipping
};

struct Rejected {
    std::int64_t promotion_id = 0;
    std::string code;
    Rejection reason = Rejection::kInactive;
};

struct Priced {
    std::vector<PricedLine> lines;  // in input order
    std::vector<Applied> applied;   // in order of application
    std::vector<Rejected> rejected;
    std::int64_t subtotal_cents = 0;           // Σ line amounts
    std::int64_t discount_cents = 0;           // Σ line discounts
    std::int64_t shipping_cents = 0;           // the option's price
    std::int64_t shipping_discount_cents = 0;  // free shipping
    std::int64_t shipping_tax_cents = 0;
    std::int64_t tax_cents = 0;  // Σ line taxes + shipping tax
    std::int64_t total_cents = 0;
};

Priced price(const PricingInput& input);

// floor(amount × bp / 10 000), for amount ≥ 0 and 0 ≤ bp ≤ 10 000.
std::int64_t percent_of(std::int64_t amount, std::int64_t bp);
// round(numerator / denominator) half away from zero, for numerator ≥ 0 and denominator > 0.
std::int64_t divide_rounded(std::int64_t numerator, std::int64_t denominator);
// Splits `amount` (0 ≤ amount ≤ Σ weights, weights ≥ 0) in proportion to `weights` by largest
// remainder: the parts sum to `amount`, none exceeds its weight, ties go to the lower index.
std::vector<std::int64_t> allocate(std::int64_t amount, const std::vector<std::int64_t>& weights);

}  // namespace emporium::pricing
