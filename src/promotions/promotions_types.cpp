#include "promotions/promotions_types.hpp"

#include <algorithm>
#include <cctype>

namespace emporium::promotions {

namespace {

// Ids of a condition list: each ≥ 1; repeats dropped, ascending.
void check_ids(std::vector<std::int64_t>& ids, const std::string& name, std::vector<core::FieldError>& errors) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 1) errors.push_back({name + "/" + std::to_string(i), "must be an id (at least 1)"});
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

void check_decoded(NewPromotion& body, std::vector<core::FieldError>& errors) {
    if (body.code) {
        std::transform(body.code->begin(), body.code->end(), body.code->begin(),
                       [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    }
    check_ids(body.product_ids, "product_ids", errors);
    check_ids(body.category_ids, "category_ids", errors);
    check_ids(body.variant_ids, "variant_ids", errors);
}

void check_decoded(PromotionChanges& body, std::vector<core::FieldError>& errors) {
    if (body.product_ids) check_ids(*body.product_ids, "product_ids", errors);
    if (body.category_ids) check_ids(*body.category_ids, "category_ids", errors);
    if (body.variant_ids) check_ids(*body.variant_ids, "variant_ids", errors);
}

std::vector<core::FieldError> rule_errors(PromotionKind kind,
                                          std::int64_t value,
                                          std::optional<Timestamp> starts_at,
                                          std::optional<Timestamp> ends_at) {
    std::vector<core::FieldError> errors;
    switch (kind) {
        case PromotionKind::kPercentage:
            if (value < 1 || value > pricing::kBasisPoints) {
                errors.push_back({"value", "a percentage is 1 to 10000 basis points (10000 = 100%)"});
            }
            break;
        case PromotionKind::kFixedAmount:
            if (value < 1) errors.push_back({"value", "a fixed amount is at least 1 cent"});
            break;
        case PromotionKind::kFreeShipping:
            if (value != 0) errors.push_back({"value", "free shipping takes no value (0)"});
            break;
    }
    if (starts_at && ends_at && *ends_at <= *starts_at) {
        errors.push_back({"ends_at", "must be after starts_at"});
    }
    return errors;
}

}  // namespace emporium::promotions
