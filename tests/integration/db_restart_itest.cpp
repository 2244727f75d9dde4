// Restarts the shared test PostgreSQL (RUN_SERIAL) and checks that pools recover by themselves.

#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <cstdlib>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr Statement kPid{"test.pid", "SELECT pg_backend_pid()"};

void restart_postgres() {
    const std::string cmd = "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D \"" +
                            test::required_env("EMPORIUM_TEST_PG_DATA") + "\" -m fast -w restart -o \"-p " +
                            test::required_env("EMPORIUM_TEST_PG_PORT") + "\" >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;  // NOLINT(concurrency-mt-unsafe, cert-env33-c): test setup
}

asio::awaitable<std::int32_t> backend_pid(Pool* pool) {
    auto r = co_await pool->query(kPid);
    co_return r.get<std::int32_t>(0, 0);
}

// The first statement after the restart may fail (ConnectionLostError) only if the pool could not
// tell the old connection was dead; the one after must succeed.
asio::awaitable<std::int32_t> pid_after_restart(Pool* pool, std::shared_ptr<int> failures) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            co_return co_await backend_pid(pool);
        } catch (const ConnectionLostError&) {
            ++*failures;
        }
    }
    throw std::runtime_error("pool did not recover after the restart");
}

asio::awaitable<std::int32_t> pid_in_transaction(Pool* pool) {
    auto tx = co_await pool->begin();
    auto r = co_await tx.query(kPid);
    co_await tx.commit();
    co_return r.get<std::int32_t>(0, 0);
}

asio::awaitable<std::unique_ptr<Connection>> open_connection(std::string url) {
    ConnectionOptions o;
    o.url = std::move(url);
    co_return co_await Connection::connect(co_await asio::this_coro::executor, o);
}

asio::awaitable<void> expect_lost(Connection* conn) {
    bool lost = false;
    try {
        static_cast<void>(co_await conn->query(kPid));
    } catch (const ConnectionLostError&) {
        lost = true;
    }
    EXPECT_TRUE(lost);
    EXPECT_FALSE(conn->is_healthy());
}

TEST(DbRestart, PoolReconnectsAfterServerRestart) {
    const std::string url = test::process_test_database_url();
    asio::io_context ctx;
    PoolOptions options;
    options.connection.url = url;
    options.max_size = 2;
    Pool pool(ctx.get_executor(), options);
    const auto before = test::run_coro(ctx, backend_pid(&pool));
    auto plain = test::run_coro(ctx, open_connection(url));
    EXPECT_EQ(pool.size(), 1U);

    restart_postgres();

    auto failures = std::make_shared<int>(0);
    const auto after = test::run_coro(ctx, pid_after_restart(&pool, failures));
    EXPECT_NE(before, after);
    EXPECT_LE(*failures, 1);
    EXPECT_EQ(*failures, 0) << "the dead idle connection should have been detected before sending";
    EXPECT_EQ(pool.size(), 1U);
    // Transactions work too, and the pool did not leak connections.
    EXPECT_GT(test::run_coro(ctx, pid_in_transaction(&pool)), 0);
    EXPECT_LE(pool.size(), 2U);
    EXPECT_EQ(pool.in_use(), 0U);
    // A standalone Connection does not reconnect: it reports the loss.
    test::run_coro(ctx, expect_lost(plain.get()));
}

}  // namespace
}  // namespace emporium::db
