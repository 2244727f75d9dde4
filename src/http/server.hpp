#pragma once

#include "core/config.hpp"
#include "core/runtime.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

namespace emporium::http {

namespace detail {
struct Exchange;
}  // namespace detail

// Runs before the route handler, in registration order. Returning a response short-circuits the
// chain (rate limiting, authentication). May add headers through `extra_headers`.
struct MiddlewareResult {  // NOLINT(bugprone-exception-escape): Beast's response moves without throwing but is not declared noexcept
    std::optional<Response> response;
    std::vector<std::pair<std::string, std::string>> extra_headers;
};
using Middleware = std::function<boost::asio::awaitable<MiddlewareResult>(RequestContext&, const Route&)>;

// Runs after the route handler has returned and before its response is sent, in registration
// order (only for requests whose handler ran). For work that must be done before the client can
// see the answer (recording a client's write position). An exception is logged, never sent.
using AfterHook = std::function<boost::asio::awaitable<void>(const RequestContext&, const Response&)>;

// HTTP/1.1 server: one acceptor, connections spread over the runtime's io_contexts, each
// connection a coroutine on its context. Keep-alive and pipelining (requests are answered in order),
// header/body limits, header/idle/request timeouts, problem+json errors, graceful drain.
//
// The request budget (HttpConfig::request_timeout) bounds how long a client waits, not how long a
// handler runs: a handler is never interrupted. When the budget runs out the client gets 503 with
// `Connection: close` at once, the handler runs on to its end (so its cleanup after an await always
// runs: stock reservations given back, locks released, idempotency keys finished or freed), and
// only then is the connection closed. Every step of a handler is bounded by its own timeout (pool,
// statement, Redis command, lock retries), so the overrun is bounded too; the open connection keeps
// counting against max_connections and the shutdown drain waits for it.
class Server {
public:
    Server(core::Runtime& runtime, core::HttpConfig config, const Router& router);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }
    void after(AfterHook hook) { after_hooks_.push_back(std::move(hook)); }

    // Binds host:port (port 0 = any free port), starts accepting; returns the bound port.
    // Throws std::system_error when the address cannot be bound.
    std::uint16_t start();

    // Stops accepting, closes idle connections, lets in-flight requests finish, then calls
    // `on_drained` (on context 0) once every connection is closed or the grace period elapsed.
    void shutdown(std::function<void()> on_drained);

    std::size_t active_connections() const { return active_.load(); }

    // All X-Forwarded-For field lines of `req` as one comma-separated list, in order.
    static std::string forwarded_for(const Request& req);
    // Resolves the client address from the peer and, for trusted proxies only, X-Forwarded-For.
    static std::string client_ip(const std::string& peer, std::string_view forwarded_for,
                                 const std::vector<std::string>& trusted_proxies);

private:
    struct Session;
    friend boost::asio::awaitable<void> run_session(Server* server, boost::asio::ip::tcp::socket socket);
    friend boost::asio::awaitable<void> accept_loop(Server* server);

    boost::asio::awaitable<Response> dispatch(
        std::shared_ptr<detail::Exchange> exchange,
        // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Session& session,
        // NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::string& route);
    boost::asio::awaitable<Response> run_route(std::shared_ptr<detail::Exchange> exchange,
                                               const Route& route);
    void wait_drained(std::shared_ptr<boost::asio::steady_timer> timer, std::chrono::steady_clock::time_point until,
                      std::function<void()> on_drained);

    core::Runtime& runtime_;
    core::HttpConfig config_;
    const Router& router_;
    std::vector<Middleware> middlewares_;
    std::vector<AfterHook> after_hooks_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<std::size_t> active_{0};
    std::atomic<bool> draining_{false};
    // Per context: its live sessions (touched only from that context's thread).
    std::vector<std::unordered_set<Session*>> sessions_;
};

}  // namespace emporium::http
