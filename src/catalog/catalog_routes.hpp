#pragma once
// HTTP adapters of the catalog context: /api/v1/categories and /api/v1/products (with reviews),
// documented in the OpenAPI document. Writes to the catalog need the admin role; reviews need a
// signed-in user (enforced by the authentication middleware through RouteOptions::access).

#include "catalog/catalog_service.hpp"
#include "http/openapi.hpp"
#include "http/router.hpp"

#include <memory>

namespace emporium::catalog {

// The service must outlive the router.
void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<CatalogService> service);

}  // namespace emporium::catalog
