// The offline recommendation evaluator: basket-file parsing and format detection, the reproducible
// split, the four co-occurrence scores and the metrics by hand, and planted structure recovered
// from synthetic baskets (generated here, and the committed tests/data/baskets_planted.csv).
#include "recommend/cooccurrence.hpp"
#include "recommend/evaluate.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::recommend {
namespace {

core::Result<BasketFile> parse(std::string_view text, BasketFormat format = BasketFormat::kAuto) {
    std::istringstream in{std::string(text)};
    return read_baskets(in, format);
}

// The baskets as item names, for readable expectations.
std::vector<std::vector<std::string>> names(const BasketFile& file) {
    std::vector<std::vector<std::string>> out;
    for (const auto& basket : file.baskets) {
        auto& row = out.emplace_back();
        for (auto item : basket.items) row.push_back(file.item_names.at(static_cast<std::size_t>(item)));
    }
    return out;
}

using Names = std::vector<std::vector<std::string>>;

std::string error_of(std::string_view text, BasketFormat format = BasketFormat::kAuto) {
    auto file = parse(text, format);
    EXPECT_FALSE(file) << "expected a validation error for:\n" << text;
    if (file) return {};
    EXPECT_EQ(file.error().code, core::Errc::kValidation);
    return file.error().message;
}

bool contains(const std::vector<Neighbour>& list, std::int64_t product) {
    return std::any_of(list.begin(), list.end(), [&](const Neighbour& n) { return n.product_id == product; });
}

bool contains(const std::vector<Candidate>& list, std::int64_t product) {
    return std::any_of(list.begin(), list.end(), [&](const Candidate& c) { return c.product_id == product; });
}

std::vector<Candidate> top(std::vector<Candidate> list, std::size_t k) {
    if (list.size() > k) list.resize(k);
    return list;
}

const ModeResult& mode(const EvaluationReport& report, std::string_view name) {
    const auto it = std::find_if(
        report.modes.begin(), report.modes.end(), [&](const ModeResult& m) { return m.mode == name; });
    EXPECT_NE(it, report.modes.end()) << name;
    return *it;
}

// ---- reading ------------------------------------------------------------------------------------

TEST(ReadBaskets, BasketsFormatTrimsAndSkipsCommentsBlanksAndEmptyItems) {
    auto file = parse("# a comment\n\n a , b,, c \n   # indented comment\nb,d,b\n,,\nx\r\ny , z\r\n",
                      BasketFormat::kBaskets);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->format, BasketFormat::kBaskets);
    EXPECT_EQ(names(*file), (Names{{"a", "b", "c"}, {"b", "d"}, {"x"}, {"y", "z"}}));
}

TEST(ReadBaskets, NumericAndNamedItemsShareOneDictionaryInFirstSeenOrder) {
    auto file = parse("10,20\n20,apple\nsnow peas, 10\n");
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->item_names, (std::vector<std::string>{"10", "20", "apple", "snow peas"}));
    ASSERT_EQ(file->baskets.size(), 3U);
    EXPECT_EQ(file->baskets[2].items, (std::vector<std::int64_t>{3, 0}));
    EXPECT_EQ(file->find_item("apple"), 2);
    EXPECT_EQ(file->find_item("snow peas"), 3);
    EXPECT_FALSE(file->find_item("pear"));
}

TEST(ReadBaskets, TransactionsGroupNonAdjacentRowsInFirstSeenOrderAndSkipTheHeader) {
    auto file =
        parse("txn_id,item\n7,a\n9,b\n7,c\n# comment\n\n9,a\n8,d\n7,a\n", BasketFormat::kTransactions);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->format, BasketFormat::kTransactions);
    EXPECT_EQ(names(*file), (Names{{"a", "c"}, {"b", "a"}, {"d"}}));
    EXPECT_EQ(file->item_names, (std::vector<std::string>{"a", "b", "c", "d"}));

    auto other_header = parse("order , product\n1,5\n1,6\n2,5\n", BasketFormat::kTransactions);
    ASSERT_TRUE(other_header);
    EXPECT_EQ(names(*other_header), (Names{{"5", "6"}, {"5"}}));
}

