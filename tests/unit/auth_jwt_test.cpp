// JwtCodec: issuing and verifying HS256 access tokens, and every way a forged token is rejected.
#include "auth/jwt.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>
#include <sodium.h>

#include <array>

namespace emporium::auth {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = JwtCodec::Clock;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

JwtSettings settings() {
    return JwtSettings{kSecret, "emporium", "emporium-api", 900s, 30s};
}

std::string bytes_of(const unsigned char* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

std::string hs256(std::string_view key, std::string_view msg) {
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> tag{};
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    crypto_auth_hmacsha256_final(&st, tag.data());
    return bytes_of(tag.data(), tag.size());
}

std::string hs512(std::string_view key, std::string_view msg) {
    std::array<unsigned char, crypto_auth_hmacsha512_BYTES> tag{};
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha512_update(&st, reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    crypto_auth_hmacsha512_final(&st, tag.data());
    return bytes_of(tag.data(), tag.size());
}

std::int64_t secs(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json::object claims_at(Clock::time_point now) {
    return json::object{{"sub", "42"},
                        {"role", "customer"},
                        {"jti", "abc"},
                        {"iss", "emporium"},
                        {"aud", "emporium-api"},
                        {"iat", secs(now)},
                        {"exp", secs(now) + 900}};
}

// A token with any header and claims, signed HS256 with `key` (or unsigned when key is empty).
std::string forge(const json::object& header, const json::object& claims, std::string_view key) {
    auto signing_input =
        base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
    return signing_input + "." + (key.empty() ? std::string() : base64url_encode(hs256(key, signing_input)));
}

json::object hs256_header() {
    return json::object{{"alg", "HS256"}, {"typ", "JWT"}};
}

class JwtTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_GE(sodium_init(), 0); }
    JwtCodec codec_{settings()};
    Clock::time_point now_ = Clock::now();
};

TEST_F(JwtTest, IssuedTokenVerifiesWithItsClaims) {
    auto token = codec_.issue(42, Role::kAdmin, now_);
    auto claims = codec_.verify(token, now_);
    ASSERT_TRUE(claims) << claims.error().message;
    EXPECT_EQ(claims->user_id, 42);
    EXPECT_EQ(claims->role, Role::kAdmin);
    EXPECT_EQ(claims->expires_at - claims->issued_at, 900);
    EXPECT_EQ(claims->jti.size(), 32U);
    EXPECT_NE(codec_.issue(42, Role::kAdmin, now_), token) << "jti makes every token unique";
}

TEST_F(JwtTest, SessionIdRoundTripsAndIsOptional) {
    auto with = codec_.verify(codec_.issue(42, Role::kCustomer, now_, "8a249d5a-e226-4124-97ba-c31de1fd7fd5"), now_);
    ASSERT_TRUE(with) << with.error().message;
    EXPECT_EQ(with->session_id, "8a249d5a-e226-4124-97ba-c31de1fd7fd5");
    auto without = codec_.verify(codec_.issue(42, Role::kCustomer, now_), now_);
    ASSERT_TRUE(without) << without.error().message;
    EXPECT_TRUE(without->session_id.empty());
    // A signed token whose sid is not a non-empty string is malformed, not "no session".
    for (const json::value& bad : {json::value(17), json::value(""), json::value(nullptr)}) {
        auto claims = claims_at(now_);
        claims["sid"] = bad;
        EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_)) << json::serialize(bad);
    }
}

TEST_F(JwtTest, HandForgedTokenWithTheRightKeyVerifies) {
    // Proves the forging helper is right, so the rejections below are about the one thing changed.
    EXPECT_TRUE(codec_.verify(forge(hs256_header(), claims_at(now_), kSecret), now_));
}

TEST_F(JwtTest, RejectsAlgNone) {
    auto header = json::object{{"alg", "none"}, {"typ", "JWT"}};
    EXPECT_FALSE(codec_.verify(forge(header, claims_at(now_), ""), now_));
    EXPECT_FALSE(codec_.verify(forge(header, claims_at(now_), kSecret), now_));
    auto upper = json::object{{"alg", "NONE"}};
    EXPECT_FALSE(codec_.verify(forge(upper, claims_at(now_), ""), now_));
}

TEST_F(JwtTest, RejectsOtherAlgorithmsEvenWithAValidMac) {
    auto claims = claims_at(now_);
    auto header = json::object{{"alg", "HS512"}, {"typ", "JWT"}};
    auto input = base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
    EXPECT_FALSE(codec_.verify(input + "." + base64url_encode(hs512(kSecret, input)), now_));
    // An HS256 MAC under a header that claims another algorithm is rejected too.
    for (const char* alg : {"RS256", "ES256", "HS384", "hs256", ""}) {
        EXPECT_FALSE(codec_.verify(forge(json::object{{"alg", alg}}, claims, kSecret), now_)) << alg;
    }
    EXPECT_FALSE(codec_.verify(forge(json::object{{"typ", "JWT"}}, claims, kSecret), now_)) << "no alg";
}

