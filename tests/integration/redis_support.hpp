#pragma once
// Helpers for the Redis integration tests: options for the shared test server, prefix cleanup,
// running many coroutines at once, and a private redis-server for tests that stop the server.

#include "redis/cluster.hpp"
#include "redis/redis.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <exception>
#include <fstream>
#include <memory>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX, needed by posix_spawnp

namespace emporium::redis::test {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using redis::cmd;

inline ClientOptions shared_server_options() {
    ClientOptions options;
    options.url = emporium::test::test_redis_url();
    return options;
}

inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(d);
    co_await timer.async_wait(asio::use_awaitable);
}

// Where to SCAN: the client itself, or for a cluster client a plain client of each master (a
// SCAN sees one node's keys only).
inline asio::awaitable<std::vector<std::unique_ptr<Client>>> scan_targets(Client* client) {
    std::vector<std::unique_ptr<Client>> out;
    if (!client->is_cluster()) co_return out;
    auto shards = co_await client->command(cmd("CLUSTER", "SHARDS"));
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::string> seen;
    for (const auto& range : detail::parse_shards(shards)) {
        if (std::find(seen.begin(), seen.end(), range.address) != seen.end()) continue;
        seen.push_back(range.address);
        ClientOptions options;
        options.url = "redis://" + range.address;
        out.push_back(std::make_unique<Client>(ex, options));
    }
    co_return out;
}

// The keys under `prefix` on every node of `client` (SCAN MATCH prefix*).
inline asio::awaitable<std::vector<std::string>> keys_under(Client* client, std::string prefix) {
    auto targets = co_await scan_targets(client);
    std::vector<Client*> scanned;
    if (targets.empty()) scanned.push_back(client);
    for (auto& t : targets) scanned.push_back(t.get());
    std::vector<std::string> keys;
    for (auto* node : scanned) {
        std::string cursor = "0";
        do {
            auto reply = co_await node->command(cmd("SCAN", cursor, "MATCH", prefix + "*", "COUNT", "1000"));
            if (reply.type != Reply::Type::kArray || reply.elements.size() != 2)
                throw std::runtime_error("bad SCAN reply");
            cursor = reply.elements[0].as_string();
            for (const auto& key : reply.elements[1].elements) keys.push_back(key.as_string());
        } while (cursor != "0");
    }
    co_return keys;
}

// Deletes every key under `prefix`, nothing else (one DEL per key: in a cluster they live on
// different nodes).
inline asio::awaitable<void> delete_prefix(Client* client, std::string prefix) {
    auto keys = co_await keys_under(client, prefix);
    std::vector<std::vector<std::string>> dels;
    for (auto& key : keys) dels.push_back(cmd("DEL", key));
    if (!dels.empty()) co_await client->pipeline(std::move(dels));
}

// Counts the keys under `prefix` (for asserting that cleanup only touched ours).
inline asio::awaitable<std::size_t> count_prefix(Client* client, std::string prefix) {
    auto keys = co_await keys_under(client, prefix);
    co_return keys.size();
}

// The part of `key` that Redis Cluster hashes to pick its slot: the text between the first `{` and
// the next `}` when that is not empty, else the whole key. Keys with equal tags share a slot.
inline std::string slot_tag(std::string_view key) {
    const auto open = key.find('{');
    if (open != std::string_view::npos) {
        const auto close = key.find('}', open + 1);
        if (close != std::string_view::npos && close > open + 1) return std::string(key.substr(open + 1, close - open - 1));
    }
    return std::string(key);
}

// Runs every task concurrently on `ctx` until all finished; rethrows the first failure.
inline void run_all(asio::io_context& ctx,
                    std::vector<asio::awaitable<void>> tasks,
                    std::chrono::seconds limit = std::chrono::seconds(60)) {
    struct State {
        std::size_t remaining = 0;
        std::exception_ptr first_error;
    };
    auto state = std::make_shared<State>();
    state->remaining = tasks.size();
    for (auto& task : tasks) {
        asio::co_spawn(ctx, std::move(task), [state](const std::exception_ptr& e) {
            if (e && !state->first_error) state->first_error = e;
            --state->remaining;
        });
    }
    ctx.restart();
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (state->remaining > 0 && std::chrono::steady_clock::now() < deadline) {
        ctx.run_one_for(50ms);
    }
    if (state->remaining > 0) throw std::runtime_error("run_all: tasks did not finish in time");
    if (state->first_error) std::rethrow_exception(state->first_error);
}

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
inline unsigned short free_port() {
    asio::io_context ctx;
    asio::ip::tcp::acceptor acceptor(ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return acceptor.local_endpoint().port();
}

inline bool accepts_connections(unsigned short port) {
    asio::io_context ctx;
    asio::ip::tcp::socket socket(ctx);
    boost::system::error_code ec;
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    return !ec;
}

// A private redis-server child process, for tests that stop and restart the server (stopping the
// shared test server would break tests running in parallel). Not daemonized, so we can reap it.
class ThrowawayRedis {
public:
    explicit ThrowawayRedis(std::vector<std::string> extra_args = {})
        : port_(free_port()), extra_args_(std::move(extra_args)) {}
    ~ThrowawayRedis() { stop(); }  // NOLINT(bugprone-exception-escape): a test process may abort then
    ThrowawayRedis(const ThrowawayRedis&) = delete;
    ThrowawayRedis& operator=(const ThrowawayRedis&) = delete;

    unsigned short port() const { return port_; }
    bool is_running() const { return pid_ > 0; }
    // SIGSTOP / SIGCONT: a server that is there but does nothing (a stalled replica, say).
    void signal(int sig) const {
        if (pid_ > 0) ::kill(pid_, sig);
    }

    // Starts the server and waits (up to 10 s) until it accepts connections.
    void start() {
        if (pid_ > 0) return;
        std::vector<std::string> args{"redis-server",
                                      "--port",
                                      std::to_string(port_),
                                      "--bind",
                                      "127.0.0.1",
                                      "--save",
                                      "",
                                      "--appendonly",
                                      "no",
                                      "--daemonize",
                                      "no",
                                      "--logfile",
                                      "/tmp/emporium-redis-itest-" + std::to_string(port_) + ".log",
                                      // A replica's copy of its master's data (sync) goes here, not
                                      // into the test's working directory.
                                      "--dir",
                                      "/tmp"};
        args.insert(args.end(), extra_args_.begin(), extra_args_.end());
        std::vector<char*> argv;
        argv.reserve(args.size() + 1);
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = 0;
        int rc = posix_spawnp(&pid, "redis-server", nullptr, nullptr, argv.data(), environ);
        if (rc != 0) {
            throw std::runtime_error("posix_spawnp(redis-server): " + std::generic_category().message(rc));
        }
        pid_ = pid;
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!accepts_connections(port_)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("redis-server exited during startup (port in use?)");
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("redis-server did not start");
            std::this_thread::sleep_for(10ms);  // test setup, outside any io_context
        }
    }

    // Stops the server (SIGTERM, SIGKILL after 5 s) and reaps it.
    void stop() {
        if (pid_ <= 0) return;
        if (::kill(pid_, SIGTERM) != 0 && errno != ESRCH)
            throw std::runtime_error("kill(redis-server) failed");
        auto deadline = std::chrono::steady_clock::now() + 5s;
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(10ms);
        }
        pid_ = -1;
    }

private:
    unsigned short port_;
    std::vector<std::string> extra_args_;
    pid_t pid_ = -1;
};

}  // namespace emporium::redis::test
