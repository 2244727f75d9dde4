#include "catalog/catalog_service.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr std::size_t kMaxSlugLength = 100;
// A rank cursor carries a database snapshot whose in-progress list grows with concurrency.
constexpr std::size_t kMaxCursorLength = 8192;
constexpr auto kCategoriesTtl = std::chrono::seconds(5);
constexpr std::size_t kMaxQueryLength = 200;

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
    }
    return "";
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size();
}

core::Metrics::Counter& local_counter(bool hit) {
    static auto& hits = core::Metrics::global().counter(
        "emporium_cache_requests_total", "Catalog cache lookups by cache and result (hit, miss, stale)", {{"cache", "product_local"}, {"result", "hit"}});
    static auto& misses = core::Metrics::global().counter(
        "emporium_cache_requests_total", "Catalog cache lookups by cache and result (hit, miss, stale)", {{"cache", "product_local"}, {"result", "miss"}});
    return hit ? hits : misses;
}

// The detail's view of a product's variants: the active ones, the options they use (values in
// first-use order) and their price range (the product's price when none is active).
void set_variants(Product& product, const std::vector<Variant>& all) {
    std::vector<VariantSummary> variants;
    std::vector<ProductOption> options;
    PriceRange range{product.price_cents, product.price_cents};
    for (const auto& v : all) {
        if (!v.is_active || v.is_deleted) continue;
        VariantSummary s = v;
        s.in_stock = v.stock > 0;
        if (variants.empty()) range = PriceRange{v.price_cents, v.price_cents};
        range.min_cents = std::min(range.min_cents, v.price_cents);
        range.max_cents = std::max(range.max_cents, v.price_cents);
        for (const auto& o : v.options) {
            auto it = std::find_if(options.begin(), options.end(), [&](const ProductOption& p) { return p.name == o.option; });
            if (it == options.end()) it = options.insert(options.end(), ProductOption{o.option, {}});
            if (std::find(it->values.begin(), it->values.end(), o.value) == it->values.end()) it->values.push_back(o.value);
        }
        variants.push_back(std::move(s));
    }
    product.variants = std::move(variants);
    product.options = std::move(options);
    product.price_range = range;
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
            c.score_key = last.score.score;
            c.tier = last.score.text_rank > 0.5 ? 0 : 1;
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
    if (c.sort == ListSort::kRelevance) o["g"] = c.tier;
    if (c.snapshot) o["x"] = *c.snapshot;
    if (c.corrected) o["c"] = *c.corrected;
    return base64url_encode(json::serialize(o));
}

std::optional<ListCursor> decode_cursor(std::string_view text) {
    if (text.empty() || text.size() > kMaxCursorLength) return std::nullopt;
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
    if (c.id <= 0 || c.max_purchase < 0 || !is_storable_time(c.now_micros)) return std::nullopt;
    if (c.sort == ListSort::kNewest && !is_storable_time(c.int_key)) return std::nullopt;
    const bool ranked = c.sort == ListSort::kRank || c.sort == ListSort::kRelevance;
    if (const auto* x = o.if_contains("x")) {
        if (!x->is_string() || !ranked || !PgSnapshot::parse(x->get_string())) return std::nullopt;
        c.snapshot = std::string(x->get_string());
    }
    if (c.sort == ListSort::kRelevance) {
        const auto* g = o.if_contains("g");
        if (g == nullptr || !g->is_int64() || (g->get_int64() != 0 && g->get_int64() != 1)) return std::nullopt;
        c.tier = g->get_int64();
    }
    if (const auto* corrected = o.if_contains("c")) {
        if (!corrected->is_string() || c.mode != TextMode::kFullText || corrected->get_string().empty() ||
            corrected->get_string().size() > kMaxQueryLength)
            return std::nullopt;
        c.corrected = std::string(corrected->get_string());
    }
    return c;
}

// Typo corrections per word, kept for 30 s: the vocabulary moves slowly, and a word that starts
// matching products is never corrected anyway (the match check comes first, from the index).
class CatalogService::CorrectionCache {
public:
    using Correction = CatalogStore::WordCorrection;
    std::optional<Correction> get(const std::string& word) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(word);
        if (it == entries_.end() || std::chrono::steady_clock::now() - it->second.second > kTtl) return std::nullopt;
        return it->second.first;
    }
    void put(const Correction& c) {
        std::lock_guard lock(mutex_);
        if (entries_.size() >= kCapacity) entries_.clear();
        entries_.insert_or_assign(c.word, std::make_pair(c, std::chrono::steady_clock::now()));
    }

private:
    static constexpr auto kTtl = std::chrono::seconds(30);
    static constexpr std::size_t kCapacity = 20'000;
    std::mutex mutex_;
    std::unordered_map<std::string, std::pair<Correction, std::chrono::steady_clock::time_point>> entries_;
};

namespace {

// One database lookup per set of words in flight on an I/O thread: requests that ask for the same
// words meanwhile wait for its answer (a burst of searches for one misspelt word, just after a
// start or once the kept corrections expired, costs one lookup, not one per request). Everything
// here runs on the calling thread, so there is no lock.
struct CorrectionFlight {
    bool done = false;
    std::vector<CatalogStore::WordCorrection> result;
    std::exception_ptr error;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

std::unordered_map<std::string, std::shared_ptr<CorrectionFlight>>& correction_flights() {
    thread_local std::unordered_map<std::string, std::shared_ptr<CorrectionFlight>> flights;
    return flights;
}

asio::awaitable<std::vector<CatalogStore::WordCorrection>> correct_once(
    CatalogStore& store,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string key,
    std::vector<std::string> words) {
    auto& flights = correction_flights();
    if (auto it = flights.find(key); it != flights.end()) {
        auto flight = it->second;
        auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor,
                                                          asio::steady_timer::time_point::max());
        flight->waiters.push_back(timer);
        static_cast<void>(co_await timer->async_wait(asio::as_tuple(asio::use_awaitable)));
        if (!flight->done) throw std::logic_error("typo correction: woken before the lookup ended");
        if (flight->error) std::rethrow_exception(flight->error);
        co_return flight->result;
    }
    auto flight = std::make_shared<CorrectionFlight>();
    flights.emplace(key, flight);
    try {
        flight->result = co_await store.correct_words(std::move(words));
    } catch (...) {
        flight->error = std::current_exception();
    }
    flight->done = true;
    correction_flights().erase(key);
    for (auto& t : flight->waiters) t->cancel();
    if (flight->error) std::rethrow_exception(flight->error);
    co_return flight->result;
}

}  // namespace

