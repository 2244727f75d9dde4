#include "http/server.hpp"

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"
#include "http/problem.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <array>
#include <chrono>
#include <ctime>
#include <sstream>
#include <unordered_map>
#include <variant>

namespace emporium::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using namespace std::chrono_literals;

struct Server::Session {
    beast::tcp_stream stream;
    std::string peer;
    bool idle = true;
    explicit Session(tcp::socket s) : stream(std::move(s)) {}
};

namespace detail {

// One request and its handler. The handler runs as a task of its own, so that the connection can
// answer 503 when the request's budget runs out without interrupting it: an interrupted handler
// would skip its cleanup after the await it was cancelled in (with Asio's default
// throw_if_cancelled every later co_await throws), leaving stock reservations, locks and
// idempotency keys behind. The connection's coroutine and the handler task share this object; the
// connection closes only after `finished`.
struct Exchange {
    Exchange(Request req,
             std::string request_id,
             std::chrono::steady_clock::time_point deadline,
             const asio::any_io_executor& ex)
        : request(std::move(req)),
          ctx{request, std::move(request_id), {}, {}, {}, {}, deadline, std::nullopt, {}, 0},
          done(ex) {}
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;
    Exchange(Exchange&&) = delete;
    Exchange& operator=(Exchange&&) = delete;
    ~Exchange() = default;

    // The handler has returned: wakes whoever waits on `done`.
    void finish() {
        finished = true;
        done.cancel();
    }

