// RESTORE payloads (redis/dump.hpp) against the shared test Redis: a sorted set restored from our
// payload must be byte for byte the set Redis builds itself from ZADD (their DUMPs are equal), and
// must read back the same.

#include "redis/dump.hpp"
#include "redis_support.hpp"

#include <cmath>
#include <limits>
#include <random>

namespace emporium::redis {
namespace {

namespace asio = boost::asio;
using emporium::test::run_coro;
using namespace std::string_literals;

using Set = std::vector<std::pair<std::string, double>>;

TEST(RedisDump, Crc64IsRedisChecksum) {
    // The check value of CRC-64/Jones (reflected, no final xor), as Redis' own crc64 test uses.
    EXPECT_EQ(crc64(0, "123456789"), 0xe9c6d914c4b8d9caULL);
    EXPECT_EQ(crc64(0, ""), 0U);
    // Chunked input (the 8-byte path and the byte-wise tail) gives the same checksum.
    std::string text;
    for (int i = 0; i < 1000; ++i) text += static_cast<char>((i * 37) & 0xff);
    const auto whole = crc64(0, text);
    for (std::size_t cut : {1UL, 7UL, 8UL, 9UL, 500UL, 999UL}) {
        EXPECT_EQ(crc64(crc64(0, std::string_view(text).substr(0, cut)), std::string_view(text).substr(cut)), whole) << cut;
    }
}

TEST(RedisDump, ScoresPrintLikeRedis) {
    EXPECT_EQ(listpack_score(0), "0");
    EXPECT_EQ(listpack_score(-0.0), "0");
    EXPECT_EQ(listpack_score(42), "42");
    EXPECT_EQ(listpack_score(-7), "-7");
    EXPECT_EQ(listpack_score(0.5), "0.5");
    EXPECT_EQ(listpack_score(0.1), "0.10000000000000001");
    EXPECT_EQ(listpack_score(1e18), "1000000000000000000");  // integral within ±2^62: an integer
    EXPECT_EQ(listpack_score(5e18), "5e+18");                 // beyond: %.17g
}

TEST(RedisDump, RefusesWhatCannotBeASet) {
    const std::vector<ZsetMember> none;
    EXPECT_THROW(static_cast<void>(zset_restore_payload(none)), std::invalid_argument);
    const std::vector<ZsetMember> nan{{"a", std::nan("")}};
    EXPECT_THROW(static_cast<void>(zset_restore_payload(nan)), std::invalid_argument);
    const std::vector<ZsetIdMember> inf{{1, std::numeric_limits<double>::infinity()}};
    EXPECT_THROW(static_cast<void>(zset_restore_payload(inf)), std::invalid_argument);
}

class RedisDumpServer : public ::testing::Test {
protected:
    RedisDumpServer() : keys_("test:" + emporium::test::unique_suffix() + ":"), client_(ctx_.get_executor(), test::shared_server_options()) {}
    void TearDown() override {
        run_coro(ctx_, test::delete_prefix(&client_, keys_.prefix()));
        client_.close();
    }
    std::vector<Reply> run(std::vector<std::vector<std::string>> commands) {
        return run_coro(ctx_, client_.pipeline(std::move(commands)));
    }
    // Builds `set` with ZADD under one key and restores `payload` under another; returns both
    // DUMPs and both ZRANGE … WITHSCORES.
    struct Both {
        Reply restored;
        std::string dump_zadd, dump_restored;
        std::vector<std::string> range_zadd, range_restored;
    };
    Both both(const Set& set, std::string payload) {
        const auto a = keys_.make("zadd", n_);
        const auto b = keys_.make("restored", n_++);
        std::vector<std::string> zadd{"ZADD", a};
        for (const auto& [member, score] : set) {
            zadd.push_back(listpack_score(score));
            zadd.push_back(member);
        }
        std::vector<std::vector<std::string>> commands;
        commands.push_back(std::move(zadd));
        commands.push_back(cmd("RESTORE", b, "0", std::move(payload)));
        commands.push_back(cmd("DUMP", a));
        commands.push_back(cmd("DUMP", b));
        commands.push_back(cmd("ZRANGE", a, "0", "-1", "WITHSCORES"));
        commands.push_back(cmd("ZRANGE", b, "0", "-1", "WITHSCORES"));
        auto r = run(std::move(commands));
        Both out{r[1], r[2].str, r[3].str, {}, {}};
        for (const auto& e : r[4].elements) out.range_zadd.push_back(e.str);
        for (const auto& e : r[5].elements) out.range_restored.push_back(e.str);
        return out;
    }
    Both both(const Set& set) {
        std::vector<ZsetMember> members;
        for (const auto& [member, score] : set) members.push_back({member, score});
        return both(set, zset_restore_payload(members));
    }

