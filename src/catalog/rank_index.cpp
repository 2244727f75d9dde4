#include "catalog/rank_index.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>

namespace emporium::catalog {

namespace {

constexpr double kSecondsPerDay = 86400.0;
constexpr double kFreshnessWeight = 0.2;
constexpr double kFreshnessMicros = 30.0 * kSecondsPerDay * 1e6;
// A cursor is served while its page-1 time is this much younger than the oldest kept change: a
// change not visible in its snapshot was committed after it was taken, so its trigger ran at most
// one (long) transaction earlier.
constexpr std::int64_t kExpiryMarginMicros = 5LL * 60 * 1'000'000;
constexpr std::size_t kMaxXip = 10'000;
// Enumerating a candidate list this long is cheaper than guessing.
constexpr std::size_t kAlwaysEnumerate = 2048;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

std::int64_t wall_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// (a.score, a.id) ranks before (b.score, b.id): higher score, then higher id.
bool ranks_before(const RankedId& a, const RankedId& b) {
    return a.score > b.score || (a.score == b.score && a.id > b.id);
}

// Whether (score, id) comes after the cursor position `k` in the ranking.
bool after_key(double score, std::int64_t id, const RankKey& k) {
    return score < k.score || (score == k.score && id < k.id);
}

template <typename T>
bool parse_u64(std::string_view text, T& out) {
    if (text.empty()) return false;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && p == text.data() + text.size();
}

}  // namespace

// ---- PgSnapshot ----------------------------------------------------------------------------------

bool PgSnapshot::sees(std::uint64_t xid) const noexcept {
    if (xid < xmin) return true;
    if (xid >= xmax) return false;
    return !std::binary_search(xip.begin(), xip.end(), xid);
}

bool PgSnapshot::within(const PgSnapshot& later) const noexcept {
    if (xmax > later.xmax) return false;
    for (auto x : later.xip) {
        if (x >= xmax) break;
        if (sees(x)) return false;  // visible here, still in progress there: not a later snapshot
    }
    return true;
}

std::string PgSnapshot::text() const {
    std::string out = std::to_string(xmin) + ":" + std::to_string(xmax) + ":";
    for (std::size_t i = 0; i < xip.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(xip[i]);
    }
    return out;
}

std::optional<PgSnapshot> PgSnapshot::parse(std::string_view text) {
    const auto a = text.find(':');
    if (a == std::string_view::npos) return std::nullopt;
    const auto b = text.find(':', a + 1);
    if (b == std::string_view::npos) return std::nullopt;
    PgSnapshot s;
    if (!parse_u64(text.substr(0, a), s.xmin) || !parse_u64(text.substr(a + 1, b - a - 1), s.xmax)) {
        return std::nullopt;
    }
    if (s.xmin == 0 || s.xmin > s.xmax) return std::nullopt;
    auto rest = text.substr(b + 1);
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const auto item = rest.substr(0, comma);
        std::uint64_t x = 0;
        if (!parse_u64(item, x) || x < s.xmin || x >= s.xmax) return std::nullopt;
        if (!s.xip.empty() && x <= s.xip.back()) return std::nullopt;
        if (s.xip.size() >= kMaxXip) return std::nullopt;
        s.xip.push_back(x);
        if (comma == std::string_view::npos) break;
        rest = rest.substr(comma + 1);
        if (rest.empty()) return std::nullopt;  // trailing comma
    }
    return s;
}

// ---- scoring and filters ---------------------------------------------------------------------------

double rank_score(const RankInputs& in, std::int64_t max_purchase, std::int64_t now_micros) noexcept {
    // As the reference SQL: the age in seconds as a double, then in days.
    const double age_days = static_cast<double>(now_micros - in.created_micros) / 1e6 / kSecondsPerDay;
    return ranking_score(in.purchase_count, max_purchase, in.rating_sum, in.rating_count, age_days).score;
}

bool RankFilters::accepts(const RankInputs& in) const noexcept {
    if (min_price && in.price_cents < *min_price) return false;
    if (max_price && in.price_cents > *max_price) return false;
    if (in_stock && in.in_stock != *in_stock) return false;
    if (category_ids && !std::binary_search(category_ids->begin(), category_ids->end(), in.category_id)) {
        return false;
    }
    return true;
}

const std::vector<std::int64_t>& facet_price_bands() {
    static const std::vector<std::int64_t> kBands{0, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000};
    return kBands;
}

namespace {

std::size_t band_of(std::int64_t price) {
    const auto& bands = facet_price_bands();
    auto it = std::upper_bound(bands.begin(), bands.end(), price);
    return it == bands.begin() ? 0 : static_cast<std::size_t>(it - bands.begin()) - 1;
}

}  // namespace

// ---- text queries ------------------------------------------------------------------------------------

// A tsquery tree over lexeme ids. Nodes are stored in an array; the root is the last node.
struct TextQuery {
    enum class Kind { kTerm, kAnd, kOr, kNot, kNothing };
    struct Node {
        Kind kind = Kind::kNothing;
        std::uint32_t lexeme = 0;  // kTerm; kUnknownLexeme when no product has it
        bool name_only = false;    // kTerm restricted to the name (weight A)
        int left = -1;
        int right = -1;
    };
    std::vector<Node> nodes;
};

namespace {

constexpr std::uint32_t kUnknownLexeme = std::numeric_limits<std::uint32_t>::max();

// Recursive descent over PostgreSQL's tsquery output: or := and ('|' and)*, and := unary ('&'
// unary)*, unary := '!' unary | '(' or ')' | 'lexeme'[:weights]. A phrase operator (<->, <N>) or
// a prefix (:*) makes it fail: the caller then lets the database evaluate the text.
class TsqueryParser {
public:
    using Lookup = std::function<std::uint32_t(const std::string&)>;
    TsqueryParser(std::string_view text, Lookup lookup) : text_(text), lookup_(std::move(lookup)) {}

    bool parse(TextQuery& out) {
        skip();
        if (pos_ == text_.size()) {  // no lexemes (stop words only): matches nothing
            out.nodes.push_back(TextQuery::Node{TextQuery::Kind::kNothing});
            return true;
        }
        if (parse_or(out) < 0) return false;
        skip();
        return pos_ == text_.size();
    }

private:
    void skip() {
        while (pos_ < text_.size() && text_[pos_] == ' ') ++pos_;
    }
    int add(TextQuery& q, TextQuery::Node n) {
        q.nodes.push_back(n);
        return static_cast<int>(q.nodes.size()) - 1;
    }
    int parse_or(TextQuery& q) {
        int left = parse_and(q);
        while (left >= 0) {
            skip();
            if (pos_ >= text_.size() || text_[pos_] != '|') break;
            ++pos_;
            const int right = parse_and(q);
            if (right < 0) return -1;
            left = add(q, TextQuery::Node{TextQuery::Kind::kOr, 0, false, left, right});
        }
        return left;
    }
    int parse_and(TextQuery& q) {
        int left = parse_phrase(q);
        while (left >= 0) {
            skip();
            if (pos_ >= text_.size()) break;
            if (text_[pos_] != '&') break;
            ++pos_;
            const int right = parse_phrase(q);
            if (right < 0) return -1;
            left = add(q, TextQuery::Node{TextQuery::Kind::kAnd, 0, false, left, right});
        }
        return left;
    }
    // A phrase is evaluated only in the shape PostgreSQL gives a hyphenated word: the compound
    // followed by each of its parts ('wi-fi' <-> 'wi' <-> 'fi'). The parser always emits the parts
    // right after the compound, so a product has the phrase when it has all of those words; it is
    // evaluated as their AND. Any other phrase (or a prefix) fails: the database evaluates it.
    int parse_phrase(TextQuery& q) {
        int left = parse_unary(q);
        skip();
        if (left < 0 || pos_ >= text_.size() || text_[pos_] != '<') return left;
        if (!last_plain_ || last_plain_->find('-') == std::string::npos) return -1;
        const auto parts = static_cast<std::size_t>(std::count(last_plain_->begin(), last_plain_->end(), '-')) + 1;
        std::size_t seen = 0;
        while (text_.substr(pos_, 3) == "<->") {
            pos_ += 3;
            skip();
            const int part = parse_unary(q);
            if (part < 0 || !last_plain_) return -1;
            left = add(q, TextQuery::Node{TextQuery::Kind::kAnd, 0, false, left, part});
            ++seen;
            skip();
        }
        if (seen != parts || (pos_ < text_.size() && text_[pos_] == '<')) return -1;
        return left;
    }
    int parse_unary(TextQuery& q) {
        last_plain_.reset();
        skip();
        if (pos_ >= text_.size()) return -1;
        const char c = text_[pos_];
        if (c == '!') {
            ++pos_;
            const int inner = parse_unary(q);
            last_plain_.reset();
            if (inner < 0) return -1;
            return add(q, TextQuery::Node{TextQuery::Kind::kNot, 0, false, inner, -1});
        }
        if (c == '(') {
            ++pos_;
            const int inner = parse_or(q);
            last_plain_.reset();
            skip();
            if (inner < 0 || pos_ >= text_.size() || text_[pos_] != ')') return -1;
            ++pos_;
            return inner;
        }
        if (c != '\'') return -1;
        ++pos_;
        std::string lexeme;
        for (;;) {
            if (pos_ >= text_.size()) return -1;
            const char ch = text_[pos_++];
            if (ch == '\'') {
                if (pos_ < text_.size() && text_[pos_] == '\'') {  // '' is a quote
                    lexeme += '\'';
                    ++pos_;
                    continue;
                }
                break;
            }
            if (ch == '\\') {
                if (pos_ >= text_.size()) return -1;
                lexeme += text_[pos_++];
                continue;
            }
            lexeme += ch;
        }
        bool name_only = false;
        if (pos_ < text_.size() && text_[pos_] == ':') {
            ++pos_;
            std::string weights;
            while (pos_ < text_.size() && text_[pos_] != ' ' && text_[pos_] != ')') weights += text_[pos_++];
            if (weights != "A") return -1;  // a prefix (*) or weights the index does not keep
            name_only = true;
        }
        const int node = add(q, TextQuery::Node{TextQuery::Kind::kTerm, lookup_(lexeme), name_only});
        if (!name_only) last_plain_ = std::move(lexeme);
        return node;
    }