CatalogService::CatalogService(CatalogStore store,
                               CatalogCache cache,
                               std::shared_ptr<RankFeed> feed,
                               CatalogSettings settings,
                               std::shared_ptr<LocalProductCache> local)
    : store_(std::move(store)),
      cache_(std::move(cache)),
      feed_(std::move(feed)),
      settings_(settings),
      local_(std::move(local)),
      corrections_(std::make_shared<CorrectionCache>()) {
    // Changes the rank index reads from the database (sales by the worker, admin writes on other
    // servers) also drop the in-process copies.
    if (feed_ && local_) feed_->on_change([l = local_](std::int64_t id) { l->evict(id); });
}

// ---- categories ----

asio::awaitable<std::vector<Category>> CatalogService::list_categories(db::Lsn after) {
    auto reads = store_.on_replica(after);
    co_return co_await reads.list_categories();
}

asio::awaitable<core::Result<Category>> CatalogService::get_category(std::string slug, db::Lsn after) {
    if (!valid_slug(slug)) co_return core::make_error(core::Errc::kNotFound, "no such category");
    auto reads = store_.on_replica(after);
    auto c = co_await reads.find_category(std::move(slug));
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
    if (created) {
        core::log::info("category created", {{"category_id", created->id}, {"slug", created->slug}});
        std::lock_guard lock(categories_mutex_);
        categories_.reset();
    }
    co_return created;
}

// ---- products ----

asio::awaitable<void> CatalogService::name_categories(std::vector<Product>& products) {
    bool any = false;
    for (const auto& p : products) any = any || p.category.has_value();
    if (!any) co_return;
    co_await categories();
    auto all = categories_by_id();
    auto find = [&](std::int64_t id) -> const Category* {
        auto it = std::lower_bound(all->begin(), all->end(), id, [](const Category& c, std::int64_t v) { return c.id < v; });
        return it != all->end() && it->id == id ? &*it : nullptr;
    };
    for (const auto& p : products) {
        if (p.category && find(p.category->id) == nullptr) {
            co_await categories(true);  // created since the cached copy
            all = categories_by_id();
            break;
        }
    }
    for (auto& p : products) {
        if (!p.category) continue;
        if (const auto* c = find(p.category->id)) {
            p.category->slug = c->slug;
            p.category->name = c->name;
        }
    }
}

asio::awaitable<std::vector<Product>> CatalogService::get_visible_products(std::vector<std::int64_t> ids,
                                                                           db::Lsn after) {
    auto reads = store_.on_replica(after);
    auto found = co_await reads.find_visible_products(ids);
    co_await name_categories(found);
    std::vector<Product> ordered;
    ordered.reserve(found.size());
    for (auto id : ids) {
        auto it = std::find_if(found.begin(), found.end(), [id](const Product& p) { return p.id == id; });
        if (it != found.end()) ordered.push_back(std::move(*it));
    }
    co_return ordered;
}

asio::awaitable<std::optional<Product>> CatalogService::find_named_product(std::int64_t id,
                                                                           CatalogStore reads) {
    auto p = co_await reads.find_product(id);
    if (!p) co_return std::nullopt;
    std::vector<Product> one;
    one.push_back(std::move(*p));
    co_await name_categories(one);
    co_await add_variants(one.front(), std::move(reads));
    co_return std::move(one.front());
}

asio::awaitable<void> CatalogService::add_variants(
    Product& product,
    CatalogStore reads) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    auto all = co_await reads.variants_of(product.id);
    set_variants(product, all);
}

asio::awaitable<db::Lsn> CatalogService::fill_after(db::Lsn after) {
    if (!store_.has_replicas()) co_return after;
    const auto written = co_await cache_.write_lsn();
    co_return std::max(after, written);
}

asio::awaitable<core::Result<Product>> CatalogService::get_product(std::int64_t id,
                                                                   bool include_hidden,
                                                                   db::Lsn after) {
    const auto not_found = core::make_error(core::Errc::kNotFound, "no such product");
    if (include_hidden || !cache_.enabled()) {
        // Admins read the primary (their own writes, hidden products).
        auto reads = include_hidden ? store_ : store_.on_replica(after);
        auto p = co_await find_named_product(id, std::move(reads));
        if (!p || (!include_hidden && (!p->is_active || p->is_deleted))) co_return not_found;
        co_return std::move(*p);
    }
    const bool local = local_ && local_->enabled();
    if (local) {
        if (auto hit = local_->get(id)) {
            local_counter(true).inc();
            co_return *hit;
        }
        local_counter(false).inc();
    }
    const auto key = cache_.product_key(id);
    const auto stale_key = key + ":stale";
    auto look = co_await cache_.lookup("product", key, stale_key);
    if (look.value) {
        boost::system::error_code ec;
        auto v = json::parse(*look.value, ec);
        if (!ec) {
            if (auto cached = product_from_json(v)) {
                // A stale copy (served while another request rebuilds) is not kept locally.
                if (local && look.kind == CacheLookup::Kind::kHit) local_->put(std::make_shared<const Product>(*cached));
                co_return std::move(*cached);
            }
        }
    }
    // What is read here may be stored (in Redis by the lock's winner, locally by anyone): from a
    // replica only once it has replayed the last invalidating write.
    const auto fill_lsn = co_await fill_after(after);
    auto reads = store_.on_replica(fill_lsn);
    auto p = co_await find_named_product(id, std::move(reads));
    const bool visible = p && p->is_active && !p->is_deleted;
    if (look.kind == CacheLookup::Kind::kLoad) {
        std::optional<std::string> value;
        if (visible) value = to_json_text(*p);
        co_await cache_.fill(
            key, stale_key, std::move(value), cache_.settings().product_ttl, look.lock_token);
    }
    if (!visible) co_return not_found;
    if (local) local_->put(std::make_shared<const Product>(*p));
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
        co_await invalidate_product(created->id);
        // A mirror left under this id (e.g. by a database restored to an earlier state) is stale.
        if (stock_listener_) co_await stock_listener_(created->id);
        co_await add_variants(*created, store_);
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
        co_await invalidate_product(id);
        if (stock_set && stock_listener_) co_await stock_listener_(id);
        co_await add_variants(*updated, store_);
    }
    co_return updated;
}

