#pragma once

#include <string>

namespace emporium::core {

// 128 random bits as 32 lowercase hex characters (request ids, tokens' jti).
std::string random_hex_id();
// 128 bits as 32 lowercase hex characters from a per-thread generator seeded by the CSPRNG: unique
// and unpredictable enough for request ids, without a system call per request. Not for secrets.
std::string request_id();
// `n` random bytes from the OS CSPRNG (libsodium).
std::string random_bytes(std::size_t n);

}  // namespace emporium::core
