#include "http/metrics_listener.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"
#include "http/problem.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>

namespace emporium::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kBodyLimit = 64 * 1024;
constexpr std::chrono::seconds kTimeout{5};

bhttp::response<bhttp::string_body> answer(unsigned version, bhttp::status status, std::string body,
                                           std::string_view content_type) {
    bhttp::response<bhttp::string_body> res(status, version);
    res.set(bhttp::field::content_type, content_type);
    res.set(bhttp::field::cache_control, "no-store");
    res.keep_alive(false);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

asio::awaitable<void> serve_one(asio::ip::tcp::socket socket, std::shared_ptr<const std::string> token) {
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(kTimeout);
    beast::flat_buffer buffer(kHeaderLimit);
    bhttp::request_parser<bhttp::string_body> parser;  // a body is read and ignored
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kBodyLimit);
    auto [read_error, read_bytes] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    static_cast<void>(read_bytes);
    if (read_error) co_return;
    const auto& req = parser.get();
    const auto refuse = [&](core::Errc code, std::string message) {
        auto res = problem_response(req.version(), core::request_id(), core::make_error(code, std::move(message)));
        res.keep_alive(false);
        res.prepare_payload();
        return res;
    };
    bhttp::response<bhttp::string_body> res;
    const bool known = req.target() == "/metrics" || req.target() == "/healthz";
    if (!known) {
        res = refuse(core::Errc::kNotFound, "the metrics port serves /metrics and /healthz only");
    } else if (req.method() != bhttp::verb::get) {
        res = refuse(core::Errc::kMethodNotAllowed, "GET only");
        res.set(bhttp::field::allow, "GET");
    } else if (req.target() == "/healthz") {
        res = answer(req.version(), bhttp::status::ok, R"({"status":"ok"})", "application/json");
    } else if (!metrics_authorized(req[bhttp::field::authorization], *token)) {
        res = refuse(core::Errc::kUnauthorized, "metrics want the bearer token (METRICS_TOKEN)");
        res.set(bhttp::field::www_authenticate, "Bearer");
    } else {
        res = answer(req.version(), bhttp::status::ok, core::Metrics::global().render(),
                     "text/plain; version=0.0.4; charset=utf-8");
    }
    auto [write_error, written] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    static_cast<void>(written);
    static_cast<void>(write_error);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace

bool metrics_authorized(std::string_view authorization, std::string_view token) {
    if (token.empty()) return true;
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() != kScheme.size() + token.size() || authorization.substr(0, kScheme.size()) != kScheme) {
        return false;
    }
    // Every byte compared, whatever differs first.
    unsigned char diff = 0;
    for (std::size_t i = 0; i < token.size(); ++i) {
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(authorization[kScheme.size() + i]) ^
                                                  static_cast<unsigned char>(token[i])));
    }
    return diff == 0;
}

MetricsListener::MetricsListener(const asio::any_io_executor& ex,
                                 const std::string& host,
                                 unsigned short port,
                                 std::string token)
    : acceptor_(ex), token_(std::make_shared<const std::string>(std::move(token))) {
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
}

unsigned short MetricsListener::port() const { return acceptor_.local_endpoint().port(); }

asio::awaitable<void> MetricsListener::run() {
    while (acceptor_.is_open()) {
        auto [error, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
        if (error) {
            if (!acceptor_.is_open() || error == asio::error::operation_aborted) break;
            core::log::warn("metrics listener: accept failed", {{"error", error.message()}});
            continue;
        }
        core::spawn_tracked(acceptor_.get_executor(), serve_one(std::move(socket), token_), "metrics.request");
    }
}

void MetricsListener::stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
}

}  // namespace emporium::http