TEST(ReadBaskets, NonNumericTransactionIdsThatRecurAreNoHeader) {
    auto file = parse("T1,apple\nT2,pear\nT1,plum\n", BasketFormat::kTransactions);
    ASSERT_TRUE(file);
    EXPECT_EQ(names(*file), (Names{{"apple", "plum"}, {"pear"}}));
    auto numeric = parse("5,apple\n6,pear\n", BasketFormat::kTransactions);
    ASSERT_TRUE(numeric);
    EXPECT_EQ(names(*numeric), (Names{{"apple"}, {"pear"}}));
}

TEST(ReadBaskets, AutoDetectsTheFormat) {
    const auto format_of = [](std::string_view text) {
        auto file = parse(text);
        EXPECT_TRUE(file) << text;
        return file ? file->format : BasketFormat::kAuto;
    };
    // A header naming the transaction, even with no repeated id.
    EXPECT_EQ(format_of("txn_id,item\n1,a\n2,b\n"), BasketFormat::kTransactions);
    EXPECT_EQ(format_of("# exported\nTransaction,Item\n1,a\n2,b\n"), BasketFormat::kTransactions);
    EXPECT_EQ(format_of("TXN,SKU\n1,a\n"), BasketFormat::kTransactions);
    // Two fields everywhere and a first field on several lines.
    EXPECT_EQ(format_of("1,a\n1,b\n2,c\n"), BasketFormat::kTransactions);
    EXPECT_EQ(format_of("order,product\n1,a\n1,b\n"), BasketFormat::kTransactions);
    // Otherwise baskets.
    EXPECT_EQ(format_of("a,b\nc,d\n"), BasketFormat::kBaskets);
    EXPECT_EQ(format_of("1,a\n1,b\n2,c,d\n"), BasketFormat::kBaskets);
    EXPECT_EQ(format_of("a,b,c\n"), BasketFormat::kBaskets);
    EXPECT_EQ(format_of("a\n"), BasketFormat::kBaskets);
    EXPECT_EQ(format_of("transaction fee,soap,milk\nsoap,milk\n"), BasketFormat::kBaskets);
    EXPECT_EQ(format_of(""), BasketFormat::kBaskets);

    auto detected = parse("1,a\n2,b\n1,c\n");
    ASSERT_TRUE(detected);
    EXPECT_EQ(names(*detected), (Names{{"a", "c"}, {"b"}}));
}

TEST(ReadBaskets, MalformedTransactionRowsNameTheirLine) {
    auto message = error_of("txn,item\n1,a\n2,b,c\n", BasketFormat::kTransactions);
    EXPECT_NE(message.find("line 3"), std::string::npos) << message;
    EXPECT_NE(message.find("expected 2 fields"), std::string::npos) << message;
    // Line numbers count blank and comment lines.
    message = error_of("# export\n\n1,a\n2\n", BasketFormat::kTransactions);
    EXPECT_NE(message.find("line 4"), std::string::npos) << message;
    message = error_of("1,a\n2, \n", BasketFormat::kTransactions);
    EXPECT_NE(message.find("line 2: empty item"), std::string::npos) << message;
    message = error_of("1,a\n ,b\n", BasketFormat::kTransactions);
    EXPECT_NE(message.find("line 2: empty transaction id"), std::string::npos) << message;
    // A file detected as transactions by its header is checked the same way.
    message = error_of("txn_id,item\n1,a\n\n1,b,c\n");
    EXPECT_NE(message.find("line 4"), std::string::npos) << message;
}

