#pragma once
// Webhooks out: endpoint administration, the fan-out of outbox events into deliveries (run by the
// outbox relay in its batch's transaction) and the delivery job (sign, POST, record, retry or give
// up). No HTTP routing, no SQL.
//
// A delivery is POSTed with:
//   Content-Type: application/json
//   Emporium-Event-Id: evt_<n>          the same for every endpoint and every retry or replay
//   Emporium-Event-Type: order.paid
//   Emporium-Delivery-Id: <delivery id>
//   Emporium-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// and the body {"id": "evt_<n>", "type": …, "created": <unix seconds>, "data": {…}}.
// 2xx: succeeded. 4xx other than 408 and 429: dead at once (the receiver refuses it). Anything
// else (5xx, 408, 429, 3xx, no answer in WEBHOOK_TIMEOUT_MS): retried with the job queue's backoff
// until the `webhook.deliver` retry policy's attempts run out, then dead. Delivery is at least
// once: a receiver that answers after the timeout gets the event again and dedupes by its id.

#include "core/error.hpp"
#include "jobs/jobs_types.hpp"
#include "jobs/outbox_relay.hpp"
#include "webhooks/sender.hpp"
#include "webhooks/webhooks_store.hpp"
#include "webhooks/webhooks_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emporium::webhooks {

inline constexpr std::string_view kDeliverJob = "webhook.deliver";
inline constexpr std::string_view kQueue = "webhook";
// The outbox event that sends a delivery (written with the delivery, or by a replay).
inline constexpr std::string_view kSendEvent = "webhook.send";

struct WebhooksSettings {
    int max_attempts = 8;  // the webhook.deliver retry policy's
    // A delivery pending or retrying that has not changed for this long lost its job (a worker gave
    // up on it, Redis lost it) and may be replayed: longer than a retry's wait plus one attempt.
    std::chrono::milliseconds stuck_after{std::chrono::minutes(10)};
};

class WebhooksService {
public:
    // `sender` may be null where nothing is delivered (the API server).
    WebhooksService(WebhooksStore store, WebhooksSettings settings, std::shared_ptr<Sender> sender);

    boost::asio::awaitable<WebhookEndpointWithSecret> create(NewWebhookEndpoint body);
    boost::asio::awaitable<WebhookEndpointList> list();
    // Errors: kNotFound.
    boost::asio::awaitable<core::Result<WebhookEndpoint>> get(std::int64_t id);
    boost::asio::awaitable<core::Result<WebhookEndpoint>> update(std::int64_t id, WebhookEndpointPatch patch);
    boost::asio::awaitable<core::Result<WebhookEndpointWithSecret>> rotate_secret(std::int64_t id);
    boost::asio::awaitable<core::Result<void>> remove(std::int64_t id);
    // Errors: kNotFound (no such endpoint), kValidation (a malformed cursor).
    boost::asio::awaitable<core::Result<WebhookDeliveryList>> deliveries(std::int64_t endpoint_id,
                                                                         std::optional<std::string> status,
                                                                         std::optional<std::string> cursor,
                                                                         std::int64_t limit);
    // Errors: kNotFound.
    boost::asio::awaitable<core::Result<WebhookDeliveryDetail>> delivery(std::int64_t id);
    // Sends a succeeded or dead delivery again (same event id, a fresh retry budget), or one stuck
    // (see WebhooksSettings::stuck_after). Errors: kNotFound, kConflict (still being sent).
    boost::asio::awaitable<core::Result<WebhookDelivery>> replay(std::int64_t id);

    // The outbox relay's fan-out: deliveries for the subscribable events of a batch, each with its
    // kSendEvent outbox event, in the batch's transaction.
    boost::asio::awaitable<void> fan_out(db::Transaction& tx, std::vector<jobs::OutboxEvent> events);
    // The webhook.deliver job of the delivery's `replay`-th sending (a job of an earlier sending
    // does nothing). Errors: kUnavailable when the attempt failed and will be retried.
    boost::asio::awaitable<core::Result<void>> deliver(std::int64_t delivery_id, std::int32_t replay, int job_attempt);

    // The JSON document a delivery POSTs.
    static std::string body_of(const Outgoing& outgoing);

private:
    WebhooksStore store_;
    WebhooksSettings settings_;
    std::shared_ptr<Sender> sender_;
};

// "whsec_" and 48 hex digits (192 random bits).
std::string new_secret();

}  // namespace emporium::webhooks
