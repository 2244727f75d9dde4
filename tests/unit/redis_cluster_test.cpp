// Redis Cluster routing without a server: key slots (the cluster specification's CRC16 and hash
// tag rules), the key each command is routed by, redirect and slot-map parsing, seed URLs.

#include "redis/cluster.hpp"
#include "redis/redis.hpp"

#include <gtest/gtest.h>

namespace emporium::redis {
namespace {

using detail::routing_key;

TEST(RedisClusterSlots, Crc16IsXmodem) {
    // The check value of CRC-16/XMODEM, the one the cluster specification gives.
    EXPECT_EQ(crc16("123456789"), 0x31C3);
    EXPECT_EQ(crc16(""), 0);
}

TEST(RedisClusterSlots, KnownKeysLandInTheirSlots) {
    // Values as CLUSTER KEYSLOT answers them.
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("bar"), 5061);
    EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
}

TEST(RedisClusterSlots, HashTagsFollowTheSpecification) {
    // Only the part between the first '{' and the next '}' counts, when not empty.
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
    EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
    EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
    EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
    // An empty tag, or no closing brace: the whole key.
    EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);
    EXPECT_EQ(key_slot("foo{bar"), crc16("foo{bar") % 16384);
    EXPECT_EQ(key_slot("emporium:{q:email}:stream"), key_slot("q:email"));
}

