// SQLSTATE → exception mapping, lost connections and timeouts.

#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

ConnectionOptions options_for(std::string url, std::chrono::milliseconds query_timeout = 5000ms) {
    ConnectionOptions o;
    o.url = std::move(url);
    o.query_timeout = query_timeout;
    return o;
}

// Runs `sql` and returns the exception it throws (or null).
asio::awaitable<std::exception_ptr> error_of(Connection* conn, std::string sql) {
    try {
        static_cast<void>(co_await conn->query_unprepared(std::move(sql)));
    } catch (const std::exception&) {
        co_return std::current_exception();
    }
    co_return nullptr;
}

asio::awaitable<void> sqlstates_map_to_exception_types(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
    static_cast<void>(co_await conn->query_unprepared(
        "CREATE TEMP TABLE uniq (id int CONSTRAINT uniq_pkey PRIMARY KEY, n int CHECK (n >= 0))"));
    static_cast<void>(co_await conn->query_unprepared("INSERT INTO uniq VALUES (1, 1)"));

    auto dup = co_await error_of(conn.get(), "INSERT INTO uniq VALUES (1, 1)");
    try {
        std::rethrow_exception(dup);
    } catch (const RetryableDbError&) {
        ADD_FAILURE() << "unique violation must not be retryable";
    } catch (const DbError& e) {
        EXPECT_TRUE(e.is_unique_violation());
        EXPECT_EQ(e.sqlstate(), "23505");
        EXPECT_EQ(e.constraint(), "uniq_pkey");
        // The duplicated key value (possibly personal data) is not in the message.
        EXPECT_EQ(std::string(e.what()).find("(1)"), std::string::npos) << e.what();
    }

    auto check = co_await error_of(conn.get(), "INSERT INTO uniq VALUES (2, -1)");
    try {
        std::rethrow_exception(check);
    } catch (const DbError& e) {
        EXPECT_TRUE(e.is_check_violation());
    }

    for (const char* code : {"40001", "40P01"}) {
        auto retryable = co_await error_of(
            conn.get(),
            std::string("DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '") + code + "'; END $$");
        try {
            std::rethrow_exception(retryable);
        } catch (const RetryableDbError& e) {
            EXPECT_EQ(e.sqlstate(), code);
        } catch (const std::exception& e) {
            ADD_FAILURE() << code << " mapped to the wrong type: " << e.what();
        }
    }

    auto syntax = co_await error_of(conn.get(), "SELEC 1");
    try {
        std::rethrow_exception(syntax);
    } catch (const RetryableDbError&) {
        ADD_FAILURE();
    } catch (const ConnectionLostError&) {
        ADD_FAILURE();
    } catch (const DbError& e) {
        EXPECT_EQ(e.sqlstate(), "42601");
    }
    // Still usable after all of that.
    auto r = co_await conn->query(Statement{"test.after_errors", "SELECT count(*) FROM uniq"});
    EXPECT_EQ(r.get<std::int64_t>(0, 0), 1);
    EXPECT_TRUE(conn->is_healthy());
}

TEST(DbErrors, SqlstatesMapToExceptionTypes) {
    test::run_coro(sqlstates_map_to_exception_types(test::process_test_database_url()));
}

TEST(DbErrors, ThrowDbErrorMapping) {
    EXPECT_THROW(throw_db_error("m", "40001"), RetryableDbError);
    EXPECT_THROW(throw_db_error("m", "40P01"), RetryableDbError);
    EXPECT_THROW(throw_db_error("m", "08006"), ConnectionLostError);
    EXPECT_THROW(throw_db_error("m", "57P01"), ConnectionLostError);
    EXPECT_THROW(throw_db_error("m", "57P03"), ConnectionLostError);
    EXPECT_THROW(throw_db_error("m", ""), ConnectionLostError);
    EXPECT_THROW(throw_db_error("m", "57014"), QueryTimeoutError);
    try {
        throw_db_error("m", "23505", "users_email_key");
    } catch (const ConnectionLostError&) {
        ADD_FAILURE();
    } catch (const DbError& e) {
        EXPECT_TRUE(e.is_unique_violation());
        EXPECT_EQ(e.constraint(), "users_email_key");
    }
}

