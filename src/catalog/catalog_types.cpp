#include "catalog/catalog_types.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
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

std::string iso8601(Timestamp t) {
    const std::time_t secs =
        std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 32> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return {buf.data(), n};
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

std::optional<Timestamp> parse_iso8601(std::string_view text) {
    std::tm tm{};
    const std::string s(text);
    if (std::sscanf(s.c_str(),  // NOLINT(cert-err34-c): fixed, validated shape
                    "%4d-%2d-%2dT%2d:%2d:%2dZ",
                    &tm.tm_year,
                    &tm.tm_mon,
                    &tm.tm_mday,
                    &tm.tm_hour,
                    &tm.tm_min,
                    &tm.tm_sec) != 6) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t secs = timegm(&tm);
    return Timestamp(std::chrono::seconds(secs));
}

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

json::object score_json(const ScoreParts& s) {
    return json::object{{"popularity", s.popularity},
                        {"rating", s.rating},
                        {"freshness", s.freshness},
                        {"total", s.score},
                        {"text_rank", s.text_rank}};
}

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

json::value to_json(const Category& c) {
    json::object o{{"id", c.id}, {"slug", c.slug}, {"name", c.name}};
    o["parent_id"] = c.parent_id ? json::value(*c.parent_id) : json::value(nullptr);
    return o;
}

json::value to_json(const Product& p) {
    json::object o{{"id", p.id},
                   {"sku", p.sku},
                   {"name", p.name},
                   {"description", p.description},
                   {"price", json::object{{"amount_cents", p.price_cents}, {"currency", p.currency}}},
                   {"stock", p.stock},
                   {"in_stock", p.stock > 0},
                   {"is_active", p.is_active},
                   {"purchase_count", p.purchase_count},
                   {"created_at", iso8601(p.created_at)},
                   {"version", p.version}};
    if (p.category) {
        o["category"] =
            json::object{{"id", p.category->id}, {"slug", p.category->slug}, {"name", p.category->name}};
    } else {
        o["category"] = nullptr;
    }
    const double average =
        p.rating_count > 0 ? static_cast<double>(p.rating_sum) / static_cast<double>(p.rating_count) : 0.0;
    o["rating"] = json::object{{"average", average}, {"count", p.rating_count}, {"sum", p.rating_sum}};
    if (p.is_deleted) o["deleted"] = true;
    return o;
}

json::value to_json(const Review& r) {
    return json::object{{"id", r.id},
                        {"product_id", r.product_id},
                        {"user_id", r.user_id},
                        {"rating", r.rating},
                        {"title", r.title},
                        {"body", r.body},
                        {"verified_purchase", r.verified_purchase},
                        {"created_at", iso8601(r.created_at)}};
}

json::value to_json(const ProductPage& page) {
    json::array items;
    for (const auto& item : page.items) {
        auto v = to_json(item.product);
        if (page.explain) v.as_object()["score"] = score_json(item.score);
        items.push_back(std::move(v));
    }
    json::object o{{"items", std::move(items)}};
    o["next_cursor"] = page.next_cursor ? json::value(*page.next_cursor) : json::value(nullptr);
    if (page.facets) o["facets"] = *page.facets;
    return o;
}

namespace {

// A JSON string literal as Boost.JSON writes it: quotes, backslash and control characters escaped.
void append_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20U) {
                    out += "\\u00";
                    out += kHex[c >> 4U];
                    out += kHex[c & 0xFU];
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

void append_int(std::string& out, std::int64_t v) {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), end);
}

void append_double(std::string& out, double v) { out += json::serialize(json::value(v)); }

}  // namespace

void append_json(std::string& out, const Product& p) {
    out += "{\"id\":";
    append_int(out, p.id);
    out += ",\"sku\":";
    append_string(out, p.sku);
    out += ",\"name\":";
    append_string(out, p.name);
    out += ",\"description\":";
    append_string(out, p.description);
    out += ",\"price\":{\"amount_cents\":";
    append_int(out, p.price_cents);
    out += ",\"currency\":";
    append_string(out, p.currency);
    out += "},\"stock\":";
    append_int(out, p.stock);
    out += p.stock > 0 ? ",\"in_stock\":true" : ",\"in_stock\":false";
    out += p.is_active ? ",\"is_active\":true" : ",\"is_active\":false";
    out += ",\"purchase_count\":";
    append_int(out, p.purchase_count);
    out += ",\"created_at\":";
    append_string(out, iso8601(p.created_at));
    out += ",\"version\":";
    append_int(out, p.version);
    out += ",\"category\":";
    if (p.category) {
        out += "{\"id\":";
        append_int(out, p.category->id);
        out += ",\"slug\":";
        append_string(out, p.category->slug);
        out += ",\"name\":";
        append_string(out, p.category->name);
        out += '}';
    } else {
        out += "null";
    }
    const double average =
        p.rating_count > 0 ? static_cast<double>(p.rating_sum) / static_cast<double>(p.rating_count) : 0.0;
    out += ",\"rating\":{\"average\":";
    append_double(out, average);
    out += ",\"count\":";
    append_int(out, p.rating_count);
    out += ",\"sum\":";
    append_int(out, p.rating_sum);
    out += '}';
    if (p.is_deleted) out += ",\"deleted\":true";
    out += '}';
}

std::string serialize_page(const ProductPage& page) {
    std::string out = "{\"items\":[";
    out.reserve(page.items.size() * 900 + 64);
    bool first = true;
    for (const auto& item : page.items) {
        if (!first) out += ',';
        first = false;
        if (page.explain) {
            // Rare: with the score object, through the general serializer.
            auto v = to_json(item.product);
            v.as_object()["score"] = score_json(item.score);
            out += json::serialize(v);
        } else {
            append_json(out, item.product);
        }
    }
    out += "],\"next_cursor\":";
    if (page.next_cursor) {
        append_string(out, *page.next_cursor);
    } else {
        out += "null";
    }
    if (page.facets) {
        out += ",\"facets\":";
        out += json::serialize(*page.facets);
    }
    out += '}';
    return out;
}

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
        auto created = parse_iso8601(o->at("created_at").as_string());
        if (!created) return std::nullopt;
        p.created_at = *created;
        if (const auto* c = o->at("category").if_object()) {
            p.category = CategoryRef{c->at("id").to_number<std::int64_t>(),
                                     json::value_to<std::string>(c->at("slug")),
                                     json::value_to<std::string>(c->at("name"))};
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
    if (const auto* f = o->if_contains("facets"); f != nullptr && f->is_object()) page.facets = f->get_object();
    return page;
}

}  // namespace emporium::catalog
