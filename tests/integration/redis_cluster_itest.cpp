// redis::Client against the local Redis Cluster (scripts/services.sh start cluster): commands and
// pipelines routed to the master of each key's slot, scripts loaded on the node that runs them,
// and a slot moved between masters while the client runs: first an ASK (the migration is under
// way), then a MOVED (it is done). Each test puts the slot back where it was, so the shared
// cluster stays as the other tests expect it.

#include "redis/cluster.hpp"
#include "redis_support.hpp"
#include "support/test_env.hpp"

#include <algorithm>
#include <set>

namespace emporium::redis::test {
namespace {

ClientOptions cluster_options() {
    ClientOptions options;
    options.url = emporium::test::cluster_redis_url();
    return options;
}

ClientOptions node_options(const std::string& address) {
    ClientOptions options;
    options.url = "redis://" + address;
    return options;
}

// The masters' slot ranges as the cluster reports them now.
asio::awaitable<std::vector<detail::SlotRange>> shards(Client* cluster) {
    auto reply = co_await cluster->command(cmd("CLUSTER", "SHARDS"));
    co_return detail::parse_shards(reply);
}

std::string owner_of(const std::vector<detail::SlotRange>& ranges, std::uint16_t slot) {
    for (const auto& r : ranges) {
        if (r.first <= slot && slot <= r.last) return r.address;
    }
    throw std::runtime_error("no owner for slot " + std::to_string(slot));
}

std::string other_master(const std::vector<detail::SlotRange>& ranges, const std::string& not_this) {
    for (const auto& r : ranges) {
        if (r.address != not_this) return r.address;
    }
    throw std::runtime_error("the cluster has one master");
}

asio::awaitable<std::string> node_id(std::string address) {
    Client node(co_await asio::this_coro::executor, node_options(address));
    auto reply = co_await node.command(cmd("CLUSTER", "MYID"));
    co_return reply.as_string();
}

void expect_ok(const Reply& reply, const std::string& what) {
    if (reply.is_error()) throw std::runtime_error(what + ": " + reply.str);
}

asio::awaitable<void> move_slot(std::uint16_t slot, std::string from, std::string to);
asio::awaitable<void> ask_then_moved(Client* cluster_ptr,
                                     std::string old_key,
                                     std::string new_key,
                                     std::uint16_t slot,
                                     std::string from,
                                     std::string to);

// Starts moving `slot` from `from` to `to` (MIGRATING / IMPORTING), without moving keys.
asio::awaitable<void> begin_migration(std::uint16_t slot, std::string from, std::string to) {
    auto ex = co_await asio::this_coro::executor;
    auto from_id = co_await node_id(from);
    auto to_id = co_await node_id(to);
    Client source(ex, node_options(from));
    Client target(ex, node_options(to));
    expect_ok(co_await target.command(cmd("CLUSTER", "SETSLOT", slot, "IMPORTING", from_id)), "IMPORTING");
    expect_ok(co_await source.command(cmd("CLUSTER", "SETSLOT", slot, "MIGRATING", to_id)), "MIGRATING");
}

// Moves the slot's remaining keys and gives the slot to `to` on both nodes (the rest of the
// cluster learns it through the configuration epoch).
asio::awaitable<void> finish_migration(std::uint16_t slot, std::string from, std::string to) {
    auto ex = co_await asio::this_coro::executor;
    auto to_id = co_await node_id(to);
    Client source(ex, node_options(from));
    Client target(ex, node_options(to));
    const auto colon = to.rfind(':');
    for (;;) {
        auto keys = co_await source.command(cmd("CLUSTER", "GETKEYSINSLOT", slot, 100));
        if (keys.elements.empty()) break;
        auto migrate = cmd("MIGRATE", to.substr(0, colon), to.substr(colon + 1), "", 0, 5000, "KEYS");
        for (const auto& k : keys.elements) migrate.push_back(k.str);
        expect_ok(co_await source.command(std::move(migrate)), "MIGRATE");
    }
    expect_ok(co_await target.command(cmd("CLUSTER", "SETSLOT", slot, "NODE", to_id)),
              "SETSLOT NODE (target)");
    expect_ok(co_await source.command(cmd("CLUSTER", "SETSLOT", slot, "NODE", to_id)),
              "SETSLOT NODE (source)");
}

// Puts a half-moved slot back on `from` (keys already moved go back first).
asio::awaitable<void> abort_migration(std::uint16_t slot, std::string from, std::string to) {
    auto ex = co_await asio::this_coro::executor;
    Client source(ex, node_options(from));
    Client target(ex, node_options(to));
    co_await target.command(cmd("CLUSTER", "SETSLOT", slot, "STABLE"));
    co_await source.command(cmd("CLUSTER", "SETSLOT", slot, "STABLE"));
    auto keys = co_await target.command(cmd("CLUSTER", "COUNTKEYSINSLOT", slot));
    if (keys.type == Reply::Type::kInteger && keys.integer > 0) {
        co_await move_slot(slot, to, from);
    }
}

asio::awaitable<void> move_slot(std::uint16_t slot, std::string from, std::string to) {
    co_await begin_migration(slot, from, to);
    co_await finish_migration(slot, from, to);
}

class RedisClusterTest : public ::testing::Test {
protected:
    std::string prefix_ = "emporium-test:" + emporium::test::unique_suffix() + ":";
    asio::io_context ctx;
};

TEST_F(RedisClusterTest, PipelinesSpreadOverEveryMasterAndAnswerInOrder) {
    emporium::test::run_coro(ctx, [](std::string prefix) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Client cluster(ex, cluster_options());
        const int n = 300;
        std::vector<std::vector<std::string>> sets;
        std::vector<std::vector<std::string>> gets;
        std::set<std::uint16_t> slots;
        for (int i = 0; i < n; ++i) {
            auto key = prefix + std::to_string(i);
            slots.insert(key_slot(key));
            sets.push_back(cmd("SET", key, "v" + std::to_string(i), "PX", 60000));
            gets.push_back(cmd("GET", key));
        }
        auto set_replies = co_await cluster.pipeline(std::move(sets));
        for (const auto& r : set_replies) EXPECT_TRUE(r.is_ok()) << r.str;
        auto values = co_await cluster.pipeline(std::move(gets));
        if (values.size() != static_cast<std::size_t>(n)) {
            ADD_FAILURE() << values.size() << " replies for " << n << " commands";
            co_return;
        }
        for (int i = 0; i < n; ++i) EXPECT_EQ(values[i].str, "v" + std::to_string(i));

        // The keys really are spread: each master holds some, and a plain client of one master
        // is redirected for the others' keys.
        auto ranges = co_await shards(&cluster);
        std::set<std::string> masters;
        for (const auto& r : ranges) masters.insert(r.address);
        EXPECT_GE(masters.size(), 3U);
        std::set<std::string> used;
        for (auto slot : slots) used.insert(owner_of(ranges, slot));
        EXPECT_EQ(used, masters);
        Client single(ex, node_options(*masters.begin()));
        int moved = 0;
        for (int i = 0; i < n; ++i) {
            auto reply = co_await single.command(cmd("GET", prefix + std::to_string(i)));
            if (reply.is_error() && reply.str.starts_with("MOVED")) ++moved;
        }
        EXPECT_GT(moved, n / 3);
        EXPECT_LT(moved, n);
    }(prefix_));
}

TEST_F(RedisClusterTest, AKeylessCommandInAPipelineGoesWhereTheCommandBeforeItWent) {
    emporium::test::run_coro(ctx, [](std::string prefix) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Client cluster(ex, cluster_options());
        auto ranges = co_await shards(&cluster);
        // `SET k` then `CLUSTER MYID` (no key), for keys of every master: MYID names k's master,
        // which is how `XADD` + `WAIT` asks the node that took the write.
        std::vector<std::vector<std::string>> commands;
        std::vector<std::string> expected;
        for (int i = 0; i < 12; ++i) {
            auto key = prefix + "w" + std::to_string(i);
            commands.push_back(cmd("SET", key, "1", "PX", 60000));
            commands.push_back(cmd("CLUSTER", "MYID"));
            expected.push_back(co_await node_id(owner_of(ranges, key_slot(key))));
        }
        auto replies = co_await cluster.pipeline(std::move(commands));
        for (std::size_t i = 0; i < expected.size(); ++i) {
            EXPECT_TRUE(replies.at(2 * i).is_ok()) << replies.at(2 * i).str;
            EXPECT_EQ(replies.at(2 * i + 1).str, expected[i]) << "command " << 2 * i + 1;
        }
    }(prefix_));
}

