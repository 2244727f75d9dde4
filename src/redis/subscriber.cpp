// Subscriber: a connection in subscribe mode. Pushes are read inline by whichever call (subscribe
// or next) is waiting, so a Subscriber is driven by one coroutine at a time; messages read while
// waiting for subscribe confirmations are kept in an inbox for next().

#include "core/log.hpp"
#include "redis/cluster.hpp"
#include "redis/redis.hpp"
#include "redis/resp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <set>
#include <stdexcept>
#include <variant>

namespace emporium::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace boost::asio::experimental::awaitable_operators;

struct Subscriber::Impl {
    Impl(asio::any_io_executor executor, ClientOptions opts)
        : ex(std::move(executor)),
          options(std::move(opts)),
          endpoints(parse_endpoints(options.url)),
          backoff(options.max_backoff),
          buf(std::size_t{16} * 1024) {}

    asio::any_io_executor ex;
    ClientOptions options;
    // One endpoint, or a cluster's seeds: a PUBLISH reaches every node of a cluster, so any node
    // will do; after a failed connect the next one is tried.
    std::vector<detail::Endpoint> endpoints;
    std::size_t next_endpoint = 0;

    static std::vector<detail::Endpoint> parse_endpoints(const std::string& url) {
        std::vector<detail::Endpoint> out;
        if (!is_cluster_url(url)) {
            out.push_back(detail::parse_url(url));
            return out;
        }
        for (const auto& seed : detail::cluster_seed_urls(url)) out.push_back(detail::parse_url(seed));
        return out;
    }
    detail::Backoff backoff;
    std::optional<detail::Link> link;   // engaged while connected
    std::vector<std::string> channels;  // confirmed subscriptions, restored after a reconnect
    std::deque<Message> inbox;
    std::vector<char> buf;
    bool is_closed = false;
    bool is_busy = false;
};

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using ImplPtr = std::shared_ptr<Subscriber::Impl>;

// Marks the Subscriber as in use for one call; two coroutines reading the same socket would
// steal each other's replies, which is a bug in the caller.
class BusyGuard {
public:
    explicit BusyGuard(Subscriber::Impl& impl) : impl_(impl) {
        if (impl_.is_busy) throw std::logic_error("redis::Subscriber used by two coroutines at once");
        impl_.is_busy = true;
    }
    ~BusyGuard() { impl_.is_busy = false; }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;

private:
    Subscriber::Impl& impl_;
};

[[noreturn]] void drop_and_throw(Subscriber::Impl& impl, const std::string& reason) {
    impl.link.reset();
    throw RedisError(reason);
}

// Applies one push. `awaiting` holds channels whose subscribe confirmation is still due.
void handle_push(Subscriber::Impl& impl, Reply reply, std::set<std::string>& awaiting) {
    if (reply.is_error()) drop_and_throw(impl, "redis: subscribe refused: " + reply.str);
    if (reply.type != Reply::Type::kArray || reply.elements.empty() ||
        reply.elements[0].type != Reply::Type::kString) {
        drop_and_throw(impl, "redis: unexpected reply in subscribe mode");
    }
    const std::string& kind = reply.elements[0].str;
    if (kind == "message" && reply.elements.size() == 3) {
        impl.inbox.push_back(
            Subscriber::Message{std::move(reply.elements[1].str), std::move(reply.elements[2].str)});
    } else if (kind == "subscribe" && reply.elements.size() == 3) {
        awaiting.erase(reply.elements[1].str);
    }
    // "unsubscribe" and "pong" need no action; we never PSUBSCRIBE, so no "pmessage" arrives.
}

// Reads once and applies every complete push. Returns false if `deadline` passed first (the
// connection stays usable: a cancelled read consumes no bytes). Throws RedisError, after dropping
// the connection, if it failed.
asio::awaitable<bool> read_pushes(ImplPtr impl,
                                  std::optional<Clock::time_point> deadline,
                                  std::set<std::string>* awaiting) {
    std::set<std::string> unused;
    auto& pending = awaiting != nullptr ? *awaiting : unused;
    boost::system::error_code ec;
    std::size_t n = 0;
    if (deadline) {
        asio::steady_timer timer(impl->ex);
        timer.expires_at(*deadline);
        auto result = co_await (impl->link->socket.async_read_some(asio::buffer(impl->buf), kTuple) ||
                                timer.async_wait(kTuple));
        if (result.index() == 1) co_return false;
        std::tie(ec, n) = std::get<0>(result);
    } else {
        std::tie(ec, n) = co_await impl->link->socket.async_read_some(asio::buffer(impl->buf), kTuple);
    }
    if (impl->is_closed) drop_and_throw(*impl, "redis: subscriber is closed");
    if (ec) {
        drop_and_throw(*impl,
                       ec == asio::error::eof
                           ? std::string("redis: subscriber connection closed by the server")
                           : "redis: subscriber read failed: " + ec.message());
    }
    try {
        detail::feed(*impl->link->reader, impl->buf.data(), n);
        while (auto reply = detail::next_reply(*impl->link->reader)) {
            handle_push(*impl, std::move(*reply), pending);
        }
    } catch (const RedisError& e) {
        drop_and_throw(*impl, e.what());
    }
    co_return true;
}

