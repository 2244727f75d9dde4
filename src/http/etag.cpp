#include "http/etag.hpp"

#include <charconv>

namespace emporium::http {

std::string weak_etag(std::int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

std::optional<EntityTag> parse_entity_tag(std::string_view v) {
    if (v.starts_with("W/")) v.remove_prefix(2);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    const auto number = [](std::string_view digits) -> std::optional<std::int64_t> {
        std::int64_t n = 0;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size() || n < 0) return std::nullopt;
        return n;
    };
    EntityTag tag;
    const auto dot = v.find('.');
    const auto version = number(v.substr(0, dot));
    if (!version || *version <= 0) return std::nullopt;
    tag.version = *version;
    if (dot != std::string_view::npos) {
        tag.second = number(v.substr(dot + 1));
        if (!tag.second) return std::nullopt;
    }
    return tag;
}

core::Result<std::int64_t> expected_version(std::optional<std::int64_t> body_version,
                                            std::optional<std::string_view> if_match) {
    if (!if_match) return body_version.value_or(0);
    const auto tag = parse_entity_tag(*if_match);
    if (!tag) {
        return core::make_error(core::Errc::kValidation, "the request has invalid fields",
                                {{"If-Match", "must be W/\"<version>\""}});
    }
    return tag->version;
}

}  // namespace emporium::http
