#pragma once
// The in-process rank index: every product's listing inputs (category, price, stock > 0,
// visibility, purchase count, rating, created_at) in memory, kept equal to the database through
// the change feed (catalog_changes rows, see catalog_feed.hpp), and answering "the top of the
// ranking formula under these filters, after this cursor" without scoring the catalog.
//
// Versions. The index's state is always the database's state as of one PostgreSQL snapshot (the
// snapshot of the last catch-up query). A listing is ranked "as of" a snapshot P: page 1 uses the
// current one and puts it in its cursor; later pages rank as of that P, whatever was sold since,
// so 20 pages of one listing never repeat or skip a product. To rank as of an older P the index
// keeps the changes of the last `history` window with their before/after inputs (a change row
// not visible in P contributes its `before`).
//
// Builds. A build is an immutable sort of the visible products by K = the exact score at the
// build's (max purchase count M_B, time t_B), with per-category position lists, a price order and
// a random sample. A query as of (P, M_P, t_P) scans a build in K order; for a product whose
// inputs did not change between the build and P, its true score s relates to K by
//   s <= alpha*K + beta,  alpha = max(1, M_B/M_P), beta = 0.2*max(0, t_B - t_P)/30 d
//   s >= gamma*K - delta, gamma = min(1, M_B/M_P), delta = 0.2*max(0, t_P - t_B)/30 d
// (purchase counts enter only as pc/M, capped at 1; freshness only falls with time). Products
// that changed in between (the delta set) are scored one by one. The scan stops once the k-th
// best score found is above the upper bound of everything not yet scanned: the result is exact,
// not approximate. Usually M_P >= M_B and t_P >= t_B, so alpha = 1 and beta = 0 and the bound is
// K itself.
//
// Thread safety: all public members may be called from any thread. Readers share a lock; applying
// a catch-up takes it exclusively (briefly); builds are computed outside the lock (on the CPU
// pool) and swapped in.

#include "catalog/catalog_types.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace emporium::catalog {

// A PostgreSQL snapshot (pg_snapshot text "xmin:xmax:xip,…"). Every xid it is asked about belongs
// to a committed change row, so "visible" means "committed before the snapshot was taken".
struct PgSnapshot {
    std::uint64_t xmin = 0;
    std::uint64_t xmax = 0;
    std::vector<std::uint64_t> xip;  // ascending, each in [xmin, xmax)

    bool sees(std::uint64_t xid) const noexcept;
    // Conservative containment: true only if every xid visible in *this is visible in `later`.
    bool within(const PgSnapshot& later) const noexcept;
    std::string text() const;
    // nullopt unless `text` is a well-formed snapshot (xmin <= xip < xmax, ascending, at most 10 000
    // in-progress ids).
    static std::optional<PgSnapshot> parse(std::string_view text);
    bool operator==(const PgSnapshot&) const = default;
};

// What the listing and the ranking read of one product.
struct RankInputs {
    std::int64_t category_id = 0;  // 0: no category
    std::int64_t price_cents = 0;
    std::int64_t purchase_count = 0;
    std::int64_t rating_sum = 0;
    std::int64_t rating_count = 0;
    std::int64_t created_micros = 0;
    bool in_stock = false;
    bool visible = false;  // active and not deleted
    bool operator==(const RankInputs&) const = default;
};

// The searchable words of a product: the lexemes of its search_vector, and those of its name
// alone (the A-weighted part), each space-separated as PostgreSQL prints them.
struct ProductText {
    std::int64_t product_id = 0;
    std::string lexemes;
    std::string name_lexemes;
};

// A text search query compiled against the index's lexemes (see RankIndex::compile_text).
struct TextQuery;

// One row of the change feed: a product's inputs before (absent for an insert) and after.
struct RankChange {
    std::uint64_t seq = 0;
    std::uint64_t xid = 0;
    std::int64_t product_id = 0;
    std::optional<RankInputs> before;
    RankInputs after;
    std::int64_t at_micros = 0;  // wall clock of the change (retention of the history)
    std::optional<ProductText> text;  // when the searchable words changed (always for an insert)
};

// The exact score of `in` at (max_purchase, now_micros): catalog::ranking_score.
double rank_score(const RankInputs& in, std::int64_t max_purchase, std::int64_t now_micros) noexcept;