TEST(ReadBaskets, RefusesOverlongLinesButAcceptsOneAtTheLimit) {
    const std::string at_limit(kMaxBasketLineBytes, 'x');
    auto file = parse("a,b\n" + at_limit + "\nc,d\n");
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->baskets.size(), 3U);
    EXPECT_EQ(file->item_names.at(2), at_limit);

    auto message = error_of("a,b\n" + at_limit + "y\nc,d\n");
    EXPECT_NE(message.find("line 2: line longer than 1048576 bytes"), std::string::npos) << message;
    message = error_of("a,b\n" + at_limit + "yz");  // no final newline
    EXPECT_NE(message.find("line 2"), std::string::npos) << message;
}

TEST(ReadBaskets, RefusesMoreThanTheMaximumNumberOfLines) {
    const std::string lines(kMaxBasketFileLines + 1, '\n');
    auto message = error_of(lines);
    EXPECT_NE(message.find("more than 10000000 lines"), std::string::npos) << message;
    auto file = parse(std::string_view(lines).substr(1));
    EXPECT_TRUE(file);
}

// ---- scores and metrics by hand -----------------------------------------------------------------

TEST(Cooccurrence, FourScoresByHand) {
    // N = 10 baskets; f(1) = 5, f(2) = 2, f(3) = 6; 1 and 2 together twice, 1 and 3 three times.
    CooccurrenceCounter counter;
    const std::vector<std::vector<std::int64_t>> baskets{
        {1, 2}, {1, 2}, {1, 3}, {1, 3}, {1, 3}, {3}, {3}, {3}, {4}, {4}};
    for (const auto& b : baskets) counter.add_basket(b);
    ASSERT_EQ(counter.baskets(), 10U);
    ASSERT_EQ(counter.frequency(3), 6U);

    const auto scores = [&](Scoring s) {
        const auto list = counter.neighbours(1, 10, s);
        EXPECT_EQ(list.size(), 2U);
        std::vector<std::pair<std::int64_t, double>> out;
        out.reserve(list.size());
        for (const auto& n : list) out.emplace_back(n.product_id, n.score);
        return out;
    };
    // The raw count favours the best-seller 3; the normalised scores favour 2.
    auto count = scores(Scoring::kCount);
    EXPECT_EQ(count[0].first, 3);
    EXPECT_DOUBLE_EQ(count[0].second, 3.0);
    EXPECT_DOUBLE_EQ(count[1].second, 2.0);
    auto cosine = scores(Scoring::kCosine);
    EXPECT_EQ(cosine[0].first, 2);
    EXPECT_DOUBLE_EQ(cosine[0].second, 2.0 / std::sqrt(10.0));  // 2 / √(5·2)
    EXPECT_DOUBLE_EQ(cosine[1].second, 3.0 / std::sqrt(30.0));  // 3 / √(5·6)
    auto jaccard = scores(Scoring::kJaccard);
    EXPECT_EQ(jaccard[0].first, 2);
    EXPECT_DOUBLE_EQ(jaccard[0].second, 2.0 / 5.0);  // 2 / (5 + 2 − 2)
    EXPECT_DOUBLE_EQ(jaccard[1].second, 3.0 / 8.0);  // 3 / (5 + 6 − 3)
    auto lift = scores(Scoring::kLift);
    EXPECT_EQ(lift[0].first, 2);
    EXPECT_DOUBLE_EQ(lift[0].second, 2.0);  // 2·10 / (5·2)
    EXPECT_DOUBLE_EQ(lift[1].second, 1.0);  // 3·10 / (5·6)
}

// f(1) = 3, f(2) = 2, f(3) = 2, f(4) = 1; together: 1–2 twice, 1–3 twice, 2–3 once.
CooccurrenceCounter tiny_counter() {
    CooccurrenceCounter counter;
    const std::vector<std::vector<std::int64_t>> baskets{{1, 2}, {1, 2, 3}, {1, 3}, {4}};
    for (const auto& b : baskets) counter.add_basket(b);
    return counter;
}

