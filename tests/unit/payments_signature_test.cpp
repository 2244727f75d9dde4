// Stripe-style webhook signatures: the header format, a known HMAC value, and every way a header
// is refused (tampered body, wrong secret, stale or future timestamp at the tolerance boundary,
// malformed headers), plus key rotation (several v1 values, one of them valid).
#include "payments/webhook_signature.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace emporium::payments {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kSecret = "whsec_test_secret";
constexpr std::string_view kBody = R"({"id":"evt_1","type":"payment_intent.succeeded"})";
constexpr std::int64_t kTimestamp = 1'700'000'000;
// `printf '%s' '1700000000.<kBody>' | openssl dgst -sha256 -hmac whsec_test_secret`, run once.
constexpr std::string_view kKnownDigest = "22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";
// Another 64-hex-digit value that matches nothing.
constexpr std::string_view kOtherDigest = "0000000000000000000000000000000000000000000000000000000000000000";

core::Result<std::int64_t> verify(std::string_view header,
                                  std::int64_t now = kTimestamp,
                                  std::string_view body = kBody,
                                  std::string_view secret = kSecret) {
    return verify_webhook(header, body, secret, 300s, now);
}

// The message of a kUnauthorized failure ("" if it did not fail that way).
std::string refusal(const core::Result<std::int64_t>& result) {
    if (result.has_value() || result.error().code != core::Errc::kUnauthorized) return {};
    return result.error().message;
}

TEST(WebhookSignatureTest, SignsWithTheKnownHmacValue) {
    EXPECT_EQ(sign_webhook(kSecret, kTimestamp, kBody), "t=1700000000,v1=" + std::string(kKnownDigest));
}

TEST(WebhookSignatureTest, RoundTripReturnsTheTimestamp) {
    const std::string header = sign_webhook(kSecret, kTimestamp, kBody);
    const auto result = verify(header);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(*result, kTimestamp);
}

TEST(WebhookSignatureTest, AcceptsAnIndependentlyComputedHeaderInEitherCase) {
    std::string upper(kKnownDigest);
    for (char& c : upper) {
        if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    }
    EXPECT_TRUE(verify("t=1700000000,v1=" + std::string(kKnownDigest)).has_value());
    EXPECT_TRUE(verify("t=1700000000,v1=" + upper).has_value());
}

TEST(WebhookSignatureTest, EmptyBodyRoundTrips) {
    const std::string header = sign_webhook(kSecret, kTimestamp, "");
    EXPECT_TRUE(verify(header, kTimestamp, "").has_value());
    EXPECT_NE(refusal(verify(header, kTimestamp, " ")), "");
}

TEST(WebhookSignatureTest, RefusesATamperedBody) {
    const std::string header = sign_webhook(kSecret, kTimestamp, kBody);
    std::string tampered(kBody);
    tampered[tampered.size() - 3] = 'X';
    EXPECT_EQ(refusal(verify(header, kTimestamp, tampered)), "webhook: signature mismatch");
}

TEST(WebhookSignatureTest, RefusesAWrongSecret) {
    const std::string header = sign_webhook("whsec_other", kTimestamp, kBody);
    EXPECT_EQ(refusal(verify(header)), "webhook: signature mismatch");
}

TEST(WebhookSignatureTest, RefusesATimestampChangedAfterSigning) {
    EXPECT_EQ(refusal(verify("t=1700000001,v1=" + std::string(kKnownDigest), kTimestamp + 1)),
              "webhook: signature mismatch");
}

TEST(WebhookSignatureTest, AcceptsTheToleranceBoundaryAndRefusesBeyondIt) {
    const std::string header = sign_webhook(kSecret, kTimestamp, kBody);
    EXPECT_TRUE(verify(header, kTimestamp + 300).has_value());
    EXPECT_TRUE(verify(header, kTimestamp - 300).has_value());
    EXPECT_EQ(refusal(verify(header, kTimestamp + 301)),
              "webhook: timestamp outside the tolerance: it is too old");
    EXPECT_EQ(refusal(verify(header, kTimestamp - 301)),
              "webhook: timestamp outside the tolerance: it is in the future");
}

TEST(WebhookSignatureTest, ZeroToleranceAcceptsOnlyTheSameSecond) {
    const std::string header = sign_webhook(kSecret, kTimestamp, kBody);
    EXPECT_TRUE(verify_webhook(header, kBody, kSecret, 0s, kTimestamp).has_value());
    EXPECT_FALSE(verify_webhook(header, kBody, kSecret, 0s, kTimestamp + 1).has_value());
    EXPECT_FALSE(verify_webhook(header, kBody, kSecret, 0s, kTimestamp - 1).has_value());
}

