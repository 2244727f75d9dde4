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

// ---- COPY … TO STDOUT ---------------------------------------------------------------------------

asio::awaitable<void> copy_out_rows(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    // Every row arrives once, in order, as one text line.
    std::int64_t rows = 0;
    std::int64_t sum = 0;
    bool in_order = true;
    std::string last;
    CopySink sink = [&](std::string_view row) {
        ++rows;
        const auto tab = row.find('\t');
        const auto id = std::stoll(std::string(row.substr(0, tab)));
        in_order = in_order && id == rows && row.substr(tab + 1) == "name-" + std::to_string(id) + "\n";
        sum += id;
    };
    const auto n = co_await conn->copy_out(
        "COPY (SELECT i, 'name-' || i FROM generate_series(1, 100000) i ORDER BY i) TO STDOUT", sink);
    EXPECT_EQ(n, 100000);
    EXPECT_EQ(rows, 100000);
    EXPECT_EQ(sum, std::int64_t{100000} * 100001 / 2);
    EXPECT_TRUE(in_order);
    // The pipelined connection is back in pipeline mode and usable.
    auto r = co_await conn->query(Statement{"test.copy_out_after", "SELECT $1::int + 1"}, 41);
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 42);
}

TEST(DbCopyOut, StreamsOneHundredThousandRows) {
    test::run_coro(copy_out_rows(test::process_test_database_url()));
}

asio::awaitable<void> copy_out_in_transaction(std::string url) {
    PoolOptions o;
    o.connection = options_for(url);
    o.max_size = 2;
    Pool pool(co_await asio::this_coro::executor, o);
    // Through the pool: a dedicated connection, returned afterwards.
    std::vector<std::string> seen;
    CopySink collect = [&seen](std::string_view row) { seen.emplace_back(row); };
    EXPECT_EQ(co_await pool.copy_out("COPY (SELECT 'a' UNION ALL SELECT 'b') TO STDOUT", collect), 2);
    EXPECT_EQ(seen, (std::vector<std::string>{"a\n", "b\n"}));
    EXPECT_EQ(pool.in_use(), 0U);
    // In a transaction: the COPY (which takes no parameters) sees the transaction's settings, and
    // they end with it.
    {
        auto tx = co_await pool.begin();
        static_cast<void>(co_await tx.query(
            Statement{"test.copy_out_setting", "SELECT set_config('emporium.test_limit', $1, true)"}, "3"));
        seen.clear();
        const auto n = co_await tx.copy_out(
            "COPY (SELECT i FROM generate_series(1, 10) i WHERE i <= current_setting('emporium.test_limit')::int) TO STDOUT",
            collect);
        EXPECT_EQ(n, 3);
        EXPECT_EQ(seen, (std::vector<std::string>{"1\n", "2\n", "3\n"}));
        co_await tx.commit();
    }
    auto after = co_await pool.query(
        Statement{"test.copy_out_setting_gone", "SELECT coalesce(current_setting('emporium.test_limit', true), '')"});
    EXPECT_EQ(after.get<std::string>(0, 0), "");
    EXPECT_EQ(pool.in_use(), 0U);
}

TEST(DbCopyOut, ThroughThePoolAndInsideATransaction) {
    test::run_coro(copy_out_in_transaction(test::process_test_database_url()));
}

asio::awaitable<void> copy_out_failures(std::string url) {
    PoolOptions o;
    o.connection = options_for(url);
    o.max_size = 1;
    Pool pool(co_await asio::this_coro::executor, o);
    // An error after some rows: the rows before it were delivered, then the server's error.
    std::int64_t rows = 0;
    CopySink count = [&rows](std::string_view) { ++rows; };
    bool division = false;
    try {
        static_cast<void>(co_await pool.copy_out(
            "COPY (SELECT 1 / (50000 - i) FROM generate_series(1, 100000) i) TO STDOUT", count));
    } catch (const DbError& e) {
        division = e.sqlstate() == "22012";
    }
    EXPECT_TRUE(division);
    EXPECT_GT(rows, 0);
    EXPECT_LT(rows, 50000);
    // The sink throws: its exception surfaces, the connection (still receiving) is dropped.
    std::int64_t calls = 0;
    CopySink failing = [&calls](std::string_view) {
        if (++calls == 1000) throw std::runtime_error("sink broke");
    };
    EXPECT_THROW(static_cast<void>(co_await pool.copy_out(
                     "COPY (SELECT i FROM generate_series(1, 1000000) i) TO STDOUT", failing)),
                 std::runtime_error);
    EXPECT_EQ(calls, 1000);
    // Not a COPY … TO STDOUT, or not a valid one.
    EXPECT_THROW(static_cast<void>(co_await pool.copy_out("SELECT 1", count)), DbError);
    EXPECT_THROW(static_cast<void>(co_await pool.copy_out("COPY (SELECT 1) TO STDOUT (FORMAT nonsense)", count)), DbError);
    static_cast<void>(co_await pool.query_unprepared("CREATE TEMP TABLE IF NOT EXISTS copy_target (i int)"));
    EXPECT_THROW(static_cast<void>(co_await pool.copy_out("COPY copy_target FROM STDIN", count)), DbError);
    // The single-connection pool still answers.
    auto r = co_await pool.query(Statement{"test.copy_out_alive", "SELECT 7"});
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 7);
}

TEST(DbCopyOut, FailuresSurfaceAndThePoolRecovers) {
    test::run_coro(copy_out_failures(test::process_test_database_url()));
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
