#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace emporium::http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    if (path.empty() || path.front() != '/') return out;
    path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

bool is_param(std::string_view seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Score of a match: literal segments count more than parameters (most specific wins).
int specificity(const Route& r) {
    return static_cast<int>(std::count_if(r.segments.begin(), r.segments.end(), [](const std::string& s) { return !is_param(s); }));
}

}  // namespace

bool percent_decode(std::string_view in, std::string& out) {
    out.clear();
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return false;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return true;
}

void Router::add(std::shared_ptr<const Operation> operation, Handler handler) {
    const auto& path = operation->path;
    const auto method = operation->method;
    if (path.empty() || path.front() != '/') throw std::invalid_argument("route must start with '/': " + path);
    Route r{{}, std::move(handler), std::move(operation)};
    for (auto seg : split_path(path)) {
        if (seg.find_first_of("{}") != std::string_view::npos && !is_param(seg))
            throw std::invalid_argument("malformed route segment in " + path);
        r.segments.emplace_back(seg);
    }
    for (const auto& existing : routes_) {
        if (existing.method() == method && existing.path() == path)
            throw std::invalid_argument("duplicate route " + std::string(bhttp::to_string(method)) + " " + path);
    }
    routes_.push_back(std::move(r));
    std::stable_sort(routes_.begin(), routes_.end(),
                     [](const Route& a, const Route& b) { return specificity(a) > specificity(b); });
}

RouteMatch Router::match(Verb method, std::string_view path) const {
    RouteMatch result;
    auto segs = split_path(path);
    if (segs.empty()) return result;
    std::vector<std::pair<std::string, std::string>> params;
    std::string decoded;
    const Route* path_match = nullptr;
    for (const auto& r : routes_) {
        if (r.segments.size() != segs.size()) continue;
        params.clear();
        bool ok = true;
        for (std::size_t i = 0; i < segs.size() && ok; ++i) {
            const auto& tpl = r.segments[i];
            if (is_param(tpl)) {
                if (segs[i].empty() || !percent_decode(segs[i], decoded)) {
                    ok = false;
                } else {
                    params.emplace_back(tpl.substr(1, tpl.size() - 2), decoded);
                }
            } else {
                ok = tpl == segs[i];
            }
        }
        if (!ok) continue;
        if (r.method() == method) {
            result.kind = RouteMatch::Kind::kFound;
            result.route = &r;
            result.params = std::move(params);
            return result;
        }
        // Only routes with the same template as the first path match are alternatives.
        if (path_match == nullptr) path_match = &r;
        if (r.path() == path_match->path() &&
            std::find(result.allowed.begin(), result.allowed.end(), r.method()) == result.allowed.end())
            result.allowed.push_back(r.method());
    }
    if (!result.allowed.empty()) result.kind = RouteMatch::Kind::kMethodNotAllowed;
    return result;
}

}  // namespace emporium::http