    std::string_view text_;
    Lookup lookup_;
    std::size_t pos_ = 0;
    std::optional<std::string> last_plain_;  // the lexeme of the last unary, when a plain term
};

// Whether `entries` (lexeme id << 1 | in the name, ascending) hold `lexeme` (in the name when asked).
bool has_lexeme(const std::vector<std::uint32_t>& entries, std::uint32_t lexeme, bool name_only) {
    if (lexeme == kUnknownLexeme) return false;
    const auto key = lexeme << 1U;
    auto it = std::lower_bound(entries.begin(), entries.end(), key);
    if (it == entries.end() || (*it >> 1U) != lexeme) return false;
    return !name_only || (*it & 1U) != 0;
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is the query's operator depth (bounded by its length)
bool eval(const TextQuery& q, int node, const std::vector<std::uint32_t>& entries, bool name_only) {
    const auto& n = q.nodes[static_cast<std::size_t>(node)];
    switch (n.kind) {
        case TextQuery::Kind::kTerm:
            return has_lexeme(entries, n.lexeme, name_only || n.name_only);
        case TextQuery::Kind::kAnd:
            return eval(q, n.left, entries, name_only) && eval(q, n.right, entries, name_only);
        case TextQuery::Kind::kOr:
            return eval(q, n.left, entries, name_only) || eval(q, n.right, entries, name_only);
        case TextQuery::Kind::kNot:
            return !eval(q, n.left, entries, name_only);
        case TextQuery::Kind::kNothing:
            return false;
    }
    return false;
}

// The predicate of a listing's text over one product's words: as the SQL would say it
// (search_vector @@ q; ts_filter(search_vector, '{a}') @@ q for the name).
bool text_matches(const TextQuery& q, TextPredicate predicate, const std::vector<std::uint32_t>& entries) {
    const int root = static_cast<int>(q.nodes.size()) - 1;
    if (root < 0 || !eval(q, root, entries, false)) return false;
    switch (predicate) {
        case TextPredicate::kAnywhere:
            return true;
        case TextPredicate::kName:
            return eval(q, root, entries, true);
        case TextPredicate::kElsewhere:
            return !eval(q, root, entries, true);
    }
    return false;
}

}  // namespace

// ---- internals -------------------------------------------------------------------------------------

// An immutable sort of the visible products (see the header).
struct RankScan::Build {
    PgSnapshot snapshot;
    std::size_t history_end = 0;  // absolute history position the build reflects
    std::int64_t max_purchase = 0;
    std::int64_t now_micros = 0;
    std::int64_t newest_created = std::numeric_limits<std::int64_t>::min();
    std::vector<std::uint32_t> order;  // dense indices by (K desc, id desc)
    std::vector<double> keys;          // K of order[i]
    std::vector<std::uint32_t> position;  // dense -> position in order (UINT32_MAX: not in it)
    std::unordered_map<std::int64_t, std::vector<std::uint32_t>> by_category;  // positions, ascending
    std::vector<std::uint32_t> by_price;  // dense indices by (price, id)
    std::vector<std::int64_t> prices;     // price of by_price[i]
    std::vector<std::uint32_t> sample;    // dense indices, random
    // Per lexeme id, the positions (ascending, so in K order) of the products having it: anywhere
    // and in the name. Lexemes first seen after the build have none (their products changed since
    // the build, so they are scored from the delta set).
    struct Postings {
        std::vector<std::size_t> offsets;  // lexeme id -> [offsets[id], offsets[id + 1])
        std::vector<std::uint32_t> positions;
        std::span<const std::uint32_t> of(std::uint32_t lexeme) const {
            if (static_cast<std::size_t>(lexeme) + 1 >= offsets.size()) return {};
            return {positions.data() + offsets[lexeme], offsets[lexeme + 1] - offsets[lexeme]};
        }
    };
    bool has_postings = false;
    Postings anywhere;
    Postings in_name;
    // The listing inputs of each position as of the build, laid out for counting facets over
    // position lists (a product changed since is in the delta set, and counted from its inputs).
    std::vector<std::int64_t> category_of_index;  // distinct categories
    std::vector<std::uint32_t> pos_category;      // index into category_of_index
    std::vector<std::int64_t> pos_price;
    std::vector<std::uint8_t> pos_band;           // price band (facet_price_bands)
    std::vector<std::uint8_t> pos_in_stock;
};

namespace {

using Build = RankScan::Build;
constexpr std::uint32_t kNoPosition = std::numeric_limits<std::uint32_t>::max();

// Build positions (ascending) of the products a text query matches, from the postings: a view of
// one posting list, or a list of its own. `exact` false: a superset (a part of the query the
// postings cannot answer alone, such as a negation outside an AND, is left to the product check).
// Move only: the view may point into `owned`.
class PositionSet {
public:
    PositionSet() = default;
    explicit PositionSet(std::span<const std::uint32_t> view) : view_(view) {}
    explicit PositionSet(std::vector<std::uint32_t> owned, bool exact = true)
        : owned_(std::move(owned)), view_(owned_), exact_(exact) {}
    PositionSet(PositionSet&& o) noexcept { *this = std::move(o); }
    PositionSet& operator=(PositionSet&& o) noexcept {
        const bool own = o.view_.data() == o.owned_.data();
        owned_ = std::move(o.owned_);
        view_ = own ? std::span<const std::uint32_t>(owned_) : o.view_;
        exact_ = o.exact_;
        return *this;
    }
    PositionSet(const PositionSet&) = delete;
    PositionSet& operator=(const PositionSet&) = delete;

