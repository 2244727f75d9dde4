#include "catalog/catalog_service.hpp"

#include "core/log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t kMaxSlugLength = 100;

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// ^[a-z0-9]+(-[a-z0-9]+)*$
bool valid_slug(std::string_view s) {
    if (s.empty() || s.size() > kMaxSlugLength) return false;
    bool previous_dash = true;  // a leading dash is invalid
    for (char c : s) {
        if (c == '-') {
            if (previous_dash) return false;
            previous_dash = true;
        } else if (is_lower_alnum(c)) {
            previous_dash = false;
        } else {
            return false;
        }
    }
    return !previous_dash;
}

// [A-Za-z0-9_-]{1,64}
bool valid_sku(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
    });
}

// ^[A-Z]{3}$
bool valid_currency(std::string_view s) {
    return s.size() == 3 && std::all_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

std::string fnv1a_hex(std::string_view text) {
    std::uint64_t h = 14695981039346656037ULL;
    for (const char ch : text) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ULL;
    }
    std::array<char, 17> buf{};
    std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(h));
    return {buf.data(), 16};
}

std::string opt_text(const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : "-";
}

// Identifies the filters of a listing; a cursor only continues the listing it came from.
std::string filter_hash(const ListQuery& q) {
    std::string s = q.q.value_or("\x01");
    s += '\x1f';
    s += q.category.value_or("\x01");
    s += '\x1f' + opt_text(q.min_price) + '\x1f' + opt_text(q.max_price) + '\x1f';
    s += q.in_stock ? (*q.in_stock ? "1" : "0") : "-";
    return fnv1a_hex(s);
}

std::string_view mode_name(TextMode m) {
    switch (m) {
        case TextMode::kNone:
            return "";
        case TextMode::kFullText:
            return "fts";
        case TextMode::kTrigram:
            return "trgm";
    }
    return "";
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

core::Error validation(std::string field, std::string message) {
    return core::make_error(
        core::Errc::kValidation, "the request has invalid fields", {{std::move(field), std::move(message)}});
}

std::int64_t micros_of(Timestamp t) {
    return t.time_since_epoch().count();
}

std::optional<ListCursor> cursor_for(const ListSpec& spec,
                                     const ListQuery& query,
                                     const ListedProduct& last) {
    ListCursor c;
    c.sort = spec.sort;
    c.mode = spec.mode;
    c.filter_hash = filter_hash(query);
    c.id = last.product.id;
    c.max_purchase = spec.max_purchase;
    c.now_micros = micros_of(spec.now);
    switch (spec.sort) {
        case ListSort::kRank:
            c.score_key = last.score.score;
            break;
        case ListSort::kRelevance:
            c.score_key = last.score.text_rank;
            break;
        case ListSort::kPriceAsc:
        case ListSort::kPriceDesc:
            c.int_key = last.product.price_cents;
            break;
        case ListSort::kNewest:
            c.int_key = micros_of(last.product.created_at);
            break;
    }
    return c;
}

}  // namespace

std::string encode_cursor(const ListCursor& c) {
    const bool by_score = c.sort == ListSort::kRank || c.sort == ListSort::kRelevance;
    json::object o{{"s", sort_name(c.sort)},
                   {"m", mode_name(c.mode)},
                   {"f", c.filter_hash},
                   {"k", by_score ? format_double(c.score_key) : std::to_string(c.int_key)},
                   {"i", c.id},
                   {"p", c.max_purchase},
                   {"t", c.now_micros}};
    return base64url_encode(json::serialize(o));
}

