#pragma once
// Internals shared by Client and Subscriber: RESP encoding, the hiredis reply reader, URL parsing
// and opening an authenticated connection. Not part of the public API.

#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <hiredis/read.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emporium::redis::detail {

// Where and how to connect, parsed from redis://[[user]:password@]host[:port][/db].
struct Endpoint {
    std::string host;
    std::string port = "6379";
    std::string username;  // empty: plain `AUTH password`
    std::string password;  // empty: no AUTH
    std::int64_t db = 0;   // 0: no SELECT
};

// Throws RedisError (without echoing the URL, which may hold a password) when `url` is malformed.
Endpoint parse_url(const std::string& url);

// Appends one command as a RESP array of bulk strings (binary safe: lengths, no escaping).
void append_command(std::string& out, const std::vector<std::string>& args);

struct ReaderDeleter {
    void operator()(redisReader* reader) const noexcept { redisReaderFree(reader); }
};
using ReaderPtr = std::unique_ptr<redisReader, ReaderDeleter>;

// A fresh hiredis reader; throws RedisError if it cannot be allocated.
ReaderPtr make_reader();
// Hands received bytes to the reader; throws RedisError on failure.
void feed(redisReader& reader, const char* data, std::size_t size);
// The next complete reply, or nullopt when more bytes are needed. Throws RedisError on a protocol
// error (the stream cannot be resynchronised after that: the caller drops the connection).
std::optional<Reply> next_reply(redisReader& reader);

// An open, authenticated connection with the db selected, and the reader that parsed the
// handshake (empty again, since nothing else was sent).
struct Link {
    boost::asio::ip::tcp::socket socket;
    ReaderPtr reader;
};

// Resolves, connects (TCP_NODELAY, SO_KEEPALIVE), sends AUTH / SELECT when the endpoint needs
// them. The whole sequence must finish within `timeout`. Throws RedisError on any failure,
// including the timeout (a connection that cannot be opened is "unavailable", not a slow command).
boost::asio::awaitable<Link> open_link(boost::asio::any_io_executor ex,
                                       Endpoint endpoint,
                                       std::chrono::milliseconds timeout);

// Exponential reconnect backoff shared by Client and Subscriber: after a failed attempt no new
// attempt is made before `retry_at`; the delay doubles up to the cap and resets on success.
class Backoff {
public:
    explicit Backoff(std::chrono::milliseconds cap) : cap_(cap) {}
    bool is_waiting(std::chrono::steady_clock::time_point now) const { return now < retry_at_; }
    std::chrono::steady_clock::time_point retry_at() const { return retry_at_; }
    // Records a failed attempt and returns the delay until the next one.
    std::chrono::milliseconds on_failure(std::chrono::steady_clock::time_point now);
    void on_success() {
        delay_ = std::chrono::milliseconds{0};
        retry_at_ = {};
    }

private:
    static constexpr std::chrono::milliseconds kFirstDelay{100};
    std::chrono::milliseconds cap_;
    std::chrono::milliseconds delay_{0};
    std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace emporium::redis::detail
