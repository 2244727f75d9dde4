// Client against the shared test Redis (EMPORIUM_TEST_REDIS_URL). Every test works under its own
// key prefix and deletes only that prefix.

#include "redis/position.hpp"
#include "redis_support.hpp"

#include <algorithm>
#include <numeric>
#include <set>

namespace emporium::redis {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using emporium::test::run_coro;
using Args = std::vector<std::string>;
using Clock = std::chrono::steady_clock;
using namespace std::string_literals;

class RedisClient : public ::testing::Test {
protected:
    RedisClient() : keys_("test:" + emporium::test::unique_suffix() + ":") {}

    void TearDown() override {
        asio::io_context ctx;
        Client cleaner(ctx.get_executor(), test::shared_server_options());
        run_coro(ctx, test::delete_prefix(&cleaner, keys_.prefix()));
        EXPECT_EQ(run_coro(ctx, test::count_prefix(&cleaner, keys_.prefix())), 0U);
    }

    asio::io_context ctx_;
    Keys keys_;
};

// ---- round trips and reply types ----------------------------------------------------------------

asio::awaitable<void> set_get_round_trip(Client* client, Keys keys) {
    auto set = co_await client->command(cmd("SET", keys.make("plain"), "hello"));
    EXPECT_TRUE(set.is_ok());
    auto get = co_await client->command(cmd("GET", keys.make("plain")));
    EXPECT_EQ(get.type, Reply::Type::kString);
    EXPECT_EQ(get.as_string(), "hello");

    // Binary safety: NUL, CR/LF and every byte value, as key and value.
    std::string binary = "a\0b\r\nc\r\n$3\r\n*1\r\n"s;  // RESP-looking bytes must not confuse anything
    for (int b = 0; b < 256; ++b) binary += static_cast<char>(b);
    std::string binary_key = keys.make(std::string("bin\0\r\n", 6));
    EXPECT_TRUE((co_await client->command(cmd("SET", binary_key, binary))).is_ok());
    auto got = co_await client->command(cmd("GET", binary_key));
    EXPECT_EQ(got.as_string(), binary);
    EXPECT_EQ((co_await client->command(cmd("STRLEN", binary_key))).as_int(),
              static_cast<std::int64_t>(binary.size()));

    // A value larger than one read chunk arrives in many pieces.
    std::string big(3 * 1024 * 1024 + 7, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
    EXPECT_TRUE((co_await client->command(cmd("SET", keys.make("big"), big))).is_ok());
    EXPECT_EQ((co_await client->command(cmd("GET", keys.make("big")))).as_string(), big);

    // The empty string is a value, not nil.
    EXPECT_TRUE((co_await client->command(cmd("SET", keys.make("empty"), ""))).is_ok());
    auto empty = co_await client->command(cmd("GET", keys.make("empty")));
    EXPECT_EQ(empty.type, Reply::Type::kString);
    EXPECT_EQ(empty.str, "");
}

TEST_F(RedisClient, SetGetRoundTripsAreBinarySafe) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    EXPECT_FALSE(client.is_connected());  // lazy: nothing happens before the first command
    run_coro(ctx_, set_get_round_trip(&client, keys_));
    EXPECT_TRUE(client.is_connected());
}

asio::awaitable<void> reply_types(Client* client, Keys keys) {
    auto nil = co_await client->command(cmd("GET", keys.make("missing")));
    EXPECT_TRUE(nil.is_nil());
    EXPECT_THROW(static_cast<void>(nil.as_string()), RedisError);

    auto integer = co_await client->command(cmd("INCRBY", keys.make("n"), -5));
    EXPECT_EQ(integer.type, Reply::Type::kInteger);
    EXPECT_EQ(integer.integer, -5);
    EXPECT_EQ(integer.as_int(), -5);

    auto status = co_await client->command(cmd("PING"));
    EXPECT_EQ(status.type, Reply::Type::kStatus);
    EXPECT_EQ(status.as_string(), "PONG");
    EXPECT_FALSE(status.is_ok());

    // Error replies are values, not exceptions, and the connection stays usable.
    co_await client->command(cmd("SET", keys.make("text"), "abc"));
    auto wrong_type = co_await client->command(cmd("INCR", keys.make("text")));
    EXPECT_TRUE(wrong_type.is_error());
    EXPECT_TRUE(wrong_type.str.starts_with("ERR")) << wrong_type.str;
    EXPECT_THROW(static_cast<void>(wrong_type.as_int()), RedisError);
    EXPECT_THROW(static_cast<void>(wrong_type.as_string()), RedisError);
    auto unknown = co_await client->command(cmd("NOSUCHCOMMAND", "x"));
    EXPECT_TRUE(unknown.is_error());
    auto wrongtype = co_await client->command(cmd("LPUSH", keys.make("text"), "v"));
    EXPECT_TRUE(wrongtype.str.starts_with("WRONGTYPE")) << wrongtype.str;
    EXPECT_EQ((co_await client->command(cmd("GET", keys.make("text")))).as_string(), "abc");

    // A number held in a string reply converts; a non-number does not.
    co_await client->command(cmd("SET", keys.make("num"), "42"));
    EXPECT_EQ((co_await client->command(cmd("GET", keys.make("num")))).as_int(), 42);
    EXPECT_THROW(static_cast<void>((co_await client->command(cmd("GET", keys.make("text")))).as_int()),
                 RedisError);

    // Empty array and nil array.
    auto empty = co_await client->command(cmd("LRANGE", keys.make("nolist"), "0", "-1"));
    EXPECT_EQ(empty.type, Reply::Type::kArray);
    EXPECT_TRUE(empty.elements.empty());

    // Nested arrays: XRANGE returns [[id, [field, value, ...]], ...].
    auto id1 = co_await client->command(cmd("XADD", keys.make("stream"), "*", "sku", "A-1", "qty", "2"));
    auto id2 = co_await client->command(cmd("XADD", keys.make("stream"), "*", "sku", "B-2", "qty", "7"));
    auto range = co_await client->command(cmd("XRANGE", keys.make("stream"), "-", "+"));
    EXPECT_EQ(range.type, Reply::Type::kArray);
    if (range.elements.size() == 2) {
        EXPECT_EQ(range.elements[0].elements.at(0).as_string(), id1.as_string());
        EXPECT_EQ(range.elements[1].elements.at(0).as_string(), id2.as_string());
        const auto& fields = range.elements[1].elements.at(1);
        EXPECT_EQ(fields.type, Reply::Type::kArray);
        EXPECT_EQ(fields.elements.size(), 4U);
        EXPECT_EQ(fields.elements.at(1).as_string(), "B-2");  // at(): a short array throws, failing the test
        EXPECT_EQ(fields.elements.at(3).as_int(), 7);
    } else {
        ADD_FAILURE() << "XRANGE returned " << range.elements.size() << " entries";
    }

    // A Lua table becomes a nested array with every element type.
    Script nested(
        "return {1, 'two', {3, {'four', redis.status_reply('FIVE')}}, redis.error_reply('MYERR six')}");
    auto lua = co_await client->eval(nested, {}, {});
    EXPECT_EQ(lua.type, Reply::Type::kArray);
    if (lua.elements.size() == 4) {
        EXPECT_EQ(lua.elements[0].type, Reply::Type::kInteger);
        EXPECT_EQ(lua.elements[0].integer, 1);
        EXPECT_EQ(lua.elements[1].type, Reply::Type::kString);
        EXPECT_EQ(lua.elements[1].str, "two");
        const auto& inner = lua.elements[2];
        EXPECT_EQ(inner.elements.size(), 2U);
        EXPECT_EQ(inner.elements.at(0).integer, 3);
        EXPECT_EQ(inner.elements[1].elements.size(), 2U);
        EXPECT_EQ(inner.elements.at(1).elements.at(0).str, "four");
        EXPECT_EQ(inner.elements.at(1).elements.at(1).type, Reply::Type::kStatus);
        EXPECT_EQ(inner.elements.at(1).elements.at(1).str, "FIVE");
        EXPECT_EQ(lua.elements[3].type, Reply::Type::kError);
        EXPECT_EQ(lua.elements[3].str, "MYERR six");
    } else {
        ADD_FAILURE() << "script returned " << lua.elements.size() << " elements";
    }

    // A script raising an error is an error reply too.
    auto failing =
        co_await client->eval(Script("return redis.call('INCR', KEYS[1])"), cmd(keys.make("text")), {});
    EXPECT_TRUE(failing.is_error());
}

TEST_F(RedisClient, ReturnsEveryReplyType) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, reply_types(&client, keys_));
}

