#pragma once
// SQL of webhook endpoints, deliveries and attempts (migration 0019).

#include "db/pg.hpp"
#include "webhooks/webhooks_types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace emporium::webhooks {

// What a delivery job needs: the delivery, its event and where it goes.
struct Outgoing {
    WebhookDelivery delivery;
    std::int64_t event_seconds = 0;  // when the event happened (unix seconds)
    boost::json::value data;
    std::string url;
    std::string secret;
    bool enabled = true;
};

// One attempt's result, as recorded.
struct AttemptRecord {
    std::string status;  // the delivery's status after it: succeeded | retrying | dead
    std::optional<std::int32_t> status_code;
    std::optional<std::string> error;
    std::string response_excerpt;
    Timestamp started_at{};
    std::int32_t duration_ms = 0;
};

class WebhooksStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit WebhooksStore(PoolProvider pools) : pools_(std::move(pools)) {}

    boost::asio::awaitable<WebhookEndpointWithSecret> insert_endpoint(NewWebhookEndpoint body, std::string secret);
    boost::asio::awaitable<std::vector<WebhookEndpoint>> list_endpoints();
    boost::asio::awaitable<std::optional<WebhookEndpoint>> endpoint(std::int64_t id);
    // nullopt: no such endpoint.
    boost::asio::awaitable<std::optional<WebhookEndpoint>> update_endpoint(std::int64_t id, WebhookEndpointPatch patch);
    boost::asio::awaitable<std::optional<WebhookEndpointWithSecret>> set_secret(std::int64_t id, std::string secret);
    // false: no such endpoint. Its deliveries and their log go with it.
    boost::asio::awaitable<bool> delete_endpoint(std::int64_t id);

    // Inserts one delivery per enabled endpoint subscribed to each event, each with a
    // `webhook.send` outbox event, in the caller's transaction, skipping (endpoint, event) pairs
    // already delivered. `events` is a JSON array of {id, type, created_ms, data}. Returns how
    // many deliveries it made.
    boost::asio::awaitable<std::int64_t> insert_deliveries(db::Transaction& tx, boost::json::value events);

    // An endpoint's deliveries, newest first, with ids below `before` (0: from the newest).
    boost::asio::awaitable<std::vector<WebhookDelivery>> deliveries(std::int64_t endpoint_id,
                                                                    std::optional<std::string> status,
                                                                    std::int64_t before,
                                                                    std::int64_t limit);
    boost::asio::awaitable<std::optional<Outgoing>> outgoing(std::int64_t delivery_id);
    boost::asio::awaitable<std::vector<WebhookAttempt>> attempts(std::int64_t delivery_id);
    // Records an attempt of a delivery still pending or retrying in its `replay`-th sending and
    // moves its status; false when it was settled or replayed meanwhile (a duplicate or leftover
    // job: nothing recorded).
    boost::asio::awaitable<bool> record_attempt(std::int64_t delivery_id, std::int32_t replay, AttemptRecord record);
    // A settled delivery (succeeded or dead), or one stuck pending or retrying (unchanged for
    // `stuck_after`), back to pending with one more replay and a `webhook.send` outbox event that
    // sends it again, in one transaction. nullopt: no such delivery; a delivery still being sent
    // is returned unchanged (replayed = false).
    struct Replay {
        WebhookDelivery delivery;
        bool replayed = false;
    };
    boost::asio::awaitable<std::optional<Replay>> replay(std::int64_t delivery_id, std::chrono::milliseconds stuck_after);

private:
    PoolProvider pools_;
};

}  // namespace emporium::webhooks
