#pragma once
// A leaky-bucket rate limiter in Redis: one Lua script per check, atomic, timed by the Redis
// server's clock (TIME), so every process of a deployment shares the same buckets. Pure of HTTP.
//
// The bucket of a key holds at most `burst` requests and drains `requests` per `period`. The script
// stores one number per key: the moment (µs, Redis time) at which the bucket will be empty. A
// request adds one drain interval (period / requests); it is admitted when the content then fits
// the capacity (burst intervals). The key expires when the bucket has drained.

#include "core/config.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace emporium::ratelimit {

using Policy = core::RateLimitPolicy;

struct Decision {
    bool allowed = false;
    std::int64_t limit = 0;                    // the bucket capacity (burst)
    std::int64_t remaining = 0;                // requests that would still be admitted right now
    std::chrono::milliseconds retry_after{0};  // denied: when one more request will fit
    std::chrono::milliseconds reset{0};        // when the bucket will be empty again
};

// The Lua source (KEYS[1] = bucket; ARGV = drain interval in µs, burst). Returns
// {allowed 0|1, remaining, retry_after_us, reset_us}.
extern const char* const kLeakyBucketLua;

class RateLimiter {
public:
    using ClientProvider = std::function<redis::Client&()>;

    // `clients()` returns the Redis client of the calling thread; keys are "<prefix>rl:<group>:<id>".
    RateLimiter(ClientProvider clients, redis::Keys keys);

    // Admits or denies one request of `identity` (any text; hashed into the key, so e-mail
    // addresses are not stored in Redis) under `policy`. Throws redis::RedisError /
    // RedisTimeoutError when Redis cannot answer, core::InfraError for an unexpected reply.
    boost::asio::awaitable<Decision> check(Policy policy, std::string group, std::string identity);

    // The Redis key of a bucket.
    std::string key(std::string_view group, std::string_view identity) const;

private:
    ClientProvider clients_;
    redis::Keys keys_;
    redis::Script script_;
};

}  // namespace emporium::ratelimit
