#pragma once
// Administration of shipping options and tax rates. No HTTP, no SQL.

#include "core/error.hpp"
#include "shipping/shipping_store.hpp"
#include "shipping/shipping_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>

namespace emporium::shipping {

class ShippingService {
public:
    explicit ShippingService(ShippingStore store) : store_(std::move(store)) {}

    // Errors: kValidation (country, free_above_cents with a base price of 0 is allowed).
    boost::asio::awaitable<core::Result<ShippingOption>> create_option(NewShippingOption body);
    // Errors: kValidation (a malformed country filter).
    boost::asio::awaitable<core::Result<ShippingOptionList>> list_options(std::string country);
    // Errors: kNotFound.
    boost::asio::awaitable<core::Result<void>> remove_option(std::int64_t id);
    // Errors: kValidation (a malformed country, a category that does not exist).
    boost::asio::awaitable<core::Result<TaxRates>> put_rates(std::string country, NewTaxRates body);
    boost::asio::awaitable<TaxRatesList> list_rates();
    // Errors: kNotFound (no rates, or a malformed country).
    boost::asio::awaitable<core::Result<void>> remove_rates(std::string country);

private:
    ShippingStore store_;
};

}  // namespace emporium::shipping
