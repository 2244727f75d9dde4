// Client: one TCP connection carrying many concurrent commands.
//
// Each command becomes a Pending entry in its connection's FIFO and its RESP bytes are appended to
// the connection's write buffer. One writer coroutine per connection drains that buffer (writes
// from many coroutines coalesce into few syscalls), one reader coroutine parses replies with
// hiredis and hands them, in order, to the front of the FIFO. Redis answers strictly in request
// order on a connection, which is what makes this matching correct, and also why a command that
// times out poisons the connection: its late reply would be given to the next waiter. So a
// timeout closes the connection and fails every other in-flight command.
//
// A waiter sleeps on its own steady_timer set to its deadline; the reader cancels the timer to
// wake it early. Everything runs on the Client's single-threaded executor: no locks.

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"
#include "redis/cluster.hpp"
#include "redis/redis.hpp"
#include "redis/resp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <charconv>
#include <deque>
#include <exception>
#include <utility>

namespace emporium::redis {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = std::size_t{64} * 1024;
}  // namespace

// ---- Reply --------------------------------------------------------------------------------------

std::int64_t Reply::as_int() const {
    if (type == Type::kInteger) return integer;
    if (type == Type::kString) {
        std::int64_t value = 0;
        const char* end = str.data() + str.size();
        auto [ptr, ec] = std::from_chars(str.data(), end, value);
        if (ec == std::errc{} && ptr == end && !str.empty()) return value;
    }
    throw RedisError("redis: reply is not an integer");
}

const std::string& Reply::as_string() const {
    if (type == Type::kString || type == Type::kStatus) return str;
    if (type == Type::kError) throw RedisError("redis: error reply: " + str);
    throw RedisError("redis: reply is not a string");
}

// ---- Client internals ---------------------------------------------------------------------------

namespace detail {

// One command (or one pipeline) waiting for `expected` replies.
struct Pending {
    explicit Pending(const asio::any_io_executor& ex, std::size_t n) : wakeup(ex), expected(n) {}
    asio::steady_timer wakeup;  // expires at the deadline; cancelled when the result is in
    std::size_t expected;
    std::vector<Reply> replies;
    std::exception_ptr error;
    bool done = false;

    void finish(std::exception_ptr e) {
        done = true;
        error = std::move(e);
        wakeup.cancel();
    }
};

// One TCP connection (or one attempt at opening it) and the commands queued on it. A new
// Connection object is made for every (re)connect, so stale reader/writer coroutines of an old
// connection can recognise themselves (state kClosed) and never touch the new one's queue.
struct Connection {
    enum class State { kConnecting, kReady, kClosed };
    explicit Connection(const asio::any_io_executor& ex) : socket(ex) {}
    tcp::socket socket;
    ReaderPtr reader;
    State state = State::kConnecting;
    std::deque<std::shared_ptr<Pending>> pending;  // FIFO, in the order their bytes were queued
    std::string outbox;                            // bytes not yet handed to the socket
    bool is_writing = false;
};

}  // namespace detail

struct Client::Impl {
    Impl(asio::any_io_executor executor, ClientOptions opts)
        : ex(std::move(executor)),
          options(std::move(opts)),
          endpoint(is_cluster_url(options.url) ? detail::Endpoint{} : detail::parse_url(options.url)),
          backoff(options.max_backoff) {
        if (is_cluster_url(options.url)) cluster = detail::make_cluster(ex, options);
    }

    asio::any_io_executor ex;
    ClientOptions options;
    detail::Endpoint endpoint;
    std::shared_ptr<detail::Connection> conn;  // null while disconnected
    detail::Backoff backoff;
    bool is_closed = false;
    detail::ClusterPtr cluster;  // set for a redis+cluster:// URL: every call goes through it
};