asio::awaitable<core::Result<void>> CatalogService::delete_product(std::int64_t id) {
    const bool deleted = co_await store_.soft_delete_product(id);
    if (!deleted) co_return core::make_error(core::Errc::kNotFound, "no such product");
    core::log::info("product deleted", {{"product_id", id}});
    co_await invalidate_product(id);
    co_return core::Result<void>{};
}

// ---- options and variants ----

asio::awaitable<core::Result<VariantList>> CatalogService::list_variants(std::int64_t product_id,
                                                                         bool include_hidden,
                                                                         db::Lsn after) {
    auto reads = include_hidden ? store_ : store_.on_replica(after);
    auto product = co_await reads.find_product(product_id);
    if (!product || product->is_deleted || (!include_hidden && !product->is_active)) {
        co_return core::make_error(core::Errc::kNotFound, "no such product");
    }
    auto all = co_await reads.variants_of(product_id);
    VariantList out;
    for (auto& v : all) {
        if (v.is_deleted || (!include_hidden && !v.is_active)) continue;
        out.items.push_back(std::move(v));
    }
    co_return out;
}

asio::awaitable<core::Result<Variant>> CatalogService::get_variant(std::int64_t id,
                                                                   bool include_hidden,
                                                                   db::Lsn after) {
    auto reads = include_hidden ? store_ : store_.on_replica(after);
    auto found = co_await reads.find_variant(id);
    if (!found || found->variant.is_deleted ||
        (!include_hidden && (!found->variant.is_active || !found->product_visible))) {
        co_return core::make_error(core::Errc::kNotFound, "no such variant");
    }
    co_return std::move(found->variant);
}

asio::awaitable<core::Result<Variant>> CatalogService::create_variant(std::int64_t product_id, VariantInput input) {
    auto created = co_await store_.insert_variant(product_id, std::move(input));
    if (created) {
        core::log::info("variant created",
                        {{"product_id", product_id}, {"variant_id", created->id}, {"sku", created->sku}});
        co_await invalidate_product(product_id);
        // A mirror left under the new id (a database restored to an earlier state) is stale.
        if (stock_listener_) co_await stock_listener_(product_id);
    }
    co_return created;
}

asio::awaitable<core::Result<Variant>> CatalogService::update_variant(std::int64_t id, VariantPatch patch) {
    if (patch.expected_version <= 0) {
        co_return core::make_error(core::Errc::kPreconditionRequired,
                                   R"(the update needs the variant's version (If-Match: W/"<version>" or "version"))");
    }
    const bool sale_changed = patch.stock.has_value() || patch.is_active.has_value();
    auto updated = co_await store_.update_variant(id, std::move(patch));
    if (updated) {
        core::log::info("variant updated",
                        {{"product_id", updated->product_id}, {"variant_id", id}, {"version", updated->version}});
        co_await invalidate_product(updated->product_id);
        if (sale_changed && stock_listener_) co_await stock_listener_(updated->product_id);
    }
    co_return updated;
}

asio::awaitable<core::Result<void>> CatalogService::delete_variant(std::int64_t id) {
    auto removed = co_await store_.delete_variant(id);
    if (!removed) co_return removed.error();
    core::log::info("variant deleted", {{"product_id", removed->product_id}, {"variant_id", id}});
    co_await invalidate_product(removed->product_id);
    if (stock_listener_) co_await stock_listener_(removed->product_id);
    co_return core::Result<void>{};
}

asio::awaitable<void> CatalogService::invalidate_product(std::int64_t id) {
    if (local_) local_->evict(id);
    if (feed_) feed_->mark_changed();
    if (cache_.enabled() && store_.has_replicas()) {
        // Before the invalidation: a fill that wins the rebuild lock after it reads a position at
        // or past this write's commit, and so reads a replica that has replayed it (or the primary).
        std::optional<db::Lsn> lsn;
        try {
            lsn = co_await store_.primary_insert_lsn();
        } catch (const db::DbError& e) {
            core::log::warn("catalog write position unavailable", {{"product_id", id}, {"error", e.what()}});
        } catch (const core::TimeoutError& e) {
            core::log::warn("catalog write position unavailable", {{"product_id", id}, {"error", e.what()}});
        }
        if (lsn) co_await cache_.raise_write_lsn(*lsn);
    }
    co_await cache_.invalidate_product(id);
}

// ---- reviews ----

asio::awaitable<core::Result<Review>> CatalogService::add_review(std::int64_t product_id,
                                                                 std::int64_t user_id,
                                                                 NewReview input) {
    if (input.rating < 1 || input.rating > 5) co_return validation("rating", "must be 1 to 5");
    auto review = co_await store_.insert_review(product_id, user_id, std::move(input));
    if (review) co_await invalidate_product(product_id);
    co_return review;
}

