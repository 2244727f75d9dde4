#pragma once
// Offline evaluation of the co-occurrence recommender (`emporium recommend evaluate`): reads a basket
// file, splits it into train and test baskets reproducibly, hides one item of every test basket and
// measures how well each scoring mode (and a popularity baseline) recovers it from the rest.
// Pure CPU, no I/O beyond the given stream.

#include "core/error.hpp"
#include "recommend/cooccurrence.hpp"

#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::recommend {

struct Basket {
    std::vector<std::int64_t> items;
};

enum class BasketFormat {
    kAuto,          // decide from the content (see read_baskets)
    kBaskets,       // one basket per line: `item,item,item`
    kTransactions,  // one item per line: `txn_id,item` (optional header line)
};

std::string_view basket_format_name(BasketFormat format);
std::optional<BasketFormat> parse_basket_format(std::string_view name);

// Refused input sizes: an offline tool still must not be exhausted by a runaway file.
inline constexpr std::size_t kMaxBasketFileLines = 10'000'000;
inline constexpr std::size_t kMaxBasketLineBytes = std::size_t{1024} * 1024;

struct BasketFile {
    BasketFormat format = BasketFormat::kBaskets;  // the format read (never kAuto)
    std::vector<Basket> baskets;                   // in file order (transactions: first-seen order)
    // Item id → the token in the file; ids are 0, 1, … in first-seen order.
    std::vector<std::string> item_names;

    // The id of an item token, if the file mentions it (linear scan: meant for reports and tests).
    std::optional<std::int64_t> find_item(std::string_view name) const;
};

// Reads baskets from `in`. Item tokens are arbitrary strings (numeric or not) mapped to dense ids.
// Every basket holds its distinct items in first-seen order.
// - kBaskets: one basket per line, items separated by commas; spaces around items are trimmed, empty
//   items, blank lines and lines starting with '#' are skipped.
// - kTransactions: `txn_id,item` rows; rows of one transaction need not be adjacent. The first data
//   line is a header, and skipped, when its first field is not a number and does not occur again
//   as a transaction id (`txn_id,item`, `order,product`).
// - kAuto: transactions when the first data line is a two-field header (non-numeric first field)
//   mentioning "txn" or "transaction" (case-insensitive), or when every data line has exactly two
//   fields and some first field occurs on more than one line; otherwise baskets. A file of
//   two-item baskets whose first items repeat is ambiguous: pass the format explicitly.
// Errors: Errc::kValidation naming the line for a malformed transactions row (not exactly two
// fields, an empty field), a line longer than kMaxBasketLineBytes, or more than
// kMaxBasketFileLines lines; Errc::kInternal when the stream fails.
core::Result<BasketFile> read_baskets(std::istream& in, BasketFormat format = BasketFormat::kAuto);

struct EvaluateOptions {
    double test_fraction = 0.2;  // share of baskets held out; values outside [0, 1] act as the bound
    std::uint64_t seed = 42;
    std::vector<std::size_t> cutoffs{5, 10};  // k of each HitRate@k
    std::size_t neighbours_per_item = 50;     // K kept per product, like the production model
};

struct ModeResult {
    std::string mode;  // "count", "cosine", "jaccard", "lift", "popularity"
    std::size_t cases = 0;
    std::map<std::size_t, double> hit_rate;  // cutoff k → share of cases with the hidden item in the top k
    double mrr = 0;                          // mean of 1/rank, 0 for a case whose hidden item is not ranked
};

struct EvaluationReport {
    std::size_t baskets = 0;
    std::size_t train_baskets = 0;
    std::size_t test_baskets = 0;
    std::size_t cases = 0;         // test baskets with at least two distinct items
    std::size_t unseen_cases = 0;  // cases whose hidden item never occurs in training (misses in every mode)
    std::size_t train_items = 0;   // distinct items in the training baskets
    std::size_t neighbours_per_item = 0;
    std::vector<ModeResult> modes;  // kAllScorings in order, then "popularity"
};

// One held-out item: rank the candidates for `query`, see where `hidden` lands.
struct EvaluationCase {
    std::size_t basket_index = 0;
    std::vector<std::int64_t> query;  // the basket's other distinct items
    std::int64_t hidden = 0;
};

struct Split {
    std::vector<std::size_t> train;  // basket indices, ascending
    std::vector<std::size_t> test;   // basket indices, ascending
    std::vector<EvaluationCase> cases;
};

// Basket i is a test basket when a hash of (seed, i) falls below test_fraction, so its side depends
// only on the seed and its index (not on the other baskets or on evaluation order). Each test basket
// with at least two distinct items yields one case; the hidden item is chosen from (seed, i).
Split split_baskets(const std::vector<Basket>& baskets, const EvaluateOptions& options);

struct Candidate {
    std::int64_t product_id = 0;
    double score = 0;         // sum over the query items that list this product among their neighbours
    std::uint64_t count = 0;  // sum of the baskets bought together with those query items
};

// The recommendations for `query`: every neighbour in the top `neighbours_per_item` list of a query
// item, scored by the sum of its scores, query items excluded; best first (ties: higher count, then
// the lower id). This is "recommended for you" over a user's purchases.
std::vector<Candidate> rank_candidates(const CooccurrenceCounter& trained,
                                       std::span<const std::int64_t> query,
                                       Scoring scoring,
                                       std::size_t neighbours_per_item);

// Metrics of every scoring mode and of the popularity baseline (training frequency, query items
// excluded) over `cases`. A hidden item that is not ranked at all counts as a miss with 1/rank = 0.
std::vector<ModeResult> evaluate_cases(const CooccurrenceCounter& trained,
                                       std::span<const EvaluationCase> cases,
                                       const EvaluateOptions& options);

// split_baskets, train a CooccurrenceCounter on the train baskets, evaluate_cases.
EvaluationReport evaluate(const std::vector<Basket>& baskets, const EvaluateOptions& options);

// A plain-text table (mode | HitRate@k… | MRR) with the basket and case counts.
std::string format_report(const EvaluationReport& report);

}  // namespace emporium::recommend