TEST(Evaluate, CandidatesAreSummedOverTheQueryAndRankedWithTies) {
    const auto counter = tiny_counter();
    // 2 and 3 tie on score and count as neighbours of 1: the lower id wins.
    auto ranked = rank_candidates(counter, std::vector<std::int64_t>{1}, Scoring::kCount, 50);
    ASSERT_EQ(ranked.size(), 2U);
    EXPECT_EQ(ranked[0].product_id, 2);
    EXPECT_EQ(ranked[1].product_id, 3);
    // Only the top neighbour of each query item counts with K = 1.
    ranked = rank_candidates(counter, std::vector<std::int64_t>{1}, Scoring::kCount, 1);
    ASSERT_EQ(ranked.size(), 1U);
    EXPECT_EQ(ranked[0].product_id, 2);
    // {1, 2}: 3 gets 2 (from 1) + 1 (from 2); query items are excluded.
    ranked = rank_candidates(counter, std::vector<std::int64_t>{1, 2, 1}, Scoring::kCount, 50);
    ASSERT_EQ(ranked.size(), 1U);
    EXPECT_EQ(ranked[0].product_id, 3);
    EXPECT_DOUBLE_EQ(ranked[0].score, 3.0);
    EXPECT_EQ(ranked[0].count, 3U);
    // Lift: 3 from 1 is 2·4/(3·2) = 4/3, from 2 is 1·4/(2·2) = 1.
    ranked = rank_candidates(counter, std::vector<std::int64_t>{1, 2}, Scoring::kLift, 50);
    ASSERT_EQ(ranked.size(), 1U);
    EXPECT_DOUBLE_EQ(ranked[0].score, 4.0 / 3.0 + 1.0);
    // Unknown query items contribute nothing.
    EXPECT_TRUE(rank_candidates(counter, std::vector<std::int64_t>{99}, Scoring::kCount, 50).empty());
}

TEST(Evaluate, EqualScoresRankTheHigherCountFirst) {
    // Lift of 10 with 11 is 1·3/(3·1) = 1 and with 12 is 2·3/(3·2) = 1: 12 was bought with 10 more often.
    CooccurrenceCounter counter;
    const std::vector<std::vector<std::int64_t>> baskets{{10, 11}, {10, 12}, {10, 12}};
    for (const auto& b : baskets) counter.add_basket(b);
    const auto ranked = rank_candidates(counter, std::vector<std::int64_t>{10}, Scoring::kLift, 50);
    ASSERT_EQ(ranked.size(), 2U);
    EXPECT_DOUBLE_EQ(ranked[0].score, ranked[1].score);
    EXPECT_EQ(ranked[0].product_id, 12);
    EXPECT_EQ(ranked[1].product_id, 11);
}

