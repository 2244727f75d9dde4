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

// Runs before the route handler, in registration order. Returning a response short-circuits the
// chain (rate limiting, authentication). May add headers through `extra_headers`.
struct MiddlewareResult {
    std::optional<Response> response;
    std::vector<std::pair<std::string, std::string>> extra_headers;
};
using Middleware = std::function<boost::asio::awaitable<MiddlewareResult>(RequestContext&, const Route&)>;

// HTTP/1.1 server: one acceptor, connections spread over the runtime's io_contexts, each
// connection a coroutine on its context. Keep-alive and pipelining (requests are answered in order),
// header/body limits, header/idle/request timeouts, problem+json errors, graceful drain.
class Server {
public:
    Server(core::Runtime& runtime, core::HttpConfig config, const Router& router);
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    ~Server();

    void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }

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

    boost::asio::awaitable<Response> dispatch(Request& req, Session& session, std::string request_id, std::string& route);
    boost::asio::awaitable<Response> run_route(RequestContext& ctx, const Route& route);
    void wait_drained(std::shared_ptr<boost::asio::steady_timer> timer, std::chrono::steady_clock::time_point until,
                      std::function<void()> on_drained);

    core::Runtime& runtime_;
    core::HttpConfig config_;
    const Router& router_;
    std::vector<Middleware> middlewares_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<std::size_t> active_{0};
    std::atomic<bool> draining_{false};
    // Per context: its live sessions (touched only from that context's thread).
    std::vector<std::unordered_set<Session*>> sessions_;
};

}  // namespace emporium::http
