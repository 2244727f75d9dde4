#include "http/types.hpp"

#include <charconv>

namespace emporium::http {

std::string_view RequestContext::param(std::string_view name) const {
    for (const auto& [k, v] : path_params)
        if (k == name) return v;
    return {};
}

std::optional<std::string_view> RequestContext::query(std::string_view name) const {
    for (const auto& [k, v] : query_params)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

Response text_response(const RequestContext& ctx, Status status, std::string body, std::string_view content_type) {
    Response res{status, ctx.request.version()};
    res.set(bhttp::field::content_type, content_type);
    res.set("X-Request-Id", ctx.request_id);
    res.body() = std::move(body);
    return res;
}

std::optional<std::int64_t> parse_positive_int(std::string_view text, std::int64_t max) {
    std::int64_t v = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || v <= 0 || v > max) return std::nullopt;
    return v;
}

}  // namespace emporium::http
