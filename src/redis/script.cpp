#include "redis/redis.hpp"

#include <openssl/evp.h>

#include <array>

namespace emporium::redis {

namespace {

// Lower-case hex SHA1, the form Redis uses for script ids (EVALSHA, SCRIPT LOAD replies).
std::string sha1_hex(const std::string& data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) {
        throw RedisError("redis: SHA1 of a script failed (OpenSSL EVP_Digest)");
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(std::size_t{size} * 2);
    for (unsigned int i = 0; i < size; ++i) {
        out += kHex[digest[i] >> 4U];
        out += kHex[digest[i] & 0x0FU];
    }
    return out;
}

}  // namespace

Script::Script(std::string source) : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

}  // namespace emporium::redis
