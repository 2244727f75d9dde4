#include "core/ids.hpp"

#include <charconv>

#include <sodium.h>

#include <array>
#include <cstdint>
#include <string_view>

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
    return {hex.data(), 32};
}

std::string request_id() {
    // xoshiro256** per thread, seeded once from the CSPRNG.
    thread_local std::array<std::uint64_t, 4> state = [] {
        std::array<std::uint64_t, 4> seed{};
        randombytes_buf(seed.data(), sizeof(seed));
        return seed;
    }();
    auto next = [] {
        auto& s = state;
        const auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    };
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out(32, '0');
    for (std::size_t half = 0; half < 2; ++half) {
        auto v = next();
        for (std::size_t i = 0; i < 16; ++i) {
            out[half * 16 + i] = kHex[v & 0xFU];
            v >>= 4U;
        }
    }
    return out;
}

std::optional<std::int64_t> parse_id(std::string_view text) {
    std::int64_t id = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, id);
    if (text.empty() || ec != std::errc{} || ptr != end || id < 1) return std::nullopt;
    return id;
}

}  // namespace emporium::core
