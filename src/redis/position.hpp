#pragma once
// A position that only ever goes up, kept in one Redis key as 16 lower-case hex digits (equal
// widths compare as strings): a PostgreSQL WAL position for read-your-writes and for the catalog
// cache's fills. Raising it is one script, so that a slower process recording an older position
// never lowers a newer one.

#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::redis {

// `position` as the key holds it.
std::string position_text(std::uint64_t position);
// A key's text back as a position; nullopt when it is not 1 to 16 hex digits.
std::optional<std::uint64_t> parse_position(std::string_view text);

// Raises `key` to `position` unless it holds a larger one. With a `ttl` (> 0), the key expires
// `ttl` after the last raise or refresh. Script errors come back as kError replies; connection
// failures throw as Client::eval does. `client` must outlive the call.
boost::asio::awaitable<Reply> raise_position(Client* client,
                                             std::string key,
                                             std::uint64_t position,
                                             std::chrono::milliseconds ttl = std::chrono::milliseconds(0));
// The key's position: nullopt when it is absent or holds a string that is not one. Throws as
// Client::command, and RedisError on an error reply (the position is then unknown, not absent).
boost::asio::awaitable<std::optional<std::uint64_t>> read_position(Client* client, std::string key);

}  // namespace emporium::redis
