#include "recommend/evaluate.hpp"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace emporium::recommend {
namespace {

// ---- reading ------------------------------------------------------------------------------------

constexpr std::string_view kSpaces = " \t\r\v\f";

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(kSpaces);
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(kSpaces);
    return s.substr(first, last - first + 1);
}

bool is_number(std::string_view s) {
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) s.remove_prefix(1);
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool mentions_transaction(std::string_view line) {
    std::string lower(line);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    return lower.find("txn") != std::string::npos || lower.find("transaction") != std::string::npos;
}

core::Error line_error(std::size_t line_no, std::string_view what) {
    return core::make_error(core::Errc::kValidation,
                            "line " + std::to_string(line_no) + ": " + std::string(what));
}

// Reads lines of at most kMaxBasketLineBytes without ever buffering more than that.
class LineReader {
public:
    explicit LineReader(std::istream& in) : in_(in), buf_(kMaxBasketLineBytes + 2) {}

    std::size_t line_no() const { return line_no_; }

    // true and the line (without its '\n') in `line`; false at the end of the input.
    core::Result<bool> next(std::string_view& line) {
        if (in_.eof()) return false;
        in_.getline(buf_.data(), static_cast<std::streamsize>(buf_.size()));
        if (in_.bad()) return core::make_error(core::Errc::kInternal, "reading the input failed");
        const auto got = static_cast<std::size_t>(in_.gcount());
        if (in_.fail()) {
            if (in_.eof() && got == 0) return false;
            return line_error(line_no_ + 1,
                              "line longer than " + std::to_string(kMaxBasketLineBytes) + " bytes");
        }
        const auto length = in_.eof() ? got : got - 1;  // without the extracted '\n'
        if (length > kMaxBasketLineBytes) {
            return line_error(line_no_ + 1,
                              "line longer than " + std::to_string(kMaxBasketLineBytes) + " bytes");
        }
        if (++line_no_ > kMaxBasketFileLines) {
            return line_error(line_no_,
                              "input has more than " + std::to_string(kMaxBasketFileLines) + " lines");
        }
        line = std::string_view(buf_.data(), length);
        return true;
    }

private:
    std::istream& in_;
    std::vector<char> buf_;
    std::size_t line_no_ = 0;
};

// Every distinct field text once; lines refer to fields by token id.
class Tokens {
public:
    std::uint32_t intern(std::string_view text) {
        scratch_.assign(text);
        auto [it, inserted] = ids_.try_emplace(scratch_, static_cast<std::uint32_t>(names_.size()));
        if (inserted) names_.push_back(scratch_);
        return it->second;
    }
    const std::string& name(std::uint32_t token) const { return names_[token]; }
    std::size_t size() const { return names_.size(); }

private:
    std::unordered_map<std::string, std::uint32_t> ids_;
    std::vector<std::string> names_;
    std::string scratch_;
};

static_assert(kMaxBasketFileLines <= std::numeric_limits<std::uint32_t>::max());
static_assert(kMaxBasketLineBytes < std::numeric_limits<std::uint32_t>::max());

// The data lines of a file (blank and comment lines dropped) as trimmed field tokens, compactly:
// the format can be decided after the whole file is read without keeping its text twice.
struct RawLines {
    struct Line {
        std::size_t first = 0;      // into `fields`
        std::uint32_t line_no = 0;  // 1-based, blank and comment lines counted (≤ kMaxBasketFileLines)
        std::uint32_t size = 0;     // number of fields, empty ones included (≤ kMaxBasketLineBytes + 1)
    };
    Tokens tokens;
    std::vector<std::uint32_t> fields;
    std::vector<Line> lines;
    std::string first_line;  // text of the first data line (format detection)

    std::span<const std::uint32_t> of(const Line& line) const {
        return std::span<const std::uint32_t>(fields).subspan(line.first, line.size);
    }
};

core::Result<void> check_transaction_row(const RawLines& raw, const RawLines::Line& line) {
    if (line.size != 2) {
        return line_error(line.line_no, "expected 2 fields (txn_id,item), got " + std::to_string(line.size));
    }
    const auto f = raw.of(line);
    if (raw.tokens.name(f[0]).empty()) return line_error(line.line_no, "empty transaction id");
    if (raw.tokens.name(f[1]).empty()) return line_error(line.line_no, "empty item");
    return {};
}

