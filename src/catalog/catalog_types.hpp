#pragma once
// Plain types of the catalog context: categories, products, reviews, listing queries and the
// ranking formula. No HTTP and no SQL here.

#include "core/fields.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
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
BOOST_DESCRIBE_STRUCT(Category, (), (id, parent_id, slug, name))

// GET /categories: the tree.
struct CategoryNode : Category {
    std::vector<CategoryNode> children;
};
BOOST_DESCRIBE_STRUCT(CategoryNode, (Category), (children))

struct CategoryTree {
    std::vector<CategoryNode> items;
};
BOOST_DESCRIBE_STRUCT(CategoryTree, (), (items))

inline constexpr std::string_view kSlugPattern = "[a-z0-9]+(-[a-z0-9]+)*";

struct NewCategory {
    std::string slug;
    std::string name;
    std::optional<std::int64_t> parent_id;
    static constexpr std::array kFields{
        core::field("slug").length(1, 100).match(kSlugPattern, "must match ^[a-z0-9]+(-[a-z0-9]+)*$ (at most 100 characters)"),
        core::field("name").length(1, 100),
        core::field("parent_id").at_least(1)};
};
BOOST_DESCRIBE_STRUCT(NewCategory, (), (slug, name, parent_id))

struct CategoryRef {
    std::int64_t id = 0;
    std::string slug;
    std::string name;
};
BOOST_DESCRIBE_STRUCT(CategoryRef, (), (id, slug, name))

// ---- options and variants ----

inline constexpr std::string_view kSkuPatternForVariants = "[A-Za-z0-9_-]{1,64}";

// One option of a variant: {"option": "Size", "value": "M"}.
struct VariantOption {
    std::string option;
    std::string value;
};
BOOST_DESCRIBE_STRUCT(VariantOption, (), (option, value))

// One option of a product with the values its active variants use, in first-use order.
struct ProductOption {
    std::string name;
    std::vector<std::string> values;
};
BOOST_DESCRIBE_STRUCT(ProductOption, (), (name, values))

// The lowest and highest effective price of a product's active variants.
struct PriceRange {
    std::int64_t min_cents = 0;
    std::int64_t max_cents = 0;
};
BOOST_DESCRIBE_STRUCT(PriceRange, (), (min_cents, max_cents))

inline constexpr std::size_t kMaxVariantOptions = 3;
inline constexpr std::size_t kMaxOptionText = 50;

// A variant as the product detail shows it (cached with the product: no `available`).
inline constexpr std::int64_t kMaxWeightGrams = 1'000'000;  // 1 t
inline constexpr std::int64_t kMaxLowStockThreshold = 1'000'000;

struct VariantSummary {
    std::int64_t id = 0;
    std::int64_t product_id = 0;
    std::string sku;
    std::vector<VariantOption> options;
    std::int64_t price_cents = 0;  // effective: the override, else the product's price
    std::optional<std::int64_t> price_override_cents;
    std::string currency;
    bool in_stock = false;  // stock > 0 (units held by carts are not subtracted)
    bool is_default = false;
    std::int64_t version = 1;
    static constexpr std::array kFields{
        core::field("options").describe("its value of each option of the product, in the product's option order"),
        core::field("price_cents").describe("the price charged: price_override_cents, else the product's price"),
        core::field("price_override_cents").describe("the variant's own price; null: the product's price")};
};
BOOST_DESCRIBE_STRUCT(VariantSummary, (), (id, product_id, sku, options, price_cents, price_override_cents, currency,
                                           in_stock, is_default, version))

// A variant with its live stock (GET /variants/{id}, GET /products/{id}/variants, admin writes).
struct Variant : VariantSummary {
    std::int64_t stock = 0;
    std::int64_t held = 0;
    std::int64_t available = 0;  // stock - held
    bool is_active = true;
    bool is_deleted = false;  // not in the JSON (deleted variants are only seen by admins, as inactive)
    std::int32_t weight_g = 0;
    std::int32_t low_stock_threshold = 0;
    static constexpr std::array kFields{
        core::field("weight_g").describe("shipping weight in grams (options priced by weight use it)"),
        core::field("low_stock_threshold").describe(
            "an inventory.low_stock event when the stock falls to this or below (0: when it runs out)"),
        core::field("stock").describe("units not sold (the ledger's balance of the variant)"),
        core::field("held").describe("units held by shopping carts"),
        core::field("available").describe("stock - held: what can be bought now"),
        core::field("in_stock").describe("available > 0")};
};
BOOST_DESCRIBE_STRUCT(Variant, (VariantSummary), (stock, held, available, is_active, weight_g, low_stock_threshold))

struct VariantList {
    std::vector<Variant> items;
};
BOOST_DESCRIBE_STRUCT(VariantList, (), (items))