asio::awaitable<core::Result<ReviewPage>> CatalogService::list_reviews(std::int64_t product_id,
                                                                       std::int64_t limit,
                                                                       std::optional<std::string> cursor,
                                                                       db::Lsn after_lsn) {
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
        if (ec || t == nullptr || i == nullptr || !t->is_int64() || !i->is_int64() ||
            !is_storable_time(t->get_int64()) || i->get_int64() <= 0) {
            co_return core::make_error(
                core::Errc::kBadRequest, "the cursor is invalid", {{"cursor", "is invalid"}});
        }
        after.emplace(Timestamp(std::chrono::microseconds(t->get_int64())), i->get_int64());
    }
    auto reads = store_.on_replica(after_lsn);
    auto product = co_await reads.find_product(product_id);
    if (!product || !product->is_active || product->is_deleted) {
        co_return core::make_error(core::Errc::kNotFound, "no such product");
    }
    auto rows = co_await reads.list_reviews(product_id, limit + 1, after);
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

struct CatalogService::Resolved {
    std::optional<std::vector<std::int64_t>> category_ids;  // the subtree, ascending
    std::optional<std::string> text;                        // the query searched for
    bool corrected = false;                                 // text is q corrected for typos
};

namespace {

// The ids of the category `slug` and its descendants, ascending; nullopt for an unknown slug.
std::optional<std::vector<std::int64_t>> subtree_of(const std::vector<Category>& all, const std::string& slug) {
    auto root = std::find_if(all.begin(), all.end(), [&](const Category& c) { return c.slug == slug; });
    if (root == all.end()) return std::nullopt;
    std::vector<std::int64_t> out{root->id};
    for (std::size_t i = 0; i < out.size(); ++i) {  // breadth first; the tree has no cycles
        for (const auto& c : all) {
            if (c.parent_id == out[i]) out.push_back(c.id);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

RankFilters rank_filters(const ListQuery& query, const std::optional<std::vector<std::int64_t>>& category_ids) {
    RankFilters f;
    f.category_ids = category_ids;
    f.min_price = query.min_price;
    f.max_price = query.max_price;
    f.in_stock = query.in_stock;
    return f;
}

// How many products a text query matches, estimated from the rank index's sample.
struct TextEstimate {
    std::vector<std::int64_t> sample;
    std::vector<std::int64_t> hits;
    double matches = 0;
    double density = 0;
};

// Recent estimates per (predicate, text): they only choose between enumerating the matches and
// walking the ranking, and size the blocks, so a few seconds old is as good as new.
class EstimateCache {
public:
    std::optional<TextEstimate> get(const std::string& key) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        if (it == entries_.end() || std::chrono::steady_clock::now() - it->second.second > kTtl) return std::nullopt;
        return it->second.first;
    }
    void put(const std::string& key, const TextEstimate& e) {
        std::lock_guard lock(mutex_);
        if (entries_.size() >= kCapacity) entries_.clear();
        entries_.insert_or_assign(key, std::make_pair(e, std::chrono::steady_clock::now()));
    }

private:
    static constexpr auto kTtl = std::chrono::seconds(10);
    static constexpr std::size_t kCapacity = 10'000;
    std::mutex mutex_;
    std::unordered_map<std::string, std::pair<TextEstimate, std::chrono::steady_clock::time_point>> entries_;
};

EstimateCache& estimates() {
    static EstimateCache cache;
    return cache;
}

asio::awaitable<TextEstimate> estimate_text(
    CatalogStore& store,      // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const RankIndex& index,   // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string q,
    TextPredicate predicate,
    std::size_t sample_size) {
    const auto key = std::to_string(static_cast<int>(predicate)) + ":" + std::to_string(sample_size) + ":" + q;
    if (auto cached = estimates().get(key)) co_return std::move(*cached);
    TextEstimate e;
    e.sample = index.sample_ids(sample_size);
    e.hits = co_await store.text_matches_among(q, predicate, e.sample);
    if (!e.sample.empty()) {
        e.density = static_cast<double>(e.hits.size()) / static_cast<double>(e.sample.size());
        e.matches = e.density * static_cast<double>(index.size());
    }
    estimates().put(key, e);
    co_return e;
}

// Ranks the products matching text `q` (and the request's filters): few matches are enumerated
// and ranked exactly; many are found by walking the rank order and checking the text of each
// block of candidates in the database.
asio::awaitable<std::optional<RankError>> rank_text(
    CatalogStore& store,     // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const RankIndex& index,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    RankRequest request,
    std::string q,
    TextPredicate predicate,
    std::size_t enumerate_limit,
    RankScan& scan) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    constexpr std::size_t kSample = 1000;
    auto estimate = co_await estimate_text(store, index, q, predicate, kSample);
    // Listing the matches costs about a heap row each; walking the ranking costs a text check per
    // candidate, want / density candidates. Take the cheaper (the weights are measured ratios).
    const double sampled = static_cast<double>(std::max<std::size_t>(estimate.sample.size(), 1));
    const double walk_cost =
        2.5 * std::min(static_cast<double>(index.size()),
                       static_cast<double>(request.want) / std::max(estimate.density, 1.0 / sampled));
    if (estimate.matches <= static_cast<double>(enumerate_limit) / 2.0 && estimate.matches <= walk_cost) {
        auto ids = co_await store.text_matches(q, predicate, static_cast<std::int64_t>(enumerate_limit) + 1);
        if (ids.size() <= enumerate_limit) {
            request.only_ids = std::move(ids);
            co_return index.rank(request, scan);
        }
    }
    if (auto error = index.begin(request, scan)) co_return error;
    const double density = std::max(estimate.density, 1.0 / static_cast<double>(kSample));
    const auto block_size = static_cast<std::size_t>(
        std::clamp(static_cast<double>(request.want) / density * 1.5, 64.0, 4000.0));
    while (!scan.done()) {
        auto block = scan.next(block_size);
        if (block.candidates.empty()) {
            if (block.last) break;
            continue;
        }
        std::vector<std::int64_t> ids;
        ids.reserve(block.candidates.size());
        for (const auto& c : block.candidates) ids.push_back(c.id);
        auto matched = co_await store.text_matches_among(q, predicate, std::move(ids));
        std::sort(matched.begin(), matched.end());
        std::vector<RankedId> keep;
        for (const auto& c : block.candidates) {
            if (std::binary_search(matched.begin(), matched.end(), c.id)) keep.push_back(c);
        }
        scan.offer(keep);
    }
    co_return std::nullopt;
}

// The words of a websearch query that typo correction may replace: runs of letters and digits
// (any byte >= 0x80 counts as a letter), lower-cased; not the operator "or", not numbers.
struct QueryWord {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::string word;
};
std::vector<QueryWord> query_words(std::string_view q) {
    std::vector<QueryWord> out;
    auto is_word = [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u >= 0x80U;
    };
    for (std::size_t i = 0; i < q.size();) {
        if (!is_word(q[i])) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < q.size() && is_word(q[j])) ++j;
        std::string w(q.substr(i, j - i));
        for (auto& c : w) {
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        const bool number = std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (w != "or" && w.size() >= 2 && !number) out.push_back(QueryWord{i, j, std::move(w)});
        i = j;
    }
    return out;
}

// websearch_to_tsquery's output per query text (a pure function of the text and the english
// configuration), kept for the process's life, at most 20 000 texts.
class TsqueryCache {
public:
    std::optional<std::string> get(const std::string& q) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(q);
        if (it == entries_.end()) return std::nullopt;
        return it->second;
    }
    void put(const std::string& q, std::string tsquery) {
        std::lock_guard lock(mutex_);
        if (entries_.size() >= 20'000) entries_.clear();
        entries_.insert_or_assign(q, std::move(tsquery));
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::string> entries_;
};

TsqueryCache& tsqueries() {
    static TsqueryCache cache;
    return cache;
}

// The query compiled for the rank index, or null when the index cannot evaluate it (no words
// loaded, or phrase operators): the database then checks the text.
asio::awaitable<std::shared_ptr<const TextQuery>> compile_text(
    CatalogStore& store,     // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const RankIndex& index,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string q) {
    if (!index.has_text()) co_return nullptr;
    auto text = tsqueries().get(q);
    if (!text) {
        text = co_await store.tsquery_text(q);
        tsqueries().put(q, *text);
    }
    co_return index.compile_text(*text);
}

// With the text evaluated in process: rank by walking the ranking (a few dozen nanoseconds a
// candidate), or, when the text is rare and nothing else narrows the walk, list its matches from
// the database's full-text index and rank those.
asio::awaitable<std::optional<RankError>> rank_text_in_process(
    CatalogStore& store,     // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const RankIndex& index,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    RankRequest request,
    std::string q,
    std::size_t enumerate_limit,
    RankScan& scan) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    // With the words' postings the index walks the text's matches in rank order: no listing.
    if (index.has_postings()) co_return index.rank(request, scan);
    const double fraction = index.estimate_fraction(request.filters);
    request.fraction = fraction;
    const auto n = static_cast<double>(index.size());
    const double matches = fraction * n;
    const double walk_us = 0.08 * std::min(n, static_cast<double>(request.want) / std::max(fraction, 1.0 / 8192.0));
    const double list_us = 300.0 + 1.5 * matches;
    if (list_us < walk_us && matches <= static_cast<double>(enumerate_limit) / 2.0) {
        auto predicate = request.filters.text_predicate;
        auto ids = co_await store.text_matches(q, predicate, static_cast<std::int64_t>(enumerate_limit) + 1);
        if (ids.size() <= enumerate_limit) {
            request.only_ids = std::move(ids);
            co_return index.rank(request, scan);
        }
    }
    co_return index.rank(request, scan);
}

core::Error cursor_error(std::string message) {
    return core::make_error(core::Errc::kBadRequest, std::move(message), {{"cursor", "is invalid"}});
}

}  // namespace

asio::awaitable<std::shared_ptr<const std::vector<Category>>> CatalogService::categories(bool refresh) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(categories_mutex_);
        if (!refresh && categories_ && now - categories_loaded_ < kCategoriesTtl) co_return categories_;
    }
    auto all = std::make_shared<const std::vector<Category>>(co_await store_.list_categories());
    auto by_id = std::make_shared<std::vector<Category>>(*all);
    std::sort(by_id->begin(), by_id->end(), [](const Category& a, const Category& b) { return a.id < b.id; });
    {
        std::lock_guard lock(categories_mutex_);
        categories_ = all;
        categories_by_id_ = std::move(by_id);
        categories_loaded_ = now;
    }
    co_return all;
}