core::Result<RawLines> read_raw(std::istream& in, BasketFormat format) {
    RawLines raw;
    LineReader reader(in);
    std::string_view line;
    for (;;) {
        auto more = reader.next(line);
        if (!more) return more.error();
        if (!*more) break;
        const auto text = trim(line);
        if (text.empty() || text.front() == '#') continue;
        if (raw.lines.empty()) raw.first_line = std::string(text);
        RawLines::Line entry{raw.fields.size(), static_cast<std::uint32_t>(reader.line_no()), 0};
        std::size_t start = 0;
        for (;;) {
            const auto comma = text.find(',', start);
            raw.fields.push_back(raw.tokens.intern(trim(text.substr(start, comma - start))));
            ++entry.size;
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
        raw.lines.push_back(entry);
        // An explicit format fails at the first bad row instead of after the whole file.
        if (format == BasketFormat::kTransactions) {
            if (auto ok = check_transaction_row(raw, entry); !ok) return ok.error();
        }
    }
    return raw;
}

BasketFormat detect_format(const RawLines& raw) {
    if (raw.lines.empty()) return BasketFormat::kBaskets;
    const auto first = raw.of(raw.lines.front());
    if (first.size() == 2 && !is_number(raw.tokens.name(first[0])) && mentions_transaction(raw.first_line)) {
        return BasketFormat::kTransactions;
    }
    std::vector<std::uint32_t> seen(raw.tokens.size(), 0);
    bool repeats = false;
    for (const auto& line : raw.lines) {
        if (line.size != 2) return BasketFormat::kBaskets;
        if (++seen[raw.fields[line.first]] > 1) repeats = true;
    }
    return repeats ? BasketFormat::kTransactions : BasketFormat::kBaskets;
}

// Token → item id in first-seen order, and the baskets' distinct items.
class BasketBuilder {
public:
    explicit BasketBuilder(const Tokens& tokens) : tokens_(tokens), item_of_(tokens.size(), kNone) {}

    // Adds `token` to basket `basket` (created on first use; new baskets are numbered in order).
    void add(std::size_t basket, std::uint32_t token) {
        if (basket == out_.baskets.size()) out_.baskets.emplace_back();
        if (item_of_[token] == kNone) {
            item_of_[token] = out_.item_names.size();
            out_.item_names.push_back(tokens_.name(token));
        }
        out_.baskets[basket].items.push_back(static_cast<std::int64_t>(item_of_[token]));
    }
    std::size_t baskets() const { return out_.baskets.size(); }

    // Drops repeated items within each basket (the first occurrence stays), in linear time.
    BasketFile finish(BasketFormat format) && {
        std::vector<std::size_t> last_basket(out_.item_names.size(), kNone);  // item → last basket holding it
        for (std::size_t b = 0; b < out_.baskets.size(); ++b) {
            auto& items = out_.baskets[b].items;
            std::size_t kept = 0;
            for (auto item : items) {
                auto& last = last_basket[static_cast<std::size_t>(item)];
                if (last == b) continue;
                last = b;
                items[kept++] = item;
            }
            items.resize(kept);
        }
        out_.format = format;
        return std::move(out_);
    }

private:
    static constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();
    const Tokens& tokens_;
    std::vector<std::size_t> item_of_;
    BasketFile out_;
};

BasketFile build_baskets(const RawLines& raw) {
    BasketBuilder builder(raw.tokens);
    for (const auto& line : raw.lines) {
        const auto basket = builder.baskets();
        for (auto token : raw.of(line)) {
            if (!raw.tokens.name(token).empty()) builder.add(basket, token);
        }
    }
    return std::move(builder).finish(BasketFormat::kBaskets);
}

core::Result<BasketFile> build_transactions(const RawLines& raw) {
    for (const auto& line : raw.lines) {
        if (auto ok = check_transaction_row(raw, line); !ok) return ok.error();
    }
    // The first line is a header when its first field is no number and names no other row's txn.
    std::size_t skip = 0;
    if (!raw.lines.empty()) {
        const auto header_txn = raw.fields[raw.lines.front().first];
        const bool recurs =
            std::any_of(raw.lines.begin() + 1, raw.lines.end(), [&](const RawLines::Line& line) {
                return raw.fields[line.first] == header_txn;
            });
        if (!is_number(raw.tokens.name(header_txn)) && !recurs) skip = 1;
    }
    constexpr auto kNone = std::numeric_limits<std::size_t>::max();
    std::vector<std::size_t> basket_of(raw.tokens.size(), kNone);  // txn token → basket index
    BasketBuilder builder(raw.tokens);
    for (std::size_t i = skip; i < raw.lines.size(); ++i) {
        const auto f = raw.of(raw.lines[i]);
        auto& basket = basket_of[f[0]];
        if (basket == kNone) basket = builder.baskets();
        builder.add(basket, f[1]);
    }
    return std::move(builder).finish(BasketFormat::kTransactions);
}

// ---- evaluation ---------------------------------------------------------------------------------

constexpr std::uint64_t kSplitSalt = 0x73706c6974000001ULL;
constexpr std::uint64_t kHideSalt = 0x6869646500000002ULL;

std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

std::uint64_t basket_hash(std::uint64_t seed, std::size_t index, std::uint64_t salt) {
    return mix64(mix64(seed ^ salt) + static_cast<std::uint64_t>(index));
}

// Uniform in [0, 1).
double unit_interval(std::uint64_t h) {
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// The distinct items of `items`, in first-seen order.
std::vector<std::int64_t> distinct(std::span<const std::int64_t> items) {
    std::vector<std::int64_t> out;
    out.reserve(items.size());
    std::unordered_set<std::int64_t> seen;
    for (auto item : items) {
        if (seen.insert(item).second) out.push_back(item);
    }
    return out;
}

bool better(const Candidate& x, const Candidate& y) {
    if (x.score != y.score) return x.score > y.score;
    if (x.count != y.count) return x.count > y.count;
    return x.product_id < y.product_id;
}

// Sums the neighbour lists of the query items; `top(item)` returns an item's neighbour list.
template <typename Top>
std::vector<Candidate> collect(std::span<const std::int64_t> query, Top&& top) {
    const auto items = distinct(query);  // a query item listed twice counts once
    std::vector<std::int64_t> excluded = items;
    std::sort(excluded.begin(), excluded.end());
    std::unordered_map<std::int64_t, std::size_t> index;  // product → position in `out`
    std::vector<Candidate> out;
    for (auto item : items) {
        for (const auto& n : top(item)) {
            if (std::binary_search(excluded.begin(), excluded.end(), n.product_id)) continue;
            auto [it, inserted] = index.try_emplace(n.product_id, out.size());
            if (inserted) out.push_back({n.product_id, 0, 0});
            out[it->second].score += n.score;
            out[it->second].count += n.count;
        }
    }
    return out;
}

// 1-based rank of `hidden` among `candidates` in `better` order, 0 when it is not a candidate.
std::size_t rank_of(std::int64_t hidden, const std::vector<Candidate>& candidates) {
    const auto it = std::find_if(
        candidates.begin(), candidates.end(), [&](const Candidate& c) { return c.product_id == hidden; });
    if (it == candidates.end()) return 0;
    const auto ahead = std::count_if(
        candidates.begin(), candidates.end(), [&](const Candidate& c) { return better(c, *it); });
    return static_cast<std::size_t>(ahead) + 1;
}

class Tally {
public:
    Tally(std::string mode, const std::vector<std::size_t>& cutoffs) {
        result_.mode = std::move(mode);
        for (auto k : cutoffs) hits_[k] = 0;
    }
    void add(std::size_t rank) {
        ++result_.cases;
        if (rank == 0) return;
        reciprocal_sum_ += 1.0 / static_cast<double>(rank);
        for (auto& [k, hits] : hits_) {
            if (rank <= k) ++hits;
        }
    }
    ModeResult finish() && {
        const auto cases = static_cast<double>(result_.cases);
        for (const auto& [k, hits] : hits_) {
            result_.hit_rate[k] = result_.cases == 0 ? 0.0 : static_cast<double>(hits) / cases;
        }
        result_.mrr = result_.cases == 0 ? 0.0 : reciprocal_sum_ / cases;
        return std::move(result_);
    }

private:
    std::map<std::size_t, std::size_t> hits_;  // cutoff → cases ranked within it
    double reciprocal_sum_ = 0;
    ModeResult result_;
};

ModeResult evaluate_mode(const CooccurrenceCounter& trained,
                         std::span<const EvaluationCase> cases,
                         Scoring scoring,
                         const EvaluateOptions& options) {
    std::unordered_map<std::int64_t, std::vector<Neighbour>> cache;  // item → its top-K list
    const auto top = [&](std::int64_t item) -> const std::vector<Neighbour>& {
        auto it = cache.find(item);
        if (it == cache.end()) {
            it = cache.emplace(item, trained.neighbours(item, options.neighbours_per_item, scoring)).first;
        }
        return it->second;
    };
    Tally tally(std::string(scoring_name(scoring)), options.cutoffs);
    for (const auto& c : cases) tally.add(rank_of(c.hidden, collect(c.query, top)));
    return std::move(tally).finish();
}

ModeResult evaluate_popularity(const CooccurrenceCounter& trained,
                               std::span<const EvaluationCase> cases,
                               const EvaluateOptions& options) {
    const auto ranking = trained.most_popular(trained.products());
    std::unordered_map<std::int64_t, std::size_t> position;  // item → 0-based place in `ranking`
    position.reserve(ranking.size());
    for (std::size_t i = 0; i < ranking.size(); ++i) position.emplace(ranking[i].first, i);
    Tally tally("popularity", options.cutoffs);
    for (const auto& c : cases) {
        const auto hidden = position.find(c.hidden);
        if (hidden == position.end()) {
            tally.add(0);
            continue;
        }
        // Query items ranked above the hidden one are dropped from the list, moving it up.
        const auto query = distinct(c.query);
        if (std::find(query.begin(), query.end(), c.hidden) != query.end()) {
            tally.add(0);  // excluded like every query item
            continue;
        }
        std::size_t ahead = hidden->second;
        for (auto q : query) {
            const auto p = position.find(q);
            if (p != position.end() && p->second < hidden->second) --ahead;
        }
        tally.add(ahead + 1);
    }
    return std::move(tally).finish();
}

}  // namespace

std::string_view basket_format_name(BasketFormat format) {
    switch (format) {
        case BasketFormat::kAuto:
            return "auto";
        case BasketFormat::kBaskets:
            return "baskets";
        case BasketFormat::kTransactions:
            return "transactions";
    }
    return "auto";
}

std::optional<BasketFormat> parse_basket_format(std::string_view name) {
    for (auto f : {BasketFormat::kAuto, BasketFormat::kBaskets, BasketFormat::kTransactions}) {
        if (basket_format_name(f) == name) return f;
    }
    return std::nullopt;
}

std::optional<std::int64_t> BasketFile::find_item(std::string_view name) const {
    const auto it = std::find(item_names.begin(), item_names.end(), name);
    if (it == item_names.end()) return std::nullopt;
    return static_cast<std::int64_t>(it - item_names.begin());
}

core::Result<BasketFile> read_baskets(std::istream& in, BasketFormat format) {
    auto raw = read_raw(in, format);
    if (!raw) return raw.error();
    if (format == BasketFormat::kAuto) format = detect_format(*raw);
    if (format == BasketFormat::kTransactions) return build_transactions(*raw);
    return build_baskets(*raw);
}

Split split_baskets(const std::vector<Basket>& baskets, const EvaluateOptions& options) {
    Split split;
    for (std::size_t i = 0; i < baskets.size(); ++i) {
        if (unit_interval(basket_hash(options.seed, i, kSplitSalt)) >= options.test_fraction) {
            split.train.push_back(i);
            continue;
        }
        split.test.push_back(i);
        auto items = distinct(baskets[i].items);
        if (items.size() < 2) continue;
        const auto hide = basket_hash(options.seed, i, kHideSalt) % items.size();
        EvaluationCase c;
        c.basket_index = i;
        c.hidden = items[hide];
        items.erase(items.begin() + static_cast<std::ptrdiff_t>(hide));
        c.query = std::move(items);
        split.cases.push_back(std::move(c));
    }
    return split;
}

std::vector<Candidate> rank_candidates(const CooccurrenceCounter& trained,
                                       std::span<const std::int64_t> query,
                                       Scoring scoring,
                                       std::size_t neighbours_per_item) {
    auto out = collect(
        query, [&](std::int64_t item) { return trained.neighbours(item, neighbours_per_item, scoring); });
    std::sort(out.begin(), out.end(), better);
    return out;
}

std::vector<ModeResult> evaluate_cases(const CooccurrenceCounter& trained,
                                       std::span<const EvaluationCase> cases,
                                       const EvaluateOptions& options) {
    std::vector<ModeResult> modes;
    modes.reserve(kAllScorings.size() + 1);
    for (auto scoring : kAllScorings) modes.push_back(evaluate_mode(trained, cases, scoring, options));
    modes.push_back(evaluate_popularity(trained, cases, options));
    return modes;
}

EvaluationReport evaluate(const std::vector<Basket>& baskets, const EvaluateOptions& options) {
    const auto split = split_baskets(baskets, options);
    CooccurrenceCounter trained;
    for (auto i : split.train) trained.add_basket(baskets[i].items);

    EvaluationReport report;
    report.baskets = baskets.size();
    report.train_baskets = split.train.size();
    report.test_baskets = split.test.size();
    report.cases = split.cases.size();
    report.unseen_cases = static_cast<std::size_t>(
        std::count_if(split.cases.begin(), split.cases.end(), [&](const EvaluationCase& c) {
            return trained.frequency(c.hidden) == 0;
        }));
    report.train_items = trained.products();
    report.neighbours_per_item = options.neighbours_per_item;
    report.modes = evaluate_cases(trained, split.cases, options);
    return report;
}

std::string format_report(const EvaluationReport& report) {
    std::ostringstream out;
    out << "baskets: " << report.baskets << " (train " << report.train_baskets << ", test "
        << report.test_baskets << "), distinct items in training: " << report.train_items << "\n"
        << "cases: " << report.cases
        << " (test baskets with at least 2 distinct items, one item hidden in each)\n"
        << "hidden items never seen in training: " << report.unseen_cases
        << " case(s), counted as misses in every mode\n"
        << "candidates: the top " << report.neighbours_per_item
        << " neighbours of each remaining item, scores summed, basket items excluded\n\n";

    std::vector<std::string> header{"mode"};
    std::vector<std::vector<std::string>> rows;
    if (!report.modes.empty()) {
        for (const auto& [k, rate] : report.modes.front().hit_rate) {
            header.push_back("HitRate@" + std::to_string(k));
        }
    }
    header.emplace_back("MRR");
    for (const auto& mode : report.modes) {
        std::vector<std::string> row{mode.mode};
        const auto number = [](double x) {
            std::ostringstream s;
            s << std::fixed << std::setprecision(4) << x;
            return s.str();
        };
        for (const auto& [k, rate] : mode.hit_rate) row.push_back(number(rate));
        row.push_back(number(mode.mrr));
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> width(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        width[c] = header[c].size();
        for (const auto& row : rows) {
            if (c < row.size()) width[c] = std::max(width[c], row[c].size());
        }
    }
    const auto print = [&](const std::vector<std::string>& cells) {
        for (std::size_t c = 0; c < cells.size() && c < width.size(); ++c) {
            if (c == 0) {
                out << std::left << std::setw(static_cast<int>(width[c])) << cells[c];
            } else {
                out << " | " << std::right << std::setw(static_cast<int>(width[c])) << cells[c];
            }
        }
        out << "\n";
    };
    print(header);
    std::size_t rule = 0;
    for (auto w : width) rule += w;
    out << std::string(rule + 3 * (width.size() - 1), '-') << "\n";
    for (const auto& row : rows) print(row);
    return out.str();
}

}  // namespace emporium::recommend
