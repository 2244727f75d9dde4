#include "catalog/catalog_types.hpp"

#include "core/codec.hpp"
#include "core/json_text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value_to.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace emporium::catalog {

namespace json = boost::json;

std::string_view sort_name(ListSort sort) noexcept {
    switch (sort) {
        case ListSort::kRank:
            return "rank";
        case ListSort::kRelevance:
            return "relevance";
        case ListSort::kPriceAsc:
            return "price_asc";
        case ListSort::kPriceDesc:
            return "price_desc";
        case ListSort::kNewest:
            return "newest";
    }
    return "rank";
}

std::optional<ListSort> parse_sort(std::string_view name) noexcept {
    for (auto s : {ListSort::kRank,
                   ListSort::kRelevance,
                   ListSort::kPriceAsc,
                   ListSort::kPriceDesc,
                   ListSort::kNewest}) {
        if (sort_name(s) == name) return s;
    }
    return std::nullopt;
}

ScoreParts ranking_score(std::int64_t purchase_count,
                         std::int64_t max_purchase,
                         std::int64_t rating_sum,
                         std::int64_t rating_count,
                         double age_days) {
    ScoreParts s;
    if (max_purchase > 0) {
        s.popularity = std::min(1.0, static_cast<double>(purchase_count) / static_cast<double>(max_purchase));
    }
    if (rating_count > 0) {
        s.rating = static_cast<double>(rating_sum) / static_cast<double>(rating_count) / 5.0;
    }
    s.freshness = std::max(0.0, 1.0 - std::max(0.0, age_days) / 30.0);
    s.score = 0.5 * s.popularity + 0.3 * s.rating + 0.2 * s.freshness;
    return s;
}

bool is_storable_time(std::int64_t micros) noexcept {
    // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
    constexpr std::int64_t kFirst = -62'135'596'800'000'000;
    constexpr std::int64_t kLast = 253'402'300'799'999'999;
    return micros >= kFirst && micros <= kLast;
}

std::string format_double(double v) {
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return {buf.data(), end};
}

namespace {

// The detail's members of a cached product JSON (absent in listings).
struct DetailParts {
    std::optional<PriceRange> price_range;
    std::optional<std::vector<ProductOption>> options;
    std::optional<std::vector<VariantSummary>> variants;
    static constexpr bool kAllowUnknown = true;
};
BOOST_DESCRIBE_STRUCT(DetailParts, (), (price_range, options, variants))

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

double number_of(const json::value& v) {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return 0;
}

}  // namespace

std::string base64url_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char ch : raw) {
        acc = (acc << 8U) | static_cast<unsigned char>(ch);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += kAlphabet[(acc >> static_cast<unsigned>(bits)) & 0x3FU];
        }
    }
    if (bits > 0) out += kAlphabet[(acc << static_cast<unsigned>(6 - bits)) & 0x3FU];
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 == 1) return false;
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const auto pos = kAlphabet.find(c);
        if (pos == std::string_view::npos) return false;
        acc = (acc << 6U) | static_cast<std::uint32_t>(pos);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return true;
}

ProductView view_of(const Product& p) {
    ProductView v;
    v.id = p.id;
    v.sku = p.sku;
    v.name = p.name;
    v.description = p.description;
    v.price = Price{p.price_cents, p.currency};
    v.stock = p.stock;
    v.in_stock = p.stock > 0;
    v.is_active = p.is_active;
    v.purchase_count = p.purchase_count;
    v.created_at = p.created_at;
    v.version = p.version;
    v.category = p.category;
    v.rating.count = p.rating_count;
    v.rating.sum = p.rating_sum;
    v.rating.average =
        p.rating_count > 0 ? static_cast<double>(p.rating_sum) / static_cast<double>(p.rating_count) : 0.0;
    v.price_range = p.price_range;
    v.options = p.options;
    v.variants = p.variants;
    return v;
}

