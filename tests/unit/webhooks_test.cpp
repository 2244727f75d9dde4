// Webhooks out, pure parts: event patterns, the endpoint URL rule, the patterns an event matches,
// the signing secret's shape and the body a delivery POSTs.
#include "webhooks/sender.hpp"
#include "webhooks/webhooks_service.hpp"
#include "webhooks/webhooks_types.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace emporium::webhooks {
namespace {

TEST(WebhookPatterns, EventTypesGroupsAndStar) {
    EXPECT_TRUE(is_pattern("*"));
    EXPECT_TRUE(is_pattern("order.*"));
    EXPECT_TRUE(is_pattern("inventory.low_stock"));
    EXPECT_TRUE(is_pattern("product.deleted"));
    EXPECT_FALSE(is_pattern("order.shipped"));
    EXPECT_FALSE(is_pattern("orders.*"));
    EXPECT_FALSE(is_pattern("webhook.replay"));
    EXPECT_FALSE(is_pattern("webhook.*"));
    EXPECT_FALSE(is_pattern(""));
    EXPECT_FALSE(is_pattern("order.*.*"));
    EXPECT_FALSE(is_pattern("ORDER.PAID"));
    for (const auto type : kEventTypes) EXPECT_TRUE(is_subscribable(type)) << type;
    EXPECT_FALSE(is_subscribable("webhook.replay"));
    EXPECT_FALSE(is_subscribable("bench.noop"));
    EXPECT_FALSE(is_subscribable("order"));
    EXPECT_EQ(patterns_for("refund.succeeded"), (std::vector<std::string>{"*", "refund.*", "refund.succeeded"}));
}

TEST(WebhookUrls, HttpOrHttpsWithAHostAndNoCredentials) {
    EXPECT_TRUE(is_endpoint_url("https://hooks.example.com/in"));
    EXPECT_TRUE(is_endpoint_url("HTTP://127.0.0.1:8080/hook?x=1"));
    EXPECT_TRUE(is_endpoint_url("http://[::1]:9000/"));
    EXPECT_TRUE(is_endpoint_url("https://example.com"));
    EXPECT_FALSE(is_endpoint_url("ftp://example.com/"));
    EXPECT_FALSE(is_endpoint_url("javascript:alert(1)"));
    EXPECT_FALSE(is_endpoint_url("http://"));
    EXPECT_FALSE(is_endpoint_url("http:///path"));
    EXPECT_FALSE(is_endpoint_url("http://:80/"));
    EXPECT_FALSE(is_endpoint_url("http://user:pw@example.com/"));
    EXPECT_FALSE(is_endpoint_url("http://exa mple.com/"));
    EXPECT_FALSE(is_endpoint_url("http://example.com/\r\nX-Injected: 1"));
    EXPECT_FALSE(is_endpoint_url("https://example.com/" + std::string(2048, 'a')));
}

TEST(WebhookSecrets, PrefixedRandomHex) {
    const auto a = new_secret();
    const auto b = new_secret();
    EXPECT_NE(a, b);
    ASSERT_EQ(a.size(), 54U);
    EXPECT_EQ(a.rfind("whsec_", 0), 0U);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 6), std::string::npos);
}

TEST(WebhookBody, IdTypeCreatedAndData) {
    Outgoing o;
    o.delivery.event_id = "evt_42";
    o.delivery.event_type = "order.paid";
    o.event_seconds = 1'700'000'000;
    o.data = boost::json::parse(R"({"order_id":7})");
    const auto body = boost::json::parse(WebhooksService::body_of(o)).as_object();
    EXPECT_EQ(body.at("id"), "evt_42");
    EXPECT_EQ(body.at("type"), "order.paid");
    EXPECT_EQ(body.at("created"), 1'700'000'000);
    EXPECT_EQ(body.at("data").at("order_id"), 7);
}

TEST(WebhookExcerpt, OnlyValidUtf8WithoutNulsAndNoHalfCharacterAtTheEnd) {
    EXPECT_EQ(text_excerpt("plain {\"ok\":true}\n"), "plain {\"ok\":true}\n");
    EXPECT_EQ(text_excerpt("bl\xC3\xA5" "b\xC3\xA6r \xE2\x82\xAC \xF0\x9F\x98\x80"), "bl\xC3\xA5" "b\xC3\xA6r \xE2\x82\xAC \xF0\x9F\x98\x80");
    EXPECT_EQ(text_excerpt(std::string("a\0b", 3)), "ab");
    EXPECT_EQ(text_excerpt("x\xFFy"), "x\xEF\xBF\xBDy");
    EXPECT_EQ(text_excerpt("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD") << "an overlong encoding";
    EXPECT_EQ(text_excerpt("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD") << "a surrogate";
    EXPECT_EQ(text_excerpt("caf\xC3"), "caf") << "a character cut by the excerpt's end";
    EXPECT_EQ(text_excerpt("\xE2\x82"), "");
    EXPECT_EQ(text_excerpt("\xE2\x28\xA1"), "\xEF\xBF\xBD(\xEF\xBF\xBD") << "a broken sequence in the middle";
}

}  // namespace
}  // namespace emporium::webhooks