namespace detail {
namespace {

using ImplPtr = std::shared_ptr<Client::Impl>;
using ConnPtr = std::shared_ptr<Connection>;

// Closes `conn` and fails everything queued on it with RedisError(reason). Idempotent.
void drop(Client::Impl& impl, const ConnPtr& conn, const std::string& reason) {
    if (conn->state == Connection::State::kClosed) return;
    conn->state = Connection::State::kClosed;
    boost::system::error_code ignored;  // closing a socket that failed may itself fail; nothing to do then
    conn->socket.close(ignored);
    conn->outbox.clear();
    auto pending = std::exchange(conn->pending, {});
    if (impl.conn == conn) impl.conn.reset();
    for (const auto& op : pending) {
        op->finish(std::make_exception_ptr(RedisError(reason)));
    }
}

asio::awaitable<void> write_loop(ImplPtr impl, ConnPtr conn) {
    std::string sending;
    while (conn->state == Connection::State::kReady && !conn->outbox.empty()) {
        sending.clear();
        sending.swap(conn->outbox);  // commands queued while we write go into the (now empty) outbox
        auto [ec, n] = co_await asio::async_write(conn->socket, asio::buffer(sending), kTuple);
        if (ec) {
            drop(*impl, conn, "redis: write failed: " + ec.message());
            break;
        }
    }
    conn->is_writing = false;
}

// "Write if not writing": at most one writer per connection, started on demand.
void kick_writer(const ImplPtr& impl, const ConnPtr& conn) {
    if (conn->state != Connection::State::kReady || conn->is_writing || conn->outbox.empty()) return;
    conn->is_writing = true;
    core::spawn_tracked(impl->ex, write_loop(impl, conn), "redis.write");
}

// Hands one reply to the oldest waiter; throws RedisError for a reply nobody asked for.
void deliver(Connection& conn, Reply reply) {
    if (conn.pending.empty()) throw RedisError("redis: unexpected reply (no command in flight)");
    auto& op = conn.pending.front();
    op->replies.push_back(std::move(reply));
    if (op->replies.size() < op->expected) return;
    auto finished = std::move(op);
    conn.pending.pop_front();
    finished->finish(nullptr);
}

asio::awaitable<void> read_loop(ImplPtr impl, ConnPtr conn) {
    std::vector<char> buf(kReadChunk);
    for (;;) {
        auto [ec, n] = co_await conn->socket.async_read_some(asio::buffer(buf), kTuple);
        if (conn->state == Connection::State::kClosed) co_return;
        if (ec) {
            drop(*impl,
                 conn,
                 ec == asio::error::eof ? std::string("redis: connection closed by the server")
                                        : "redis: read failed: " + ec.message());
            co_return;
        }
        try {
            feed(*conn->reader, buf.data(), n);
            while (auto reply = next_reply(*conn->reader)) {
                deliver(*conn, std::move(*reply));
            }
        } catch (const RedisError& e) {
            drop(*impl, conn, e.what());
            co_return;
        }
    }
}

asio::awaitable<void> connect_task(ImplPtr impl, ConnPtr conn) {
    std::string failure;
    try {
        auto link = co_await open_link(impl->ex, impl->endpoint, impl->options.connect_timeout);
        // close() or a command timeout may have abandoned this attempt meanwhile; the new socket
        // is then simply closed when `link` goes out of scope.
        if (conn->state != Connection::State::kConnecting) co_return;
        conn->socket = std::move(link.socket);
        conn->reader = std::move(link.reader);
        conn->state = Connection::State::kReady;
        impl->backoff.on_success();
        core::log::debug("redis connected", {{"host", impl->endpoint.host}, {"port", impl->endpoint.port}});
        core::spawn_tracked(impl->ex, read_loop(impl, conn), "redis.read");
        kick_writer(impl, conn);
        co_return;
    } catch (const std::exception& e) {
        failure = e.what();
    }
    if (conn->state != Connection::State::kConnecting) co_return;
    auto delay = impl->backoff.on_failure(Clock::now());
    core::log::warn("redis connect failed",
                    {{"host", impl->endpoint.host},
                     {"port", impl->endpoint.port},
                     {"error", failure},
                     {"retry_in_ms", delay.count()}});
    drop(*impl, conn, failure);
}

// The connection new commands go to, starting a connect if there is none. Throws RedisError
// while the client is closed or inside the reconnect backoff window (fail fast, no hammering).
ConnPtr acquire(const ImplPtr& impl) {
    if (impl->is_closed) throw RedisError("redis: client is closed");
    if (impl->conn) return impl->conn;
    if (impl->backoff.is_waiting(Clock::now())) {
        throw RedisError("redis: unavailable (waiting for reconnect backoff)");
    }
    impl->conn = std::make_shared<Connection>(impl->ex);
    core::spawn_tracked(impl->ex, connect_task(impl, impl->conn), "redis.connect");
    return impl->conn;
}

// Queues `commands` as one unit and waits for all their replies.
asio::awaitable<std::vector<Reply>> execute(ImplPtr impl,
                                            std::vector<std::vector<std::string>> commands,
                                            std::chrono::milliseconds timeout) {
    auto conn = acquire(impl);
    auto deadline = Clock::now() + timeout;
    auto op = std::make_shared<Pending>(impl->ex, commands.size());
    for (const auto& args : commands) {
        append_command(conn->outbox, args);
    }
    conn->pending.push_back(op);
    kick_writer(impl, conn);

    op->wakeup.expires_at(deadline);
    const auto started = Clock::now();
    // Nothing can complete `op` before we suspend (single thread), but stay correct if it did:
    // cancel() only wakes a wait that has already started.
    if (!op->done) co_await op->wakeup.async_wait(kTuple);
    static auto& errors = core::Metrics::global().counter(
        "emporium_redis_errors_total", "Redis commands or pipelines that failed (connection lost, timeout)");
    if (op->done) {
        // Blocking reads (XREADGROUP … BLOCK) pass their own, longer timeout: not latency.
        if (timeout == impl->options.command_timeout) {
            static auto& latency =
                core::Metrics::global().histogram("emporium_redis_command_duration_seconds",
                                                  "Redis commands and pipelines: time to the last reply");
            latency.observe(std::chrono::duration<double>(Clock::now() - started).count());
        }
        if (op->error) {
            errors.inc();
            std::rethrow_exception(op->error);
        }
        co_return std::move(op->replies);
    }
    errors.inc();
    if (Clock::now() < deadline) {
        // Our own coroutine was cancelled (e.g. the caller's `||`). The op stays queued so its
        // reply is still matched, and is then discarded.
        throw boost::system::system_error(asio::error::operation_aborted);
    }
    drop(*impl, conn, "redis: connection reset after another command timed out");
    throw RedisTimeoutError("redis: command timed out after " + std::to_string(timeout.count()) + " ms");
}

bool is_noscript(const Reply& reply) {
    return reply.is_error() && reply.str.starts_with("NOSCRIPT");
}

}  // namespace
}  // namespace detail

