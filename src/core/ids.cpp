#include "core/ids.hpp"

#include <sodium.h>

#include <array>

namespace emporium::core {

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    randombytes_buf(out.data(), n);
    return out;
}

std::string random_hex_id() {
    std::array<unsigned char, 16> raw{};
    randombytes_buf(raw.data(), raw.size());
    std::array<char, 33> hex{};
    sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
    return std::string(hex.data(), 32);
}

}  // namespace emporium::core
