#include "ratelimit/rate_limiter.hpp"

#include <sodium.h>

#include <array>

namespace emporium::ratelimit {

namespace asio = boost::asio;

const char* const kLeakyBucketLua = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local capacity = interval * tonumber(ARGV[2])
local empty_at = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if empty_at < now then empty_at = now end
local level = empty_at - now + interval
if level > capacity then
    return {0, 0, math.ceil(level - capacity), math.ceil(empty_at - now)}
end
redis.call('SET', KEYS[1], string.format('%.0f', now + level), 'PX', math.ceil(level / 1000) + 1)
return {1, math.floor((capacity - level) / interval + 1e-9), 0, math.ceil(level)}
)lua";

RateLimiter::RateLimiter(ClientProvider clients, redis::Keys keys)
    : clients_(std::move(clients)), keys_(std::move(keys)), script_(kLeakyBucketLua) {}

std::string RateLimiter::key(std::string_view group, std::string_view identity) const {
    std::array<unsigned char, 16> digest{};
    crypto_generichash(digest.data(),
                       digest.size(),
                       reinterpret_cast<const unsigned char*>(
                           identity.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
                       identity.size(),
                       nullptr,
                       0);
    std::array<char, 33> hex{};
    sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
    return keys_.make("rl", std::string(group), std::string(hex.data(), 32));
}

asio::awaitable<Decision> RateLimiter::check(Policy policy, std::string group, std::string identity) {
    const auto period_us = std::chrono::duration_cast<std::chrono::microseconds>(policy.period).count();
    const double interval_us = static_cast<double>(period_us) / static_cast<double>(policy.requests);
    std::vector<std::string> keys{key(group, identity)};
    std::vector<std::string> args{std::to_string(interval_us), std::to_string(policy.burst)};
    auto reply = co_await clients_().eval(script_, std::move(keys), std::move(args));
    if (reply.type != redis::Reply::Type::kArray || reply.elements.size() != 4) {
        throw core::InfraError("rate limiter: unexpected reply from Redis" +
                               (reply.is_error() ? ": " + reply.str : std::string()));
    }
    auto us_to_ms = [](std::int64_t us) { return std::chrono::milliseconds((us + 999) / 1000); };
    Decision d;
    d.allowed = reply.elements[0].as_int() == 1;
    d.limit = policy.burst;
    d.remaining = reply.elements[1].as_int();
    d.retry_after = us_to_ms(reply.elements[2].as_int());
    d.reset = us_to_ms(reply.elements[3].as_int());
    co_return d;
}

}  // namespace emporium::ratelimit