std::shared_ptr<const std::vector<Category>> CatalogService::categories_by_id() {
    std::lock_guard lock(categories_mutex_);
    if (!categories_by_id_) return std::make_shared<const std::vector<Category>>();
    return categories_by_id_;
}

asio::awaitable<core::Result<ProductPage>> CatalogService::list_products(ListQuery query, db::Lsn after) {
    if (query.q && query.q->empty()) query.q.reset();
    std::vector<core::FieldError> errors;
    if (query.sort == ListSort::kRelevance && !query.q) errors.push_back({"sort", "relevance requires q"});
    if (query.limit < 1 || query.limit > kMaxPageSize) errors.push_back({"limit", "must be 1 to 100"});
    if (query.min_price && query.max_price && *query.min_price > *query.max_price)
        errors.push_back({"min_price", "must not exceed max_price"});
    if (query.q && query.q->size() > kMaxQueryLength) errors.push_back({"q", "must be at most 200 characters"});
    if (!errors.empty()) {
        co_return core::make_error(
            core::Errc::kValidation, "the request has invalid query parameters", errors);
    }
    std::optional<ListCursor> cursor;
    if (query.cursor) {
        cursor = decode_cursor(*query.cursor);
        if (!cursor) co_return cursor_error("the cursor is invalid");
        if (cursor->sort != query.sort || cursor->filter_hash != filter_hash(query)) {
            co_return core::make_error(core::Errc::kBadRequest,
                                       "the cursor belongs to a listing with another sort or other filters",
                                       {{"cursor", "does not match sort and filters"}});
        }
        if (cursor->snapshot && !feed_) {
            co_return cursor_error("the cursor belongs to another ranking mode (RANKING_MODE); start from the first page");
        }
    }
    std::optional<std::int64_t> generation;
    if (cache_.enabled()) generation = co_await cache_.generation();
    if (!generation) {
        auto reads = store_.on_replica(after);
        co_return co_await load_page(std::move(query), std::move(cursor), std::move(reads));
    }
    const auto hash = fnv1a_hex(filter_hash(query) + "|" + std::string(sort_name(query.sort)) + "|" +
                                std::to_string(query.limit) + "|" + query.cursor.value_or("") + "|" +
                                (query.explain ? "e" : "") + (query.facet_categories ? "c" : "") +
                                (query.facet_prices ? "p" : ""));
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
    // A page read for the cache (kLoad) comes from a replica only once it has replayed the last
    // invalidating write.
    db::Lsn reads_after = after;
    if (look.kind == CacheLookup::Kind::kLoad) reads_after = co_await fill_after(after);
    auto reads = store_.on_replica(reads_after);
    auto page = co_await load_page(std::move(query), std::move(cursor), std::move(reads));
    if (look.kind == CacheLookup::Kind::kLoad) {
        std::optional<std::string> value;
        if (page) value = to_json_text(*page);
        co_await cache_.fill(key, stale_key, std::move(value), cache_.settings().list_ttl, look.lock_token);
    }
    co_return page;
}

