// Pure catalog rules: the ranking formula against hand-computed values, cursors and JSON forms.
#include "catalog/catalog_service.hpp"
#include "catalog/catalog_types.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <random>

namespace emporium::catalog {
namespace {

TEST(RankingScore, WeightsTheThreeTerms) {
    // popularity 50/100 = 0.5, rating 4.5/5 = 0.9, freshness 1 - 15/30 = 0.5
    auto s = ranking_score(50, 100, 9, 2, 15.0);
    EXPECT_DOUBLE_EQ(s.popularity, 0.5);
    EXPECT_DOUBLE_EQ(s.rating, 0.9);
    EXPECT_DOUBLE_EQ(s.freshness, 0.5);
    EXPECT_NEAR(s.score, 0.5 * 0.5 + 0.3 * 0.9 + 0.2 * 0.5, 1e-12);  // 0.62
    EXPECT_NEAR(s.score, 0.62, 1e-12);
}

TEST(RankingScore, NoSalesAnywhereMeansNoPopularityTerm) {
    auto s = ranking_score(0, 0, 0, 0, 0.0);
    EXPECT_EQ(s.popularity, 0.0);
    EXPECT_EQ(s.rating, 0.0);
    EXPECT_DOUBLE_EQ(s.freshness, 1.0);
    EXPECT_DOUBLE_EQ(s.score, 0.2);
}

TEST(RankingScore, FutureCreationCountsAsBrandNew) {
    auto s = ranking_score(10, 40, 3, 1, -5.0);
    EXPECT_DOUBLE_EQ(s.freshness, 1.0);
    EXPECT_NEAR(s.score, 0.5 * 0.25 + 0.3 * 0.6 + 0.2, 1e-12);  // 0.505
}

TEST(RankingScore, OldProductsLoseOnlyTheFreshnessTerm) {
    auto s = ranking_score(100, 100, 5, 1, 45.0);
    EXPECT_EQ(s.freshness, 0.0);
    EXPECT_NEAR(s.score, 0.8, 1e-12);
    EXPECT_EQ(ranking_score(1, 1, 0, 0, 30.0).freshness, 0.0);
}

TEST(RankingScore, PopularityIsCappedWhenTheSnapshotMaxIsExceeded) {
    auto s = ranking_score(150, 100, 0, 0, 100.0);
    EXPECT_DOUBLE_EQ(s.popularity, 1.0);
    EXPECT_DOUBLE_EQ(s.score, 0.5);
}

TEST(Cursor, RoundTripsEverySort) {
    ListCursor c;
    c.sort = ListSort::kRank;
    c.mode = TextMode::kFullText;
    c.filter_hash = "0123456789abcdef";
    c.score_key = 0.1 + 0.2;  // not exactly representable in short decimal
    c.id = 42;
    c.max_purchase = 977;
    c.now_micros = 1'700'000'000'123'456;
    auto d = decode_cursor(encode_cursor(c));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->sort, c.sort);
    EXPECT_EQ(d->mode, c.mode);
    EXPECT_EQ(d->filter_hash, c.filter_hash);
    EXPECT_EQ(d->score_key, c.score_key);  // bit-exact
    EXPECT_EQ(d->id, 42);
    EXPECT_EQ(d->max_purchase, 977);
    EXPECT_EQ(d->now_micros, c.now_micros);

    c.sort = ListSort::kNewest;
    c.int_key = 1'700'000'000'000'001;
    d = decode_cursor(encode_cursor(c));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->int_key, c.int_key);
}

TEST(Cursor, RejectsAnythingElse) {
    EXPECT_FALSE(decode_cursor(""));
    EXPECT_FALSE(decode_cursor("not base64 !"));
    EXPECT_FALSE(decode_cursor(base64url_encode("[]")));
    EXPECT_FALSE(decode_cursor(base64url_encode("{\"s\":\"rank\"}")));
    EXPECT_FALSE(
        decode_cursor(base64url_encode(R"({"s":"bogus","m":"","f":"x","k":"1","i":1,"p":0,"t":0})")));
    EXPECT_FALSE(
        decode_cursor(base64url_encode(R"({"s":"price_asc","m":"","f":"x","k":"1.5","i":1,"p":0,"t":0})")));
    EXPECT_TRUE(
        decode_cursor(base64url_encode(R"({"s":"price_asc","m":"","f":"x","k":"15","i":1,"p":0,"t":0})")));
}

// A forged time beyond what the database stores used to reach the query as a Timestamp (500).
TEST(Cursor, RejectsTimesOutsideTheStorableRange) {
    const auto with = [](const std::string& sort, const std::string& key, const std::string& t) {
        return decode_cursor(base64url_encode(R"({"s":")" + sort + R"(","m":"","f":"x","k":")" + key +
                                              R"(","i":1,"p":0,"t":)" + t + "}"));
    };
    EXPECT_TRUE(with("rank", "0.5", "1700000000000000"));
    EXPECT_FALSE(with("rank", "0.5", "9000000000000000000"));
    EXPECT_FALSE(with("rank", "0.5", "-9000000000000000000"));
    EXPECT_TRUE(with("rank", "0.5", "-62135596800000000"));   // 0001-01-01
    EXPECT_FALSE(with("rank", "0.5", "-62135596800000001"));  // just before
    EXPECT_TRUE(with("newest", "253402300799999999", "0"));   // 9999-12-31T23:59:59.999999
    EXPECT_FALSE(with("newest", "253402300800000000", "0"));
    EXPECT_FALSE(with("newest", "-9000000000000000000", "0"));
    EXPECT_TRUE(with("price_asc", "9000000000000000000", "0"));  // a price key is not a time
}