    asio::io_context ctx_;
    Keys keys_;
    Client client_;
    int n_ = 0;
};

TEST_F(RedisDumpServer, RestoredSetsAreTheSetsRedisBuildsItself) {
    const auto i64 = [](std::int64_t v) { return std::to_string(v); };
    const std::vector<Set> cases{
        {{"a", 1}},
        // Integers at every width boundary of the listpack encodings, as members and as scores.
        {{"0", 0}, {"127", 127}, {"128", 128}, {"-1", -1}, {"4095", 4095}, {"4096", 4096}, {"-4096", -4096},
         {"-4097", -4097}, {"32767", 32767}, {"32768", 32768}, {"-32768", -32768}, {"8388607", 8388607},
         {"8388608", 8388608}, {"-8388609", -8388609}, {"2147483647", 2147483647.0}, {"2147483648", 2147483648.0},
         {i64(std::numeric_limits<std::int64_t>::max()), 1}, {i64(std::numeric_limits<std::int64_t>::min()), 2}},
        // Text that only looks like an integer stays text.
        {{"007", 1}, {"+5", 1}, {"-0", 1}, {"1e3", 1}, {" 5", 1}, {"5 ", 1}, {"", 1}, {"99999999999999999999", 1}},
        // Equal scores are ordered by member bytes ("10" < "9"), binary members included.
        {{"9", 5}, {"10", 5}, {"1", 5}, {"100", 5}, {"x"s + '\0' + "y", 5}, {"x", 5}, {"\xff", 5}, {"12345678", 5}, {"123456789", 5}},
        // Scores: fractions, tiny and huge values, negative zero, 2^52 and beyond.
        {{"p", 0.1}, {"q", 1.0 / 3}, {"r", 1e-7}, {"s", -2.5}, {"t", 1e300}, {"u", -0.0}, {"v", 4503599627370496.0},
         {"w", 4503599627370495.0}, {"x", -4503599627370495.0}, {"y", 9007199254740992.0}, {"z", 1e18},
         {"z2", -4e18}, {"z3", 5e18}, {"z4", -5e18}},
        // Longest short strings (63 and 64 bytes: the 6-bit and the 12-bit length forms).
        {{std::string(63, 'm'), 1}, {std::string(64, 'n'), 2}},
    };
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const auto r = both(cases[c]);
        ASSERT_TRUE(r.restored.is_ok()) << "case " << c << ": " << r.restored.str;
        EXPECT_FALSE(r.dump_zadd.empty()) << c;
        EXPECT_EQ(r.dump_restored, r.dump_zadd) << "case " << c;
        EXPECT_EQ(r.range_restored, r.range_zadd) << "case " << c;
    }
}

TEST_F(RedisDumpServer, RandomSetsOfIdsMatchToo) {
    std::mt19937_64 rng(20261126);
    for (int round = 0; round < 300; ++round) {
        const auto size = 1 + rng() % 128;
        std::set<std::int64_t> ids;
        while (ids.size() < size) {
            if (round % 3 == 0) {
                // Below 10^8 and not negative: the payload's fast path (with integral scores).
                const std::int64_t edges[] = {0, 9, 10, 99, 100, 99'999'999, 10'000'000, 12'345'678, 1'234'567};
                ids.insert(rng() % 4 == 0 ? edges[rng() % std::size(edges)] : static_cast<std::int64_t>(rng() % 100'000'000));
            } else {
                const int width = static_cast<int>(rng() % 40);  // small ids mostly, up to 2^40, some negative
                ids.insert(static_cast<std::int64_t>(rng() % (std::uint64_t{1} << width)) * (rng() % 8 == 0 ? -1 : 1));
            }
        }
        Set set;
        std::vector<ZsetIdMember> members;
        for (auto id : ids) {
            // Counts (many ties) or normalised scores.
            // Counts (many ties, now and then a large one) or normalised scores.
            const double score = round % 2 == 0 ? static_cast<double>(rng() % 50 == 0 ? 2'147'483'647 - rng() % 3 : rng() % 5)
                                                : static_cast<double>(rng() % 1000) / 997.0;
            set.emplace_back(std::to_string(id), score);
            members.push_back({id, score});
        }
        const auto r = both(set, zset_restore_payload(members));
        ASSERT_TRUE(r.restored.is_ok()) << "round " << round << ": " << r.restored.str;
        ASSERT_EQ(r.dump_restored, r.dump_zadd) << "round " << round;
        ASSERT_EQ(r.range_restored, r.range_zadd) << "round " << round;
    }
}

TEST_F(RedisDumpServer, SetsBeyondTheListpackLimitsStillReadBackTheSame) {
    // Redis converts these on load (more than 128 members; a member over 64 bytes stays valid):
    // the encodings differ, the contents must not.
    Set many;
    for (int i = 0; i < 300; ++i) many.emplace_back("m" + std::to_string(i), i % 7);
    Set long_member{{std::string(5000, 'L'), 1}, {"short", 2}};
    for (const auto& set : {many, long_member}) {
        const auto r = both(set);
        ASSERT_TRUE(r.restored.is_ok()) << r.restored.str;
        EXPECT_EQ(r.range_restored, r.range_zadd);
    }
    // The restored listpack is a live set: Redis can change it.
    const auto key = keys_.make("live");
    const std::vector<ZsetIdMember> members{{300, 1}, {7, 2}, {70000, 2}};
    auto r = run({cmd("RESTORE", key, "0", zset_restore_payload(members)), cmd("ZINCRBY", key, "5", "300"),
                  cmd("ZADD", key, "0.5", "new"), cmd("ZREM", key, "7"), cmd("ZRANGE", key, "0", "-1", "WITHSCORES")});
    ASSERT_TRUE(r[0].is_ok()) << r[0].str;
    std::vector<std::string> range;
    for (const auto& e : r[4].elements) range.push_back(e.str);
    EXPECT_EQ(range, (std::vector<std::string>{"new", "0.5", "70000", "2", "300", "6"}));
}

}  // namespace
}  // namespace emporium::redis