asio::awaitable<bool> CatalogService::text_has_matches(std::string q, CatalogStore reads) {
    // A match among the rank index's sample settles it without the database. Otherwise the text is
    // rare or matches nothing, and the full-text index answers at once, provided the planner reads
    // it: asked for one row, PostgreSQL expects a match early in a sequential scan and, when there
    // is none, reads the whole table (half a second at a million products). Asking for a few
    // hundred keeps it on the index (a short posting list's bitmap).
    if (feed_ != nullptr && feed_->ready()) {
        co_await feed_->refresh();  // as of this request, like the listing that follows
        const auto& index = feed_->index();
        if (auto compiled = co_await compile_text(reads, index, q)) {
            RankFilters filters;
            filters.text = std::move(compiled);
            if (auto found = index.has_match(filters)) co_return *found;  // exact, from the postings
            if (index.sample_has_match(filters)) co_return true;
        }
    }
    co_return !(co_await reads.text_matches(std::move(q), TextPredicate::kAnywhere, kMatchProbeRows)).empty();
}

asio::awaitable<std::optional<std::string>> CatalogService::corrected_query(std::string q,
                                                                            CatalogStore reads) {
    if (co_await text_has_matches(q, std::move(reads))) co_return std::nullopt;
    auto words = query_words(q);
    std::vector<std::string> asked;
    for (const auto& w : words) {
        if (std::find(asked.begin(), asked.end(), w.word) == asked.end()) asked.push_back(w.word);
    }
    std::vector<CatalogStore::WordCorrection> corrections;
    std::vector<std::string> unknown;
    for (auto& w : asked) {
        if (auto c = corrections_->get(w)) {
            corrections.push_back(std::move(*c));
        } else {
            unknown.push_back(std::move(w));
        }
    }
    if (!unknown.empty()) {
        // The flight's key: this service (tests run several in one process) and the words.
        std::string key = std::to_string(reinterpret_cast<std::uintptr_t>(this));
        for (const auto& w : unknown) key += " " + w;
        for (auto& c : co_await correct_once(store_, std::move(key), std::move(unknown))) {
            corrections_->put(c);
            corrections.push_back(std::move(c));
        }
    }
    std::unordered_map<std::string, std::string> replace;
    for (auto& c : corrections) {
        if (!c.known && c.nearest && *c.nearest != c.word) replace.emplace(c.word, std::move(*c.nearest));
    }
    if (replace.empty()) co_return std::nullopt;
    std::string out;
    std::size_t at = 0;
    for (const auto& w : words) {
        auto it = replace.find(w.word);
        if (it == replace.end()) continue;
        out.append(q, at, w.begin - at);
        out += it->second;
        at = w.end;
    }
    out.append(q, at, std::string::npos);
    co_return out;
}

asio::awaitable<core::Result<ProductPage>> CatalogService::load_page(ListQuery query,
                                                                     std::optional<ListCursor> cursor,
                                                                     CatalogStore reads) {
    Resolved resolved;
    if (query.category) {
        auto all = co_await categories();
        auto ids = subtree_of(*all, *query.category);
        if (!ids) {
            all = co_await categories(true);  // created since the cached copy?
            ids = subtree_of(*all, *query.category);
        }
        if (!ids) co_return core::make_error(core::Errc::kNotFound, "no such category");
        resolved.category_ids = std::move(ids);
    }
    // The text searched: as given, or as corrected for typos when it matches nothing (page 1
    // decides; later pages take it from the cursor).
    if (query.q) {
        if (cursor) {
            resolved.text = cursor->corrected.value_or(*query.q);
            resolved.corrected = cursor->corrected.has_value();
        } else if (auto corrected = co_await corrected_query(*query.q, reads)) {
            resolved.text = std::move(*corrected);
            resolved.corrected = true;
        } else {
            resolved.text = *query.q;
        }
    }
    // sort=rank and relevance are served by the rank index once it is loaded; a cursor keeps the
    // path its first page took (its snapshot says which).
    const bool ranked = query.sort == ListSort::kRank || query.sort == ListSort::kRelevance;
    const bool by_index = ranked && feed_ != nullptr && (cursor ? cursor->snapshot.has_value() : feed_->ready());
    ProductPage page;
    if (by_index) {
        auto ranked_page = co_await rank_page(query, cursor, resolved, reads);
        if (!ranked_page) co_return ranked_page.error();
        page = std::move(*ranked_page);
    } else {
        page = co_await reference_page(query, cursor, resolved, reads);
    }
    if (query.facet_categories || query.facet_prices) page.facets = co_await facets(query, resolved, reads);
    page.explain = query.explain;
    co_return page;
}

