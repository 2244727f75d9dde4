#include "redis/position.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace emporium::redis {

namespace {

// KEYS: the position. ARGV: the new position (16 hex digits), the TTL in ms (0: none).
const Script& raise_script() {
    static const Script kScript(R"lua(
local cur = redis.call('GET', KEYS[1])
if not cur or cur < ARGV[1] then
  if ARGV[2] == '0' then
    redis.call('SET', KEYS[1], ARGV[1])
  else
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
  return 1
end
if ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua");
    return kScript;
}

}  // namespace

std::string position_text(std::uint64_t position) {
    std::array<char, 17> buf{};
    std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(position));
    return {buf.data(), 16};
}

std::optional<std::uint64_t> parse_position(std::string_view text) {
    if (text.empty() || text.size() > 16) return std::nullopt;
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return value;
}

boost::asio::awaitable<Reply> raise_position(Client* client,
                                             std::string key,
                                             std::uint64_t position,
                                             std::chrono::milliseconds ttl) {
    auto keys = cmd(std::move(key));
    auto args = cmd(position_text(position), std::max<std::int64_t>(0, ttl.count()));
    Script script = raise_script();
    co_return co_await client->eval(std::move(script), std::move(keys), std::move(args));
}

boost::asio::awaitable<std::optional<std::uint64_t>> read_position(Client* client, std::string key) {
    auto reply = co_await client->command(cmd("GET", std::move(key)));
    // An error reply (LOADING after a restart, CLUSTERDOWN, WRONGTYPE) is no answer: the caller
    // must not take it for "no position".
    if (reply.is_error()) throw RedisError("redis: GET of a position failed: " + reply.str);
    if (reply.type != Reply::Type::kString) co_return std::nullopt;
    co_return parse_position(reply.str);
}

}  // namespace emporium::redis
