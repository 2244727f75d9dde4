#include "http/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace emporium::http {

namespace json = boost::json;

namespace {

// The member name that occurs twice in one object of `text`, if any. `text` must already have
// been accepted by the parser (valid JSON, bounded depth), so a flat scan is enough: strings are
// skipped by their quotes, and a string right after `{` or `,` inside an object is a name.
// Escaped names are decoded before comparing ("a" and "\u0061" are the same name).
std::optional<std::string> duplicate_member(std::string_view text) {
    struct Frame {
        bool object = false;
        bool expect_name = false;
        std::unordered_set<std::string> names;
    };
    std::vector<Frame> stack;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' || c == '[') {
            stack.push_back(Frame{c == '{', c == '{', {}});
        } else if (c == '}' || c == ']') {
            if (!stack.empty()) stack.pop_back();
        } else if (c == ',') {
            if (!stack.empty() && stack.back().object) stack.back().expect_name = true;
        } else if (c == '"') {
            const std::size_t start = i++;
            bool escaped = false;
            while (i < text.size() && text[i] != '"') {
                if (text[i] == '\\') {
                    escaped = true;
                    ++i;
                }
                ++i;
            }
            if (stack.empty() || !stack.back().object || !stack.back().expect_name) continue;
            stack.back().expect_name = false;
            std::string name;
            if (escaped) {
                boost::system::error_code ec;
                auto decoded = json::parse(text.substr(start, i - start + 1), ec);
                if (ec || !decoded.is_string()) continue;
                name = std::string(decoded.as_string());
            } else {
                name = std::string(text.substr(start + 1, i - start - 1));
            }
            if (!stack.back().names.insert(name).second) return name;
        }
    }
    return std::nullopt;
}

// Boost.JSON 1.81 reads a number beyond the range of a double (1e400) as infinity and writes it
// back as `Infinity`, which is not JSON: stored as jsonb (a shipping address) it would fail in
// PostgreSQL. Such bodies are malformed for us. Recursion depth is bounded by max_depth.
bool has_non_finite_number(const json::value& v) {  // NOLINT(misc-no-recursion): depth <= 32
    if (v.is_double()) return !std::isfinite(v.get_double());
    if (v.is_array()) {
        return std::any_of(v.get_array().begin(), v.get_array().end(), has_non_finite_number);
    }
    if (v.is_object()) {
        return std::any_of(v.get_object().begin(), v.get_object().end(), [](const json::key_value_pair& m) {
            return has_non_finite_number(m.value());
        });
    }
    return false;
}

}  // namespace

core::Result<json::object> parse_json_object(const Request& request) {
    const auto& body = request.body();
    if (body.empty()) return core::make_error(core::Errc::kBadRequest, "a JSON object body is required");
    json::parse_options opts;
    opts.max_depth = 32;
    boost::system::error_code ec;
    auto value = json::parse(body, ec, {}, opts);
    if (ec) return core::make_error(core::Errc::kBadRequest, "the body is not valid JSON: " + ec.message());
    if (!value.is_object()) return core::make_error(core::Errc::kBadRequest, "the body must be a JSON object");
    // Boost.JSON keeps one of two equal member names silently; an API that validates its input
    // must not guess which one the client meant.
    if (auto name = duplicate_member(body)) {
        constexpr std::size_t kShownName = 64;
        const bool shown = name->size() <= kShownName && utf8_length(*name) == name->size();
        return core::make_error(core::Errc::kBadRequest,
                                shown ? "the body has a duplicate member name: \"" + *name + "\""
                                      : std::string("the body has a duplicate member name"));
    }
    if (has_non_finite_number(value))
        return core::make_error(core::Errc::kBadRequest,
                                "the body is not valid JSON: a number is out of range");
    return std::move(value.as_object());
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

}  // namespace emporium::http
