#include "webhooks/webhooks_store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace emporium::webhooks {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

#define EMPORIUM_ENDPOINT_COLUMNS "id, url, to_jsonb(events) AS events, description, enabled, created_at, updated_at"
#define EMPORIUM_DELIVERY_COLUMNS                                                                                  \
    "id, endpoint_id, event_id, event_type, status, attempts, replays, last_status_code, last_error, created_at, " \
    "updated_at, delivered_at"

constexpr db::Statement kInsertEndpoint{
    "webhooks.insert_endpoint",
    "INSERT INTO webhook_endpoints (url, secret, events, description, enabled) "
    "VALUES ($1, $2, ARRAY(SELECT jsonb_array_elements_text($3::jsonb)), $4, $5::boolean) "
    "RETURNING " EMPORIUM_ENDPOINT_COLUMNS ", secret"};
constexpr db::Statement kListEndpoints{"webhooks.list_endpoints",
                                       "SELECT " EMPORIUM_ENDPOINT_COLUMNS " FROM webhook_endpoints ORDER BY id"};
constexpr db::Statement kEndpoint{"webhooks.endpoint",
                                  "SELECT " EMPORIUM_ENDPOINT_COLUMNS " FROM webhook_endpoints WHERE id = $1"};
constexpr db::Statement kUpdateEndpoint{
    "webhooks.update_endpoint",
    "UPDATE webhook_endpoints SET url = coalesce($2, url), "
    "events = CASE WHEN $3::jsonb IS NULL THEN events ELSE ARRAY(SELECT jsonb_array_elements_text($3::jsonb)) END, "
    "description = coalesce($4, description), enabled = coalesce($5::boolean, enabled) "
    "WHERE id = $1 RETURNING " EMPORIUM_ENDPOINT_COLUMNS};
constexpr db::Statement kSetSecret{
    "webhooks.set_secret",
    "UPDATE webhook_endpoints SET secret = $2 WHERE id = $1 RETURNING " EMPORIUM_ENDPOINT_COLUMNS ", secret"};
constexpr db::Statement kDeleteEndpoint{"webhooks.delete_endpoint", "DELETE FROM webhook_endpoints WHERE id = $1"};
// The send events are outbox rows of this (the relay's) transaction: a later pass publishes them
// once the deliveries are committed, so a job never looks for a delivery that is not there yet.
constexpr db::Statement kInsertDeliveries{
    "webhooks.insert_deliveries",
    "WITH d AS (INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, event_created_at, data) "
    "SELECT e.id, ev.id, ev.type, to_timestamp(ev.created_ms / 1000.0), ev.data "
    "FROM jsonb_to_recordset($1::jsonb) AS ev(id bigint, type text, created_ms bigint, data jsonb) "
    "JOIN webhook_endpoints e ON e.enabled AND e.events && ARRAY['*', split_part(ev.type, '.', 1) || '.*', ev.type] "
    "ORDER BY ev.id, e.id "
    "ON CONFLICT (endpoint_id, event_id) DO NOTHING RETURNING id) "
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) "
    "SELECT 'webhook_delivery', d.id::text, 'webhook.send', jsonb_build_object('delivery_id', d.id, 'replay', 0) "
    "FROM d ORDER BY d.id"};
constexpr db::Statement kDeliveries{
    "webhooks.deliveries",
    "SELECT " EMPORIUM_DELIVERY_COLUMNS " FROM webhook_deliveries WHERE endpoint_id = $1 "
    "AND ($2::text IS NULL OR status = $2) AND ($3::bigint = 0 OR id < $3) ORDER BY id DESC LIMIT $4"};
constexpr db::Statement kOutgoing{
    "webhooks.outgoing",
    "SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.replays, d.last_status_code, "
    "d.last_error, d.created_at, d.updated_at, d.delivered_at, "
    "extract(epoch FROM d.event_created_at)::bigint AS event_seconds, d.data, e.url, e.secret, e.enabled "
    "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1"};
constexpr db::Statement kAttempts{
    "webhooks.attempts",
    "SELECT attempt, started_at, duration_ms, status_code, error, response_excerpt FROM webhook_attempts "
    "WHERE delivery_id = $1 ORDER BY id"};
constexpr db::Statement kRecordAttempt{
    "webhooks.record_attempt",
    "WITH d AS (UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_status_code = $3::integer, "
    "last_error = $4, delivered_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE delivered_at END "
    "WHERE id = $1 AND status IN ('pending', 'retrying') AND replays = $8::integer RETURNING id, attempts) "
    "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt) "
    "SELECT id, attempts, $5::timestamptz, $6::integer, $3::integer, $4, $7 FROM d RETURNING attempt"};
