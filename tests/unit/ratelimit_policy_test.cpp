// Rate-limit configuration: the policy syntax, defaults, and route grouping.
#include "core/config.hpp"
#include "ratelimit/rate_limit_middleware.hpp"

#include <gtest/gtest.h>

namespace emporium::ratelimit {
namespace {

using core::ConfigError;
using core::parse_rate_limit_policy;
using std::chrono::milliseconds;

TEST(RateLimitPolicy, ParsesTheDocumentedSyntax) {
    auto p = parse_rate_limit_policy("K", "5/60s burst 5", false);
    EXPECT_EQ(p.requests, 5);
    EXPECT_EQ(p.period, milliseconds(60'000));
    EXPECT_EQ(p.burst, 5);
    EXPECT_FALSE(p.fail_open);

    p = parse_rate_limit_policy("K", "100/s burst 200", true);
    EXPECT_EQ(p.requests, 100);
    EXPECT_EQ(p.period, milliseconds(1'000));
    EXPECT_EQ(p.burst, 200);
    EXPECT_TRUE(p.fail_open);

    p = parse_rate_limit_policy("K", "20/s", true);
    EXPECT_EQ(p.burst, 20) << "burst defaults to the rate";
    p = parse_rate_limit_policy("K", "10/500ms fail-closed", true);
    EXPECT_EQ(p.period, milliseconds(500));
    EXPECT_FALSE(p.fail_open);
    p = parse_rate_limit_policy("K", "  3/min   burst 9 fail-open ", false);
    EXPECT_EQ(p.period, milliseconds(60'000));
    EXPECT_EQ(p.burst, 9);
    EXPECT_TRUE(p.fail_open);
    EXPECT_EQ(parse_rate_limit_policy("K", "1/2h", true).period, milliseconds(7'200'000));
}

TEST(RateLimitPolicy, RejectsMalformedPolicies) {
    for (const char* bad : {"",
                            "5",
                            "0/s",
                            "-1/s",
                            "5/",
                            "5/60x",
                            "5/s burst",
                            "5/s burst 0",
                            "5/s burst x",
                            "5/s blah",
                            "five/s",
                            "5/0s"}) {
        EXPECT_THROW(parse_rate_limit_policy("RATE_LIMIT_AUTH", bad, true), ConfigError) << bad;
    }
    try {
        parse_rate_limit_policy("RATE_LIMIT_READ", "oops", true);
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("RATE_LIMIT_READ"), std::string::npos);
    }
}

TEST(RateLimitConfig, DefaultsMatchTheIssue) {
    auto c = core::Config::load(core::ConfigSource::from_map({}));
    EXPECT_TRUE(c.rate_limit.enabled);
    EXPECT_EQ(c.rate_limit.auth.requests, 5);
    EXPECT_EQ(c.rate_limit.auth.period, milliseconds(60'000));
    EXPECT_EQ(c.rate_limit.auth.burst, 5);
    EXPECT_FALSE(c.rate_limit.auth.fail_open);
    EXPECT_EQ(c.rate_limit.read.requests, 100);
    EXPECT_EQ(c.rate_limit.read.burst, 200);
    EXPECT_TRUE(c.rate_limit.read.fail_open);
    EXPECT_EQ(c.rate_limit.write.requests, 20);
    EXPECT_EQ(c.rate_limit.write.period, milliseconds(1'000));
}

TEST(RateLimitConfig, ReadsVariables) {
    auto c = core::Config::load(core::ConfigSource::from_map({{"RATE_LIMIT_ENABLED", "false"},
                                                              {"RATE_LIMIT_AUTH", "3/10s burst 2"},
                                                              {"RATE_LIMIT_KEY_PREFIX", "t:"}}));
    EXPECT_FALSE(c.rate_limit.enabled);
    EXPECT_EQ(c.rate_limit.auth.requests, 3);
    EXPECT_EQ(c.rate_limit.auth.burst, 2);
    EXPECT_FALSE(c.rate_limit.auth.fail_open) << "auth keeps failing closed";
    EXPECT_EQ(c.rate_limit.key_prefix, "t:");
    EXPECT_THROW(core::Config::load(core::ConfigSource::from_map({{"RATE_LIMIT_WRITE", "lots"}})),
                 ConfigError);
}

TEST(AuthConfig, DefaultsAndValidation) {
    auto c = core::Config::load(core::ConfigSource::from_map({}));
    EXPECT_TRUE(c.auth.jwt_secret.empty());
    EXPECT_EQ(c.auth.jwt_issuer, "emporium");
    EXPECT_EQ(c.auth.jwt_audience, "emporium-api");
    EXPECT_EQ(c.auth.access_token_ttl, std::chrono::seconds(900));
    EXPECT_EQ(c.auth.refresh_token_ttl, std::chrono::seconds(2'592'000));
    EXPECT_EQ(c.auth.argon2_memlimit_bytes, 19U * 1024U * 1024U);
    EXPECT_EQ(c.auth.argon2_opslimit, 2U);
    EXPECT_THROW(core::Config::load(core::ConfigSource::from_map({{"JWT_SECRET", "short"}})), ConfigError);
    EXPECT_THROW(core::Config::load(core::ConfigSource::from_map({{"ARGON2_MEMLIMIT_BYTES", "100"}})),
                 ConfigError);
    auto ok = core::Config::load(core::ConfigSource::from_map(
        {{"JWT_SECRET", std::string(32, 'k')}, {"REFRESH_REUSE_GRACE_MS", "0"}, {"ARGON2_OPSLIMIT", "1"}}));
    EXPECT_EQ(ok.auth.jwt_secret, std::string(32, 'k'));
    EXPECT_EQ(ok.auth.refresh_reuse_grace, milliseconds(0));
    EXPECT_EQ(ok.auth.argon2_opslimit, 1U);
}

TEST(RouteGroup, ExplicitGroupOrMethodDefault) {
    auto op = std::make_shared<http::Operation>(http::Operation{.path = "/api/v1/x"});
    const http::Route r{{}, {}, op};
    EXPECT_EQ(route_group(r), "read");
    op->method = http::Verb::head;
    EXPECT_EQ(route_group(r), "read");
    op->method = http::Verb::post;
    EXPECT_EQ(route_group(r), "write");
    op->rate_group = "auth";
    EXPECT_EQ(route_group(r), "auth");
    op->rate_group = "unknown-group";
    EXPECT_EQ(route_group(r), "write");
}

}  // namespace
}  // namespace emporium::ratelimit
