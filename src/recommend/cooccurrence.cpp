#include "recommend/cooccurrence.hpp"

#include <algorithm>
#include <cstdint>
#include <sys/mman.h>
#include <bit>
#include <utility>
#include <cmath>

namespace emporium::recommend {

std::string_view scoring_name(Scoring s) {
    switch (s) {
        case Scoring::kCount: return "count";
        case Scoring::kCosine: return "cosine";
        case Scoring::kJaccard: return "jaccard";
        case Scoring::kLift: return "lift";
    }
    return "count";
}

std::optional<Scoring> parse_scoring(std::string_view name) {
    for (auto s : kAllScorings) {
        if (scoring_name(s) == name) return s;
    }
    return std::nullopt;
}

namespace {

// The counter's big arrays (tens of MiB, touched once in order) are backed by huge pages where the
// kernel allows them on request: one fault per 2 MiB instead of one per 4 KiB, which otherwise
// costs more than the sorting. Reserves `n` elements first (the hint must precede the first touch).
template <typename T>
void reserve_huge(std::vector<T>& v, std::size_t n) {
    v.reserve(n);
#ifdef MADV_HUGEPAGE
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    const auto begin = reinterpret_cast<std::uintptr_t>(v.data());
    const auto end = begin + v.capacity() * sizeof(T);
    const auto first = (begin + kHuge - 1) & ~(kHuge - 1);
    const auto last = end & ~(kHuge - 1);
    if (last > first) {
        // The aligned start as an offset into the buffer, so that the pointer derives from v.data().
        auto* const aligned = static_cast<char*>(static_cast<void*>(v.data())) + (first - begin);
        static_cast<void>(::madvise(aligned, last - first, MADV_HUGEPAGE));
    }
#endif
}

// LSD radix sort of keys below 2^bits, in as few passes of at most 12 bits as cover them; `tmp`
// is scratch of the same size.
void radix_sort(std::vector<std::uint64_t>& v, std::vector<std::uint64_t>& tmp, int bits) {
    const int passes = std::max(1, (bits + 11) / 12);
    const int digit = (bits + passes - 1) / passes;
    const std::size_t buckets = std::size_t{1} << digit;
    if (tmp.capacity() < v.size()) reserve_huge(tmp, v.size());
    tmp.resize(v.size());
    std::vector<std::size_t> count(buckets);
    for (int pass = 0, shift = 0; pass < passes; ++pass, shift += digit) {
        std::fill(count.begin(), count.end(), 0);
        for (auto x : v) ++count[(x >> shift) & (buckets - 1)];
        std::size_t sum = 0;
        for (auto& c : count) sum += std::exchange(c, sum);
        for (auto x : v) tmp[count[(x >> shift) & (buckets - 1)]++] = x;
        v.swap(tmp);
    }
}

}  // namespace

std::uint32_t CooccurrenceCounter::slot(std::int64_t product) {
    std::uint32_t* at = nullptr;
    if (product >= 0 && product < kDirectIds) {
        const auto i = static_cast<std::size_t>(product);
        if (i >= direct_.size()) {
            direct_.resize(std::min<std::size_t>(kDirectIds, std::max(i + 1, direct_.size() * 2)), kNoSlot);
        }
        at = &direct_[i];
    } else {
        at = &index_.try_emplace(product, kNoSlot).first->second;
    }
    if (*at == kNoSlot) {
        *at = static_cast<std::uint32_t>(ids_.size());
        ids_.push_back(product);
        frequency_.push_back(0);
    }
    return *at;
}

void CooccurrenceCounter::add_basket(std::span<const std::int64_t> products, std::size_t max_basket) {
    ++baskets_;
    stale_ = true;
    basket_.clear();
    for (auto p : products) {
        if (basket_.size() >= max_basket) break;
        const auto s = slot(p);
        if (std::find(basket_.begin(), basket_.end(), s) == basket_.end()) basket_.push_back(s);
    }
    for (auto s : basket_) ++frequency_[s];
    if (pending_.capacity() == 0) reserve_huge(pending_, pending_limit_);  // address space; pages as used
    std::sort(basket_.begin(), basket_.end());
    for (std::size_t i = 0; i < basket_.size(); ++i) {
        for (std::size_t j = i + 1; j < basket_.size(); ++j) {
            pending_.push_back((static_cast<std::uint64_t>(basket_[i]) << 32) | basket_[j]);
        }
    }
    if (pending_.size() >= pending_limit_) compact();
}

void CooccurrenceCounter::compact() const {
    if (pending_.empty()) return;
    // Slots as dense keys a << width | b, so the sort looks at 2 × width bits only.
    const int width = std::max(1, static_cast<int>(std::bit_width(ids_.size())));
    for (auto& k : pending_) k = ((k >> 32) << width) | (k & 0xffffffffULL);
    {
        std::vector<std::uint64_t> tmp;
        radix_sort(pending_, tmp, 2 * width);
    }
    const std::uint64_t low = (std::uint64_t{1} << width) - 1;
    const auto original = [width, low](std::uint64_t dense) { return ((dense >> width) << 32) | (dense & low); };
    if (keys_.empty()) {
        // The first compaction: the runs are written over the sorted buffer itself (never ahead of
        // where it is read), which then becomes the totals; no second array of keys.
        std::vector<std::uint32_t> counts;
        reserve_huge(counts, pending_.size());
        std::size_t out = 0;
        for (std::size_t i = 0; i < pending_.size();) {
            const auto dense = pending_[i];
            std::size_t j = i + 1;
            while (j < pending_.size() && pending_[j] == dense) ++j;
            pending_[out++] = original(dense);
            counts.push_back(static_cast<std::uint32_t>(j - i));
            i = j;
        }
        pending_.resize(out);
        keys_ = std::exchange(pending_, {});
        counts_ = std::move(counts);
        return;
    }
    // Merge the runs of the sorted buffer into the totals (both ascending in the original packing,
    // which the dense one preserves).
    std::vector<std::uint64_t> keys;
    std::vector<std::uint32_t> counts;
    reserve_huge(keys, keys_.size() + pending_.size() / 2);
    reserve_huge(counts, keys.capacity());
    std::size_t old = 0;
    for (std::size_t i = 0; i < pending_.size();) {
        const auto dense = pending_[i];
        std::size_t j = i + 1;
        while (j < pending_.size() && pending_[j] == dense) ++j;
        const std::uint64_t key = original(dense);
        while (old < keys_.size() && keys_[old] < key) {
            keys.push_back(keys_[old]);
            counts.push_back(counts_[old++]);
        }
        auto c = static_cast<std::uint32_t>(j - i);
        if (old < keys_.size() && keys_[old] == key) c += counts_[old++];
        keys.push_back(key);
        counts.push_back(c);
        i = j;
    }
    keys.insert(keys.end(), keys_.begin() + static_cast<std::ptrdiff_t>(old), keys_.end());
    counts.insert(counts.end(), counts_.begin() + static_cast<std::ptrdiff_t>(old), counts_.end());
    keys_.swap(keys);
    counts_.swap(counts);
    pending_.clear();
    if (pending_.capacity() > pending_limit_) pending_.shrink_to_fit();
}

void CooccurrenceCounter::finalise() const {
    if (!stale_) return;
    compact();
    // The totals are sorted by (a, b): each product's pairs with larger slots are already one run
    // (`forward_`). Only the other direction, b → a, needs its own array (`backward_`).
    const auto slots = ids_.size();
    forward_.assign(slots + 1, 0);
    backward_offsets_.assign(slots + 1, 0);
    for (auto key : keys_) {
        ++forward_[(key >> 32) + 1];
        ++backward_offsets_[(key & 0xffffffffULL) + 1];
    }
    for (std::size_t i = 1; i <= slots; ++i) {
        forward_[i] += forward_[i - 1];
        backward_offsets_[i] += backward_offsets_[i - 1];
    }
    if (backward_.capacity() < keys_.size()) {
        backward_ = {};
        reserve_huge(backward_, keys_.size());
    }
    backward_.resize(keys_.size());
    std::vector<std::size_t> fill(backward_offsets_.begin(), backward_offsets_.end() - 1);
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        const auto a = static_cast<std::uint32_t>(keys_[i] >> 32);
        const auto b = static_cast<std::uint32_t>(keys_[i] & 0xffffffffULL);
        backward_[fill[b]++] = Edge{a, counts_[i]};
    }
    stale_ = false;
}