TEST(RedisClusterRouting, EachCommandIsRoutedByItsKey) {
    EXPECT_EQ(routing_key(cmd("GET", "k1")), "k1");
    EXPECT_EQ(routing_key(cmd("set", "k2", "v")), "k2");
    EXPECT_EQ(routing_key(cmd("EVALSHA", "abc", "2", "first", "second", "arg")), "first");
    EXPECT_EQ(routing_key(cmd("EVALSHA", "abc", "0", "arg")), std::nullopt);
    EXPECT_EQ(routing_key(
                  cmd("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "100", "STREAMS", "s1", ">")),
              "s1");
    EXPECT_EQ(routing_key(cmd("XGROUP", "CREATE", "stream", "g", "$", "MKSTREAM")), "stream");
    EXPECT_EQ(routing_key(cmd("XINFO", "STREAM", "stream")), "stream");
    EXPECT_EQ(routing_key(cmd("PUBLISH", "channel", "m")), std::nullopt);
    EXPECT_EQ(routing_key(cmd("PING")), std::nullopt);
    EXPECT_EQ(routing_key(cmd("SCRIPT", "LOAD", "return 1")), std::nullopt);
}

TEST(RedisClusterRouting, RedirectsAreParsed) {
    auto moved = detail::parse_redirect("MOVED 3999 127.0.0.1:6381");
    ASSERT_TRUE(moved);
    EXPECT_FALSE(moved->is_ask);
    EXPECT_EQ(moved->slot, 3999);
    EXPECT_EQ(moved->address, "127.0.0.1:6381");
    auto ask = detail::parse_redirect("ASK 12 10.0.0.2:7000");
    ASSERT_TRUE(ask);
    EXPECT_TRUE(ask->is_ask);
    EXPECT_EQ(ask->slot, 12);
    EXPECT_FALSE(detail::parse_redirect("ERR wrong number of arguments"));
    EXPECT_FALSE(detail::parse_redirect("MOVED 16384 127.0.0.1:1"));
    EXPECT_FALSE(detail::parse_redirect("MOVED 1 127.0.0.1"));
    EXPECT_FALSE(detail::parse_redirect("MOVED 1 :7000"));
}

TEST(RedisClusterUrl, SeedsKeepTheCredentials) {
    EXPECT_TRUE(is_cluster_url("redis+cluster://a:1"));
    EXPECT_FALSE(is_cluster_url("redis://a:1"));
    auto seeds = detail::cluster_seed_urls("redis+cluster://u:p%40ss@127.0.0.1:7000,127.0.0.1:7001/0");
    ASSERT_EQ(seeds.size(), 2U);
    EXPECT_EQ(seeds[0], "redis://u:p%40ss@127.0.0.1:7000");
    EXPECT_EQ(seeds[1], "redis://u:p%40ss@127.0.0.1:7001");
    EXPECT_EQ(detail::cluster_seed_urls("redis+cluster://h:1").size(), 1U);
    EXPECT_THROW(detail::cluster_seed_urls("redis+cluster://"), RedisError);
    EXPECT_THROW(detail::cluster_seed_urls("redis+cluster://h"), RedisError);
    EXPECT_THROW(detail::cluster_seed_urls("redis+cluster://h:1,,h:2"), RedisError);
    EXPECT_THROW(detail::cluster_seed_urls("redis+cluster://h:99999"), RedisError);
    EXPECT_THROW(detail::cluster_seed_urls("redis+cluster://h:1/2"), RedisError);
    try {
        detail::cluster_seed_urls("redis+cluster://user:secret@h");
        FAIL() << "a seed without a port was accepted";
    } catch (const RedisError& e) {
        EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << "the error echoes the password";
    }
}

Reply bulk(std::string s) {
    Reply r;
    r.type = Reply::Type::kString;
    r.str = std::move(s);
    return r;
}
Reply integer(std::int64_t v) {
    Reply r;
    r.type = Reply::Type::kInteger;
    r.integer = v;
    return r;
}
Reply array(std::vector<Reply> elements) {
    Reply r;
    r.type = Reply::Type::kArray;
    r.elements = std::move(elements);
    return r;
}

Reply shard_node(const std::string& ip,
                 std::int64_t port,
                 const std::string& role,
                 const std::string& health) {
    return array({bulk("id"),
                  bulk("abc"),
                  bulk("port"),
                  integer(port),
                  bulk("ip"),
                  bulk(ip),
                  bulk("endpoint"),
                  bulk(ip),
                  bulk("role"),
                  bulk(role),
                  bulk("replication-offset"),
                  integer(1),
                  bulk("health"),
                  bulk(health)});
}

TEST(RedisClusterMap, ShardsGiveEachRangeItsOnlineMaster) {
    auto reply = array({
        array({bulk("slots"),
               array({integer(0), integer(5460)}),
               bulk("nodes"),
               array({shard_node("127.0.0.1", 7003, "replica", "online"),
                      shard_node("127.0.0.1", 7000, "master", "online")})}),
        array({bulk("slots"),
               array({integer(5461), integer(10922), integer(16000), integer(16001)}),
               bulk("nodes"),
               array({shard_node("127.0.0.1", 7001, "master", "online")})}),
        // A failed master whose replica is not promoted yet: no owner for its slots.
        array({bulk("slots"),
               array({integer(10923), integer(15999)}),
               bulk("nodes"),
               array({shard_node("127.0.0.1", 7002, "master", "failed")})}),
    });
    auto ranges = detail::parse_shards(reply);
    ASSERT_EQ(ranges.size(), 3U);
    EXPECT_EQ(ranges[0].first, 0);
    EXPECT_EQ(ranges[0].last, 5460);
    EXPECT_EQ(ranges[0].address, "127.0.0.1:7000");
    EXPECT_EQ(ranges[1].address, "127.0.0.1:7001");
    EXPECT_EQ(ranges[2].first, 16000);
    EXPECT_EQ(ranges[2].address, "127.0.0.1:7001");
}

TEST(RedisClusterMap, SlotsReplyIsParsedToo) {
    auto reply = array({
        array({integer(0),
               integer(8191),
               array({bulk("127.0.0.1"), integer(7000), bulk("id1")}),
               array({bulk("127.0.0.1"), integer(7003), bulk("id4")})}),
        array({integer(8192), integer(16383), array({bulk("::1"), integer(7001), bulk("id2")})}),
        array({integer(9), integer(3)}),  // malformed: ignored
    });
    auto ranges = detail::parse_slots(reply);
    ASSERT_EQ(ranges.size(), 2U);
    EXPECT_EQ(ranges[0].address, "127.0.0.1:7000");
    EXPECT_EQ(ranges[1].first, 8192);
    EXPECT_EQ(ranges[1].address, "[::1]:7001");
}

}  // namespace
}  // namespace emporium::redis