    std::span<const std::uint32_t> view() const { return view_; }
    std::size_t size() const { return view_.size(); }
    bool exact() const { return exact_; }
    PositionSet& inexact() {
        exact_ = false;
        return *this;
    }

private:
    std::vector<std::uint32_t> owned_;
    std::span<const std::uint32_t> view_;
    bool exact_ = true;
};

// a ∩ b, or a \ b (`minus`). Gallops through the longer list when the lengths differ a lot.
std::vector<std::uint32_t> combine(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b, bool minus) {
    std::vector<std::uint32_t> out;
    if (!minus && a.size() > b.size()) std::swap(a, b);
    if (!minus) out.reserve(a.size());
    if (b.size() > 16 * a.size()) {
        auto from = b.begin();
        for (auto x : a) {
            from = std::lower_bound(from, b.end(), x);
            const bool in_b = from != b.end() && *from == x;
            if (in_b != minus) out.push_back(x);
        }
        return out;
    }
    if (minus) {
        std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    } else {
        std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    }
    return out;
}

// For a ranking, two long lists need not be combined (intersected, subtracted): the scan can walk
// one of them, a superset, in K order and check each candidate's words, stopping after a page's
// worth of matches. `want` = 0: always combine (counting facets needs the exact set).
struct Laziness {
    std::size_t above = 0;  // lists at most this long are always combined
    std::size_t want = 0;   // results the ranking wants
};

// Whether walking `walk` finds `want` results sooner than combining costs (`combine_elements`
// list elements, a few nanoseconds each; a walked candidate's check costs some 60). The share of
// `walk` that is a result (`in_result`) is estimated on an even spread of 128 of its positions.
template <typename InResult>
bool walk_is_cheaper(std::span<const std::uint32_t> walk, double combine_elements, const Laziness& lazy,
                     InResult in_result) {
    if (lazy.want == 0 || walk.size() <= lazy.above) return false;
    const std::size_t step = std::max<std::size_t>(1, walk.size() / 128);
    std::size_t hits = 0;
    std::size_t seen = 0;
    for (std::size_t i = 0; i < walk.size(); i += step, ++seen) {
        if (in_result(walk[i])) ++hits;
    }
    const double share = std::max(0.5, static_cast<double>(hits)) / static_cast<double>(seen);
    const double walked = std::min(static_cast<double>(walk.size()), static_cast<double>(lazy.want) / share);
    return 60.0 * walked < 3.0 * combine_elements;
}

// Elements touched by combine(a, b): a linear merge, or galloping through the longer list.
double combine_elements(std::size_t a, std::size_t b) {
    const auto lo = static_cast<double>(std::min(a, b));
    const auto hi = static_cast<double>(std::max(a, b));
    if (lo == 0) return 1;
    return std::min(lo + hi, lo * (1.0 + std::log2(hi / lo + 1.0)));
}

bool contains(std::span<const std::uint32_t> list, std::uint32_t p) {
    return std::binary_search(list.begin(), list.end(), p);
}

// NOLINTNEXTLINE(misc-no-recursion): the depth is the query's operator depth (bounded by its length)
std::optional<PositionSet> positions_of(const Build& b, const TextQuery& q, int node, bool name_only, const Laziness& lazy) {
    const auto& n = q.nodes[static_cast<std::size_t>(node)];
    switch (n.kind) {
        case TextQuery::Kind::kTerm: {
            if (n.lexeme == kUnknownLexeme) return PositionSet{};
            return PositionSet((name_only || n.name_only ? b.in_name : b.anywhere).of(n.lexeme));
        }
        case TextQuery::Kind::kNothing:
            return PositionSet{};
        case TextQuery::Kind::kNot:
            return std::nullopt;  // the complement: only as the right side of an AND
        case TextQuery::Kind::kOr: {
            auto l = positions_of(b, q, n.left, name_only, lazy);
            auto r = positions_of(b, q, n.right, name_only, lazy);
            if (!l || !r) return std::nullopt;
            std::vector<std::uint32_t> out;
            out.reserve(l->size() + r->size());
            std::set_union(l->view().begin(), l->view().end(), r->view().begin(), r->view().end(),
                           std::back_inserter(out));
            return PositionSet(std::move(out), l->exact() && r->exact());
        }
        case TextQuery::Kind::kAnd: {
            auto set_of = [&](int side) { return positions_of(b, q, side, name_only, lazy); };
            auto negated = [&](int side) -> std::optional<PositionSet> {
                const auto& m = q.nodes[static_cast<std::size_t>(side)];
                if (m.kind != TextQuery::Kind::kNot) return std::nullopt;
                auto inner = positions_of(b, q, m.left, name_only, lazy);
                if (!inner || !inner->exact()) return std::nullopt;
                return inner;
            };
            auto l = set_of(n.left);
            auto r = set_of(n.right);
            if (l && r) {
                auto& shorter = l->size() <= r->size() ? *l : *r;
                const auto other = (l->size() <= r->size() ? *r : *l).view();
                if (walk_is_cheaper(shorter.view(), combine_elements(l->size(), r->size()), lazy,
                                    [&](std::uint32_t p) { return contains(other, p); })) {
                    return std::move(shorter.inexact());
                }
                const bool exact = l->exact() && r->exact();
                return PositionSet(combine(l->view(), r->view(), false), exact);
            }
            // One side is a negation (a difference) or unknown (the other side is a superset).
            auto& known = l ? l : r;
            if (!known) return std::nullopt;
            auto minus = negated(l ? n.right : n.left);
            if (!minus) return std::move(known->inexact());
            const auto excluded = minus->view();
            if (walk_is_cheaper(known->view(), combine_elements(known->size(), minus->size()), lazy,
                                [&](std::uint32_t p) { return !contains(excluded, p); })) {
                return std::move(known->inexact());
            }
            return PositionSet(combine(known->view(), excluded, true), known->exact());
        }
    }
    return std::nullopt;
}

bool has_negation(const TextQuery& q) {
    return std::any_of(q.nodes.begin(), q.nodes.end(), [](const TextQuery::Node& n) { return n.kind == TextQuery::Kind::kNot; });
}

// The positions a listing's text predicate matches (see text_matches), or nullopt when the
// postings cannot bound it (a negation at the top). With `lazy`, possibly a superset (see
// Laziness); the scan then checks each candidate's words.
std::optional<PositionSet> text_positions(const Build& b, const TextQuery& q, TextPredicate predicate,
                                          const Laziness& lazy) {
    if (!b.has_postings || q.nodes.empty()) return std::nullopt;
    const int root = static_cast<int>(q.nodes.size()) - 1;
    if (predicate == TextPredicate::kName && !has_negation(q)) {
        return positions_of(b, q, root, true, lazy);  // in the name implies anywhere
    }
    auto anywhere = positions_of(b, q, root, false, lazy);
    if (predicate == TextPredicate::kAnywhere || !anywhere) return anywhere;
    auto name = positions_of(b, q, root, true, lazy);
    if (predicate == TextPredicate::kName) {
        // name ∧ anywhere (they differ only under a negation: "not in the name" is not "nowhere").
        if (!name) return std::move(anywhere->inexact());
        const auto all = anywhere->view();
        if (walk_is_cheaper(name->view(), combine_elements(name->size(), anywhere->size()), lazy,
                            [&](std::uint32_t p) { return contains(all, p); })) {
            return std::move(name->inexact());
        }
        return PositionSet(combine(name->view(), anywhere->view(), false), name->exact() && anywhere->exact());
    }
    if (!name || !name->exact()) return std::move(anywhere->inexact());
    const auto in_name = name->view();
    if (walk_is_cheaper(anywhere->view(), combine_elements(anywhere->size(), name->size()), lazy,
                        [&](std::uint32_t p) { return !contains(in_name, p); })) {
        return std::move(anywhere->inexact());
    }
    return PositionSet(combine(anywhere->view(), name->view(), true), anywhere->exact());
}

struct Entry {
    std::uint64_t xid = 0;
    std::uint32_t dense = 0;
    RankInputs before;  // visible = false when the product did not exist
    std::int64_t at_micros = 0;
};

struct Batch {
    PgSnapshot snapshot;  // every entry before `end` is visible in it
    std::size_t end = 0;  // absolute history position
};

}  // namespace

struct RankIndex::Impl {
    Options options;
    mutable std::shared_mutex mutex;
    bool loaded = false;
    PgSnapshot snapshot;
    std::vector<std::int64_t> ids;
    std::vector<RankInputs> inputs;
    std::unordered_map<std::int64_t, std::uint32_t> dense;
    std::map<std::int64_t, std::int64_t> purchase_counts;  // of visible products
    std::size_t visible = 0;
    std::int64_t newest_created = std::numeric_limits<std::int64_t>::min();
    std::deque<Entry> history;
    std::size_t trimmed = 0;  // entries dropped from the front
    std::deque<Batch> batches;
    std::int64_t history_start_micros = 0;
    std::shared_ptr<const Build> build;
    std::unordered_set<std::uint32_t> changed_since_build;
    std::uint64_t builds = 0;
    // Searchable words per product (lexeme id << 1 | in the name, ascending) and the lexemes.
    std::vector<std::vector<std::uint32_t>> text;
    std::unordered_map<std::string, std::uint32_t> lexeme_ids;
    std::size_t text_entries = 0;  // sum of text[d].size()
    bool has_text = false;

    // Under the exclusive lock.
    void set_text(std::uint32_t d, std::string_view lexemes, std::string_view name_lexemes) {
        if (text.size() <= d) text.resize(ids.size());
        std::unordered_set<std::string_view> in_name;
        for (auto w : split(name_lexemes)) in_name.insert(w);
        auto& entries = text[d];
        text_entries -= entries.size();
        entries.clear();
        for (auto w : split(lexemes)) {
            auto [it, inserted] = lexeme_ids.try_emplace(std::string(w), static_cast<std::uint32_t>(lexeme_ids.size()));
            entries.push_back((it->second << 1U) | (in_name.contains(w) ? 1U : 0U));
        }
        std::sort(entries.begin(), entries.end());
        entries.shrink_to_fit();
        text_entries += entries.size();
    }
    static std::vector<std::string_view> split(std::string_view s) {
        std::vector<std::string_view> out;
        while (!s.empty()) {
            const auto sp = s.find(' ');
            if (sp != 0) out.push_back(s.substr(0, sp));
            if (sp == std::string_view::npos) break;
            s.remove_prefix(sp + 1);
        }
        return out;
    }
    // The fraction of the build's sample passing `f`: its first 1 024 products, 4 096 when fewer
    // than 32 of those pass (selective filters need more of the sample to be seen at all).
    double sample_fraction(const RankScan::Build& b, const RankFilters& f) const {
        std::size_t hits = 0;
        std::size_t seen = 0;
        for (auto d : b.sample) {
            if (passes(d, inputs[d], f)) ++hits;
            ++seen;
            if ((seen == 1024 && hits >= 32) || seen == 4096) break;
        }
        return seen == 0 ? 1.0 : static_cast<double>(hits) / static_cast<double>(seen);
    }
    // The share of `set` (text matches, positions of `b`) passing `f`, from at most 256 of them
    // spread evenly (the text itself is checked only when the set is a superset).
    double share_passing(const RankScan::Build& b, const PositionSet& set, const RankFilters& f) const {
        RankFilters others = f;
        if (set.exact()) others.text.reset();
        if (!others.filtered() && set.exact()) return 1.0;
        const auto view = set.view();
        if (view.empty()) return 0.0;
        const std::size_t step = std::max<std::size_t>(1, view.size() / 256);
        std::size_t hits = 0;
        std::size_t seen = 0;
        for (std::size_t i = 0; i < view.size(); i += step, ++seen) {
            const auto d = b.order[view[i]];
            if (passes(d, inputs[d], others)) ++hits;
        }
        return static_cast<double>(hits) / static_cast<double>(seen);
    }
    // Facet counts of the products at `set` (exact text matches, positions of `b`) passing the
    // other filters, read from the build's per-position inputs (sequential reads, no lookups);
    // the delta set from the products' current inputs. Above 4 * exact_limit positions, an even
    // spread of 8 192 of them is counted and scaled, unless that estimates few matches.
    FacetCounts count_positions(const RankScan::Build& b, const PositionSet& set, const RankFilters& f,
                                std::size_t exact_limit) const;
    // Whether product `d` (with inputs `in` as of the query) passes every filter, text included.
    bool passes(std::uint32_t d, const RankInputs& in, const RankFilters& f) const {
        if (!in.visible || !f.accepts(in)) return false;
        if (!f.text) return true;
        static const std::vector<std::uint32_t> kNone;
        return text_matches(*f.text, f.text_predicate, d < text.size() ? text[d] : kNone);
    }

