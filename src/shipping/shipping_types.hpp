#pragma once
// Shipping options and tax rates as the admin API shows and takes them (issue 20, stage 3). An
// option serves one country: a base price, a price per started kilogram, free at or above an
// amount. Tax rates per country in basis points: the standard rate and overrides per category.

#include "core/error.hpp"
#include "core/fields.hpp"
#include "db/pg.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::shipping {

inline constexpr std::int64_t kMaxAmountCents = 100'000'000'000;
inline constexpr std::int32_t kMaxRateBp = 100'000;  // 1000 %
inline constexpr std::size_t kMaxCategoryRates = 200;
inline constexpr std::string_view kCountryPattern = "^[A-Za-z]{2}$";
inline constexpr std::string_view kCountryMessage = "must be an ISO 3166-1 alpha-2 country code such as NO";

struct ShippingOption {
    std::int64_t id = 0;
    std::string country;
    std::string name;
    std::string currency = "USD";
    std::int64_t base_cents = 0;
    std::int64_t per_kg_cents = 0;
    std::optional<std::int64_t> free_above_cents;
    bool is_active = true;
    static constexpr std::array kFields{
        core::field("per_kg_cents").describe("added per started kilogram of the order's weight"),
        core::field("free_above_cents").describe(
            "free when the lines, after their discounts, come to at least this much; null: never free")};
};
BOOST_DESCRIBE_STRUCT(ShippingOption, (), (id, country, name, currency, base_cents, per_kg_cents, free_above_cents,
                                           is_active))

// The body of POST /admin/shipping-options.
struct NewShippingOption {
    std::string country;
    std::string name;
    std::string currency = "USD";
    std::int64_t base_cents = 0;
    std::int64_t per_kg_cents = 0;
    std::optional<std::int64_t> free_above_cents;
    bool is_active = true;
    static constexpr std::array kFields{
        core::field("country").match(kCountryPattern, kCountryMessage).describe("the country served (stored upper case)"),
        core::field("name").length(1, 200),
        core::field("currency").match("^[A-Z]{3}$", "must be an ISO 4217 code such as USD").optional(),
        core::field("base_cents").range(0, kMaxAmountCents).optional(),
        core::field("per_kg_cents").range(0, kMaxAmountCents).optional(),
        core::field("free_above_cents").range(0, kMaxAmountCents),
        core::field("is_active").optional()};
};
BOOST_DESCRIBE_STRUCT(NewShippingOption, (), (country, name, currency, base_cents, per_kg_cents, free_above_cents,
                                              is_active))

struct ShippingOptionList {
    std::vector<ShippingOption> items;
};
BOOST_DESCRIBE_STRUCT(ShippingOptionList, (), (items))

struct CategoryRate {
    std::int64_t category_id = 0;
    std::int32_t rate_bp = 0;
    static constexpr std::array kFields{core::field("rate_bp").describe("basis points: 2500 = 25%")};
};
BOOST_DESCRIBE_STRUCT(CategoryRate, (), (category_id, rate_bp))

// A country's tax: the standard rate (also the shipping's) and overrides per category.
struct TaxRates {
    std::string country;
    std::int32_t standard_bp = 0;
    std::vector<CategoryRate> categories;
    static constexpr std::array kFields{
        core::field("standard_bp").range(0, kMaxRateBp).describe("basis points: 2500 = 25%"),
        core::field("categories").length(0, kMaxCategoryRates).optional().describe("overrides for products of these categories")};
};
BOOST_DESCRIBE_STRUCT(TaxRates, (), (country, standard_bp, categories))

// One override in PUT /admin/tax-rates/{country}.
struct NewCategoryRate {
    std::int64_t category_id = 0;
    std::int32_t rate_bp = 0;
    static constexpr std::array kFields{core::field("category_id").at_least(1),
                                        core::field("rate_bp").range(0, kMaxRateBp).describe("basis points: 2500 = 25%")};
};
BOOST_DESCRIBE_STRUCT(NewCategoryRate, (), (category_id, rate_bp))

// The body of PUT /admin/tax-rates/{country}: replaces the country's rates.
struct NewTaxRates {
    std::int32_t standard_bp = 0;
    std::vector<NewCategoryRate> categories;
    static constexpr std::array kFields{
        core::field("standard_bp").range(0, kMaxRateBp).describe("basis points: 2500 = 25%"),
        core::field("categories").length(0, kMaxCategoryRates).optional().describe(
            "overrides for products of these categories (each category once)")};
};
BOOST_DESCRIBE_STRUCT(NewTaxRates, (), (standard_bp, categories))
void check_decoded(NewTaxRates& body, std::vector<core::FieldError>& errors);

struct TaxRatesList {
    std::vector<TaxRates> items;
};
BOOST_DESCRIBE_STRUCT(TaxRatesList, (), (items))

// "no" → "NO"; nullopt unless two ASCII letters.
std::optional<std::string> normalize_country(std::string_view text);

// The option's price for an order weighing `weight_g` whose lines come to `net_cents` after their
// discounts: free at or above free_above_cents, else base + per_kg × started kilograms.
std::int64_t shipping_price(const ShippingOption& option, std::int64_t weight_g, std::int64_t net_cents);

}  // namespace emporium::shipping