TEST(Evaluate, MrrAndHitRateArithmeticByHand) {
    const auto counter = tiny_counter();
    const std::vector<EvaluationCase> cases{
        {0, {1}, 2},     // count: 2 ties with 3 and wins on id → rank 1; popularity: [2, 3, 4] → 1
        {1, {2}, 3},     // count: [1 (2), 3 (1)] → rank 2; popularity: [1, 3, 4] → 2
        {2, {3}, 4},     // never bought with 3 → absent; popularity: [1, 2, 4] → 3
        {3, {1, 2}, 3},  // count: [3] → 1; popularity: [3, 4] → 1
        {4, {1}, 99},    // never seen in training: a miss everywhere
    };
    EvaluateOptions options;
    options.cutoffs = {1, 5};
    const auto modes = evaluate_cases(counter, cases, options);
    ASSERT_EQ(modes.size(), 5U);
    std::vector<std::string> mode_names;
    mode_names.reserve(modes.size());
    for (const auto& m : modes) mode_names.push_back(m.mode);
    EXPECT_EQ(mode_names, (std::vector<std::string>{"count", "cosine", "jaccard", "lift", "popularity"}));

    const auto& count = modes[0];
    EXPECT_EQ(count.cases, 5U);
    EXPECT_DOUBLE_EQ(count.mrr, (1.0 + 0.5 + 0.0 + 1.0 + 0.0) / 5.0);
    EXPECT_DOUBLE_EQ(count.hit_rate.at(1), 2.0 / 5.0);
    EXPECT_DOUBLE_EQ(count.hit_rate.at(5), 3.0 / 5.0);
    // The normalised modes rank these few candidates the same way here.
    for (std::size_t m = 1; m < 4; ++m) {
        EXPECT_DOUBLE_EQ(modes[m].mrr, count.mrr) << modes[m].mode;
        EXPECT_DOUBLE_EQ(modes[m].hit_rate.at(1), count.hit_rate.at(1)) << modes[m].mode;
    }
    const auto& popularity = modes[4];
    EXPECT_DOUBLE_EQ(popularity.mrr, (1.0 + 0.5 + 1.0 / 3.0 + 1.0 + 0.0) / 5.0);
    EXPECT_DOUBLE_EQ(popularity.hit_rate.at(1), 2.0 / 5.0);
    EXPECT_DOUBLE_EQ(popularity.hit_rate.at(5), 4.0 / 5.0);

    // With K = 1 the lists are 1 → [2] and 2 → [1]: only the first case still finds its item.
    options.neighbours_per_item = 1;
    const auto narrow = evaluate_cases(counter, cases, options);
    EXPECT_DOUBLE_EQ(narrow[0].mrr, 1.0 / 5.0);
    EXPECT_DOUBLE_EQ(narrow[4].mrr, popularity.mrr);  // the baseline keeps no neighbour lists

    const auto none = evaluate_cases(counter, {}, options);
    EXPECT_EQ(none[0].cases, 0U);
    EXPECT_DOUBLE_EQ(none[0].mrr, 0.0);
    EXPECT_DOUBLE_EQ(none[0].hit_rate.at(5), 0.0);
}

// ---- the split ----------------------------------------------------------------------------------

