#include "webhooks/webhooks_service.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "payments/webhook_signature.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>


namespace emporium::webhooks {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

core::Error no_endpoint(std::int64_t id) {
    return core::make_error(core::Errc::kNotFound, "no webhook endpoint " + std::to_string(id));
}

core::Error no_delivery(std::int64_t id) {
    return core::make_error(core::Errc::kNotFound, "no webhook delivery " + std::to_string(id));
}

void count(std::string_view outcome) {
    core::Metrics::global()
        .counter("emporium_webhook_attempts_total", "Webhook delivery attempts by outcome",
                 {{"outcome", std::string(outcome)}})
        .inc();
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::string new_secret() {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out = "whsec_";
    for (const char c : core::random_bytes(24)) {
        const auto byte = static_cast<unsigned char>(c);
        out += kHex[byte >> 4U];
        out += kHex[byte & 0x0FU];
    }
    return out;
}

WebhooksService::WebhooksService(WebhooksStore store, WebhooksSettings settings, std::shared_ptr<Sender> sender)
    : store_(std::move(store)), settings_(settings), sender_(std::move(sender)) {}

asio::awaitable<WebhookEndpointWithSecret> WebhooksService::create(NewWebhookEndpoint body) {
    co_return co_await store_.insert_endpoint(std::move(body), new_secret());
}

asio::awaitable<WebhookEndpointList> WebhooksService::list() {
    WebhookEndpointList out;
    out.items = co_await store_.list_endpoints();
    co_return out;
}

asio::awaitable<core::Result<WebhookEndpoint>> WebhooksService::get(std::int64_t id) {
    auto found = co_await store_.endpoint(id);
    if (!found) co_return no_endpoint(id);
    co_return std::move(*found);
}

asio::awaitable<core::Result<WebhookEndpoint>> WebhooksService::update(std::int64_t id, WebhookEndpointPatch patch) {
    auto updated = co_await store_.update_endpoint(id, std::move(patch));
    if (!updated) co_return no_endpoint(id);
    co_return std::move(*updated);
}

asio::awaitable<core::Result<WebhookEndpointWithSecret>> WebhooksService::rotate_secret(std::int64_t id) {
    auto updated = co_await store_.set_secret(id, new_secret());
    if (!updated) co_return no_endpoint(id);
    co_return std::move(*updated);
}

asio::awaitable<core::Result<void>> WebhooksService::remove(std::int64_t id) {
    const bool removed = co_await store_.delete_endpoint(id);
    if (!removed) co_return no_endpoint(id);
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<WebhookDeliveryList>> WebhooksService::deliveries(std::int64_t endpoint_id,
                                                                               std::optional<std::string> status,
                                                                               std::optional<std::string> cursor,
                                                                               std::int64_t limit) {
    std::int64_t before = 0;
    if (cursor) {
        auto id = core::parse_id(*cursor);
        if (!id) {
            co_return core::make_error(core::Errc::kValidation, "invalid cursor",
                                       {{"cursor", "must be the next_cursor of an earlier page"}});
        }
        before = *id;
    }
    auto endpoint = co_await store_.endpoint(endpoint_id);
    if (!endpoint) co_return no_endpoint(endpoint_id);
    WebhookDeliveryList out;
    out.items = co_await store_.deliveries(endpoint_id, std::move(status), before, limit);
    if (static_cast<std::int64_t>(out.items.size()) == limit && !out.items.empty()) {
        out.next_cursor = std::to_string(out.items.back().id);
    }
    co_return out;
}

asio::awaitable<core::Result<WebhookDeliveryDetail>> WebhooksService::delivery(std::int64_t id) {
    auto found = co_await store_.outgoing(id);
    if (!found) co_return no_delivery(id);
    WebhookDeliveryDetail out;
    static_cast<WebhookDelivery&>(out) = found->delivery;
    out.body = body_of(*found);
    out.log = co_await store_.attempts(id);
    co_return out;
}

asio::awaitable<core::Result<WebhookDelivery>> WebhooksService::replay(std::int64_t id) {
    auto replayed = co_await store_.replay(id, settings_.stuck_after);
    if (!replayed) co_return no_delivery(id);
    if (!replayed->replayed) {
        co_return core::make_error(core::Errc::kConflict,
                                   "webhook delivery " + std::to_string(id) + " is " + replayed->delivery.status +
                                       ": it is still being sent; replay it once it has succeeded or is dead");
    }
    co_return std::move(replayed->delivery);
}

asio::awaitable<void> WebhooksService::fan_out(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
    db::Transaction& tx,                          // the relay's batch, awaited directly
    std::vector<jobs::OutboxEvent> events) {
    json::array rows;
    for (auto& e : events) {
        if (!is_subscribable(e.event_type)) continue;
        json::object row;
        row["id"] = e.id;
        row["type"] = e.event_type;
        row["created_ms"] = e.created_ms;
        row["data"] = std::move(e.payload);
        rows.push_back(std::move(row));
    }
    if (rows.empty()) co_return;
    co_await store_.insert_deliveries(tx, json::value(std::move(rows)));
}

std::string WebhooksService::body_of(const Outgoing& outgoing) {
    json::object body;
    body["id"] = outgoing.delivery.event_id;
    body["type"] = outgoing.delivery.event_type;
    body["created"] = outgoing.event_seconds;
    body["data"] = outgoing.data;
    return json::serialize(body);
}

asio::awaitable<core::Result<void>> WebhooksService::deliver(std::int64_t delivery_id,
                                                             std::int32_t replay,
                                                             int job_attempt) {
    auto found = co_await store_.outgoing(delivery_id);
    if (!found) co_return core::Result<void>{};  // its endpoint was deleted
    const auto& delivery = found->delivery;
    if (delivery.status == "succeeded" || delivery.status == "dead") co_return core::Result<void>{};
    if (delivery.replays != replay) co_return core::Result<void>{};  // a job of an earlier sending

    AttemptRecord record;
    record.started_at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (!found->enabled || !sender_) {
        record.status = "dead";
        record.error = found->enabled ? "no sender in this process; not sent" : "the endpoint is disabled; not sent";
        co_await store_.record_attempt(delivery_id, replay, std::move(record));
        count("disabled");
        co_return core::Result<void>{};
    }

    const std::string body = body_of(*found);
    const std::int64_t t = now_ms() / 1000;
    std::vector<std::string> headers;
    headers.push_back("Emporium-Signature: " + payments::sign_webhook(found->secret, t, body));
    headers.push_back("Emporium-Event-Id: " + delivery.event_id);
    headers.push_back("Emporium-Event-Type: " + delivery.event_type);
    headers.push_back("Emporium-Delivery-Id: " + std::to_string(delivery.id));
    auto sent = co_await sender_->post(found->url, body, std::move(headers));

    record.duration_ms = sent.duration_ms;
    record.status_code = sent.status_code;
    record.response_excerpt = std::move(sent.excerpt);
    bool retry = false;
    if (sent.status_code && *sent.status_code >= 200 && *sent.status_code < 300) {
        record.status = "succeeded";
    } else if (sent.status_code && *sent.status_code >= 400 && *sent.status_code < 500 && *sent.status_code != 408 &&
               *sent.status_code != 429) {
        record.status = "dead";
        record.error = "the receiver answered " + std::to_string(*sent.status_code) + ": not retried";
    } else {
        retry = job_attempt < settings_.max_attempts;
        record.status = retry ? "retrying" : "dead";
        record.error = sent.status_code ? "the receiver answered " + std::to_string(*sent.status_code) : sent.error;
        if (!retry) *record.error += " (the last of " + std::to_string(settings_.max_attempts) + " attempts)";
    }
    const std::string outcome = record.status;
    const std::string error = record.error.value_or("");
    const bool recorded = co_await store_.record_attempt(delivery_id, replay, std::move(record));
    count(outcome);
    if (!recorded) co_return core::Result<void>{};  // settled by a duplicate job meanwhile
    if (retry) co_return core::make_error(core::Errc::kUnavailable, "webhook delivery " + std::to_string(delivery_id) + ": " + error);
    core::log::info("webhook delivery settled",
                    {{"delivery_id", delivery_id}, {"status", outcome}, {"event_id", delivery.event_id}});
    co_return core::Result<void>{};
}

}  // namespace emporium::webhooks