// A delivery still pending or retrying whose last change is older than $2 ms is stuck (its job was
// lost: a worker gave up on it, or Redis lost it) and may be replayed too.
constexpr db::Statement kReplay{
    "webhooks.replay",
    "UPDATE webhook_deliveries SET status = 'pending', replays = replays + 1, delivered_at = NULL "
    "WHERE id = $1 AND (status IN ('succeeded', 'dead') "
    "OR updated_at < now() - make_interval(secs => $2::bigint / 1000.0)) RETURNING " EMPORIUM_DELIVERY_COLUMNS};
constexpr db::Statement kDelivery{"webhooks.delivery",
                                  "SELECT " EMPORIUM_DELIVERY_COLUMNS " FROM webhook_deliveries WHERE id = $1"};
constexpr db::Statement kReplayEvent{
    "webhooks.replay_event",
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) "
    "VALUES ('webhook_delivery', $1::bigint::text, 'webhook.send', "
    "jsonb_build_object('delivery_id', $1::bigint, 'replay', $2::integer))"};
#undef EMPORIUM_ENDPOINT_COLUMNS
#undef EMPORIUM_DELIVERY_COLUMNS

std::vector<std::string> strings_of(const json::value& v) {
    std::vector<std::string> out;
    if (const auto* a = v.if_array()) {
        for (const auto& item : *a) {
            if (item.is_string()) out.emplace_back(item.get_string());
        }
    }
    return out;
}

json::value json_of(const std::vector<std::string>& items) {
    json::array a;
    for (const auto& s : items) a.emplace_back(s);
    return a;
}

WebhookEndpoint endpoint_at(const db::QueryResult& r, std::size_t i) {
    WebhookEndpoint e;
    e.id = r.get<std::int64_t>(i, "id");
    e.url = r.get<std::string>(i, "url");
    e.events = strings_of(r.get<json::value>(i, "events"));
    e.description = r.get<std::string>(i, "description");
    e.enabled = r.get<bool>(i, "enabled");
    e.created_at = r.get<db::Timestamp>(i, "created_at");
    e.updated_at = r.get<db::Timestamp>(i, "updated_at");
    return e;
}

WebhookEndpointWithSecret with_secret_at(const db::QueryResult& r, std::size_t i) {
    WebhookEndpointWithSecret e;
    static_cast<WebhookEndpoint&>(e) = endpoint_at(r, i);
    e.secret = r.get<std::string>(i, "secret");
    return e;
}

WebhookDelivery delivery_at(const db::QueryResult& r, std::size_t i) {
    WebhookDelivery d;
    d.id = r.get<std::int64_t>(i, "id");
    d.endpoint_id = r.get<std::int64_t>(i, "endpoint_id");
    d.event_id = "evt_" + std::to_string(r.get<std::int64_t>(i, "event_id"));
    d.event_type = r.get<std::string>(i, "event_type");
    d.status = r.get<std::string>(i, "status");
    d.attempts = r.get<std::int32_t>(i, "attempts");
    d.replays = r.get<std::int32_t>(i, "replays");
    d.last_status_code = r.get_optional<std::int32_t>(i, "last_status_code");
    d.last_error = r.get_optional<std::string>(i, "last_error");
    d.created_at = r.get<db::Timestamp>(i, "created_at");
    d.updated_at = r.get<db::Timestamp>(i, "updated_at");
    d.delivered_at = r.get_optional<db::Timestamp>(i, "delivered_at");
    return d;
}

}  // namespace

asio::awaitable<WebhookEndpointWithSecret> WebhooksStore::insert_endpoint(NewWebhookEndpoint body, std::string secret) {
    auto r = co_await pools_().query(kInsertEndpoint,
                                     db::params(body.url, secret, json_of(body.events), body.description, body.enabled));
    co_return with_secret_at(r, 0);
}

asio::awaitable<std::vector<WebhookEndpoint>> WebhooksStore::list_endpoints() {
    auto r = co_await pools_().query(kListEndpoints);
    std::vector<WebhookEndpoint> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(endpoint_at(r, i));
    co_return out;
}

asio::awaitable<std::optional<WebhookEndpoint>> WebhooksStore::endpoint(std::int64_t id) {
    auto r = co_await pools_().query(kEndpoint, id);
    if (r.empty()) co_return std::nullopt;
    co_return endpoint_at(r, 0);
}