// A small deterministic generator (splitmix64), so the data does not depend on the standard
// library's distributions.
class Random {
public:
    explicit Random(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

private:
    std::uint64_t state_;
};

// 200 items (ids 1000…1199). Items 0–19 are staples with skewed popularity; items 20–79 form 30
// planted pairs and items 80–199 form 40 planted triples. 80% of baskets contain a planted group
// (its first item, each partner with probability 0.9) and 0–2 staples, the others 2–4 staples;
// one in ten baskets also gets a random item.
struct Planted {
    std::vector<Basket> baskets;
    std::vector<std::vector<std::int64_t>> groups;
};

std::int64_t item_id(std::size_t i) {
    return 1000 + static_cast<std::int64_t>(i);
}

Planted planted_baskets(std::size_t count, std::uint64_t seed) {
    Planted p;
    for (std::size_t i = 20; i < 80; i += 2) p.groups.push_back({item_id(i), item_id(i + 1)});
    for (std::size_t i = 80; i < 200; i += 3) {
        p.groups.push_back({item_id(i), item_id(i + 1), item_id(i + 2)});
    }
    Random rng(seed);
    const auto staple = [&] {
        const double u = rng.unit();
        return item_id(static_cast<std::size_t>(u * u * 20));
    };
    for (std::size_t b = 0; b < count; ++b) {
        Basket basket;
        std::size_t staples = 2 + rng.below(3);
        if (rng.unit() < 0.8) {
            const auto& group = p.groups[rng.below(p.groups.size())];
            basket.items.push_back(group[0]);
            for (std::size_t m = 1; m < group.size(); ++m) {
                if (rng.unit() < 0.9) basket.items.push_back(group[m]);
            }
            staples = rng.below(3);
        }
        for (std::size_t s = 0; s < staples; ++s) basket.items.push_back(staple());
        if (rng.unit() < 0.1) basket.items.push_back(item_id(20 + rng.below(180)));
        // Shuffle so the planted items are not always first.
        for (std::size_t i = basket.items.size(); i > 1; --i) {
            std::swap(basket.items[i - 1], basket.items[rng.below(i)]);
        }
        p.baskets.push_back(std::move(basket));
    }
    return p;
}

TEST(Split, IsReproducibleAndDependsOnlyOnSeedAndIndex) {
    const auto data = planted_baskets(3000, 7);
    EvaluateOptions options;
    const auto a = split_baskets(data.baskets, options);
    const auto b = split_baskets(data.baskets, options);
    EXPECT_EQ(a.test, b.test);
    EXPECT_EQ(a.train.size() + a.test.size(), 3000U);
    EXPECT_GT(a.test.size(), 500U);  // about 20%
    EXPECT_LT(a.test.size(), 700U);
    ASSERT_EQ(a.cases.size(), b.cases.size());
    for (std::size_t i = 0; i < a.cases.size(); ++i) {
        EXPECT_EQ(a.cases[i].basket_index, b.cases[i].basket_index);
        EXPECT_EQ(a.cases[i].hidden, b.cases[i].hidden);
        EXPECT_EQ(a.cases[i].query, b.cases[i].query);
    }

    // A basket's side and hidden item do not depend on the baskets after it.
    const std::vector<Basket> prefix(data.baskets.begin(), data.baskets.begin() + 1000);
    const auto p = split_baskets(prefix, options);
    std::vector<std::size_t> expected_test;
    for (auto i : a.test) {
        if (i < 1000) expected_test.push_back(i);
    }
    EXPECT_EQ(p.test, expected_test);
    for (const auto& c : p.cases) {
        const auto it = std::find_if(a.cases.begin(), a.cases.end(), [&](const EvaluationCase& x) {
            return x.basket_index == c.basket_index;
        });
        ASSERT_NE(it, a.cases.end());
        EXPECT_EQ(it->hidden, c.hidden);
    }

    options.seed = 43;
    const auto other = split_baskets(data.baskets, options);
    EXPECT_NE(other.test, a.test);
}

TEST(Split, HidesOneItemOfEachTestBasketWithTwoDistinctItems) {
    std::vector<Basket> baskets;
    baskets.reserve(400);
    for (int i = 0; i < 200; ++i) baskets.push_back({{5, 5}});        // one distinct item: never a case
    for (int i = 0; i < 200; ++i) baskets.push_back({{1, 2, 3, 2}});  // three distinct items
    EvaluateOptions options;
    options.test_fraction = 0.5;
    const auto split = split_baskets(baskets, options);
    std::size_t multi_item_tests = 0;
    for (auto i : split.test) multi_item_tests += i >= 200 ? 1 : 0;
    EXPECT_EQ(split.cases.size(), multi_item_tests);
    std::vector<int> hidden_seen(4, 0);
    for (const auto& c : split.cases) {
        ASSERT_GE(c.basket_index, 200U);
        EXPECT_EQ(c.query.size(), 2U);
        EXPECT_EQ(std::count(c.query.begin(), c.query.end(), c.hidden), 0);
        ++hidden_seen.at(static_cast<std::size_t>(c.hidden));
    }
    // Every position gets hidden sometimes.
    EXPECT_GT(hidden_seen[1], 0);
    EXPECT_GT(hidden_seen[2], 0);
    EXPECT_GT(hidden_seen[3], 0);
}

TEST(Evaluate, SameSeedSameReportDifferentSeedDifferentSplit) {
    const auto data = planted_baskets(1500, 11);
    EvaluateOptions options;
    const auto a = evaluate(data.baskets, options);
    const auto b = evaluate(data.baskets, options);
    EXPECT_EQ(format_report(a), format_report(b));
    ASSERT_EQ(a.modes.size(), b.modes.size());
    for (std::size_t m = 0; m < a.modes.size(); ++m) {
        EXPECT_EQ(a.modes[m].hit_rate, b.modes[m].hit_rate);
        EXPECT_EQ(a.modes[m].mrr, b.modes[m].mrr);
    }
    options.seed = 12;
    const auto c = evaluate(data.baskets, options);
    EXPECT_NE(format_report(a), format_report(c));
}

// ---- planted structure --------------------------------------------------------------------------

TEST(Planted, EveryModeFindsThePlantedPartners) {
    const auto data = planted_baskets(3000, 2024);
    CooccurrenceCounter counter;
    for (const auto& b : data.baskets) counter.add_basket(b.items);
    for (auto scoring : kAllScorings) {
        for (const auto& group : data.groups) {
            for (auto item : group) {
                const auto neighbours = counter.neighbours(item, 5, scoring);
                const auto ranked =
                    top(rank_candidates(counter, std::vector<std::int64_t>{item}, scoring, 50), 5);
                for (auto partner : group) {
                    if (partner == item) continue;
                    EXPECT_TRUE(contains(neighbours, partner))
                        << scoring_name(scoring) << ": " << partner << " not among the top 5 of " << item;
                    EXPECT_TRUE(contains(ranked, partner))
                        << scoring_name(scoring) << ": " << partner << " not recommended for " << item;
                }
            }
        }
    }
}

TEST(Planted, CooccurrenceModesBeatThePopularityBaseline) {
    const auto data = planted_baskets(3000, 2024);
    const auto report = evaluate(data.baskets, EvaluateOptions{});
    EXPECT_EQ(report.baskets, 3000U);
    EXPECT_EQ(report.train_baskets + report.test_baskets, 3000U);
    EXPECT_GT(report.cases, 400U);
    ASSERT_EQ(report.modes.size(), 5U);
    const auto& popularity = mode(report, "popularity");
    for (auto scoring : kAllScorings) {
        const auto& m = mode(report, scoring_name(scoring));
        EXPECT_EQ(m.cases, report.cases);
        EXPECT_GT(m.hit_rate.at(10), popularity.hit_rate.at(10) + 0.1) << m.mode << "\n"
                                                                       << format_report(report);
        EXPECT_GT(m.mrr, popularity.mrr) << m.mode;
    }

    // Cases hiding a planted item while a partner stays in the basket. With only group members in
    // the query every mode ranks the hidden item in the top 5. With staples in the query too, the
    // raw count is pulled towards best-sellers (what the evaluator is there to show), the
    // normalised scores are not.
    const auto split = split_baskets(data.baskets, EvaluateOptions{});
    CooccurrenceCounter trained;
    for (auto i : split.train) trained.add_basket(data.baskets[i].items);
    std::vector<EvaluationCase> pure;
    std::vector<EvaluationCase> mixed;
    for (const auto& c : split.cases) {
        const auto group = std::find_if(data.groups.begin(), data.groups.end(), [&](const auto& g) {
            return std::find(g.begin(), g.end(), c.hidden) != g.end();
        });
        if (group == data.groups.end()) continue;
        const auto in_group = [&](std::int64_t item) {
            return std::find(group->begin(), group->end(), item) != group->end();
        };
        const auto partners = std::count_if(c.query.begin(), c.query.end(), in_group);
        if (partners == 0) continue;
        (static_cast<std::size_t>(partners) == c.query.size() ? pure : mixed).push_back(c);
    }
    ASSERT_GT(pure.size(), 50U);
    ASSERT_GT(mixed.size(), 50U);
    for (const auto& m : evaluate_cases(trained, pure, EvaluateOptions{})) {
        if (m.mode == "popularity") {
            EXPECT_LT(m.hit_rate.at(5), 0.1);
        } else {
            EXPECT_GT(m.hit_rate.at(5), 0.95) << m.mode;
        }
    }
    for (const auto& m : evaluate_cases(trained, mixed, EvaluateOptions{})) {
        if (m.mode == "cosine" || m.mode == "jaccard" || m.mode == "lift") {
            EXPECT_GT(m.hit_rate.at(5), 0.9) << m.mode;
        } else if (m.mode == "popularity") {
            EXPECT_LT(m.hit_rate.at(5), 0.1);
        }
    }
}

TEST(Planted, CommittedBasketFileRevealsItsPlantedGroups) {
    const auto path = test::source_dir() + "/tests/data/baskets_planted.csv";
    std::ifstream in(path);
    ASSERT_TRUE(in) << path;
    auto file = read_baskets(in, BasketFormat::kAuto);
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->format, BasketFormat::kBaskets);
    EXPECT_EQ(file->baskets.size(), 420U);