// ---- Client -------------------------------------------------------------------------------------

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

// NOLINTNEXTLINE(bugprone-exception-escape): only logging's bad_alloc can escape; terminating is fine then
Client::~Client() {
    try {
        close();
    } catch (const std::exception& e) {
        // Failing the in-flight commands allocates; a destructor must not throw. Nothing else to do.
        core::log::error("redis client close failed", {{"error", e.what()}});
    }
}

asio::awaitable<Reply> Client::command(std::vector<std::string> args,
                                       std::optional<std::chrono::milliseconds> timeout) {
    std::vector<std::vector<std::string>> one;
    one.push_back(std::move(args));
    if (impl_->cluster) {
        auto routed = co_await detail::cluster_execute(impl_->cluster, std::move(one), timeout);
        co_return std::move(routed.front());
    }
    auto replies =
        co_await detail::execute(impl_, std::move(one), timeout.value_or(impl_->options.command_timeout));
    co_return std::move(replies.front());
}

asio::awaitable<std::vector<Reply>> Client::pipeline(std::vector<std::vector<std::string>> commands) {
    if (commands.empty()) co_return std::vector<Reply>{};
    if (impl_->cluster)
        co_return co_await detail::cluster_execute(impl_->cluster, std::move(commands), std::nullopt);
    co_return co_await detail::execute(impl_, std::move(commands), impl_->options.command_timeout);
}

asio::awaitable<Reply> Client::eval(Script script,
                                    std::vector<std::string> keys,
                                    std::vector<std::string> args) {
    if (impl_->cluster) {
        co_return co_await detail::cluster_eval(
            impl_->cluster, std::move(script), std::move(keys), std::move(args));
    }
    auto evalsha = detail::evalsha_command(script, std::move(keys), std::move(args));

    auto reply = co_await command(evalsha);
    if (!detail::is_noscript(reply)) co_return reply;
    // The server lost its script cache (restart, SCRIPT FLUSH, failover). Load and run in one
    // round trip; a failing load (a syntax error) is returned as the error reply it is.
    // Not a braced list inside co_await: GCC 12 rejects that (see redis::cmd).
    std::vector<std::vector<std::string>> load_and_run(2);
    load_and_run[0] = {std::string("SCRIPT"), std::string("LOAD"), script.source()};
    load_and_run[1] = std::move(evalsha);
    auto replies = co_await pipeline(std::move(load_and_run));
    if (replies[0].is_error()) co_return std::move(replies[0]);
    co_return std::move(replies[1]);
}

asio::awaitable<void> Client::ping() {
    // Built outside the co_await expression: GCC 12 rejects a braced list of string literals
    // inside one ("array used as initializer").
    std::vector<std::string> args{std::string("PING")};
    auto reply = co_await command(std::move(args));
    if (reply.type != Reply::Type::kStatus || reply.str != "PONG") {
        throw RedisError("redis: unexpected PING reply: " + reply.str);
    }
}

bool Client::is_connected() const {
    if (impl_->cluster) return detail::cluster_is_connected(*impl_->cluster);
    return impl_->conn && impl_->conn->state == detail::Connection::State::kReady;
}

asio::awaitable<std::int64_t> Client::wait_replicas(std::string key,
                                                    std::int64_t replicas,
                                                    std::chrono::milliseconds timeout) {
    auto args = cmd("WAIT", replicas, timeout.count());
    // The server holds the reply up to `timeout`: give the command that long and its own budget.
    const auto budget = impl_->options.command_timeout + timeout;
    if (impl_->cluster) {
        auto reply = co_await detail::cluster_wait(impl_->cluster, std::move(key), std::move(args), budget);
        co_return reply.as_int();
    }
    auto reply = co_await command(std::move(args), budget);
    co_return reply.as_int();
}

bool Client::is_cluster() const { return static_cast<bool>(impl_->cluster); }

void Client::close() {
    impl_->is_closed = true;
    if (impl_->cluster) detail::cluster_close(*impl_->cluster);
    if (impl_->conn) detail::drop(*impl_, impl_->conn, "redis: client is closed");
}

}  // namespace emporium::redis
