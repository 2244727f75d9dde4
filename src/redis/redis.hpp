#pragma once
// Asynchronous Redis client: RESP over an Asio socket, replies parsed by hiredis's redisReader.
// One Client is one TCP connection that carries many concurrent commands (pipelined, answered in
// order). Connects lazily, reconnects with backoff; EVALSHA falls back to SCRIPT LOAD on NOSCRIPT.
//
// Threading: a Client / Subscriber belongs to the executor it was created with (one io_context
// thread) and must only be used from that thread. It must outlive the calls made on it.
//
// Failure model:
//  - An error *reply* (wrong type, unknown command, a Lua error) is a Reply of type kError.
//  - RedisError: the connection failed or could not be opened, or the client is inside its
//    reconnect backoff window (then it fails fast without touching the network). The next command
//    after the backoff reconnects, so a restarted server is picked up without a new Client.
//  - RedisTimeoutError: no reply within the timeout. Redis answers in order, so the late reply
//    would be taken for the next command's: the connection is closed, the other commands in flight
//    on it fail with RedisError, and the next command reconnects.

#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace emporium::redis {

// Connection lost, cannot connect, protocol error or timeout.
class RedisError : public core::InfraError {
public:
    using core::InfraError::InfraError;
};
class RedisTimeoutError : public core::TimeoutError {
public:
    using core::TimeoutError::TimeoutError;
};

struct Reply {
    enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
    Type type = Type::kNil;
    std::string str;  // kString, kStatus, kError
    std::int64_t integer = 0;
    std::vector<Reply> elements;

    bool is_nil() const { return type == Type::kNil; }
    bool is_error() const { return type == Type::kError; }
    bool is_ok() const { return type == Type::kStatus && str == "OK"; }
    // The integer of an integer reply, or of a string reply holding a number; throws RedisError otherwise.
    std::int64_t as_int() const;
    // The text of a string/status reply; throws RedisError for nil/error/array.
    const std::string& as_string() const;
};

struct ClientOptions {
    // redis://[[user]:password@]host[:port][/db]; AUTH and SELECT are sent after every connect.
    // Or redis+cluster://[[user]:password@]host:port[,host:port…]: a Redis Cluster reached through
    // any of these seeds (see Client).
    std::string url = "redis://127.0.0.1:6379/0";
    std::chrono::milliseconds command_timeout{2000};  // default per command / pipeline
    std::chrono::milliseconds connect_timeout{1000};  // resolve + connect + AUTH/SELECT
    // Reconnect backoff after a failed connect: 100 ms, doubling up to this cap, reset on success.
    std::chrono::milliseconds max_backoff{2000};
};

// A Lua script; its SHA1 is computed locally so EVALSHA needs no round trip first.
class Script {
public:
    explicit Script(std::string source);
    const std::string& source() const { return source_; }
    const std::string& sha1() const { return sha1_; }

private:
    std::string source_;
    std::string sha1_;
};

// Redis Cluster: CRC16/XMODEM of `data`, and the slot (0…16383) of a key: the CRC16 of its hash tag
// (the part between the first '{' and the next '}', when not empty) or of the whole key.
std::uint16_t crc16(std::string_view data);
std::uint16_t key_slot(std::string_view key);
bool is_cluster_url(std::string_view url);