    std::size_t history_end() const { return trimmed + history.size(); }
    const Entry& entry(std::size_t absolute) const { return history[absolute - trimmed]; }

    std::int64_t current_max() const { return purchase_counts.empty() ? 0 : purchase_counts.rbegin()->first; }

    void count_in(const RankInputs& in) {
        if (!in.visible) return;
        ++purchase_counts[in.purchase_count];
        ++visible;
        newest_created = std::max(newest_created, in.created_micros);
    }
    void count_out(const RankInputs& in) {
        if (!in.visible) return;
        auto it = purchase_counts.find(in.purchase_count);
        if (it != purchase_counts.end() && --it->second == 0) purchase_counts.erase(it);
        --visible;
    }

    std::uint32_t dense_of(std::int64_t id) {
        auto [it, inserted] = dense.try_emplace(id, static_cast<std::uint32_t>(ids.size()));
        if (inserted) {
            ids.push_back(id);
            inputs.emplace_back();
        }
        return it->second;
    }

    std::shared_ptr<Build> make_build(std::int64_t now_micros) const;
    void make_postings(Build& b) const;
    void install(std::shared_ptr<const Build> b);
};

std::shared_ptr<Build> RankIndex::Impl::make_build(std::int64_t now_micros) const {
    struct Item {
        double key;
        std::int64_t id;
        std::uint32_t dense;
    };
    auto b = std::make_shared<Build>();
    std::vector<Item> items;
    std::vector<std::int64_t> categories;  // by dense
    std::vector<std::int64_t> item_prices;  // by dense
    std::vector<std::uint8_t> stocked;      // by dense
    std::size_t dense_count = 0;
    {
        std::shared_lock lock(mutex);
        b->snapshot = snapshot;
        b->history_end = history_end();
        b->max_purchase = current_max();
        b->now_micros = now_micros;
        b->newest_created = newest_created;
        dense_count = ids.size();
        items.reserve(visible);
        categories.resize(dense_count);
        item_prices.resize(dense_count);
        stocked.resize(dense_count);
        for (std::uint32_t d = 0; d < dense_count; ++d) {
            const auto& in = inputs[d];
            if (!in.visible) continue;
            items.push_back(Item{rank_score(in, b->max_purchase, now_micros), ids[d], d});
            categories[d] = in.category_id;
            item_prices[d] = in.price_cents;
            stocked[d] = in.in_stock ? 1 : 0;
        }
    }
    std::sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
        return x.key > y.key || (x.key == y.key && x.id > y.id);
    });
    b->order.reserve(items.size());
    b->keys.reserve(items.size());
    b->position.assign(dense_count, kNoPosition);
    std::unordered_map<std::int64_t, std::uint32_t> category_index;
    b->pos_category.reserve(items.size());
    b->pos_price.reserve(items.size());
    b->pos_band.reserve(items.size());
    b->pos_in_stock.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto d = items[i].dense;
        b->order.push_back(d);
        b->keys.push_back(items[i].key);
        b->position[d] = static_cast<std::uint32_t>(i);
        b->by_category[categories[d]].push_back(static_cast<std::uint32_t>(i));
        auto [it, added] = category_index.try_emplace(categories[d], static_cast<std::uint32_t>(category_index.size()));
        if (added) b->category_of_index.push_back(categories[d]);
        b->pos_category.push_back(it->second);
        b->pos_price.push_back(item_prices[d]);
        b->pos_band.push_back(static_cast<std::uint8_t>(band_of(item_prices[d])));
        b->pos_in_stock.push_back(stocked[d]);
    }
    b->by_price = b->order;
    std::sort(b->by_price.begin(), b->by_price.end(), [&](std::uint32_t x, std::uint32_t y) {
        return item_prices[x] < item_prices[y] || (item_prices[x] == item_prices[y] && x < y);
    });
    b->prices.reserve(b->by_price.size());
    for (auto d : b->by_price) b->prices.push_back(item_prices[d]);
    // A random sample without repetition (partial Fisher-Yates over the positions).
    std::vector<std::uint32_t> pool = b->order;
    std::mt19937_64 rng(options.seed ^ b->history_end);
    const std::size_t n = std::min(options.sample_size, pool.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::uniform_int_distribution<std::size_t> pick(i, pool.size() - 1);
        std::swap(pool[i], pool[pick(rng)]);
    }
    pool.resize(n);
    b->sample = std::move(pool);
    make_postings(*b);
    return b;
}

// The build's postings from the products' words. The words are copied in chunks, each under the
// shared lock for a moment, so a catch-up is never held up for the whole copy. A product whose
// words changed after the build's snapshot may be copied with its new words: harmless, since
// every such product is in the delta set of every query on this build (install() marks it).
void RankIndex::Impl::make_postings(Build& b) const {
    constexpr std::size_t kChunk = 32'768;
    const std::size_t n = b.order.size();
    std::vector<std::size_t> starts(n + 1, 0);
    std::vector<std::uint32_t> words;
    std::size_t lexemes = 0;
    for (std::size_t from = 0; from < n; from += kChunk) {
        std::shared_lock lock(mutex);
        if (!has_text) return;
        if (from == 0) words.reserve(text_entries + text_entries / 8);
        for (std::size_t i = from; i < std::min(n, from + kChunk); ++i) {
            starts[i] = words.size();
            const auto d = b.order[i];
            if (d >= text.size()) continue;
            words.insert(words.end(), text[d].begin(), text[d].end());
        }
        lexemes = lexeme_ids.size();
    }
    starts[n] = words.size();
    auto& all = b.anywhere;
    auto& name = b.in_name;
    all.offsets.assign(lexemes + 1, 0);
    name.offsets.assign(lexemes + 1, 0);
    for (auto w : words) {
        const auto l = w >> 1U;
        if (l >= lexemes) continue;  // added during the copy: changed since the build
        ++all.offsets[l + 1];
        if ((w & 1U) != 0) ++name.offsets[l + 1];
    }
    for (std::size_t l = 0; l < lexemes; ++l) {
        all.offsets[l + 1] += all.offsets[l];
        name.offsets[l + 1] += name.offsets[l];
    }
    all.positions.resize(all.offsets[lexemes]);
    name.positions.resize(name.offsets[lexemes]);
    std::vector<std::size_t> all_at(all.offsets.begin(), all.offsets.end() - 1);
    std::vector<std::size_t> name_at(name.offsets.begin(), name.offsets.end() - 1);
    for (std::size_t i = 0; i < n; ++i) {
        const auto p = static_cast<std::uint32_t>(i);
        for (std::size_t k = starts[i]; k < starts[i + 1]; ++k) {
            const auto w = words[k];
            const auto l = w >> 1U;
            if (l >= lexemes) continue;
            all.positions[all_at[l]++] = p;
            if ((w & 1U) != 0) name.positions[name_at[l]++] = p;
        }
    }
    b.has_postings = true;
}

// Under the exclusive lock.
void RankIndex::Impl::install(std::shared_ptr<const Build> b) {
    if (build && build->history_end > b->history_end) return;  // a newer build won the race
    build = std::move(b);
    ++builds;
    changed_since_build.clear();
    for (std::size_t i = std::max(build->history_end, trimmed); i < history_end(); ++i) {
        changed_since_build.insert(entry(i).dense);
    }
}

// ---- RankIndex ----------------------------------------------------------------------------------------

RankIndex::RankIndex() : RankIndex(Options{}) {}

RankIndex::RankIndex(Options options) : impl_(std::make_shared<Impl>()) {
    impl_->options = options;
}

void RankIndex::reset(PgSnapshot snapshot,
                      const std::vector<std::pair<std::int64_t, RankInputs>>& products,
                      std::vector<RankChange> history,
                      std::int64_t now_micros,
                      const std::vector<ProductText>* texts) {
    auto& s = *impl_;
    {
        std::unique_lock lock(s.mutex);
        s.snapshot = std::move(snapshot);
        s.ids.clear();
        s.inputs.clear();
        s.dense.clear();
        s.purchase_counts.clear();
        s.visible = 0;
        s.newest_created = std::numeric_limits<std::int64_t>::min();
        s.history.clear();
        s.batches.clear();
        s.trimmed = 0;
        s.build.reset();
        s.changed_since_build.clear();
        s.text.clear();
        s.text_entries = 0;
        s.lexeme_ids.clear();
        s.has_text = false;
        s.ids.reserve(products.size());
        s.inputs.reserve(products.size());
        s.dense.reserve(products.size());
        for (const auto& [id, in] : products) {
            const auto d = s.dense_of(id);
            s.count_out(s.inputs[d]);
            s.inputs[d] = in;
            s.count_in(in);
        }
        std::sort(history.begin(), history.end(), [](const RankChange& a, const RankChange& b) {
            return a.seq < b.seq;
        });
        for (auto& c : history) {
            Entry e;
            e.xid = c.xid;
            e.dense = s.dense_of(c.product_id);
            if (c.before) e.before = *c.before;
            e.at_micros = c.at_micros;
            s.history.push_back(e);
        }
        s.batches.push_back(Batch{s.snapshot, s.history_end()});
        s.history_start_micros = now_micros - s.options.history_micros;
        if (texts != nullptr) {
            s.text.resize(s.ids.size());
            for (const auto& t : *texts) s.set_text(s.dense_of(t.product_id), t.lexemes, t.name_lexemes);
            s.has_text = true;
        }
        s.loaded = true;
    }
    auto b = s.make_build(now_micros);
    std::unique_lock lock(s.mutex);
    s.install(std::move(b));
}

