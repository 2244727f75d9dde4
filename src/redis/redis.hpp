#pragma once
// Asynchronous Redis client: RESP over an Asio socket, replies parsed by hiredis's redisReader.
// One Client is one TCP connection that carries many concurrent commands (pipelined, answered in
// order). Reconnects with backoff; EVALSHA falls back to SCRIPT LOAD on NOSCRIPT.
//
// Threading: a Client belongs to the executor it was created with (one io_context thread).

#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
    std::string url = "redis://127.0.0.1:6379/0";  // redis://[:password@]host:port[/db]
    std::chrono::milliseconds command_timeout{2000};
    std::chrono::milliseconds connect_timeout{1000};
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

class Client {
public:
    Client(boost::asio::any_io_executor ex, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends one command (binary-safe arguments). Error replies are returned as Reply::kError, not
    // thrown. Throws RedisError when the connection fails, RedisTimeoutError after the timeout
    // (`timeout` overrides the configured one, e.g. for blocking commands).
    boost::asio::awaitable<Reply> command(std::vector<std::string> args,
                                          std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    // Several commands written at once; replies in the same order.
    boost::asio::awaitable<std::vector<Reply>> pipeline(std::vector<std::vector<std::string>> commands);
    // EVALSHA; on NOSCRIPT loads the script and retries once.
    boost::asio::awaitable<Reply> eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args);
    boost::asio::awaitable<void> ping();

    bool is_connected() const;
    void close();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

// A connection in subscribe mode (pub/sub needs its own connection).
class Subscriber {
public:
    struct Message {
        std::string channel;
        std::string payload;
    };
    Subscriber(boost::asio::any_io_executor ex, ClientOptions options);
    ~Subscriber();
    boost::asio::awaitable<void> subscribe(std::vector<std::string> channels);
    // Waits for the next message (re-subscribes after a reconnect). Throws RedisError if the connection fails.
    boost::asio::awaitable<Message> next();
    void close();

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
};

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
    const std::string& prefix() const { return prefix_; }

private:
    template <typename T>
    static void append(std::string& out, const T& part, bool& first) {
        if (!first) out += ':';
        first = false;
        if constexpr (std::is_arithmetic_v<T>) {
            out += std::to_string(part);
        } else {
            out += part;
        }
    }
    std::string prefix_;
};

}  // namespace emporium::redis
