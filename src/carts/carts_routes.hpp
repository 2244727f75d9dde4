#pragma once
// HTTP adapters of the carts context: /api/v1/carts (open, read, lines, checkout, merge), each
// declared once (http::Api). Guest carts are proved by the X-Cart-Token header.

#include "carts/carts_service.hpp"
#include "http/endpoint.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <memory>

namespace emporium::carts {

struct CartRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("cart id")};
};
BOOST_DESCRIBE_STRUCT(CartRef, (), (id))

struct CartLineRef {
    std::int64_t id = 0;
    std::int64_t variant_id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("cart id"),
                                        core::field("variant_id").at_least(1).describe("the line's variant")};
};
BOOST_DESCRIBE_STRUCT(CartLineRef, (), (id, variant_id))

struct CartCodeRef {
    std::int64_t id = 0;
    std::string code;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("cart id"),
                                        core::field("code").length(1, 64).describe("a code on the cart")};
};
BOOST_DESCRIBE_STRUCT(CartCodeRef, (), (id, code))

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<CartsService>& service);

}  // namespace emporium::carts
