#pragma once
// Promotions as the admin API shows and takes them: a code the customer enters, or none (the
// promotion applies by itself when its conditions hold); a percentage (basis points), a fixed
// amount (cents) or free shipping; conditions and limits. PromotionsPricer applies them to carts
// and orders (pricing::price does the arithmetic).

#include "core/error.hpp"
#include "core/fields.hpp"
#include "pricing/pricing.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::promotions {

using Timestamp = pricing::Timestamp;
using pricing::PromotionKind;

inline constexpr std::size_t kMaxTargets = 100;  // ids per condition list
inline constexpr std::int64_t kMaxAmountCents = 100'000'000'000;
inline constexpr std::string_view kCodePattern = "^[A-Za-z0-9_-]{3,32}$";
inline constexpr std::string_view kCodeMessage = "must be 3 to 32 characters of A-Z a-z 0-9 - _";

struct Promotion {
    std::int64_t id = 0;
    std::optional<std::string> code;  // upper case; null: automatic
    std::string name;
    PromotionKind kind = PromotionKind::kPercentage;
    std::int64_t value = 0;
    std::string currency = "USD";
    std::int64_t min_subtotal_cents = 0;
    std::vector<std::int64_t> product_ids;
    std::vector<std::int64_t> category_ids;
    std::vector<std::int64_t> variant_ids;
    bool first_order_only = false;
    std::optional<Timestamp> starts_at;
    std::optional<Timestamp> ends_at;
    bool exclusive = false;
    std::int32_t priority = 0;
    std::optional<std::int64_t> usage_limit;
    std::int64_t redeemed = 0;
    std::optional<std::int64_t> per_customer_limit;
    bool is_active = true;
    std::int64_t version = 0;
    Timestamp created_at{};
    Timestamp updated_at{};
    static constexpr std::array kFields{
        core::field("code").describe("what the customer enters (stored upper case); null: applies by itself"),
        core::field("value").describe("percentage: basis points (1 to 10000 = 100%); fixed_amount: cents; "
                                      "free_shipping: 0"),
        core::field("product_ids").describe("with category_ids and variant_ids: the lines it discounts (none: the "
                                            "whole order)"),
        core::field("ends_at").describe("exclusive"),
        core::field("priority").describe("lower applies first within its stage"),
        core::field("redeemed").describe("redemptions so far (never above usage_limit)")};
};
BOOST_DESCRIBE_STRUCT(Promotion, (), (id, code, name, kind, value, currency, min_subtotal_cents, product_ids,
                                      category_ids, variant_ids, first_order_only, starts_at, ends_at, exclusive,
                                      priority, usage_limit, redeemed, per_customer_limit, is_active, version,
                                      created_at, updated_at))

// The body of POST /admin/promotions.
struct NewPromotion {
    std::optional<std::string> code;
    std::string name;
    PromotionKind kind = PromotionKind::kPercentage;
    std::int64_t value = 0;
    std::string currency = "USD";
    std::int64_t min_subtotal_cents = 0;
    std::vector<std::int64_t> product_ids;
    std::vector<std::int64_t> category_ids;
    std::vector<std::int64_t> variant_ids;
    bool first_order_only = false;
    std::optional<Timestamp> starts_at;
    std::optional<Timestamp> ends_at;
    bool exclusive = false;
    std::int32_t priority = 0;
    std::optional<std::int64_t> usage_limit;
    std::optional<std::int64_t> per_customer_limit;
    bool is_active = true;
    static constexpr std::array kFields{
        core::field("code").match(kCodePattern, kCodeMessage).describe("absent: an automatic promotion"),
        core::field("name").length(1, 200),
        core::field("value").range(0, kMaxAmountCents).optional().describe(
            "percentage: basis points 1 to 10000; fixed_amount: cents ≥ 1; free_shipping: 0 or absent"),
        core::field("currency").match("^[A-Z]{3}$", "must be an ISO 4217 code such as USD").optional(),
        core::field("min_subtotal_cents").range(0, kMaxAmountCents).optional(),
        core::field("product_ids").length(0, kMaxTargets).optional(),
        core::field("category_ids").length(0, kMaxTargets).optional(),
        core::field("variant_ids").length(0, kMaxTargets).optional(),
        core::field("first_order_only").optional(),
        core::field("ends_at").describe("exclusive; after starts_at"),
        core::field("exclusive").optional().describe("applies alone: every other promotion is rejected"),
        core::field("priority").range(-1000, 1000).optional(),
        core::field("usage_limit").range(1, kMaxAmountCents).describe("redemptions in all"),
        core::field("per_customer_limit").range(1, 1'000'000).describe("redemptions per customer"),
        core::field("is_active").optional()};
};
BOOST_DESCRIBE_STRUCT(NewPromotion, (), (code, name, kind, value, currency, min_subtotal_cents, product_ids,
                                         category_ids, variant_ids, first_order_only, starts_at, ends_at, exclusive,
                                         priority, usage_limit, per_customer_limit, is_active))