// ---- pipelining ----------------------------------------------------------------------------------

struct OrderLog {
    std::vector<int> submitted;       // coroutine ids in the order their INCR was issued
    std::vector<std::int64_t> value;  // INCR result per coroutine id
    int set_get_checked = 0;
};

asio::awaitable<void> set_then_get(Client* client, Keys keys, int i, OrderLog* log) {
    auto key = keys.make("k", i);
    auto payload = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 17), '#');
    auto set = co_await client->command(cmd("SET", key, payload));
    EXPECT_TRUE(set.is_ok()) << i;
    auto get = co_await client->command(cmd("GET", key));
    EXPECT_EQ(get.as_string(), payload) << i;
    ++log->set_get_checked;
}

asio::awaitable<void> incr_counter(Client* client, std::string key, int i, OrderLog* log) {
    log->submitted.push_back(i);
    auto reply = co_await client->command(cmd("INCR", key));
    log->value[static_cast<std::size_t>(i)] = reply.as_int();
}

TEST_F(RedisClient, ConcurrentCommandsEachGetTheirOwnReplyInOrder) {
    constexpr int kN = 1000;
    Client client(ctx_.get_executor(), test::shared_server_options());
    OrderLog log;
    log.value.assign(kN, 0);
    std::vector<asio::awaitable<void>> tasks;
    for (int i = 0; i < kN; ++i) {
        tasks.push_back(set_then_get(&client, keys_, i, &log));
        tasks.push_back(incr_counter(&client, keys_.make("counter"), i, &log));
    }
    test::run_all(ctx_, std::move(tasks));

    EXPECT_EQ(log.set_get_checked, kN);
    // Every INCR got a distinct value 1..N, and replies came back in the order the commands were
    // issued: the k-th INCR issued saw the value k.
    std::set<std::int64_t> distinct(log.value.begin(), log.value.end());
    EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kN));
    EXPECT_EQ(*distinct.begin(), 1);
    EXPECT_EQ(*distinct.rbegin(), kN);
    ASSERT_EQ(log.submitted.size(), static_cast<std::size_t>(kN));
    for (std::size_t pos = 0; pos < log.submitted.size(); ++pos) {
        EXPECT_EQ(log.value[static_cast<std::size_t>(log.submitted[pos])],
                  static_cast<std::int64_t>(pos + 1));
    }
    EXPECT_EQ(run_coro(ctx_, client.command(cmd("GET", keys_.make("counter")))).as_int(), kN);
}

