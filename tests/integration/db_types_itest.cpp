// Typed parameters and results against a real server: every supported type, NULLs, and the
// conversions that must fail loudly.

#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

ConnectionOptions options_for(std::string url) {
    ConnectionOptions o;
    o.url = std::move(url);
    return o;
}

constexpr Statement kAllTypes{
    "test.all_types",
    "SELECT $1::bool, $2::int4, $3::int8, $4::float8, $5::text, $6::numeric, $7::timestamptz, $8::int8[], "
    "$9::jsonb, $10::bytea"};

Timestamp make_ts(int y, unsigned m, unsigned d, int hh, int mi, int ss, int micros) {
    using namespace std::chrono;
    return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mi} + seconds{ss} +
           microseconds{micros};
}

asio::awaitable<void> round_trip_values(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    const Timestamp ts = make_ts(2024, 2, 29, 23, 59, 58, 123456);
    const std::vector<std::int64_t> ids{1, -2, std::numeric_limits<std::int64_t>::max()};
    const boost::json::value doc = boost::json::parse(R"({"a":[1,2,{"b":null}],"s":"é\"x"})");
    std::string raw;
    for (int i = 0; i < 256; ++i) raw.push_back(static_cast<char>(i));

    Params p = params(true,
                      std::int32_t{-2147483647 - 1},
                      std::int64_t{9007199254740993},
                      0.1,
                      std::string("héllo, 'world'"),
                      "12345678901234567890.000000001",
                      ts,
                      ids,
                      doc,
                      Param::bytea(raw));
    auto r = co_await conn->query(kAllTypes, std::move(p));
    EXPECT_EQ(r.rows(), 1U);
    EXPECT_EQ(r.columns(), 10U);
    EXPECT_TRUE(r.get<bool>(0, 0));
    EXPECT_EQ(r.get<std::int32_t>(0, 1), std::numeric_limits<std::int32_t>::min());
    EXPECT_EQ(r.get<std::int64_t>(0, 2), 9007199254740993);
    EXPECT_EQ(r.get<double>(0, 3), 0.1);
    EXPECT_EQ(r.get<std::string>(0, 4), "héllo, 'world'");
    EXPECT_EQ(r.get<std::string>(0, 5), "12345678901234567890.000000001");
    EXPECT_EQ(r.get<Timestamp>(0, 6), ts);
    EXPECT_EQ(r.get<std::vector<std::int64_t>>(0, 7), ids);
    EXPECT_EQ(r.get<boost::json::value>(0, 8), doc);
    EXPECT_EQ(r.get<Bytea>(0, 9).bytes, raw);
}

asio::awaitable<void> round_trip_nulls(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    Params nulls(10, Param(std::nullopt));
    auto r = co_await conn->query(kAllTypes, std::move(nulls));
    for (int col = 0; col < 10; ++col) EXPECT_TRUE(r.is_null(0, col)) << col;
    EXPECT_FALSE(r.get_optional<bool>(0, 0).has_value());
    EXPECT_FALSE(r.get_optional<std::int32_t>(0, 1).has_value());
    EXPECT_FALSE(r.get_optional<std::int64_t>(0, 2).has_value());
    EXPECT_FALSE(r.get_optional<double>(0, 3).has_value());
    EXPECT_FALSE(r.get_optional<std::string>(0, 4).has_value());
    EXPECT_FALSE(r.get_optional<Timestamp>(0, 6).has_value());
    EXPECT_FALSE(r.get_optional<std::vector<std::int64_t>>(0, 7).has_value());
    EXPECT_FALSE(r.get_optional<boost::json::value>(0, 8).has_value());
    EXPECT_FALSE(r.get_optional<Bytea>(0, 9).has_value());
    EXPECT_THROW(static_cast<void>(r.get<std::int32_t>(0, 1)), DbError);

    // std::optional parameters: empty is NULL, engaged is the value.
    const std::optional<std::int64_t> some = 42;
    const std::optional<std::string> none;
    auto o = co_await conn->query(Statement{"test.optionals", "SELECT $1::int8, $2::text"}, some, none);
    EXPECT_EQ(o.get_optional<std::int64_t>(0, 0), 42);
    EXPECT_EQ(o.get_optional<std::string>(0, 1), std::nullopt);
}

