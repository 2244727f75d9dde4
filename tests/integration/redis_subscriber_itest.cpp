// Subscriber: delivery of PUBLISHed messages (shared test server, unique channel names) and
// re-subscription after its connection is killed (private server: CLIENT KILL TYPE pubsub would
// hit other tests' subscribers).

#include "redis_support.hpp"

namespace emporium::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using emporium::test::run_coro;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> receives_published(Subscriber* sub, Client* pub, std::string prefix) {
    std::string news = prefix + "news";
    std::string alerts = prefix + "alerts";
    co_await sub->subscribe(cmd(news, alerts, news));  // duplicates are harmless
    EXPECT_TRUE(sub->is_connected());

    // subscribe() returned after the confirmations, so these reach us: PUBLISH counts receivers.
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", news, "first"))).as_int(), 1);
    std::string binary("bin\0\r\n*2\r\n", 10);
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", alerts, binary))).as_int(), 1);
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", prefix + "unrelated", "x"))).as_int(), 0);
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", news, "third"))).as_int(), 1);

    auto m1 = co_await sub->next(2000ms);
    EXPECT_EQ(m1.channel, news);
    EXPECT_EQ(m1.payload, "first");
    auto m2 = co_await sub->next(2000ms);
    EXPECT_EQ(m2.channel, alerts);
    EXPECT_EQ(m2.payload, binary);
    auto m3 = co_await sub->next(2000ms);
    EXPECT_EQ(m3.channel, news);
    EXPECT_EQ(m3.payload, "third");

    // Nothing else is pending: a bounded wait times out and leaves the connection usable.
    bool timed_out = false;
    try {
        co_await sub->next(150ms);
    } catch (const RedisTimeoutError&) {
        timed_out = true;
    }
    EXPECT_TRUE(timed_out);
    EXPECT_TRUE(sub->is_connected());

    // Subscribing to more channels later works on the same connection.
    std::string late = prefix + "late";
    co_await sub->subscribe(cmd(late));
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", late, "hello"))).as_int(), 1);
    auto m4 = co_await sub->next(2000ms);
    EXPECT_EQ(m4.channel, late);
    EXPECT_EQ(m4.payload, "hello");
}

TEST(RedisSubscriber, ReceivesPublishedMessages) {
    asio::io_context ctx;
    Subscriber sub(ctx.get_executor(), test::shared_server_options());
    Client pub(ctx.get_executor(), test::shared_server_options());
    run_coro(ctx, receives_published(&sub, &pub, "test:" + emporium::test::unique_suffix() + ":"));
}

// ---- re-subscribe after a reconnect ---------------------------------------------------------------

struct Resubscribe {
    bool lost_connection = false;
    std::vector<std::string> received;
};

asio::awaitable<void> consume_after_loss(Subscriber* sub, Resubscribe* out) {
    try {
        co_await sub->next(5000ms);
    } catch (const RedisError&) {
        out->lost_connection = true;  // reported, not hidden: messages may have been missed
    }
    // The next call reconnects and re-subscribes to both channels before waiting.
    for (int i = 0; i < 2; ++i) {
        auto message = co_await sub->next(5000ms);
        out->received.push_back(message.channel + "=" + message.payload);
    }
}

// Publishes until someone is subscribed again (PUBLISH returns the receiver count).
asio::awaitable<void> publish_when_resubscribed(Client* pub, std::string channel_a, std::string channel_b) {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
        if ((co_await pub->command(cmd("PUBSUB", "NUMSUB", channel_a, channel_b))).elements.size() == 4) {
            auto numsub = co_await pub->command(cmd("PUBSUB", "NUMSUB", channel_a, channel_b));
            if (numsub.elements[1].as_int() == 1 && numsub.elements[3].as_int() == 1) break;
        }
        co_await test::sleep_for(20ms);
    }
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", channel_a, "again-a"))).as_int(), 1);
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", channel_b, "again-b"))).as_int(), 1);
}

asio::awaitable<void> subscribe_and_kill(Subscriber* sub, Client* pub, std::string a, std::string b) {
    co_await sub->subscribe(cmd(a, b));
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", a, "one"))).as_int(), 1);
    auto first = co_await sub->next(2000ms);
    EXPECT_EQ(first.payload, "one");
    auto killed = co_await pub->command(cmd("CLIENT", "KILL", "TYPE", "pubsub"));
    EXPECT_EQ(killed.as_int(), 1);
}