bool RankIndex::apply(const PgSnapshot& snapshot, std::vector<RankChange> changes) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    if (!s.loaded || !s.snapshot.within(snapshot)) return false;
    std::sort(changes.begin(), changes.end(), [](const RankChange& a, const RankChange& b) {
        return a.seq < b.seq;
    });
    for (const auto& c : changes) {
        if (s.snapshot.sees(c.xid)) continue;  // applied by an earlier catch-up
        const auto d = s.dense_of(c.product_id);
        Entry e;
        e.xid = c.xid;
        e.dense = d;
        e.before = s.inputs[d];
        e.at_micros = c.at_micros;
        s.history.push_back(e);
        s.count_out(s.inputs[d]);
        s.inputs[d] = c.after;
        s.count_in(c.after);
        s.changed_since_build.insert(d);
        if (s.has_text && c.text) s.set_text(d, c.text->lexemes, c.text->name_lexemes);
    }
    const bool moved = !(s.snapshot == snapshot);
    s.snapshot = snapshot;
    if (moved) s.batches.push_back(Batch{snapshot, s.history_end()});
    return moved;
}

void RankIndex::trim(std::int64_t now_micros) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    const auto cutoff = now_micros - s.options.history_micros;
    const std::size_t keep_from = s.build ? s.build->history_end : s.trimmed;
    while (!s.history.empty() && s.history.front().at_micros < cutoff && s.trimmed < keep_from) {
        s.history.pop_front();
        ++s.trimmed;
    }
    while (s.batches.size() > 1 && s.batches.front().end <= s.trimmed) s.batches.pop_front();
    s.history_start_micros = std::max(s.history_start_micros, cutoff);
}

bool RankIndex::loaded() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->loaded;
}

PgSnapshot RankIndex::snapshot() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->snapshot;
}

std::int64_t RankIndex::max_purchase() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->current_max();
}

std::size_t RankIndex::size() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->visible;
}

bool RankIndex::needs_rebuild(std::int64_t now_micros) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    if (!s.loaded) return false;
    if (!s.build) return true;
    const auto& b = *s.build;
    if (s.has_text && !b.has_postings) return true;
    if (s.changed_since_build.size() >= s.options.rebuild_after_changes) return true;
    const bool stale = now_micros - b.now_micros >= s.options.rebuild_after_micros;
    if (stale && !s.changed_since_build.empty()) return true;
    // Freshness falls with time for products younger than 30 days: their bound loosens.
    if (stale && static_cast<double>(now_micros - s.newest_created) < kFreshnessMicros) return true;
    const auto m = s.current_max();
    if (m != b.max_purchase) {
        if (b.max_purchase == 0 || m < b.max_purchase) return true;
        if (static_cast<double>(m) > static_cast<double>(b.max_purchase) * (1.0 + s.options.rebuild_after_max_growth))
            return true;
    }
    return false;
}

void RankIndex::rebuild(std::int64_t now_micros) {
    auto b = impl_->make_build(now_micros);
    std::unique_lock lock(impl_->mutex);
    impl_->install(std::move(b));
}

void RankIndex::set_texts(const std::vector<ProductText>& texts) {
    auto& s = *impl_;
    std::unique_lock lock(s.mutex);
    s.text.resize(s.ids.size());
    const bool posted = s.build && s.build->has_postings;
    for (const auto& t : texts) {
        const auto d = s.dense_of(t.product_id);
        s.set_text(d, t.lexemes, t.name_lexemes);
        if (posted) s.changed_since_build.insert(d);  // its postings in the build are stale
    }
    s.has_text = true;
}

bool RankIndex::has_text() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->has_text;
}

bool RankIndex::has_postings() const {
    std::shared_lock lock(impl_->mutex);
    return impl_->build && impl_->build->has_postings;
}

std::shared_ptr<const TextQuery> RankIndex::compile_text(std::string_view tsquery) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    if (!s.has_text) return nullptr;
    auto q = std::make_shared<TextQuery>();
    TsqueryParser parser(tsquery, [&s](const std::string& lexeme) {
        auto it = s.lexeme_ids.find(lexeme);
        return it == s.lexeme_ids.end() ? kUnknownLexeme : it->second;
    });
    if (!parser.parse(*q)) return nullptr;
    return q;
}

double RankIndex::estimate_fraction(const RankFilters& filters) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    if (!s.build) return 1.0;
    const auto& b = *s.build;
    if (filters.text) {
        if (auto set = text_positions(b, *filters.text, filters.text_predicate, Laziness{s.options.lazy_lists_above, 21})) {
            return s.share_passing(b, *set, filters) * static_cast<double>(set->size()) /
                   std::max<double>(1.0, static_cast<double>(b.order.size()));
        }
    }
    return s.sample_fraction(b, filters);
}

std::optional<bool> RankIndex::has_match(const RankFilters& filters) const {
    {
        std::shared_lock lock(impl_->mutex);
        if (!impl_->build) return std::nullopt;
        if (filters.text && !impl_->build->has_postings) return std::nullopt;
    }
    RankRequest request;
    request.filters = filters;
    request.want = 1;
    std::vector<RankedId> found;
    if (rank(request, found)) return std::nullopt;
    return !found.empty();
}

bool RankIndex::sample_has_match(const RankFilters& filters) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    if (!s.build) return false;
    return std::ranges::any_of(s.build->sample, [&](auto d) { return s.passes(d, s.inputs[d], filters); });
}

std::optional<RankInputs> RankIndex::inputs(std::int64_t product_id) const {
    std::shared_lock lock(impl_->mutex);
    auto it = impl_->dense.find(product_id);
    if (it == impl_->dense.end()) return std::nullopt;
    return impl_->inputs[it->second];
}

// ---- queries --------------------------------------------------------------------------------------

struct RankScan::State {
    std::shared_ptr<const RankIndex::Impl> impl;
    std::shared_ptr<const Build> build;
    RankFilters filters;
    std::optional<RankKey> after;
    std::size_t want = 0;
    PgSnapshot snapshot;
    std::int64_t max_purchase = 0;
    std::int64_t now_micros = 0;
    // Bounds between the build's key K and the true score s (see the header).
    double alpha = 1, beta = 0, gamma = 1, delta = 0;
    bool exact_bound = true;  // alpha == 1 and beta == 0: s <= K exactly, equal K in id order

    std::vector<RankedId> changed;                           // the delta set, scored
    std::unordered_set<std::uint32_t> skip;                  // its products
    std::unordered_map<std::uint32_t, RankInputs> late;      // changed during the scan: as of P
    std::size_t history_seen = 0;
    bool changed_sent = false;

    enum class Mode { kOrder, kCategories, kList, kPositions };
    Mode mode = Mode::kOrder;
    // kPositions: the text's matches from the postings, in K order (`text_exact`: the text need
    // not be checked again).
    std::optional<PositionSet> text_set;
    bool text_exact = false;
    std::size_t text_pos = 0;
    std::size_t pos = 0;                    // kOrder: next position
    std::vector<std::pair<const std::vector<std::uint32_t>*, std::size_t>> lists;  // kCategories
    std::vector<std::pair<std::uint32_t, std::size_t>> merge;  // (position, list), min-heap
    std::vector<std::uint32_t> list;        // kList: dense indices
    std::size_t list_pos = 0;
    std::size_t list_skip_below = 0;        // kList after a switch: positions already scanned
    std::size_t visited = 0;
    std::size_t switch_after = std::numeric_limits<std::size_t>::max();
    // A bounded candidate list to enumerate instead when a scan visits too much (made on demand).
    enum class Fallback { kNone, kPrice, kCategories };
    Fallback fallback = Fallback::kNone;
    // (The flags sit next to `fallback`, where they fill its padding.)
    bool list_after_switch = false;  // kList is the fallback switched to (list_skip_below applies)
    bool restricted = false;         // only_ids was given: `only` holds them
    std::size_t price_lo = 0;
    std::size_t price_hi = 0;
    std::vector<const std::vector<std::uint32_t>*> category_lists;
    std::unordered_set<std::uint32_t> only;             // only_ids as dense indices (kList)

    std::vector<RankedId> heap;  // the best `want`, worst on top
    double bound = kInfinity;    // upper bound of every candidate not yet produced
    std::int64_t next_id = 0;    // id at the next position (exact-bound tie breaking)
    bool exhausted = false;

    void push(const RankedId& r) {
        if (heap.size() < want) {
            heap.push_back(r);
            std::push_heap(heap.begin(), heap.end(), ranks_before);
        } else if (!heap.empty() && ranks_before(r, heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), ranks_before);
            heap.back() = r;
            std::push_heap(heap.begin(), heap.end(), ranks_before);
        }
    }
    bool finished() const {
        if (exhausted || want == 0) return true;
        if (heap.size() < want) return false;
        const auto& worst = heap.front();
        if (worst.score > bound) return true;
        return exact_bound && worst.score == bound && worst.id > next_id;
    }
};

