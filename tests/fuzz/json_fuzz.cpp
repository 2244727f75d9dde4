// Every endpoint's JSON body validator. The first input byte picks the validator, the rest is the
// request body, read by http::parse_json_object exactly as the handlers read it. Invariants: a
// body the validator accepts, rebuilt from the validated value, is accepted again with the same
// value; a rejected body always names at least one field.

#include "auth/auth_routes.hpp"
#include "catalog/catalog_routes.hpp"
#include "http/json_body.hpp"
#include "orders/orders_types.hpp"
#include "payments/payments_types.hpp"
#include "payments/webhook_signature.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
using namespace emporium;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

// A validation failure must explain itself field by field.
template <typename T>
void check_rejection(const core::Result<T>& r) {
    if (!r) {
        check(r.error().code == core::Errc::kValidation, "validators fail with kValidation");
        check(!r.error().details.empty(), "a validation error names its fields");
    }
}

// JSON equality, except that doubles may differ in the last bits: Boost.JSON 1.81 parses numbers
// fast rather than exactly, so a serialised double can read back one ulp away.
bool same_json(const json::value& a, const json::value& b) {  // NOLINT(misc-no-recursion): depth <= 32
    if (a.is_double() && b.is_double()) {
        const double x = a.get_double();
        const double y = b.get_double();
        return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
    }
    if (a.kind() != b.kind()) return false;
    if (a.is_object()) {
        const auto& ao = a.get_object();
        const auto& bo = b.get_object();
        if (ao.size() != bo.size()) return false;
        for (const auto& member : ao) {
            const auto* other = bo.if_contains(member.key());
            if (other == nullptr || !same_json(member.value(), *other)) return false;
        }
        return true;
    }
    if (a.is_array()) {
        const auto& aa = a.get_array();
        const auto& ba = b.get_array();
        if (aa.size() != ba.size()) return false;
        for (std::size_t i = 0; i < aa.size(); ++i)
            if (!same_json(aa[i], ba[i])) return false;
        return true;
    }
    return a == b;
}

template <typename T>
void put_optional(json::object& o, std::string_view key, const std::optional<T>& v) {
    if (v) o[key] = *v;
}

void fuzz_register(const json::object& body) {
    auto r = auth::parse_register_body(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"email", r->email}, {"password", r->password}, {"name", r->name}};
    auto r2 = auth::parse_register_body(again);
    check(r2 && r2->email == r->email && r2->password == r->password && r2->name == r->name,
          "register round trip");
}

void fuzz_login(const json::object& body) {
    auto r = auth::parse_login_body(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"email", r->email}, {"password", r->password}};
    auto r2 = auth::parse_login_body(again);
    check(r2 && r2->email == r->email && r2->password == r->password, "login round trip");
}

void fuzz_refresh(const json::object& body) {
    auto r = auth::parse_refresh_body(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"refresh_token", *r}};
    auto r2 = auth::parse_refresh_body(again);
    check(r2 && *r2 == *r, "refresh round trip");
}

void fuzz_category(const json::object& body) {
    auto r = catalog::parse_new_category(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"slug", r->slug}, {"name", r->name}};
    put_optional(again, "parent_id", r->parent_id);
    auto r2 = catalog::parse_new_category(again);
    check(r2 && r2->slug == r->slug && r2->name == r->name && r2->parent_id == r->parent_id,
          "category round trip");
}

void fuzz_product(const json::object& body) {
    auto r = catalog::parse_new_product(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"sku", r->sku},
                       {"name", r->name},
                       {"description", r->description},
                       {"price_cents", r->price_cents},
                       {"currency", r->currency},
                       {"stock", r->stock},
                       {"is_active", r->is_active}};
    put_optional(again, "category_id", r->category_id);
    auto r2 = catalog::parse_new_product(again);
    check(r2 && r2->sku == r->sku && r2->name == r->name && r2->description == r->description &&
              r2->category_id == r->category_id && r2->price_cents == r->price_cents &&
              r2->currency == r->currency && r2->stock == r->stock && r2->is_active == r->is_active,
          "product round trip");
}

// The If-Match header comes from the body's "if_match" member when it is a string (it is not a
// known field, so the body is then rejected too: both paths get exercised).
void fuzz_patch(const json::object& body) {
    std::optional<std::string_view> if_match;
    if (const auto* v = body.if_contains("if_match"); v != nullptr && v->is_string())
        if_match = v->get_string();
    auto r = catalog::parse_product_patch(body, if_match);
    check_rejection(r);
    json::object stripped = body;
    stripped.erase("if_match");
    auto plain = catalog::parse_product_patch(stripped, if_match);
    check_rejection(plain);
    if (!plain) return;
    check(plain->expected_version >= 0, "version is never negative");
    json::object again;
    put_optional(again, "name", plain->name);
    put_optional(again, "description", plain->description);
    put_optional(again, "category_id", plain->category_id);
    put_optional(again, "price_cents", plain->price_cents);
    put_optional(again, "currency", plain->currency);
    put_optional(again, "stock", plain->stock);
    put_optional(again, "is_active", plain->is_active);
    if (plain->expected_version > 0) again["version"] = plain->expected_version;
    auto r2 = catalog::parse_product_patch(again, std::nullopt);
    check(r2 && r2->name == plain->name && r2->description == plain->description &&
              r2->category_id == plain->category_id && r2->price_cents == plain->price_cents &&
              r2->currency == plain->currency && r2->stock == plain->stock &&
              r2->is_active == plain->is_active && r2->expected_version == plain->expected_version,
          "patch round trip");
}