asio::awaitable<void> pipeline_in_order(Client* client, Keys keys) {
    std::vector<Args> batch;
    batch.push_back(cmd("SET", keys.make("p"), "10"));
    batch.push_back(cmd("INCRBY", keys.make("p"), "5"));
    batch.push_back(cmd("NOSUCHCOMMAND"));
    batch.push_back(cmd("GET", keys.make("p")));
    batch.push_back(cmd("GET", keys.make("p-missing")));
    batch.push_back(cmd("RPUSH", keys.make("pl"), "a", "b", "c"));
    batch.push_back(cmd("LRANGE", keys.make("pl"), "0", "-1"));
    auto replies = co_await client->pipeline(batch);
    EXPECT_EQ(replies.size(), batch.size());
    if (replies.size() != batch.size()) co_return;
    EXPECT_TRUE(replies[0].is_ok());
    EXPECT_EQ(replies[1].as_int(), 15);
    EXPECT_TRUE(replies[2].is_error());
    EXPECT_EQ(replies[3].as_string(), "15");
    EXPECT_TRUE(replies[4].is_nil());
    EXPECT_EQ(replies[5].as_int(), 3);
    EXPECT_EQ(replies[6].elements.size(), 3U);
    EXPECT_EQ(replies[6].elements.at(2).as_string(), "c");

    EXPECT_TRUE((co_await client->pipeline({})).empty());

    // A large batch of commands in one go.
    std::vector<Args> many;
    many.reserve(5000);
    for (int i = 0; i < 5000; ++i) many.push_back(cmd("INCR", keys.make("pc")));
    auto counted = co_await client->pipeline(std::move(many));
    EXPECT_EQ(counted.size(), 5000U);
    for (std::size_t i = 0; i < counted.size(); ++i) {
        EXPECT_EQ(counted[i].as_int(), static_cast<std::int64_t>(i + 1));
    }
}

TEST_F(RedisClient, PipelineReturnsRepliesInOrder) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, pipeline_in_order(&client, keys_));
}

// ---- scripts ---------------------------------------------------------------------------------------

