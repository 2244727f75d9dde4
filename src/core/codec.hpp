#pragma once
// One declaration per API type: a struct described with Boost.Describe, its member rules in
// `kFields` (core/fields.hpp). From it this header derives
//   - decoding from a parsed JSON value, collecting every field error with its path
//     (`items/0/quantity`), and from text parameters (path and query strings);
//   - encoding straight to JSON text (core/json_text.hpp number formatting);
//   - the JSON Schema (OpenAPI 3.1) of the type, shared components by name.
// Boost.JSON parses the text; what it lacks for an API (constraints, all errors at once, schemas,
// JavaScript-like numbers, snake_case enum names) is written here.
//
// Supported member types: bool, integers, double, std::string, described enums (written as the
// enumerator's snake_case name without the k: kPriceAsc → "price_asc"), std::optional<T> (absent
// or null in a request; null in a response), std::vector<T>, described structs (nested objects),
// boost::json::object / boost::json::value (free-form), and timestamps (RFC 3339 strings).
//
// A described type may also declare, found by argument-dependent lookup:
//   void check_decoded(T& value, std::vector<core::FieldError>& errors);
// called after the object decoded without errors, for rules across members (paths relative to it).

#include "core/error.hpp"
#include "core/fields.hpp"
#include "core/json_text.hpp"

#include <boost/describe/bases.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/mp11/algorithm.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

namespace emporium::core::codec {

namespace json = boost::json;
using Timestamp = json_text::Timestamp;
using Errors = std::vector<FieldError>;
using Params = std::vector<std::pair<std::string, std::string>>;

template <class T>
concept Described = boost::describe::has_describe_members<T>::value;
template <class T>
concept DescribedEnum = boost::describe::has_describe_enumerators<T>::value;
template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

template <class T>
using Members = boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

namespace detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};
template <class T>
struct IsStringMap : std::false_type {};
template <class V, class C, class A>
struct IsStringMap<std::map<std::string, V, C, A>> : std::true_type {};
// std::optional<std::optional<T>>: a request member that may be absent (outer empty) or null (outer
// set, inner empty), e.g. a PATCH member whose null clears a value.
template <class T>
struct IsNullable : std::false_type {};
template <class T>
struct IsNullable<std::optional<std::optional<T>>> : std::true_type {};
template <class>
inline constexpr bool kAlwaysFalse = false;

std::string join(const std::string& prefix, std::string_view name);
// kPriceAsc → price_asc.
std::string snake_name(std::string_view enumerator);
std::size_t utf8_length(std::string_view s);
// Trims blanks (unless verbatim) and checks NUL, length and pattern of a request string.
bool check_string(std::string& value, const Field* rule, const std::string& path, Errors& errors);
std::string range_text(std::int64_t lo, std::int64_t hi);
std::vector<std::string_view> split_values(std::string_view alternatives);
void add_rule_keywords(json::object& schema, const Field* rule, std::string_view kind);
// The schema's component name of a C++ type: its unqualified name.
std::string type_name(const std::type_info& type);

}  // namespace detail

// ---- rules ----

// Whether T's static member named by `get` (kSchemaName, kSchemaDescription) is its own, not a
// described base's: a derived type is a schema of its own. `get` maps a type tag to the member's
// address, or to nullptr when the type has none.
template <class T, class Get>
bool owns_static(Get get) {
    bool own = true;
    boost::mp11::mp_for_each<boost::describe::describe_bases<T, boost::describe::mod_any_access>>([&](auto b) {
        const auto* base = get(std::type_identity<typename decltype(b)::type>{});
        own = own && (base == nullptr || base != get(std::type_identity<T>{}));
    });
    return own;
}

inline constexpr auto kSchemaNameOf = []<class U>(std::type_identity<U>) -> const std::string_view* {
    if constexpr (requires { U::kSchemaName; }) {
        return &U::kSchemaName;
    } else {
        return nullptr;
    }
};
inline constexpr auto kSchemaDescriptionOf = []<class U>(std::type_identity<U>) -> const std::string_view* {
    if constexpr (requires { U::kSchemaDescription; }) {
        return &U::kSchemaDescription;
    } else {
        return nullptr;
    }
};