// With a redis+cluster:// URL, a Client talks to a Redis Cluster: it reads the slot map from any
// seed, keeps one connection per master, sends each command to the master of its key's slot
// (EVALSHA by its first key; a pipeline split per node, its replies back in order), follows MOVED
// and ASK, and reads the map again after a redirect or a connection error (a failover). Every
// multi-key command and script must keep its keys in one slot (hash tags), or the cluster answers
// CROSSSLOT. Commands without a key (PING, PUBLISH) go to any master.
//
// Blocking commands (BLPOP, XREADGROUP … BLOCK, WAIT) hold the connection until they return and
// delay every command queued behind them: give them a Client of their own and pass a `timeout`
// longer than the server-side block time.
class Client {
public:
    // Parses options.url (throws RedisError if malformed); does not connect yet.
    Client(boost::asio::any_io_executor ex, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one command (binary-safe arguments). Error replies are returned as Reply::kError, not
    // thrown. Throws RedisError when the connection fails, RedisTimeoutError after the timeout
    // (`timeout` overrides command_timeout, e.g. for blocking commands). Many coroutines may call
    // this concurrently; each gets its own reply.
    boost::asio::awaitable<Reply> command(std::vector<std::string> args,
                                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    // Several commands written at once; replies in the same order (one per command, error replies
    // in place). One timeout (command_timeout) covers the whole batch.
    boost::asio::awaitable<std::vector<Reply>> pipeline(std::vector<std::vector<std::string>> commands);
    // EVALSHA; on NOSCRIPT loads the script and retries once (load + run pipelined). The script's
    // own errors, and a script that does not compile, come back as kError replies. `script` is
    // taken by value so the coroutine never refers to a caller's temporary.
    boost::asio::awaitable<Reply> eval(Script script,
                                       std::vector<std::string> keys,
                                       std::vector<std::string> args);
    // Throws RedisError unless the server answers PONG.
    boost::asio::awaitable<void> ping();
    // WAIT on the connection that wrote `key` (in a cluster: to the master of its slot): returns
    // how many replicas acknowledged every write made on that connection so far, waiting at most
    // `timeout` for `replicas` of them.
    boost::asio::awaitable<std::int64_t> wait_replicas(std::string key,
                                                      std::int64_t replicas,
                                                      std::chrono::milliseconds timeout);

    // True while a connection is open and ready (false before the first command and after a loss).
    bool is_connected() const;
    // Made with a redis+cluster:// URL.
    bool is_cluster() const;
    // Closes the connection and fails in-flight commands with RedisError; later calls throw too.
    void close();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

// A connection in subscribe mode (pub/sub needs its own connection). Driven by one coroutine at a
// time (a typical consumer loop calls next() repeatedly); using it from two at once throws
// std::logic_error. Pub/sub is at-most-once: messages published while disconnected are lost, which
// is why next() reports a lost connection instead of hiding it.
class Subscriber {
public:
    struct Message {
        std::string channel;
        std::string payload;
    };
    Subscriber(boost::asio::any_io_executor ex, ClientOptions options);
    ~Subscriber();
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    // Subscribes (connecting if needed) and returns once the server confirmed every channel, so a
    // PUBLISH made afterwards is delivered. Throws RedisError / RedisTimeoutError (command_timeout).
    boost::asio::awaitable<void> subscribe(std::vector<std::string> channels);
    // Waits for the next message. Throws RedisError when the connection fails; the next call then
    // reconnects (after the backoff delay, waiting it out rather than failing fast) and
    // re-subscribes to every channel before waiting. With `timeout`, throws RedisTimeoutError when
    // no message arrived in time; the connection stays open.
    boost::asio::awaitable<Message> next(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    bool is_connected() const;
    // Closes the connection; a next() in progress and every later call throw RedisError.
    void close();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

// Builds a command's argument list: cmd("SET", key, value, "EX", 60). Numbers are formatted in
// decimal. Use it instead of a braced list inside a co_await expression, which GCC 12 rejects
// ("array used as initializer"): write `co_await c.command(redis::cmd("GET", k))`, not
// `co_await c.command({"GET", k})`.
template <typename... Parts>
std::vector<std::string> cmd(const Parts&... parts) {
    std::vector<std::string> args;
    args.reserve(sizeof...(parts));
    auto add = [&args](const auto& part) {
        if constexpr (std::is_arithmetic_v<std::decay_t<decltype(part)>>) {
            args.push_back(std::to_string(part));
        } else {
            args.emplace_back(part);
        }
    };
    (add(parts), ...);
    return args;
}

// Builds namespaced keys: "<prefix><part>:<part>…". Tests use a unique prefix per test.
class Keys {
public:
    explicit Keys(std::string prefix = "emporium:") : prefix_(std::move(prefix)) {}
    template <typename... Parts>
    std::string make(const Parts&... parts) const {
        std::string out = prefix_;
        bool first = true;
        ((append(out, parts, first)), ...);
        return out;
    }
    // A key in the hash slot of `tag` (Redis Cluster hashes only the text between the first `{`
    // and the next `}`): "<prefix>{<tag>}:<part>:<part>…". Keys that one script or multi-key
    // command touches together must share a tag. `tag` must not contain `{` or `}`.
    template <typename... Parts>
    std::string tagged(std::string_view tag, const Parts&... parts) const {
        std::string out = prefix_;
        out += '{';
        out += tag;
        out += '}';
        ((out += ':', append_part(out, parts)), ...);
        return out;
    }
    const std::string& prefix() const { return prefix_; }

private:
    template <typename T>
    static void append(std::string& out, const T& part, bool& first) {
        if (!first) out += ':';
        first = false;
        append_part(out, part);
    }
    template <typename T>
    static void append_part(std::string& out, const T& part) {
        if constexpr (std::is_arithmetic_v<T>) {
            out += std::to_string(part);
        } else {
            out += part;
        }
    }
    std::string prefix_;
};

}  // namespace emporium::redis
