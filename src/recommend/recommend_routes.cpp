#include "recommend/recommend_routes.hpp"

#include "catalog/catalog_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::recommend {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

constexpr std::int64_t kDefaultLimit = 10;
constexpr std::int64_t kMaxLimit = 50;

struct LimitQuery {
    std::int64_t limit = kDefaultLimit;
    static constexpr std::array kFields{core::field("limit").range(1, kMaxLimit).optional().describe("how many")};
};
BOOST_DESCRIBE_STRUCT(LimitQuery, (), (limit))

asio::awaitable<Reply<AlsoBought>> also_bought(std::shared_ptr<RecommendService> service,
                                               In<catalog::ProductRef, LimitQuery> in,
                                               Caller caller) {
    auto body = co_await service->also_bought(in.path.id, in.query.limit, caller.read_after);
    if (!body) co_return body.error();
    auto reply = Reply<AlsoBought>::encoded(200, std::move(*body), "application/json");
    reply.header("Cache-Control", "public, max-age=60");
    co_return reply;
}

asio::awaitable<Reply<Recommendations>> for_you(std::shared_ptr<RecommendService> service, In<NoInput, LimitQuery> in,
                                                Caller caller) {
    auto body = co_await service->recommendations(caller.user(), in.query.limit, caller.read_after);
    auto reply = Reply<Recommendations>::encoded(200, std::move(body), "application/json");
    reply.header("Cache-Control", "private, no-store");
    co_return reply;
}

struct RebuildStarted {
    std::string job_id;
};
BOOST_DESCRIBE_STRUCT(RebuildStarted, (), (job_id))

struct AdminState {
    std::shared_ptr<RecommendService> service;
    StartRebuild start;
};

asio::awaitable<Reply<RecommendStatus>> status(std::shared_ptr<AdminState> state, In<> /*in*/, Caller /*caller*/) {
    co_return co_await state->service->status();
}

asio::awaitable<Reply<RebuildStarted>> rebuild_now(std::shared_ptr<AdminState> state, In<> /*in*/,
                                                     Caller /*caller*/) {
    auto job_id = co_await state->start();
    Reply<RebuildStarted> reply(RebuildStarted{std::move(job_id)});
    reply.status(http::Status::accepted);
    co_return reply;
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<RecommendService>& service, StartRebuild start_rebuild) {
    api.openapi().add_tag("recommendations", "Frequently bought together, and recommendations for the signed-in customer");
    api.add({.method = http::Verb::get,
             .path = "/api/v1/products/{id}/also-bought",
             .id = "alsoBought",
             .tag = "recommendations",
             .summary = "Products most often bought together with this one (active products only)",
             .description = "Computed by the scheduled rebuild (RECOMMEND_SCORING: count, cosine, jaccard or lift) and "
                            "bumped as orders are paid; answers are cached for up to 60 s.",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "neighbours, best first",
             .errors = {{404, "no such product"}}},
            also_bought, service);
    api.add({.method = http::Verb::get,
             .path = "/api/v1/recommendations",
             .id = "recommendations",
             .tag = "recommendations",
             .summary = "Recommended for you: the neighbours of your recent purchases, minus what you own",
             .access = http::Access::kAuthenticated,
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "recommendations"},
            for_you, service);

    auto admin = std::make_shared<AdminState>(AdminState{service, std::move(start_rebuild)});
    api.add({.method = http::Verb::get,
             .path = "/api/v1/admin/recommendations",
             .id = "recommendationsStatus",
             .tag = "recommendations",
             .summary = "The recommendations' state (admin): scoring, whether a rebuild runs, the last rebuild",
             .access = http::Access::kAdmin,
             .rate_group = "read",
             .success_description = "the state"},
            status, admin);
    api.add({.method = http::Verb::post,
             .path = "/api/v1/admin/recommendations/rebuild",
             .id = "rebuildRecommendations",
             .tag = "recommendations",
             .summary = "Start a full rebuild now (admin): a job for the worker; GET /admin/recommendations shows when "
                        "it ran",
             .access = http::Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::accepted,
             .success_description = "queued"},
            rebuild_now, admin);
}

}  // namespace emporium::recommend
