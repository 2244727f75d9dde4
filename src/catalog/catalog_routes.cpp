#include "catalog/catalog_routes.hpp"

#include "http/json_body.hpp"
#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <charconv>
#include <map>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

constexpr std::string_view kAdminRole = "admin";

template <typename T>
bool parse_integer(std::string_view text, T& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && ptr == text.data() + text.size();
}

std::optional<std::int64_t> path_id(const RequestContext& ctx) {
    std::int64_t id = 0;
    if (!parse_integer(ctx.param("id"), id) || id <= 0) return std::nullopt;
    return id;
}

Response invalid_id(const RequestContext& ctx) {
    return http::problem_response(
        ctx,
        core::make_error(
            core::Errc::kValidation, "the product id is invalid", {{"id", "must be a positive integer"}}));
}

std::string etag_of(std::int64_t version) {
    return "W/\"" + std::to_string(version) + "\"";
}

// W/"7", "7" or 7 → 7.
std::optional<std::int64_t> parse_etag(std::string_view v) {
    if (v.starts_with("W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::int64_t n = 0;
    if (!parse_integer(v, n) || n <= 0) return std::nullopt;
    return n;
}

Response product_response(const RequestContext& ctx, Status status, const Product& p) {
    std::string body;
    body.reserve(p.description.size() + p.name.size() + 400);
    append_json(body, p);
    auto res = http::text_response(ctx, status, std::move(body), "application/json");
    res.set(http::bhttp::field::etag, etag_of(p.version));
    return res;
}

Response no_content(const RequestContext& ctx, Status status) {
    Response res{status, ctx.request.version()};
    res.set("X-Request-Id", ctx.request_id);
    return res;
}

bool is_admin(const RequestContext& ctx) {
    return ctx.user_role == kAdminRole;
}

}  // namespace

core::Result<NewCategory> parse_new_category(const json::object& body) {
    http::FieldReader reader(body);
    auto slug = reader.string("slug", true, 1, 100);
    auto name = reader.string("name", true, 1, 100);
    auto parent_id = reader.integer("parent_id", false, 1, INT64_MAX);
    reader.reject_unknown({"slug", "name", "parent_id"});
    if (!reader.ok()) return reader.error();
    return NewCategory{std::move(*slug), std::move(*name), parent_id};
}

core::Result<NewProduct> parse_new_product(const json::object& body) {
    http::FieldReader reader(body);
    auto sku = reader.string("sku", true, 1, 64);
    auto name = reader.string("name", true, 1, 200);
    auto description = reader.string("description", false, 0, 5000);
    auto category_id = reader.integer("category_id", false, 1, INT64_MAX);
    auto price = reader.integer("price_cents", true, 0, kMaxPriceCents);
    auto currency = reader.string("currency", false, 3, 3);
    auto stock = reader.integer("stock", false, 0, kMaxStock);
    auto is_active = reader.boolean("is_active", false);
    reader.reject_unknown(
        {"sku", "name", "description", "category_id", "price_cents", "currency", "stock", "is_active"});
    if (!reader.ok()) return reader.error();
    NewProduct input;
    input.sku = std::move(*sku);
    input.name = std::move(*name);
    input.description = description.value_or("");
    input.category_id = category_id;
    input.price_cents = *price;
    input.currency = currency.value_or("USD");
    input.stock = stock.value_or(0);
    input.is_active = is_active.value_or(true);
    return input;
}

core::Result<ProductPatch> parse_product_patch(const json::object& body,
                                               std::optional<std::string_view> if_match) {
    http::FieldReader reader(body);
    ProductPatch patch;
    patch.name = reader.string("name", false, 1, 200);
    patch.description = reader.string("description", false, 0, 5000);
    patch.category_id = reader.integer("category_id", false, 1, INT64_MAX);
    patch.price_cents = reader.integer("price_cents", false, 0, kMaxPriceCents);
    patch.currency = reader.string("currency", false, 3, 3);
    patch.stock = reader.integer("stock", false, 0, kMaxStock);
    patch.is_active = reader.boolean("is_active", false);
    auto version = reader.integer("version", false, 1, INT64_MAX);
    reader.reject_unknown(
        {"name", "description", "category_id", "price_cents", "currency", "stock", "is_active", "version"});
    if (if_match) {
        auto v = parse_etag(*if_match);
        if (!v) {
            reader.fail("If-Match", "must be W/\"<version>\"");
        } else {
            version = v;
        }
    }
    if (!reader.ok()) return reader.error();
    patch.expected_version = version.value_or(0);
    return patch;
}

core::Result<NewReview> parse_new_review(const json::object& body) {
    http::FieldReader reader(body);
    auto rating = reader.integer("rating", true, 1, 5);
    auto title = reader.string("title", false, 0, 200);
    auto text = reader.string("body", false, 0, 5000);
    reader.reject_unknown({"rating", "title", "body"});
    if (!reader.ok()) return reader.error();
    return NewReview{*rating, title.value_or(""), text.value_or("")};
}

// Query parameters of GET /products; every problem is reported as a field error.
core::Result<ListQuery> parse_list_query(const RequestContext& ctx) {
    ListQuery q;
    std::vector<core::FieldError> errors;
    auto integer =
        [&](std::string_view name, std::int64_t min, std::int64_t max) -> std::optional<std::int64_t> {
        auto text = ctx.query(name);
        if (!text) return std::nullopt;
        std::int64_t v = 0;
        if (!parse_integer(*text, v) || v < min || v > max) {
            errors.push_back(
                {std::string(name),
                 "must be an integer from " + std::to_string(min) + " to " + std::to_string(max)});
            return std::nullopt;
        }
        return v;
    };
    auto boolean = [&](std::string_view name) -> std::optional<bool> {
        auto text = ctx.query(name);
        if (!text) return std::nullopt;
        if (*text == "true") return true;
        if (*text == "false") return false;
        errors.push_back({std::string(name), "must be true or false"});
        return std::nullopt;
    };
    if (auto text = ctx.query("q")) q.q = std::string(*text);
    if (auto text = ctx.query("category"); text && !text->empty()) q.category = std::string(*text);
    q.min_price = integer("min_price", 0, kMaxPriceCents);
    q.max_price = integer("max_price", 0, kMaxPriceCents);
    q.in_stock = boolean("in_stock");
    q.limit = integer("limit", 1, kMaxPageSize).value_or(kDefaultPageSize);
    q.explain = boolean("explain").value_or(false);
    if (auto text = ctx.query("sort")) {
        auto sort = parse_sort(*text);
        if (!sort) {
            errors.push_back({"sort", "must be one of rank, relevance, price_asc, price_desc, newest"});
        } else {
            q.sort = *sort;
        }
    }
    if (auto text = ctx.query("cursor")) q.cursor = std::string(*text);
    if (auto text = ctx.query("facets")) {
        std::string_view rest = *text;
        bool valid = !rest.empty();
        while (valid && !rest.empty()) {
            const auto comma = rest.find(',');
            const auto name = rest.substr(0, comma);
            if (name == "category") {
                q.facet_categories = true;
            } else if (name == "price") {
                q.facet_prices = true;
            } else {
                valid = false;
            }
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            if (comma != std::string_view::npos && rest.empty()) valid = false;  // trailing comma
        }
        if (!valid) errors.push_back({"facets", "must be a comma-separated list of: category, price"});
    }
    if (!errors.empty()) {
        return core::make_error(
            core::Errc::kValidation, "the request has invalid query parameters", std::move(errors));
    }
    // Surrounding blanks do not change a search.
    if (q.q) {
        auto& s = *q.q;
        s.erase(0, s.find_first_not_of(" \t"));
        s.erase(s.find_last_not_of(" \t") + 1);
    }
    return q;
}

namespace {

// ---- categories ----

// NOLINTNEXTLINE(misc-no-recursion): the depth is the category depth (a handful), cycles are impossible
json::array category_tree(const std::vector<Category>& all, std::optional<std::int64_t> parent) {
    json::array out;
    for (const auto& c : all) {
        if (c.parent_id != parent) continue;
        auto node = to_json(c);
        node.as_object()["children"] = category_tree(all, c.id);
        out.push_back(std::move(node));
    }
    return out;
}

asio::awaitable<Response>
handle_list_categories(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                         // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto all = co_await service->list_categories();
    co_return http::json_response(ctx, Status::ok, json::object{{"items", category_tree(all, std::nullopt)}});
}

asio::awaitable<Response>
handle_get_category(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                      // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto category = co_await service->get_category(std::string(ctx.param("slug")));
    if (!category) co_return http::problem_response(ctx, category.error());
    co_return http::json_response(ctx, Status::ok, to_json(*category));
}

asio::awaitable<Response>
handle_create_category(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                         // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto input = parse_new_category(*body);
    if (!input) co_return http::problem_response(ctx, input.error());
    auto created = co_await service->create_category(std::move(*input));
    if (!created) co_return http::problem_response(ctx, created.error());
    auto res = http::json_response(ctx, Status::created, to_json(*created));
    res.set(http::bhttp::field::location, "/api/v1/categories/" + created->slug);
    co_return res;
}

// ---- products ----

asio::awaitable<Response>
handle_get_product(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                     // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return invalid_id(ctx);
    auto product = co_await service->get_product(*id, is_admin(ctx));
    if (!product) co_return http::problem_response(ctx, product.error());
    auto inm = ctx.request.find(http::bhttp::field::if_none_match);
    if (inm != ctx.request.end() && parse_etag(inm->value()) == product->version) {
        auto res = no_content(ctx, Status::not_modified);
        res.set(http::bhttp::field::etag, etag_of(product->version));
        co_return res;
    }
    co_return product_response(ctx, Status::ok, *product);
}

asio::awaitable<Response>
handle_create_product(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                        // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto input = parse_new_product(*body);
    if (!input) co_return http::problem_response(ctx, input.error());
    auto created = co_await service->create_product(std::move(*input));
    if (!created) co_return http::problem_response(ctx, created.error());
    auto res = product_response(ctx, Status::created, *created);
    res.set(http::bhttp::field::location, "/api/v1/products/" + std::to_string(created->id));
    co_return res;
}

asio::awaitable<Response>
handle_patch_product(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                       // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return invalid_id(ctx);
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    std::optional<std::string_view> if_match;
    if (auto it = ctx.request.find(http::bhttp::field::if_match); it != ctx.request.end())
        if_match = it->value();
    auto patch = parse_product_patch(*body, if_match);
    if (!patch) co_return http::problem_response(ctx, patch.error());
    auto updated = co_await service->update_product(*id, std::move(*patch));
    if (!updated) co_return http::problem_response(ctx, updated.error());
    co_return product_response(ctx, Status::ok, *updated);
}

asio::awaitable<Response>
handle_delete_product(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                        // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return invalid_id(ctx);
    auto deleted = co_await service->delete_product(*id);
    if (!deleted) co_return http::problem_response(ctx, deleted.error());
    co_return no_content(ctx, Status::no_content);
}

asio::awaitable<Response>
handle_list_products(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                       // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto query = parse_list_query(ctx);
    if (!query) co_return http::problem_response(ctx, query.error());
    auto page = co_await service->list_products(std::move(*query));
    if (!page) co_return http::problem_response(ctx, page.error());
    co_return http::text_response(ctx, Status::ok, serialize_page(*page), "application/json");
}

// ---- reviews ----

asio::awaitable<Response>
handle_add_review(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                    // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return invalid_id(ctx);
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return http::problem_response(ctx, body.error());
    auto input = parse_new_review(*body);
    if (!input) co_return http::problem_response(ctx, input.error());
    auto review = co_await service->add_review(*id, ctx.user_id.value_or(0), std::move(*input));
    if (!review) co_return http::problem_response(ctx, review.error());
    co_return http::json_response(ctx, Status::created, to_json(*review));
}

asio::awaitable<Response>
handle_list_reviews(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                      // the server awaits handlers directly
    std::shared_ptr<CatalogService> service,
    RequestContext& ctx) {
    auto id = path_id(ctx);
    if (!id) co_return invalid_id(ctx);
    std::int64_t limit = kDefaultPageSize;
    if (auto text = ctx.query("limit")) {
        if (!parse_integer(*text, limit) || limit < 1 || limit > kMaxPageSize) {
            co_return http::problem_response(
                ctx,
                core::make_error(core::Errc::kValidation,
                                 "the request has invalid query parameters",
                                 {{"limit", "must be an integer from 1 to 100"}}));
        }
    }
    std::optional<std::string> cursor;
    if (auto text = ctx.query("cursor")) cursor = std::string(*text);
    auto page = co_await service->list_reviews(*id, limit, std::move(cursor));
    if (!page) co_return http::problem_response(ctx, page.error());
    json::array items;
    for (const auto& r : page->items) items.push_back(to_json(r));
    json::object out{{"items", std::move(items)}};
    out["next_cursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
    co_return http::json_response(ctx, Status::ok, out);
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<CatalogService>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<CatalogService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(service, ctx); }
};

// ---- OpenAPI ----

void document(http::OpenApi& api) {
    api.add_tag("catalog", "Categories, products, reviews, ranked search");
    api.add_schema(
        "Category",
        json::object{
            {"type", "object"},
            {"required", json::array{"id", "parent_id", "slug", "name"}},
            {"properties",
             json::object{{"id", http::OpenApi::integer_schema()},
                          {"parent_id", json::object{{"type", json::array{"integer", "null"}}}},
                          {"slug", http::OpenApi::string_schema()},
                          {"name", http::OpenApi::string_schema()},
                          {"children", json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("Category")}}}}}});
    api.add_schema(
        "NewCategory",
        json::object{
            {"type", "object"},
            {"additionalProperties", false},
            {"required", json::array{"slug", "name"}},
            {"properties",
             json::object{
                 {"slug",
                  json::object{
                      {"type", "string"}, {"pattern", "^[a-z0-9]+(-[a-z0-9]+)*$"}, {"maxLength", 100}}},
                 {"name", json::object{{"type", "string"}, {"minLength", 1}, {"maxLength", 100}}},
                 {"parent_id", http::OpenApi::integer_schema()}}}});
    api.add_schema(
        "Product",
        json::object{
            {"type", "object"},
            {"properties",
             json::object{
                 {"id", http::OpenApi::integer_schema()},
                 {"sku", http::OpenApi::string_schema()},
                 {"name", http::OpenApi::string_schema()},
                 {"description", http::OpenApi::string_schema()},
                 {"category",
                  json::object{
                      {"type", json::array{"object", "null"}},
                      {"properties",
                       json::object{
                           {"id", http::OpenApi::integer_schema()}, {"slug", http::OpenApi::string_schema()}, {"name", http::OpenApi::string_schema()}}}}},
                 {"price",
                  json::object{
                      {"type", "object"},
                      {"properties",
                       json::object{{"amount_cents", http::OpenApi::integer_schema()}, {"currency", http::OpenApi::string_schema()}}}}},
                 {"stock", http::OpenApi::integer_schema()},
                 {"in_stock", json::object{{"type", "boolean"}}},
                 {"is_active", json::object{{"type", "boolean"}}},
                 {"rating",
                  json::object{{"type", "object"},
                               {"properties",
                                json::object{{"average", json::object{{"type", "number"}}},
                                             {"count", http::OpenApi::integer_schema()},
                                             {"sum", http::OpenApi::integer_schema()}}}}},
                 {"purchase_count", http::OpenApi::integer_schema()},
                 {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}},
                 {"version", http::OpenApi::integer_schema()},
                 {"score",
                  json::object{{"type", "object"},
                               {"description",
                                "explain=true only: popularity, rating, freshness, total (0.5·p + 0.3·r + "
                                "0.2·f) and text_rank (sort=relevance: 1 when the name matched, else 0)"}}}}}});
    api.add_schema(
        "NewProduct",
        json::object{
            {"type", "object"},
            {"additionalProperties", false},
            {"required", json::array{"sku", "name", "price_cents"}},
            {"properties",
             json::object{
                 {"sku", json::object{{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,64}$"}}},
                 {"name", json::object{{"type", "string"}, {"minLength", 1}, {"maxLength", 200}}},
                 {"description", json::object{{"type", "string"}, {"maxLength", 5000}}},
                 {"category_id", http::OpenApi::integer_schema()},
                 {"price_cents",
                  json::object{{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxPriceCents}}},
                 {"currency", json::object{{"type", "string"}, {"pattern", "^[A-Z]{3}$"}}},
                 {"stock", json::object{{"type", "integer"}, {"minimum", 0}, {"maximum", kMaxStock}}},
                 {"is_active", json::object{{"type", "boolean"}}}}}});
    api.add_schema(
        "ProductPatch",
        json::object{
            {"type", "object"},
            {"additionalProperties", false},
            {"description",
             "partial update; stock is the new absolute stock (the difference is "
             "written to the inventory ledger)"},
            {"properties",
             json::object{
                 {"name", http::OpenApi::string_schema()},
                 {"description", http::OpenApi::string_schema()},
                 {"category_id", http::OpenApi::integer_schema()},
                 {"price_cents", http::OpenApi::integer_schema()},
                 {"currency", http::OpenApi::string_schema()},
                 {"stock", http::OpenApi::integer_schema()},
                 {"is_active", json::object{{"type", "boolean"}}},
                 {"version", json::object{{"type", "integer"}, {"description", "instead of If-Match"}}}}}});
    api.add_schema(
        "Facets",
        json::object{
            {"type", "object"},
            {"description",
             "Counts for the whole query and filters (not just the page). Exact up to 10 000 matching "
             "products; above, estimated from a random sample and marked approximate."},
            {"required", json::array{"total", "approximate"}},
            {"properties",
             json::object{
                 {"total", http::OpenApi::integer_schema()},
                 {"approximate", json::object{{"type", "boolean"}}},
                 {"category",
                  json::object{{"type", "array"},
                               {"description", "facets=category: matching products per category (own category), most first"},
                               {"items",
                                json::object{{"type", "object"},
                                             {"properties",
                                              json::object{{"id", json::object{{"type", json::array{"integer", "null"}}}},
                                                           {"slug", json::object{{"type", json::array{"string", "null"}}}},
                                                           {"name", json::object{{"type", json::array{"string", "null"}}}},
                                                           {"count", http::OpenApi::integer_schema()}}}}}}},
                 {"price",
                  json::object{{"type", "array"},
                               {"description", "facets=price: matching products per price band (cents, inclusive)"},
                               {"items",
                                json::object{{"type", "object"},
                                             {"properties",
                                              json::object{{"min_cents", http::OpenApi::integer_schema()},
                                                           {"max_cents", json::object{{"type", json::array{"integer", "null"}}}},
                                                           {"count", http::OpenApi::integer_schema()}}}}}}}}}});
    api.add_schema(
        "ProductPage",
        json::object{{"type", "object"},
                     {"properties",
                      json::object{{"items", json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("Product")}}},
                                   {"next_cursor", json::object{{"type", json::array{"string", "null"}}}},
                                   {"facets", http::OpenApi::schema_ref("Facets")}}}});
    api.add_schema(
        "Review",
        json::object{
            {"type", "object"},
            {"properties",
             json::object{{"id", http::OpenApi::integer_schema()},
                          {"product_id", http::OpenApi::integer_schema()},
                          {"user_id", http::OpenApi::integer_schema()},
                          {"rating", json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 5}}},
                          {"title", http::OpenApi::string_schema()},
                          {"body", http::OpenApi::string_schema()},
                          {"verified_purchase", json::object{{"type", "boolean"}}},
                          {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}}}}});
    api.add_schema(
        "NewReview",
        json::object{
            {"type", "object"},
            {"additionalProperties", false},
            {"required", json::array{"rating"}},
            {"properties",
             json::object{{"rating", json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 5}}},
                          {"title", json::object{{"type", "string"}, {"maxLength", 200}}},
                          {"body", json::object{{"type", "string"}, {"maxLength", 5000}}}}}});
    api.add_schema(
        "ReviewPage",
        json::object{{"type", "object"},
                     {"properties",
                      json::object{{"items", json::object{{"type", "array"}, {"items", http::OpenApi::schema_ref("Review")}}},
                                   {"next_cursor", json::object{{"type", json::array{"string", "null"}}}}}}});

    const json::array tags{"catalog"};
    const auto id_param = http::OpenApi::parameter("id", "path", http::OpenApi::integer_schema(), "product id", true);
    api.add_operation(
        "/api/v1/categories",
        "get",
        json::object{
            {"tags", tags},
            {"summary", "The category tree"},
            {"operationId", "listCategories"},
            {"responses",
             json::object{{"200", json::object{{"description", "{items: Category[]} (nested children)"}}}}}});
    api.add_operation("/api/v1/categories",
                      "post",
                      json::object{{"tags", tags},
                                   {"summary", "Create a category (admin)"},
                                   {"operationId", "createCategory"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"requestBody", http::OpenApi::json_body("NewCategory")},
                                   {"responses",
                                    json::object{{"201", http::OpenApi::json_response("created", "Category")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"403", http::OpenApi::problem_ref("not an admin")},
                                                 {"409", http::OpenApi::problem_ref("slug taken")},
                                                 {"422", http::OpenApi::problem_ref("invalid fields")}}}});
    api.add_operation(
        "/api/v1/categories/{slug}",
        "get",
        json::object{
            {"tags", tags},
            {"summary", "One category"},
            {"operationId", "getCategory"},
            {"parameters", json::array{http::OpenApi::parameter("slug", "path", http::OpenApi::string_schema(), "category slug", true)}},
            {"responses",
             json::object{{"200", http::OpenApi::json_response("the category", "Category")},
                          {"404", http::OpenApi::problem_ref("no such category")}}}});
    api.add_operation(
        "/api/v1/products",
        "get",
        json::object{
            {"tags", tags},
            {"summary", "Ranked, searchable product listing (keyset pagination)"},
            {"description",
             "Score = 0.5·purchase_count/max(purchase_count) + 0.3·average rating/5 + 0.2·max(0, 1 − "
             "age_days/30). "
             "q uses full-text search (websearch syntax); when it matches nothing, its unknown words are "
             "replaced by the nearest words of the catalog's vocabulary (typos). sort=relevance: products "
             "whose name matches first, then by the score. next_cursor is opaque and bound to the sort and "
             "filters; with sort=rank or relevance, later pages are ranked as of the first page (no product "
             "repeated or skipped while sales happen) for 15 minutes, after which the cursor is refused (400)."},
            {"operationId", "listProducts"},
            {"parameters",
             json::array{
                 http::OpenApi::parameter("q", "query", http::OpenApi::string_schema(), "search text"),
                 http::OpenApi::parameter("category", "query", http::OpenApi::string_schema(), "category slug (includes sub-categories)"),
                 http::OpenApi::parameter("min_price", "query", http::OpenApi::integer_schema(), "cents, inclusive"),
                 http::OpenApi::parameter("max_price", "query", http::OpenApi::integer_schema(), "cents, inclusive"),
                 http::OpenApi::parameter("in_stock", "query", json::object{{"type", "boolean"}}, "only (not) in stock"),
                 http::OpenApi::parameter("sort",
                       "query",
                       json::object{
                           {"type", "string"},
                           {"enum", json::array{"rank", "relevance", "price_asc", "price_desc", "newest"}}},
                       "rank (default); relevance requires q (name matches first, then rank)"),
                 http::OpenApi::parameter("limit",
                       "query",
                       json::object{{"type", "integer"}, {"minimum", 1}, {"maximum", 100}},
                       "default 20"),
                 http::OpenApi::parameter("cursor", "query", http::OpenApi::string_schema(), "next_cursor of the previous page"),
                 http::OpenApi::parameter("explain", "query", json::object{{"type", "boolean"}}, "add score components"),
                 http::OpenApi::parameter("facets",
                       "query",
                       json::object{{"type", "string"}, {"pattern", "^(category|price)(,(category|price))*$"}},
                       "comma-separated: category, price (counts for the whole query, see Facets)")}},
            {"responses",
             json::object{{"200", http::OpenApi::json_response("a page", "ProductPage")},
                          {"400", http::OpenApi::problem_ref("invalid cursor")},
                          {"404", http::OpenApi::problem_ref("unknown category")},
                          {"422", http::OpenApi::problem_ref("invalid query parameters")}}}});
    api.add_operation(
        "/api/v1/products",
        "post",
        json::object{{"tags", tags},
                     {"summary", "Create a product (admin); its stock opens the inventory ledger"},
                     {"operationId", "createProduct"},
                     {"security", http::OpenApi::bearer_security()},
                     {"requestBody", http::OpenApi::json_body("NewProduct")},
                     {"responses",
                      json::object{{"201", http::OpenApi::json_response("created (Location, ETag)", "Product")},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"403", http::OpenApi::problem_ref("not an admin")},
                                   {"409", http::OpenApi::problem_ref("sku taken")},
                                   {"422", http::OpenApi::problem_ref("invalid fields")}}}});
    api.add_operation(
        "/api/v1/products/{id}",
        "get",
        json::object{{"tags", tags},
                     {"summary", "One product (ETag: W/\"<version>\")"},
                     {"operationId", "getProduct"},
                     {"parameters", json::array{id_param}},
                     {"responses",
                      json::object{{"200", http::OpenApi::json_response("the product", "Product")},
                                   {"304", json::object{{"description", "If-None-Match matched"}}},
                                   {"404", http::OpenApi::problem_ref("no such product (or inactive)")}}}});
    api.add_operation(
        "/api/v1/products/{id}",
        "patch",
        json::object{{"tags", tags},
                     {"summary", "Update a product (admin) with If-Match: W/\"<version>\""},
                     {"operationId", "updateProduct"},
                     {"security", http::OpenApi::bearer_security()},
                     {"parameters",
                      json::array{id_param, http::OpenApi::parameter("If-Match", "header", http::OpenApi::string_schema(), "W/\"<version>\"")}},
                     {"requestBody", http::OpenApi::json_body("ProductPatch")},
                     {"responses",
                      json::object{{"200", http::OpenApi::json_response("updated", "Product")},
                                   {"401", http::OpenApi::problem_ref("no token")},
                                   {"403", http::OpenApi::problem_ref("not an admin")},
                                   {"404", http::OpenApi::problem_ref("no such product")},
                                   {"412", http::OpenApi::problem_ref("version mismatch")},
                                   {"422", http::OpenApi::problem_ref("invalid fields or no version")}}}});
    api.add_operation("/api/v1/products/{id}",
                      "delete",
                      json::object{{"tags", tags},
                                   {"summary", "Soft-delete a product (admin)"},
                                   {"operationId", "deleteProduct"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param}},
                                   {"responses",
                                    json::object{{"204", json::object{{"description", "deleted"}}},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"403", http::OpenApi::problem_ref("not an admin")},
                                                 {"404", http::OpenApi::problem_ref("no such product")}}}});
    api.add_operation(
        "/api/v1/products/{id}/reviews",
        "get",
        json::object{{"tags", tags},
                     {"summary", "Reviews, newest first"},
                     {"operationId", "listReviews"},
                     {"parameters",
                      json::array{id_param,
                                  http::OpenApi::parameter("limit", "query", http::OpenApi::integer_schema(), "1..100, default 20"),
                                  http::OpenApi::parameter("cursor", "query", http::OpenApi::string_schema(), "next_cursor")}},
                     {"responses",
                      json::object{{"200", http::OpenApi::json_response("a page", "ReviewPage")},
                                   {"400", http::OpenApi::problem_ref("invalid cursor")},
                                   {"404", http::OpenApi::problem_ref("no such product")}}}});
    api.add_operation("/api/v1/products/{id}/reviews",
                      "post",
                      json::object{{"tags", tags},
                                   {"summary", "Review a product (one per user)"},
                                   {"operationId", "addReview"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters", json::array{id_param}},
                                   {"requestBody", http::OpenApi::json_body("NewReview")},
                                   {"responses",
                                    json::object{{"201", http::OpenApi::json_response("created", "Review")},
                                                 {"401", http::OpenApi::problem_ref("no token")},
                                                 {"404", http::OpenApi::problem_ref("no such product")},
                                                 {"409", http::OpenApi::problem_ref("already reviewed")},
                                                 {"422", http::OpenApi::problem_ref("invalid fields")}}}});
}

}  // namespace

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<CatalogService> service) {
    using http::Access;
    using http::Verb;
    const http::RouteOptions read{"read", true, Access::kPublic};
    const http::RouteOptions admin_write{"write", true, Access::kAdmin};
    router.add(Verb::get, "/api/v1/categories", Bound{handle_list_categories, service}, read);
    router.add(Verb::post, "/api/v1/categories", Bound{handle_create_category, service}, admin_write);
    router.add(Verb::get, "/api/v1/categories/{slug}", Bound{handle_get_category, service}, read);
    router.add(Verb::get, "/api/v1/products", Bound{handle_list_products, service}, read);
    router.add(Verb::post, "/api/v1/products", Bound{handle_create_product, service}, admin_write);
    router.add(Verb::get, "/api/v1/products/{id}", Bound{handle_get_product, service}, read);
    router.add(Verb::patch, "/api/v1/products/{id}", Bound{handle_patch_product, service}, admin_write);
    router.add(Verb::delete_, "/api/v1/products/{id}", Bound{handle_delete_product, service}, admin_write);
    router.add(Verb::get, "/api/v1/products/{id}/reviews", Bound{handle_list_reviews, service}, read);
    router.add(Verb::post,
               "/api/v1/products/{id}/reviews",
               Bound{handle_add_review, service},
               {"write", true, Access::kAuthenticated});
    document(openapi);
}

}  // namespace emporium::catalog