namespace {

using State = RankScan::State;

// Upper bound of the true score of a product with build key `k`.
double upper(const State& st, double k) {
    if (st.exact_bound) return k;
    return st.alpha * k + st.beta + 1e-12;
}

// Incorporates changes applied since the scan began (under the shared lock).
void catch_up_late(State& st) {
    const auto& s = *st.impl;
    if (s.history_end() == st.history_seen) return;
    if (st.history_seen < s.trimmed) throw std::logic_error("rank scan: history trimmed under a running scan");
    for (std::size_t i = st.history_seen; i < s.history_end(); ++i) {
        const auto& e = s.entry(i);
        if (st.skip.contains(e.dense)) continue;
        st.late.try_emplace(e.dense, e.before);
    }
    st.history_seen = s.history_end();
}

const RankInputs& inputs_at(const State& st, std::uint32_t d) {
    if (auto it = st.late.find(d); it != st.late.end()) return it->second;
    return st.impl->inputs[d];
}

// Scores product `d` (not in the delta set) and emits it when it qualifies.
template <typename Emit>
void consider(State& st, std::uint32_t d, Emit& emit, bool text_known = false) {
    ++st.visited;
    if (st.skip.contains(d)) return;
    if (st.restricted && !st.only.contains(d)) return;
    const auto& in = inputs_at(st, d);
    if (text_known ? !(in.visible && st.filters.accepts(in)) : !st.impl->passes(d, in, st.filters)) return;
    const auto id = st.impl->ids[d];
    const double score = rank_score(in, st.max_purchase, st.now_micros);
    if (st.after && !after_key(score, id, *st.after)) return;
    emit(RankedId{id, score, in});
}

void update_bound(State& st) {
    const auto& b = *st.build;
    std::optional<std::size_t> next;  // the position the walk reaches next
    switch (st.mode) {
        case State::Mode::kOrder:
            if (st.pos < b.order.size()) next = st.pos;
            break;
        case State::Mode::kCategories:
            if (!st.merge.empty()) next = st.merge.front().first;
            break;
        case State::Mode::kPositions:
            if (st.text_pos < st.text_set->size()) next = st.text_set->view()[st.text_pos];
            break;
        case State::Mode::kList:  // an enumeration in no order: no bound until it ends
            if (st.list_pos < st.list.size()) {
                st.bound = kInfinity;
                return;
            }
            break;
    }
    if (next) {
        st.bound = upper(st, b.keys[*next]);
        st.next_id = st.impl->ids[b.order[*next]];
    } else {
        st.exhausted = true;
        st.bound = -kInfinity;
    }
}

constexpr auto kMergeGreater = [](const std::pair<std::uint32_t, std::size_t>& a,
                                  const std::pair<std::uint32_t, std::size_t>& b) { return a.first > b.first; };

// The scan visited too much for what it found: enumerate the bounded fallback list instead,
// skipping what the scan already covered (positions before its frontier).
std::vector<std::uint32_t> price_list(const State& st) {
    const auto& b = *st.build;
    return {b.by_price.begin() + static_cast<std::ptrdiff_t>(st.price_lo),
            b.by_price.begin() + static_cast<std::ptrdiff_t>(st.price_hi)};
}

std::vector<std::uint32_t> category_list(const State& st) {
    const auto& b = *st.build;
    std::vector<std::uint32_t> out;
    for (const auto* l : st.category_lists) {
        for (auto p : *l) out.push_back(b.order[p]);
    }
    return out;
}

void switch_to_fallback(State& st) {
    std::size_t frontier = 0;
    if (st.mode == State::Mode::kOrder) {
        frontier = st.pos;
    } else if (st.mode == State::Mode::kCategories) {
        frontier = st.merge.empty() ? st.build->order.size() : st.merge.front().first;
    } else if (st.mode == State::Mode::kPositions) {
        frontier = st.text_pos < st.text_set->size() ? st.text_set->view()[st.text_pos] : st.build->order.size();
    }
    st.mode = State::Mode::kList;
    st.list = st.fallback == State::Fallback::kPrice ? price_list(st) : category_list(st);
    st.fallback = State::Fallback::kNone;
    st.list_pos = 0;
    st.list_after_switch = true;
    st.list_skip_below = frontier;
}

// Produces candidates until `max_emit` were emitted, the scan is exhausted, or `stop()` says so.
template <typename Emit, typename Stop>
void produce(State& st, std::size_t max_emit, Emit&& emit, Stop&& stop) {
    const auto& b = *st.build;
    std::size_t emitted = 0;
    auto counted = [&](const RankedId& r) {
        ++emitted;
        emit(r);
    };
    update_bound(st);
    while (!st.exhausted && emitted < max_emit && !stop()) {
        if (st.fallback != State::Fallback::kNone && st.visited > st.switch_after) switch_to_fallback(st);
        switch (st.mode) {
            case State::Mode::kOrder:
                consider(st, b.order[st.pos], counted);
                ++st.pos;
                break;
            case State::Mode::kCategories: {
                std::pop_heap(st.merge.begin(), st.merge.end(), kMergeGreater);
                auto [p, li] = st.merge.back();
                st.merge.pop_back();
                auto& [vec, next] = st.lists[li];
                if (++next < vec->size()) {
                    st.merge.emplace_back((*vec)[next], li);
                    std::push_heap(st.merge.begin(), st.merge.end(), kMergeGreater);
                }
                consider(st, b.order[p], counted);
                break;
            }
            case State::Mode::kPositions:
                consider(st, b.order[st.text_set->view()[st.text_pos++]], counted, st.text_exact);
                break;
            case State::Mode::kList: {
                const auto d = st.list[st.list_pos++];
                if (st.list_after_switch) {
                    const auto p = d < b.position.size() ? b.position[d] : kNoPosition;
                    if (p != kNoPosition && p < st.list_skip_below) break;
                }
                consider(st, d, counted);
                break;
            }
        }
        update_bound(st);
    }
}

}  // namespace

