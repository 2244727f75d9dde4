#include "catalog/catalog_routes.hpp"

#include "core/codec.hpp"
#include "http/etag.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <algorithm>
#include <array>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

struct CategorySlug {
    std::string slug;
    static constexpr std::array kFields{core::field("slug").describe("category slug")};
};
BOOST_DESCRIBE_STRUCT(CategorySlug, (), (slug))

enum class FacetKind { kCategory, kPrice };
BOOST_DESCRIBE_ENUM(FacetKind, kCategory, kPrice)

struct ProductQuery {
    std::optional<std::string> q;
    std::optional<std::string> category;
    std::optional<std::int64_t> min_price;
    std::optional<std::int64_t> max_price;
    std::optional<bool> in_stock;
    ListSort sort = ListSort::kRank;
    std::int64_t limit = kDefaultPageSize;
    std::optional<std::string> cursor;
    bool explain = false;
    std::optional<std::vector<FacetKind>> facets;
    static constexpr std::array kFields{
        core::field("q").describe("search text (websearch syntax)"),
        core::field("category").describe("category slug (includes sub-categories)"),
        core::field("min_price").range(0, kMaxPriceCents).describe("cents, inclusive"),
        core::field("max_price").range(0, kMaxPriceCents).describe("cents, inclusive"),
        core::field("in_stock").describe("only (not) in stock"),
        core::field("sort").optional().describe("default rank (relevance when q is given ranks name matches first)"),
        core::field("limit").range(1, kMaxPageSize).optional().describe("page size, default 20"),
        core::field("cursor").describe("next_cursor of the previous page"),
        core::field("explain").optional().describe("add each product's score components"),
        core::field("facets").describe("counts per category and/or price band for the whole query")};
};
BOOST_DESCRIBE_STRUCT(ProductQuery, (), (q, category, min_price, max_price, in_stock, sort, limit, cursor, explain, facets))

ListQuery list_query_of(ProductQuery in) {
    ListQuery q;
    q.q = std::move(in.q);
    if (in.category && !in.category->empty()) q.category = std::move(in.category);
    q.min_price = in.min_price;
    q.max_price = in.max_price;
    q.in_stock = in.in_stock;
    q.sort = in.sort;
    q.limit = in.limit;
    q.cursor = std::move(in.cursor);
    q.explain = in.explain;
    for (auto f : in.facets.value_or(std::vector<FacetKind>{})) {
        (f == FacetKind::kCategory ? q.facet_categories : q.facet_prices) = true;
    }
    return q;
}

// A product's: its version, which If-Match checks, then its stock total, which sales change
// without a new version (GET must not answer 304 to a copy showing another stock).
std::string product_etag(const Product& p) {
    return "W/\"" + std::to_string(p.version) + "." + std::to_string(p.stock) + "\"";
}

core::Result<ProductPatch> patch_of(ProductChanges body, std::optional<std::string_view> if_match) {
    auto version = http::expected_version(body.version, if_match);
    if (!version) return version.error();
    ProductPatch patch;
    patch.expected_version = *version;
    if (if_match) {
        if (const auto tag = http::parse_entity_tag(*if_match)) patch.expected_stock = tag->second;
    }
    patch.name = std::move(body.name);
    patch.description = std::move(body.description);
    patch.category_id = body.category_id;
    patch.price_cents = body.price_cents;
    patch.currency = std::move(body.currency);
    patch.stock = body.stock;
    patch.is_active = body.is_active;
    return patch;
}

// "Size" / "M": trimmed, 1 to 50 characters.
bool valid_option_text(std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return false;
    text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
    const auto length = core::codec::detail::utf8_length(text);
    return length >= 1 && length <= kMaxOptionText && text.find('\0') == std::string::npos;
}

