#pragma once
// Plain types of the catalog context: categories, products, reviews, listing queries and the
// ranking formula. No HTTP and no SQL here.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::catalog {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

inline constexpr std::int64_t kMaxPriceCents = 10'000'000'000;
inline constexpr std::int64_t kMaxStock = 10'000'000;
inline constexpr std::int64_t kDefaultPageSize = 20;
inline constexpr std::int64_t kMaxPageSize = 100;

struct Category {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent_id;
    std::string slug;
    std::string name;
};

struct NewCategory {
    std::string slug;
    std::string name;
    std::optional<std::int64_t> parent_id;
};

struct CategoryRef {
    std::int64_t id = 0;
    std::string slug;
    std::string name;
};

struct Product {
    std::int64_t id = 0;
    std::string sku;
    std::string name;
    std::string description;
    std::optional<CategoryRef> category;
    std::int64_t price_cents = 0;
    std::string currency;
    std::int64_t stock = 0;
    bool is_active = true;
    bool is_deleted = false;
    std::int64_t rating_sum = 0;
    std::int64_t rating_count = 0;
    std::int64_t purchase_count = 0;
    Timestamp created_at{};
    std::int64_t version = 1;
};

struct NewProduct {
    std::string sku;
    std::string name;
    std::string description;
    std::optional<std::int64_t> category_id;
    std::int64_t price_cents = 0;
    std::string currency = "USD";
    std::int64_t stock = 0;
    bool is_active = true;
};

// A partial update; absent members keep their value. `expected_version` must equal the stored
// version (optimistic concurrency).
struct ProductPatch {
    std::int64_t expected_version = 0;
    std::optional<std::string> name;
    std::optional<std::string> description;
    std::optional<std::int64_t> category_id;
    std::optional<std::int64_t> price_cents;
    std::optional<std::string> currency;
    std::optional<std::int64_t> stock;  // the new absolute stock; the difference goes to the ledger
    std::optional<bool> is_active;
};

struct Review {
    std::int64_t id = 0;
    std::int64_t product_id = 0;
    std::int64_t user_id = 0;
    std::int64_t rating = 0;
    std::string title;
    std::string body;
    bool verified_purchase = false;
    Timestamp created_at{};
};

struct NewReview {
    std::int64_t rating = 0;
    std::string title;
    std::string body;
};

struct ReviewPage {
    std::vector<Review> items;
    std::optional<std::string> next_cursor;
};

enum class ListSort { kRank, kRelevance, kPriceAsc, kPriceDesc, kNewest };

// "rank", "relevance", "price_asc", "price_desc", "newest".
std::string_view sort_name(ListSort sort) noexcept;
std::optional<ListSort> parse_sort(std::string_view name) noexcept;

// Whether a text filter applies (websearch_to_tsquery on the weighted search vector).
enum class TextMode { kNone, kFullText };

// Which matches of a text query a lookup wants: anywhere (name, category or description), the
// name alone (the first relevance tier), or anywhere but not in the name alone (the second).
enum class TextPredicate { kAnywhere, kName, kElsewhere };

struct ListQuery {
    std::optional<std::string> q;
    std::optional<std::string> category;  // slug; includes sub-categories
    std::optional<std::int64_t> min_price;
    std::optional<std::int64_t> max_price;
    std::optional<bool> in_stock;
    ListSort sort = ListSort::kRank;
    std::int64_t limit = kDefaultPageSize;
    std::optional<std::string> cursor;  // opaque, from a previous page
    bool explain = false;
    // facets=category,price: counts per category and price band for the query and filters.
    bool facet_categories = false;
    bool facet_prices = false;
};

// The decoded keyset cursor. `max_purchase` and `now` are the snapshot the first page was ranked
// with, so every page of one listing uses the same score function.
struct ListCursor {
    ListSort sort = ListSort::kRank;
    TextMode mode = TextMode::kNone;
    std::string filter_hash;
    double score_key = 0;      // kRank / kRelevance
    std::int64_t int_key = 0;  // price (kPrice*) or created_at micros (kNewest)
    std::int64_t tier = 0;     // kRelevance: 0 = the name matched, 1 = elsewhere
    std::int64_t id = 0;
    std::int64_t max_purchase = 0;
    std::int64_t now_micros = 0;
    // sort=rank or relevance served by the rank index: the database snapshot the first page was
    // ranked as of (pg_snapshot text); later pages rank as of it.
    std::optional<std::string> snapshot;
    // The query as corrected for typos on the first page (its words replaced by the nearest
    // vocabulary words when it matched nothing); later pages search for it.
    std::optional<std::string> corrected;
};

struct ScoreParts {
    double popularity = 0;
    double rating = 0;
    double freshness = 0;
    double score = 0;
    double text_rank = 0;
};

struct ListedProduct {
    Product product;
    ScoreParts score;
};

struct ProductPage {
    std::vector<ListedProduct> items;
    std::optional<std::string> next_cursor;
    bool explain = false;
    std::optional<boost::json::object> facets;  // as answered (see the OpenAPI schema Facets)
};

// The ranking formula (also written in SQL by the store; the two must agree):
//   0.5 * min(1, purchase_count / max_purchase)   (0 when max_purchase <= 0)
// + 0.3 * (rating_sum / rating_count) / 5          (0 when rating_count == 0)
// + 0.2 * max(0, 1 - max(0, age_days) / 30)        (a future created_at counts as brand new)
ScoreParts ranking_score(std::int64_t purchase_count,
                         std::int64_t max_purchase,
                         std::int64_t rating_sum,
                         std::int64_t rating_count,
                         double age_days);

// JSON forms (the HTTP representation, also what the cache stores).
boost::json::value to_json(const Category& c);
boost::json::value to_json(const Product& p);
boost::json::value to_json(const Review& r);
boost::json::value to_json(const ProductPage& page);
// The same JSON texts as boost::json::serialize(to_json(…)), byte for byte, written directly
// (the hot read paths: a product, a listing page).
void append_json(std::string& out, const Product& p);
std::string serialize_page(const ProductPage& page);
std::optional<Product> product_from_json(const boost::json::value& v);
std::optional<ProductPage> page_from_json(const boost::json::value& v);

std::string iso8601(Timestamp t);
// Whether `micros` (µs since the Unix epoch) is a time the database can store and the API can
// print: years 1 to 9999. Every timestamp decoded from a client's cursor is checked with it.
bool is_storable_time(std::int64_t micros) noexcept;
// The shortest decimal text that parses back to exactly `v` (cursor keys, SQL float8 parameters).
std::string format_double(double v);

// Base64url without padding, and its inverse (false on bad input).
std::string base64url_encode(std::string_view raw);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace emporium::catalog