// Filters of a listing, already resolved (category subtree ids, not slugs).
struct RankFilters {
    std::optional<std::vector<std::int64_t>> category_ids;  // ascending
    std::optional<std::int64_t> min_price;
    std::optional<std::int64_t> max_price;
    std::optional<bool> in_stock;
    // A text query evaluated in process (compile_text), and which of its matches.
    std::shared_ptr<const TextQuery> text;
    TextPredicate text_predicate = TextPredicate::kAnywhere;
    bool accepts(const RankInputs& in) const noexcept;  // visibility and text not included
    bool filtered() const noexcept { return category_ids || min_price || max_price || in_stock || text; }
};

struct RankedId {
    std::int64_t id = 0;
    double score = 0;
    RankInputs inputs;  // as of the query's snapshot
};

// A position in a ranking: (score, id), descending.
struct RankKey {
    double score = 0;
    std::int64_t id = 0;
};

// One listing request against the index.
struct RankRequest {
    RankFilters filters;
    std::optional<RankKey> after;  // exclusive
    std::size_t want = 21;         // results wanted (page size + 1)
    // The snapshot to rank as of; nullopt = the index's current one (page 1).
    std::optional<PgSnapshot> as_of;
    std::optional<std::int64_t> max_purchase;  // nullopt = as of the snapshot
    std::optional<std::int64_t> now_micros;    // nullopt = the wall clock
    // Rank only these products (e.g. the text matches when there are few): exact, by enumeration.
    std::optional<std::vector<std::int64_t>> only_ids;
    // The fraction of products passing the filters, when the caller estimated it already.
    std::optional<double> fraction;
};

class RankIndex;

// One query in progress. Without a text predicate, RankIndex::rank runs it to the end. With one
// (evaluated by the database), the caller repeatedly takes a block of candidates that pass the
// other filters, keeps those the text matches, and offers them back, until done().
class RankScan {
public:
    struct Block {
        std::vector<RankedId> candidates;  // exact scores as of the snapshot, not in order
        bool last = false;                 // nothing after this block
    };
    // Up to about `n` further candidates (the first block also carries every changed product).
    Block next(std::size_t n);
    // The candidates of the last block that matched (any subset of it).
    void offer(const std::vector<RankedId>& matched);
    bool done() const;
    // The best `want` results, ordered.
    std::vector<RankedId> results() const;

    const PgSnapshot& snapshot() const { return snapshot_; }
    // Internal (rank_index.cpp).
    struct Build;
    struct State;
    std::int64_t max_purchase() const { return max_purchase_; }
    std::int64_t now_micros() const { return now_micros_; }
    // Candidates scored so far (for metrics and explain).
    std::size_t scanned() const { return scanned_; }
    // An estimate of how many visible products pass the filters (from the build's sample).
    double estimated_matches() const { return estimated_matches_; }

private:
    friend class RankIndex;
    std::shared_ptr<State> state_;
    PgSnapshot snapshot_;
    std::int64_t max_purchase_ = 0;
    std::int64_t now_micros_ = 0;
    std::size_t scanned_ = 0;
    double estimated_matches_ = 0;
};

// Errors of RankIndex::begin.
enum class RankError {
    kNotLoaded,        // no baseline yet
    kSnapshotExpired,  // the cursor's snapshot is older than the kept history
    kBehind,           // the snapshot is newer than the index's: catch up first
};

struct FacetBand {
    std::int64_t min_cents = 0;
    std::optional<std::int64_t> max_cents;  // exclusive; none for the last band
    std::int64_t count = 0;
};
struct FacetCategory {
    std::int64_t category_id = 0;
    std::int64_t count = 0;
};
struct FacetCounts {
    std::int64_t total = 0;
    std::vector<FacetCategory> categories;  // by count, then id
    std::vector<FacetBand> price;           // every band, in order
    bool approximate = false;
};
// The price bands of the price facet (lower bounds in cents; the last band is open).
const std::vector<std::int64_t>& facet_price_bands();

class RankIndex {
public:
    struct Options {
        std::int64_t history_micros = 20LL * 60 * 1'000'000;  // changes kept for old cursors
        std::size_t rebuild_after_changes = 2000;             // changed products since the build
        std::int64_t rebuild_after_micros = 60LL * 1'000'000;  // with any change since the build
        double rebuild_after_max_growth = 0.001;               // M grew by this fraction
        std::size_t sample_size = 8192;
        // A ranking with a text query may walk one of two posting lists longer than this (checking
        // each candidate's words) instead of intersecting them first, when that looks cheaper.
        std::size_t lazy_lists_above = 4096;
        std::uint64_t seed = 0x5eed;
    };