TEST_F(JwtTest, RejectsAWrongKey) {
    auto err =
        codec_.verify(forge(hs256_header(), claims_at(now_), "another-secret-of-at-least-32-bytes!!"), now_);
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().code, core::Errc::kUnauthorized);
    JwtCodec other({"x-different-secret-x-different-secret", "emporium", "emporium-api", 900s, 30s});
    EXPECT_FALSE(codec_.verify(other.issue(42, Role::kCustomer, now_), now_));
}

TEST_F(JwtTest, RejectsATamperedPayload) {
    auto token = codec_.issue(42, Role::kCustomer, now_);
    auto dot1 = token.find('.');
    auto dot2 = token.find('.', dot1 + 1);
    auto claims = claims_at(now_);
    claims["role"] = "admin";
    auto tampered =
        token.substr(0, dot1 + 1) + base64url_encode(json::serialize(claims)) + token.substr(dot2);
    EXPECT_FALSE(codec_.verify(tampered, now_));
    auto flipped = token;
    flipped[dot1 + 5] = flipped[dot1 + 5] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec_.verify(flipped, now_));
    EXPECT_FALSE(codec_.verify(token.substr(0, dot2 + 1), now_)) << "signature stripped";
}

TEST_F(JwtTest, ExpiryHonoursTheLeeway) {
    auto token = codec_.issue(42, Role::kCustomer, now_);
    EXPECT_TRUE(codec_.verify(token, now_ + 900s + 29s));
    auto expired = codec_.verify(token, now_ + 900s + 31s);
    ASSERT_FALSE(expired);
    EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
}

TEST_F(JwtTest, RejectsIatInTheFutureBeyondSkew) {
    auto claims = claims_at(now_ + 60s);
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_));
    EXPECT_TRUE(codec_.verify(forge(hs256_header(), claims_at(now_ + 20s), kSecret), now_));
}

TEST_F(JwtTest, RejectsWrongIssuerOrAudience) {
    auto claims = claims_at(now_);
    claims["iss"] = "someone-else";
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_));
    claims = claims_at(now_);
    claims["aud"] = "other-api";
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_));
    claims["aud"] = json::array{"other-api", "emporium-api"};
    EXPECT_TRUE(codec_.verify(forge(hs256_header(), claims, kSecret), now_)) << "aud may be an array";
}

TEST_F(JwtTest, RejectsMissingOrMistypedClaims) {
    for (const char* claim : {"sub", "role", "jti", "iss", "aud", "iat", "exp"}) {
        auto claims = claims_at(now_);
        claims.erase(claim);
        EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_)) << "without " << claim;
    }
    auto claims = claims_at(now_);
    claims["exp"] = std::to_string(secs(now_) + 900);
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_)) << "exp as a string";
    claims = claims_at(now_);
    claims["sub"] = "42x";
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_));
    claims = claims_at(now_);
    claims["role"] = "superuser";
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_));
}

TEST_F(JwtTest, RejectsGarbageAndOversizedTokens) {
    for (const char* bad : {"", "abc", "a.b", "a.b.c.d", "..", "!!.??.##", "eyJ.eyJ.sig"}) {
        EXPECT_FALSE(codec_.verify(bad, now_)) << bad;
    }
    auto claims = claims_at(now_);
    claims["pad"] = std::string(kMaxTokenLength, 'x');
    EXPECT_FALSE(codec_.verify(forge(hs256_header(), claims, kSecret), now_)) << "longer than 4 KiB";
}

TEST(Base64Url, RoundTripsWithoutPadding) {
    const std::string raw("\x00\xff\xfe hello?", 10);
    auto enc = base64url_encode(raw);
    EXPECT_EQ(enc.find('='), std::string::npos);
    EXPECT_EQ(enc.find('+'), std::string::npos);
    std::string out;
    ASSERT_TRUE(base64url_decode(enc, out));
    EXPECT_EQ(out, raw);
    EXPECT_FALSE(base64url_decode("a+b/", out));
}

// Found by the jwt fuzz target: libsodium 1.0.18 took bytes >= 0x80 for base64 digits.
TEST(Base64Url, RejectsBytesOutsideTheAlphabet) {
    std::string out;
    ASSERT_TRUE(base64url_decode("aGVsbG8td29ybGQ_", out));
    EXPECT_FALSE(base64url_decode("aGVsbG8td29\xff\xff\xff\xffybGQ_", out));
    EXPECT_FALSE(base64url_decode(std::string("aGVs\x80") + "bG8", out));
    EXPECT_FALSE(base64url_decode(std::string("aGVs\0bG8", 8), out));
}

}  // namespace
}  // namespace emporium::auth
