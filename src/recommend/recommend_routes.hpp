#pragma once
// HTTP adapters of the recommendations context: GET /api/v1/products/{id}/also-bought (public)
// and GET /api/v1/recommendations (authenticated), the rebuild's state and a manual rebuild (admin),
// documented in the OpenAPI document.

#include "http/endpoint.hpp"
#include "recommend/recommend_service.hpp"

#include <functional>
#include <memory>
#include <string>

namespace emporium::recommend {

// Starts a full rebuild in the background (a `recommend.rebuild` job); returns the job's id.
using StartRebuild = std::function<boost::asio::awaitable<std::string>()>;

// The service must outlive the router. The admin routes (GET /admin/recommendations, POST
// /admin/recommendations/rebuild) use `start_rebuild`.
void register_routes(http::Api& api, const std::shared_ptr<RecommendService>& service, StartRebuild start_rebuild);

}  // namespace emporium::recommend