// Sends SUBSCRIBE and waits (up to command_timeout) until every channel is confirmed, so a
// PUBLISH issued after this returns is guaranteed to reach us.
asio::awaitable<void> send_subscribe(ImplPtr impl, std::vector<std::string> channels) {
    std::vector<std::string> args{std::string("SUBSCRIBE")};
    args.insert(args.end(), channels.begin(), channels.end());
    std::string bytes;
    detail::append_command(bytes, args);
    auto [ec, written] = co_await asio::async_write(impl->link->socket, asio::buffer(bytes), kTuple);
    if (ec) drop_and_throw(*impl, "redis: subscriber write failed: " + ec.message());

    std::set<std::string> awaiting(channels.begin(), channels.end());
    auto deadline = Clock::now() + impl->options.command_timeout;
    while (!awaiting.empty()) {
        if (!co_await read_pushes(impl, deadline, &awaiting)) {
            impl->link.reset();  // a confirmation may still arrive later; start clean instead
            throw RedisTimeoutError("redis: SUBSCRIBE not confirmed within " +
                                    std::to_string(impl->options.command_timeout.count()) + " ms");
        }
    }
}

// Connects (and restores subscriptions) unless connected. Inside the backoff window it either
// fails fast or, for a consumer loop (`wait_out_backoff`), sleeps until the next attempt is due.
asio::awaitable<void> ensure_connected(ImplPtr impl, bool wait_out_backoff) {
    if (impl->is_closed) throw RedisError("redis: subscriber is closed");
    if (impl->link) co_return;
    if (impl->backoff.is_waiting(Clock::now())) {
        if (!wait_out_backoff) throw RedisError("redis: unavailable (waiting for reconnect backoff)");
        asio::steady_timer timer(impl->ex);
        timer.expires_at(impl->backoff.retry_at());
        co_await timer.async_wait(kTuple);  // an early wake (cancellation) just tries sooner
        if (impl->is_closed) throw RedisError("redis: subscriber is closed");
    }
    try {
        impl->link.emplace(
            co_await detail::open_link(impl->ex,
                                       impl->endpoints[impl->next_endpoint % impl->endpoints.size()],
                                       impl->options.connect_timeout));
    } catch (const RedisError& e) {
        ++impl->next_endpoint;
        auto delay = impl->backoff.on_failure(Clock::now());
        core::log::warn("redis subscriber connect failed",
                        {{"error", e.what()}, {"retry_in_ms", delay.count()}});
        throw;
    }
    impl->backoff.on_success();
    if (!impl->channels.empty()) co_await send_subscribe(impl, impl->channels);
}

asio::awaitable<void> do_subscribe(ImplPtr impl, std::vector<std::string> channels) {
    BusyGuard busy(*impl);
    co_await ensure_connected(impl, false);
    std::vector<std::string> fresh;
    for (auto& channel : channels) {
        bool known =
            std::find(impl->channels.begin(), impl->channels.end(), channel) != impl->channels.end() ||
            std::find(fresh.begin(), fresh.end(), channel) != fresh.end();
        if (!known) fresh.push_back(std::move(channel));
    }
    if (fresh.empty()) co_return;
    co_await send_subscribe(impl, fresh);
    impl->channels.insert(impl->channels.end(), fresh.begin(), fresh.end());
}

asio::awaitable<Subscriber::Message> do_next(ImplPtr impl, std::optional<std::chrono::milliseconds> timeout) {
    BusyGuard busy(*impl);
    std::optional<Clock::time_point> deadline;
    if (timeout) deadline = Clock::now() + *timeout;
    for (;;) {
        if (!impl->inbox.empty()) {
            auto message = std::move(impl->inbox.front());
            impl->inbox.pop_front();
            co_return message;
        }
        co_await ensure_connected(impl, true);
        if (!co_await read_pushes(impl, deadline, nullptr)) {
            throw RedisTimeoutError("redis: no message within " + std::to_string(timeout->count()) + " ms");
        }
    }
}

}  // namespace

Subscriber::Subscriber(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

Subscriber::~Subscriber() {
    close();
}

asio::awaitable<void> Subscriber::subscribe(std::vector<std::string> channels) {
    return do_subscribe(impl_, std::move(channels));
}

asio::awaitable<Subscriber::Message> Subscriber::next(std::optional<std::chrono::milliseconds> timeout) {
    return do_next(impl_, timeout);
}

bool Subscriber::is_connected() const {
    return impl_->link.has_value() && !impl_->is_closed;
}

void Subscriber::close() {
    impl_->is_closed = true;
    if (!impl_->is_busy) {
        impl_->link.reset();
    } else if (impl_->link) {
        // Only close here: a suspended next() still owns a read on this socket and drops the
        // link itself when that read completes with an error.
        boost::system::error_code ignored;  // nothing useful to do if close fails
        impl_->link->socket.close(ignored);
    }
}

}  // namespace emporium::redis