core::Result<VariantInput> variant_input_of(NewVariant body) {
    VariantInput in;
    in.sku = std::move(body.sku);
    in.price_cents = body.price_cents;
    in.stock = body.stock;
    in.is_active = body.is_active;
    in.weight_g = body.weight_g;
    in.low_stock_threshold = body.low_stock_threshold;
    std::vector<core::FieldError> errors;
    for (const auto& member : body.options) {
        std::string name(member.key());
        const auto path = "options/" + name;
        if (!valid_option_text(name)) {
            errors.push_back({path, "option names must be 1 to 50 characters"});
            continue;
        }
        const auto* value = member.value().if_string();
        std::string text = value != nullptr ? std::string(*value) : std::string();
        if (value == nullptr || !valid_option_text(text)) {
            errors.push_back({path, "must be a string of 1 to 50 characters"});
            continue;
        }
        const bool repeated = std::any_of(in.options.begin(), in.options.end(),
                                          [&](const VariantOption& o) { return o.option == name; });
        if (repeated) {
            errors.push_back({path, "names an option twice"});
            continue;
        }
        in.options.push_back(VariantOption{std::move(name), std::move(text)});
    }
    if (!errors.empty()) return core::make_error(core::Errc::kValidation, "the request has invalid fields", std::move(errors));
    return in;
}

core::Result<VariantPatch> variant_patch_of(VariantChanges body, std::optional<std::string_view> if_match) {
    auto version = http::expected_version(body.version, if_match);
    if (!version) return version.error();
    VariantPatch patch;
    patch.expected_version = *version;
    patch.sku = std::move(body.sku);
    patch.price_cents = body.price_cents;
    patch.stock = body.stock;
    patch.is_active = body.is_active;
    patch.weight_g = body.weight_g;
    patch.low_stock_threshold = body.low_stock_threshold;
    return patch;
}

constexpr const char* kProductTag =
    "W/\"<version>.<stock>\": the version (what If-Match checks) and the stock total (sales change it, not the "
    "version)";

// A product with its ETag, encoded here: the view's strings point into the product.
Reply<ProductView> product_reply(const Product& p, http::Status status) {
    Reply<ProductView> reply = Reply<ProductView>::encoded(static_cast<unsigned>(status), to_json_text(p), "application/json");
    reply.header("ETag", product_etag(p));
    return reply;
}

// ---- categories ----

// NOLINTNEXTLINE(misc-no-recursion): the depth is the category depth (a handful), cycles are impossible
std::vector<CategoryNode> category_tree(const std::vector<Category>& all, std::optional<std::int64_t> parent) {
    std::vector<CategoryNode> out;
    for (const auto& c : all) {
        if (c.parent_id != parent) continue;
        CategoryNode node;
        static_cast<Category&>(node) = c;
        node.children = category_tree(all, c.id);
        out.push_back(std::move(node));
    }
    return out;
}

asio::awaitable<Reply<CategoryTree>> list_categories(std::shared_ptr<CatalogService> service,
                                                     In<> /*in*/,
                                                     Caller caller) {
    auto all = co_await service->list_categories(caller.read_after);
    co_return CategoryTree{category_tree(all, std::nullopt)};
}

asio::awaitable<Reply<Category>> get_category(std::shared_ptr<CatalogService> service,
                                              In<CategorySlug> in,
                                              Caller caller) {
    co_return co_await service->get_category(std::move(in.path.slug), caller.read_after);
}

asio::awaitable<Reply<Category>> create_category(std::shared_ptr<CatalogService> service,
                                                 In<NoInput, NoInput, NewCategory> in,
                                                 Caller /*caller*/) {
    auto created = co_await service->create_category(std::move(in.body));
    if (!created) co_return created.error();
    Reply<Category> reply(*created);
    reply.header("Location", "/api/v1/categories/" + created->slug);
    co_return reply;
}

// ---- products ----

asio::awaitable<Reply<ProductView>> get_product(std::shared_ptr<CatalogService> service, In<ProductRef> in, Caller caller) {
    auto product = co_await service->get_product(in.path.id, caller.is_admin(), caller.read_after);
    if (!product) co_return product.error();
    if (auto inm = caller.header("If-None-Match")) {
        const auto tag = http::parse_entity_tag(*inm);
        if (tag && tag->version == product->version && tag->second == product->stock) {
            auto reply = Reply<ProductView>::encoded(304, "", "");
            reply.header("ETag", product_etag(*product));
            co_return reply;
        }
    }
    co_return product_reply(*product, http::Status::ok);
}