std::optional<std::uint32_t> CooccurrenceCounter::find_slot(std::int64_t product) const {
    if (product >= 0 && product < kDirectIds) {
        const auto i = static_cast<std::size_t>(product);
        if (i < direct_.size() && direct_[i] != kNoSlot) return direct_[i];
        return std::nullopt;
    }
    auto it = index_.find(product);
    if (it == index_.end()) return std::nullopt;
    return it->second;
}

std::uint32_t CooccurrenceCounter::frequency(std::int64_t product) const {
    const auto s = find_slot(product);
    return s ? frequency_[*s] : 0;
}

double CooccurrenceCounter::score(std::uint32_t together,
                                  std::uint32_t fa,
                                  std::uint32_t fb,
                                  Scoring scoring) const {
    const double n = together;
    const double a = std::max<std::uint32_t>(1, fa);
    const double b = std::max<std::uint32_t>(1, fb);
    switch (scoring) {
        case Scoring::kCount: return n;
        case Scoring::kCosine: return n / std::sqrt(a * b);
        case Scoring::kJaccard: return n / std::max(1.0, a + b - n);
        case Scoring::kLift: return n * static_cast<double>(std::max<std::uint64_t>(1, baskets_)) / (a * b);
    }
    return n;
}

namespace {

// Best first: higher score, then more baskets together, then the lower id.
bool better(const Neighbour& x, const Neighbour& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.count != y.count) return x.count > y.count;
    return x.product_id < y.product_id;
}

}  // namespace

