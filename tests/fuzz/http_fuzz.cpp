// Raw bytes of one HTTP/1.1 request → the Beast request parser configured as http::Server
// configures it (header and body limits) → the request target parsed as the server parses it →
// the Router holding the real route table (every domain's register_routes; the services are never
// called, only matched) → path parameters, query parameters, ids and the client address.
// Invariants: a match is for the request's method with one decoded, non-empty value per template
// parameter; percent-encoding those values again matches the same route with the same values;
// 405 lists only other methods; the client address is the peer or one of the forwarded entries.

#include "auth/auth_routes.hpp"
#include "catalog/catalog_routes.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "http/openapi.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/system_routes.hpp"
#include "http/types.hpp"
#include "jobs/jobs_routes.hpp"
#include "notify/notify_routes.hpp"
#include "orders/orders_routes.hpp"
#include "payments/payments_routes.hpp"
#include "recommend/recommend_routes.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace emporium;
namespace bhttp = boost::beast::http;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

struct Routes {
    http::Router router;
    http::OpenApi openapi{"Emporium", "fuzz"};
};

// The server's route table, registered once. Handlers hold null services: they are never run.
const Routes& routes() {
    static const Routes* instance = [] {
        core::log::init("error");
        auto* r = new Routes;  // NOLINT(cppcoreguidelines-owning-memory): lives for the whole run
        http::register_system_routes(r->router, r->openapi, {}, "/nonexistent");
        http::Api api(r->router, r->openapi);
        auth::register_routes(api, nullptr);
        catalog::register_routes(api, nullptr);
        orders::register_routes(api, nullptr);
        payments::register_routes(api, nullptr);
        recommend::register_routes(api, nullptr, {});
        jobs::register_routes(api, nullptr);
        notify::register_routes(api, nullptr);
        return r;
    }();
    return *instance;
}

std::string percent_encode(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : in) {
        const auto u = static_cast<unsigned char>(c);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4U];
            out += kHex[u & 0xFU];
        }
    }
    return out;
}

bool is_param(const std::string& segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

void check_match(const http::Router& router, http::Verb method, std::string_view path) {
    auto match = router.match(method, path);
    if (match.kind == http::RouteMatch::Kind::kMethodNotAllowed) {
        check(!match.allowed.empty(), "405 lists the allowed methods");
        check(std::find(match.allowed.begin(), match.allowed.end(), method) == match.allowed.end(),
              "405 does not list the request's method");
        return;
    }
    if (match.kind != http::RouteMatch::Kind::kFound) return;
    const auto& route = *match.route;
    check(route.method() == method, "a match is for the request's method");
    const auto n_params =
        static_cast<std::size_t>(std::count_if(route.segments.begin(), route.segments.end(), is_param));
    check(match.params.size() == n_params, "one value per template parameter");
    // The same route, with every parameter percent-encoded, matches again with the same values.
    std::string again;
    std::size_t p = 0;
    for (const auto& segment : route.segments) {
        again += '/';
        again += is_param(segment) ? percent_encode(match.params[p++].second) : segment;
    }
    auto second = router.match(method, again);
    check(second.kind == http::RouteMatch::Kind::kFound && second.route == match.route,
          "re-encoded path matches");
    check(second.params == match.params, "re-encoded path decodes to the same values");
    for (const auto& [name, value] : match.params) {
        check(!value.empty(), "parameters are not empty");
        if (name == "id") {
            auto id = http::parse_positive_int(value);
            if (id) check(*id > 0 && std::to_string(*id).size() <= value.size(), "ids are positive");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto& r = routes();
    const core::HttpConfig config;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config.header_limit));
    parser.body_limit(config.body_limit);
    parser.eager(true);
    boost::beast::error_code ec;
    std::string_view in(reinterpret_cast<const char*>(data), size);  // NOLINT: bytes
    while (!in.empty() && !parser.is_done()) {
        const auto used = parser.put(boost::asio::buffer(in.data(), in.size()), ec);
        if (ec) break;
        if (used == 0) break;
        in.remove_prefix(used);
    }
    if (parser.got_some() && (ec == bhttp::error::need_more || (!ec && !parser.is_done()))) {
        ec = {};
        parser.put_eof(ec);
    }
    if (ec || !parser.is_done()) return 0;
    http::Request req = parser.release();

    const std::vector<std::string> trusted{"10.0.0.1", "10.0.0.2"};
    const auto xff = http::Server::forwarded_for(req);
    const auto ip = http::Server::client_ip("10.0.0.1", xff, trusted);
    check(!ip.empty() && (ip == "10.0.0.1" || xff.find(ip) != std::string::npos),
          "client address from the chain");

    auto target = boost::urls::parse_origin_form(req.target());
    if (!target) return 0;
    std::vector<std::pair<std::string, std::string>> query;
    for (auto param : target->params()) query.emplace_back(param.key, param.value);
    const auto method = req.method() == http::Verb::head ? http::Verb::get : req.method();
    check_match(r.router, method, target->encoded_path());
    return 0;
}