TEST(Base64Url, RoundTripsAllLengths) {
    std::string raw;
    for (int i = 0; i < 40; ++i) {
        raw.push_back(static_cast<char>(i * 37));
        std::string back;
        ASSERT_TRUE(base64url_decode(base64url_encode(raw), back));
        EXPECT_EQ(back, raw);
    }
}

TEST(Sort, NamesRoundTrip) {
    for (auto s : {ListSort::kRank,
                   ListSort::kRelevance,
                   ListSort::kPriceAsc,
                   ListSort::kPriceDesc,
                   ListSort::kNewest}) {
        EXPECT_EQ(parse_sort(sort_name(s)), s);
    }
    EXPECT_FALSE(parse_sort("cheapest"));
}

TEST(ProductJson, RoundTripsThroughTheCacheForm) {
    Product p;
    p.id = 7;
    p.sku = "SKU-7";
    p.name = "Lamp";
    p.description = "warm";
    p.category = CategoryRef{3, "home", "Home"};
    p.price_cents = 1999;
    p.currency = "EUR";
    p.stock = 4;
    p.rating_sum = 9;
    p.rating_count = 2;
    p.purchase_count = 11;
    p.created_at = Timestamp(std::chrono::seconds(1'700'000'000));
    p.version = 3;
    auto j = to_json(p);
    EXPECT_EQ(j.at("price").at("amount_cents").as_int64(), 1999);
    EXPECT_EQ(j.at("rating").at("average").as_double(), 4.5);
    EXPECT_TRUE(j.at("in_stock").as_bool());
    auto back = product_from_json(j);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sku, "SKU-7");
    EXPECT_EQ(back->category->slug, "home");
    EXPECT_EQ(back->created_at, p.created_at);
    EXPECT_EQ(back->version, 3);
    EXPECT_EQ(back->rating_sum, 9);
}

// The cached JSON of products and pages is the API's JSON and reads back to the same values,
// whatever the text holds (quotes, backslashes, control characters, non-ASCII).
TEST(ProductJson, ProductsAndPagesRoundTripThroughTheirJsonText) {
    std::mt19937_64 rng(7);
    const std::vector<std::string> pieces{"a", "Z", " ", "\"", "\\", "\t", "\n", "\u0001", "\u001f", "\u007f", "\xc3\xa9", "\xe2\x82\xac"};
    auto text = [&](std::size_t n) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
        return s;
    };
    ProductPage page;
    for (int i = 0; i < 300; ++i) {
        Product p;
        p.id = static_cast<std::int64_t>(rng() % 1'000'000'000);
        p.sku = "SKU-" + std::to_string(i);
        p.name = text(40);
        p.description = text(200);
        p.price_cents = static_cast<std::int64_t>(rng() % 100'000'000);
        p.currency = "EUR";
        p.stock = i % 4;
        p.is_active = i % 5 != 0;
        p.rating_count = i % 6;
        p.rating_sum = p.rating_count * 3 + (i % 2);
        p.purchase_count = i * 17;
        p.created_at = Timestamp(std::chrono::seconds(1'700'000'000 + i * 3600)) + std::chrono::microseconds(i * 7);
        p.version = 1 + i % 9;
        if (i % 2 == 0) p.category = CategoryRef{i, "slug-" + std::to_string(i), text(12)};
        const auto back = product_from_json(boost::json::parse(to_json_text(p)));
        ASSERT_TRUE(back) << i;
        EXPECT_EQ(back->name, p.name);
        EXPECT_EQ(back->description, p.description);
        EXPECT_EQ(back->created_at, p.created_at);
        EXPECT_EQ(back->rating_sum, p.rating_sum);
        EXPECT_EQ(back->category.has_value(), p.category.has_value());
        page.items.push_back(ListedProduct{p, {0.25, 0.5, 1, 0.575, 1}});
    }
    page.next_cursor = "abc_-";
    page.facets = Facets{3, false, std::vector<CategoryFacet>{{std::nullopt, std::nullopt, std::nullopt, 2}, {4, "toys", "Toys", 1}},
                         std::vector<PriceFacet>{{0, 999, 3}}};
    page.explain = true;
    const auto back = page_from_json(boost::json::parse(to_json_text(page)));
    ASSERT_TRUE(back);
    ASSERT_EQ(back->items.size(), page.items.size());
    EXPECT_TRUE(back->explain);
    EXPECT_EQ(back->items[9].score.score, 0.575);
    EXPECT_EQ(back->next_cursor, page.next_cursor);
    ASSERT_TRUE(back->facets && back->facets->category && back->facets->price);
    EXPECT_EQ(back->facets->category->at(1).slug, "toys");
    EXPECT_FALSE(back->facets->category->at(0).id);
    EXPECT_EQ(back->facets->price->at(0).max_cents, 999);
}

// Averages are written as people read them: 8/3 is 2.67, not 2.6666666666666665E0.
TEST(ProductJson, RatingAveragesHaveTwoDecimals) {
    Product p;
    p.rating_sum = 8;
    p.rating_count = 3;
    const auto text = to_json_text(p);
    EXPECT_NE(text.find("\"rating\":{\"average\":2.67,\"count\":3,\"sum\":8}"), std::string::npos) << text;
}

}  // namespace
}  // namespace emporium::catalog
