// The in-process rank index against a brute-force model: random catalogs, random changes
// committed out of order under simulated PostgreSQL snapshots, random filters and cursors, with
// and without rebuilds in between, with a text predicate checked block by block.
#include "catalog/rank_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace emporium::catalog {
namespace {

constexpr std::int64_t kDay = 86'400'000'000;
constexpr std::int64_t kNow = 1'800'000'000'000'000;

TEST(PgSnapshot, ParsesPrintsAndAnswersVisibility) {
    auto s = PgSnapshot::parse("100:110:102,105");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->text(), "100:110:102,105");
    EXPECT_TRUE(s->sees(99));
    EXPECT_TRUE(s->sees(100));
    EXPECT_FALSE(s->sees(102));
    EXPECT_TRUE(s->sees(104));
    EXPECT_FALSE(s->sees(110));
    auto empty = PgSnapshot::parse("7:7:");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->xip.empty());
    for (const char* bad : {"", "1", "1:2", "2:1:", "0:1:", "1:5:6", "1:5:3,2", "1:5:3,3", "1:5:3,", "a:b:", "1:5:-3"}) {
        EXPECT_FALSE(PgSnapshot::parse(bad)) << bad;
    }
}

TEST(PgSnapshot, WithinIsContainmentOfTheVisibleSets) {
    auto a = *PgSnapshot::parse("100:110:102,105");
    EXPECT_TRUE(a.within(a));
    EXPECT_TRUE(a.within(*PgSnapshot::parse("100:112:102,110")));  // 105 committed since
    EXPECT_TRUE(a.within(*PgSnapshot::parse("111:111:")));
    EXPECT_FALSE(a.within(*PgSnapshot::parse("100:110:102,104,105")));  // 104 not visible there
    EXPECT_FALSE(a.within(*PgSnapshot::parse("100:109:102,105")));
    EXPECT_FALSE(PgSnapshot::parse("111:111:")->within(a));
}

// ---- a model of the database: products, transactions with xids, snapshots ----

struct Model {
    std::mt19937_64 rng;
    std::map<std::int64_t, RankInputs> products;  // committed state
    std::uint64_t next_xid = 1000;
    std::uint64_t next_seq = 1;
    std::set<std::uint64_t> running;  // xids in progress
    // Per open transaction: its pending changes (applied at commit).
    std::map<std::uint64_t, std::vector<std::pair<std::int64_t, RankInputs>>> pending;
    std::vector<RankChange> log;  // committed change rows
    std::int64_t clock = kNow;

    explicit Model(std::uint64_t seed) : rng(seed) {}

    std::int64_t pick(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    }