void fuzz_review(const json::object& body) {
    auto r = catalog::parse_new_review(body);
    check_rejection(r);
    if (!r) return;
    check(r->rating >= 1 && r->rating <= 5, "rating in 1..5");
    json::object again{{"rating", r->rating}, {"title", r->title}, {"body", r->body}};
    auto r2 = catalog::parse_new_review(again);
    check(r2 && r2->rating == r->rating && r2->title == r->title && r2->body == r->body, "review round trip");
}

void fuzz_order(const json::object& body) {
    auto r = orders::parse_new_order(body);
    check_rejection(r);
    if (!r) return;
    check(!r->items.empty() && r->items.size() <= orders::kMaxLines, "1..50 lines");
    json::array items;
    for (const auto& line : r->items) {
        check(line.product_id || line.variant_id, "a line names a product or a variant");
        check(line.product_id.value_or(1) > 0 && line.variant_id.value_or(1) > 0, "ids are positive");
        check(line.quantity >= 1 && line.quantity <= orders::kMaxQuantity, "merged quantity in 1..100");
        for (const auto& other : r->items)
            check(&other == &line || other.product_id != line.product_id || other.variant_id != line.variant_id,
                  "lines are merged per product and variant");
        json::object item{{"quantity", line.quantity}};
        put_optional(item, "product_id", line.product_id);
        put_optional(item, "variant_id", line.variant_id);
        items.push_back(std::move(item));
    }
    json::object again{{"items", std::move(items)}, {"shipping_address", r->shipping_address}};
    auto r2 = orders::parse_new_order(again);
    check(r2 && r2->items.size() == r->items.size() && r2->shipping_address == r->shipping_address,
          "order round trip");
    for (std::size_t i = 0; i < r->items.size(); ++i)
        check(r2->items[i].product_id == r->items[i].product_id &&
                  r2->items[i].variant_id == r->items[i].variant_id &&
                  r2->items[i].quantity == r->items[i].quantity,
              "order lines round trip");
}

void fuzz_pay(const json::object& body) {
    auto r = payments::parse_pay_request(body);
    check_rejection(r);
    if (!r) return;
    json::object again{{"payment_method", *r}};
    auto r2 = payments::parse_pay_request(again);
    check(r2 && *r2 == *r, "pay round trip");
}

// The webhook signature header is checked against the raw body before anything else reads it:
// the input is "<header>\n<body>". A body signed by sign_webhook always verifies.
void fuzz_webhook(std::string_view input) {
    constexpr std::string_view kSecret = "whsec_fuzz";
    constexpr std::int64_t kNow = 1'700'000'000;
    const auto newline = input.find('\n');
    const auto header = input.substr(0, newline);
    const auto body = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
    auto r = payments::verify_webhook(header, body, kSecret, std::chrono::seconds(300), kNow);
    if (r) check(*r >= kNow - 300 && *r <= kNow + 300, "an accepted timestamp is within the tolerance");
    auto signed_header = payments::sign_webhook(kSecret, kNow, body);
    auto ok = payments::verify_webhook(signed_header, body, kSecret, std::chrono::seconds(300), kNow);
    check(ok && *ok == kNow, "a signed body verifies");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The selector is a digit in the seed corpora: '0' picks the first case.
    const auto selector = static_cast<unsigned>(static_cast<std::uint8_t>(data[0] - '0'));
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);  // NOLINT: bytes
    constexpr int kValidators = 10;
    if (selector % kValidators == 9) {
        fuzz_webhook(rest);
        return 0;
    }
    http::Request request;
    request.body() = std::string(rest);
    auto body = http::parse_json_object(request);
    if (!body) {
        check(body.error().code == core::Errc::kBadRequest, "unparsable bodies are 400");
        return 0;
    }
    // What the parser accepted serialises and parses back to the same object.
    boost::system::error_code ec;
    auto reparsed = json::parse(json::serialize(*body), ec);
    check(!ec && reparsed.is_object() && same_json(reparsed, json::value(*body)), "JSON round trip");
    switch (selector % kValidators) {
        case 0:
            fuzz_register(*body);
            break;
        case 1:
            fuzz_login(*body);
            break;
        case 2:
            fuzz_refresh(*body);
            break;
        case 3:
            fuzz_category(*body);
            break;
        case 4:
            fuzz_product(*body);
            break;
        case 5:
            fuzz_patch(*body);
            break;
        case 6:
            fuzz_review(*body);
            break;
        case 7:
            fuzz_order(*body);
            break;
        default:
            fuzz_pay(*body);
            break;
    }
    return 0;
}