// The rule of member `name`: T's own, else a described base's.
template <class T>
const Field* rule_of(std::string_view name) {
    if constexpr (requires { T::kFields; }) {
        for (const auto& f : T::kFields)
            if (f.name == name) return &f;
    }
    const Field* found = nullptr;
    boost::mp11::mp_for_each<boost::describe::describe_bases<T, boost::describe::mod_any_access>>([&](auto b) {
        if (found == nullptr) found = rule_of<typename decltype(b)::type>(name);
    });
    return found;
}

// Every rule names a described member (a typo is a compile error, not a silently ignored rule).
template <class T>
consteval bool rules_name_members() {
    if constexpr (requires { T::kFields; }) {
        for (const auto& f : T::kFields) {
            bool found = false;
            boost::mp11::mp_for_each<Members<T>>([&](auto d) {
                if (std::string_view(d.name) == f.name) found = true;
            });
            if (!found) return false;
        }
    }
    return true;
}

template <class T>
constexpr bool allows_unknown() {
    if constexpr (requires { T::kAllowUnknown; }) {
        return T::kAllowUnknown;
    } else {
        return false;
    }
}

// ---- enums ----

template <DescribedEnum E>
const std::vector<std::pair<E, std::string>>& enum_names() {
    static const auto kNames = [] {
        std::vector<std::pair<E, std::string>> out;
        boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>(
            [&](auto d) { out.emplace_back(d.value, detail::snake_name(d.name)); });
        return out;
    }();
    return kNames;
}

template <DescribedEnum E>
std::string_view enum_name(E value) {
    for (const auto& [v, name] : enum_names<E>())
        if (v == value) return name;
    return {};
}

template <DescribedEnum E>
std::optional<E> enum_from(std::string_view name) {
    for (const auto& [v, n] : enum_names<E>())
        if (n == name) return v;
    return std::nullopt;
}

template <DescribedEnum E>
std::string enum_list() {
    std::string out;
    for (const auto& [v, name] : enum_names<E>()) out += (out.empty() ? "" : ", ") + name;
    return out;
}

// ---- decoding ----

template <class T>
void read(const json::value& v, T& out, const Field* rule, const std::string& path, Errors& errors);

template <Described T>
// NOLINTNEXTLINE(misc-no-recursion): nesting follows the declared types, which are not recursive
void read_object(const json::value& v, T& out, const std::string& path, Errors& errors) {
    static_assert(rules_name_members<T>(), "a kFields rule names no described member");
    const auto* object = v.if_object();
    if (object == nullptr) {
        errors.push_back({path, "must be an object"});
        return;
    }
    const auto before = errors.size();
    boost::mp11::mp_for_each<Members<T>>([&](auto d) {
        using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
        const Field* rule = rule_of<T>(d.name);
        const auto* member = object->if_contains(d.name);
        if (member == nullptr || (member->is_null() && !detail::IsNullable<M>::value)) {
            if (!detail::IsOptional<M>::value && (rule == nullptr || !rule->is_optional))
                errors.push_back({detail::join(path, d.name), "is required"});
            return;
        }
        read(*member, out.*d.pointer, rule, detail::join(path, d.name), errors);
    });
    if constexpr (!allows_unknown<T>()) {
        for (const auto& member : *object) {
            bool known = false;
            boost::mp11::mp_for_each<Members<T>>([&](auto d) { known = known || member.key() == d.name; });
            if (!known) errors.push_back({detail::join(path, member.key()), "is not a known field"});
        }
    }
    if constexpr (requires(T & t, Errors & e) { check_decoded(t, e); }) {
        if (errors.size() != before) return;
        Errors own;
        check_decoded(out, own);
        for (auto& e : own) errors.push_back({detail::join(path, e.field), std::move(e.message)});
    }
}

