#pragma once
// Payloads for RESTORE, built without a round trip per element: a sorted set serialised the way
// Redis itself serialises a small one (DUMP), so a whole set is written by one command that Redis
// loads with a copy instead of one insertion per member.
//
// Format (Redis >= 7.0, RDB version 10): the object type (17, sorted set as a listpack), the
// listpack as an RDB string, the RDB version (2 bytes) and a CRC-64 of all that (8 bytes, both
// little-endian). The listpack holds member, score, member, score… in ascending (score, member
// bytes) order; each entry is encoded as Redis' listpack encodes it: integers (a member or score
// that is a canonical decimal integer, a score that is integral within ±2^62) in the smallest
// integer form, anything else as a string, other scores printed with "%.17g".
//
// This is what Redis 7.0.15 (Debian 12's) does, checked against its DUMP in the tests. Whether the
// server at hand stores sets exactly so is for the caller to check (the recommendations
// publisher compares DUMPs, RecommendService::restore_matches): an older or different server
// gets the ordinary commands instead.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace emporium::redis {

// CRC-64/Jones, reflected, initial value `crc`: the checksum of Redis' DUMP payloads and RDB files.
std::uint64_t crc64(std::uint64_t crc, std::string_view data);

struct ZsetMember {
    std::string_view member;
    double score = 0;
};

// The RESTORE payload of the sorted set of `members` (distinct members, finite scores, at least
// one; a member of more than 64 bytes or a set over 128 members is still valid, Redis converts it
// on load). The input order does not matter. Throws std::invalid_argument on an empty set or a
// non-finite score.
std::string zset_restore_payload(std::span<const ZsetMember> members);

// The same for members that are integers (e.g. ids), without formatting and parsing them back.
struct ZsetIdMember {
    std::int64_t member = 0;
    double score = 0;
};
std::string zset_restore_payload(std::span<const ZsetIdMember> members);

// The score as Redis writes it into a listpack: an integer when the value is one (within ±2^62;
// -0 is 0), else "%.17g". Parsing it back gives the same double.
std::string listpack_score(double score);

}  // namespace emporium::redis
