#pragma once
// Administration of promotions: create, read, list, change with a version check, delete. No HTTP,
// no SQL.

#include "core/error.hpp"
#include "promotions/promotions_store.hpp"
#include "promotions/promotions_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace emporium::promotions {

class PromotionsService {
public:
    explicit PromotionsService(PromotionsStore store) : store_(std::move(store)) {}

    // Errors: kValidation (a value that does not fit the kind, an unordered window, ids that name
    // nothing, each named), kConflict (the code is in use).
    boost::asio::awaitable<core::Result<Promotion>> create(NewPromotion body);
    boost::asio::awaitable<core::Result<Promotion>> get(std::int64_t id);
    // Errors: kBadRequest (a malformed cursor).
    boost::asio::awaitable<core::Result<PromotionPage>> list(std::int64_t limit,
                                                             std::optional<std::string> cursor,
                                                             std::optional<bool> active);
    // `expected_version` 0: none given. Errors: kPreconditionRequired, kNotFound,
    // kPreconditionFailed (another version), kValidation, kConflict (usage_limit below redeemed).
    boost::asio::awaitable<core::Result<Promotion>> update(std::int64_t id,
                                                           std::int64_t expected_version,
                                                           PromotionChanges changes);
    boost::asio::awaitable<core::Result<void>> remove(std::int64_t id);

private:
    // Ids of the condition lists that name nothing, as field errors.
    boost::asio::awaitable<std::vector<core::FieldError>> target_errors(std::vector<std::int64_t> product_ids,
                                                                        std::vector<std::int64_t> category_ids,
                                                                        std::vector<std::int64_t> variant_ids);

    PromotionsStore store_;
};

}  // namespace emporium::promotions
