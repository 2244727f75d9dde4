#include "shipping/shipping_types.hpp"

#include <algorithm>

namespace emporium::shipping {

void check_decoded(NewTaxRates& body, std::vector<core::FieldError>& errors) {
    std::vector<std::int64_t> seen;
    for (std::size_t i = 0; i < body.categories.size(); ++i) {
        const auto id = body.categories[i].category_id;
        if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
            errors.push_back({"categories/" + std::to_string(i) + "/category_id", "names a category already given"});
        }
        seen.push_back(id);
    }
}

std::optional<std::string> normalize_country(std::string_view text) {
    if (text.size() != 2) return std::nullopt;
    std::string out;
    for (char c : text) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c < 'A' || c > 'Z') return std::nullopt;
        out.push_back(c);
    }
    return out;
}

std::int64_t shipping_price(const ShippingOption& option, std::int64_t weight_g, std::int64_t net_cents) {
    if (option.free_above_cents && net_cents >= *option.free_above_cents) return 0;
    const std::int64_t kilograms = (std::max<std::int64_t>(weight_g, 0) + 999) / 1000;
    return option.base_cents + option.per_kg_cents * kilograms;
}

}  // namespace emporium::shipping
