#pragma once
// The operator's port: GET /metrics (Prometheus text format) and GET /healthz on a listener of
// their own (METRICS_HOST:METRICS_PORT), apart from the public API, in every long-running process
// (serve, worker, scheduler). With a token (METRICS_TOKEN) /metrics also wants
// `Authorization: Bearer <token>`. One request per connection; errors are problem+json like the
// API's (404 for other paths, 405 for other methods, 401 without the token).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace emporium::http {

// Whether `authorization` is "Bearer <token>" (compared in constant time). An empty token accepts
// every request.
bool metrics_authorized(std::string_view authorization, std::string_view token);

class MetricsListener {
public:
    // Binds host:port (port 0: an ephemeral one). Throws boost::system::system_error when it cannot.
    MetricsListener(const boost::asio::any_io_executor& ex, const std::string& host, unsigned short port, std::string token);

    unsigned short port() const;
    // Accepts until stop(); spawn it on the listener's executor.
    boost::asio::awaitable<void> run();
    void stop();

private:
    boost::asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<const std::string> token_;
};

}  // namespace emporium::http