ProductPageView view_of(const ProductPage& page) {
    ProductPageView out;
    out.items.reserve(page.items.size());
    for (const auto& item : page.items) {
        ListedProductView v;
        static_cast<ProductView&>(v) = view_of(item.product);
        if (page.explain) {
            const auto& s = item.score;
            v.score = Score{s.popularity, s.rating, s.freshness, s.score, s.text_rank};
        }
        out.items.push_back(std::move(v));
    }
    if (page.next_cursor) out.next_cursor = *page.next_cursor;
    out.facets = page.facets;
    return out;
}

std::string to_json_text(const Product& p) {
    std::string out;
    out.reserve(p.description.size() + p.name.size() + 400);
    core::codec::write(out, view_of(p));
    return out;
}

std::string to_json_text(const ProductPage& page) {
    std::string out;
    out.reserve(page.items.size() * 900 + 64);
    core::codec::write(out, view_of(page));
    return out;
}

json::value to_json(const Product& p) { return core::json_text::parse_value(to_json_text(p)); }

std::optional<Product> product_from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) return std::nullopt;
    try {
        Product p;
        p.id = o->at("id").to_number<std::int64_t>();
        p.sku = json::value_to<std::string>(o->at("sku"));
        p.name = json::value_to<std::string>(o->at("name"));
        p.description = json::value_to<std::string>(o->at("description"));
        const auto& price = o->at("price").as_object();
        p.price_cents = price.at("amount_cents").to_number<std::int64_t>();
        p.currency = json::value_to<std::string>(price.at("currency"));
        p.stock = o->at("stock").to_number<std::int64_t>();
        p.is_active = o->at("is_active").as_bool();
        p.is_deleted = o->contains("deleted");
        p.purchase_count = o->at("purchase_count").to_number<std::int64_t>();
        p.version = o->at("version").to_number<std::int64_t>();
        const auto& rating = o->at("rating").as_object();
        p.rating_count = rating.at("count").to_number<std::int64_t>();
        p.rating_sum = rating.at("sum").to_number<std::int64_t>();
        auto created = core::json_text::parse_iso8601(o->at("created_at").as_string());
        if (!created) return std::nullopt;
        p.created_at = *created;
        if (const auto* c = o->at("category").if_object()) {
            p.category = CategoryRef{c->at("id").to_number<std::int64_t>(),
                                     json::value_to<std::string>(c->at("slug")),
                                     json::value_to<std::string>(c->at("name"))};
        }
        if (o->contains("price_range") || o->contains("variants")) {
            auto parts = core::codec::decode<DetailParts>(v);
            if (!parts) return std::nullopt;
            p.price_range = std::move(parts->price_range);
            p.options = std::move(parts->options);
            p.variants = std::move(parts->variants);
        }
        return p;
    } catch (const std::exception&) {  // a malformed cache entry is treated as a miss
        return std::nullopt;
    }
}

std::optional<ProductPage> page_from_json(const json::value& v) {
    const auto* o = v.if_object();
    if (o == nullptr) return std::nullopt;
    const auto* items = o->if_contains("items");
    if (items == nullptr || !items->is_array()) return std::nullopt;
    ProductPage page;
    for (const auto& item : items->get_array()) {
        auto p = product_from_json(item);
        if (!p) return std::nullopt;
        ListedProduct lp{std::move(*p), {}};
        if (const auto* s = item.as_object().if_contains("score"); s != nullptr && s->is_object()) {
            page.explain = true;
            const auto& so = s->get_object();
            lp.score.popularity = number_of(so.at("popularity"));
            lp.score.rating = number_of(so.at("rating"));
            lp.score.freshness = number_of(so.at("freshness"));
            lp.score.score = number_of(so.at("total"));
            lp.score.text_rank = number_of(so.at("text_rank"));
        }
        page.items.push_back(std::move(lp));
    }
    if (const auto* c = o->if_contains("next_cursor"); c != nullptr && c->is_string()) {
        page.next_cursor = std::string(c->get_string());
    }
    if (const auto* f = o->if_contains("facets"); f != nullptr && f->is_object()) {
        auto facets = core::codec::decode<Facets>(*f);
        if (!facets) return std::nullopt;
        page.facets = std::move(*facets);
    }
    return page;
}

}  // namespace emporium::catalog