asio::awaitable<Reply<ProductView>> create_product(std::shared_ptr<CatalogService> service,
                                                   In<NoInput, NoInput, NewProduct> in,
                                                   Caller /*caller*/) {
    auto created = co_await service->create_product(std::move(in.body));
    if (!created) co_return created.error();
    const auto id = created->id;
    auto reply = product_reply(*created, http::Status::created);
    reply.header("Location", "/api/v1/products/" + std::to_string(id));
    co_return reply;
}

asio::awaitable<Reply<ProductView>> patch_product(std::shared_ptr<CatalogService> service,
                                                  In<ProductRef, NoInput, ProductChanges> in,
                                                  Caller caller) {
    auto patch = patch_of(std::move(in.body), caller.header("If-Match"));
    if (!patch) co_return patch.error();
    auto updated = co_await service->update_product(in.path.id, std::move(*patch));
    if (!updated) co_return updated.error();
    co_return product_reply(*updated, http::Status::ok);
}

asio::awaitable<Reply<http::NoContent>> delete_product(std::shared_ptr<CatalogService> service, In<ProductRef> in,
                                                       Caller /*caller*/) {
    auto deleted = co_await service->delete_product(in.path.id);
    if (!deleted) co_return deleted.error();
    co_return http::NoContent{};
}

asio::awaitable<Reply<ProductPageView>> list_products(std::shared_ptr<CatalogService> service,
                                                      In<NoInput, ProductQuery> in,
                                                      Caller caller) {
    auto query = list_query_of(std::move(in.query));
    auto page = co_await service->list_products(std::move(query), caller.read_after);
    if (!page) co_return page.error();
    co_return Reply<ProductPageView>::encoded(200, to_json_text(*page), "application/json");
}

// ---- options and variants ----

struct VariantRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("variant id")};
};
BOOST_DESCRIBE_STRUCT(VariantRef, (), (id))

Reply<Variant> variant_reply(Variant v) {
    const auto version = v.version;
    Reply<Variant> reply(std::move(v));
    reply.header("ETag", http::weak_etag(version));
    return reply;
}

asio::awaitable<Reply<VariantList>> list_variants(std::shared_ptr<CatalogService> service, In<ProductRef> in,
                                                  Caller caller) {
    co_return co_await service->list_variants(in.path.id, caller.is_admin(), caller.read_after);
}

asio::awaitable<Reply<Variant>> get_variant(std::shared_ptr<CatalogService> service, In<VariantRef> in, Caller caller) {
    auto variant = co_await service->get_variant(in.path.id, caller.is_admin(), caller.read_after);
    if (!variant) co_return variant.error();
    const auto inm = caller.header("If-None-Match");
    const auto tag = inm ? http::parse_entity_tag(*inm) : std::nullopt;
    if (tag && tag->version == variant->version) {
        auto reply = Reply<Variant>::encoded(304, "", "");
        reply.header("ETag", http::weak_etag(variant->version));
        co_return reply;
    }
    co_return variant_reply(std::move(*variant));
}

asio::awaitable<Reply<Variant>> create_variant(std::shared_ptr<CatalogService> service,
                                               In<ProductRef, NoInput, NewVariant> in,
                                               Caller /*caller*/) {
    auto input = variant_input_of(std::move(in.body));
    if (!input) co_return input.error();
    auto created = co_await service->create_variant(in.path.id, std::move(*input));
    if (!created) co_return created.error();
    const auto id = created->id;
    auto reply = variant_reply(std::move(*created));
    reply.header("Location", "/api/v1/variants/" + std::to_string(id));
    co_return reply;
}

asio::awaitable<Reply<Variant>> patch_variant(std::shared_ptr<CatalogService> service,
                                              In<VariantRef, NoInput, VariantChanges> in,
                                              Caller caller) {
    auto patch = variant_patch_of(std::move(in.body), caller.header("If-Match"));
    if (!patch) co_return patch.error();
    auto updated = co_await service->update_variant(in.path.id, std::move(*patch));
    if (!updated) co_return updated.error();
    co_return variant_reply(std::move(*updated));
}