    RankInputs random_inputs() {
        RankInputs in;
        in.category_id = pick(1, 12);
        in.price_cents = pick(0, 4) == 0 ? 1999 : pick(100, 200'000);  // a plateau of equal prices
        // Many exact ties: pc 0 and whole-star ratings.
        in.purchase_count = pick(0, 3) == 0 ? 0 : pick(0, 40) * pick(0, 40);
        in.rating_count = pick(0, 2) == 0 ? 0 : pick(1, 6);
        in.rating_sum = in.rating_count * pick(1, 5);
        // A third younger than 30 days, the rest up to two years.
        in.created_micros = kNow - (pick(0, 2) == 0 ? pick(0, 30 * kDay) : pick(30 * kDay, 730 * kDay));
        in.in_stock = pick(0, 9) != 0;
        in.visible = pick(0, 19) != 0;
        return in;
    }

    PgSnapshot snapshot() const {
        PgSnapshot s;
        s.xmax = next_xid;
        s.xmin = running.empty() ? next_xid : *running.begin();
        s.xip.assign(running.begin(), running.end());
        return s;
    }

    std::uint64_t begin_tx() {
        const auto x = next_xid++;
        running.insert(x);
        pending[x];
        return x;
    }

    // One change inside transaction `x` to product `id` (a sale, a rating, a price or stock change...).
    void change(std::uint64_t x, std::int64_t id) {
        RankInputs in = products.contains(id) ? products[id] : random_inputs();
        for (auto& [pid, p] : pending[x]) {
            if (pid == id) in = p;
        }
        switch (pick(0, 6)) {
            case 0:
            case 1:
                in.purchase_count += pick(1, 60);  // sales (sometimes past the max)
                break;
            case 2:
                ++in.rating_count;
                in.rating_sum += pick(1, 5);
                break;
            case 3:
                in.price_cents = pick(100, 200'000);
                break;
            case 4:
                in.in_stock = !in.in_stock;
                break;
            case 5:
                in.visible = !in.visible;  // withdrawn / back (also the max product)
                break;
            default:
                in.category_id = pick(1, 12);
                break;
        }
        pending[x].emplace_back(id, in);
    }

    void commit(std::uint64_t x) {
        for (auto& [id, in] : pending[x]) {
            RankChange c;
            c.seq = next_seq++;
            c.xid = x;
            c.product_id = id;
            if (products.contains(id)) c.before = products[id];
            c.after = in;
            c.at_micros = clock;
            products[id] = in;
            log.push_back(c);
        }
        pending.erase(x);
        running.erase(x);
    }

    // The change rows visible in `now` and not in `before` (what the catch-up query returns).
    std::vector<RankChange> between(const PgSnapshot& before, const PgSnapshot& now) const {
        std::vector<RankChange> out;
        for (const auto& c : log) {
            if (now.sees(c.xid) && !before.sees(c.xid)) out.push_back(c);
        }
        return out;
    }
};

std::int64_t max_of(const std::map<std::int64_t, RankInputs>& products) {
    std::int64_t m = 0;
    for (const auto& [id, in] : products) {
        if (in.visible) m = std::max(m, in.purchase_count);
    }
    return m;
}

// The brute-force answer: every visible product passing the filters, scored, ordered, after the key.
std::vector<RankedId> brute(const std::map<std::int64_t, RankInputs>& products,
                            const RankFilters& f,
                            std::int64_t m,
                            std::int64_t now,
                            std::optional<RankKey> after,
                            std::size_t want,
                            const std::function<bool(std::int64_t)>& text = {}) {
    std::vector<RankedId> all;
    for (const auto& [id, in] : products) {
        if (!in.visible || !f.accepts(in)) continue;
        if (text && !text(id)) continue;
        const double s = rank_score(in, m, now);
        if (after && !(s < after->score || (s == after->score && id < after->id))) continue;
        all.push_back(RankedId{id, s, in});
    }
    std::sort(all.begin(), all.end(), [](const RankedId& a, const RankedId& b) {
        return a.score > b.score || (a.score == b.score && a.id > b.id);
    });
    if (all.size() > want) all.resize(want);
    return all;
}

RankFilters random_filters(Model& m) {
    RankFilters f;
    switch (m.pick(0, 5)) {
        case 0:
            break;
        case 1: {
            std::vector<std::int64_t> cats;
            for (std::int64_t c = 1; c <= 12; ++c) {
                if (m.pick(0, 3) == 0) cats.push_back(c);
            }
            f.category_ids = cats;
            break;
        }
        case 2:
            f.category_ids = std::vector<std::int64_t>{m.pick(1, 12)};
            break;
        case 3:
            f.min_price = m.pick(0, 100'000);
            f.max_price = *f.min_price + m.pick(0, 3) * m.pick(0, 30'000);
            break;
        case 4:
            f.min_price = 1999;
            f.max_price = 1999;
            f.category_ids = std::vector<std::int64_t>{m.pick(1, 12), 13};
            break;
        default:
            f.in_stock = m.pick(0, 1) == 0;
            f.max_price = m.pick(0, 200'000);
            break;
    }
    if (m.pick(0, 4) == 0) f.in_stock = m.pick(0, 3) != 0;
    return f;
}

void expect_same(const std::vector<RankedId>& got, const std::vector<RankedId>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].id, want[i].id) << what << " at " << i;
        ASSERT_EQ(got[i].score, want[i].score) << what << " at " << i;
    }
}

std::vector<std::pair<std::int64_t, RankInputs>> rows_of(const std::map<std::int64_t, RankInputs>& products) {
    return {products.begin(), products.end()};
}

RankIndex::Options small_options() {
    RankIndex::Options o;
    o.rebuild_after_changes = 50;
    o.sample_size = 300;
    return o;
}

TEST(RankIndex, FirstPagesEqualBruteForceUnderEveryFilter) {
    Model m(1);
    for (std::int64_t id = 1; id <= 3000; ++id) m.products[id] = m.random_inputs();
    RankIndex index(small_options());
    index.reset(m.snapshot(), rows_of(m.products), {}, kNow);
    for (int round = 0; round < 300; ++round) {
        RankRequest r;
        r.filters = random_filters(m);
        r.want = static_cast<std::size_t>(m.pick(1, 101));
        r.now_micros = kNow + m.pick(0, 3) * kDay;
        std::vector<RankedId> got;
        ASSERT_FALSE(index.rank(r, got));
        expect_same(got, brute(m.products, r.filters, max_of(m.products), *r.now_micros, {}, r.want),
                    "round " + std::to_string(round));
    }
}

// Pages through whole listings with cursors while changes are committed (out of order) and
// applied, with and without rebuilds: every page as of the first page's snapshot equals the
// brute force over the state at that snapshot.
TEST(RankIndex, CursorsRankAsOfTheFirstPageWhileChangesArrive) {
    for (std::uint64_t seed = 2; seed < 8; ++seed) {
        Model m(seed);
        for (std::int64_t id = 1; id <= 1500; ++id) m.products[id] = m.random_inputs();
        RankIndex index(small_options());
        auto applied = m.snapshot();
        index.reset(applied, rows_of(m.products), {}, kNow);
        std::vector<std::uint64_t> open;
        for (int listing = 0; listing < 12; ++listing) {
            // Catch up, then page 1 as of the index's snapshot.
            const auto now = m.snapshot();
            index.apply(now, m.between(applied, now));
            applied = now;
            const auto state = m.products;  // the committed state at `now`
            RankRequest r;
            r.filters = random_filters(m);
            r.want = static_cast<std::size_t>(m.pick(2, 40));
            r.now_micros = m.clock;
            std::vector<RankedId> page;
            ASSERT_FALSE(index.rank(r, page));
            const auto max = max_of(state);
            expect_same(page, brute(state, r.filters, max, m.clock, {}, r.want), "page 1");
            const auto t0 = m.clock;
            auto cursor_snapshot = index.snapshot();
            std::set<std::int64_t> seen;
            for (int p = 0; p < 30 && page.size() == r.want; ++p) {
                for (const auto& x : page) ASSERT_TRUE(seen.insert(x.id).second) << "duplicate " << x.id;
                // Meanwhile: transactions start, change things, commit out of order.
                for (auto k = m.pick(0, 6); k > 0; --k) {
                    auto x = m.begin_tx();
                    for (auto c = m.pick(1, 4); c > 0; --c) m.change(x, m.pick(1, 1600));
                    open.push_back(x);
                }
                while (!open.empty() && m.pick(0, 2) != 0) {
                    const auto i = static_cast<std::size_t>(m.pick(0, static_cast<std::int64_t>(open.size()) - 1));
                    m.commit(open[i]);
                    open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
                }
                m.clock += m.pick(0, 3) * 60'000'000;
                const auto later = m.snapshot();
                index.apply(later, m.between(applied, later));
                applied = later;
                if (m.pick(0, 3) == 0) index.rebuild(m.clock);
                RankRequest next = r;
                next.as_of = cursor_snapshot;
                next.max_purchase = max;
                next.now_micros = t0;
                next.after = RankKey{page.back().score, page.back().id};
                ASSERT_FALSE(index.rank(next, page));
                expect_same(page,
                            brute(state, r.filters, max, t0, next.after, r.want),
                            "seed " + std::to_string(seed) + " listing " + std::to_string(listing) + " page " +
                                std::to_string(p + 2));
            }
        }
    }
}

TEST(RankIndex, OlderBuildsAndOtherClocksStillGiveExactAnswers) {
    // The max falls (the best seller withdrawn) and the query's clock is before the build's:
    // alpha > 1 and beta > 0, the loose bounds.
    Model m(11);
    for (std::int64_t id = 1; id <= 2000; ++id) m.products[id] = m.random_inputs();
    RankIndex index(small_options());
    auto applied = m.snapshot();
    index.reset(applied, rows_of(m.products), {}, kNow + 5 * kDay);
    std::int64_t best_pc = -1;
    for (const auto& [id, in] : m.products) {
        if (in.visible) best_pc = std::max(best_pc, in.purchase_count);
    }
    auto x = m.begin_tx();
    for (const auto& [id, in] : m.products) {
        if (in.visible && in.purchase_count == best_pc) {
            m.pending[x].emplace_back(id, in);
            m.pending[x].back().second.visible = false;
        }
    }
    m.commit(x);
    const auto now = m.snapshot();
    index.apply(now, m.between(applied, now));
    EXPECT_LT(index.max_purchase(), best_pc);
    for (int round = 0; round < 100; ++round) {
        RankRequest r;
        r.filters = random_filters(m);
        r.want = static_cast<std::size_t>(m.pick(1, 60));
        r.now_micros = kNow + m.pick(0, 4) * kDay;
        std::vector<RankedId> got;
        ASSERT_FALSE(index.rank(r, got));
        expect_same(got, brute(m.products, r.filters, max_of(m.products), *r.now_micros, {}, r.want), "loose");
    }
}

TEST(RankIndex, OnlyTheseIdsAndBlocksWithATextPredicate) {
    Model m(21);
    for (std::int64_t id = 1; id <= 4000; ++id) m.products[id] = m.random_inputs();
    RankIndex index(small_options());
    index.reset(m.snapshot(), rows_of(m.products), {}, kNow);
    const auto max = max_of(m.products);
    for (int round = 0; round < 60; ++round) {
        const auto modulus = m.pick(1, 50);
        auto text = [modulus](std::int64_t id) { return id % modulus == 0; };
        RankRequest r;
        r.filters = random_filters(m);
        r.want = static_cast<std::size_t>(m.pick(1, 50));
        r.now_micros = kNow;
        const auto expected = brute(m.products, r.filters, max, kNow, {}, r.want, text);
        // Few matches: enumerate them.
        std::vector<std::int64_t> matches;
        for (const auto& [id, in] : m.products) {
            if (text(id)) matches.push_back(id);
        }
        RankRequest only = r;
        only.only_ids = matches;
        std::vector<RankedId> got;
        ASSERT_FALSE(index.rank(only, got));
        expect_same(got, expected, "only ids");
        // Many: scan blocks, keep the matches.
        RankScan scan;
        ASSERT_FALSE(index.begin(r, scan));
        int blocks = 0;
        while (!scan.done()) {
            auto block = scan.next(static_cast<std::size_t>(m.pick(1, 200)));
            std::vector<RankedId> matched;
            for (const auto& c : block.candidates) {
                if (text(c.id)) matched.push_back(c);
            }
            scan.offer(std::move(matched));
            ASSERT_LT(++blocks, 100'000);
        }
        expect_same(scan.results(), expected, "blocks");
    }
}

TEST(RankIndex, ScansStopEarly) {
    Model m(31);
    for (std::int64_t id = 1; id <= 20000; ++id) m.products[id] = m.random_inputs();
    RankIndex index;
    index.reset(m.snapshot(), rows_of(m.products), {}, kNow);
    RankRequest r;
    r.want = 21;
    r.now_micros = kNow;  // the build's own clock: the bound is the key itself
    RankScan scan;
    ASSERT_FALSE(index.begin(r, scan));
    while (!scan.done()) scan.offer(scan.next(8).candidates);
    EXPECT_EQ(scan.results().size(), 21U);
    EXPECT_LT(scan.scanned(), 100U);  // not the 20 000 products
}

TEST(RankIndex, ExpiredAndFutureSnapshotsAreRefused) {
    Model m(41);
    for (std::int64_t id = 1; id <= 100; ++id) m.products[id] = m.random_inputs();
    RankIndex::Options o;
    o.history_micros = 60LL * 60 * 1'000'000;
    RankIndex index(o);
    const auto s0 = m.snapshot();
    index.reset(s0, rows_of(m.products), {}, kNow);
    RankRequest r;
    r.as_of = s0;
    r.now_micros = kNow;
    std::vector<RankedId> out;
    EXPECT_FALSE(index.rank(r, out));  // the current snapshot itself
    auto x = m.begin_tx();
    m.change(x, 5);
    m.commit(x);
    index.apply(m.snapshot(), m.between(s0, m.snapshot()));
    r.now_micros = kNow - 56LL * 60 * 1'000'000;  // older than the history window (less a margin) allows
    EXPECT_EQ(index.rank(r, out), RankError::kSnapshotExpired);
    r.now_micros = kNow;
    EXPECT_FALSE(index.rank(r, out));
    m.begin_tx();
    auto future = m.snapshot();
    future.xmax += 5;
    r.as_of = future;
    EXPECT_EQ(index.rank(r, out), RankError::kBehind);
    RankIndex empty;
    EXPECT_EQ(empty.rank(RankRequest{}, out), RankError::kNotLoaded);
}

TEST(RankIndex, FacetsAreExactForSmallSetsAndMarkedApproximateAbove) {
    Model m(51);
    for (std::int64_t id = 1; id <= 30000; ++id) m.products[id] = m.random_inputs();
    RankIndex index(small_options());
    auto applied = m.snapshot();
    index.reset(applied, rows_of(m.products), {}, kNow);
    // Changes after the build are counted too.
    auto x = m.begin_tx();
    for (int i = 0; i < 30; ++i) m.change(x, m.pick(1, 30050));
    m.commit(x);
    index.apply(m.snapshot(), m.between(applied, m.snapshot()));
    auto exact = [&](const RankFilters& f) {
        std::map<std::int64_t, std::int64_t> cats;
        std::vector<std::int64_t> bands(facet_price_bands().size(), 0);
        std::int64_t total = 0;
        for (const auto& [id, in] : m.products) {
            if (!in.visible || !f.accepts(in)) continue;
            ++cats[in.category_id];
            auto it = std::upper_bound(facet_price_bands().begin(), facet_price_bands().end(), in.price_cents);
            ++bands[static_cast<std::size_t>(it - facet_price_bands().begin()) - 1];
            ++total;
        }
        return std::make_tuple(cats, bands, total);
    };
    for (int round = 0; round < 40; ++round) {
        auto f = random_filters(m);
        auto got = index.facets(f, nullptr, 10'000);
        auto [cats, bands, total] = exact(f);
        if (total <= 10'000) {
            EXPECT_FALSE(got.approximate);
        }
        if (!got.approximate) {
            EXPECT_EQ(got.total, total);
            std::map<std::int64_t, std::int64_t> got_cats;
            for (const auto& c : got.categories) got_cats[c.category_id] = c.count;
            EXPECT_EQ(got_cats, cats);
            for (std::size_t i = 0; i < bands.size(); ++i) EXPECT_EQ(got.price[i].count, bands[i]);
        } else {
            EXPECT_NEAR(static_cast<double>(got.total), static_cast<double>(total), 0.15 * static_cast<double>(total));
        }
    }
    // Explicit matches are always exact.
    std::vector<std::int64_t> ids;
    for (std::int64_t id = 1; id <= 30000; id += 7) ids.push_back(id);
    auto got = index.facets(RankFilters{}, &ids, 10'000);
    EXPECT_FALSE(got.approximate);
    std::int64_t visible = 0;
    for (auto id : ids) visible += m.products[id].visible ? 1 : 0;
    EXPECT_EQ(got.total, visible);
}

}  // namespace
}  // namespace emporium::catalog

namespace emporium::catalog {
namespace {

// The ids (up to 10) a compiled tsquery ranks under `p`.
std::set<std::int64_t> text_ids(const RankIndex& index, const std::string& tsquery, TextPredicate p) {
    RankRequest r;
    r.filters.text = index.compile_text(tsquery);
    EXPECT_NE(r.filters.text, nullptr) << tsquery;
    r.filters.text_predicate = p;
    r.want = 10;
    r.now_micros = kNow;
    std::vector<RankedId> out;
    EXPECT_FALSE(index.rank(r, out));
    std::set<std::int64_t> got;
    for (const auto& x : out) got.insert(x.id);
    return got;
}

// The in-process text evaluation against what PostgreSQL's tsquery operators mean.
TEST(RankIndexText, CompilesAndEvaluatesTsqueryText) {
    RankIndex index;
    std::vector<std::pair<std::int64_t, RankInputs>> products;
    for (std::int64_t id = 1; id <= 4; ++id) {
        RankInputs in;
        in.visible = true;
        in.created_micros = kNow;
        products.emplace_back(id, in);
    }
    index.reset(*PgSnapshot::parse("10:10:"), products, {}, kNow);
    index.set_texts({{1, "black cotton shirt", "black shirt"},
                     {2, "black leather boot it's", "leather boot"},
                     {3, "red cotton shirt", "red"},
                     {4, "", ""}});
    auto ids = [&](const std::string& tsquery, TextPredicate p = TextPredicate::kAnywhere) {
        return text_ids(index, tsquery, p);
    };
    EXPECT_EQ(ids("'black'"), (std::set<std::int64_t>{1, 2}));
    EXPECT_EQ(ids("'black' & 'cotton'"), (std::set<std::int64_t>{1}));
    EXPECT_EQ(ids("'black' & !'cotton'"), (std::set<std::int64_t>{2}));
    EXPECT_EQ(ids("'red' | 'boot'"), (std::set<std::int64_t>{2, 3}));
    EXPECT_EQ(ids("( 'red' | 'black' ) & 'shirt'"), (std::set<std::int64_t>{1, 3}));
    EXPECT_EQ(ids("!'shirt'"), (std::set<std::int64_t>{2, 4}));
    EXPECT_EQ(ids("'it''s'"), (std::set<std::int64_t>{2}));
    EXPECT_EQ(ids("'unknown'"), (std::set<std::int64_t>{}));
    EXPECT_EQ(ids("!'unknown' & 'cotton'"), (std::set<std::int64_t>{1, 3}));
    EXPECT_EQ(ids(""), (std::set<std::int64_t>{}));  // only stop words: nothing
    // The name tier: the whole query must match in the name alone, and anywhere.
    EXPECT_EQ(ids("'shirt'", TextPredicate::kName), (std::set<std::int64_t>{1}));
    EXPECT_EQ(ids("'shirt'", TextPredicate::kElsewhere), (std::set<std::int64_t>{3}));
    EXPECT_EQ(ids("'black' & !'leather'", TextPredicate::kName), (std::set<std::int64_t>{1}));
    EXPECT_EQ(ids("'black' & !'cotton'", TextPredicate::kName), (std::set<std::int64_t>{}));  // 2: black not in its name
    EXPECT_EQ(ids("'shirt':A"), (std::set<std::int64_t>{1}));
    // What the index does not evaluate: other phrases and prefixes go to the database.
    EXPECT_EQ(index.compile_text("'wi-fi' <-> 'wi'"), nullptr);              // a part missing
    EXPECT_EQ(index.compile_text("'wi-fi' <-> 'wi' <-> 'fi' <-> 'router'"), nullptr);
    EXPECT_EQ(index.compile_text("'a-b-c' <2> 'b' <-> 'c'"), nullptr);     // a stop word's gap
    EXPECT_EQ(index.compile_text("( 'x' & 'wi-fi' ) <-> 'wi' <-> 'fi'"), nullptr);
    EXPECT_EQ(index.compile_text("'wi-fi':A <-> 'wi' <-> 'fi'"), nullptr);
    EXPECT_EQ(index.compile_text("'black' <-> 'shirt'"), nullptr);
    EXPECT_EQ(index.compile_text("'bla':*"), nullptr);
    EXPECT_EQ(index.compile_text("'black' &"), nullptr);
    EXPECT_EQ(index.compile_text("'black"), nullptr);
    // A sampled match witnesses that matches exist; no witness is not a proof of none.
    auto witnessed = [&](const std::string& tsquery) {
        RankFilters f;
        f.text = index.compile_text(tsquery);
        return index.sample_has_match(f);
    };
    EXPECT_TRUE(witnessed("'leather'"));
    EXPECT_FALSE(witnessed("'unknown'"));
    EXPECT_FALSE(witnessed("'leather' & 'red'"));
    EXPECT_FALSE(RankIndex().sample_has_match({})) << "nothing built: no witness";
}

// A hyphenated word's phrase (the compound, then each of its parts, as websearch_to_tsquery
// writes it) is evaluated as the AND of those words; other phrases are refused.
TEST(RankIndexText, AHyphenatedWordsPhraseIsItsWords) {
    std::vector<std::pair<std::int64_t, RankInputs>> products;
    for (std::int64_t id = 1; id <= 3; ++id) {
        RankInputs in;
        in.visible = true;
        in.created_micros = kNow;
        products.emplace_back(id, in);
    }
    const std::vector<ProductText> texts{{1, "wi-fi wi fi router", "wi-fi wi fi"}, {2, "wi fi", "wi fi"}, {3, "router", ""}};
    RankIndex index;
    index.reset(*PgSnapshot::parse("10:10:"), products, {}, kNow, &texts);
    auto ids = [&](const std::string& tsquery) { return text_ids(index, tsquery, TextPredicate::kAnywhere); };
    EXPECT_EQ(ids("'wi-fi' <-> 'wi' <-> 'fi'"), (std::set<std::int64_t>{1}));
    EXPECT_EQ(ids("'wi-fi' <-> 'wi' <-> 'fi' & 'router'"), (std::set<std::int64_t>{1}));
    EXPECT_EQ(ids("!( 'wi-fi' <-> 'wi' <-> 'fi' )"), (std::set<std::int64_t>{2, 3}));
    EXPECT_EQ(ids("'router' | 'wi-fi' <-> 'wi' <-> 'fi'"), (std::set<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace emporium::catalog

namespace emporium::catalog {
namespace {

// Random words per product (a few common words, many rare ones), a random query tree over them,
// and what PostgreSQL's tsquery operators make of it: the oracle for the postings.
struct Words {
    std::set<std::string> all;
    std::set<std::string> name;
};

std::string join(const std::set<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

struct QueryTree {
    enum class Kind { kTerm, kNameTerm, kAnd, kOr, kNot };
    Kind kind = Kind::kTerm;
    std::string word;
    std::vector<QueryTree> children;

    std::string text() const {
        switch (kind) {
            case Kind::kTerm:
                return "'" + word + "'";
            case Kind::kNameTerm:
                return "'" + word + "':A";
            case Kind::kNot:
                return "!" + children[0].text();
            case Kind::kAnd:
                return "( " + children[0].text() + " & " + children[1].text() + " )";
            case Kind::kOr:
                return "( " + children[0].text() + " | " + children[1].text() + " )";
        }
        return {};
    }
    // NOLINTNEXTLINE(misc-no-recursion): test trees are a few levels deep
    bool matches(const Words& w, bool name_only) const {
        const auto& words = name_only ? w.name : w.all;
        switch (kind) {
            case Kind::kTerm:
                return words.contains(word);
            case Kind::kNameTerm:
                return w.name.contains(word);
            case Kind::kNot:
                return !children[0].matches(w, name_only);
            case Kind::kAnd:
                return children[0].matches(w, name_only) && children[1].matches(w, name_only);
            case Kind::kOr:
                return children[0].matches(w, name_only) || children[1].matches(w, name_only);
        }
        return false;
    }
};

const std::vector<std::string>& vocabulary() {
    static const std::vector<std::string> words = {"black", "shirt", "cotton", "red",   "boot",  "lamp", "oak",
                                                   "steel", "wool",  "mini",   "pro",   "desk",  "navy", "linen",
                                                   "brass", "chair", "mug",    "sofa",  "quilt", "vase", "nobody"};
    return words;
}

std::string zipf_word(Model& m) {
    const auto& v = vocabulary();
    const double u = std::uniform_real_distribution<double>(0, 1)(m.rng);
    return v[std::min(v.size() - 2, static_cast<std::size_t>(u * u * static_cast<double>(v.size() - 1)))];
}

Words random_words(Model& m) {
    Words w;
    for (auto k = m.pick(1, 3); k > 0; --k) w.name.insert(zipf_word(m));
    w.all = w.name;
    for (auto k = m.pick(0, 5); k > 0; --k) w.all.insert(zipf_word(m));
    return w;
}

// NOLINTNEXTLINE(misc-no-recursion): bounded by depth
QueryTree random_query(Model& m, int depth) {
    QueryTree q;
    const auto kind = depth <= 0 ? m.pick(0, 1) : m.pick(0, 4);
    switch (kind) {
        case 0:
            q.kind = QueryTree::Kind::kTerm;
            q.word = m.pick(0, 15) == 0 ? "unheard" : m.pick(0, 12) == 0 ? "nobody" : zipf_word(m);
            break;
        case 1:
            q.kind = QueryTree::Kind::kNameTerm;
            q.word = zipf_word(m);
            break;
        case 2:
            q.kind = QueryTree::Kind::kNot;
            q.children.push_back(random_query(m, depth - 1));
            break;
        default:
            q.kind = kind == 3 ? QueryTree::Kind::kAnd : QueryTree::Kind::kOr;
            q.children.push_back(random_query(m, depth - 1));
            q.children.push_back(random_query(m, depth - 1));
            break;
    }
    return q;
}

// Ranking, paging, facets and the match check with a text predicate answered from the postings
// (and, for products changed since the build, from their words), against the brute force over
// the model's words: every predicate (anywhere, the name tier, the other tier), random filters,
// words changed and products added after the build, with and without rebuilds.
TEST(RankIndexText, PostingsGiveTheBruteForceAnswersForRandomQueries) {
    for (std::uint64_t seed = 61; seed < 65; ++seed) {
        Model m(seed);
        // Odd seeds: long lists are walked (a superset, words checked) rather than intersected.
        auto options = small_options();
        if (seed % 2 == 1) options.lazy_lists_above = 40;
        std::map<std::int64_t, Words> words;
        std::vector<ProductText> texts;
        for (std::int64_t id = 1; id <= 1500; ++id) {
            m.products[id] = m.random_inputs();
            words[id] = random_words(m);
            if (id % 97 != 0) texts.push_back(ProductText{id, join(words[id].all), join(words[id].name)});
        }
        for (std::int64_t id = 97; id <= 1500; id += 97) words[id] = Words{};  // no words at all
        RankIndex index(options);
        auto applied = m.snapshot();
        index.reset(applied, rows_of(m.products), {}, kNow, &texts);
        ASSERT_TRUE(index.has_postings());
        for (int round = 0; round < 6; ++round) {
            // Changes: sales and the rest, some with new words, and new products.
            auto x = m.begin_tx();
            for (auto k = m.pick(1, 40); k > 0; --k) m.change(x, m.pick(1, 1560));
            m.commit(x);
            const auto now = m.snapshot();
            auto changes = m.between(applied, now);
            for (auto& c : changes) {
                if (!c.before || m.pick(0, 2) == 0) {
                    words[c.product_id] = random_words(m);
                    const auto& w = words[c.product_id];
                    c.text = ProductText{c.product_id, join(w.all), join(w.name)};
                }
            }
            index.apply(now, changes);
            applied = now;
            if (round % 3 == 2) index.rebuild(kNow);
            const auto max = max_of(m.products);
            for (int q = 0; q < 30; ++q) {
                const auto tree = random_query(m, static_cast<int>(m.pick(0, 3)));
                auto compiled = index.compile_text(tree.text());
                ASSERT_NE(compiled, nullptr) << tree.text();
                for (auto predicate : {TextPredicate::kAnywhere, TextPredicate::kName, TextPredicate::kElsewhere}) {
                    auto text = [&](std::int64_t id) {
                        const auto& w = words[id];
                        const bool anywhere = tree.matches(w, false);
                        if (predicate == TextPredicate::kAnywhere) return anywhere;
                        const bool name = anywhere && tree.matches(w, true);
                        return predicate == TextPredicate::kName ? name : anywhere && !name;
                    };
                    RankRequest r;
                    r.filters = m.pick(0, 1) == 0 ? RankFilters{} : random_filters(m);
                    r.filters.text = compiled;
                    r.filters.text_predicate = predicate;
                    r.want = static_cast<std::size_t>(m.pick(1, 30));
                    r.now_micros = kNow;
                    const auto what = tree.text() + " predicate " + std::to_string(static_cast<int>(predicate)) +
                                      " seed " + std::to_string(seed) + " round " + std::to_string(round);
                    std::vector<RankedId> page;
                    ASSERT_FALSE(index.rank(r, page));
                    expect_same(page, brute(m.products, r.filters, max, kNow, {}, r.want, text), what);
                    if (!page.empty()) {  // the next page, after the last one
                        RankRequest next = r;
                        next.after = RankKey{page.back().score, page.back().id};
                        std::vector<RankedId> page2;
                        ASSERT_FALSE(index.rank(next, page2));
                        expect_same(page2, brute(m.products, r.filters, max, kNow, next.after, r.want, text), what + " page 2");
                    }
                    EXPECT_EQ(index.has_match(r.filters), !brute(m.products, r.filters, max, kNow, {}, 1, text).empty()) << what;
                    // Facets: exact at this size.
                    auto got = index.facets(r.filters, nullptr, 10'000);
                    std::int64_t total = 0;
                    std::map<std::int64_t, std::int64_t> categories;
                    std::vector<std::int64_t> bands(facet_price_bands().size(), 0);
                    for (const auto& [id, in] : m.products) {
                        if (in.visible && r.filters.accepts(in) && text(id)) {
                            ++total;
                            ++categories[in.category_id];
                            auto it = std::upper_bound(facet_price_bands().begin(), facet_price_bands().end(), in.price_cents);
                            ++bands[static_cast<std::size_t>(it - facet_price_bands().begin()) - 1];
                        }
                    }
                    EXPECT_FALSE(got.approximate) << what;
                    EXPECT_EQ(got.total, total) << what;
                    std::map<std::int64_t, std::int64_t> got_categories;
                    for (const auto& c : got.categories) got_categories[c.category_id] = c.count;
                    EXPECT_EQ(got_categories, categories) << what;
                    for (std::size_t i = 0; i < bands.size(); ++i) EXPECT_EQ(got.price[i].count, bands[i]) << what;
                    // A lower exact limit: exact up to it, marked approximate only above it.
                    auto limited = index.facets(r.filters, nullptr, 20);
                    if (total <= 20) {
                        EXPECT_FALSE(limited.approximate) << what;
                    }
                    if (!limited.approximate) {
                        EXPECT_EQ(limited.total, total) << what;
                    }
                }
            }
        }
    }
}

}  // namespace
}  // namespace emporium::catalog
