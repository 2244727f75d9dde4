#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::core {

// 128 random bits as 32 lowercase hex characters (request ids, tokens' jti).
std::string random_hex_id();
// 128 bits as 32 lowercase hex characters from a per-thread generator seeded by the CSPRNG: unique
// and unpredictable enough for request ids, without a system call per request. Not for secrets.
std::string request_id();
// `n` random bytes from the OS CSPRNG (libsodium).
std::string random_bytes(std::size_t n);
// A positive decimal id and nothing else (a keyset cursor, a path segment); nullopt otherwise.
std::optional<std::int64_t> parse_id(std::string_view text);

}  // namespace emporium::core