asio::awaitable<std::optional<WebhookEndpoint>> WebhooksStore::update_endpoint(std::int64_t id, WebhookEndpointPatch patch) {
    std::optional<json::value> events;
    if (patch.events) events = json_of(*patch.events);
    auto r = co_await pools_().query(kUpdateEndpoint,
                                     db::params(id, patch.url, events, patch.description, patch.enabled));
    if (r.empty()) co_return std::nullopt;
    co_return endpoint_at(r, 0);
}

asio::awaitable<std::optional<WebhookEndpointWithSecret>> WebhooksStore::set_secret(std::int64_t id, std::string secret) {
    auto r = co_await pools_().query(kSetSecret, id, secret);
    if (r.empty()) co_return std::nullopt;
    co_return with_secret_at(r, 0);
}

asio::awaitable<bool> WebhooksStore::delete_endpoint(std::int64_t id) {
    auto r = co_await pools_().query(kDeleteEndpoint, id);
    co_return r.affected() > 0;
}

asio::awaitable<std::int64_t> WebhooksStore::insert_deliveries(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
    db::Transaction& tx,                                           // the relay's batch, awaited directly
    json::value events) {
    auto r = co_await tx.query(kInsertDeliveries, db::params(events));
    co_return r.affected();
}

asio::awaitable<std::vector<WebhookDelivery>> WebhooksStore::deliveries(std::int64_t endpoint_id,
                                                                        std::optional<std::string> status,
                                                                        std::int64_t before,
                                                                        std::int64_t limit) {
    auto r = co_await pools_().query(kDeliveries, db::params(endpoint_id, status, before, limit));
    std::vector<WebhookDelivery> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(delivery_at(r, i));
    co_return out;
}

asio::awaitable<std::optional<Outgoing>> WebhooksStore::outgoing(std::int64_t delivery_id) {
    auto r = co_await pools_().query(kOutgoing, delivery_id);
    if (r.empty()) co_return std::nullopt;
    Outgoing o;
    o.delivery = delivery_at(r, 0);
    o.event_seconds = r.get<std::int64_t>(0, "event_seconds");
    o.data = r.get<json::value>(0, "data");
    o.url = r.get<std::string>(0, "url");
    o.secret = r.get<std::string>(0, "secret");
    o.enabled = r.get<bool>(0, "enabled");
    co_return o;
}

asio::awaitable<std::vector<WebhookAttempt>> WebhooksStore::attempts(std::int64_t delivery_id) {
    auto r = co_await pools_().query(kAttempts, delivery_id);
    std::vector<WebhookAttempt> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        WebhookAttempt a;
        a.attempt = r.get<std::int32_t>(i, "attempt");
        a.started_at = r.get<db::Timestamp>(i, "started_at");
        a.duration_ms = r.get<std::int32_t>(i, "duration_ms");
        a.status_code = r.get_optional<std::int32_t>(i, "status_code");
        a.error = r.get_optional<std::string>(i, "error");
        a.response_excerpt = r.get<std::string>(i, "response_excerpt");
        out.push_back(std::move(a));
    }
    co_return out;
}

asio::awaitable<bool> WebhooksStore::record_attempt(std::int64_t delivery_id, std::int32_t replay, AttemptRecord record) {
    auto r = co_await pools_().query(kRecordAttempt,
                                     db::params(delivery_id, record.status, record.status_code, record.error,
                                                record.started_at, record.duration_ms, record.response_excerpt, replay));
    co_return !r.empty();
}

asio::awaitable<std::optional<WebhooksStore::Replay>> WebhooksStore::replay(std::int64_t delivery_id,
                                                                            std::chrono::milliseconds stuck_after) {
    auto tx = co_await pools_().begin();
    auto r = co_await tx.query(kReplay, db::params(delivery_id, static_cast<std::int64_t>(stuck_after.count())));
    if (r.empty()) {
        auto found = co_await tx.query(kDelivery, delivery_id);
        co_await tx.commit();
        if (found.empty()) co_return std::nullopt;
        co_return Replay{delivery_at(found, 0), false};
    }
    auto replayed = delivery_at(r, 0);
    co_await tx.query(kReplayEvent, db::params(delivery_id, replayed.replays));
    co_await tx.commit();
    co_return Replay{std::move(replayed), true};
}

}  // namespace emporium::webhooks