template <class T>
// NOLINTNEXTLINE(misc-no-recursion): see read_object
void read(const json::value& v, T& out, const Field* rule, const std::string& path, Errors& errors) {
    if constexpr (std::is_same_v<T, bool>) {
        if (!v.is_bool()) {
            errors.push_back({path, "must be true or false"});
            return;
        }
        out = v.get_bool();
    } else if constexpr (Integer<T>) {
        const std::int64_t lo = rule != nullptr && rule->minimum ? *rule->minimum : std::numeric_limits<T>::min();
        const std::int64_t hi = rule != nullptr && rule->maximum
                                    ? *rule->maximum
                                    : static_cast<std::int64_t>(std::min<std::uint64_t>(
                                          std::numeric_limits<T>::max(), std::numeric_limits<std::int64_t>::max()));
        std::optional<std::int64_t> n;
        if (v.is_int64()) {
            n = v.get_int64();
        } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(hi)) {
            n = static_cast<std::int64_t>(v.get_uint64());
        }
        if (!n) {
            errors.push_back({path, v.is_number() ? "must be an integer " + detail::range_text(lo, hi) : "must be an integer"});
            return;
        }
        if (*n < lo || *n > hi) {
            errors.push_back({path, "must be " + detail::range_text(lo, hi)});
            return;
        }
        out = static_cast<T>(*n);
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!v.is_number()) {
            errors.push_back({path, "must be a number"});
            return;
        }
        const double d = v.to_number<double>();
        if ((rule != nullptr && rule->minimum && d < static_cast<double>(*rule->minimum)) ||
            (rule != nullptr && rule->maximum && d > static_cast<double>(*rule->maximum))) {
            errors.push_back({path, "must be " + detail::range_text(rule->minimum.value_or(INT64_MIN), rule->maximum.value_or(INT64_MAX))});
            return;
        }
        out = static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!v.is_string()) {
            errors.push_back({path, "must be a string"});
            return;
        }
        std::string s(v.get_string());
        if (detail::check_string(s, rule, path, errors)) out = std::move(s);
    } else if constexpr (DescribedEnum<T>) {
        std::optional<T> e;
        if (v.is_string()) e = enum_from<T>(v.get_string());
        if (!e) {
            errors.push_back({path, "must be one of " + enum_list<T>()});
            return;
        }
        out = *e;
    } else if constexpr (detail::IsOptional<T>::value) {
        if (v.is_null()) {
            if constexpr (detail::IsOptional<typename T::value_type>::value) {
                out.emplace();  // present and null
            } else {
                out.reset();
            }
            return;
        }
        typename T::value_type inner{};
        const auto before = errors.size();
        read(v, inner, rule, path, errors);
        if (errors.size() == before) out = std::move(inner);
    } else if constexpr (detail::IsVector<T>::value) {
        const auto* array = v.if_array();
        if (array == nullptr) {
            errors.push_back({path, "must be an array"});
            return;
        }
        const std::size_t lo = rule != nullptr && rule->min_length ? *rule->min_length : 0;
        const std::size_t hi = rule != nullptr && rule->max_length ? *rule->max_length : SIZE_MAX;
        if (array->size() < lo || array->size() > hi) {
            errors.push_back({path, "must have " + detail::range_text(static_cast<std::int64_t>(lo), static_cast<std::int64_t>(std::min<std::size_t>(hi, INT64_MAX))) + " items"});
            return;
        }
        out.clear();
        out.resize(array->size());
        for (std::size_t i = 0; i < array->size(); ++i)
            read((*array)[i], out[i], nullptr, detail::join(path, std::to_string(i)), errors);
    } else if constexpr (std::is_same_v<T, json::object>) {
        const auto* object = v.if_object();
        if (object == nullptr) {
            errors.push_back({path, "must be an object"});
            return;
        }
        if (rule != nullptr && ((rule->min_length && object->size() < *rule->min_length) ||
                                (rule->max_length && object->size() > *rule->max_length))) {
            errors.push_back({path, "must have " + detail::range_text(static_cast<std::int64_t>(rule->min_length.value_or(0)), static_cast<std::int64_t>(rule->max_length.value_or(INT64_MAX))) + " members"});
            return;
        }
        out = *object;
    } else if constexpr (std::is_same_v<T, json::value>) {
        out = v;
    } else if constexpr (std::is_same_v<T, Timestamp>) {
        std::optional<Timestamp> t;
        if (v.is_string()) t = json_text::parse_iso8601(v.get_string());
        if (!t) {
            errors.push_back({path, "must be a date-time such as 2026-01-31T12:00:00Z"});
            return;
        }
        out = *t;
    } else if constexpr (Described<T>) {
        read_object(v, out, path, errors);
    } else {
        static_assert(detail::kAlwaysFalse<T>, "no JSON decoding for this type");
    }
}