asio::awaitable<void> edge_values(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    constexpr Statement kDouble{"test.double", "SELECT $1::float8"};
    const std::vector<double> doubles{0.0,
                                      -1.5,
                                      1e300,
                                      5e-324,
                                      1.0 / 3.0,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity()};
    for (double v : doubles) {
        auto r = co_await conn->query(kDouble, v);
        EXPECT_EQ(r.get<double>(0, 0), v);
    }
    auto nan = co_await conn->query(kDouble, std::numeric_limits<double>::quiet_NaN());
    EXPECT_TRUE(std::isnan(nan.get<double>(0, 0)));

    constexpr Statement kTs{"test.ts", "SELECT $1::timestamptz"};
    const std::vector<Timestamp> stamps{make_ts(1969, 12, 31, 23, 59, 59, 999999),
                                        make_ts(1, 1, 1, 0, 0, 0, 0),
                                        make_ts(9999, 12, 31, 23, 59, 59, 1),
                                        make_ts(2000, 1, 1, 0, 0, 0, 0)};
    for (Timestamp ts : stamps) {
        auto r = co_await conn->query(kTs, ts);
        EXPECT_EQ(r.get<Timestamp>(0, 0), ts);
    }
    // Offsets in text (e.g. a timestamptz cast to text under another TimeZone) are honoured.
    auto off =
        co_await conn->query(Statement{"test.ts_offset", "SELECT '2024-03-01 12:00:00.5+05:30'::text"});
    EXPECT_EQ(off.get<Timestamp>(0, 0), make_ts(2024, 3, 1, 6, 30, 0, 500000));
    // Sessions run in UTC whatever the server default.
    auto tz = co_await conn->query(Statement{"test.tz", "SELECT current_setting('TimeZone'), now()::text"});
    EXPECT_EQ(tz.get<std::string>(0, 0), "UTC");
    EXPECT_TRUE(tz.get<std::string>(0, 1).ends_with("+00"));

    auto empty =
        co_await conn->query(Statement{"test.empty_array", "SELECT $1::int8[]"}, std::vector<std::int64_t>{});
    EXPECT_TRUE(empty.get<std::vector<std::int64_t>>(0, 0).empty());
    auto with_null = co_await conn->query(Statement{"test.null_elem", "SELECT ARRAY[1, NULL]::int8[]"});
    EXPECT_THROW(static_cast<void>(with_null.get<std::vector<std::int64_t>>(0, 0)), DbError);

    auto empty_bytes =
        co_await conn->query(Statement{"test.empty_bytea", "SELECT $1::bytea"}, Param::bytea(""));
    EXPECT_EQ(empty_bytes.get<Bytea>(0, 0).bytes, "");
}

asio::awaitable<void> mismatches_throw(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    auto r = co_await conn->query(
        Statement{"test.mismatch",
                  "SELECT 'abc'::text AS word, 3000000000::int8 AS big, 1.5::float8 AS f, '{}'::text AS j"});
    EXPECT_THROW(static_cast<void>(r.get<std::int64_t>(0, 0)), DbError);
    EXPECT_THROW(static_cast<void>(r.get<bool>(0, 0)), DbError);
    EXPECT_THROW(static_cast<void>(r.get<Timestamp>(0, 0)), DbError);
    EXPECT_THROW(static_cast<void>(r.get<std::int32_t>(0, "big")), DbError);  // out of range
    EXPECT_EQ(r.get<std::int64_t>(0, "big"), 3000000000);
    EXPECT_THROW(static_cast<void>(r.get<std::int64_t>(0, "f")), DbError);
    EXPECT_THROW(static_cast<void>(r.get<Bytea>(0, "word")), DbError);
    EXPECT_THROW(static_cast<void>(r.column("nope")), DbError);
    EXPECT_EQ(r.get<boost::json::value>(0, "j"), boost::json::object{});
    EXPECT_THROW(static_cast<void>(r.get<boost::json::value>(0, "word")), DbError);
    EXPECT_THROW(static_cast<void>(r.get<std::string>(1, 0)), std::out_of_range);
}

asio::awaitable<void> affected_rows_and_tags(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    static_cast<void>(co_await conn->query_unprepared("CREATE TEMP TABLE t (id int)"));
    auto ins =
        co_await conn->query(Statement{"test.ins", "INSERT INTO t SELECT generate_series(1, $1::int)"}, 7);
    EXPECT_EQ(ins.affected(), 7);
    EXPECT_EQ(ins.command(), "INSERT 0 7");
    auto upd = co_await conn->query(Statement{"test.upd", "UPDATE t SET id = id + 1 WHERE id > $1"}, 4);
    EXPECT_EQ(upd.affected(), 3);
    auto sel = co_await conn->query(Statement{"test.sel", "SELECT id FROM t ORDER BY id"});
    EXPECT_EQ(sel.rows(), 7U);
    EXPECT_EQ(sel.get<std::int32_t>(6, "id"), 8);
}

TEST(DbTypes, RoundTripsEveryType) {
    test::run_coro(round_trip_values(test::process_test_database_url()));
}
TEST(DbTypes, NullsAndOptionals) {
    test::run_coro(round_trip_nulls(test::process_test_database_url()));
}
TEST(DbTypes, EdgeValues) {
    test::run_coro(edge_values(test::process_test_database_url()));
}
TEST(DbTypes, MismatchesThrow) {
    test::run_coro(mismatches_throw(test::process_test_database_url()));
}
TEST(DbTypes, AffectedRowsAndCommandTags) {
    test::run_coro(affected_rows_and_tags(test::process_test_database_url()));
}

}  // namespace
}  // namespace emporium::db