asio::awaitable<core::Result<ProductPage>> CatalogService::rank_page(const ListQuery& query,
                                                                     const std::optional<ListCursor>& cursor,
                                                                     const Resolved& resolved,
                                                                     CatalogStore& reads) {
    if (!feed_->ready()) {
        co_return core::make_error(core::Errc::kUnavailable, "the rank index is loading; try again shortly");
    }
    co_await feed_->refresh();
    const auto& index = feed_->index();
    RankRequest request;
    request.filters = rank_filters(query, resolved.category_ids);
    request.want = static_cast<std::size_t>(query.limit) + 1;
    std::int64_t first_tier = 0;
    if (cursor) {
        if (query.q.has_value() != (cursor->mode != TextMode::kNone)) co_return cursor_error("the cursor is invalid");
        request.as_of = PgSnapshot::parse(*cursor->snapshot);
        request.max_purchase = cursor->max_purchase;
        request.now_micros = cursor->now_micros;
        request.after = RankKey{cursor->score_key, cursor->id};
        first_tier = cursor->tier;
    }
    // sort=relevance: the products whose name alone matches (tier 0), then the others (tier 1),
    // each by rank. sort=rank: every match by rank (one pass).
    struct Ranked {
        RankedId item;
        std::int64_t tier;
    };
    std::vector<Ranked> ranked;
    std::optional<RankError> error;
    RankScan scan;
    bool first_pass = true;
    const bool tiers = query.sort == ListSort::kRelevance;
    std::shared_ptr<const TextQuery> compiled;
    if (resolved.text) compiled = co_await compile_text(reads, index, *resolved.text);
    for (std::int64_t tier = first_tier; tier <= (tiers ? 1 : 0) && ranked.size() < request.want && !error; ++tier) {
        RankRequest pass = request;
        pass.want = request.want - ranked.size();
        if (tier != first_tier) pass.after.reset();
        if (!first_pass) {
            // Every pass ranks as of the first pass's snapshot, max and clock.
            pass.as_of = scan.snapshot();
            pass.max_purchase = scan.max_purchase();
            pass.now_micros = scan.now_micros();
        }
        first_pass = false;
        scan = RankScan{};
        if (resolved.text) {
            const auto predicate = !tiers ? TextPredicate::kAnywhere : tier == 0 ? TextPredicate::kName : TextPredicate::kElsewhere;
            if (compiled) {
                pass.filters.text = compiled;
                pass.filters.text_predicate = predicate;
                error = co_await rank_text_in_process(
                    reads, index, pass, *resolved.text, settings_.text_enumerate_limit, scan);
            } else {
                error = co_await rank_text(
                    reads, index, pass, *resolved.text, predicate, settings_.text_enumerate_limit, scan);
            }
        } else {
            error = index.rank(pass, scan);
        }
        if (!error) {
            for (const auto& r : scan.results()) ranked.push_back(Ranked{r, tier});
        }
    }
    if (error) {
        switch (*error) {
            case RankError::kSnapshotExpired:
                co_return cursor_error("the cursor has expired (a listing can be paged for " +
                                       std::to_string(feed_->history_micros() / 60'000'000 - 5) +
                                       " minutes); start from the first page");
            case RankError::kBehind:
                co_return cursor_error("the cursor is invalid");
            case RankError::kNotLoaded:
                co_return core::make_error(core::Errc::kUnavailable, "the rank index is loading; try again shortly");
        }
    }
    ProductPage page;
    const auto shown = std::min(ranked.size(), static_cast<std::size_t>(query.limit));
    std::vector<std::int64_t> ids;
    ids.reserve(shown);
    for (std::size_t i = 0; i < shown; ++i) ids.push_back(ranked[i].item.id);
    auto rows = co_await reads.find_visible_products(ids);
    co_await name_categories(rows);
    std::unordered_map<std::int64_t, Product*> by_id;
    for (auto& p : rows) by_id.emplace(p.id, &p);
    for (std::size_t i = 0; i < shown; ++i) {
        auto it = by_id.find(ranked[i].item.id);
        if (it == by_id.end()) continue;  // withdrawn since the listing's snapshot
        const auto& in = ranked[i].item.inputs;
        const double age_days = static_cast<double>(scan.now_micros() - in.created_micros) / 1e6 / 86400.0;
        ListedProduct lp{std::move(*it->second),
                         ranking_score(in.purchase_count, scan.max_purchase(), in.rating_sum, in.rating_count, age_days)};
        if (tiers) lp.score.text_rank = ranked[i].tier == 0 ? 1.0 : 0.0;
        page.items.push_back(std::move(lp));
    }
    if (ranked.size() > shown) {
        ListCursor c;
        c.sort = query.sort;
        c.mode = query.q ? TextMode::kFullText : TextMode::kNone;
        c.filter_hash = filter_hash(query);
        c.score_key = ranked[shown - 1].item.score;
        c.id = ranked[shown - 1].item.id;
        c.tier = ranked[shown - 1].tier;
        c.max_purchase = scan.max_purchase();
        c.now_micros = scan.now_micros();
        c.snapshot = scan.snapshot().text();
        if (resolved.corrected) c.corrected = resolved.text;
        page.next_cursor = encode_cursor(c);
    }
    co_return page;
}