// The body of POST /products/{id}/variants.
struct NewVariant {
    std::string sku;
    boost::json::object options;  // option name -> value
    std::optional<std::int64_t> price_cents;
    std::int64_t stock = 0;
    bool is_active = true;
    std::int32_t weight_g = 0;
    std::int32_t low_stock_threshold = 0;
    static constexpr std::array kFields{
        core::field("sku").length(1, 64).match(kSkuPatternForVariants, "must be 1 to 64 characters of A-Z a-z 0-9 - _"),
        core::field("weight_g").range(0, kMaxWeightGrams).optional().describe("shipping weight in grams"),
        core::field("low_stock_threshold").range(0, kMaxLowStockThreshold).optional().describe(
            "an inventory.low_stock event when the stock falls to this or below (default 0: when it runs out)"),
        core::field("options").length(0, kMaxVariantOptions).optional().describe(
            "option name -> value (0 to 3 options, names and values 1 to 50 characters); once a product has "
            "options, every new variant names exactly those options"),
        core::field("price_cents").range(0, kMaxPriceCents).describe("the variant's own price; absent: the product's"),
        core::field("stock").range(0, kMaxStock).optional().describe("opening stock (an 'initial' ledger row)"),
        core::field("is_active").optional()};
};
BOOST_DESCRIBE_STRUCT(NewVariant, (), (sku, options, price_cents, stock, is_active, weight_g, low_stock_threshold))

// The body of PATCH /variants/{id}; absent members keep their value.
struct VariantChanges {
    std::optional<std::string> sku;
    std::optional<std::optional<std::int64_t>> price_cents;  // present and null: clear the override
    std::optional<std::int64_t> stock;
    std::optional<bool> is_active;
    std::optional<std::int64_t> version;
    std::optional<std::int32_t> weight_g;
    std::optional<std::int32_t> low_stock_threshold;
    static constexpr std::array kFields{
        core::field("sku").length(1, 64).match(kSkuPatternForVariants, "must be 1 to 64 characters of A-Z a-z 0-9 - _"),
        core::field("weight_g").range(0, kMaxWeightGrams).describe("shipping weight in grams"),
        core::field("low_stock_threshold").range(0, kMaxLowStockThreshold).describe(
            "an inventory.low_stock event when the stock falls to this or below"),
        core::field("price_cents").range(0, kMaxPriceCents).describe("the variant's own price; null: use the product's"),
        core::field("stock").range(0, kMaxStock).describe(
            "the new absolute stock (the difference goes to the inventory ledger); not below held"),
        core::field("version").at_least(1).describe("the version being changed, instead of If-Match")};
    static constexpr std::string_view kSchemaName = "VariantPatch";
    static constexpr std::string_view kSchemaDescription = "A partial update: absent members keep their value.";
};
BOOST_DESCRIBE_STRUCT(VariantChanges, (), (sku, price_cents, stock, is_active, version, weight_g, low_stock_threshold))

// A validated VariantChanges (the service's input).
struct VariantPatch {
    std::int64_t expected_version = 0;  // 0: none given
    std::optional<std::string> sku{};
    std::optional<std::optional<std::int64_t>> price_cents{};  // set: change the override (inner null: clear it)
    std::optional<std::int64_t> stock{};
    std::optional<bool> is_active{};
    std::optional<std::int32_t> weight_g{};
    std::optional<std::int32_t> low_stock_threshold{};
};

// A validated NewVariant: the options in the order given.
struct VariantInput {
    std::string sku;
    std::vector<VariantOption> options;
    std::optional<std::int64_t> price_cents;
    std::int64_t stock = 0;
    bool is_active = true;
    std::int32_t weight_g = 0;
    std::int32_t low_stock_threshold = 0;
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
    // The detail only (GET /products/{id}): active variants, their options and price range.
    std::optional<std::vector<ProductOption>> options;
    std::optional<std::vector<VariantSummary>> variants;
    std::optional<PriceRange> price_range;
};

inline constexpr std::string_view kSkuPattern = "[A-Za-z0-9_-]{1,64}";
inline constexpr std::string_view kCurrencyPattern = "[A-Z]{3}";

// The rules a product's members follow wherever they are written (create and change).
struct ProductRules {
    core::Field name = core::field("name").length(1, 200);
    core::Field description = core::field("description").length(0, 5000);
    core::Field category_id = core::field("category_id").at_least(1);
    core::Field price_cents = core::field("price_cents").range(0, kMaxPriceCents);
    core::Field currency =
        core::field("currency").length(3, 3).match(kCurrencyPattern, "must be three upper-case letters (ISO 4217)");
    core::Field stock = core::field("stock").range(0, kMaxStock);
};
inline constexpr ProductRules kProductRules{};