std::optional<ListCursor> decode_cursor(std::string_view text) {
    if (text.empty() || text.size() > 1024) return std::nullopt;
    std::string raw;
    if (!base64url_decode(text, raw)) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(raw, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.get_object();
    const auto* s = o.if_contains("s");
    const auto* m = o.if_contains("m");
    const auto* f = o.if_contains("f");
    const auto* k = o.if_contains("k");
    const auto* i = o.if_contains("i");
    const auto* p = o.if_contains("p");
    const auto* t = o.if_contains("t");
    if (s == nullptr || m == nullptr || f == nullptr || k == nullptr || i == nullptr || p == nullptr ||
        t == nullptr)
        return std::nullopt;
    if (!s->is_string() || !m->is_string() || !f->is_string() || !k->is_string() || !i->is_int64() ||
        !p->is_int64() || !t->is_int64())
        return std::nullopt;
    ListCursor c;
    auto sort = parse_sort(s->get_string());
    if (!sort) return std::nullopt;
    c.sort = *sort;
    const std::string_view mode = m->get_string();
    if (mode.empty()) {
        c.mode = TextMode::kNone;
    } else if (mode == "fts") {
        c.mode = TextMode::kFullText;
    } else if (mode == "trgm") {
        c.mode = TextMode::kTrigram;
    } else {
        return std::nullopt;
    }
    c.filter_hash = std::string(f->get_string());
    const std::string_view key = k->get_string();
    if (c.sort == ListSort::kRank || c.sort == ListSort::kRelevance) {
        if (!parse_number(key, c.score_key) || !std::isfinite(c.score_key)) return std::nullopt;
    } else if (!parse_number(key, c.int_key)) {
        return std::nullopt;
    }
    c.id = i->get_int64();
    c.max_purchase = p->get_int64();
    c.now_micros = t->get_int64();
    if (c.id <= 0 || c.max_purchase < 0) return std::nullopt;
    return c;
}

CatalogService::CatalogService(CatalogStore store, CatalogCache cache)
    : store_(std::move(store)), cache_(std::move(cache)) {}

// ---- categories ----

asio::awaitable<std::vector<Category>> CatalogService::list_categories() {
    co_return co_await store_.list_categories();
}

asio::awaitable<core::Result<Category>> CatalogService::get_category(std::string slug) {
    if (!valid_slug(slug)) co_return core::make_error(core::Errc::kNotFound, "no such category");
    auto c = co_await store_.find_category(std::move(slug));
    if (!c) co_return core::make_error(core::Errc::kNotFound, "no such category");
    co_return std::move(*c);
}

asio::awaitable<core::Result<Category>> CatalogService::create_category(NewCategory input) {
    std::vector<core::FieldError> errors;
    if (!valid_slug(input.slug))
        errors.push_back({"slug", "must match ^[a-z0-9]+(-[a-z0-9]+)*$ (at most 100 characters)"});
    if (input.name.empty() || input.name.size() > 400)
        errors.push_back({"name", "must be 1 to 100 characters"});
    if (input.parent_id && *input.parent_id <= 0)
        errors.push_back({"parent_id", "must be a positive integer"});
    if (!errors.empty()) {
        co_return core::make_error(core::Errc::kValidation, "the request has invalid fields", errors);
    }
    auto created = co_await store_.insert_category(std::move(input));
    if (created) core::log::info("category created", {{"category_id", created->id}, {"slug", created->slug}});
    co_return created;
}

// ---- products ----

asio::awaitable<std::vector<Product>> CatalogService::get_visible_products(std::vector<std::int64_t> ids) {
    auto found = co_await store_.find_visible_products(ids);
    std::vector<Product> ordered;
    ordered.reserve(found.size());
    for (auto id : ids) {
        auto it = std::find_if(found.begin(), found.end(), [id](const Product& p) { return p.id == id; });
        if (it != found.end()) ordered.push_back(std::move(*it));
    }
    co_return ordered;
}

asio::awaitable<core::Result<Product>> CatalogService::get_product(std::int64_t id, bool include_hidden) {
    const auto not_found = core::make_error(core::Errc::kNotFound, "no such product");
    if (include_hidden || !cache_.enabled()) {
        auto p = co_await store_.find_product(id);
        if (!p || (!include_hidden && (!p->is_active || p->is_deleted))) co_return not_found;
        co_return std::move(*p);
    }
    const auto key = cache_.product_key(id);
    const auto stale_key = key + ":stale";
    auto look = co_await cache_.lookup("product", key, stale_key);
    if (look.value) {
        boost::system::error_code ec;
        auto v = json::parse(*look.value, ec);
        if (!ec) {
            if (auto cached = product_from_json(v)) co_return std::move(*cached);
        }
    }
    auto p = co_await store_.find_product(id);
    const bool visible = p && p->is_active && !p->is_deleted;
    if (look.kind == CacheLookup::Kind::kLoad) {
        std::optional<std::string> value;
        if (visible) value = json::serialize(to_json(*p));
        co_await cache_.fill(
            key, stale_key, std::move(value), cache_.settings().product_ttl, look.lock_token);
    }
    if (!visible) co_return not_found;
    co_return std::move(*p);
}

asio::awaitable<core::Result<Product>> CatalogService::create_product(NewProduct input) {
    std::vector<core::FieldError> errors;
    if (!valid_sku(input.sku)) errors.push_back({"sku", "must be 1 to 64 characters of A-Z a-z 0-9 - _"});
    if (!valid_currency(input.currency))
        errors.push_back({"currency", "must be three upper-case letters (ISO 4217)"});
    if (input.price_cents < 0 || input.price_cents > kMaxPriceCents)
        errors.push_back({"price_cents", "out of range"});
    if (input.stock < 0 || input.stock > kMaxStock) errors.push_back({"stock", "out of range"});
    if (input.name.empty()) errors.push_back({"name", "must not be empty"});
    if (!errors.empty()) {
        co_return core::make_error(core::Errc::kValidation, "the request has invalid fields", errors);
    }
    auto created = co_await store_.insert_product(std::move(input));
    if (created) {
        core::log::info("product created", {{"product_id", created->id}, {"sku", created->sku}});
        co_await cache_.invalidate_product(created->id);
        // A mirror left under this id (e.g. by a database restored to an earlier state) is stale.
        if (stock_listener_) co_await stock_listener_(created->id);
    }
    co_return created;
}

asio::awaitable<core::Result<Product>> CatalogService::update_product(std::int64_t id, ProductPatch patch) {
    std::vector<core::FieldError> errors;
    if (patch.currency && !valid_currency(*patch.currency))
        errors.push_back({"currency", "must be three upper-case letters (ISO 4217)"});
    if (patch.price_cents && (*patch.price_cents < 0 || *patch.price_cents > kMaxPriceCents))
        errors.push_back({"price_cents", "out of range"});
    if (patch.stock && (*patch.stock < 0 || *patch.stock > kMaxStock))
        errors.push_back({"stock", "must be 0 to 10000000"});
    if (patch.name && patch.name->empty()) errors.push_back({"name", "must not be empty"});
    if (patch.expected_version <= 0)
        errors.push_back({"version", R"(required (If-Match: W/"<version>" or "version"))"});
    if (!errors.empty()) {
        co_return core::make_error(core::Errc::kValidation, "the request has invalid fields", errors);
    }
    const bool stock_set = patch.stock.has_value();
    auto updated = co_await store_.update_product(id, std::move(patch));
    if (updated) {
        core::log::info("product updated", {{"product_id", id}, {"version", updated->version}});
        co_await cache_.invalidate_product(id);
        if (stock_set && stock_listener_) co_await stock_listener_(id);
    }
    co_return updated;
}

asio::awaitable<core::Result<void>> CatalogService::delete_product(std::int64_t id) {
    const bool deleted = co_await store_.soft_delete_product(id);
    if (!deleted) co_return core::make_error(core::Errc::kNotFound, "no such product");
    core::log::info("product deleted", {{"product_id", id}});
    co_await cache_.invalidate_product(id);
    co_return core::Result<void>{};
}

asio::awaitable<void> CatalogService::invalidate_product(std::int64_t id) {
    co_await cache_.invalidate_product(id);
}

// ---- reviews ----

asio::awaitable<core::Result<Review>> CatalogService::add_review(std::int64_t product_id,
                                                                 std::int64_t user_id,
                                                                 NewReview input) {
    if (input.rating < 1 || input.rating > 5) co_return validation("rating", "must be 1 to 5");
    auto review = co_await store_.insert_review(product_id, user_id, std::move(input));
    if (review) co_await cache_.invalidate_product(product_id);
    co_return review;
}

asio::awaitable<core::Result<ReviewPage>> CatalogService::list_reviews(std::int64_t product_id,
                                                                       std::int64_t limit,
                                                                       std::optional<std::string> cursor) {
    if (limit < 1 || limit > kMaxPageSize) co_return validation("limit", "must be 1 to 100");
    std::optional<std::pair<Timestamp, std::int64_t>> after;
    if (cursor) {
        std::string raw;
        boost::system::error_code ec;
        json::value v;
        if (base64url_decode(*cursor, raw)) v = json::parse(raw, ec);
        const auto* o = v.if_object();
        const auto* t = o != nullptr ? o->if_contains("t") : nullptr;
        const auto* i = o != nullptr ? o->if_contains("i") : nullptr;
        if (ec || t == nullptr || i == nullptr || !t->is_int64() || !i->is_int64()) {
            co_return core::make_error(
                core::Errc::kBadRequest, "the cursor is invalid", {{"cursor", "is invalid"}});
        }
        after.emplace(Timestamp(std::chrono::microseconds(t->get_int64())), i->get_int64());
    }
    auto product = co_await store_.find_product(product_id);
    if (!product || !product->is_active || product->is_deleted) {
        co_return core::make_error(core::Errc::kNotFound, "no such product");
    }
    auto rows = co_await store_.list_reviews(product_id, limit + 1, after);
    ReviewPage page;
    if (static_cast<std::int64_t>(rows.size()) > limit) {
        rows.resize(static_cast<std::size_t>(limit));
        json::object c{{"t", micros_of(rows.back().created_at)}, {"i", rows.back().id}};
        page.next_cursor = base64url_encode(json::serialize(c));
    }
    page.items = std::move(rows);
    co_return page;
}

// ---- listing ----

asio::awaitable<core::Result<ProductPage>> CatalogService::list_products(ListQuery query) {
    if (query.q && query.q->empty()) query.q.reset();
    std::vector<core::FieldError> errors;
    if (query.sort == ListSort::kRelevance && !query.q) errors.push_back({"sort", "relevance requires q"});
    if (query.limit < 1 || query.limit > kMaxPageSize) errors.push_back({"limit", "must be 1 to 100"});
    if (query.min_price && query.max_price && *query.min_price > *query.max_price)
        errors.push_back({"min_price", "must not exceed max_price"});
    if (query.q && query.q->size() > 200) errors.push_back({"q", "must be at most 200 characters"});
    if (!errors.empty()) {
        co_return core::make_error(
            core::Errc::kValidation, "the request has invalid query parameters", errors);
    }
    std::optional<ListCursor> cursor;
    if (query.cursor) {
        cursor = decode_cursor(*query.cursor);
        if (!cursor) {
            co_return core::make_error(
                core::Errc::kBadRequest, "the cursor is invalid", {{"cursor", "is invalid"}});
        }
        if (cursor->sort != query.sort || cursor->filter_hash != filter_hash(query)) {
            co_return core::make_error(core::Errc::kBadRequest,
                                       "the cursor belongs to a listing with another sort or other filters",
                                       {{"cursor", "does not match sort and filters"}});
        }
    }
    const auto not_found = core::make_error(core::Errc::kNotFound, "no such category");
    std::optional<std::int64_t> generation;
    if (cache_.enabled()) generation = co_await cache_.generation();
    if (!generation) {
        auto page = co_await load_page(std::move(query), std::move(cursor));
        if (!page) co_return not_found;
        co_return std::move(*page);
    }
    const auto hash = fnv1a_hex(filter_hash(query) + "|" + std::string(sort_name(query.sort)) + "|" +
                                std::to_string(query.limit) + "|" + query.cursor.value_or("") + "|" +
                                (query.explain ? "e" : ""));
    const auto key = cache_.list_key(*generation, hash);
    const auto stale_key = cache_.list_stale_key(hash);
    auto look = co_await cache_.lookup("list", key, stale_key);
    const bool explain = query.explain;
    if (look.value) {
        boost::system::error_code ec;
        auto v = json::parse(*look.value, ec);
        if (!ec) {
            if (auto cached = page_from_json(v)) {
                cached->explain = explain;
                co_return std::move(*cached);
            }
        }
    }
    auto page = co_await load_page(std::move(query), std::move(cursor));
    if (look.kind == CacheLookup::Kind::kLoad) {
        std::optional<std::string> value;
        if (page) value = json::serialize(to_json(*page));
        co_await cache_.fill(key, stale_key, std::move(value), cache_.settings().list_ttl, look.lock_token);
    }
    if (!page) co_return not_found;
    co_return std::move(*page);
}

asio::awaitable<std::optional<ProductPage>> CatalogService::load_page(ListQuery query,
                                                                      std::optional<ListCursor> cursor) {
    ListSpec spec;
    spec.q = query.q;
    spec.min_price = query.min_price;
    spec.max_price = query.max_price;
    spec.in_stock = query.in_stock;
    spec.sort = query.sort;
    spec.limit = query.limit + 1;
    if (query.category) {
        auto ids = co_await store_.category_subtree(*query.category);
        if (!ids) co_return std::nullopt;
        spec.category_ids = std::move(*ids);
    }
    if (cursor) {
        spec.max_purchase = cursor->max_purchase;
        spec.now = Timestamp(std::chrono::microseconds(cursor->now_micros));
        spec.mode = cursor->mode;
        spec.after = cursor;
    } else {
        spec.max_purchase = co_await store_.max_purchase_count();
        spec.now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
        spec.mode = spec.q ? TextMode::kFullText : TextMode::kNone;
    }
    auto rows = co_await store_.list_products(spec);
    if (!cursor && spec.mode == TextMode::kFullText && rows.empty()) {
        // Nothing matched the full-text query: retry with trigram similarity (typos).
        spec.mode = TextMode::kTrigram;
        rows = co_await store_.list_products(spec);
    }
    ProductPage page;
    page.explain = query.explain;
    if (static_cast<std::int64_t>(rows.size()) > query.limit) {
        rows.resize(static_cast<std::size_t>(query.limit));
        page.next_cursor = encode_cursor(*cursor_for(spec, query, rows.back()));
    }
    if (query.explain) {
        // The SQL and the C++ formula must agree; a difference is a bug worth a log line.
        std::size_t mismatches = 0;
        for (const auto& row : rows) {
            const auto age =
                std::chrono::duration<double>(spec.now - row.product.created_at).count() / 86400.0;
            const auto expected = ranking_score(row.product.purchase_count,
                                                spec.max_purchase,
                                                row.product.rating_sum,
                                                row.product.rating_count,
                                                age);
            if (std::abs(expected.score - row.score.score) > 1e-9) ++mismatches;
        }
        if (mismatches > 0)
            core::log::warn("ranking score mismatch between SQL and C++", {{"rows", mismatches}});
    }
    page.items = std::move(rows);
    co_return page;
}

}  // namespace emporium::catalog
