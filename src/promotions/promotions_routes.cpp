#include "promotions/promotions_routes.hpp"

#include "http/etag.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::promotions {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

struct PromotionRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("promotion id")};
};
BOOST_DESCRIBE_STRUCT(PromotionRef, (), (id))

struct PromotionQuery : http::PageQuery {
    std::optional<bool> active;
    static constexpr std::array kFields{core::field("limit").range(1, 100).optional().describe("page size, default 20"),
                                        core::field("cursor").describe("next_cursor of the previous page"),
                                        core::field("active").describe("only (in)active promotions")};
};
BOOST_DESCRIBE_STRUCT(PromotionQuery, (http::PageQuery), (active))

Reply<Promotion> promotion_reply(Promotion p, http::Status status = http::Status::ok) {
    const auto version = p.version;
    Reply<Promotion> reply(std::move(p));
    reply.status(status);
    reply.header("ETag", http::weak_etag(version));
    return reply;
}

asio::awaitable<Reply<Promotion>> create_promotion(std::shared_ptr<PromotionsService> service,
                                                   In<NoInput, NoInput, NewPromotion> in,
                                                   Caller /*caller*/) {
    auto created = co_await service->create(std::move(in.body));
    if (!created) co_return created.error();
    const auto id = created->id;
    auto reply = promotion_reply(std::move(*created), http::Status::created);
    reply.header("Location", "/api/v1/admin/promotions/" + std::to_string(id));
    co_return reply;
}

asio::awaitable<Reply<PromotionPage>> list_promotions(std::shared_ptr<PromotionsService> service,
                                                      In<NoInput, PromotionQuery> in,
                                                      Caller /*caller*/) {
    co_return co_await service->list(in.query.limit, std::move(in.query.cursor), in.query.active);
}

asio::awaitable<Reply<Promotion>> get_promotion(std::shared_ptr<PromotionsService> service, In<PromotionRef> in,
                                                Caller /*caller*/) {
    auto found = co_await service->get(in.path.id);
    if (!found) co_return found.error();
    co_return promotion_reply(std::move(*found));
}

asio::awaitable<Reply<Promotion>> update_promotion(std::shared_ptr<PromotionsService> service,
                                                   In<PromotionRef, NoInput, PromotionChanges> in,
                                                   Caller caller) {
    auto version = http::expected_version(in.body.version, caller.header("If-Match"));
    if (!version) co_return version.error();
    auto updated = co_await service->update(in.path.id, *version, std::move(in.body));
    if (!updated) co_return updated.error();
    co_return promotion_reply(std::move(*updated));
}

asio::awaitable<Reply<http::NoContent>> delete_promotion(std::shared_ptr<PromotionsService> service,
                                                         In<PromotionRef> in,
                                                         Caller /*caller*/) {
    auto removed = co_await service->remove(in.path.id);
    if (!removed) co_return removed.error();
    co_return http::NoContent{};
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<PromotionsService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("promotions", "Codes and automatic promotions (admin)");
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/promotions",
             .id = "createPromotion",
             .tag = "promotions",
             .summary = "Create a promotion (admin): a code, or an automatic one",
             .description = "Applied to carts and orders in their transaction (usage limits exact under concurrency). "
                            "kind percentage takes basis points (1000 = 10%), fixed_amount cents, free_shipping no "
                            "value. product_ids, category_ids and variant_ids limit it to the lines they name.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{409, "another promotion has this code"},
                        {422, "invalid fields: a value that does not fit the kind, ends_at not after starts_at, ids "
                              "that name nothing"}},
             .response_headers = {{"Location", "the promotion's URL"}, {"ETag", "W/\"<version>\""}}},
            create_promotion, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/promotions",
             .id = "listPromotions",
             .tag = "promotions",
             .summary = "Promotions, newest first (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "a page",
             .errors = {{400, "malformed cursor"}}},
            list_promotions, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/promotions/{id}",
             .id = "getPromotion",
             .tag = "promotions",
             .summary = "One promotion (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the promotion",
             .errors = {{404, "no such promotion"}},
             .response_headers = {{"ETag", "W/\"<version>\""}}},
            get_promotion, service);
    api.add({.method = Verb::patch,
             .path = "/api/v1/admin/promotions/{id}",
             .id = "updatePromotion",
             .tag = "promotions",
             .summary = "Change a promotion (admin) with If-Match: W/\"<version>\"",
             .description = "The code and the kind never change. usage_limit cannot go below redeemed.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "updated",
             .errors = {{404, "no such promotion"},
                        {409, "usage_limit below the redemptions made"},
                        {412, "version mismatch"},
                        {422, "invalid fields"},
                        {428, "no version (If-Match or version)"}},
             .request_headers = {{"If-Match", "W/\"<version>\" (or version in the body)"}},
             .response_headers = {{"ETag", "W/\"<version>\""}}},
            update_promotion, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/admin/promotions/{id}",
             .id = "deletePromotion",
             .tag = "promotions",
             .summary = "Delete a promotion (admin); its code can be used again",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "no such promotion"}}},
            delete_promotion, service);
}

}  // namespace emporium::promotions