TEST_F(RedisClusterTest, WaitAsksTheMasterThatTookTheWrite) {
    emporium::test::run_coro(ctx, [](std::string prefix) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Client cluster(ex, cluster_options());
        // Keys on every master: each has one replica, which acknowledges the write.
        for (int i = 0; i < 6; ++i) {
            auto key = prefix + "acked" + std::to_string(i);
            auto set = co_await cluster.command(cmd("SET", key, "1", "PX", 60000));
            EXPECT_TRUE(set.is_ok()) << set.str;
            auto acked = co_await cluster.wait_replicas(key, 1, std::chrono::milliseconds(2000));
            EXPECT_EQ(acked, 1) << key;
        }
    }(prefix_));
}

TEST_F(RedisClusterTest, ScriptsRunOnTheSlotsMasterAndAreLoadedThereWhenMissing) {
    emporium::test::run_coro(ctx, [](std::string prefix) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Client cluster(ex, cluster_options());
        const Script script(
            "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); "
            "return redis.call('MGET', KEYS[1], KEYS[2])");
        auto a = prefix + "{tag}a";
        auto b = prefix + "{tag}b";
        // The script cache of every master is emptied first: the NOSCRIPT path runs.
        for (const auto& range : co_await shards(&cluster)) {
            Client node(ex, node_options(range.address));
            expect_ok(co_await node.command(cmd("SCRIPT", "FLUSH")), "SCRIPT FLUSH");
        }
        auto reply = co_await cluster.eval(script, cmd(a, b), cmd("x"));
        EXPECT_EQ(reply.type, Reply::Type::kArray) << reply.str;
        EXPECT_EQ(reply.elements.size() == 2 ? reply.elements[0].str + reply.elements[1].str : reply.str,
                  "xx");
        // Keys of two slots in one script: the cluster refuses, the client passes that on.
        auto cross = co_await cluster.eval(script, cmd(prefix + "{one}", prefix + "{two}"), cmd("y"));
        EXPECT_TRUE(cross.is_error());
        EXPECT_NE(cross.str.find("CROSSSLOT"), std::string::npos) << cross.str;
        co_await cluster.command(cmd("DEL", a, b));
    }(prefix_));
}