struct NewProduct {
    std::string sku;
    std::string name;
    std::string description;
    std::optional<std::int64_t> category_id;
    std::int64_t price_cents = 0;
    std::string currency = "USD";
    std::int64_t stock = 0;
    bool is_active = true;
    static constexpr std::array kFields{
        core::field("sku").length(1, 64).match(kSkuPattern, "must be 1 to 64 characters of A-Z a-z 0-9 - _"),
        kProductRules.name,
        kProductRules.description.optional(),
        kProductRules.category_id,
        kProductRules.price_cents,
        kProductRules.currency.optional(),
        kProductRules.stock.optional(),
        core::field("is_active").optional()};
};
BOOST_DESCRIBE_STRUCT(NewProduct, (), (sku, name, description, category_id, price_cents, currency, stock, is_active))

// A partial update; absent members keep their value. `expected_version` must equal the stored
// version (optimistic concurrency): the If-Match header, or `version` in the body. Sales do not
// move the version, so a new absolute `stock` is also checked against `expected_stock` when the
// If-Match was a product ETag, which carries the stock total it was read with.
struct ProductPatch {
    std::int64_t expected_version = 0;
    std::optional<std::int64_t> expected_stock;
    std::optional<std::string> name;
    std::optional<std::string> description;
    std::optional<std::int64_t> category_id;
    std::optional<std::int64_t> price_cents;
    std::optional<std::string> currency;
    std::optional<std::int64_t> stock;  // the new absolute stock; the difference goes to the ledger
    std::optional<bool> is_active;
};

// The body of PATCH /products/{id}.
struct ProductChanges {
    std::optional<std::string> name;
    std::optional<std::string> description;
    std::optional<std::int64_t> category_id;
    std::optional<std::int64_t> price_cents;
    std::optional<std::string> currency;
    std::optional<std::int64_t> stock;
    std::optional<bool> is_active;
    std::optional<std::int64_t> version;
    static constexpr std::array kFields{
        kProductRules.name,
        kProductRules.description,
        kProductRules.category_id,
        kProductRules.price_cents,
        kProductRules.currency,
        kProductRules.stock.describe("the new absolute stock (the difference is written to the inventory ledger)"),
        core::field("version").at_least(1).describe("the version being changed, instead of If-Match")};
    static constexpr std::string_view kSchemaName = "ProductPatch";
    static constexpr std::string_view kSchemaDescription = "A partial update: absent members keep their value.";
};
BOOST_DESCRIBE_STRUCT(ProductChanges, (), (name, description, category_id, price_cents, currency, stock, is_active, version))

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

BOOST_DESCRIBE_STRUCT(Review, (), (id, product_id, user_id, rating, title, body, verified_purchase, created_at))

struct NewReview {
    std::int64_t rating = 0;
    std::string title;
    std::string body;
    static constexpr std::array kFields{core::field("rating").range(1, 5),
                                        core::field("title").length(0, 200).optional(),
                                        core::field("body").length(0, 5000).optional()};
};
BOOST_DESCRIBE_STRUCT(NewReview, (), (rating, title, body))

struct ReviewPage {
    std::vector<Review> items;
    std::optional<std::string> next_cursor;
};
BOOST_DESCRIBE_STRUCT(ReviewPage, (), (items, next_cursor))

enum class ListSort { kRank, kRelevance, kPriceAsc, kPriceDesc, kNewest };
BOOST_DESCRIBE_ENUM(ListSort, kRank, kRelevance, kPriceAsc, kPriceDesc, kNewest)

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

struct CategoryFacet {
    std::optional<std::int64_t> id;  // null: products without a category
    std::optional<std::string> slug;
    std::optional<std::string> name;
    std::int64_t count = 0;
};
BOOST_DESCRIBE_STRUCT(CategoryFacet, (), (id, slug, name, count))

struct PriceFacet {
    std::int64_t min_cents = 0;
    std::optional<std::int64_t> max_cents;  // inclusive; null for the last band
    std::int64_t count = 0;
};
BOOST_DESCRIBE_STRUCT(PriceFacet, (), (min_cents, max_cents, count))

struct Facets {
    std::int64_t total = 0;
    bool approximate = false;
    std::optional<std::vector<CategoryFacet>> category;
    std::optional<std::vector<PriceFacet>> price;
    static constexpr std::array kFields{
        core::field("category").omitted_when_null().describe("facets=category: matching products per category (own category), most first"),
        core::field("price").omitted_when_null().describe("facets=price: matching products per price band (cents, inclusive)")};
    static constexpr std::string_view kSchemaDescription =
        "Counts for the whole query and filters (not just the page). Exact up to 10 000 matching products; above, "
        "estimated from an even sample and marked approximate.";
};
BOOST_DESCRIBE_STRUCT(Facets, (), (total, approximate, category, price))

