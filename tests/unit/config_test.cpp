#include "core/config.hpp"

#include <gtest/gtest.h>

namespace emporium::core {
namespace {

TEST(Dotenv, ParsesKeysCommentsQuotesAndExport) {
    auto v = parse_dotenv(
        "# comment\n"
        "HTTP_PORT=9000\n"
        "export LOG_LEVEL=debug\n"
        "SHOP_NAME=\"My # Shop\"\n"
        "QUOTED='single'\n"
        "TRAILING=value # note\n"
        "\n"
        "EMPTY=\n");
    EXPECT_EQ(v.at("HTTP_PORT"), "9000");
    EXPECT_EQ(v.at("LOG_LEVEL"), "debug");
    EXPECT_EQ(v.at("SHOP_NAME"), "My # Shop");
    EXPECT_EQ(v.at("QUOTED"), "single");
    EXPECT_EQ(v.at("TRAILING"), "value");
    EXPECT_EQ(v.at("EMPTY"), "");
}

TEST(Dotenv, RejectsMalformedLinesWithLineNumber) {
    try {
        parse_dotenv("A=1\nnot a pair\n");
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
    }
    EXPECT_THROW(parse_dotenv("1ABC=x"), ConfigError);
    EXPECT_THROW(parse_dotenv("A=\"open"), ConfigError);
}

TEST(Config, DefaultsWhenNothingIsSet) {
    auto c = Config::load(ConfigSource::from_map({}));
    EXPECT_EQ(c.http.port, 8080);
    EXPECT_EQ(c.http.host, "127.0.0.1");
    EXPECT_GE(c.http.threads, 1U);
    EXPECT_EQ(c.http.body_limit, 1024U * 1024U);
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.db.pool_size, 16U);
}

TEST(Config, ReadsOverrides) {
    auto c = Config::load(ConfigSource::from_map({{"HTTP_PORT", "0"},
                                                  {"HTTP_THREADS", "3"},
                                                  {"HTTP_BODY_LIMIT", "2048"},
                                                  {"HTTP_IDLE_TIMEOUT_MS", "1500"},
                                                  {"TRUSTED_PROXIES", "127.0.0.1, 10.0.0.1"},
                                                  {"DATABASE_URL", "postgresql://u@h:1/d"},
                                                  {"REDIS_URL", "redis://h:2/1"}}));
    EXPECT_EQ(c.http.port, 0);
    EXPECT_EQ(c.http.threads, 3U);
    EXPECT_EQ(c.http.body_limit, 2048U);
    EXPECT_EQ(c.http.idle_timeout, std::chrono::milliseconds(1500));
    ASSERT_EQ(c.http.trusted_proxies.size(), 2U);
    EXPECT_EQ(c.http.trusted_proxies[1], "10.0.0.1");
    EXPECT_EQ(c.db.url, "postgresql://u@h:1/d");
}

TEST(Config, ReadReplicas) {
    auto none = Config::load(ConfigSource::from_map({}));
    EXPECT_TRUE(none.db.replica_urls.empty());
    EXPECT_EQ(none.db.replica_pool_size, 2U);
    EXPECT_EQ(none.db.replica_max_lag, std::chrono::milliseconds(1'000));
    EXPECT_EQ(none.db.replica_retry, std::chrono::milliseconds(5'000));
    EXPECT_EQ(none.db.replica_sample, std::chrono::milliseconds(500));
    auto c = Config::load(
        ConfigSource::from_map({{"DATABASE_REPLICA_URLS", "postgresql://u@h:2/d, postgres://u@h:3/d"},
                                {"DB_REPLICA_POOL_SIZE", "3"},
                                {"REPLICA_MAX_LAG_MS", "250"},
                                {"REPLICA_RETRY_MS", "2000"},
                                {"REPLICA_SAMPLE_MS", "100"}}));
    ASSERT_EQ(c.db.replica_urls.size(), 2U);
    EXPECT_EQ(c.db.replica_urls[0], "postgresql://u@h:2/d");
    EXPECT_EQ(c.db.replica_urls[1], "postgres://u@h:3/d");
    EXPECT_EQ(c.db.replica_pool_size, 3U);
    EXPECT_EQ(c.db.replica_max_lag, std::chrono::milliseconds(250));
    EXPECT_EQ(c.db.replica_retry, std::chrono::milliseconds(2'000));
    EXPECT_EQ(c.db.replica_sample, std::chrono::milliseconds(100));
}

TEST(Config, RedisUrlMayNameACluster) {
    auto c = Config::load(ConfigSource::from_map({{"REDIS_URL", "redis+cluster://h:7000,h:7001"},
                                                  {"JOBS_ENQUEUE_REPLICA_ACKS", "1"},
                                                  {"JOBS_ENQUEUE_ACK_TIMEOUT_MS", "250"}}));
    EXPECT_EQ(c.redis.url, "redis+cluster://h:7000,h:7001");
    EXPECT_EQ(c.jobs.enqueue_replica_acks, 1);
    EXPECT_EQ(c.jobs.enqueue_ack_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(Config::load(ConfigSource::from_map({})).jobs.enqueue_replica_acks, 0);
    EXPECT_THROW(Config::load(ConfigSource::from_map({{"JOBS_ENQUEUE_REPLICA_ACKS", "-1"}})), ConfigError);
}

TEST(Config, RejectsInvalidValuesNamingTheVariable) {
    auto expect_error = [](std::map<std::string, std::string> m, const std::string& key) {
        try {
            Config::load(ConfigSource::from_map(std::move(m)));
            ADD_FAILURE() << "expected ConfigError for " << key;
        } catch (const ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
        }
    };
    expect_error({{"HTTP_PORT", "80x"}}, "HTTP_PORT");
    expect_error({{"HTTP_PORT", "70000"}}, "HTTP_PORT");
    expect_error({{"HTTP_PORT", "-1"}}, "HTTP_PORT");
    expect_error({{"LOG_LEVEL", "loud"}}, "LOG_LEVEL");
    expect_error({{"DB_POOL_SIZE", "0"}}, "DB_POOL_SIZE");
    expect_error({{"REDIS_URL", "http://x"}}, "REDIS_URL");
    expect_error({{"DATABASE_URL", "mysql://x"}}, "DATABASE_URL");
    expect_error({{"HTTP_IDLE_TIMEOUT_MS", "0"}}, "HTTP_IDLE_TIMEOUT_MS");
    expect_error({{"RECOMMEND_READ_STREAMS", "0"}}, "RECOMMEND_READ_STREAMS");
    expect_error({{"DATABASE_REPLICA_URLS", "postgresql://u@h:2/d,mysql://x"}}, "DATABASE_REPLICA_URLS");
    expect_error({{"DB_REPLICA_POOL_SIZE", "0"}}, "DB_REPLICA_POOL_SIZE");
    expect_error({{"REPLICA_MAX_LAG_MS", "0"}}, "REPLICA_MAX_LAG_MS");
    expect_error({{"REPLICA_RETRY_MS", "x"}}, "REPLICA_RETRY_MS");
    expect_error({{"REPLICA_SAMPLE_MS", "5"}}, "REPLICA_SAMPLE_MS");
}

// CART_HOLD_TTL (a duration) is the name for CART_HOLD_TTL_S; setting it used to do nothing.
TEST(Config, CartHoldTtlTakesADurationUnderEitherName) {
    const auto ttl = [](std::map<std::string, std::string> m) {
        return Config::load(ConfigSource::from_map(std::move(m))).inventory.cart_hold_ttl.count();
    };
    EXPECT_EQ(ttl({}), 900);
    EXPECT_EQ(ttl({{"CART_HOLD_TTL_S", "60"}}), 60);
    EXPECT_EQ(ttl({{"CART_HOLD_TTL", "10m"}}), 600);
    EXPECT_EQ(ttl({{"CART_HOLD_TTL", "45s"}}), 45);
    EXPECT_EQ(ttl({{"CART_HOLD_TTL", "2h"}}), 7'200);
    EXPECT_EQ(ttl({{"CART_HOLD_TTL", "120"}}), 120);
    for (const auto* bad : {"m", "10x", "-5m", "0", "25h", "1.5m"}) {
        EXPECT_THROW(ttl({{"CART_HOLD_TTL", bad}}), ConfigError) << bad;
    }
    EXPECT_THROW(ttl({{"CART_HOLD_TTL", "10m"}, {"CART_HOLD_TTL_S", "600"}}), ConfigError);
}

TEST(Config, RecommendReadStreamsLeaveAPooledConnectionFree) {
    const auto streams = [](std::map<std::string, std::string> m) {
        return Config::load(ConfigSource::from_map(std::move(m))).recommend.read_streams;
    };
    EXPECT_EQ(streams({}), 2);
    EXPECT_EQ(streams({{"RECOMMEND_READ_STREAMS", "4"}, {"DB_POOL_SIZE", "16"}}), 4);
    EXPECT_EQ(streams({{"RECOMMEND_READ_STREAMS", "4"}, {"DB_POOL_SIZE", "3"}}), 2);
    EXPECT_EQ(streams({{"DB_POOL_SIZE", "2"}}), 1);
    EXPECT_EQ(streams({{"DB_POOL_SIZE", "1"}}), 1);
}

TEST(Config, EnvironmentOverridesDotenvFile) {
    ConfigSource src([](const std::string& k) -> std::optional<std::string> {
        if (k == "HTTP_PORT") return "1234";
        return std::nullopt;
    });
    EXPECT_EQ(Config::load(src).http.port, 1234);
}

}  // namespace
}  // namespace emporium::core
