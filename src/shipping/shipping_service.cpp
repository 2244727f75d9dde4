#include "shipping/shipping_service.hpp"

namespace emporium::shipping {

namespace {

namespace asio = boost::asio;

core::Error bad_country(const std::string& field) {
    return core::make_error(core::Errc::kValidation, "the country is malformed", {{field, std::string(kCountryMessage)}});
}

}  // namespace

asio::awaitable<core::Result<ShippingOption>> ShippingService::create_option(NewShippingOption body) {
    auto country = normalize_country(body.country);
    if (!country) co_return bad_country("country");
    body.country = *country;
    auto created = co_await store_.insert_option(std::move(body));
    co_return created;
}

asio::awaitable<core::Result<ShippingOptionList>> ShippingService::list_options(std::string country) {
    std::string filter;
    if (!country.empty()) {
        auto normalized = normalize_country(country);
        if (!normalized) co_return bad_country("country");
        filter = *normalized;
    }
    auto items = co_await store_.list_options(filter);
    co_return ShippingOptionList{std::move(items)};
}

asio::awaitable<core::Result<void>> ShippingService::remove_option(std::int64_t id) {
    const bool removed = co_await store_.remove_option(id);
    if (!removed) co_return core::make_error(core::Errc::kNotFound, "no such shipping option");
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<TaxRates>> ShippingService::put_rates(std::string country, NewTaxRates body) {
    auto normalized = normalize_country(country);
    if (!normalized) co_return bad_country("country");
    std::optional<core::Error> refused;
    TaxRates stored;
    try {
        stored = co_await store_.put_rates(*normalized, std::move(body));
    } catch (const db::DbError& e) {
        if (!e.is_foreign_key_violation()) throw;
        refused = core::make_error(core::Errc::kValidation, "a category does not exist",
                                   {{"categories", "every category_id must name a category"}});
    }
    if (refused) co_return std::move(*refused);
    co_return stored;
}

asio::awaitable<TaxRatesList> ShippingService::list_rates() {
    auto items = co_await store_.list_rates();
    co_return TaxRatesList{std::move(items)};
}

asio::awaitable<core::Result<void>> ShippingService::remove_rates(std::string country) {
    // A malformed country has no rates either.
    auto normalized = normalize_country(country);
    if (!normalized) co_return core::make_error(core::Errc::kNotFound, "the country has no tax rates");
    const bool removed = co_await store_.remove_rates(*normalized);
    if (!removed) co_return core::make_error(core::Errc::kNotFound, "the country has no tax rates");
    co_return core::Result<void>{};
}

}  // namespace emporium::shipping
