#pragma once
// Webhooks out (issue 20, stage 6) as the admin API shows and takes them: endpoints subscribed to
// event patterns, one delivery per (endpoint, event) and its attempts (the delivery log).

#include "core/fields.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::core {
struct FieldError;
}

namespace emporium::webhooks {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;  // = db::Timestamp

// The events an endpoint can subscribe to, by group. A pattern is one of them, "<group>.*" or "*".
inline constexpr std::array<std::string_view, 21> kEventTypes = {
    "order.created",       "order.paid",           "order.payment_failed", "order.fulfilled",
    "order.cancelled",     "order.expired",        "order.return_requested", "order.returned",
    "order.refunded",      "payment.requested",    "payment.captured",     "payment.declined",
    "payment.failed",      "payment.flagged",      "refund.requested",     "refund.succeeded",
    "refund.failed",       "inventory.low_stock",  "product.created",      "product.updated",
    "product.deleted"};
inline constexpr std::array<std::string_view, 5> kEventGroups = {"order", "payment", "refund", "inventory", "product"};
inline constexpr std::size_t kMaxPatterns = 50;

// Whether `pattern` is "*", "<group>.*" or one of kEventTypes.
bool is_pattern(std::string_view pattern);
// Whether outbox events of this type go to subscribers (its group is one of kEventGroups).
bool is_subscribable(std::string_view event_type);
// The patterns that take `event_type`: "*", "<group>.*" and the type itself.
std::vector<std::string> patterns_for(std::string_view event_type);
// "http://" or "https://" (any case), then a host: no user info, no blanks; at most 2 048 chars.
bool is_endpoint_url(std::string_view url);

struct WebhookEndpoint {
    std::int64_t id = 0;
    std::string url;
    std::vector<std::string> events;
    std::string description;
    bool enabled = true;
    Timestamp created_at{};
    Timestamp updated_at{};
    static constexpr std::array kFields{
        core::field("events").describe("the patterns it subscribes to: an event type, \"<group>.*\" or \"*\"")};
};
BOOST_DESCRIBE_STRUCT(WebhookEndpoint, (), (id, url, events, description, enabled, created_at, updated_at))

// An endpoint as created or with a new secret: the only answers that show the secret.
struct WebhookEndpointWithSecret : WebhookEndpoint {
    std::string secret;
    static constexpr std::array kFields{
        core::field("events").describe("the patterns it subscribes to: an event type, \"<group>.*\" or \"*\""),
        core::field("secret").describe(
            "signs every delivery (Emporium-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">); "
            "shown only here")};
};
BOOST_DESCRIBE_STRUCT(WebhookEndpointWithSecret, (WebhookEndpoint), (secret))

// The body of POST /admin/webhook-endpoints.
struct NewWebhookEndpoint {
    std::string url;
    std::vector<std::string> events;
    std::string description;
    bool enabled = true;
    static constexpr std::array kFields{
        core::field("url").length(8, 2048).describe("http:// or https:// address the events are POSTed to"),
        core::field("events").length(1, kMaxPatterns).describe(
            "patterns: an event type (order.paid, inventory.low_stock, …), \"<group>.*\" (order, payment, refund, "
            "inventory, product) or \"*\""),
        core::field("description").length(0, 500).optional(),
        core::field("enabled").optional()};
};
BOOST_DESCRIBE_STRUCT(NewWebhookEndpoint, (), (url, events, description, enabled))
void check_decoded(NewWebhookEndpoint& body, std::vector<core::FieldError>& errors);

// The body of PATCH /admin/webhook-endpoints/{id}: the members given are changed.
struct WebhookEndpointPatch {
    std::optional<std::string> url;
    std::optional<std::vector<std::string>> events;
    std::optional<std::string> description;
    std::optional<bool> enabled;
    static constexpr std::array kFields{
        core::field("url").length(8, 2048).describe("http:// or https:// address"),
        core::field("events").length(1, kMaxPatterns).describe("replaces the patterns"),
        core::field("description").length(0, 500),
        core::field("enabled").describe("false: no deliveries are made for new events")};
};
BOOST_DESCRIBE_STRUCT(WebhookEndpointPatch, (), (url, events, description, enabled))
void check_decoded(WebhookEndpointPatch& body, std::vector<core::FieldError>& errors);

struct WebhookEndpointList {
    std::vector<WebhookEndpoint> items;
};
BOOST_DESCRIBE_STRUCT(WebhookEndpointList, (), (items))

struct WebhookDelivery {
    std::int64_t id = 0;
    std::int64_t endpoint_id = 0;
    std::string event_id;  // "evt_<n>": the same for every endpoint and replay
    std::string event_type;
    std::string status;
    std::int32_t attempts = 0;
    std::int32_t replays = 0;
    std::optional<std::int32_t> last_status_code;
    std::optional<std::string> last_error;
    Timestamp created_at{};
    Timestamp updated_at{};
    std::optional<Timestamp> delivered_at;
    static constexpr std::array kFields{
        core::field("status").values("pending|retrying|succeeded|dead").describe(
            "dead: the retries ran out, or the receiver answered 4xx (other than 408 and 429); replay to send again"),
        core::field("attempts").describe("POSTs made, replays included")};
};
BOOST_DESCRIBE_STRUCT(WebhookDelivery, (), (id, endpoint_id, event_id, event_type, status, attempts, replays,
                                            last_status_code, last_error, created_at, updated_at, delivered_at))

struct WebhookDeliveryList {
    std::vector<WebhookDelivery> items;  // newest first
    std::optional<std::string> next_cursor;
};
BOOST_DESCRIBE_STRUCT(WebhookDeliveryList, (), (items, next_cursor))

struct WebhookAttempt {
    std::int32_t attempt = 0;
    Timestamp started_at{};
    std::int32_t duration_ms = 0;
    std::optional<std::int32_t> status_code;
    std::optional<std::string> error;
    std::string response_excerpt;
    static constexpr std::array kFields{
        core::field("status_code").describe("null: no HTTP answer (timeout, refused connection)"),
        core::field("response_excerpt").describe("the first 512 bytes of the answer's body")};
};
BOOST_DESCRIBE_STRUCT(WebhookAttempt, (), (attempt, started_at, duration_ms, status_code, error, response_excerpt))

// One delivery with the event body it sends and its delivery log.
struct WebhookDeliveryDetail : WebhookDelivery {
    std::string body;
    std::vector<WebhookAttempt> log;
    static constexpr std::array kFields{
        core::field("status").values("pending|retrying|succeeded|dead"),
        core::field("body").describe("the JSON document POSTed (signed as it is)"),
        core::field("log").describe("every attempt, oldest first")};
};
BOOST_DESCRIBE_STRUCT(WebhookDeliveryDetail, (WebhookDelivery), (body, log))

}  // namespace emporium::webhooks
