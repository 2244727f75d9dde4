#include "promotions/promotions_service.hpp"

#include "core/ids.hpp"

namespace emporium::promotions {

namespace {

namespace asio = boost::asio;

core::Error invalid(std::vector<core::FieldError> errors) {
    return core::make_error(core::Errc::kValidation, "the request has invalid fields", std::move(errors));
}

void apply(Promotion& p, PromotionChanges c) {
    if (c.name) p.name = std::move(*c.name);
    if (c.value) p.value = *c.value;
    if (c.min_subtotal_cents) p.min_subtotal_cents = *c.min_subtotal_cents;
    if (c.product_ids) p.product_ids = std::move(*c.product_ids);
    if (c.category_ids) p.category_ids = std::move(*c.category_ids);
    if (c.variant_ids) p.variant_ids = std::move(*c.variant_ids);
    if (c.first_order_only) p.first_order_only = *c.first_order_only;
    if (c.starts_at) p.starts_at = *c.starts_at;
    if (c.ends_at) p.ends_at = *c.ends_at;
    if (c.exclusive) p.exclusive = *c.exclusive;
    if (c.priority) p.priority = *c.priority;
    if (c.usage_limit) p.usage_limit = *c.usage_limit;
    if (c.per_customer_limit) p.per_customer_limit = *c.per_customer_limit;
    if (c.is_active) p.is_active = *c.is_active;
}

}  // namespace

asio::awaitable<std::vector<core::FieldError>> PromotionsService::target_errors(std::vector<std::int64_t> product_ids,
                                                                                std::vector<std::int64_t> category_ids,
                                                                                std::vector<std::int64_t> variant_ids) {
    std::vector<core::FieldError> errors;
    if (product_ids.empty() && category_ids.empty() && variant_ids.empty()) co_return errors;
    const auto missing = co_await store_.missing_targets(std::move(product_ids), std::move(category_ids), std::move(variant_ids));
    for (const auto& [member, id] : missing) {
        errors.push_back({member, "names " + std::to_string(id) + ", which does not exist"});
    }
    co_return errors;
}

asio::awaitable<core::Result<Promotion>> PromotionsService::create(NewPromotion body) {
    auto errors = rule_errors(body.kind, body.value, body.starts_at, body.ends_at);
    auto missing = co_await target_errors(body.product_ids, body.category_ids, body.variant_ids);
    for (auto& e : missing) errors.push_back(std::move(e));
    if (!errors.empty()) co_return invalid(std::move(errors));
    try {
        co_return co_await store_.insert(std::move(body));
    } catch (const db::DbError& e) {
        if (!e.is_unique_violation()) throw;
    }
    co_return core::make_error(core::Errc::kConflict, "another promotion has this code", {{"code", "is in use"}});
}

asio::awaitable<core::Result<Promotion>> PromotionsService::get(std::int64_t id) {
    auto found = co_await store_.find(id);
    if (!found) co_return core::make_error(core::Errc::kNotFound, "no such promotion");
    co_return std::move(*found);
}

asio::awaitable<core::Result<PromotionPage>> PromotionsService::list(std::int64_t limit,
                                                                      std::optional<std::string> cursor,
                                                                      std::optional<bool> active) {
    std::optional<std::int64_t> before;
    if (cursor && !(before = core::parse_id(*cursor))) {
        co_return core::make_error(core::Errc::kBadRequest, "the cursor is malformed");
    }
    auto items = co_await store_.list(limit + 1, before, active);
    PromotionPage page;
    if (static_cast<std::int64_t>(items.size()) > limit) {
        items.pop_back();
        page.next_cursor = std::to_string(items.back().id);
    }
    page.items = std::move(items);
    co_return page;
}

asio::awaitable<core::Result<Promotion>> PromotionsService::update(std::int64_t id,
                                                                    std::int64_t expected_version,
                                                                    PromotionChanges changes) {
    if (expected_version <= 0) {
        co_return core::make_error(core::Errc::kPreconditionRequired,
                                   "send If-Match: W/\"<version>\" (or version in the body)");
    }
    auto tx = co_await store_.pool().begin();
    auto current = co_await store_.lock(tx, id);
    if (!current) co_return core::make_error(core::Errc::kNotFound, "no such promotion");
    if (current->version != expected_version) {
        co_return core::make_error(core::Errc::kPreconditionFailed,
                                   "the promotion is at version " + std::to_string(current->version) + ", not " +
                                       std::to_string(expected_version));
    }
    Promotion next = *current;
    apply(next, std::move(changes));
    auto errors = rule_errors(next.kind, next.value, next.starts_at, next.ends_at);
    auto missing = co_await target_errors(next.product_ids, next.category_ids, next.variant_ids);
    for (auto& e : missing) errors.push_back(std::move(e));
    if (!errors.empty()) co_return invalid(std::move(errors));
    if (next.usage_limit && *next.usage_limit < next.redeemed) {
        co_return core::make_error(core::Errc::kConflict,
                                   "the promotion was redeemed " + std::to_string(next.redeemed) + " times already",
                                   {{"usage_limit", "must not be below redeemed (" + std::to_string(next.redeemed) + ")"}});
    }
    auto updated = co_await store_.update(tx, std::move(next));
    co_await tx.commit();
    co_return updated;
}

asio::awaitable<core::Result<void>> PromotionsService::remove(std::int64_t id) {
    const bool removed = co_await store_.remove(id);
    if (!removed) co_return core::make_error(core::Errc::kNotFound, "no such promotion");
    co_return core::Result<void>{};
}

}  // namespace emporium::promotions
