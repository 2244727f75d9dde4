#include "redis/resp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <variant>

namespace emporium::redis::detail {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct ReplyDeleter {
    void operator()(void* reply) const noexcept { freeReplyObject(reply); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

// Recursion depth is bounded: hiredis 0.14 rejects replies nested deeper than its 9-level stack.
Reply convert(const redisReply& in) {  // NOLINT(misc-no-recursion): depth bounded by hiredis, see above
    Reply out;
    switch (in.type) {
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::kString;
            out.str.assign(in.str, in.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.str.assign(in.str, in.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::kError;
            out.str.assign(in.str, in.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = in.integer;
            break;
        case REDIS_REPLY_NIL:
            out.type = Reply::Type::kNil;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(in.elements);
            for (std::size_t i = 0; i < in.elements; ++i) {
                out.elements.push_back(convert(*in.element[i]));
            }
            break;
        default:
            // hiredis 0.14 only produces the six RESP2 types; anything else means a reader we do
            // not understand, and the stream can no longer be trusted.
            throw RedisError("redis: unknown reply type " + std::to_string(in.type));
    }
    return out;
}

void append_decimal(std::string& out, std::size_t value) {
    std::array<char, 24> digits{};
    auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), value);
    // 24 characters hold any 64-bit value, so to_chars cannot fail here.
    out.append(digits.data(), end);
    static_cast<void>(ec);
}

// Writes `bytes` and reads replies until `count` arrived; returns them. Used only for the
// handshake, before the connection is shared.
asio::awaitable<std::vector<Reply>> exchange(
    tcp::socket& socket,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                          // awaited directly by open_link
    redisReader& reader,
    std::string bytes,
    std::size_t count) {
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(bytes), kTuple);
    if (wec) throw RedisError("redis: handshake write failed: " + wec.message());
    std::vector<Reply> replies;
    std::array<char, 4096> buf{};
    while (replies.size() < count) {
        while (auto reply = next_reply(reader)) {
            replies.push_back(std::move(*reply));
        }
        if (replies.size() >= count) break;
        auto [rec, n] = co_await socket.async_read_some(asio::buffer(buf), kTuple);
        if (rec) throw RedisError("redis: handshake read failed: " + rec.message());
        feed(reader, buf.data(), n);
    }
    co_return replies;
}

// AUTH and SELECT, as needed by the endpoint.
std::vector<std::vector<std::string>> handshake_commands(const Endpoint& endpoint) {
    std::vector<std::vector<std::string>> out;
    if (!endpoint.password.empty()) {
        if (endpoint.username.empty()) {
            out.push_back({"AUTH", endpoint.password});
        } else {
            out.push_back({"AUTH", endpoint.username, endpoint.password});
        }
    }
    if (endpoint.db != 0) out.push_back({"SELECT", std::to_string(endpoint.db)});
    return out;
}

asio::awaitable<Link> open_link_unbounded(asio::any_io_executor ex, Endpoint endpoint) {
    tcp::resolver resolver(ex);
    auto [rec, endpoints] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kTuple);
    if (rec) throw RedisError("redis: cannot resolve " + endpoint.host + ": " + rec.message());

    Link link{tcp::socket(ex), make_reader()};
    auto [cec, connected] = co_await asio::async_connect(link.socket, endpoints, kTuple);
    if (cec) {
        throw RedisError("redis: cannot connect to " + endpoint.host + ":" + endpoint.port + ": " +
                         cec.message());
    }
    boost::system::error_code ec;
    // Small commands must not wait for Nagle; keepalive detects a peer that vanished silently
    // (matters for idle Subscribers and blocking commands).
    link.socket.set_option(tcp::no_delay(true), ec);
    if (ec) throw RedisError("redis: TCP_NODELAY: " + ec.message());
    link.socket.set_option(asio::socket_base::keep_alive(true), ec);
    if (ec) throw RedisError("redis: SO_KEEPALIVE: " + ec.message());

    auto hello = handshake_commands(endpoint);
    if (!hello.empty()) {
        std::string bytes;
        for (const auto& args : hello) append_command(bytes, args);
        auto replies = co_await exchange(link.socket, *link.reader, std::move(bytes), hello.size());
        for (const auto& reply : replies) {
            // The server's error text never contains the password we sent, so it is safe to keep.
            if (!reply.is_ok()) throw RedisError("redis: handshake refused: " + reply.str);
        }
    }
    co_return link;
}

// The outcome of one attempt, never thrown: `||` below waits for the first operation that
// *succeeds*, so a thrown "connection refused" would only surface when the deadline expired.
struct Attempt {
    std::optional<Link> link;
    std::exception_ptr error;
};

asio::awaitable<Attempt> try_open_link(asio::any_io_executor ex, Endpoint endpoint) {
    Attempt attempt;
    try {
        attempt.link.emplace(co_await open_link_unbounded(std::move(ex), std::move(endpoint)));
    } catch (const std::exception&) {
        attempt.error = std::current_exception();
    }
    co_return attempt;
}

}  // namespace

Endpoint parse_url(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw RedisError("redis: malformed URL (expected redis://[:password@]host:port[/db])");
    const auto& u = *parsed;
    if (u.scheme() != "redis") throw RedisError("redis: unsupported URL scheme (only redis:// is supported)");
    Endpoint endpoint;
    endpoint.host = u.host_address();
    if (endpoint.host.empty()) throw RedisError("redis: URL has no host");
    if (u.has_port()) endpoint.port = u.port();
    if (u.has_password()) {
        endpoint.username = u.user();
        endpoint.password = u.password();
    }
    std::string path = u.path();
    if (!path.empty() && path != "/") {
        std::string_view digits(path);
        digits.remove_prefix(1);
        std::int64_t db = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), db);
        if (ec != std::errc{} || end != digits.data() + digits.size() || db < 0) {
            throw RedisError("redis: URL path must be a database number");
        }
        endpoint.db = db;
    }
    return endpoint;
}