TEST_F(RedisClusterTest, FollowsAskDuringAMigrationAndMovedAfterIt) {
    emporium::test::run_coro(ctx, [](std::string prefix) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Client cluster(ex, cluster_options());
        const auto old_key = prefix + "{migrating}old";
        const auto new_key = prefix + "{migrating}new";
        const auto slot = key_slot(old_key);
        expect_ok(co_await cluster.command(cmd("SET", old_key, "before")), "SET");
        auto ranges = co_await shards(&cluster);
        const auto from = owner_of(ranges, slot);
        const auto to = other_master(ranges, from);

        co_await begin_migration(slot, from, to);
        std::exception_ptr failure;
        try {
            co_await ask_then_moved(&cluster, old_key, new_key, slot, from, to);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // Leave the shared cluster usable: the slot stays where it was.
            co_await abort_migration(slot, from, to);
            std::rethrow_exception(failure);
        }
        co_await move_slot(slot, to, from);  // leave the cluster as it was
        auto back = co_await cluster.command(cmd("GET", old_key));
        EXPECT_EQ(back.str, "before");
        co_await cluster.command(cmd("DEL", old_key, new_key));
    }(prefix_));
}

// The part of FollowsAskDuringAMigrationAndMovedAfterIt between the start of the migration and
// its end.
asio::awaitable<void> ask_then_moved(Client* cluster_ptr,
                                     std::string old_key,
                                     std::string new_key,
                                     std::uint16_t slot,
                                     std::string from,
                                     std::string to) {
    auto ex = co_await asio::this_coro::executor;
    auto& cluster = *cluster_ptr;
    // A key the source does not have during a migration: the source answers ASK, and the
    // client asks the target (after ASKING), where the key is created.
    auto set_new = co_await cluster.command(cmd("SET", new_key, "during"));
    EXPECT_TRUE(set_new.is_ok()) << set_new.str;
    // A key the source still has is served by the source as usual.
    auto get_old = co_await cluster.command(cmd("GET", old_key));
    EXPECT_EQ(get_old.str, "before");
    Client target(ex, node_options(to));
    std::vector<std::vector<std::string>> asking_get;
    asking_get.push_back(cmd("ASKING"));
    asking_get.push_back(cmd("GET", new_key));
    auto on_target = co_await target.pipeline(std::move(asking_get));
    EXPECT_EQ(on_target.at(1).str, "during") << "the ASK was not followed to the importing node";

    co_await finish_migration(slot, from, to);
    // The client's map still says `from`: it gets MOVED and follows it, for both keys.
    Client source(ex, node_options(from));
    auto direct = co_await source.command(cmd("GET", old_key));
    EXPECT_TRUE(direct.is_error() && direct.str.starts_with("MOVED")) << direct.str;
    EXPECT_EQ((co_await cluster.command(cmd("GET", old_key))).str, "before");
    EXPECT_EQ((co_await cluster.command(cmd("GET", new_key))).str, "during");
    // And a pipeline over the moved slot too.
    std::vector<std::vector<std::string>> both;
    both.push_back(cmd("GET", old_key));
    both.push_back(cmd("GET", new_key));
    auto replies = co_await cluster.pipeline(std::move(both));
    EXPECT_EQ(replies.at(0).str, "before");
    EXPECT_EQ(replies.at(1).str, "during");
}

TEST_F(RedisClusterTest, MalformedClusterUrlIsRefusedUpFront) {
    ClientOptions options;
    options.url = "redis+cluster://127.0.0.1";
    EXPECT_THROW(Client(ctx.get_executor(), options), RedisError);
}

}  // namespace
}  // namespace emporium::redis::test