asio::awaitable<Reply<http::NoContent>> delete_variant(std::shared_ptr<CatalogService> service, In<VariantRef> in,
                                                       Caller /*caller*/) {
    auto deleted = co_await service->delete_variant(in.path.id);
    if (!deleted) co_return deleted.error();
    co_return http::NoContent{};
}

// ---- reviews ----

asio::awaitable<Reply<Review>> add_review(std::shared_ptr<CatalogService> service, In<ProductRef, NoInput, NewReview> in,
                                          Caller caller) {
    co_return co_await service->add_review(in.path.id, caller.user(), std::move(in.body));
}

asio::awaitable<Reply<ReviewPage>> list_reviews(std::shared_ptr<CatalogService> service,
                                                In<ProductRef, http::PageQuery> in,
                                                Caller caller) {
    co_return co_await service->list_reviews(
        in.path.id, in.query.limit, std::move(in.query.cursor), caller.read_after);
}

}  // namespace

core::Result<NewCategory> parse_new_category(const json::object& body) {
    return core::codec::decode<NewCategory>(json::value(body));
}

core::Result<NewProduct> parse_new_product(const json::object& body) {
    return core::codec::decode<NewProduct>(json::value(body));
}

core::Result<ProductPatch> parse_product_patch(const json::object& body, std::optional<std::string_view> if_match) {
    auto changes = core::codec::decode<ProductChanges>(json::value(body));
    if (!changes) return changes.error();
    return patch_of(std::move(*changes), if_match);
}

core::Result<NewReview> parse_new_review(const json::object& body) {
    return core::codec::decode<NewReview>(json::value(body));
}

core::Result<ListQuery> parse_list_query(const http::RequestContext& ctx) {
    ProductQuery query;
    core::codec::Errors errors;
    core::codec::read_params(ctx.query_params, query, errors);
    if (!errors.empty())
        return core::make_error(core::Errc::kValidation, "the request has invalid query parameters", std::move(errors));
    return list_query_of(std::move(query));
}

