#pragma once
// HTTP adapters of the catalog context: /api/v1/categories and /api/v1/products (with reviews),
// each declared once (http::Api). Writes to the catalog need the admin role; reviews need a
// signed-in user.

#include "catalog/catalog_service.hpp"
#include "http/endpoint.hpp"

#include <boost/describe/class.hpp>
#include <boost/json/object.hpp>

#include <array>

#include <memory>
#include <optional>
#include <string_view>

namespace emporium::catalog {

// The path of the routes under /api/v1/products/{id}.
struct ProductRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("product id")};
};
BOOST_DESCRIBE_STRUCT(ProductRef, (), (id))

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<CatalogService>& service);

// The request decoders of those routes (public for tests and fuzzing): the declared types'
// decoders, with every field error at once (kValidation).
core::Result<NewCategory> parse_new_category(const boost::json::object& body);  // POST /categories
core::Result<NewProduct> parse_new_product(const boost::json::object& body);    // POST /products
// PATCH /products/{id}: the body and the If-Match header (W/"<version>"; it wins over the body's
// `version`), nullopt when absent.
core::Result<ProductPatch> parse_product_patch(const boost::json::object& body,
                                               std::optional<std::string_view> if_match);
core::Result<NewReview> parse_new_review(const boost::json::object& body);  // POST /products/{id}/reviews
// The query parameters of GET /products (q, category, min_price, max_price, in_stock, sort, limit,
// cursor, explain, facets); the cursor is decoded later by the service.
core::Result<ListQuery> parse_list_query(const http::RequestContext& ctx);

}  // namespace emporium::catalog
