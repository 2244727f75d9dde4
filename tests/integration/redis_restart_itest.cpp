// Server restarts, against a private redis-server (stopping the shared one would break the tests
// running in parallel). The private server also requires a password and the URL selects db 2, so
// a reconnect must replay AUTH and SELECT.

#include "redis_support.hpp"

namespace emporium::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using emporium::test::run_coro;
using Clock = std::chrono::steady_clock;

constexpr auto kPassword = "s3cret-itest";

ClientOptions private_server_options(const test::ThrowawayRedis& server) {
    ClientOptions options;
    options.url = std::string("redis://:") + kPassword + "@127.0.0.1:" + std::to_string(server.port()) + "/2";
    options.command_timeout = 1000ms;
    options.connect_timeout = 500ms;
    options.max_backoff = 400ms;
    return options;
}

asio::awaitable<void> write_marker(Client* client) {
    EXPECT_TRUE((co_await client->command(cmd("SET", "marker", "before"))).is_ok());
    EXPECT_EQ((co_await client->command(cmd("GET", "marker"))).as_string(), "before");
}

struct DownPhase {
    int failures = 0;
    int other_errors = 0;
    std::chrono::steady_clock::duration slowest{};
};

// While the server is down every command fails with RedisError, quickly.
asio::awaitable<void> commands_fail_while_down(Client* client, DownPhase* out) {
    for (int i = 0; i < 20; ++i) {
        auto start = Clock::now();
        try {
            co_await client->command(cmd("GET", "marker"));
        } catch (const RedisError&) {
            ++out->failures;
        } catch (const std::exception&) {
            ++out->other_errors;
        }
        out->slowest = std::max(out->slowest, Clock::now() - start);
        co_await test::sleep_for(20ms);
    }
}

// Once the server is back, commands succeed again on the same Client within the backoff cap.
asio::awaitable<void> recovers_after_restart(Client* client) {
    auto deadline = Clock::now() + 5s;
    bool recovered = false;
    while (!recovered && Clock::now() < deadline) {
        try {
            co_await client->ping();
            recovered = true;
        } catch (const RedisError&) {
            // still down, or inside the backoff window: try again shortly
        }
        if (!recovered) co_await test::sleep_for(25ms);
    }
    EXPECT_TRUE(recovered);
    EXPECT_TRUE(client->is_connected());
    // A fresh server (no persistence): the marker is gone, so this really is a new connection…
    EXPECT_TRUE((co_await client->command(cmd("GET", "marker"))).is_nil());
    EXPECT_TRUE((co_await client->command(cmd("SET", "marker", "after"))).is_ok());
    EXPECT_EQ((co_await client->command(cmd("GET", "marker"))).as_string(), "after");
    // …authenticated (the server requires a password) and on the URL's database.
    auto info = co_await client->command(cmd("CLIENT", "INFO"));
    EXPECT_NE(info.as_string().find(" db=2 "), std::string::npos) << info.str;
}

TEST(RedisRestart, ClientSurvivesServerRestart) {
    test::ThrowawayRedis server({"--requirepass", kPassword});
    server.start();
    asio::io_context ctx;
    Client client(ctx.get_executor(), private_server_options(server));
    run_coro(ctx, write_marker(&client));

    server.stop();
    DownPhase down;
    run_coro(ctx, commands_fail_while_down(&client, &down));
    EXPECT_EQ(down.failures, 20);
    EXPECT_EQ(down.other_errors, 0);
    EXPECT_LT(down.slowest, 700ms);  // refused connects and backoff rejections never hang
    EXPECT_FALSE(client.is_connected());

    server.start();  // same port
    run_coro(ctx, recovers_after_restart(&client));
}

struct InFlight {
    bool failed_with_redis_error = false;
    bool other = false;
    std::chrono::steady_clock::duration took{};
};

asio::awaitable<void> blocked_command(Client* client, InFlight* out) {
    auto start = Clock::now();
    try {
        co_await client->command(cmd("BLPOP", "never", "20"), 30s);
    } catch (const RedisError&) {
        out->failed_with_redis_error = true;
    } catch (const std::exception&) {
        out->other = true;
    }
    out->took = Clock::now() - start;
}

asio::awaitable<void> stop_server_soon(test::ThrowawayRedis* server) {
    co_await test::sleep_for(200ms);
    server->stop();  // blocks this test's io thread briefly; fine here
}

TEST(RedisRestart, InFlightCommandFailsWhenServerDies) {
    test::ThrowawayRedis server({"--requirepass", kPassword});
    server.start();
    asio::io_context ctx;
    Client client(ctx.get_executor(), private_server_options(server));
    run_coro(ctx, client.ping());

    InFlight outcome;
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(blocked_command(&client, &outcome));
    tasks.push_back(stop_server_soon(&server));
    test::run_all(ctx, std::move(tasks));
    EXPECT_TRUE(outcome.failed_with_redis_error);
    EXPECT_FALSE(outcome.other);
    EXPECT_LT(outcome.took, 5s);  // not the 30 s timeout: the loss is noticed at once
}

asio::awaitable<void> kill_all_normal_clients(Client* victim, Client* killer) {
    co_await victim->ping();
    auto killed = co_await killer->command(cmd("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"));
    EXPECT_GE(killed.as_int(), 1);
    auto deadline = Clock::now() + 2s;
    while (victim->is_connected() && Clock::now() < deadline) co_await test::sleep_for(10ms);
    EXPECT_FALSE(victim->is_connected());
    co_await victim->ping();
    EXPECT_TRUE(victim->is_connected());
}

TEST(RedisRestart, ReconnectsAfterClientKillTypeNormal) {
    // CLIENT KILL TYPE normal would disconnect every other test's clients on the shared server.
    test::ThrowawayRedis server({"--requirepass", kPassword});
    server.start();
    asio::io_context ctx;
    Client victim(ctx.get_executor(), private_server_options(server));
    Client killer(ctx.get_executor(), private_server_options(server));
    run_coro(ctx, kill_all_normal_clients(&victim, &killer));
}

}  // namespace
}  // namespace emporium::redis
