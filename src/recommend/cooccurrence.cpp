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

std::uint32_t CooccurrenceCounter::slot(std::int64_t product) {
    auto [it, inserted] = index_.try_emplace(product, static_cast<std::uint32_t>(ids_.size()));
    if (inserted) {
        ids_.push_back(product);
        frequency_.push_back(0);
        together_.emplace_back();
    }
    return it->second;
}

void CooccurrenceCounter::add_basket(std::span<const std::int64_t> products, std::size_t max_basket) {
    ++baskets_;
    std::vector<std::uint32_t> slots;
    slots.reserve(std::min(products.size(), max_basket));
    for (auto p : products) {
        if (slots.size() >= max_basket) break;
        const auto s = slot(p);
        if (std::find(slots.begin(), slots.end(), s) == slots.end()) slots.push_back(s);
    }
    for (auto s : slots) ++frequency_[s];
    for (std::size_t i = 0; i < slots.size(); ++i) {
        for (std::size_t j = 0; j < slots.size(); ++j) {
            if (i == j) continue;
            auto [it, inserted] = together_[slots[i]].try_emplace(slots[j], 0);
            ++it->second;
            if (inserted) ++pairs_;
        }
    }
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
    const auto self = it->second;
    out.reserve(together_[self].size());
    for (const auto& [other, count] : together_[self]) {
        if (count < min_count) continue;
        out.push_back({ids_[other], score(count, frequency_[self], frequency_[other], scoring), count});
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
