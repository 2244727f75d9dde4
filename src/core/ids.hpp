#pragma once

#include <string>

namespace emporium::core {

// 128 random bits as 32 lowercase hex characters (request ids, tokens' jti).
std::string random_hex_id();
// `n` random bytes from the OS CSPRNG (libsodium).
std::string random_bytes(std::size_t n);

}  // namespace emporium::core