// Decodes a request body; errors are a kValidation error listing every field.
template <Described T>
Result<T> decode(const json::value& v, std::string message = "the request has invalid fields") {
    T out{};
    Errors errors;
    read_object(v, out, "", errors);
    if (!errors.empty()) return make_error(Errc::kValidation, std::move(message), std::move(errors));
    return out;
}

// One text parameter (a path segment or a query value).
template <class T>
void read_text(std::string_view text, T& out, const Field* rule, const std::string& name, Errors& errors) {
    if constexpr (std::is_same_v<T, bool>) {
        if (text == "true") {
            out = true;
        } else if (text == "false") {
            out = false;
        } else {
            errors.push_back({name, "must be true or false"});
        }
    } else if constexpr (Integer<T>) {
        const std::int64_t lo = rule != nullptr && rule->minimum ? *rule->minimum : std::numeric_limits<T>::min();
        const std::int64_t hi = rule != nullptr && rule->maximum ? *rule->maximum : std::numeric_limits<std::int64_t>::max();
        std::int64_t n = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || n < lo || n > hi) {
            errors.push_back({name,
                              lo == 1 && hi == std::numeric_limits<std::int64_t>::max()
                                  ? std::string("must be a positive integer")
                                  : "must be an integer " + detail::range_text(lo, hi)});
            return;
        }
        out = static_cast<T>(n);
    } else if constexpr (std::is_same_v<T, std::string>) {
        std::string s(text);
        if (detail::check_string(s, rule, name, errors)) out = std::move(s);
    } else if constexpr (DescribedEnum<T>) {
        auto e = enum_from<T>(text);
        if (!e) {
            errors.push_back({name, "must be one of " + enum_list<T>()});
            return;
        }
        out = *e;
    } else if constexpr (detail::IsOptional<T>::value) {
        typename T::value_type inner{};
        const auto before = errors.size();
        read_text(text, inner, rule, name, errors);
        if (errors.size() == before) out = std::move(inner);
    } else if constexpr (detail::IsVector<T>::value && DescribedEnum<typename T::value_type>) {
        // A comma-separated list (OpenAPI style form, explode false).
        out.clear();
        std::string_view rest = text;
        bool valid = !rest.empty();
        while (valid) {
            const auto comma = rest.find(',');
            auto e = enum_from<typename T::value_type>(rest.substr(0, comma));
            if (!e) {
                valid = false;
                break;
            }
            out.push_back(*e);
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
        if (!valid) {
            errors.push_back({name, "must be a comma-separated list of: " + enum_list<typename T::value_type>()});
            out.clear();
        }
    } else {
        static_assert(detail::kAlwaysFalse<T>, "no text decoding for this type");
    }
}

// Decodes named text parameters into a described struct: a member is required unless it is a
// std::optional or its rule says optional; unknown names are ignored. The first value of a
// repeated name counts.
template <Described T>
void read_params(const Params& params, T& out, Errors& errors) {
    static_assert(rules_name_members<T>(), "a kFields rule names no described member");
    boost::mp11::mp_for_each<Members<T>>([&](auto d) {
        using M = std::remove_cvref_t<decltype(out.*d.pointer)>;
        const Field* rule = rule_of<T>(d.name);
        for (const auto& [k, v] : params) {
            if (k == d.name) {
                read_text(v, out.*d.pointer, rule, k, errors);
                return;
            }
        }
        if (!detail::IsOptional<M>::value && (rule == nullptr || !rule->is_optional)) errors.push_back({d.name, "is required"});
    });
}

// ---- encoding ----