void CooccurrenceCounter::top(std::int64_t product,
                              std::size_t k,
                              Scoring scoring,
                              std::vector<Neighbour>& out,
                              std::uint32_t min_count) const {
    out.clear();
    const auto found = find_slot(product);
    if (!found || k == 0) return;
    finalise();
    const auto self = *found;
    const auto add = [&](std::uint32_t other, std::uint32_t count) {
        if (count < min_count) return;
        out.push_back({ids_[other], score(count, frequency_[self], frequency_[other], scoring), count});
    };
    for (auto e = forward_[self]; e < forward_[self + 1]; ++e) add(static_cast<std::uint32_t>(keys_[e] & 0xffffffffULL), counts_[e]);
    for (auto e = backward_offsets_[self]; e < backward_offsets_[self + 1]; ++e) add(backward_[e].other, backward_[e].count);
    if (out.size() > k) {
        // The k best under a total order are one set, whichever way the rest is arranged.
        std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
        out.resize(k);
    }
}

std::vector<Neighbour> CooccurrenceCounter::neighbours(std::int64_t product,
                                                       std::size_t k,
                                                       Scoring scoring,
                                                       std::uint32_t min_count) const {
    std::vector<Neighbour> out;
    top(product, k, scoring, out, min_count);
    std::sort(out.begin(), out.end(), better);
    return out;
}

std::vector<std::pair<std::int64_t, std::uint32_t>> CooccurrenceCounter::most_popular(std::size_t k) const {
    std::vector<std::pair<std::int64_t, std::uint32_t>> all;
    all.reserve(ids_.size());
    for (std::size_t s = 0; s < ids_.size(); ++s) all.emplace_back(ids_[s], frequency_[s]);
    const auto better = [](const auto& x, const auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; };
    if (all.size() > k) {
        std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
        all.resize(k);
    }
    std::sort(all.begin(), all.end(), better);
    return all;
}

std::vector<std::int64_t> CooccurrenceCounter::sorted_ids() const {
    std::vector<std::int64_t> ids = ids_;
    std::sort(ids.begin(), ids.end());
    return ids;
}

}  // namespace emporium::recommend
