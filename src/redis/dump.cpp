#include "redis/dump.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <vector>

namespace emporium::redis {

namespace {

constexpr std::uint64_t kPolyReflected = 0x95ac9329ac4bc9b5ULL;  // 0xad93d23594c935a9 bit-reversed
constexpr unsigned char kTypeZsetListpack = 17;
constexpr std::uint16_t kRdbVersion = 10;  // the first with listpack-encoded sorted sets (7.0)

// Slicing by 8: table[k][b] is the CRC of byte b followed by k zero bytes.
struct Crc64Tables {
    std::array<std::array<std::uint64_t, 256>, 8> t{};
    Crc64Tables() {
        for (std::uint64_t b = 0; b < 256; ++b) {
            std::uint64_t c = b;
            for (int i = 0; i < 8; ++i) c = (c & 1) != 0 ? (c >> 1) ^ kPolyReflected : c >> 1;
            t[0][b] = c;
        }
        for (std::size_t k = 1; k < 8; ++k) {
            for (std::size_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
        }
    }
};

const Crc64Tables& tables() {
    static const Crc64Tables kTables;
    return kTables;
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A canonical decimal integer, as listpack's lpStringToInt64 accepts it: an optional '-', no
// leading zeros, no "-0", within 64 bits.
bool canonical_integer(std::string_view s, std::int64_t& value) {
    if (s.empty() || s.size() > 20) return false;
    if (s == "0") {
        value = 0;
        return true;
    }
    const std::size_t first = s[0] == '-' ? 1 : 0;
    if (first == s.size() || s[first] < '1' || s[first] > '9') return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() && end == s.data() + s.size();
}

// The length of an entry's encoding and data, stored after them (the "backlen", read backwards).
void put_backlen(std::string& lp, std::size_t l) {
    if (l <= 127) {
        lp.push_back(static_cast<char>(l));
    } else if (l < 16383) {
        lp.push_back(static_cast<char>(l >> 7));
        lp.push_back(static_cast<char>((l & 127) | 128));
    } else if (l < 2097151) {
        lp.push_back(static_cast<char>(l >> 14));
        lp.push_back(static_cast<char>(((l >> 7) & 127) | 128));
        lp.push_back(static_cast<char>((l & 127) | 128));
    } else if (l < 268435455) {
        lp.push_back(static_cast<char>(l >> 21));
        lp.push_back(static_cast<char>(((l >> 14) & 127) | 128));
        lp.push_back(static_cast<char>(((l >> 7) & 127) | 128));
        lp.push_back(static_cast<char>((l & 127) | 128));
    } else {
        lp.push_back(static_cast<char>(l >> 28));
        lp.push_back(static_cast<char>(((l >> 21) & 127) | 128));
        lp.push_back(static_cast<char>(((l >> 14) & 127) | 128));
        lp.push_back(static_cast<char>(((l >> 7) & 127) | 128));
        lp.push_back(static_cast<char>((l & 127) | 128));
    }
}

// An integer entry, in the smallest of listpack's integer encodings.
void put_integer(std::string& lp, std::int64_t v) {
    const auto start = lp.size();
    if (v >= 0 && v <= 127) {
        lp.push_back(static_cast<char>(v));
    } else if (v >= -4096 && v <= 4095) {
        const auto u = static_cast<std::uint64_t>(v < 0 ? (std::int64_t{1} << 13) + v : v);
        lp.push_back(static_cast<char>(0xC0 | (u >> 8)));
        lp.push_back(static_cast<char>(u & 0xff));
    } else if (v >= -32768 && v <= 32767) {
        lp.push_back(static_cast<char>(0xF1));
        put_le(lp, static_cast<std::uint64_t>(v < 0 ? (std::int64_t{1} << 16) + v : v), 2);
    } else if (v >= -8388608 && v <= 8388607) {
        lp.push_back(static_cast<char>(0xF2));
        put_le(lp, static_cast<std::uint64_t>(v < 0 ? (std::int64_t{1} << 24) + v : v), 3);
    } else if (v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max()) {
        lp.push_back(static_cast<char>(0xF3));
        put_le(lp, static_cast<std::uint64_t>(v < 0 ? (std::int64_t{1} << 32) + v : v), 4);
    } else {
        lp.push_back(static_cast<char>(0xF4));
        put_le(lp, static_cast<std::uint64_t>(v), 8);
    }
    put_backlen(lp, lp.size() - start);
}

// A string entry (one that is not a canonical integer: listpack would store that as an integer).
void put_string(std::string& lp, std::string_view element) {
    const auto start = lp.size();
    const auto n = element.size();
    if (n < 64) {
        lp.push_back(static_cast<char>(0x80 | n));
    } else if (n < 4096) {
        lp.push_back(static_cast<char>(0xE0 | (n >> 8)));
        lp.push_back(static_cast<char>(n & 0xff));
    } else {
        lp.push_back(static_cast<char>(0xF0));
        put_le(lp, n, 4);
    }
    lp.append(element);
    put_backlen(lp, lp.size() - start);
}

// An RDB length: 6 bits, 14 bits, or a marker byte and 32/64 bits big-endian.
void put_rdb_length(std::string& out, std::uint64_t n) {
    if (n < (1U << 6)) {
        out.push_back(static_cast<char>(n));
    } else if (n < (1U << 14)) {
        out.push_back(static_cast<char>(0x40 | (n >> 8)));
        out.push_back(static_cast<char>(n & 0xff));
    } else if (n <= 0xffffffffULL) {
        out.push_back(static_cast<char>(0x80));
        for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    } else {
        out.push_back(static_cast<char>(0x81));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
}

// Redis' double2ll, which decides whether a score goes into a listpack as an integer: integral
// and within ±LLONG_MAX/2 (so -0 becomes 0).
bool integral_score(double score, std::int64_t& value) {
    // LLONG_MAX/2 in integers, as Redis computes it, then compared as a double.
    constexpr std::int64_t kHalfMax = std::numeric_limits<std::int64_t>::max() / 2;
    constexpr auto kBound = static_cast<double>(kHalfMax);
    if (!(score >= -kBound && score <= kBound)) return false;
    const auto v = static_cast<std::int64_t>(score);
    if (static_cast<double>(v) != score) return false;
    value = v;
    return true;
}

}  // namespace

std::uint64_t crc64(std::uint64_t crc, std::string_view data) {
    const auto& t = tables().t;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    while (n >= 8) {
        std::uint64_t word = 0;
        for (int i = 0; i < 8; ++i) word |= static_cast<std::uint64_t>(p[i]) << (8 * i);
        crc ^= word;
        crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^ t[4][(crc >> 24) & 0xff] ^
              t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^ t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
        p += 8;
        n -= 8;
    }
    while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

std::string listpack_score(double score) {
    if (std::int64_t v = 0; integral_score(score, v)) return std::to_string(v);
    std::array<char, 32> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%.17g", score);
    return {buf.data(), static_cast<std::size_t>(std::max(0, n))};
}

namespace {

// A member on its way into the listpack: ordered by (score, member bytes); the first 8 bytes of
// the member, big-endian and zero-padded, order most pairs without a call to memcmp.
struct Entry {
    double score;
    std::uint64_t prefix;
    std::string_view bytes;
    bool integer;  // stored as `value`
    std::int64_t value;
};

std::uint64_t prefix_of(std::string_view bytes) {
    std::uint64_t prefix = 0;
    for (std::size_t i = 0; i < 8; ++i) prefix = (prefix << 8) | (i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0U);
    return prefix;
}

// Completes a listpack of `members` member/score pairs (6 header bytes reserved at the front) and
// wraps it as a RESTORE payload.
std::string frame(std::string& lp, std::size_t members) {
    lp.push_back(static_cast<char>(0xFF));
    std::string head;
    put_le(head, lp.size(), 4);
    put_le(head, std::min<std::size_t>(members * 2, 65535), 2);
    lp.replace(0, 6, head);

    std::string payload;
    payload.reserve(lp.size() + 16);
    payload.push_back(static_cast<char>(kTypeZsetListpack));
    put_rdb_length(payload, lp.size());
    payload += lp;
    put_le(payload, kRdbVersion, 2);
    put_le(payload, crc64(0, payload), 8);
    return payload;
}

std::string assemble(std::vector<Entry>& entries) {
    if (entries.empty()) throw std::invalid_argument("zset_restore_payload: an empty sorted set cannot be restored");
    for (const auto& e : entries) {
        if (!std::isfinite(e.score)) throw std::invalid_argument("zset_restore_payload: a score is not finite");
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        if (a.score != b.score) return a.score < b.score;
        if (a.prefix != b.prefix) return a.prefix < b.prefix;
        return a.bytes < b.bytes;
    });
    std::string lp;
    lp.reserve(8 + entries.size() * 16);
    lp.resize(6);  // total bytes and element count, filled in below
    for (const auto& e : entries) {
        if (e.integer) {
            put_integer(lp, e.value);
        } else {
            put_string(lp, e.bytes);
        }
        if (std::int64_t v = 0; integral_score(e.score, v)) {
            put_integer(lp, v);
        } else {
            put_string(lp, listpack_score(e.score));
        }
    }
    return frame(lp, entries.size());
}


}  // namespace

std::string zset_restore_payload(std::span<const ZsetMember> members) {
    std::vector<Entry> entries;
    entries.reserve(members.size());
    for (const auto& m : members) {
        Entry e{m.score, prefix_of(m.member), m.member, false, 0};
        e.integer = canonical_integer(m.member, e.value);
        entries.push_back(e);
    }
    return assemble(entries);
}

namespace {

// The common case of ids below 10^8 with integral scores in [0, 2^31): each member becomes one
// 64-bit key, the score above its decimal digits (each digit + 1 in 4 bits, left-aligned, so that
// comparing keys compares the digit strings as bytes), and plain integer sorting orders them.
bool sortable_as_keys(std::span<const ZsetIdMember> members) {
    return std::ranges::all_of(members, [](const ZsetIdMember& m) {
        if (m.member < 0 || m.member >= 100'000'000) return false;
        return m.score >= 0 && m.score < 2147483648.0 &&
               m.score == static_cast<double>(static_cast<std::int64_t>(m.score));
    });
}

std::string restore_payload_by_keys(std::span<const ZsetIdMember> members) {
    std::vector<std::uint64_t> keys;
    keys.reserve(members.size());
    for (const auto& m : members) {
        std::array<char, 8> digits{};
        auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), m.member);
        std::uint64_t packed = 0;
        for (const char* d = digits.data(); d != end; ++d) packed = (packed << 4) | static_cast<std::uint64_t>(*d - '0' + 1);
        packed <<= 4 * (digits.data() + digits.size() - end);
        keys.push_back((static_cast<std::uint64_t>(m.score) << 32) | packed);
    }
    std::sort(keys.begin(), keys.end());
    std::string lp;
    lp.reserve(8 + keys.size() * 12);
    lp.resize(6);
    for (auto key : keys) {
        std::int64_t id = 0;
        for (int shift = 28; shift >= 0; shift -= 4) {
            const auto d = (key >> shift) & 0xf;
            if (d == 0) break;
            id = id * 10 + static_cast<std::int64_t>(d - 1);
        }
        put_integer(lp, id);
        put_integer(lp, static_cast<std::int64_t>(key >> 32));
    }
    return frame(lp, keys.size());
}

}  // namespace

std::string zset_restore_payload(std::span<const ZsetIdMember> members) {
    if (!members.empty() && sortable_as_keys(members)) return restore_payload_by_keys(members);
    // The members' decimal text (their order in the set) in fixed slots, so the views stay valid.
    constexpr std::size_t kSlot = 20;
    std::vector<char> digits(members.size() * kSlot);
    std::vector<Entry> entries;
    entries.reserve(members.size());
    for (std::size_t n = 0; n < members.size(); ++n) {
        char* slot = digits.data() + n * kSlot;
        auto [end, ec] = std::to_chars(slot, slot + kSlot, members[n].member);
        const std::string_view text(slot, static_cast<std::size_t>(end - slot));
        entries.push_back({members[n].score, prefix_of(text), text, true, members[n].member});
    }
    return assemble(entries);
}

}  // namespace emporium::redis
