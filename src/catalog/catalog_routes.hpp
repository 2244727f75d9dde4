#pragma once
// HTTP adapters of the catalog context: /api/v1/categories and /api/v1/products (with reviews),
// documented in the OpenAPI document. Writes to the catalog need the admin role; reviews need a
// signed-in user (enforced by the authentication middleware through RouteOptions::access).

#include "catalog/catalog_service.hpp"
#include "http/openapi.hpp"
#include "http/router.hpp"

#include <boost/json/object.hpp>

#include <memory>
#include <optional>
#include <string_view>

namespace emporium::catalog {

// The service must outlive the router.
void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<CatalogService> service);

// The request validators of those routes (public for tests and fuzzing). Body validators reject
// unknown members; all of them return kValidation with every field error at once.
core::Result<NewCategory> parse_new_category(const boost::json::object& body);  // POST /categories
core::Result<NewProduct> parse_new_product(const boost::json::object& body);    // POST /products
// PATCH /products/{id}: the body and the If-Match header (W/"<version>"; it wins over the body's
// `version`), nullopt when absent.
core::Result<ProductPatch> parse_product_patch(const boost::json::object& body,
                                               std::optional<std::string_view> if_match);
core::Result<NewReview> parse_new_review(const boost::json::object& body);  // POST /products/{id}/reviews
// The query parameters of GET /products (q, category, min_price, max_price, in_stock, sort, limit,
// cursor, explain); the cursor is decoded later by the service.
core::Result<ListQuery> parse_list_query(const http::RequestContext& ctx);

}  // namespace emporium::catalog