template <class T>
// NOLINTNEXTLINE(misc-no-recursion): see read_object
void write(std::string& out, const T& v, const Field* rule = nullptr) {
    if constexpr (std::is_same_v<T, bool>) {
        out += v ? "true" : "false";
    } else if constexpr (Integer<T>) {
        if constexpr (std::is_signed_v<T>) {
            json_text::write_integer(out, v);
        } else {
            json_text::write_unsigned(out, v);
        }
    } else if constexpr (std::is_floating_point_v<T>) {
        json_text::write_number(out, static_cast<double>(v), rule != nullptr ? rule->decimals : -1);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        json_text::write_string(out, v);
    } else if constexpr (DescribedEnum<T>) {
        json_text::write_string(out, enum_name(v));
    } else if constexpr (detail::IsOptional<T>::value) {
        if (v) {
            write(out, *v, rule);
        } else {
            out += "null";
        }
    } else if constexpr (detail::IsVector<T>::value) {
        out += '[';
        bool first = true;
        for (const auto& item : v) {
            if (!first) out += ',';
            first = false;
            write(out, item);
        }
        out += ']';
    } else if constexpr (detail::IsStringMap<T>::value) {
        out += '{';
        bool first = true;
        for (const auto& [key, item] : v) {
            if (!first) out += ',';
            first = false;
            json_text::write_string(out, key);
            out += ':';
            write(out, item);
        }
        out += '}';
    } else if constexpr (std::is_same_v<T, json::object> || std::is_same_v<T, json::value> ||
                         std::is_same_v<T, json::array>) {
        json_text::write_value(out, v);
    } else if constexpr (std::is_same_v<T, Timestamp>) {
        json_text::write_string(out, json_text::iso8601(v));
    } else if constexpr (Described<T>) {
        static_assert(rules_name_members<T>(), "a kFields rule names no described member");
        out += '{';
        bool first = true;
        boost::mp11::mp_for_each<Members<T>>([&](auto d) {
            using M = std::remove_cvref_t<decltype(v.*d.pointer)>;
            const Field* member_rule = rule_of<T>(d.name);
            if constexpr (detail::IsOptional<M>::value) {
                if (member_rule != nullptr && member_rule->omit_null && !(v.*d.pointer)) return;
            }
            if (!first) out += ',';
            first = false;
            out += '"';
            out += d.name;  // member names are identifiers: nothing to escape
            out += "\":";
            write(out, v.*d.pointer, member_rule);
        });
        out += '}';
    } else {
        static_assert(detail::kAlwaysFalse<T>, "no JSON encoding for this type");
    }
}

template <class T>
std::string encode(const T& v) {
    std::string out;
    write(out, v);
    return out;
}

// ---- schemas ----

enum class Direction { kRequest, kResponse };

// The JSON Schemas of the types an API uses, described structs as shared components
// (#/components/schemas/<name>). A name used by two different types, or by one type in both
// directions with different required members, is a startup error (std::logic_error).
class SchemaSet {
public:
    template <class T>
    json::object schema(Direction direction, const Field* rule = nullptr);

    const json::object& components() const { return components_; }

private:
    template <Described T>
    json::object component(Direction direction);
    // Returns false when `name` is already taken by another type or direction (a startup error
    // is thrown), true when the caller must build it, and sets `ref` either way.
    bool claim(const std::string& name, std::type_index type, Direction direction);

    struct Claim {
        std::string name;
        std::type_index type;
        Direction direction;
    };
    std::vector<Claim> claims_;
    json::object components_;
};