void register_routes(http::Api& api, const std::shared_ptr<CatalogService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("catalog", "Categories, products, reviews, ranked search");
    api.add({.method = Verb::get,
             .path = "/api/v1/categories",
             .id = "listCategories",
             .tag = "catalog",
             .summary = "The category tree",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "the top-level categories, each with its children"},
            list_categories, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/categories",
             .id = "createCategory",
             .tag = "catalog",
             .summary = "Create a category (admin)",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{409, "slug taken"}},
             .response_headers = {{"Location", "the category's URL"}}},
            create_category, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/categories/{slug}",
             .id = "getCategory",
             .tag = "catalog",
             .summary = "One category",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "the category",
             .errors = {{404, "no such category"}}},
            get_category, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/products",
             .id = "listProducts",
             .tag = "catalog",
             .summary = "Ranked, searchable product listing (keyset pagination)",
             .description =
                 "Score = 0.5·purchase_count/max(purchase_count) + 0.3·average rating/5 + 0.2·max(0, 1 − age_days/30). "
                 "q uses full-text search (websearch syntax); when it matches nothing, its unknown words are replaced by "
                 "the nearest words of the catalog's vocabulary (typos). sort=relevance: products whose name matches "
                 "first, then by the score. next_cursor is opaque and bound to the sort and filters; with sort=rank or "
                 "relevance, later pages are ranked as of the first page (no product repeated or skipped while sales "
                 "happen) for 15 minutes, after which the cursor is refused (400).",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "a page",
             .errors = {{400, "invalid or expired cursor"}, {404, "unknown category"}}},
            list_products, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/products",
             .id = "createProduct",
             .tag = "catalog",
             .summary = "Create a product (admin); its stock opens the inventory ledger",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{409, "sku taken"}, {422, "invalid fields, or a category_id that does not exist"}},
             .response_headers = {{"Location", "the product's URL"}, {"ETag", kProductTag}}},
            create_product, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/products/{id}",
             .id = "getProduct",
             .tag = "catalog",
             .summary = "One product (ETag: W/\"<version>.<stock>\")",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "the product",
             .errors = {{304, "If-None-Match named the current version and stock"}, {404, "no such product (or inactive)"}},
             .request_headers = {{"If-None-Match", "the ETag of a copy the client has"}},
             .response_headers = {{"ETag", kProductTag}}},
            get_product, service);
    api.add({.method = Verb::patch,
             .path = "/api/v1/products/{id}",
             .id = "updateProduct",
             .tag = "catalog",
             .summary = "Update a product (admin) with If-Match: W/\"<version>\"",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "updated",
             .errors = {{404, "no such product"},
                        {412, "version mismatch"},
                        {422, "no version (If-Match or version), or a category_id that does not exist"}},
             .request_headers = {{"If-Match", "the product's ETag, or W/\"<version>\", or version in the body; a new stock is refused when the ETag's stock total is no longer the product's"}},
             .response_headers = {{"ETag", kProductTag}}},
            patch_product, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/products/{id}",
             .id = "deleteProduct",
             .tag = "catalog",
             .summary = "Soft-delete a product (admin)",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "no such product"}}},
            delete_product, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/products/{id}/variants",
             .id = "listVariants",
             .tag = "catalog",
             .summary = "A product's variants with their live stock (uncached)",
             .description = "The active variants; admins also see inactive ones. Deleted variants are never listed.",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "the variants, by position",
             .errors = {{404, "no such product (or inactive)"}}},
            list_variants, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/products/{id}/variants",
             .id = "createVariant",
             .tag = "catalog",
             .summary = "Create a variant (admin); its stock opens its inventory ledger",
             .description = "options names the variant's value of each option (e.g. {\"Size\": \"M\", \"Colour\": "
                            "\"Red\"}); the first variant with options sets the product's option names, and every "
                            "later one must name the same. Options and values are created as needed.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{404, "no such product"},
                        {409, "sku taken, or the product has a variant with these options"},
                        {422, "invalid fields, or options other than the product's"}},
             .response_headers = {{"Location", "the variant's URL"}, {"ETag", "W/\"<version>\""}}},
            create_variant, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/variants/{id}",
             .id = "getVariant",
             .tag = "catalog",
             .summary = "One variant with its live stock (ETag: W/\"<version>\")",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "the variant",
             .errors = {{304, "If-None-Match named the current version"},
                        {404, "no such variant (or inactive, or its product is)"}},
             .request_headers = {{"If-None-Match", "W/\"<version>\" of a copy the client has"}},
             .response_headers = {{"ETag", "W/\"<version>\""}}},
            get_variant, service);
    api.add({.method = Verb::patch,
             .path = "/api/v1/variants/{id}",
             .id = "updateVariant",
             .tag = "catalog",
             .summary = "Update a variant (admin) with If-Match: W/\"<version>\"",
             .description = "A stock change writes a 'restock' (up) or 'adjustment' (down) ledger row; the stock "
                            "cannot go below the units held by carts. price_cents: null clears the override.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "updated",
             .errors = {{404, "no such variant"},
                        {409, "sku taken, or stock below the units held"},
                        {412, "version mismatch"},
                        {422, "invalid fields"},
                        {428, "no version (If-Match or version)"}},
             .request_headers = {{"If-Match", "W/\"<version>\" (or version in the body)"}},
             .response_headers = {{"ETag", "W/\"<version>\""}}},
            patch_variant, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/variants/{id}",
             .id = "deleteVariant",
             .tag = "catalog",
             .summary = "Soft-delete a variant (admin); its unheld stock leaves through an 'adjustment' row",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "deleted",
             .errors = {{404, "no such variant"}, {409, "the product's default variant"}}},
            delete_variant, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/products/{id}/reviews",
             .id = "listReviews",
             .tag = "catalog",
             .summary = "Reviews, newest first",
             .rate_group = "read",
             .replica_reads = true,
             .success_description = "a page",
             .errors = {{400, "invalid cursor"}, {404, "no such product"}}},
            list_reviews, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/products/{id}/reviews",
             .id = "addReview",
             .tag = "catalog",
             .summary = "Review a product (one per user)",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "created",
             .errors = {{404, "no such product"}, {409, "already reviewed"}}},
            add_review, service);
}

}  // namespace emporium::catalog