std::optional<RankError> RankIndex::begin(const RankRequest& request, RankScan& scan) const {
    const auto& s = *impl_;
    auto st = std::make_shared<State>();
    std::shared_lock lock(s.mutex);
    if (!s.loaded || !s.build) return RankError::kNotLoaded;
    const bool current = !request.as_of || *request.as_of == s.snapshot;
    if (request.as_of) {
        if (!current && !request.as_of->within(s.snapshot)) return RankError::kBehind;
        if (!request.now_micros || *request.now_micros < s.history_start_micros + kExpiryMarginMicros)
            return RankError::kSnapshotExpired;
    }
    st->impl = impl_;
    st->build = s.build;
    st->filters = request.filters;
    st->after = request.after;
    st->want = request.want;
    st->snapshot = current ? s.snapshot : *request.as_of;
    st->max_purchase = request.max_purchase.value_or(s.current_max());
    st->now_micros = request.now_micros.value_or(wall_micros());
    st->history_seen = s.history_end();
    const auto& b = *st->build;

    // Bounds between the build's keys and the true scores (see the header).
    const auto mb = b.max_purchase;
    const auto mp = st->max_purchase;
    if (mp > 0 && mb > mp) st->alpha = static_cast<double>(mb) / static_cast<double>(mp);
    if (b.now_micros > st->now_micros)
        st->beta = kFreshnessWeight * static_cast<double>(b.now_micros - st->now_micros) / kFreshnessMicros;
    if (mb > 0 && mp > mb) st->gamma = static_cast<double>(mb) / static_cast<double>(mp);
    if (mb > 0 && mp == 0) st->gamma = 0;
    if (st->now_micros > b.now_micros)
        st->delta = kFreshnessWeight * static_cast<double>(st->now_micros - b.now_micros) / kFreshnessMicros;
    st->exact_bound = st->alpha == 1.0 && st->beta == 0.0;

    if (request.only_ids) {
        st->restricted = true;
        for (auto id : *request.only_ids) {
            if (auto it = s.dense.find(id); it != s.dense.end()) st->only.insert(it->second);
        }
    }

    // The delta set: products whose inputs differ between the build and P.
    std::unordered_map<std::uint32_t, std::optional<RankInputs>> as_of;  // nullopt: the current inputs
    if (current) {
        for (auto d : s.changed_since_build) as_of.emplace(d, std::nullopt);
    } else {
        std::size_t boundary = s.trimmed;
        const auto newest = std::find_if(s.batches.rbegin(), s.batches.rend(), [&](const Batch& batch) {
            return batch.snapshot.within(st->snapshot);
        });
        if (newest != s.batches.rend()) boundary = newest->end;
        const auto start = std::max(s.trimmed, std::min(boundary, b.history_end));
        for (std::size_t i = start; i < s.history_end(); ++i) {
            const auto& e = s.entry(i);
            auto [slot, inserted] = as_of.try_emplace(e.dense, std::nullopt);
            if (slot->second) continue;  // decided: an earlier change is not visible in P
            if (!st->snapshot.sees(e.xid)) slot->second = e.before;
        }
    }
    for (const auto& [d, maybe] : as_of) {
        st->skip.insert(d);
        const auto& in = maybe ? *maybe : s.inputs[d];
        if (!s.passes(d, in, st->filters)) continue;
        if (st->restricted && !st->only.contains(d)) continue;
        const auto id = s.ids[d];
        const double score = rank_score(in, st->max_purchase, st->now_micros);
        if (st->after && !after_key(score, id, *st->after)) continue;
        st->changed.push_back(RankedId{id, score, in});
    }

    // The access path. Candidate lists: the price range, the category subtree, the given ids.
    const std::size_t n = b.order.size();
    std::size_t price_lo = 0;
    std::size_t price_hi = n;
    if (request.filters.min_price) {
        price_lo = static_cast<std::size_t>(
            std::lower_bound(b.prices.begin(), b.prices.end(), *request.filters.min_price) - b.prices.begin());
    }
    if (request.filters.max_price) {
        price_hi = static_cast<std::size_t>(
            std::upper_bound(b.prices.begin(), b.prices.end(), *request.filters.max_price) - b.prices.begin());
    }
    const std::size_t price_count = price_hi > price_lo ? price_hi - price_lo : 0;
    std::size_t category_count = n;
    std::vector<const std::vector<std::uint32_t>*> category_lists;
    if (request.filters.category_ids) {
        category_count = 0;
        for (auto c : *request.filters.category_ids) {
            if (auto it = b.by_category.find(c); it != b.by_category.end()) {
                category_lists.push_back(&it->second);
                category_count += it->second.size();
            }
        }
    }
    // A text predicate the postings answer: its matches, in K order.
    std::optional<PositionSet> text_set;
    if (request.filters.text && !st->restricted) {
        text_set = text_positions(b, *request.filters.text, request.filters.text_predicate,
                                  Laziness{s.options.lazy_lists_above, request.want});
    }
    // How many of the build's products pass every filter, estimated from the sample: its first
    // 1 024 products, or all of it when the filters are selective (few hits). With the text's
    // matches at hand: their number times the share of them passing the other filters.
    const bool filtered = request.filters.filtered();
    double within = 1.0;  // of the text's matches, the share passing the other filters
    if (text_set) within = s.share_passing(b, *text_set, request.filters);
    const double fraction = text_set          ? within * static_cast<double>(text_set->size()) /
                                                    std::max<double>(1.0, static_cast<double>(n))
                            : request.fraction ? *request.fraction
                            : filtered         ? s.sample_fraction(b, request.filters)
                                               : 1.0;
    scan.estimated_matches_ = fraction * static_cast<double>(n);
    const double want = static_cast<double>(std::max<std::size_t>(request.want, 1));
    // Expected visits of a scan in key order to find `want` results (capped by its population).
    const double per_hit = fraction > 0 ? 1.0 / fraction : static_cast<double>(n) + 1.0;
    const double order_cost = std::min(static_cast<double>(n), want * per_hit);
    const double category_cost =
        std::min(static_cast<double>(category_count),
                 want * per_hit * static_cast<double>(category_count) / std::max<double>(1.0, static_cast<double>(n)));
    const double text_cost = text_set ? std::min(static_cast<double>(text_set->size()),
                                                 within > 0 ? want / within : static_cast<double>(n))
                                      : static_cast<double>(n);

    st->price_lo = price_lo;
    st->price_hi = price_hi;
    st->category_lists = std::move(category_lists);
    std::size_t smallest_size = n;
    auto smallest = State::Fallback::kNone;
    if (!st->restricted && (request.filters.min_price || request.filters.max_price || request.filters.category_ids)) {
        smallest = price_count <= category_count ? State::Fallback::kPrice : State::Fallback::kCategories;
        smallest_size = std::min(price_count, category_count);
    }

    const bool use_text = text_set && text_cost <= order_cost;
    const bool use_categories = !use_text && request.filters.category_ids && category_cost < order_cost;
    const double scan_cost = use_text ? text_cost : use_categories ? category_cost : order_cost;
    // Skip what certainly ranks above the cursor: gamma*K - delta > after.score.
    std::size_t start = 0;
    if (request.after && st->gamma > 0) {
        const double cut = request.after->score;
        auto first = std::partition_point(b.keys.begin(), b.keys.end(), [&](double k) {
            return st->gamma * k - st->delta > cut + 1e-12;
        });
        start = static_cast<std::size_t>(first - b.keys.begin());
    }
    if (st->restricted) {
        st->mode = State::Mode::kList;
        st->list.assign(st->only.begin(), st->only.end());
    } else if (smallest != State::Fallback::kNone &&
               (smallest_size <= kAlwaysEnumerate || static_cast<double>(smallest_size) <= scan_cost)) {
        st->mode = State::Mode::kList;
        st->list = smallest == State::Fallback::kPrice ? price_list(*st) : category_list(*st);
    } else {
        if (use_text) {
            st->mode = State::Mode::kPositions;
            st->text_exact = text_set->exact();
            st->text_set = std::move(text_set);
            const auto view = st->text_set->view();
            st->text_pos = static_cast<std::size_t>(std::lower_bound(view.begin(), view.end(), start) - view.begin());
        } else if (use_categories) {
            st->mode = State::Mode::kCategories;
            for (const auto* l : st->category_lists) st->lists.emplace_back(l, 0);
        } else {
            st->mode = State::Mode::kOrder;
        }
        if (smallest != State::Fallback::kNone) {
            st->fallback = smallest;
            st->switch_after = std::max<std::size_t>(4 * smallest_size, 4096);
        }
        if (st->mode == State::Mode::kOrder) {
            st->pos = start;
        } else if (st->mode == State::Mode::kCategories) {
            for (std::size_t li = 0; li < st->lists.size(); ++li) {
                auto& [vec, next] = st->lists[li];
                next = static_cast<std::size_t>(std::lower_bound(vec->begin(), vec->end(), start) - vec->begin());
                if (next < vec->size()) st->merge.emplace_back((*vec)[next], li);
            }
            std::make_heap(st->merge.begin(), st->merge.end(), kMergeGreater);
        }
    }
    scan.state_ = std::move(st);
    scan.snapshot_ = scan.state_->snapshot;
    scan.max_purchase_ = scan.state_->max_purchase;
    scan.now_micros_ = scan.state_->now_micros;
    scan.scanned_ = 0;
    return std::nullopt;
}

RankScan::Block RankScan::next(std::size_t n) {
    Block block;
    if (!state_) {
        block.last = true;
        return block;
    }
    auto& st = *state_;
    std::shared_lock lock(st.impl->mutex);
    catch_up_late(st);
    if (!st.changed_sent) {
        block.candidates = st.changed;
        st.changed_sent = true;
    }
    produce(
        st, n, [&](const RankedId& r) { block.candidates.push_back(r); }, [] { return false; });
    scanned_ = st.visited + st.changed.size();
    block.last = st.exhausted;
    return block;
}

void RankScan::offer(const std::vector<RankedId>& matched) {
    if (!state_) return;
    for (const auto& r : matched) state_->push(r);
}

bool RankScan::done() const {
    return !state_ || state_->finished();
}

std::vector<RankedId> RankScan::results() const {
    if (!state_) return {};
    auto out = state_->heap;
    std::sort(out.begin(), out.end(), ranks_before);
    return out;
}

std::optional<RankError> RankIndex::rank(const RankRequest& request, RankScan& scan) const {
    if (auto error = begin(request, scan)) return error;
    auto& st = *scan.state_;
    std::shared_lock lock(impl_->mutex);
    catch_up_late(st);
    for (const auto& r : st.changed) st.push(r);
    st.changed_sent = true;
    produce(
        st, std::numeric_limits<std::size_t>::max(), [&](const RankedId& r) { st.push(r); }, [&] { return st.finished(); });
    scan.scanned_ = st.visited + st.changed.size();
    return std::nullopt;
}

std::optional<RankError> RankIndex::rank(const RankRequest& request, std::vector<RankedId>& out) const {
    RankScan scan;
    if (auto error = rank(request, scan)) return error;
    out = scan.results();
    return std::nullopt;
}

std::optional<std::vector<std::int64_t>> RankIndex::candidates(const RankFilters& filters, std::size_t limit) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    if (!s.build) return std::nullopt;
    const auto& b = *s.build;
    std::size_t lo = 0;
    std::size_t hi = b.by_price.size();
    if (filters.min_price)
        lo = static_cast<std::size_t>(std::lower_bound(b.prices.begin(), b.prices.end(), *filters.min_price) -
                                      b.prices.begin());
    if (filters.max_price)
        hi = static_cast<std::size_t>(std::upper_bound(b.prices.begin(), b.prices.end(), *filters.max_price) -
                                      b.prices.begin());
    const std::size_t price_count = hi > lo ? hi - lo : 0;
    std::size_t category_count = b.order.size();
    if (filters.category_ids) {
        category_count = 0;
        for (auto c : *filters.category_ids) {
            if (auto it = b.by_category.find(c); it != b.by_category.end()) category_count += it->second.size();
        }
    }
    // The candidates before the other filters bound the result; more than 4x the limit is not
    // worth walking.
    if (std::min(price_count, category_count) > 4 * limit + s.changed_since_build.size()) return std::nullopt;
    std::vector<std::int64_t> out;
    auto take = [&](std::uint32_t d) {
        if (s.changed_since_build.contains(d)) return true;
        const auto& in = s.inputs[d];
        if (s.passes(d, in, filters)) out.push_back(s.ids[d]);
        return out.size() <= limit;
    };
    bool fits = true;
    if (price_count <= category_count) {
        for (std::size_t i = lo; i < hi && fits; ++i) fits = take(b.by_price[i]);
    } else {
        for (auto c : *filters.category_ids) {
            auto it = b.by_category.find(c);
            if (it == b.by_category.end()) continue;
            for (auto p : it->second) {
                if (!(fits = take(b.order[p]))) break;
            }
            if (!fits) break;
        }
    }
    for (auto d : s.changed_since_build) {
        if (!fits) break;
        const auto& in = s.inputs[d];
        if (s.passes(d, in, filters)) out.push_back(s.ids[d]);
        fits = out.size() <= limit;
    }
    if (!fits) return std::nullopt;
    return out;
}

// ---- facets -----------------------------------------------------------------------------------------

