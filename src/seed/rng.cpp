#include "seed/rng.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace emporium::seed {

std::uint64_t splitmix64(std::uint64_t& state) {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

Rng::Rng(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
}

Rng Rng::for_row(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
    std::uint64_t state = seed;
    std::uint64_t mixed = splitmix64(state) ^ (stream * 0xd1b54a32d192ed03ULL);
    state = mixed;
    mixed = splitmix64(state) ^ index;
    return Rng(mixed);
}

std::uint64_t Rng::next() {
    const std::uint64_t result = std::rotl(s_[1] * 5U, 7) * 9U;
    const std::uint64_t t = s_[1] << 17U;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
}

std::uint64_t Rng::below(std::uint64_t n) {
    // Rejection sampling: drop the top partial range so every residue is equally likely.
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
        const std::uint64_t r = next();
        if (r >= threshold) return r % n;
    }
}

std::int64_t Rng::between(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1U;
    return lo + static_cast<std::int64_t>(below(span));
}

namespace {

// cumulative[i] = Σ_{r=1..i} ⌊2^32 / r⌋: integer weights, so the draws are the same everywhere.
struct ZipfTable {
    std::array<std::uint64_t, kMaxZipfRanks + 1> cumulative{};
    constexpr ZipfTable() {
        for (std::size_t r = 1; r <= kMaxZipfRanks; ++r) {
            cumulative[r] = cumulative[r - 1] + (std::uint64_t{1} << 32U) / r;
        }
    }
};
constexpr ZipfTable kZipf;

}  // namespace

std::size_t zipf_pick(Rng& rng, std::size_t n) {
    if (n == 0 || n > kMaxZipfRanks) throw std::out_of_range("zipf_pick: list size");
    const std::uint64_t u = rng.below(kZipf.cumulative[n]);
    // The first rank whose cumulative weight exceeds u.
    const auto* first = kZipf.cumulative.data() + 1;
    return static_cast<std::size_t>(std::upper_bound(first, first + n, u) - first);
}

std::size_t weighted_pick(Rng& rng, const std::int64_t* prefix, std::size_t count) {
    const auto u = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(prefix[count])));
    const std::int64_t* first = prefix + 1;
    return static_cast<std::size_t>(std::upper_bound(first, first + count, u) - first);
}

}  // namespace emporium::seed
