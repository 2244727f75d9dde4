#pragma once
// "Frequently bought together": counts how often two products appear in the same basket (sparse,
// per product), and ranks each product's neighbours by a selectable score. Pure CPU, no I/O: the
// batch builder, the evaluator and the tests share it.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace emporium::recommend {

// How a pair (a, b) bought together c times is scored, with f(x) = baskets containing x and N =
// baskets in total. Raw counts favour best-sellers; the others normalise by popularity.
enum class Scoring {
    kCount,    // c
    kCosine,   // c / sqrt(f(a)·f(b))
    kJaccard,  // c / (f(a) + f(b) − c)
    kLift,     // c·N / (f(a)·f(b))
};

std::string_view scoring_name(Scoring s);
std::optional<Scoring> parse_scoring(std::string_view name);
inline constexpr Scoring kAllScorings[] = {Scoring::kCount, Scoring::kCosine, Scoring::kJaccard, Scoring::kLift};

struct Neighbour {
    std::int64_t product_id = 0;
    double score = 0;
    std::uint32_t count = 0;  // baskets with both
};

class CooccurrenceCounter {
public:
    // Counts one basket: duplicates within it count once; baskets of fewer than two distinct
    // products only count towards f(x) and N. Baskets larger than `max_basket` products are
    // truncated to their first `max_basket` distinct products (a pathological basket must not
    // cost O(n²) memory).
    void add_basket(std::span<const std::int64_t> products, std::size_t max_basket = 100);

    std::uint64_t baskets() const { return baskets_; }
    std::uint32_t frequency(std::int64_t product) const;
    std::size_t products() const { return index_.size(); }
    std::size_t pairs() const { return pairs_; }  // distinct directed pairs stored

    // The best `k` neighbours of `product` by `scoring`, best first (ties: more baskets together,
    // then the lower id). Pairs seen fewer than `min_count` times are ignored.
    std::vector<Neighbour> neighbours(std::int64_t product, std::size_t k, Scoring scoring, std::uint32_t min_count = 1) const;
    // Calls `visit(product, neighbours)` for every product that has any, in ascending id order.
    template <typename Visit>
    void for_each_top_k(std::size_t k, Scoring scoring, Visit visit, std::uint32_t min_count = 1) const {
        for (auto id : sorted_ids()) {
            auto top = neighbours(id, k, scoring, min_count);
            if (!top.empty()) visit(id, top);
        }
    }
    // Products by frequency, most bought first (the popularity baseline).
    std::vector<std::pair<std::int64_t, std::uint32_t>> most_popular(std::size_t k) const;

    double score(std::uint32_t together, std::uint32_t fa, std::uint32_t fb, Scoring scoring) const;

private:
    std::uint32_t slot(std::int64_t product);
    std::vector<std::int64_t> sorted_ids() const;

    std::unordered_map<std::int64_t, std::uint32_t> index_;  // product id → dense slot
    std::vector<std::int64_t> ids_;                           // slot → product id
    std::vector<std::uint32_t> frequency_;                    // slot → baskets containing it
    std::vector<std::unordered_map<std::uint32_t, std::uint32_t>> together_;  // slot → (slot → count)
    std::uint64_t baskets_ = 0;
    std::size_t pairs_ = 0;
};

}  // namespace emporium::recommend