struct ProductPage {
    std::vector<ListedProduct> items;
    std::optional<std::string> next_cursor;
    bool explain = false;
    std::optional<Facets> facets;
};

// ---- the API's JSON form of products (also what the caches store) ----

struct Price {
    std::int64_t amount_cents = 0;
    std::string_view currency;
};
BOOST_DESCRIBE_STRUCT(Price, (), (amount_cents, currency))

struct Rating {
    double average = 0;  // 0 without ratings
    std::int64_t count = 0;
    std::int64_t sum = 0;
    static constexpr std::array kFields{core::field("average").rounded(2).describe("1..5, two decimals; 0 without ratings")};
};
BOOST_DESCRIBE_STRUCT(Rating, (), (average, count, sum))

// A view of a Product: its strings are not copied, so it must not outlive the product.
struct ProductView {
    std::int64_t id = 0;
    std::string_view sku;
    std::string_view name;
    std::string_view description;
    Price price;
    std::int64_t stock = 0;
    bool in_stock = false;
    bool is_active = false;
    std::int64_t purchase_count = 0;
    Timestamp created_at{};
    std::int64_t version = 0;
    std::optional<CategoryRef> category;
    Rating rating;
    std::optional<PriceRange> price_range;
    std::optional<std::vector<ProductOption>> options;
    std::optional<std::vector<VariantSummary>> variants;
    static constexpr std::array kFields{
        core::field("price_range").omitted_when_null().describe(
            "the lowest and highest price of the active variants"),
        core::field("options").omitted_when_null().describe("GET /products/{id}: the options of its active variants"),
        core::field("variants").omitted_when_null().describe("GET /products/{id}: the active variants")};
    static constexpr std::string_view kSchemaName = "Product";
};
BOOST_DESCRIBE_STRUCT(ProductView, (), (id, sku, name, description, price, stock, in_stock, is_active, purchase_count,
                                        created_at, version, category, rating, price_range, options, variants))

struct Score {
    double popularity = 0;
    double rating = 0;
    double freshness = 0;
    double total = 0;
    double text_rank = 0;
    static constexpr std::string_view kSchemaDescription =
        "explain=true only: popularity, rating, freshness, total (0.5·p + 0.3·r + 0.2·f) and text_rank (sort=relevance: "
        "1 when the name matched, else 0)";
};
BOOST_DESCRIBE_STRUCT(Score, (), (popularity, rating, freshness, total, text_rank))

struct ListedProductView : ProductView {
    std::optional<Score> score;  // explain=true
    static constexpr std::array kFields{core::field("score").omitted_when_null()};
    static constexpr std::string_view kSchemaName = "ListedProduct";
};
BOOST_DESCRIBE_STRUCT(ListedProductView, (ProductView), (score))

struct ProductPageView {
    std::vector<ListedProductView> items;
    std::optional<std::string_view> next_cursor;
    std::optional<Facets> facets;  // facets=…
    static constexpr std::array kFields{core::field("facets").omitted_when_null()};
    static constexpr std::string_view kSchemaName = "ProductPage";
};
BOOST_DESCRIBE_STRUCT(ProductPageView, (), (items, next_cursor, facets))

ProductView view_of(const Product& p);
ProductPageView view_of(const ProductPage& page);

// The ranking formula (also written in SQL by the store; the two must agree):
//   0.5 * min(1, purchase_count / max_purchase)   (0 when max_purchase <= 0)
// + 0.3 * (rating_sum / rating_count) / 5          (0 when rating_count == 0)
// + 0.2 * max(0, 1 - max(0, age_days) / 30)        (a future created_at counts as brand new)
ScoreParts ranking_score(std::int64_t purchase_count,
                         std::int64_t max_purchase,
                         std::int64_t rating_sum,
                         std::int64_t rating_count,
                         double age_days);

// JSON texts of the views above (the HTTP representation, also what the caches store), and back.
std::string to_json_text(const Product& p);
std::string to_json_text(const ProductPage& page);
boost::json::value to_json(const Product& p);
std::optional<Product> product_from_json(const boost::json::value& v);
std::optional<ProductPage> page_from_json(const boost::json::value& v);

// Whether `micros` (µs since the Unix epoch) is a time the database can store and the API can
// print: years 1 to 9999. Every timestamp decoded from a client's cursor is checked with it.
bool is_storable_time(std::int64_t micros) noexcept;
// The shortest decimal text that parses back to exactly `v` (cursor keys, SQL float8 parameters).
std::string format_double(double v);

// Base64url without padding, and its inverse (false on bad input).
std::string base64url_encode(std::string_view raw);
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace emporium::catalog
