// The rebuild's CPU side: baskets assembled from COPY rows, and pair counting through the sorted
// buffer (many compactions) against a plain map count.

#include "recommend/basket_stream.hpp"
#include "recommend/cooccurrence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace emporium::recommend {
namespace {

TEST(BasketAssembler, ConsecutiveRowsOfAnOrderAreOneBasket) {
    std::vector<std::vector<std::int64_t>> got;
    BasketAssembler assembler([&got](std::span<const std::int64_t> p) { got.emplace_back(p.begin(), p.end()); });
    for (const char* row : {"1\t10\n", "1\t11\n", "2\t10\n", "5\t12\n", "5\t13\n", "5\t10\n"}) assembler.row(row);
    EXPECT_EQ(got.size(), 2U);  // order 5 is still open
    assembler.finish();
    EXPECT_EQ(got, (std::vector<std::vector<std::int64_t>>{{10, 11}, {10}, {12, 13, 10}}));
    // A second COPY (the next range) continues; large and negative ids parse.
    assembler.row("9223372036854775807\t-3\n");
    assembler.row("9223372036854775807\t4");  // the newline is optional
    assembler.finish();
    EXPECT_EQ(got.back(), (std::vector<std::int64_t>{-3, 4}));
    EXPECT_EQ(assembler.rows(), 8U);
    assembler.finish();  // nothing open: nothing delivered
    EXPECT_EQ(got.size(), 4U);
}

TEST(BasketAssembler, RejectsRowsThatAreNotTwoIntegersOrGoBack) {
    const auto fails = [](std::vector<std::string> rows) {
        BasketAssembler assembler([](std::span<const std::int64_t>) {});
        try {
            for (const auto& r : rows) assembler.row(r);
            assembler.finish();
        } catch (const std::runtime_error&) {
            return true;
        }
        return false;
    };
    EXPECT_TRUE(fails({"1 10\n"}));
    EXPECT_TRUE(fails({"1\t\n"}));
    EXPECT_TRUE(fails({"\t10\n"}));
    EXPECT_TRUE(fails({"1\t10\t3\n"}));
    EXPECT_TRUE(fails({"1\tx\n"}));
    EXPECT_TRUE(fails({"1\t99999999999999999999\n"}));
    EXPECT_TRUE(fails({"\\N\t10\n"}));
    EXPECT_TRUE(fails({"5\t10\n", "4\t10\n"}));  // baskets would split
    EXPECT_FALSE(fails({"4\t10\n", "4\t11\n", "5\t10\n"}));
}

// Baskets over a few dozen products, some ids beyond the direct-mapped range and negative, with
// duplicates inside baskets; the counter must agree with a map of pairs whatever its buffer size.
TEST(Cooccurrence, SortedBufferCountsLikeAMapAcrossManyCompactions) {
    std::mt19937_64 rng(99);
    std::vector<std::int64_t> catalogue;
    for (int i = 0; i < 40; ++i) catalogue.push_back(i + 1);
    catalogue.push_back(std::int64_t{1} << 40);
    catalogue.push_back(-7);
    catalogue.push_back(5'000'000);
    std::vector<std::vector<std::int64_t>> baskets;
    for (int b = 0; b < 3000; ++b) {
        std::vector<std::int64_t> basket;
        const auto size = 1 + rng() % 7;
        for (std::size_t i = 0; i < size; ++i) basket.push_back(catalogue[rng() % catalogue.size()]);
        baskets.push_back(basket);
    }
    std::map<std::pair<std::int64_t, std::int64_t>, std::uint32_t> expected;
    std::map<std::int64_t, std::uint32_t> frequency;
    for (const auto& basket : baskets) {
        const std::set<std::int64_t> distinct(basket.begin(), basket.end());
        for (auto a : distinct) {
            ++frequency[a];
            for (auto b : distinct) {
                if (a != b) ++expected[{a, b}];
            }
        }
    }
    for (const std::size_t buffer : {std::size_t{1}, std::size_t{37}, std::size_t{1000}, CooccurrenceCounter::kDefaultPendingPairs}) {
        CooccurrenceCounter counter(buffer);
        for (const auto& basket : baskets) counter.add_basket(basket);
        EXPECT_EQ(counter.pairs(), expected.size()) << buffer;
        for (const auto& [product, f] : frequency) {
            EXPECT_EQ(counter.frequency(product), f) << buffer;
            std::vector<std::pair<std::int64_t, std::uint32_t>> want;
            for (const auto& [pair, n] : expected) {
                if (pair.first == product) want.emplace_back(pair.second, n);
            }
            std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) {
                return x.second != y.second ? x.second > y.second : x.first < y.first;
            });
            std::vector<std::pair<std::int64_t, std::uint32_t>> got;
            for (const auto& n : counter.neighbours(product, 1000, Scoring::kCount)) got.emplace_back(n.product_id, n.count);
            ASSERT_EQ(got, want) << "product " << product << ", buffer " << buffer;
        }
        // More baskets after a query: counted on top of the earlier totals.
        counter.add_basket(std::vector<std::int64_t>{1, 2});
        const auto before = expected.at({1, 2});
        std::uint32_t now = 0;
        for (const auto& n : counter.neighbours(1, 1000, Scoring::kCount)) {
            if (n.product_id == 2) now = n.count;
        }
        EXPECT_EQ(now, before + 1) << buffer;
    }
}

TEST(Cooccurrence, TopKIsTheSameSetAsTheRankedList) {
    CooccurrenceCounter counter;
    std::mt19937_64 rng(5);
    for (int b = 0; b < 2000; ++b) {
        std::vector<std::int64_t> basket{0};
        for (int i = 0; i < 3; ++i) basket.push_back(static_cast<std::int64_t>(1 + rng() % 200));
        counter.add_basket(basket);
    }
    std::vector<Neighbour> top;
    for (auto scoring : kAllScorings) {
        for (std::size_t k : {1UL, 7UL, 50UL, 500UL}) {
            counter.top(0, k, scoring, top);
            auto ranked = counter.neighbours(0, k, scoring);
            std::sort(top.begin(), top.end(), [](const Neighbour& x, const Neighbour& y) { return x.product_id < y.product_id; });
            std::sort(ranked.begin(), ranked.end(), [](const Neighbour& x, const Neighbour& y) { return x.product_id < y.product_id; });
            ASSERT_EQ(top.size(), ranked.size());
            for (std::size_t i = 0; i < top.size(); ++i) {
                EXPECT_EQ(top[i].product_id, ranked[i].product_id);
                EXPECT_EQ(top[i].count, ranked[i].count);
            }
        }
    }
}

}  // namespace
}  // namespace emporium::recommend