asio::awaitable<ProductPage> CatalogService::reference_page(const ListQuery& query,
                                                            const std::optional<ListCursor>& cursor,
                                                            const Resolved& resolved,
                                                            CatalogStore& reads) {
    ListSpec spec;
    spec.q = resolved.text;
    spec.mode = resolved.text ? TextMode::kFullText : TextMode::kNone;
    spec.min_price = query.min_price;
    spec.max_price = query.max_price;
    spec.in_stock = query.in_stock;
    spec.sort = query.sort;
    spec.limit = query.limit + 1;
    spec.category_ids = resolved.category_ids;
    if (cursor) {
        spec.max_purchase = cursor->max_purchase;
        spec.now = Timestamp(std::chrono::microseconds(cursor->now_micros));
        spec.after = cursor;
    } else {
        spec.max_purchase = co_await reads.max_purchase_count();
        spec.now = std::chrono::floor<std::chrono::microseconds>(std::chrono::system_clock::now());
    }
    auto rows = co_await reads.list_products(spec);
    ProductPage page;
    if (static_cast<std::int64_t>(rows.size()) > query.limit) {
        rows.resize(static_cast<std::size_t>(query.limit));
        auto next = *cursor_for(spec, query, rows.back());
        if (resolved.corrected) next.corrected = resolved.text;
        page.next_cursor = encode_cursor(next);
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

asio::awaitable<Facets> CatalogService::facets(const ListQuery& query,
                                               const Resolved& resolved,
                                               CatalogStore& reads) {
    const auto filters = rank_filters(query, resolved.category_ids);
    const auto limit = settings_.facets_exact_limit;
    FacetCounts counts;
    constexpr auto kAnywhere = TextPredicate::kAnywhere;
    if (feed_ && feed_->ready()) {
        co_await feed_->refresh();
        const auto& index = feed_->index();
        std::shared_ptr<const TextQuery> compiled;
        if (resolved.text) compiled = co_await compile_text(reads, index, *resolved.text);
        if (!resolved.text) {
            counts = index.facets(filters, nullptr, limit);
        } else if (compiled && index.has_postings()) {
            // The text's matches from the postings: counted there (exact, or from an even spread
            // of them when there are many).
            auto with_text = filters;
            with_text.text = std::move(compiled);
            counts = index.facets(with_text, nullptr, limit);
        } else if (compiled) {
            // The text evaluated in process: exact by listing the matches when they are few,
            // else from the smallest candidate list or the sample (the index decides).
            auto with_text = filters;
            with_text.text = compiled;
            const double matches = index.estimate_fraction(with_text) * static_cast<double>(index.size());
            std::optional<std::vector<std::int64_t>> exact;
            if (matches <= 4.0 * static_cast<double>(limit)) {
                auto ids = co_await reads.text_matches(
                    *resolved.text, kAnywhere, static_cast<std::int64_t>(8 * limit) + 1);
                if (ids.size() <= 8 * limit) exact = std::move(ids);
            }
            counts = exact ? index.facets(with_text, &*exact, limit) : index.facets(with_text, nullptr, limit);
        } else {
            const auto& text = *resolved.text;
            auto estimate = co_await estimate_text(reads, index, text, kAnywhere, 4000);
            // Exact when one side is small: the text matches, or the products the filters leave.
            std::optional<std::vector<std::int64_t>> exact;
            if (estimate.matches <= 4.0 * static_cast<double>(limit)) {
                auto ids =
                    co_await reads.text_matches(text, kAnywhere, static_cast<std::int64_t>(8 * limit) + 1);
                if (ids.size() <= 8 * limit) exact = std::move(ids);
            }
            if (!exact) {
                if (auto candidates = index.candidates(filters, 8 * limit)) {
                    exact = co_await reads.text_matches_among(text, kAnywhere, std::move(*candidates));
                }
            }
            counts = exact ? index.facets(filters, &*exact, limit)
                           : index.facets_from_sample(filters, estimate.hits, estimate.sample.size());
        }
    } else {
        // No rank index in this process: the exact count by the database.
        ListSpec spec;
        spec.q = resolved.text;
        spec.mode = resolved.text ? TextMode::kFullText : TextMode::kNone;
        spec.category_ids = resolved.category_ids;
        spec.min_price = query.min_price;
        spec.max_price = query.max_price;
        spec.in_stock = query.in_stock;
        auto rows = co_await reads.facet_counts(spec);
        std::unordered_map<std::int64_t, std::int64_t> by_category;
        std::vector<std::int64_t> bands(facet_price_bands().size(), 0);
        for (const auto& r : rows) {
            by_category[r.category_id] += r.count;
            if (r.band < bands.size()) bands[r.band] += r.count;
            counts.total += r.count;
        }
        for (const auto& [c, n] : by_category) counts.categories.push_back(FacetCategory{c, n});
        std::sort(counts.categories.begin(), counts.categories.end(), [](const FacetCategory& a, const FacetCategory& b) {
            return a.count > b.count || (a.count == b.count && a.category_id < b.category_id);
        });
        const auto& edges = facet_price_bands();
        for (std::size_t i = 0; i < edges.size(); ++i) {
            FacetBand band{edges[i], std::nullopt, bands[i]};
            if (i + 1 < edges.size()) band.max_cents = edges[i + 1];
            counts.price.push_back(band);
        }
    }
    Facets out{counts.total, counts.approximate, std::nullopt, std::nullopt};
    if (query.facet_categories) {
        auto all = co_await categories();
        std::unordered_map<std::int64_t, const Category*> named;
        for (const auto& c : *all) named.emplace(c.id, &c);
        auto& items = out.category.emplace();
        for (const auto& c : counts.categories) {
            if (c.count <= 0) continue;
            CategoryFacet item;
            if (c.category_id != 0) item.id = c.category_id;
            item.count = c.count;
            if (auto it = named.find(c.category_id); it != named.end()) {
                item.slug = it->second->slug;
                item.name = it->second->name;
            }
            items.push_back(std::move(item));
        }
    }
    if (query.facet_prices) {
        auto& bands = out.price.emplace();
        for (const auto& b : counts.price) {
            PriceFacet band{b.min_cents, std::nullopt, b.count};
            if (b.max_cents) band.max_cents = *b.max_cents - 1;
            bands.push_back(band);
        }
    }
    co_return out;
}

}  // namespace emporium::catalog