asio::awaitable<void> terminated_backend_is_connection_lost(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    auto victim = co_await Connection::connect(ex, options_for(url));
    auto killer = co_await Connection::connect(ex, options_for(url));
    auto pid =
        (co_await victim->query(Statement{"test.pid", "SELECT pg_backend_pid()"})).get<std::int32_t>(0, 0);
    auto killed =
        co_await killer->query(Statement{"test.kill", "SELECT pg_terminate_backend($1, 5000)"}, pid);
    EXPECT_TRUE(killed.get<bool>(0, 0));
    EXPECT_THROW(static_cast<void>(co_await victim->query(Statement{"test.one", "SELECT 1"})),
                 ConnectionLostError);
    EXPECT_FALSE(victim->is_healthy());
    // Later calls fail fast, never hang.
    EXPECT_THROW(static_cast<void>(co_await victim->query(Statement{"test.one", "SELECT 1"})),
                 ConnectionLostError);
    EXPECT_TRUE(killer->is_healthy());
}

TEST(DbErrors, TerminatedBackendIsConnectionLost) {
    test::run_coro(terminated_backend_is_connection_lost(test::process_test_database_url()));
}

asio::awaitable<void> in_flight_statements_fail_when_backend_dies(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    auto victim = co_await Connection::connect(ex, options_for(url));
    auto killer = co_await Connection::connect(ex, options_for(url));
    auto pid =
        (co_await victim->query(Statement{"test.pid", "SELECT pg_backend_pid()"})).get<std::int32_t>(0, 0);
    // Terminate the backend while it runs pg_sleep: the statement in flight gets the FATAL.
    auto sleeper = victim->query(Statement{"test.sleep", "SELECT pg_sleep(3)"});
    auto kill = killer->query(
        Statement{"test.kill_later", "SELECT pg_sleep(0.2), pg_terminate_backend($1, 5000)"}, pid);
    bool lost = false;
    const auto start = std::chrono::steady_clock::now();
    // Start the sleeper first (it is sent when first resumed), then the killer.
    std::exception_ptr sleeper_error;
    auto spawned = asio::co_spawn(ex, std::move(sleeper), asio::use_awaitable);
    static_cast<void>(co_await std::move(kill));
    try {
        static_cast<void>(co_await std::move(spawned));
    } catch (const ConnectionLostError&) {
        lost = true;
    }
    EXPECT_TRUE(lost);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_FALSE(victim->is_healthy());
}

TEST(DbErrors, InFlightStatementFailsWhenBackendDies) {
    test::run_coro(in_flight_statements_fail_when_backend_dies(test::process_test_database_url()));
}

asio::awaitable<void> server_side_statement_timeout(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url, 400ms));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(static_cast<void>(co_await conn->query(Statement{"test.slow", "SELECT pg_sleep(3)"})),
                 QueryTimeoutError);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
    // The server cancelled the statement; the connection itself is fine.
    EXPECT_TRUE(conn->is_healthy());
    auto r = co_await conn->query(Statement{"test.st", "SELECT current_setting('statement_timeout')"});
    EXPECT_EQ(r.get<std::string>(0, 0), "360ms");
}

TEST(DbErrors, StatementTimeoutIsQueryTimeoutError) {
    test::run_coro(server_side_statement_timeout(test::process_test_database_url()));
}

asio::awaitable<void> client_side_timeout_closes_connection(std::string url) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url, 400ms));
    // Take the server-side guard away so only the client deadline can fire (an unresponsive
    // server or network looks the same).
    static_cast<void>(co_await conn->query_unprepared("SET statement_timeout = 0"));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THROW(static_cast<void>(co_await conn->query(Statement{"test.slow", "SELECT pg_sleep(3)"})),
                 QueryTimeoutError);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, 350ms);
    EXPECT_LT(waited, 1500ms);
    EXPECT_FALSE(conn->is_healthy());
    EXPECT_THROW(static_cast<void>(co_await conn->query(Statement{"test.one", "SELECT 1"})),
                 ConnectionLostError);
}

TEST(DbErrors, ClientDeadlineClosesConnection) {
    test::run_coro(client_side_timeout_closes_connection(test::process_test_database_url()));
}

asio::awaitable<void> pool_survives_timeouts(std::string url) {
    PoolOptions o;
    o.connection = options_for(url, 400ms);
    o.max_size = 1;
    Pool pool(co_await asio::this_coro::executor, o);
    static_cast<void>(co_await pool.query_unprepared("SET statement_timeout = 0"));
    EXPECT_THROW(static_cast<void>(co_await pool.query(Statement{"test.slow", "SELECT pg_sleep(3)"})),
                 QueryTimeoutError);
    // The broken connection was dropped and a fresh one (with statement_timeout again) opened.
    auto r = co_await pool.query(Statement{"test.st", "SELECT current_setting('statement_timeout')"});
    EXPECT_EQ(r.get<std::string>(0, 0), "360ms");
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbErrors, PoolReplacesConnectionAfterClientTimeout) {
    test::run_coro(pool_survives_timeouts(test::process_test_database_url()));
}

}  // namespace
}  // namespace emporium::db
