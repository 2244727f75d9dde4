#include "recommend/cooccurrence.hpp"

#include <algorithm>
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

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

}  // namespace

std::uint32_t CooccurrenceCounter::slot(std::int64_t product) {
    auto [it, inserted] = index_.try_emplace(product, static_cast<std::uint32_t>(ids_.size()));
    if (inserted) {
        ids_.push_back(product);
        frequency_.push_back(0);
    }
    return it->second;
}

void CooccurrenceCounter::grow() {
    const std::size_t capacity = keys_.empty() ? 1024 : keys_.size() * 2;
    std::vector<std::uint64_t> old_keys(capacity, kEmpty);
    std::vector<std::uint32_t> old_counts(capacity, 0);
    old_keys.swap(keys_);
    old_counts.swap(counts_);
    const std::size_t mask = capacity - 1;
    for (std::size_t i = 0; i < old_keys.size(); ++i) {
        if (old_keys[i] == kEmpty) continue;
        std::size_t at = mix(old_keys[i]) & mask;
        while (keys_[at] != kEmpty) at = (at + 1) & mask;
        keys_[at] = old_keys[i];
        counts_[at] = old_counts[i];
    }
}

void CooccurrenceCounter::increment(std::uint32_t a, std::uint32_t b) {
    if ((used_ + 1) * 10 > keys_.size() * 7) grow();  // load factor ≤ 0.7
    const std::uint64_t key = (static_cast<std::uint64_t>(a) << 32) | b;
    const std::size_t mask = keys_.size() - 1;
    std::size_t at = mix(key) & mask;
    while (keys_[at] != kEmpty && keys_[at] != key) at = (at + 1) & mask;
    if (keys_[at] == kEmpty) {
        keys_[at] = key;
        ++used_;
        pairs_ += 2;
    }
    ++counts_[at];
}

void CooccurrenceCounter::add_basket(std::span<const std::int64_t> products, std::size_t max_basket) {
    ++baskets_;
    stale_ = true;
    std::vector<std::uint32_t> slots;
    slots.reserve(std::min(products.size(), max_basket));
    for (auto p : products) {
        if (slots.size() >= max_basket) break;
        const auto s = slot(p);
        if (std::find(slots.begin(), slots.end(), s) == slots.end()) slots.push_back(s);
    }
    for (auto s : slots) ++frequency_[s];
    std::sort(slots.begin(), slots.end());
    for (std::size_t i = 0; i < slots.size(); ++i) {
        for (std::size_t j = i + 1; j < slots.size(); ++j) increment(slots[i], slots[j]);
    }
}

void CooccurrenceCounter::finalise() const {
    if (!stale_) return;
    offsets_.assign(ids_.size() + 1, 0);
    for (auto key : keys_) {
        if (key == kEmpty) continue;
        ++offsets_[(key >> 32) + 1];
        ++offsets_[(key & 0xffffffffULL) + 1];
    }
    for (std::size_t i = 1; i < offsets_.size(); ++i) offsets_[i] += offsets_[i - 1];
    edges_.assign(offsets_.back(), Edge{0, 0});
    std::vector<std::uint32_t> fill(offsets_.begin(), offsets_.end() - 1);
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i] == kEmpty) continue;
        const auto a = static_cast<std::uint32_t>(keys_[i] >> 32);
        const auto b = static_cast<std::uint32_t>(keys_[i] & 0xffffffffULL);
        edges_[fill[a]++] = Edge{b, counts_[i]};
        edges_[fill[b]++] = Edge{a, counts_[i]};
    }
    stale_ = false;
}

std::uint32_t CooccurrenceCounter::frequency(std::int64_t product) const {
    auto it = index_.find(product);
    return it == index_.end() ? 0 : frequency_[it->second];
}

double CooccurrenceCounter::score(std::uint32_t c, std::uint32_t fa, std::uint32_t fb, Scoring scoring) const {
    const double together = c;
    const double a = std::max<std::uint32_t>(1, fa);
    const double b = std::max<std::uint32_t>(1, fb);
    switch (scoring) {
        case Scoring::kCount: return together;
        case Scoring::kCosine: return together / std::sqrt(a * b);
        case Scoring::kJaccard: return together / std::max(1.0, a + b - together);
        case Scoring::kLift: return together * static_cast<double>(std::max<std::uint64_t>(1, baskets_)) / (a * b);
    }
    return together;
}

std::vector<Neighbour> CooccurrenceCounter::neighbours(std::int64_t product,
                                                       std::size_t k,
                                                       Scoring scoring,
                                                       std::uint32_t min_count) const {
    std::vector<Neighbour> out;
    auto it = index_.find(product);
    if (it == index_.end() || k == 0) return out;
    finalise();
    const auto self = it->second;
    out.reserve(offsets_[self + 1] - offsets_[self]);
    for (auto e = offsets_[self]; e < offsets_[self + 1]; ++e) {
        const auto& edge = edges_[e];
        if (edge.count < min_count) continue;
        out.push_back({ids_[edge.other], score(edge.count, frequency_[self], frequency_[edge.other], scoring), edge.count});
    }
    const auto better = [](const Neighbour& x, const Neighbour& y) {
        if (x.score != y.score) return x.score > y.score;
        if (x.count != y.count) return x.count > y.count;
        return x.product_id < y.product_id;
    };
    if (out.size() > k) {
        std::nth_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), better);
        out.resize(k);
    }
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
