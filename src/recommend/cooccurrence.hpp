#pragma once
// "Frequently bought together": counts how often two products appear in the same basket (sparse,
// per product), and ranks each product's neighbours by a selectable score. Pure CPU, no I/O: the
// batch builder, the evaluator and the tests share it.

#include <algorithm>
#include <array>
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
inline constexpr std::array kAllScorings{Scoring::kCount, Scoring::kCosine, Scoring::kJaccard, Scoring::kLift};

struct Neighbour {
    std::int64_t product_id = 0;
    double score = 0;
    std::uint32_t count = 0;  // baskets with both
};

class CooccurrenceCounter {
public:
    // Pairs buffered before they are sorted and merged into the totals: bounds the memory whatever
    // the number of baskets (the totals grow with the distinct pairs only).
    static constexpr std::size_t kDefaultPendingPairs = std::size_t{8} << 20;  // 64 MiB
    explicit CooccurrenceCounter(std::size_t pending_pairs = kDefaultPendingPairs)
        : pending_limit_(std::max<std::size_t>(1, pending_pairs)) {}

    // Counts one basket: duplicates within it count once; baskets of fewer than two distinct
    // products only count towards f(x) and N. Baskets larger than `max_basket` products are
    // truncated to their first `max_basket` distinct products (a pathological basket must not
    // cost O(n²) memory).
    void add_basket(std::span<const std::int64_t> products, std::size_t max_basket = 100);

    std::uint64_t baskets() const { return baskets_; }
    std::uint32_t frequency(std::int64_t product) const;
    std::size_t products() const { return ids_.size(); }
    std::size_t pairs() const {  // distinct directed pairs
        compact();
        return 2 * keys_.size();
    }

    // The best `k` neighbours of `product` by `scoring`, best first (ties: more baskets together,
    // then the lower id). Pairs seen fewer than `min_count` times are ignored.
    std::vector<Neighbour> neighbours(std::int64_t product, std::size_t k, Scoring scoring, std::uint32_t min_count = 1) const;
    // The same neighbours into `out` (replacing its contents), in no particular order: for callers
    // that order them their own way.
    void top(std::int64_t product, std::size_t k, Scoring scoring, std::vector<Neighbour>& out, std::uint32_t min_count = 1) const;
    // Calls `visit(product, neighbours)` for every product that has any, in ascending id order.
    template <typename Visit>
    void for_each_top_k(std::size_t k, Scoring scoring, Visit visit, std::uint32_t min_count = 1) const {
        for (auto id : sorted_ids()) {
            auto top = neighbours(id, k, scoring, min_count);
            if (!top.empty()) visit(id, top);
        }
    }
    // Every product seen, in ascending id order.
    std::vector<std::int64_t> product_ids() const { return sorted_ids(); }
    // Products by frequency, most bought first (the popularity baseline).
    std::vector<std::pair<std::int64_t, std::uint32_t>> most_popular(std::size_t k) const;

    double score(std::uint32_t together, std::uint32_t fa, std::uint32_t fb, Scoring scoring) const;
    // Counts what is still buffered and builds the per-product adjacency; the queries do it on
    // first use. Call it before sharing the counter between threads (the queries only read then).
    void prepare() const { finalise(); }

private:
    std::uint32_t slot(std::int64_t product);
    std::optional<std::uint32_t> find_slot(std::int64_t product) const;
    std::vector<std::int64_t> sorted_ids() const;
    void compact() const;   // sorts the buffered pairs and merges their counts into the totals
    void finalise() const;  // compact() and the per-product adjacency

    static constexpr std::uint32_t kNoSlot = ~std::uint32_t{0};
    // Product ids below this get their slot from a plain array, the others from a hash map.
    static constexpr std::int64_t kDirectIds = std::int64_t{1} << 22;
    std::size_t pending_limit_;
    std::vector<std::uint32_t> direct_;                      // product id → slot (ids < kDirectIds)
    std::unordered_map<std::int64_t, std::uint32_t> index_;  // product id → slot (the others)
    std::vector<std::int64_t> ids_;                           // slot → product id
    std::vector<std::uint32_t> frequency_;                    // slot → baskets containing it
    std::vector<std::uint32_t> basket_;                       // scratch: the slots of one basket
    // Counting is sorting: each basket appends its unordered pairs (a < b, packed a << 32 | b) to
    // a buffer; compact() radix-sorts the buffer and merges the runs into the sorted totals. That
    // touches memory in order, where a hash table of pairs would miss the cache on every pair.
    mutable std::vector<std::uint64_t> pending_;
    mutable std::vector<std::uint64_t> keys_;   // distinct unordered pairs, ascending
    mutable std::vector<std::uint32_t> counts_;  // baskets with both, per key
    std::uint64_t baskets_ = 0;
    // Adjacency, built on the first query after counting changed: slot a's pairs (a, b > a) are
    // keys_[forward_[a] .. forward_[a + 1]); its pairs (b < a, a) are in backward_.
    struct Edge {
        std::uint32_t other;
        std::uint32_t count;
    };
    mutable bool stale_ = true;
    mutable std::vector<std::size_t> forward_;
    mutable std::vector<std::size_t> backward_offsets_;
    mutable std::vector<Edge> backward_;
};

}  // namespace emporium::recommend
