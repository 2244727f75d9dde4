#include "webhooks/webhooks_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::webhooks {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

struct EndpointRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("webhook endpoint id")};
};
BOOST_DESCRIBE_STRUCT(EndpointRef, (), (id))

struct DeliveryRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("webhook delivery id")};
};
BOOST_DESCRIBE_STRUCT(DeliveryRef, (), (id))

struct DeliveryQuery : http::PageQuery {
    std::optional<std::string> status;
    static constexpr std::array kFields{core::field("limit").range(1, 100).optional().describe("page size, default 20"),
                                        core::field("cursor").describe("next_cursor of the previous page"),
                                        core::field("status").values("pending|retrying|succeeded|dead").describe(
                                            "only deliveries in this state")};
};
BOOST_DESCRIBE_STRUCT(DeliveryQuery, (http::PageQuery), (status))

asio::awaitable<Reply<WebhookEndpointWithSecret>> create_endpoint(std::shared_ptr<WebhooksService> service,
                                                                  In<NoInput, NoInput, NewWebhookEndpoint> in,
                                                                  Caller /*caller*/) {
    auto created = co_await service->create(std::move(in.body));
    const auto id = created.id;
    Reply<WebhookEndpointWithSecret> reply(std::move(created));
    reply.status(http::Status::created);
    reply.header("Location", "/api/v1/admin/webhook-endpoints/" + std::to_string(id));
    co_return reply;
}

asio::awaitable<Reply<WebhookEndpointList>> list_endpoints(std::shared_ptr<WebhooksService> service, In<> /*in*/,
                                                           Caller /*caller*/) {
    co_return co_await service->list();
}

asio::awaitable<Reply<WebhookEndpoint>> get_endpoint(std::shared_ptr<WebhooksService> service, In<EndpointRef> in,
                                                     Caller /*caller*/) {
    co_return co_await service->get(in.path.id);
}

asio::awaitable<Reply<WebhookEndpoint>> update_endpoint(std::shared_ptr<WebhooksService> service,
                                                        In<EndpointRef, NoInput, WebhookEndpointPatch> in,
                                                        Caller /*caller*/) {
    co_return co_await service->update(in.path.id, std::move(in.body));
}

asio::awaitable<Reply<WebhookEndpointWithSecret>> rotate_secret(std::shared_ptr<WebhooksService> service,
                                                                In<EndpointRef> in,
                                                                Caller /*caller*/) {
    co_return co_await service->rotate_secret(in.path.id);
}

asio::awaitable<Reply<http::NoContent>> delete_endpoint(std::shared_ptr<WebhooksService> service, In<EndpointRef> in,
                                                        Caller /*caller*/) {
    auto removed = co_await service->remove(in.path.id);
    if (!removed) co_return removed.error();
    co_return http::NoContent{};
}

asio::awaitable<Reply<WebhookDeliveryList>> list_deliveries(std::shared_ptr<WebhooksService> service,
                                                            In<EndpointRef, DeliveryQuery> in,
                                                            Caller /*caller*/) {
    co_return co_await service->deliveries(in.path.id, std::move(in.query.status), std::move(in.query.cursor),
                                           in.query.limit);
}

asio::awaitable<Reply<WebhookDeliveryDetail>> get_delivery(std::shared_ptr<WebhooksService> service,
                                                           In<DeliveryRef> in,
                                                           Caller /*caller*/) {
    co_return co_await service->delivery(in.path.id);
}

asio::awaitable<Reply<WebhookDelivery>> replay_delivery(std::shared_ptr<WebhooksService> service, In<DeliveryRef> in,
                                                        Caller /*caller*/) {
    auto replayed = co_await service->replay(in.path.id);
    if (!replayed) co_return replayed.error();
    Reply<WebhookDelivery> reply(std::move(*replayed));
    reply.status(http::Status::accepted);
    co_return reply;
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<WebhooksService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("webhooks", "Webhooks out: endpoints, deliveries and their log (admin)");
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/webhook-endpoints",
             .id = "createWebhookEndpoint",
             .tag = "webhooks",
             .summary = "Register an endpoint for events (admin); its signing secret is shown once",
             .description =
                 "Each event an endpoint subscribes to is POSTed to it as {id, type, created, data}, with the headers "
                 "Emporium-Event-Id (dedupe on it: delivery is at least once), Emporium-Event-Type, "
                 "Emporium-Delivery-Id and Emporium-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" "
                 "under the secret>. A 2xx answer settles it; 4xx other than 408 and 429 stops it; anything else is "
                 "retried with backoff until the attempts run out (then dead, replayable). Event types: "
                 "order.created, order.paid, order.payment_failed, order.fulfilled, order.cancelled, order.expired, "
                 "order.return_requested, order.returned, order.refunded, payment.requested, payment.captured, "
                 "payment.declined, payment.failed, payment.flagged, refund.requested, refund.succeeded, "
                 "refund.failed, inventory.low_stock, product.created, product.updated, product.deleted.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created, with its secret",
             .errors = {{422, "invalid fields: a URL that is not http(s), an unknown event type or pattern"}},
             .response_headers = {{"Location", "the endpoint's URL"}}},
            create_endpoint, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/webhook-endpoints",
             .id = "listWebhookEndpoints",
             .tag = "webhooks",
             .summary = "Webhook endpoints (admin), without their secrets",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the endpoints"},
            list_endpoints, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/webhook-endpoints/{id}",
             .id = "getWebhookEndpoint",
             .tag = "webhooks",
             .summary = "One webhook endpoint (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the endpoint",
             .errors = {{404, "no such endpoint"}}},
            get_endpoint, service);
    api.add({.method = Verb::patch,
             .path = "/api/v1/admin/webhook-endpoints/{id}",
             .id = "updateWebhookEndpoint",
             .tag = "webhooks",
             .summary = "Change an endpoint's URL, events, description or enabled flag (admin)",
             .description = "A disabled endpoint gets no deliveries for new events; those already made and not sent "
                            "become dead (replay them once it is enabled again).",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "updated",
             .errors = {{404, "no such endpoint"}, {422, "invalid fields"}}},
            update_endpoint, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/webhook-endpoints/{id}/secret",
             .id = "rotateWebhookSecret",
             .tag = "webhooks",
             .summary = "Give an endpoint a new signing secret (admin); shown once",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "the endpoint with its new secret",
             .errors = {{404, "no such endpoint"}}},
            rotate_secret, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/admin/webhook-endpoints/{id}",
             .id = "deleteWebhookEndpoint",
             .tag = "webhooks",
             .summary = "Delete an endpoint with its deliveries and their log (admin)",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "no such endpoint"}}},
            delete_endpoint, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/webhook-endpoints/{id}/deliveries",
             .id = "listWebhookDeliveries",
             .tag = "webhooks",
             .summary = "An endpoint's deliveries, newest first (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "a page",
             .errors = {{404, "no such endpoint"}, {422, "a malformed cursor or status"}}},
            list_deliveries, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/webhook-deliveries/{id}",
             .id = "getWebhookDelivery",
             .tag = "webhooks",
             .summary = "One delivery with the body it sends and every attempt (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the delivery and its log",
             .errors = {{404, "no such delivery"}}},
            get_delivery, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/webhook-deliveries/{id}/replay",
             .id = "replayWebhookDelivery",
             .tag = "webhooks",
             .summary = "Send a succeeded or dead delivery again (admin): same event id, a fresh retry budget",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::accepted,
             .success_description = "queued",
             .errors = {{404, "no such delivery"}, {409, "the delivery is still pending or retrying"}}},
            replay_delivery, service);
}

}  // namespace emporium::webhooks