void append_command(std::string& out, const std::vector<std::string>& args) {
    out += '*';
    append_decimal(out, args.size());
    out += "\r\n";
    for (const auto& arg : args) {
        out += '$';
        append_decimal(out, arg.size());
        out += "\r\n";
        out += arg;
        out += "\r\n";
    }
}

ReaderPtr make_reader() {
    ReaderPtr reader(redisReaderCreate());
    if (!reader) throw RedisError("redis: cannot allocate a reply reader");
    return reader;
}

void feed(redisReader& reader, const char* data, std::size_t size) {
    if (redisReaderFeed(&reader, data, size) != REDIS_OK) {
        throw RedisError(std::string("redis: reader rejected input: ") + redisReaderGetError(&reader));
    }
}

std::optional<Reply> next_reply(redisReader& reader) {
    void* raw = nullptr;
    if (redisReaderGetReply(&reader, &raw) != REDIS_OK) {
        throw RedisError(std::string("redis: protocol error: ") + redisReaderGetError(&reader));
    }
    if (raw == nullptr) return std::nullopt;
    ReplyPtr owned(raw);
    return convert(*static_cast<const redisReply*>(raw));
}

asio::awaitable<Link> open_link(asio::any_io_executor ex,
                                Endpoint endpoint,
                                std::chrono::milliseconds timeout) {
    asio::steady_timer deadline(ex);
    deadline.expires_after(timeout);
    // The loser of `||` is cancelled: a timeout aborts whichever step (resolve, connect,
    // handshake) is in progress, and its socket is closed when the coroutine frame unwinds.
    auto result = co_await (try_open_link(ex, std::move(endpoint)) || deadline.async_wait(kTuple));
    if (result.index() == 1) {
        throw RedisError("redis: connect timed out after " + std::to_string(timeout.count()) + " ms");
    }
    auto& attempt = std::get<0>(result);
    if (attempt.error) std::rethrow_exception(attempt.error);
    co_return std::move(*attempt.link);
}

std::chrono::milliseconds Backoff::on_failure(std::chrono::steady_clock::time_point now) {
    delay_ = delay_.count() == 0 ? std::min(kFirstDelay, cap_) : std::min(delay_ * 2, cap_);
    retry_at_ = now + delay_;
    return delay_;
}

}  // namespace emporium::redis::detail
