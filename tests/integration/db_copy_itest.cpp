// COPY … FROM STDIN and multi-statement scripts.

#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <stdexcept>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

ConnectionOptions options_for(std::string url, bool pipeline = true) {
    ConnectionOptions o;
    o.url = std::move(url);
    o.pipeline = pipeline;
    return o;
}

// Produces `total` rows "id\tname-id\n" in chunks of `per_chunk` rows.
struct RowSource {
    std::int64_t total;
    std::int64_t per_chunk;
    std::shared_ptr<std::int64_t> next = std::make_shared<std::int64_t>(1);

    bool operator()(std::string& chunk) const {
        const auto end = std::min(*next + per_chunk, total + 1);
        for (; *next < end; ++*next) {
            chunk += std::to_string(*next);
            chunk += "\tname-";
            chunk += std::to_string(*next);
            chunk += '\n';
        }
        return *next <= total;
    }
};

constexpr Statement kStats{"test.copy_stats", "SELECT count(*), coalesce(sum(id), 0) FROM copied"};

asio::awaitable<void> copy_100k_rows(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    co_await conn->execute_script(
        "DROP TABLE IF EXISTS copied; CREATE TABLE copied (id bigint PRIMARY KEY, name text)");
    constexpr std::int64_t kRows = 100000;
    // Sources are named objects: GCC 12 destroys braced aggregate temporaries inside a co_await
    // expression twice.
    RowSource rows{kRows, 1000};
    const auto n = co_await conn->copy_in("COPY copied (id, name) FROM STDIN", rows);
    EXPECT_EQ(n, kRows);
    // The pipelined connection is back in pipeline mode and usable.
    auto r = co_await conn->query(kStats);
    EXPECT_EQ(r.get<std::int64_t>(0, 0), kRows);
    EXPECT_EQ(r.get<std::int64_t>(0, 1), kRows * (kRows + 1) / 2);
    auto one =
        co_await conn->query(Statement{"test.copy_row", "SELECT name FROM copied WHERE id = $1"}, 77777);
    EXPECT_EQ(one.get<std::string>(0, 0), "name-77777");
}

TEST(DbCopy, CopiesOneHundredThousandRows) {
    test::run_coro(copy_100k_rows(test::process_test_database_url()));
}

asio::awaitable<void> copy_through_pool(std::string url) {
    PoolOptions o;
    o.connection = options_for(url);
    o.max_size = 2;
    Pool pool(co_await asio::this_coro::executor, o);
    static_cast<void>(co_await pool.query_unprepared("DROP TABLE IF EXISTS copied"));
    static_cast<void>(
        co_await pool.query_unprepared("CREATE TABLE copied (id bigint PRIMARY KEY, name text)"));
    RowSource rows{5000, 999};
    const auto n = co_await pool.copy_in("COPY copied (id, name) FROM STDIN", rows);
    EXPECT_EQ(n, 5000);
    EXPECT_EQ(pool.in_use(), 0U);
    auto r = co_await pool.query(kStats);
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 5000);
}

TEST(DbCopy, CopiesThroughThePool) {
    test::run_coro(copy_through_pool(test::process_test_database_url()));
}

struct FailingSource {
    std::shared_ptr<int> calls = std::make_shared<int>(0);
    bool operator()(std::string& chunk) const {
        if (++*calls == 3) throw std::runtime_error("source broke");
        chunk += std::to_string(*calls) + "\tx\n";
        return true;
    }
};

asio::awaitable<void> copy_failures(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url, false));
    co_await conn->execute_script(
        "DROP TABLE IF EXISTS copied; CREATE TABLE copied (id bigint PRIMARY KEY, name text)");
    // The source throws: the COPY is aborted (nothing inserted) and the source's exception surfaces.
    FailingSource failing;
    EXPECT_THROW(static_cast<void>(co_await conn->copy_in("COPY copied FROM STDIN", failing)),
                 std::runtime_error);
    // Malformed data: the server's error (22P02 invalid_text_representation).
    bool bad_data = false;
    try {
        RowSource nothing{0, 1};
        static_cast<void>(co_await conn->copy_in("COPY copied FROM STDIN", nothing));
        static_cast<void>(co_await conn->copy_in("COPY copied FROM STDIN", [](std::string& chunk) {
            chunk = "not-a-number\tx\n";
            return false;
        }));
    } catch (const DbError& e) {
        bad_data = e.sqlstate() == "22P02";
    }
    EXPECT_TRUE(bad_data);
    // Not a COPY FROM STDIN at all.
    RowSource one{1, 1};
    EXPECT_THROW(static_cast<void>(co_await conn->copy_in("SELECT 1", one)), DbError);
    auto r = co_await conn->query(kStats);
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 0);
    EXPECT_TRUE(conn->is_healthy());
}

TEST(DbCopy, FailuresLeaveNothingAndKeepTheConnection) {
    test::run_coro(copy_failures(test::process_test_database_url()));
}

asio::awaitable<void> scripts(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    co_await conn->execute_script(
        "CREATE TEMP TABLE s (id int); INSERT INTO s VALUES (1); INSERT INTO s VALUES (2); -- comment\n"
        "INSERT INTO s VALUES (3);");
    auto r = co_await conn->query(Statement{"test.script_count", "SELECT count(*) FROM s"});
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 3);
    // A failing statement stops the script; the simple protocol runs it as one implicit
    // transaction, so the earlier INSERT in it is rolled back too.
    bool failed = false;
    try {
        co_await conn->execute_script("INSERT INTO s VALUES (4); SELECT 1/0; INSERT INTO s VALUES (5);");
    } catch (const DbError& e) {
        failed = e.sqlstate() == "22012";
    }
    EXPECT_TRUE(failed);
    auto after = co_await conn->query(Statement{"test.script_count", "SELECT count(*) FROM s"});
    EXPECT_EQ(after.get<std::int64_t>(0, 0), 3);
}

TEST(DbScript, MultiStatementScripts) {
    test::run_coro(scripts(test::process_test_database_url()));
}

}  // namespace
}  // namespace emporium::db