asio::awaitable<void> eval_recovers_from_noscript(Client* client, Keys keys) {
    Script incr_by("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    // Our SHA1 is the server's.
    auto loaded = co_await client->command(cmd("SCRIPT", "LOAD", incr_by.source()));
    EXPECT_EQ(loaded.as_string(), incr_by.sha1());
    EXPECT_EQ(incr_by.sha1().size(), 40U);

    EXPECT_EQ((co_await client->eval(incr_by, cmd(keys.make("s")), cmd("2"))).as_int(), 2);
    co_await client->command(cmd("SCRIPT", "FLUSH"));
    auto exists = co_await client->command(cmd("SCRIPT", "EXISTS", incr_by.sha1()));
    EXPECT_EQ(exists.elements.at(0).as_int(), 0);
    // NOSCRIPT → SCRIPT LOAD → EVALSHA, invisible to the caller.
    EXPECT_EQ((co_await client->eval(incr_by, cmd(keys.make("s")), cmd("3"))).as_int(), 5);
    EXPECT_EQ((co_await client->eval(incr_by, cmd(keys.make("s")), cmd("4"))).as_int(), 9);

    // A script that does not compile: its load error is returned, not looped on.
    auto broken = co_await client->eval(Script("return {"), {}, {});
    EXPECT_TRUE(broken.is_error());
    // Binary-safe arguments reach the script unchanged.
    std::string binary("x\0y\r\n", 5);
    auto echoed = co_await client->eval(Script("return ARGV[1]"), {}, cmd(binary));
    EXPECT_EQ(echoed.as_string(), binary);
}

TEST_F(RedisClient, EvalRecoversFromNoscript) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, eval_recovers_from_noscript(&client, keys_));
}

TEST(RedisScript, Sha1IsComputedLocally) {
    EXPECT_EQ(Script("").sha1(), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(Script("return 1").sha1(), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

// ---- timeouts --------------------------------------------------------------------------------------

asio::awaitable<void> blpop_times_out(Client* client, Keys keys) {
    auto start = Clock::now();
    bool timed_out = false;
    try {
        co_await client->command(cmd("BLPOP", keys.make("empty"), "2"), 200ms);
    } catch (const RedisTimeoutError&) {
        timed_out = true;
    }
    auto elapsed = Clock::now() - start;
    EXPECT_TRUE(timed_out);
    EXPECT_GE(elapsed, 190ms);
    EXPECT_LT(elapsed, 1500ms);  // well before BLPOP's own 2 s
    // The connection was reset; the next command reconnects and works.
    EXPECT_FALSE(client->is_connected());
    EXPECT_TRUE((co_await client->command(cmd("SET", keys.make("after"), "ok"))).is_ok());
    EXPECT_EQ((co_await client->command(cmd("GET", keys.make("after")))).as_string(), "ok");
}

TEST_F(RedisClient, TimeoutThrowsAndClientRecovers) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, blpop_times_out(&client, keys_));
}

struct TimeoutOutcome {
    bool blpop_timed_out = false;
    bool get_failed_with_redis_error = false;
    bool get_timed_out = false;
};

asio::awaitable<void> blocking_waiter(Client* client, std::string key, TimeoutOutcome* out) {
    try {
        co_await client->command(cmd("BLPOP", key, "5"), 300ms);
    } catch (const RedisTimeoutError&) {
        out->blpop_timed_out = true;
    }
}

asio::awaitable<void> queued_behind(Client* client, std::string key, TimeoutOutcome* out) {
    try {
        co_await client->command(cmd("GET", key), 10s);
    } catch (const RedisTimeoutError&) {
        out->get_timed_out = true;
    } catch (const RedisError&) {
        out->get_failed_with_redis_error = true;
    }
}

TEST_F(RedisClient, TimeoutFailsOtherInFlightCommandsWithRedisError) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, client.ping());
    TimeoutOutcome outcome;
    auto start = Clock::now();
    std::vector<asio::awaitable<void>> tasks;
    tasks.push_back(blocking_waiter(&client, keys_.make("empty"), &outcome));
    tasks.push_back(queued_behind(&client, keys_.make("x"), &outcome));
    test::run_all(ctx_, std::move(tasks));
    EXPECT_TRUE(outcome.blpop_timed_out);
    EXPECT_TRUE(outcome.get_failed_with_redis_error);  // its reply could no longer be matched
    EXPECT_FALSE(outcome.get_timed_out);
    EXPECT_LT(Clock::now() - start, 3s);
    run_coro(ctx_, client.ping());
}

// ---- connection loss ---------------------------------------------------------------------------

asio::awaitable<void> wait_until_disconnected(Client* client, std::chrono::milliseconds limit) {
    auto deadline = Clock::now() + limit;
    while (client->is_connected() && Clock::now() < deadline) co_await test::sleep_for(10ms);
}

