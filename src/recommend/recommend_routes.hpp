#pragma once
// HTTP adapters of the recommendations context: GET /api/v1/products/{id}/also-bought (public)
// and GET /api/v1/recommendations (authenticated), documented in the OpenAPI document.

#include "http/endpoint.hpp"
#include "recommend/recommend_service.hpp"

#include <memory>

namespace emporium::recommend {

// The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<RecommendService>& service);

}  // namespace emporium::recommend