template <class T>
// NOLINTNEXTLINE(misc-no-recursion): see read_object
json::object SchemaSet::schema(Direction direction, const Field* rule) {
    json::object s;
    if constexpr (std::is_same_v<T, bool>) {
        s["type"] = "boolean";
    } else if constexpr (Integer<T>) {
        s["type"] = "integer";
        s["format"] = sizeof(T) <= 4 ? "int32" : "int64";
        detail::add_rule_keywords(s, rule, "number");
    } else if constexpr (std::is_floating_point_v<T>) {
        s["type"] = "number";
        detail::add_rule_keywords(s, rule, "number");
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        s["type"] = "string";
        detail::add_rule_keywords(s, rule, "string");
    } else if constexpr (DescribedEnum<T>) {
        s["type"] = "string";
        json::array values;
        for (const auto& [v, name] : enum_names<T>()) values.emplace_back(name);
        s["enum"] = std::move(values);
        detail::add_rule_keywords(s, rule, "");
    } else if constexpr (detail::IsNullable<T>::value) {
        return schema<typename T::value_type>(direction, rule);
    } else if constexpr (detail::IsOptional<T>::value) {
        auto inner = schema<typename T::value_type>(direction, rule);
        if (auto* type = inner.if_contains("type"); type != nullptr && type->is_string() && !inner.contains("enum")) {
            *type = json::array{type->get_string(), "null"};
            return inner;
        }
        json::object any;
        if (auto* d = inner.if_contains("description")) {
            any["description"] = *d;
            inner.erase("description");
        }
        any["anyOf"] = json::array{std::move(inner), json::object{{"type", "null"}}};
        return any;
    } else if constexpr (detail::IsVector<T>::value) {
        s["type"] = "array";
        s["items"] = schema<typename T::value_type>(direction);
        detail::add_rule_keywords(s, rule, "array");
    } else if constexpr (detail::IsStringMap<T>::value) {
        s["type"] = "object";
        s["additionalProperties"] = schema<typename T::mapped_type>(direction);
        detail::add_rule_keywords(s, rule, "object");
    } else if constexpr (std::is_same_v<T, json::object>) {
        s["type"] = "object";
        detail::add_rule_keywords(s, rule, "object");
    } else if constexpr (std::is_same_v<T, json::value>) {
        detail::add_rule_keywords(s, rule, "");
    } else if constexpr (std::is_same_v<T, Timestamp>) {
        s["type"] = "string";
        s["format"] = "date-time";
        detail::add_rule_keywords(s, rule, "");
    } else if constexpr (Described<T>) {
        s = component<T>(direction);
        detail::add_rule_keywords(s, rule, "");
    } else {
        static_assert(detail::kAlwaysFalse<T>, "no JSON schema for this type");
    }
    return s;
}

template <Described T>
// NOLINTNEXTLINE(misc-no-recursion): see read_object
json::object SchemaSet::component(Direction direction) {
    std::string name;
    if constexpr (requires { T::kSchemaName; }) {
        name = owns_static<T>(kSchemaNameOf) ? std::string(T::kSchemaName) : detail::type_name(typeid(T));
    } else {
        name = detail::type_name(typeid(T));
    }
    json::object ref{{"$ref", "#/components/schemas/" + name}};
    if (!claim(name, typeid(T), direction)) return ref;
    components_[name] = json::object{};  // a placeholder while members refer back
    json::object s{{"type", "object"}};
    if constexpr (requires { T::kSchemaDescription; }) {
        if (owns_static<T>(kSchemaDescriptionOf)) s["description"] = T::kSchemaDescription;
    }
    json::object properties;
    json::array required;
    const T defaults{};
    boost::mp11::mp_for_each<Members<T>>([&](auto d) {
        using M = std::remove_cvref_t<decltype(defaults.*d.pointer)>;
        const Field* rule = rule_of<T>(d.name);
        auto member = schema<M>(direction, rule);
        const bool optional = detail::IsOptional<M>::value || (rule != nullptr && rule->is_optional);
        const bool omitted = rule != nullptr && rule->omit_null;
        if ((direction == Direction::kResponse && !omitted) || !optional) required.emplace_back(d.name);
        if (direction == Direction::kRequest && rule != nullptr && rule->is_optional && !detail::IsOptional<M>::value) {
            std::string text;
            write(text, defaults.*d.pointer, rule);
            member["default"] = json_text::parse_value(text);
        }
        properties[d.name] = std::move(member);
    });
    s["properties"] = std::move(properties);
    if (!required.empty()) s["required"] = std::move(required);
    if (direction == Direction::kRequest && !allows_unknown<T>()) s["additionalProperties"] = false;
    components_[name] = std::move(s);
    return ref;
}

}  // namespace emporium::core::codec