asio::awaitable<void> survives_client_kill(Client* victim, Client* killer, Keys keys) {
    EXPECT_TRUE((co_await victim->command(cmd("SET", keys.make("v"), "1"))).is_ok());
    auto id = (co_await victim->command(cmd("CLIENT", "ID"))).as_int();
    auto killed = co_await killer->command(cmd("CLIENT", "KILL", "ID", std::to_string(id)));
    EXPECT_EQ(killed.as_int(), 1);
    // The idle victim notices the close on its own...
    co_await wait_until_disconnected(victim, 2000ms);
    EXPECT_FALSE(victim->is_connected());
    // ...and the next command reconnects (a new connection id).
    EXPECT_EQ((co_await victim->command(cmd("INCR", keys.make("v")))).as_int(), 2);
    EXPECT_TRUE(victim->is_connected());
    EXPECT_NE((co_await victim->command(cmd("CLIENT", "ID"))).as_int(), id);
}

TEST_F(RedisClient, ReconnectsAfterClientKill) {
    Client victim(ctx_.get_executor(), test::shared_server_options());
    Client killer(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, survives_client_kill(&victim, &killer, keys_));
}

asio::awaitable<void> selects_database(Client* db0, Client* db3, Client* killer, Keys keys) {
    EXPECT_TRUE((co_await db3->command(cmd("SET", keys.make("db"), "three"))).is_ok());
    EXPECT_TRUE((co_await db0->command(cmd("GET", keys.make("db")))).is_nil());
    EXPECT_EQ((co_await db3->command(cmd("GET", keys.make("db")))).as_string(), "three");
    // SELECT is replayed after a reconnect.
    auto id = (co_await db3->command(cmd("CLIENT", "ID"))).as_int();
    co_await killer->command(cmd("CLIENT", "KILL", "ID", std::to_string(id)));
    co_await wait_until_disconnected(db3, 2000ms);
    EXPECT_EQ((co_await db3->command(cmd("GET", keys.make("db")))).as_string(), "three");
    co_await test::delete_prefix(db3, keys.prefix());
}

TEST_F(RedisClient, UrlDatabaseIsSelectedOnEveryConnect) {
    auto options = test::shared_server_options();
    Client db0(ctx_.get_executor(), options);
    Client killer(ctx_.get_executor(), options);
    options.url += "/3";
    Client db3(ctx_.get_executor(), options);
    run_coro(ctx_, selects_database(&db0, &db3, &killer, keys_));
}

// ---- positions that only go up (redis/position.hpp) ---------------------------------------------