    RankIndex();
    explicit RankIndex(Options options);

    // Replaces everything: the products as of `snapshot`, and the kept history (changes already
    // visible in `snapshot`, oldest first, used only to rank older cursors), and, when given, the
    // products' searchable words (as set_texts). Builds at once.
    void reset(PgSnapshot snapshot,
               const std::vector<std::pair<std::int64_t, RankInputs>>& products,
               std::vector<RankChange> history,
               std::int64_t now_micros,
               const std::vector<ProductText>* texts = nullptr);
    // Applies the changes visible in `snapshot` and not in the current one (rows already applied
    // are skipped, a snapshot older than the current one changes nothing). Returns whether the
    // index's snapshot moved.
    bool apply(const PgSnapshot& snapshot, std::vector<RankChange> changes);
    // Drops history older than `now - history_micros`.
    void trim(std::int64_t now_micros);

    bool loaded() const;
    PgSnapshot snapshot() const;
    // max(purchase_count) over visible products now (0 when none).
    std::int64_t max_purchase() const;
    std::size_t size() const;  // visible products
    bool needs_rebuild(std::int64_t now_micros) const;
    // Sorts a new build from the current state (seconds of CPU at millions of products: call it
    // from the CPU pool).
    void rebuild(std::int64_t now_micros);

    // Starts a query. Errors: kNotLoaded, kSnapshotExpired.
    std::optional<RankError> begin(const RankRequest& request, RankScan& scan) const;
    // begin + run to the end (no text predicate); the results are scan.results().
    std::optional<RankError> rank(const RankRequest& request, RankScan& scan) const;
    std::optional<RankError> rank(const RankRequest& request, std::vector<RankedId>& out) const;
    // The ids of the visible products passing `filters` now, if there are at most `limit`
    // (nullopt when there are more).
    std::optional<std::vector<std::int64_t>> candidates(const RankFilters& filters, std::size_t limit) const;

    // Counts per category and price band of the visible products passing `filters` (and, when
    // `matches` is given, only those ids: the text matches). Exact when the candidates are at most
    // `exact_limit`; otherwise estimated from the build's sample (`approximate`).
    FacetCounts facets(const RankFilters& filters,
                       const std::vector<std::int64_t>* matches,
                       std::size_t exact_limit) const;
    // Up to `n` ids of the build's random sample of visible products, for estimating how many
    // products a text predicate matches (matched / n * size()).
    std::vector<std::int64_t> sample_ids(std::size_t n) const;
    // Facet estimate from a text-matched part of the sample (scaled by size() / sampled).
    FacetCounts facets_from_sample(const RankFilters& filters,
                                   const std::vector<std::int64_t>& matched_sample,
                                   std::size_t sampled) const;

    // Inputs of a product as of now (tests and explain).
    std::optional<RankInputs> inputs(std::int64_t product_id) const;

    // Sets products' searchable words (after reset; the feed's changes carry their own). The
    // current build has no postings for them until the next rebuild (needs_rebuild says so).
    void set_texts(const std::vector<ProductText>& texts);
    // Whether searchable words were loaded (the text can be evaluated in process).
    bool has_text() const;
    // Whether the current build has the words' postings: a text query is then answered from the
    // lists of the products having each word (in rank order), not by checking products one by one.
    bool has_postings() const;
    // Compiles PostgreSQL tsquery text (what websearch_to_tsquery printed) against the known
    // lexemes: nullopt when it uses what the index does not evaluate (phrase or prefix operators,
    // weights other than the name's), or when no words were loaded. A lexeme no product has
    // simply matches nothing. Compile per request: lexemes added later are unknown to old queries.
    std::shared_ptr<const TextQuery> compile_text(std::string_view tsquery) const;
    // The fraction of visible products passing `filters` (text included), from the build's sample
    // (its first 1 024 products, 4 096 when the filters are selective).
    double estimate_fraction(const RankFilters& filters) const;
    // Whether a product of the build's sample passes `filters` (a witness that matches exist;
    // false says nothing: the sample may be small or empty).
    bool sample_has_match(const RankFilters& filters) const;
    // Whether any visible product passes `filters` now: exact (nullopt when the index cannot
    // tell: not loaded, or a text predicate it cannot evaluate through its postings).
    std::optional<bool> has_match(const RankFilters& filters) const;

private:
    friend class RankScan;
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace emporium::catalog