    const std::vector<std::vector<std::string>> groups{{"tent", "tent pegs"},
                                                       {"phone", "phone case"},
                                                       {"coffee beans", "coffee filters"},
                                                       {"printer", "ink cartridge"},
                                                       {"razor", "razor blades"},
                                                       {"dog food", "dog treats"},
                                                       {"pasta", "tomato sauce", "parmesan"},
                                                       {"tortillas", "salsa", "guacamole"},
                                                       {"shampoo", "conditioner", "hair mask"}};
    CooccurrenceCounter counter;
    for (const auto& b : file->baskets) counter.add_basket(b.items);
    for (auto scoring : kAllScorings) {
        for (const auto& group : groups) {
            for (const auto& name : group) {
                const auto item = file->find_item(name);
                ASSERT_TRUE(item) << name;
                const auto neighbours = counter.neighbours(*item, 5, scoring);
                for (const auto& partner : group) {
                    if (partner == name) continue;
                    EXPECT_TRUE(contains(neighbours, *file->find_item(partner)))
                        << scoring_name(scoring) << ": " << partner << " not among the top 5 of " << name;
                }
            }
        }
    }

    const auto report = evaluate(file->baskets, EvaluateOptions{});
    const auto& popularity = mode(report, "popularity");
    for (auto scoring : kAllScorings) {
        EXPECT_GT(mode(report, scoring_name(scoring)).hit_rate.at(10), popularity.hit_rate.at(10))
            << scoring_name(scoring) << "\n"
            << format_report(report);
    }
}