    Request request;
    RequestContext ctx;  // ctx.request is `request`
    // Waited on by the connection (until the budget, then until the handler returns); cancelled by
    // finish().
    asio::steady_timer done;
    std::optional<Response> response;  // the handler's answer (empty: it failed unexpectedly)
    bool finished = false;
    bool overran = false;  // the budget ran out first: the client got 503, the handler ran on
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

}  // namespace detail

namespace {

// The Date header (RFC 9110, IMF-fixdate) of now, formatted once a second per thread. Clients use
// it to count down against the server's clock (a cart's holds) rather than their own.
std::string_view http_date() {
    thread_local std::time_t shown = -1;
    thread_local std::array<char, 40> text{};
    const std::time_t now = std::time(nullptr);
    if (now != shown) {
        std::tm parts{};
        gmtime_r(&now, &parts);
        std::strftime(text.data(), text.size(), "%a, %d %b %Y %H:%M:%S GMT", &parts);
        shown = now;
    }
    return text.data();
}

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// Until the handler of `exchange` has returned.
asio::awaitable<void> wait_finished(std::shared_ptr<detail::Exchange> exchange) {
    while (!exchange->finished) {
        exchange->done.expires_at(std::chrono::steady_clock::time_point::max());
        co_await exchange->done.async_wait(kTuple);
    }
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

bool is_json_content_type(std::string_view ct) {
    auto semi = ct.find(';');
    auto base = ct.substr(0, semi);
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    std::string lower(base);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json" || (lower.starts_with("application/") && lower.ends_with("+json"));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

void record(const std::string& method, const std::string& route, unsigned status, double seconds) {
    // The series of each (method, route, status), found once per thread: the registry's lookup
    // builds label strings under a mutex, too much for every request.
    struct Series {
        core::Metrics::Counter* requests;
        core::Metrics::Histogram* duration;
    };
    thread_local std::unordered_map<std::string, Series> known;
    std::string key = method;
    key += ' ';
    key += route;
    key += ' ';
    key += std::to_string(status);
    auto it = known.find(key);
    if (it == known.end()) {
        auto& m = core::Metrics::global();
        Series s{&m.counter("emporium_http_requests_total", "HTTP requests by method, route template and status",
                            {{"method", method}, {"route", route}, {"status", std::to_string(status)}}),
                 &m.histogram("emporium_http_request_duration_seconds", "HTTP request latency by route template",
                              {{"route", route}})};
        it = known.emplace(std::move(key), s).first;
    }
    it->second.requests->inc();
    it->second.duration->observe(seconds);
}

// Over the connection cap: one non-blocking write of a small 503 problem+json (it fits the send
// buffer of a fresh socket), then close. Never waits for the client, so a flood of connections
// costs the acceptor no more than the accept itself.
template <typename Socket>
void refuse_connection(Socket& socket) {
    auto res = problem_response(11, core::random_hex_id(),
                                core::make_error(core::Errc::kUnavailable,
                                                 "the server has too many open connections; try again"));
    res.keep_alive(false);
    res.prepare_payload();
    std::ostringstream text;
    text << res;
    const auto bytes = text.str();
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(asio::buffer(bytes), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
    core::Metrics::global()
        .counter("emporium_http_connections_refused_total", "Connections refused at accept (HTTP_MAX_CONNECTIONS)")
        .inc();
}

}  // namespace

Server::Server(core::Runtime& runtime, core::HttpConfig config, const Router& router)
    : runtime_(runtime),
      config_(std::move(config)),
      router_(router),
      acceptor_(runtime.context(0)),
      sessions_(runtime.size()) {}

Server::~Server() = default;

// All lines, not the first only (RFC 9110 §5.3): a proxy may add its own line after the client's
// instead of appending to it (HAProxy's `option forwardfor` does), and reading the first line only
// would let the client choose its address.
std::string Server::forwarded_for(const Request& req) {
    std::string out;
    const auto [first, last] = req.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
        if (!out.empty()) out += ", ";
        out += it->value();
    }
    return out;
}

std::string Server::client_ip(const std::string& peer, std::string_view forwarded_for,
                              const std::vector<std::string>& trusted_proxies) {
    auto trusted = [&](std::string_view ip) {
        return std::find(trusted_proxies.begin(), trusted_proxies.end(), ip) != trusted_proxies.end();
    };
    if (forwarded_for.empty() || !trusted(peer)) return peer;
    // Walk X-Forwarded-For from the right: the first address not ours is the client.
    std::string_view rest = forwarded_for;
    std::string_view candidate;
    while (!rest.empty()) {
        auto comma = rest.rfind(',');
        auto item = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        if (item.empty()) continue;
        candidate = item;
        if (!trusted(item)) break;
    }
    return candidate.empty() ? peer : std::string(candidate);
}

std::uint16_t Server::start() {
    auto address = asio::ip::make_address(config_.host);
    tcp::endpoint endpoint(address, config_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    auto port = acceptor_.local_endpoint().port();
    core::spawn_tracked(acceptor_.get_executor(), accept_loop(this), "http.accept");
    return port;
}

asio::awaitable<void> accept_loop(Server* server) {
    asio::steady_timer backoff(server->acceptor_.get_executor());
    while (server->acceptor_.is_open()) {
        auto& ctx = server->runtime_.next();
        auto [ec, socket] = co_await server->acceptor_.async_accept(ctx, kTuple);
        if (ec == asio::error::operation_aborted || !server->acceptor_.is_open()) break;
        if (ec) {
            // Typically EMFILE: do not spin, give the process a moment to free descriptors.
            core::log::warn("accept failed", {{"error", ec.message()}});
            backoff.expires_after(50ms);
            co_await backoff.async_wait(kTuple);
            continue;
        }
        if (server->active_.load() >= server->config_.max_connections) {
            refuse_connection(socket);
            continue;
        }
        server->active_.fetch_add(1);
        auto ex = socket.get_executor();
        core::spawn_tracked(ex, run_session(server, std::move(socket)), "http.session");
    }
}

void Server::shutdown(std::function<void()> on_drained) {
    draining_.store(true);
    asio::post(acceptor_.get_executor(), [this, on_drained = std::move(on_drained)]() mutable {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        for (std::size_t i = 0; i < runtime_.size(); ++i) {
            asio::post(runtime_.context(i), [this, i] {
                for (auto* s : sessions_[i])
                    if (s->idle) s->stream.cancel();
            });
        }
        auto timer = std::make_shared<asio::steady_timer>(runtime_.context(0));
        wait_drained(timer, std::chrono::steady_clock::now() + config_.shutdown_grace, std::move(on_drained));
    });
}

void Server::wait_drained(std::shared_ptr<asio::steady_timer> timer, std::chrono::steady_clock::time_point until,
                          std::function<void()> on_drained) {
    if (active_.load() == 0 || std::chrono::steady_clock::now() >= until) {
        if (active_.load() != 0)
            core::log::warn("shutdown grace period elapsed", {{"open_connections", active_.load()}});
        on_drained();
        return;
    }
    auto& t = *timer;
    t.expires_after(20ms);
    t.async_wait([this, timer = std::move(timer), until, on_drained = std::move(on_drained)](
                     boost::system::error_code /*ec*/) mutable { wait_drained(timer, until, std::move(on_drained)); });
}

asio::awaitable<void> run_session(Server* server, tcp::socket socket) {
    const auto& cfg = server->config_;
    boost::system::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    Server::Session session(std::move(socket));
    {
        auto ep = session.stream.socket().remote_endpoint(ec);
        session.peer = ec ? std::string("unknown") : ep.address().to_string();
    }
    auto index = core::Runtime::current_index();
    auto& registry = server->sessions_[index == core::Runtime::kNoContext ? 0 : index];
    registry.insert(&session);

    beast::flat_buffer buffer;
    for (;;) {
        if (server->draining_.load()) break;
        // Wait for the first byte of the next request under the idle timeout; the header
        // must then arrive within the header timeout (slow senders are cut off).
        if (buffer.size() == 0) {
            session.idle = true;
            session.stream.expires_after(cfg.idle_timeout);
            auto [rec, n] = co_await session.stream.async_read_some(buffer.prepare(8192), kTuple);
            session.idle = false;
            if (rec) break;
            buffer.commit(n);
        }
        session.idle = false;
        auto started = std::chrono::steady_clock::now();
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
        parser.body_limit(cfg.body_limit);
        session.stream.expires_after(cfg.header_timeout);
        auto [hec, hn] = co_await bhttp::async_read_header(session.stream, buffer, parser, kTuple);
        std::string request_id = core::request_id();
        std::optional<core::Error> early;
        if (hec == bhttp::error::header_limit) {
            early = core::make_error(core::Errc::kHeadersTooLarge, "request headers exceed the limit");
        } else if (hec == bhttp::error::body_limit) {
            // Content-Length above the limit is detected with the header.
            early = core::make_error(core::Errc::kPayloadTooLarge,
                                     "request body exceeds " + std::to_string(cfg.body_limit) + " bytes");
        } else if (hec == beast::error::timeout || hec == asio::error::operation_aborted ||
                   hec == bhttp::error::end_of_stream || hec == asio::error::eof ||
                   hec == asio::error::connection_reset) {
            break;
        } else if (hec) {
            early = core::make_error(core::Errc::kBadRequest, "malformed HTTP request");
        }
        if (!early) {
            auto incoming = parser.get()["X-Request-Id"];
            if (valid_request_id(incoming)) request_id = std::string(incoming);
            auto cl = parser.content_length();
            if (cl && *cl > cfg.body_limit) {
                early = core::make_error(core::Errc::kPayloadTooLarge,
                                         "request body exceeds " + std::to_string(cfg.body_limit) + " bytes");
            }
        }
        if (!early) {
            auto expect = parser.get()[bhttp::field::expect];
            if (beast::iequals(expect, "100-continue")) {
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                session.stream.expires_after(cfg.request_timeout);
                co_await asio::async_write(session.stream, asio::buffer(kContinue.data(), kContinue.size()), kTuple);
            }
            session.stream.expires_after(cfg.request_timeout);
            auto [bec, bn] = co_await bhttp::async_read(session.stream, buffer, parser, kTuple);
            if (bec == bhttp::error::body_limit) {
                early = core::make_error(core::Errc::kPayloadTooLarge,
                                         "request body exceeds " + std::to_string(cfg.body_limit) + " bytes");
            } else if (bec == beast::error::timeout || bec == asio::error::eof ||
                       bec == bhttp::error::partial_message || bec == asio::error::connection_reset) {
                break;
            } else if (bec) {
                early = core::make_error(core::Errc::kBadRequest, "malformed HTTP request body");
            }
        }

        Response res;
        std::string route = "unmatched";
        std::string method = "OTHER";
        bool keep_alive = false;
        bool head = false;
        std::shared_ptr<detail::Exchange> exchange;
        if (early) {
            // After a framing error the rest of the stream cannot be trusted: answer and close.
            res = problem_response(11, request_id, *early);
            res.keep_alive(false);
        } else {
            Request req = parser.release();
            method = std::string(req.method_string());
            head = req.method() == Verb::head;
            exchange =
                std::make_shared<detail::Exchange>(std::move(req),
                                                   request_id,
                                                   std::chrono::steady_clock::now() + cfg.request_timeout,
                                                   session.stream.get_executor());
            res = co_await server->dispatch(exchange, session, route);
            // Decided after the handler: a drain that started meanwhile closes this connection, and
            // so does a handler still running after its 503.
            keep_alive = exchange->request.keep_alive() && !server->draining_.load() && !exchange->overran;
            res.version(exchange->request.version());
            res.keep_alive(keep_alive);
        }
        res.set("X-Request-Id", request_id);
        res.set(bhttp::field::date, http_date());
        res.prepare_payload();
        session.stream.expires_after(cfg.request_timeout);
        boost::system::error_code wec;
        if (head) {
            bhttp::response_serializer<bhttp::string_body> sr(res);
            std::tie(wec, std::ignore) = co_await bhttp::async_write_header(session.stream, sr, kTuple);
        } else {
            std::tie(wec, std::ignore) = co_await bhttp::async_write(session.stream, res, kTuple);
        }
        auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        auto status = res.result_int();
        record(method, route, status, seconds);
        if (core::log::enabled(core::log::Level::kInfo)) {
            core::log::info("request", {{"request_id", request_id},
                                        {"method", method},
                                        {"route", route},
                                        {"status", status},
                                        {"duration_ms", seconds * 1000.0},
                                        {"peer", session.peer}});
        }
        if (exchange && exchange->overran) {
            // The client has its 503; the connection stays open (and counted) until the handler
            // has finished its work and its cleanup.
            session.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
            co_await wait_finished(exchange);
            break;
        }
        if (wec || !res.keep_alive()) break;
    }
    session.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    session.stream.close();
    registry.erase(&session);
    server->active_.fetch_sub(1);
}

asio::awaitable<Response> Server::dispatch(
    std::shared_ptr<detail::Exchange> exchange,
    Session& session,      // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string& route) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    auto& ctx = exchange->ctx;
    const Request& req = exchange->request;
    ctx.client_ip = client_ip(session.peer, forwarded_for(req), config_.trusted_proxies);

    auto target = boost::urls::parse_origin_form(req.target());
    if (!target) co_return problem_response(ctx, core::Errc::kBadRequest, "malformed request target");
    for (auto param : target->params()) ctx.query_params.emplace_back(param.key, param.value);

    auto method = req.method();
    auto match = router_.match(method == Verb::head ? Verb::get : method, target->encoded_path());
    if (match.kind == RouteMatch::Kind::kNotFound) {
        co_return problem_response(ctx, core::Errc::kNotFound, "no resource at " + std::string(target->encoded_path()));
    }
    if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
        std::string allow;
        for (auto v : match.allowed) {
            if (!allow.empty()) allow += ", ";
            allow += bhttp::to_string(v);
            if (v == Verb::get) allow += ", HEAD";
        }
        auto res = problem_response(ctx, core::Errc::kMethodNotAllowed,
                                    std::string(req.method_string()) + " is not allowed here; allowed: " + allow);
        res.set(bhttp::field::allow, allow);
        co_return res;
    }
    const Route& r = *match.route;
    route = r.path();
    ctx.route = r.path();
    ctx.path_params = std::move(match.params);

    if (r.operation->json_body && (method == Verb::post || method == Verb::put || method == Verb::patch) &&
        !req.body().empty() && !is_json_content_type(req[bhttp::field::content_type])) {
        co_return problem_response(ctx, core::Errc::kUnsupportedMediaType, "request body must be application/json");
    }
    co_return co_await run_route(std::move(exchange), r);
}

namespace {

// Runs the route handler and turns every exception into a problem response.
asio::awaitable<Response> guarded_handler(const Route* route, RequestContext* ctx) {
    try {
        co_return co_await route->handler(*ctx);
    } catch (const core::TimeoutError& e) {
        core::log::error("dependency timeout", {{"request_id", ctx->request_id}, {"route", ctx->route}, {"error", e.what()}});
    } catch (const core::InfraError& e) {
        core::log::error("dependency failure",
                         {{"request_id", ctx->request_id}, {"route", ctx->route}, {"error", e.what()}});
    } catch (const std::exception& e) {
        core::log::error("unhandled exception", {{"request_id", ctx->request_id}, {"route", ctx->route}, {"error", e.what()}});
        co_return problem_response(*ctx, core::Errc::kInternal, "internal error");
    }
    auto res = problem_response(*ctx, core::Errc::kUnavailable, "a backing service is unavailable; try again");
    co_return res;
}

// The after hooks of a handled request, each guarded: a failure is logged, the answer stands.
asio::awaitable<void> run_after_hooks(const std::vector<AfterHook>* hooks,
                                      std::shared_ptr<detail::Exchange> exchange) {
    for (const auto& hook : *hooks) {
        try {
            co_await hook(exchange->ctx, *exchange->response);
        } catch (const std::exception& e) {
            core::log::error("after hook failed",
                             {{"request_id", exchange->ctx.request_id},
                              {"route", exchange->ctx.route},
                              {"error", e.what()}});
        }
    }
}

// The handler task of an exchange: runs the handler to its end (nothing cancels it), then the
// after hooks, keeps its answer and wakes the connection.
asio::awaitable<void> run_handler(const Route* route,
                                  const std::vector<AfterHook>* hooks,
                                  std::shared_ptr<detail::Exchange> exchange) {
    try {
        exchange->response = co_await guarded_handler(route, &exchange->ctx);
    } catch (const std::exception& e) {
        // Only building the problem response itself can fail here (out of memory).
        core::log::error(
            "unhandled exception",
            {{"request_id", exchange->ctx.request_id}, {"route", exchange->ctx.route}, {"error", e.what()}});
    }
    if (exchange->response && !hooks->empty()) co_await run_after_hooks(hooks, exchange);
    exchange->finish();
    if (exchange->overran) {
        const auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - exchange->started)
                .count();
        core::log::info("request finished after its budget",
                        {{"request_id", exchange->ctx.request_id},
                         {"route", exchange->ctx.route},
                         {"status", exchange->response ? exchange->response->result_int() : 500U},
                         {"duration_ms", ms}});
    }
}

}  // namespace

asio::awaitable<Response> Server::run_route(std::shared_ptr<detail::Exchange> exchange, const Route& route) {
    auto& ctx = exchange->ctx;
    std::vector<std::pair<std::string, std::string>> extra_headers;
    Response res;
    std::optional<Response> short_circuit;
    for (const auto& mw : middlewares_) {
        MiddlewareResult result;
        try {
            result = co_await mw(ctx, route);
        } catch (const std::exception& e) {
            core::log::error("middleware failed", {{"request_id", ctx.request_id}, {"route", ctx.route}, {"error", e.what()}});
            result.response = problem_response(ctx, core::Errc::kUnavailable, "a backing service is unavailable; try again");
        }
        for (auto& h : result.extra_headers) extra_headers.push_back(std::move(h));
        if (result.response) {
            short_circuit = std::move(result.response);
            break;
        }
    }
    if (short_circuit) {
        res = std::move(*short_circuit);
    } else if (std::chrono::steady_clock::now() >= ctx.deadline) {
        // The middleware used up the budget: the handler is not started at all.
        core::log::warn("request timed out before its handler",
                        {{"request_id", ctx.request_id}, {"route", ctx.route}});
        res = problem_response(ctx, core::Errc::kUnavailable, "the request took too long; try again");
    } else {
        // Not `handler || budget`: that would cancel the handler (see detail::Exchange).
        exchange->done.expires_at(ctx.deadline);
        core::spawn_tracked(
            co_await asio::this_coro::executor, run_handler(&route, &after_hooks_, exchange), "http.handler");
        if (!exchange->finished) co_await exchange->done.async_wait(kTuple);
        if (exchange->finished && exchange->response) {
            res = std::move(*exchange->response);
            exchange->response.reset();
        } else if (exchange->finished) {
            res = problem_response(ctx, core::Errc::kInternal, "internal error");
        } else {
            exchange->overran = true;
            core::log::warn("request timed out; its handler runs on",
                            {{"request_id", ctx.request_id}, {"route", ctx.route}});
            core::Metrics::global()
                .counter("emporium_http_handler_overruns_total",
                         "Requests answered 503 because their budget ran out while the handler still ran on",
                         {{"route", ctx.route}})
                .inc();
            res = problem_response(ctx, core::Errc::kUnavailable, "the request took too long; try again");
        }
    }
    for (auto& [k, v] : extra_headers) res.set(k, v);
    co_return res;
}

}  // namespace emporium::http