namespace {


struct Tally {
    std::unordered_map<std::int64_t, std::int64_t> categories;
    std::vector<std::int64_t> bands = std::vector<std::int64_t>(facet_price_bands().size(), 0);
    std::int64_t total = 0;
    void add(const RankInputs& in) {
        ++categories[in.category_id];
        ++bands[band_of(in.price_cents)];
        ++total;
    }
    FacetCounts finish(double scale, bool approximate) const {
        FacetCounts out;
        out.approximate = approximate;
        auto scaled = [&](std::int64_t v) { return static_cast<std::int64_t>(std::llround(static_cast<double>(v) * scale)); };
        out.total = scaled(total);
        for (const auto& [c, v] : categories) out.categories.push_back(FacetCategory{c, scaled(v)});
        std::sort(out.categories.begin(), out.categories.end(), [](const FacetCategory& a, const FacetCategory& b) {
            return a.count > b.count || (a.count == b.count && a.category_id < b.category_id);
        });
        const auto& edges = facet_price_bands();
        for (std::size_t i = 0; i < edges.size(); ++i) {
            FacetBand band;
            band.min_cents = edges[i];
            if (i + 1 < edges.size()) band.max_cents = edges[i + 1];
            band.count = scaled(bands[i]);
            out.price.push_back(band);
        }
        return out;
    }
};

}  // namespace

FacetCounts RankIndex::facets(const RankFilters& filters,
                              const std::vector<std::int64_t>* matches,
                              std::size_t exact_limit) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    Tally tally;
    if (matches != nullptr) {
        std::unordered_set<std::uint32_t> seen;
        for (auto id : *matches) {
            auto it = s.dense.find(id);
            if (it == s.dense.end() || !seen.insert(it->second).second) continue;
            const auto& in = s.inputs[it->second];
            if (s.passes(it->second, in, filters)) tally.add(in);
        }
        return tally.finish(1.0, false);
    }
    if (!s.build) return tally.finish(1.0, false);
    const auto& b = *s.build;
    // The smallest candidate list of the build (the price range, the category subtree, the text's
    // matches), then every product changed since it.
    std::size_t lo = 0;
    std::size_t hi = b.by_price.size();
    if (filters.min_price)
        lo = static_cast<std::size_t>(std::lower_bound(b.prices.begin(), b.prices.end(), *filters.min_price) -
                                      b.prices.begin());
    if (filters.max_price)
        hi = static_cast<std::size_t>(std::upper_bound(b.prices.begin(), b.prices.end(), *filters.max_price) -
                                      b.prices.begin());
    const std::size_t price_count = hi > lo ? hi - lo : 0;
    std::size_t category_count = b.order.size();
    if (filters.category_ids) {
        category_count = 0;
        for (auto c : *filters.category_ids) {
            if (auto it = b.by_category.find(c); it != b.by_category.end()) category_count += it->second.size();
        }
    }
    std::optional<PositionSet> text_set;
    if (filters.text) text_set = text_positions(b, *filters.text, filters.text_predicate, Laziness{});
    const std::size_t text_count = text_set ? text_set->size() : b.order.size();
    enum class Source { kPrice, kCategories, kText };
    Source source = price_count <= category_count ? Source::kPrice : Source::kCategories;
    std::size_t smallest = std::min(price_count, category_count);
    if (text_count < smallest) {
        source = Source::kText;
        smallest = text_count;
    }
    // The source's products in order (by dense index), or every step-th of them.
    auto each = [&](std::size_t step, auto&& visit) {
        switch (source) {
            case Source::kPrice:
                for (std::size_t i = lo; i < hi; i += step) visit(b.by_price[i]);
                break;
            case Source::kCategories: {
                std::size_t k = 0;
                for (auto c : *filters.category_ids) {
                    auto it = b.by_category.find(c);
                    if (it == b.by_category.end()) continue;
                    for (auto p : it->second) {
                        if (k++ % step == 0) visit(b.order[p]);
                    }
                }
                break;
            }
            case Source::kText: {
                const auto view = text_set->view();
                for (std::size_t i = 0; i < view.size(); i += step) visit(b.order[view[i]]);
                break;
            }
        }
    };
    if (source == Source::kText && text_set->exact()) return s.count_positions(b, *text_set, filters, exact_limit);
    // The text's matches need no second text check.
    RankFilters checked = filters;
    if (source == Source::kText && text_set->exact()) checked.text.reset();
    // Many matches: counted on an even spread of at most 8 192 of the source, scaled (marked
    // approximate). A small source, or a few matches, are counted exactly.
    constexpr std::size_t kSampled = 8192;
    if (smallest > 4 * exact_limit) {
        const std::size_t step = std::max<std::size_t>(1, smallest / kSampled);
        Tally sampled;
        std::size_t seen = 0;
        each(step, [&](std::uint32_t d) {
            ++seen;
            const auto& in = s.inputs[d];
            if (s.passes(d, in, checked)) sampled.add(in);
        });
        const double scale = seen == 0 ? 0.0 : static_cast<double>(smallest) / static_cast<double>(seen);
        if (static_cast<double>(sampled.total) * scale > 2.0 * static_cast<double>(exact_limit)) {
            return sampled.finish(scale, true);
        }
    }
    each(1, [&](std::uint32_t d) {
        if (s.changed_since_build.contains(d)) return;
        const auto& in = s.inputs[d];
        if (s.passes(d, in, checked)) tally.add(in);
    });
    for (auto d : s.changed_since_build) {
        const auto& in = s.inputs[d];
        if (s.passes(d, in, filters)) tally.add(in);
    }
    return tally.finish(1.0, false);
}

FacetCounts RankIndex::Impl::count_positions(const Build& b,
                                             const PositionSet& set,
                                             const RankFilters& f,
                                             std::size_t exact_limit) const {
    std::vector<std::uint8_t> allowed;  // by category index
    if (f.category_ids) {
        allowed.assign(b.category_of_index.size(), 0);
        for (std::size_t i = 0; i < b.category_of_index.size(); ++i) {
            allowed[i] = std::binary_search(f.category_ids->begin(), f.category_ids->end(), b.category_of_index[i]) ? 1 : 0;
        }
    }
    const std::int64_t min_price = f.min_price.value_or(std::numeric_limits<std::int64_t>::min());
    const std::int64_t max_price = f.max_price.value_or(std::numeric_limits<std::int64_t>::max());
    std::vector<std::uint32_t> delta;  // positions of products changed since the build, ascending
    for (auto d : changed_since_build) {
        if (d < b.position.size() && b.position[d] != kNoPosition) delta.push_back(b.position[d]);
    }
    std::sort(delta.begin(), delta.end());
    const auto view = set.view();
    std::vector<std::int64_t> categories(b.category_of_index.size(), 0);
    std::vector<std::int64_t> bands(facet_price_bands().size(), 0);
    std::int64_t total = 0;
    auto run = [&](std::size_t step) {
        std::fill(categories.begin(), categories.end(), 0);
        std::fill(bands.begin(), bands.end(), 0);
        total = 0;
        auto next_delta = delta.begin();
        for (std::size_t i = 0; i < view.size(); i += step) {
            const auto p = view[i];
            while (next_delta != delta.end() && *next_delta < p) ++next_delta;
            if (next_delta != delta.end() && *next_delta == p) continue;
            const auto c = b.pos_category[p];
            if (!allowed.empty() && allowed[c] == 0) continue;
            const auto price = b.pos_price[p];
            if (price < min_price || price > max_price) continue;
            if (f.in_stock && (b.pos_in_stock[p] != 0) != *f.in_stock) continue;
            ++categories[c];
            ++bands[b.pos_band[p]];
            ++total;
        }
    };
    auto to_tally = [&] {
        Tally tally;
        for (std::size_t i = 0; i < categories.size(); ++i) {
            if (categories[i] > 0) tally.categories[b.category_of_index[i]] = categories[i];
        }
        tally.bands = bands;
        tally.total = total;
        return tally;
    };
    constexpr std::size_t kSampled = 8192;
    if (view.size() > 4 * exact_limit) {
        const std::size_t step = std::max<std::size_t>(1, view.size() / kSampled);
        run(step);
        const std::size_t sampled = (view.size() + step - 1) / step;  // every step-th row, rounded up
        const double scale = static_cast<double>(view.size()) / static_cast<double>(sampled);
        if (static_cast<double>(total) * scale > 2.0 * static_cast<double>(exact_limit)) {
            return to_tally().finish(scale, true);
        }
    }
    run(1);
    auto tally = to_tally();
    for (auto d : changed_since_build) {
        const auto& in = inputs[d];
        if (passes(d, in, f)) tally.add(in);
    }
    return tally.finish(1.0, false);
}

std::vector<std::int64_t> RankIndex::sample_ids(std::size_t n) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    std::vector<std::int64_t> out;
    if (!s.build) return out;
    const auto& sample = s.build->sample;
    n = std::min(n, sample.size());
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(s.ids[sample[i]]);
    return out;
}

FacetCounts RankIndex::facets_from_sample(const RankFilters& filters,
                                          const std::vector<std::int64_t>& matched_sample,
                                          std::size_t sampled) const {
    const auto& s = *impl_;
    std::shared_lock lock(s.mutex);
    Tally tally;
    for (auto id : matched_sample) {
        auto it = s.dense.find(id);
        if (it == s.dense.end()) continue;
        const auto& in = s.inputs[it->second];
        if (s.passes(it->second, in, filters)) tally.add(in);
    }
    const double scale = sampled == 0 ? 0.0 : static_cast<double>(s.visible) / static_cast<double>(sampled);
    return tally.finish(scale, true);
}

}  // namespace emporium::catalog
