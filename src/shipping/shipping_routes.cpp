#include "shipping/shipping_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::shipping {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

struct OptionRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("shipping option id")};
};
BOOST_DESCRIBE_STRUCT(OptionRef, (), (id))

struct CountryRef {
    std::string country;
    static constexpr std::array kFields{core::field("country").length(1, 64).describe("ISO 3166-1 alpha-2, e.g. NO")};
};
BOOST_DESCRIBE_STRUCT(CountryRef, (), (country))

struct OptionQuery {
    std::optional<std::string> country;
    static constexpr std::array kFields{core::field("country").length(1, 8).describe("only this country's options")};
};
BOOST_DESCRIBE_STRUCT(OptionQuery, (), (country))

asio::awaitable<Reply<ShippingOption>> create_option(std::shared_ptr<ShippingService> service,
                                                     In<NoInput, NoInput, NewShippingOption> in,
                                                     Caller /*caller*/) {
    auto created = co_await service->create_option(std::move(in.body));
    if (!created) co_return created.error();
    Reply<ShippingOption> reply(std::move(*created));
    reply.status(http::Status::created);
    co_return reply;
}

asio::awaitable<Reply<ShippingOptionList>> list_options(std::shared_ptr<ShippingService> service,
                                                        In<NoInput, OptionQuery> in,
                                                        Caller /*caller*/) {
    co_return co_await service->list_options(in.query.country.value_or(""));
}

asio::awaitable<Reply<http::NoContent>> delete_option(std::shared_ptr<ShippingService> service, In<OptionRef> in,
                                                      Caller /*caller*/) {
    auto removed = co_await service->remove_option(in.path.id);
    if (!removed) co_return removed.error();
    co_return http::NoContent{};
}

asio::awaitable<Reply<TaxRates>> put_rates(std::shared_ptr<ShippingService> service,
                                           In<CountryRef, NoInput, NewTaxRates> in,
                                           Caller /*caller*/) {
    co_return co_await service->put_rates(std::move(in.path.country), std::move(in.body));
}

asio::awaitable<Reply<TaxRatesList>> list_rates(std::shared_ptr<ShippingService> service, In<> /*in*/,
                                                Caller /*caller*/) {
    co_return co_await service->list_rates();
}

asio::awaitable<Reply<http::NoContent>> delete_rates(std::shared_ptr<ShippingService> service, In<CountryRef> in,
                                                     Caller /*caller*/) {
    auto removed = co_await service->remove_rates(std::move(in.path.country));
    if (!removed) co_return removed.error();
    co_return http::NoContent{};
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<ShippingService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("shipping", "Shipping options and tax rates (admin)");
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/shipping-options",
             .id = "createShippingOption",
             .tag = "shipping",
             .summary = "Create a shipping option for one country (admin): base price, per started kilogram, free "
                        "above an amount",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{422, "invalid fields (a malformed country or currency, negative amounts)"}}},
            create_option, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/shipping-options",
             .id = "listShippingOptions",
             .tag = "shipping",
             .summary = "Shipping options by country (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the options",
             .errors = {{422, "a malformed country"}}},
            list_options, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/admin/shipping-options/{id}",
             .id = "deleteShippingOption",
             .tag = "shipping",
             .summary = "Withdraw a shipping option (admin); orders that used it keep it",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "no such shipping option"}}},
            delete_option, service);
    api.add({.method = Verb::put,
             .path = "/api/v1/admin/tax-rates/{country}",
             .id = "putTaxRates",
             .tag = "shipping",
             .summary = "Set a country's tax rates (admin): the standard rate and overrides per category",
             .description = "Once any country has rates, every order must name its country (carts: PUT "
                            "/carts/{id}/shipping; POST /orders: country).",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "the country's rates",
             .errors = {{422, "invalid fields: a malformed country, a rate outside 0..100000, a category named twice "
                              "or not existing"}}},
            put_rates, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/tax-rates",
             .id = "listTaxRates",
             .tag = "shipping",
             .summary = "Every country's tax rates (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the rates"},
            list_rates, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/admin/tax-rates/{country}",
             .id = "deleteTaxRates",
             .tag = "shipping",
             .summary = "Remove a country's tax rates (admin)",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "the country has no rates"}}},
            delete_rates, service);
}

}  // namespace emporium::shipping