asio::awaitable<void> positions_only_go_up(Client* client, Keys keys) {
    const auto key = keys.make("position");
    EXPECT_FALSE(co_await read_position(client, key));
    EXPECT_EQ((co_await raise_position(client, key, 0x1A2B3C4DULL)).as_int(), 1);
    EXPECT_EQ(co_await read_position(client, key), std::optional<std::uint64_t>(0x1A2B3C4DULL));
    // A lower position (a slower process's older write) leaves it; a higher one raises it, also
    // across a change in the number of significant digits.
    EXPECT_EQ((co_await raise_position(client, key, 0x0FFFFFFFULL)).as_int(), 0);
    EXPECT_EQ(co_await read_position(client, key), std::optional<std::uint64_t>(0x1A2B3C4DULL));
    EXPECT_EQ((co_await raise_position(client, key, 0x100000000ULL)).as_int(), 1);
    EXPECT_EQ(co_await read_position(client, key), std::optional<std::uint64_t>(0x100000000ULL));
    EXPECT_EQ((co_await client->command(cmd("PTTL", key))).as_int(), -1) << "no TTL asked for";
    // With a TTL: set on a raise, refreshed when the position stays.
    const auto timed = keys.make("timed");
    co_await raise_position(client, timed, 7, 60'000ms);
    EXPECT_GT((co_await client->command(cmd("PTTL", timed))).as_int(), 50'000);
    EXPECT_EQ((co_await client->command(cmd("PEXPIRE", timed, 1'000))).as_int(), 1);
    EXPECT_EQ((co_await raise_position(client, timed, 5, 60'000ms)).as_int(), 0);
    EXPECT_GT((co_await client->command(cmd("PTTL", timed))).as_int(), 50'000) << "refreshed";
    EXPECT_EQ(co_await read_position(client, timed), std::optional<std::uint64_t>(7));
    // Something else under the key is no position.
    co_await client->command(cmd("SET", key, "not-hex"));
    EXPECT_FALSE(co_await read_position(client, key));
    // An error reply is no answer at all: read-your-writes and the cache fills must then use the
    // primary, not take it for "no write".
    const auto list = keys.make("list");
    co_await client->command(cmd("RPUSH", list, "x"));
    bool thrown = false;
    try {
        static_cast<void>(co_await read_position(client, list));
    } catch (const RedisError& e) {
        thrown = std::string(e.what()).find("WRONGTYPE") != std::string::npos;
    }
    EXPECT_TRUE(thrown) << "a WRONGTYPE reply should throw RedisError";
}

TEST_F(RedisClient, PositionsOnlyGoUp) {
    Client client(ctx_.get_executor(), test::shared_server_options());
    run_coro(ctx_, positions_only_go_up(&client, keys_));
}

TEST(RedisPosition, TextRoundTrips) {
    EXPECT_EQ(position_text(0), "0000000000000000");
    EXPECT_EQ(position_text(0x16B3748ULL), "00000000016b3748");
    EXPECT_EQ(parse_position("00000000016b3748"), std::optional<std::uint64_t>(0x16B3748ULL));
    EXPECT_EQ(parse_position("ffffffffffffffff"), std::optional<std::uint64_t>(~0ULL));
    EXPECT_FALSE(parse_position(""));
    EXPECT_FALSE(parse_position("12g"));
    EXPECT_FALSE(parse_position("10000000000000000")) << "17 digits";
    EXPECT_FALSE(parse_position("-1"));
}

asio::awaitable<void> connect_refused_then_backoff(Client* client) {
    auto start = Clock::now();
    std::string first_error;
    try {
        co_await client->ping();
    } catch (const RedisError& e) {
        first_error = e.what();
    }
    EXPECT_NE(first_error.find("cannot connect"), std::string::npos) << first_error;
    // Inside the backoff window: fails fast without trying the network.
    std::string second_error;
    try {
        co_await client->ping();
    } catch (const RedisError& e) {
        second_error = e.what();
    }
    EXPECT_NE(second_error.find("backoff"), std::string::npos) << second_error;
    EXPECT_LT(Clock::now() - start, 500ms);
    // After the (first, 100 ms) backoff delay the next command tries to connect again.
    co_await test::sleep_for(150ms);
    std::string third_error;
    try {
        co_await client->ping();
    } catch (const RedisError& e) {
        third_error = e.what();
    }
    EXPECT_NE(third_error.find("cannot connect"), std::string::npos) << third_error;
}

TEST(RedisClientNoServer, FailsFastAndBacksOff) {
    asio::io_context ctx;
    ClientOptions options;
    options.url = "redis://127.0.0.1:" + std::to_string(test::free_port());
    Client client(ctx.get_executor(), options);
    run_coro(ctx, connect_refused_then_backoff(&client));
    EXPECT_FALSE(client.is_connected());
}

asio::awaitable<void> closed_client_throws(Client* client) {
    co_await client->ping();
    client->close();
    EXPECT_FALSE(client->is_connected());
    EXPECT_THROW(co_await client->ping(), RedisError);
}

TEST(RedisClientClose, ClosedClientRejectsCommands) {
    asio::io_context ctx;
    Client client(ctx.get_executor(), test::shared_server_options());
    run_coro(ctx, closed_client_throws(&client));
}

TEST(RedisClientUrl, MalformedUrlIsRejected) {
    asio::io_context ctx;
    ClientOptions options;
    options.url = "http://127.0.0.1:6379";
    EXPECT_THROW(Client(ctx.get_executor(), options), RedisError);
    options.url = "redis://127.0.0.1:6379/notanumber";
    EXPECT_THROW(Client(ctx.get_executor(), options), RedisError);
}

asio::awaitable<void> wrong_password_fails(Client* client) {
    std::string error;
    try {
        co_await client->ping();
    } catch (const RedisError& e) {
        error = e.what();
    }
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find("not-the-password"), std::string::npos) << "password leaked: " << error;
}

TEST(RedisClientAuth, RefusedAuthIsAConnectionFailure) {
    asio::io_context ctx;
    auto options = test::shared_server_options();
    options.url.insert(std::string("redis://").size(), ":not-the-password@");
    Client client(ctx.get_executor(), options);
    run_coro(ctx, wrong_password_fails(&client));
}

}  // namespace
}  // namespace emporium::redis