TEST(WebhookSignatureTest, ExtremeClocksDoNotOverflow) {
    const std::string header = sign_webhook(kSecret, kTimestamp, kBody);
    EXPECT_NE(refusal(verify(header, std::numeric_limits<std::int64_t>::min())), "");
    EXPECT_NE(refusal(verify(header, std::numeric_limits<std::int64_t>::max())), "");
}

TEST(WebhookSignatureTest, AcceptsAnyOfSeveralV1Signatures) {
    const std::string valid = sign_webhook(kSecret, kTimestamp, kBody);
    const std::string digest = valid.substr(valid.find("v1=") + 3);
    const std::string rotated =
        "t=1700000000,v1=" + std::string(kOtherDigest) + ",v1=" + digest + ",v0=" + std::string(kOtherDigest);
    const auto result = verify(rotated);
    ASSERT_TRUE(result.has_value()) << result.error().message;
    EXPECT_EQ(*result, kTimestamp);
    EXPECT_EQ(
        refusal(verify("t=1700000000,v1=" + std::string(kOtherDigest) + ",v1=" + std::string(kOtherDigest))),
        "webhook: signature mismatch");
}

TEST(WebhookSignatureTest, IgnoresUnknownSchemesAndOrder) {
    EXPECT_TRUE(verify("v0=abc,v1=" + std::string(kKnownDigest) + ",t=1700000000,v2=zz").has_value());
    EXPECT_TRUE(verify("t=1700000000, v1=" + std::string(kKnownDigest)).has_value());
}

TEST(WebhookSignatureTest, RefusesAHeaderWithoutV1) {
    EXPECT_EQ(refusal(verify("t=1700000000")), "webhook: no v1 signature in the signature header");
    EXPECT_EQ(refusal(verify("t=1700000000,v0=" + std::string(kKnownDigest))),
              "webhook: no v1 signature in the signature header");
}

TEST(WebhookSignatureTest, RefusesMissingAndMalformedHeaders) {
    const std::string v1 = "v1=" + std::string(kKnownDigest);
    EXPECT_EQ(refusal(verify("")), "webhook: missing signature header");
    EXPECT_EQ(refusal(verify("   ")), "webhook: missing signature header");

    const std::string malformed = "webhook: malformed signature header: ";
    EXPECT_EQ(refusal(verify(v1)), malformed + "no t");
    EXPECT_EQ(refusal(verify("t=abc," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=-1700000000," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=+1700000000," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=1700000000x," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=99999999999999999999," + v1)), malformed + "t is not a unix timestamp");
    EXPECT_EQ(refusal(verify("t=1700000000,t=1700000000," + v1)), malformed + "repeated t");
    EXPECT_EQ(refusal(verify("t=1700000000,," + v1)), malformed + "empty item");
    EXPECT_EQ(refusal(verify("t=1700000000," + v1 + ",")), malformed + "empty item");
    EXPECT_EQ(refusal(verify("t1700000000," + v1)), malformed + "an item without '='");

    const std::string odd_length = "t=1700000000,v1=" + std::string(kKnownDigest.substr(1));
    const std::string not_hex = "t=1700000000,v1=" + std::string(kKnownDigest.substr(1)) + "g";
    const std::string too_short = "t=1700000000,v1=" + std::string(kKnownDigest.substr(2));
    const std::string too_long = "t=1700000000,v1=" + std::string(kKnownDigest) + "00";
    for (const auto& header : {odd_length, not_hex, too_short, too_long, std::string("t=1700000000,v1=")}) {
        EXPECT_EQ(refusal(verify(header)), malformed + "a v1 signature is not 64 hex digits") << header;
    }
    // One malformed v1 spoils the header even when another one is valid.
    EXPECT_EQ(refusal(verify("t=1700000000," + v1 + ",v1=xyz")),
              malformed + "a v1 signature is not 64 hex digits");
}

TEST(WebhookSignatureTest, AnEmptySecretNeverVerifies) {
    const std::string header = sign_webhook("", kTimestamp, kBody);
    const auto result = verify_webhook(header, kBody, "", 300s, kTimestamp);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, core::Errc::kInternal);
}

TEST(WebhookSignatureTest, RefusesToSignANegativeTimestamp) {
    EXPECT_THROW(sign_webhook(kSecret, -1, kBody), std::invalid_argument);
}

}  // namespace
}  // namespace emporium::payments