TEST(Planted, TheSameBasketsAsInterleavedTransactionsReadTheSame) {
    std::ifstream in(test::source_dir() + "/tests/data/baskets_planted.csv");
    auto baskets = read_baskets(in, BasketFormat::kBaskets);
    ASSERT_TRUE(baskets) << baskets.error().message;
    // Round-robin over the baskets: the rows of one transaction are far apart.
    std::string text = "txn_id,item\n";
    for (std::size_t round = 0;; ++round) {
        bool any = false;
        for (std::size_t b = 0; b < baskets->baskets.size(); ++b) {
            const auto& items = baskets->baskets[b].items;
            if (round >= items.size()) continue;
            any = true;
            text += std::to_string(500 + b) + "," +
                    baskets->item_names.at(static_cast<std::size_t>(items[round])) + "\n";
        }
        if (!any) break;
    }
    auto transactions = parse(text);
    ASSERT_TRUE(transactions) << transactions.error().message;
    EXPECT_EQ(transactions->format, BasketFormat::kTransactions);
    EXPECT_EQ(names(*transactions), names(*baskets));
}

TEST(Report, IsAReadableTable) {
    const auto data = planted_baskets(500, 3);
    const auto text = format_report(evaluate(data.baskets, EvaluateOptions{}));
    for (std::string_view part : {"baskets: 500",
                                  "HitRate@5",
                                  "HitRate@10",
                                  "MRR",
                                  "count",
                                  "cosine",
                                  "jaccard",
                                  "lift",
                                  "popularity",
                                  "never seen in training",
                                  "misses"}) {
        EXPECT_NE(text.find(part), std::string::npos) << part << "\n" << text;
    }
}

}  // namespace
}  // namespace emporium::recommend
