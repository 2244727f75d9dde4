#pragma once
// Deterministic random numbers for the seeder: identical output on every platform and library
// (integer arithmetic only), and one independent stream per (seed, kind of row, row number).

#include <array>
#include <cstddef>
#include <cstdint>

namespace emporium::seed {

std::uint64_t splitmix64(std::uint64_t& state);

// xoshiro256** seeded through splitmix64.
class Rng {
public:
    explicit Rng(std::uint64_t seed);
    // A generator for one row: independent streams for (seed, stream, index).
    static Rng for_row(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

    std::uint64_t next();
    // Uniform in [0, n) without modulo bias; n > 0.
    std::uint64_t below(std::uint64_t n);
    // Uniform in [lo, hi]; lo <= hi.
    std::int64_t between(std::int64_t lo, std::int64_t hi);
    // True with probability num/den.
    bool chance(std::uint64_t num, std::uint64_t den) { return below(den) < num; }

private:
    std::array<std::uint64_t, 4> s_{};
};

// The largest list zipf_pick accepts.
inline constexpr std::size_t kMaxZipfRanks = 256;

// An index in [0, n) drawn with Zipf's law (s = 1): P(i) ∝ 1 / (i + 1), so the first entry of a
// list is drawn twice as often as the second and n times as often as the last. 0 < n <= kMaxZipfRanks.
std::size_t zipf_pick(Rng& rng, std::size_t n);

// An index in [0, prefix.size() - 1) with probability proportional to its weight, given the prefix
// sums of the weights (prefix[0] = 0, non-decreasing, prefix.back() > 0).
std::size_t weighted_pick(Rng& rng, const std::int64_t* prefix, std::size_t count);

// Stream ids for Rng::for_row: every kind of row draws from its own stream.
enum Stream : std::uint64_t {
    kStreamProduct = 1,
    kStreamBundle = 2,
    kStreamUser = 3,
    kStreamOrder = 4,
    kStreamReviewPick = 5,
    kStreamRating = 6,
    kStreamReview = 7,
    kStreamPermutation = 8,
    kStreamSalt = 9,
    kStreamProductText = 10,
};

}  // namespace emporium::seed