void check_decoded(NewPromotion& body, std::vector<core::FieldError>& errors);

// The body of PATCH /admin/promotions/{id}: absent members keep their value; null clears an
// optional one. The code and the kind never change (make a new promotion).
struct PromotionChanges {
    std::optional<std::string> name;
    std::optional<std::int64_t> value;
    std::optional<std::int64_t> min_subtotal_cents;
    std::optional<std::vector<std::int64_t>> product_ids;
    std::optional<std::vector<std::int64_t>> category_ids;
    std::optional<std::vector<std::int64_t>> variant_ids;
    std::optional<bool> first_order_only;
    std::optional<std::optional<Timestamp>> starts_at;
    std::optional<std::optional<Timestamp>> ends_at;
    std::optional<bool> exclusive;
    std::optional<std::int32_t> priority;
    std::optional<std::optional<std::int64_t>> usage_limit;
    std::optional<std::optional<std::int64_t>> per_customer_limit;
    std::optional<bool> is_active;
    std::optional<std::int64_t> version;
    static constexpr std::array kFields{
        core::field("name").length(1, 200),
        core::field("value").range(0, kMaxAmountCents),
        core::field("min_subtotal_cents").range(0, kMaxAmountCents),
        core::field("product_ids").length(0, kMaxTargets),
        core::field("category_ids").length(0, kMaxTargets),
        core::field("variant_ids").length(0, kMaxTargets),
        core::field("starts_at").describe("null: no start"),
        core::field("ends_at").describe("null: no end"),
        core::field("priority").range(-1000, 1000),
        core::field("usage_limit").range(1, kMaxAmountCents).describe("null: no limit; not below redeemed"),
        core::field("per_customer_limit").range(1, 1'000'000).describe("null: no limit"),
        core::field("version").at_least(1).describe("the version being changed, instead of If-Match")};
    static constexpr std::string_view kSchemaName = "PromotionPatch";
};
BOOST_DESCRIBE_STRUCT(PromotionChanges, (), (name, value, min_subtotal_cents, product_ids, category_ids, variant_ids,
                                             first_order_only, starts_at, ends_at, exclusive, priority, usage_limit,
                                             per_customer_limit, is_active, version))
void check_decoded(PromotionChanges& body, std::vector<core::FieldError>& errors);

struct PromotionPage {
    std::vector<Promotion> items;  // newest first
    std::optional<std::string> next_cursor;
};
BOOST_DESCRIBE_STRUCT(PromotionPage, (), (items, next_cursor))

// What a stored promotion must satisfy after a create or a change: the value fits the kind, the
// window is ordered. Errors name the member.
std::vector<core::FieldError> rule_errors(PromotionKind kind,
                                          std::int64_t value,
                                          std::optional<Timestamp> starts_at,
                                          std::optional<Timestamp> ends_at);

}  // namespace emporium::promotions