TEST(RedisSubscriber, ResubscribesAfterReconnect) {
    test::ThrowawayRedis server;
    server.start();
    asio::io_context ctx;
    ClientOptions options;
    options.url = "redis://127.0.0.1:" + std::to_string(server.port());
    options.max_backoff = 200ms;
    Subscriber sub(ctx.get_executor(), options);
    Client pub(ctx.get_executor(), options);
    run_coro(ctx, subscribe_and_kill(&sub, &pub, "chan-a", "chan-b"));

    Resubscribe outcome;
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(consume_after_loss(&sub, &outcome));
    tasks.push_back(publish_when_resubscribed(&pub, "chan-a", "chan-b"));
    test::run_all(ctx, std::move(tasks), std::chrono::seconds(20));
    EXPECT_TRUE(outcome.lost_connection);
    EXPECT_EQ(outcome.received, (std::vector<std::string>{"chan-a=again-a", "chan-b=again-b"}));
    EXPECT_TRUE(sub.is_connected());
}

asio::awaitable<void> fails_while_down(Subscriber* sub, test::ThrowawayRedis* server) {
    co_await sub->subscribe(cmd("restart-chan"));
    server->stop();
    bool lost = false;
    try {
        co_await sub->next(5000ms);
    } catch (const RedisError&) {
        lost = true;
    }
    EXPECT_TRUE(lost);
    // While the server is down next() keeps failing with RedisError, paced by the backoff.
    auto start = Clock::now();
    int failures = 0;
    for (int i = 0; i < 3; ++i) {
        try {
            co_await sub->next(5000ms);
        } catch (const RedisError&) {
            ++failures;
        }
    }
    EXPECT_EQ(failures, 3);
    EXPECT_GE(Clock::now() - start, 150ms);  // waited out backoff delays instead of spinning
}

asio::awaitable<void> next_message(Subscriber* sub, Subscriber::Message* out) {
    *out = co_await sub->next(5000ms);
}

asio::awaitable<void> publish_once_subscribed(Client* pub, std::string channel, std::string payload) {
    auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
        try {
            auto numsub = co_await pub->command(cmd("PUBSUB", "NUMSUB", channel));
            if (numsub.elements.at(1).as_int() == 1) break;
        } catch (const RedisError&) {
            // the publisher itself may still be in its reconnect backoff
        }
        co_await test::sleep_for(20ms);
    }
    EXPECT_EQ((co_await pub->command(cmd("PUBLISH", channel, payload))).as_int(), 1);
}

TEST(RedisSubscriber, SurvivesServerRestart) {
    test::ThrowawayRedis server;
    server.start();
    asio::io_context ctx;
    ClientOptions options;
    options.url = "redis://127.0.0.1:" + std::to_string(server.port());
    options.max_backoff = 400ms;
    Subscriber sub(ctx.get_executor(), options);
    Client pub(ctx.get_executor(), options);
    run_coro(ctx, fails_while_down(&sub, &server));
    EXPECT_FALSE(sub.is_connected());

    server.start();  // same port: the same Subscriber reconnects and re-subscribes
    Subscriber::Message message;
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(next_message(&sub, &message));
    tasks.push_back(publish_once_subscribed(&pub, "restart-chan", "back"));
    test::run_all(ctx, std::move(tasks), std::chrono::seconds(20));
    EXPECT_EQ(message.channel, "restart-chan");
    EXPECT_EQ(message.payload, "back");
}

asio::awaitable<void> close_while_waiting(Subscriber* sub, std::string channel) {
    co_await sub->subscribe(cmd(channel));
    co_await test::sleep_for(20ms);
}

asio::awaitable<void> closer(Subscriber* sub) {
    co_await test::sleep_for(100ms);
    sub->close();
}

asio::awaitable<void> waiting_next(Subscriber* sub, bool* failed) {
    try {
        co_await sub->next();
    } catch (const RedisError&) {
        *failed = true;
    }
}

TEST(RedisSubscriber, CloseWakesAWaitingNext) {
    asio::io_context ctx;
    Subscriber sub(ctx.get_executor(), test::shared_server_options());
    run_coro(ctx, close_while_waiting(&sub, "test:" + emporium::test::unique_suffix() + ":closing"));
    bool failed = false;
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(waiting_next(&sub, &failed));
    tasks.push_back(closer(&sub));
    test::run_all(ctx, std::move(tasks), std::chrono::seconds(10));
    EXPECT_TRUE(failed);
    EXPECT_FALSE(sub.is_connected());
}

}  // namespace
}  // namespace emporium::redis
