// The pricing engine: each rule on a hand-made cart, then properties over random carts (discount
// lines summing to the order's discount, nothing below zero, the totals' arithmetic, exclusive
// promotions alone, the same input giving the same price).
#include "pricing/pricing.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace emporium::pricing {
namespace {

using namespace std::chrono_literals;

Line line(std::int64_t variant, std::int64_t product, std::int64_t price, std::int32_t quantity,
          std::optional<std::int64_t> category = std::nullopt) {
    return Line{variant, product, category, quantity, price};
}

Promotion percent(std::int64_t id, std::int64_t bp) {
    Promotion p;
    p.id = id;
    p.code = "P" + std::to_string(id);
    p.kind = PromotionKind::kPercentage;
    p.value = bp;
    return p;
}

Promotion fixed(std::int64_t id, std::int64_t cents) {
    Promotion p = percent(id, 0);
    p.kind = PromotionKind::kFixedAmount;
    p.value = cents;
    return p;
}

std::int64_t line_discounts(const Priced& priced) {
    return std::accumulate(priced.lines.begin(), priced.lines.end(), std::int64_t{0},
                           [](std::int64_t sum, const PricedLine& l) { return sum + l.discount_cents; });
}

TEST(Pricing, AllocatesByLargestRemainderAndTiesToTheLowerIndex) {
    EXPECT_EQ(allocate(100, {300, 300, 300}), (std::vector<std::int64_t>{34, 33, 33}));
    EXPECT_EQ(allocate(10, {50, 30, 20}), (std::vector<std::int64_t>{5, 3, 2}));
    EXPECT_EQ(allocate(7, {3, 3, 4}), (std::vector<std::int64_t>{2, 2, 3}));  // 2.1, 2.1, 2.8
    EXPECT_EQ(allocate(0, {5, 5}), (std::vector<std::int64_t>{0, 0}));
    EXPECT_EQ(allocate(5, {0, 5}), (std::vector<std::int64_t>{0, 5}));
    EXPECT_EQ(allocate(3, {}), std::vector<std::int64_t>{});
    EXPECT_THROW(allocate(11, {5, 5}), std::invalid_argument);
}

TEST(Pricing, RoundsPercentagesDownAndTaxHalfAwayFromZero) {
    EXPECT_EQ(percent_of(999, 1'000), 99);  // 99.9 → 99
    EXPECT_EQ(percent_of(1'000'000'000'000, 2'500), 250'000'000'000);
    EXPECT_EQ(divide_rounded(25, 10), 3);  // 2.5 → 3
    EXPECT_EQ(divide_rounded(24, 10), 2);
    EXPECT_EQ(divide_rounded(0, 7), 0);
}

TEST(Pricing, AnOrderPercentageIsSplitOverTheLinesAndTheyAddUp) {
    PricingInput in;
    in.lines = {line(1, 10, 333, 1), line(2, 20, 333, 1), line(3, 30, 334, 1)};
    in.promotions = {percent(7, 1'000)};  // 10% of 1000 = 100
    const auto priced = price(in);
    EXPECT_EQ(priced.subtotal_cents, 1'000);
    EXPECT_EQ(priced.discount_cents, 100);
    ASSERT_EQ(priced.applied.size(), 1U);
    EXPECT_EQ(priced.applied[0].discount_cents, 100);
    EXPECT_EQ(line_discounts(priced), 100);
    EXPECT_EQ(priced.lines[0].discount_cents, 33);  // 33.3
    EXPECT_EQ(priced.lines[1].discount_cents, 33);  // 33.3
    EXPECT_EQ(priced.lines[2].discount_cents, 34);  // 33.4, the largest remainder
    EXPECT_EQ(priced.total_cents, 900);
}

TEST(Pricing, ALinePromotionDiscountsOnlyTheLinesItNames) {
    PricingInput in;
    in.lines = {line(1, 10, 1'000, 2, 5), line(2, 20, 500, 1, 6), line(3, 30, 700, 1)};
    Promotion by_category = percent(1, 5'000);
    by_category.category_ids = {5};
    Promotion by_variant = fixed(2, 100);
    by_variant.variant_ids = {3};
    Promotion by_product = fixed(3, 10'000);  // more than the line: capped at it
    by_product.product_ids = {20};
    in.promotions = {by_category, by_variant, by_product};
    const auto priced = price(in);
    EXPECT_EQ(priced.lines[0].discount_cents, 1'000);
    EXPECT_EQ(priced.lines[1].discount_cents, 500);
    EXPECT_EQ(priced.lines[2].discount_cents, 100);
    EXPECT_EQ(priced.discount_cents, 1'600);
    EXPECT_EQ(priced.total_cents, 3'200 - 1'600);

    Promotion elsewhere = percent(4, 1'000);
    elsewhere.product_ids = {99};
    in.promotions = {elsewhere};
    const auto none = price(in);
    ASSERT_EQ(none.rejected.size(), 1U);
    EXPECT_EQ(none.rejected[0].reason, Rejection::kNoMatchingLines);
    EXPECT_EQ(none.discount_cents, 0);
}

TEST(Pricing, LinePromotionsComeBeforeOrderPromotionsAndEachAppliesToWhatIsLeft) {
    PricingInput in;
    in.lines = {line(1, 10, 10'000, 1)};
    Promotion order_fixed = fixed(1, 1'000);  // id 1 but an order promotion: after the line one
    Promotion line_percent = percent(2, 5'000);
    line_percent.variant_ids = {1};
    in.promotions = {order_fixed, line_percent};
    const auto priced = price(in);
    ASSERT_EQ(priced.applied.size(), 2U);
    EXPECT_EQ(priced.applied[0].promotion_id, 2);
    EXPECT_EQ(priced.applied[0].discount_cents, 5'000);
    EXPECT_EQ(priced.applied[1].discount_cents, 1'000);
    EXPECT_EQ(priced.total_cents, 4'000);

    // Within a stage: ascending priority, then id; percentages of what is left.
    Promotion first = percent(9, 5'000);
    first.priority = -1;
    Promotion second = percent(3, 5'000);
    in.promotions = {second, first};
    const auto ordered = price(in);
    ASSERT_EQ(ordered.applied.size(), 2U);
    EXPECT_EQ(ordered.applied[0].promotion_id, 9);
    EXPECT_EQ(ordered.applied[0].discount_cents, 5'000);
    EXPECT_EQ(ordered.applied[1].discount_cents, 2'500);
    EXPECT_EQ(ordered.total_cents, 2'500);
}

TEST(Pricing, AnExclusivePromotionAppliesAloneAndTheOthersAreRejectedAsNotCombinable) {
    PricingInput in;
    in.lines = {line(1, 10, 10'000, 1)};
    in.shipping_cents = 500;
    Promotion big = percent(1, 2'000);
    Promotion exclusive = fixed(2, 1'500);
    exclusive.exclusive = true;
    Promotion ship;
    ship.id = 3;
    ship.code = "SHIP";
    ship.kind = PromotionKind::kFreeShipping;
    in.promotions = {big, exclusive, ship};
    const auto priced = price(in);
    ASSERT_EQ(priced.applied.size(), 1U);
    EXPECT_EQ(priced.applied[0].promotion_id, 2);
    EXPECT_EQ(priced.discount_cents, 1'500);
    EXPECT_EQ(priced.shipping_discount_cents, 0);
    ASSERT_EQ(priced.rejected.size(), 2U);
    for (const auto& r : priced.rejected) EXPECT_EQ(r.reason, Rejection::kNotCombinable);
    EXPECT_EQ(priced.total_cents, 10'000 - 1'500 + 500);
}

TEST(Pricing, FreeShippingTakesOnlyTheShipping) {
    PricingInput in;
    in.lines = {line(1, 10, 2'000, 1)};
    in.shipping_cents = 799;
    Promotion ship;
    ship.id = 1;
    ship.kind = PromotionKind::kFreeShipping;
    ship.min_subtotal_cents = 2'000;
    in.promotions = {ship};
    auto priced = price(in);
    EXPECT_EQ(priced.shipping_discount_cents, 799);
    EXPECT_EQ(priced.discount_cents, 0);
    EXPECT_EQ(priced.total_cents, 2'000);

    in.lines[0].unit_price_cents = 1'999;  // under the minimum
    priced = price(in);
    ASSERT_EQ(priced.rejected.size(), 1U);
    EXPECT_EQ(priced.rejected[0].reason, Rejection::kMinimumNotMet);
    EXPECT_EQ(priced.total_cents, 1'999 + 799);
}

TEST(Pricing, EligibilityNamesTheReason) {
    PricingInput in;
    in.lines = {line(1, 10, 1'000, 1)};
    in.now = Timestamp{} + 1'000'000s;
    const auto reason = [&in](Promotion p) {
        in.promotions = {std::move(p)};
        const auto priced = price(in);
        return priced.rejected.empty() ? std::optional<Rejection>() : priced.rejected[0].reason;
    };
    Promotion p = percent(1, 1'000);
    EXPECT_EQ(reason(p), std::nullopt);
    Promotion inactive = p;
    inactive.active = false;
    EXPECT_EQ(reason(inactive), Rejection::kInactive);
    Promotion later = p;
    later.starts_at = in.now + 1us;
    EXPECT_EQ(reason(later), Rejection::kNotStarted);
    Promotion ended = p;
    ended.ends_at = in.now;  // the end is exclusive
    EXPECT_EQ(reason(ended), Rejection::kEnded);
    Promotion first = p;
    first.first_order_only = true;
    EXPECT_EQ(reason(first), std::nullopt);
    in.first_order = false;
    EXPECT_EQ(reason(first), Rejection::kNotFirstOrder);
    Promotion used_up = p;
    used_up.usage_limit = 100;
    used_up.redeemed = 99;
    EXPECT_EQ(reason(used_up), std::nullopt);
    used_up.redeemed = 100;
    EXPECT_EQ(reason(used_up), Rejection::kUsageLimitReached);
    Promotion mine = p;
    mine.per_customer_limit = 2;
    in.uses[1] = 1;
    EXPECT_EQ(reason(mine), std::nullopt);
    in.uses[1] = 2;
    EXPECT_EQ(reason(mine), Rejection::kCustomerLimitReached);
}

TEST(Pricing, TaxPerLineOnTheDiscountedAmountWithCategoryRatesExclusiveAndInclusive) {
    PricingInput in;
    in.lines = {line(1, 10, 1'005, 1, 7), line(2, 20, 1'000, 1)};
    in.shipping_cents = 500;
    in.tax.standard_bp = 2'000;    // 20%
    in.tax.category_bp[7] = 500;   // 5% for category 7
    auto priced = price(in);
    EXPECT_EQ(priced.lines[0].tax_rate_bp, 500);
    EXPECT_EQ(priced.lines[0].tax_cents, 50);  // 50.25 → 50
    EXPECT_EQ(priced.lines[1].tax_cents, 200);
    EXPECT_EQ(priced.shipping_tax_cents, 100);
    EXPECT_EQ(priced.tax_cents, 350);
    EXPECT_EQ(priced.total_cents, 2'005 + 500 + 350);

    in.prices_include_tax = true;  // the amounts contain the tax: shown, not added
    priced = price(in);
    EXPECT_EQ(priced.lines[0].tax_cents, 48);   // 1005 × 5/105 = 47.86 → 48
    EXPECT_EQ(priced.lines[1].tax_cents, 167);  // 1000 × 20/120 = 166.67 → 167
    EXPECT_EQ(priced.shipping_tax_cents, 83);   // 500 × 20/120 = 83.33 → 83
    EXPECT_EQ(priced.total_cents, 2'005 + 500);

    in.prices_include_tax = false;
    in.promotions = {percent(1, 5'000)};
    priced = price(in);
    EXPECT_EQ(priced.lines[1].discount_cents, 500);
    EXPECT_EQ(priced.lines[1].tax_cents, 100);  // on the 500 left
}

// Random carts: the arithmetic holds whatever the promotions, the rates and the amounts.
TEST(Pricing, PropertiesHoldOnRandomCarts) {
    std::mt19937_64 random(20'261'204);
    const auto pick = [&random](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(random);
    };
    for (int round = 0; round < 5'000; ++round) {
        PricingInput in;
        const auto lines = pick(1, 12);
        for (std::int64_t i = 0; i < lines; ++i) {
            in.lines.push_back(line(100 + i, 200 + pick(0, 5), pick(0, 1) ? pick(1, 99) : pick(100, 5'000'000),
                                    static_cast<std::int32_t>(pick(1, 100)),
                                    pick(0, 2) ? std::optional<std::int64_t>(pick(1, 4)) : std::nullopt));
        }
        const auto promotions = pick(0, 5);
        for (std::int64_t k = 0; k < promotions; ++k) {
            Promotion p;
            p.id = k + 1;
            p.code = pick(0, 1) ? "C" + std::to_string(k) : "";
            p.kind = static_cast<PromotionKind>(pick(0, 2));
            p.value = p.kind == PromotionKind::kPercentage ? pick(1, kBasisPoints) : pick(1, 50'000'000);
            if (pick(0, 2) == 0) p.product_ids = {200 + pick(0, 5)};
            if (pick(0, 3) == 0) p.category_ids = {pick(1, 4)};
            if (pick(0, 4) == 0) p.variant_ids = {100 + pick(0, lines - 1)};
            p.exclusive = pick(0, 4) == 0;
            p.priority = static_cast<std::int32_t>(pick(-2, 2));
            p.min_subtotal_cents = pick(0, 3) == 0 ? pick(0, 10'000'000) : 0;
            in.promotions.push_back(std::move(p));
        }
        in.shipping_cents = pick(0, 3'000);
        in.tax.standard_bp = pick(0, 2'500);
        for (std::int64_t c = 1; c <= 4; ++c) {
            if (pick(0, 1)) in.tax.category_bp[c] = pick(0, 2'500);
        }
        in.prices_include_tax = pick(0, 1) == 1;

        const auto priced = price(in);
        SCOPED_TRACE("round " + std::to_string(round));
        std::int64_t subtotal = 0;
        std::int64_t tax = 0;
        std::int64_t totals = 0;
        for (const auto& l : priced.lines) {
            subtotal += l.amount_cents;
            tax += l.tax_cents;
            totals += l.total_cents;
            ASSERT_GE(l.discount_cents, 0);
            ASSERT_LE(l.discount_cents, l.amount_cents);
            ASSERT_GE(l.tax_cents, 0);
        }
        ASSERT_EQ(priced.subtotal_cents, subtotal);
        ASSERT_EQ(line_discounts(priced), priced.discount_cents);
        std::int64_t applied = 0;
        for (const auto& a : priced.applied) applied += a.discount_cents;
        ASSERT_EQ(applied, priced.discount_cents + priced.shipping_discount_cents);
        ASSERT_LE(priced.shipping_discount_cents, priced.shipping_cents);
        ASSERT_EQ(priced.tax_cents, tax + priced.shipping_tax_cents);
        const auto shipping_net = priced.shipping_cents - priced.shipping_discount_cents;
        if (in.prices_include_tax) {
            ASSERT_EQ(priced.total_cents, subtotal - priced.discount_cents + shipping_net);
        } else {
            ASSERT_EQ(priced.total_cents, subtotal - priced.discount_cents + shipping_net + priced.tax_cents);
        }
        ASSERT_EQ(totals + shipping_net + (in.prices_include_tax ? 0 : priced.shipping_tax_cents), priced.total_cents);
        ASSERT_EQ(priced.applied.size() + priced.rejected.size(), in.promotions.size());
        const bool exclusive_applied = std::any_of(priced.applied.begin(), priced.applied.end(), [&in](const Applied& a) {
            return in.promotions[static_cast<std::size_t>(a.promotion_id - 1)].exclusive;
        });
        if (exclusive_applied) {
            ASSERT_EQ(priced.applied.size(), 1U);
        }
        const auto again = price(in);
        ASSERT_EQ(again.total_cents, priced.total_cents);
        ASSERT_EQ(line_discounts(again), line_discounts(priced));
    }
}

}  // namespace
}  // namespace emporium::pricing
