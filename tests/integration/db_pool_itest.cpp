// Pipelining, the pool (sharing, exhaustion, hand-off, reconnect) and transactions.

#include "core/spawn.hpp"
#include "db/pg.hpp"
#include "db/transaction_helper.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <algorithm>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

PoolOptions pool_options(std::string url, std::size_t max_size = 4) {
    PoolOptions o;
    o.connection.url = std::move(url);
    o.max_size = max_size;
    o.acquire_timeout = 300ms;
    return o;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::use_awaitable);
}

// ---- pipelining ---------------------------------------------------------------------------------

constexpr Statement kEcho{"test.echo_sleep", "SELECT $1::int, pg_sleep(random() * 0.001)::text"};

struct EchoStats {
    std::vector<int> answers;
    std::size_t max_in_flight = 0;
    int finished = 0;
    int failed = 0;
    std::string first_error;

    void record(const std::exception_ptr& e) {
        ++finished;
        if (!e) return;
        ++failed;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            if (first_error.empty()) first_error = ex.what();
        }
    }
};

asio::awaitable<void> echo_on_pool(Pool* pool, int i, std::shared_ptr<EchoStats> stats) {
    auto r = co_await pool->query(kEcho, i);
    stats->answers[static_cast<std::size_t>(i)] = r.get<std::int32_t>(0, 0);
}

asio::awaitable<void> echo_on_connection(Connection* conn, int i, std::shared_ptr<EchoStats> stats) {
    stats->max_in_flight = std::max(stats->max_in_flight, conn->in_flight());
    auto r = co_await conn->query(kEcho, i);
    stats->answers[static_cast<std::size_t>(i)] = r.get<std::int32_t>(0, 0);
}

void run_all(asio::io_context& ctx, const std::shared_ptr<EchoStats>& stats, int n) {
    ctx.restart();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (stats->finished < n && std::chrono::steady_clock::now() < deadline) ctx.run_one_for(50ms);
    ASSERT_EQ(stats->finished, n) << "queries did not finish";
}

TEST(DbPipeline, ConcurrentQueriesOnOnePooledConnectionGetTheirOwnAnswers) {
    asio::io_context ctx;
    auto options = pool_options(test::process_test_database_url());
    options.pipeline_depth = 1000;
    Pool pool(ctx.get_executor(), options);
    constexpr int kN = 200;
    auto stats = std::make_shared<EchoStats>();
    stats->answers.assign(kN, -1);
    for (int i = 0; i < kN; ++i) {
        asio::co_spawn(
            ctx, echo_on_pool(&pool, i, stats), [stats](const std::exception_ptr& e) { stats->record(e); });
    }
    run_all(ctx, stats, kN);
    EXPECT_EQ(stats->failed, 0) << stats->first_error;
    for (int i = 0; i < kN; ++i) EXPECT_EQ(stats->answers[static_cast<std::size_t>(i)], i);
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbPipeline, StatementsAreReallyInFlightTogetherOnOneConnection) {
    asio::io_context ctx;
    ConnectionOptions options;
    options.url = test::process_test_database_url();
    auto conn = test::run_coro(ctx, Connection::connect(ctx.get_executor(), options));
    constexpr int kN = 200;
    auto stats = std::make_shared<EchoStats>();
    stats->answers.assign(kN, -1);
    for (int i = 0; i < kN; ++i) {
        asio::co_spawn(ctx, echo_on_connection(conn.get(), i, stats), [stats](const std::exception_ptr& e) {
            stats->record(e);
        });
    }
    run_all(ctx, stats, kN);
    EXPECT_EQ(stats->failed, 0) << stats->first_error;
    for (int i = 0; i < kN; ++i) EXPECT_EQ(stats->answers[static_cast<std::size_t>(i)], i);
    EXPECT_GE(stats->max_in_flight, 100U);
    EXPECT_EQ(conn->in_flight(), 0U);
}

TEST(DbPipeline, PoolOpensMoreConnectionsBeyondPipelineDepth) {
    asio::io_context ctx;
    auto options = pool_options(test::process_test_database_url(), 3);
    options.pipeline_depth = 2;
    Pool pool(ctx.get_executor(), options);
    constexpr int kN = 30;
    auto stats = std::make_shared<EchoStats>();
    stats->answers.assign(kN, -1);
    for (int i = 0; i < kN; ++i) {
        asio::co_spawn(
            ctx, echo_on_pool(&pool, i, stats), [stats](const std::exception_ptr& e) { stats->record(e); });
    }
    run_all(ctx, stats, kN);
    EXPECT_EQ(stats->failed, 0) << stats->first_error;
    for (int i = 0; i < kN; ++i) EXPECT_EQ(stats->answers[static_cast<std::size_t>(i)], i);
    EXPECT_EQ(pool.size(), 3U);  // grew to max_size, not beyond
}

asio::awaitable<void> query_and_record(Pool* pool,
                                       Statement stmt,
                                       std::shared_ptr<std::vector<std::string>> out,
                                       std::size_t slot) {
    try {
        auto r = co_await pool->query(stmt);
        (*out)[slot] = "ok:" + r.get<std::string>(0, 0);
    } catch (const DbError& e) {
        (*out)[slot] = "err:" + e.sqlstate();
    }
}

TEST(DbPipeline, ErrorsDoNotPoisonTheConnection) {
    asio::io_context ctx;
    Pool pool(ctx.get_executor(), pool_options(test::process_test_database_url(), 1));
    test::run_coro(ctx, pool.ping());
    // All five are in flight together on one connection; failures stay with their statement.
    const std::vector<Statement> stmts{{"test.iso_ok1", "SELECT '1'"},
                                       {"test.iso_div", "SELECT (1/0)::text"},
                                       {"test.iso_syntax", "SELEC 1"},
                                       {"test.iso_syntax", "SELEC 1"},
                                       {"test.iso_ok2", "SELECT '2'"}};
    auto out = std::make_shared<std::vector<std::string>>(stmts.size());
    int finished = 0;
    for (std::size_t i = 0; i < stmts.size(); ++i) {
        asio::co_spawn(ctx,
                       query_and_record(&pool, stmts[i], out, i),
                       [&finished](const std::exception_ptr&) { ++finished; });
    }
    ctx.restart();
    for (int i = 0; i < 400 && finished < 5; ++i) ctx.run_one_for(50ms);
    ASSERT_EQ(finished, 5);
    EXPECT_EQ((*out)[0], "ok:1");
    EXPECT_EQ((*out)[1], "err:22012");
    EXPECT_EQ((*out)[2], "err:42601");
    // Sent while the failing Parse was still in flight, so it found no prepared statement.
    EXPECT_EQ((*out)[3], "err:26000");
    EXPECT_EQ((*out)[4], "ok:2");
    // The failed name is prepared afresh next time (still a syntax error, not "does not exist").
    test::run_coro(ctx, query_and_record(&pool, stmts[2], out, 3));
    EXPECT_EQ((*out)[3], "err:42601");
    EXPECT_EQ(pool.size(), 1U);
}

// ---- statements that time out or whose caller gives up -----------------------------------------

constexpr Statement kSlowA{"test.slow_a", "SELECT 'a'::text FROM pg_sleep(1.2)"};
constexpr Statement kSlowB{"test.slow_b", "SELECT 'b'::text FROM pg_sleep(1.2)"};
constexpr Statement kLater{"test.later", "SELECT 'later'::text"};
constexpr Statement kBackend{"test.backend", "SELECT pg_backend_pid()::text"};

// What became of the statements of a test: "ok:<text>", "timeout", "lost" or "err:<sqlstate>".
struct Notes {
    std::vector<std::string> out;
    int finished = 0;
};

asio::awaitable<void> run_and_note(Pool* pool,
                                   Statement stmt,
                                   std::shared_ptr<Notes> notes,
                                   std::size_t slot) {
    std::string note;
    try {
        auto r = co_await pool->query(stmt);
        note = "ok:" + r.get<std::string>(0, 0);
    } catch (const QueryTimeoutError&) {
        note = "timeout";
    } catch (const ConnectionLostError&) {
        note = "lost";
    } catch (const DbError& e) {
        note = "err:" + e.sqlstate();
    }
    notes->out[slot] = note;
    ++notes->finished;
}

asio::awaitable<std::string> backend_of(Pool* pool) {
    auto r = co_await pool->query(kBackend);
    co_return r.get<std::string>(0, 0);
}

asio::awaitable<void> wait_finished(std::shared_ptr<Notes> notes, int n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (notes->finished < n && std::chrono::steady_clock::now() < deadline) co_await sleep_for(20ms);
    EXPECT_EQ(notes->finished, n);
}

// Two slow statements and a later one pipelined on one connection (query timeout 2 s, each
// statement 1.2 s on the server): the second waits 1.2 s for the first, so its caller gives up at
// 2 s, while the server is still answering in time. Only that statement fails; the connection
// stays, and the statement sent at 1 s behind them gets its answer (at 2.4 s, within its own 2 s).
asio::awaitable<void> waited_too_long_fails_alone(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    auto options = pool_options(url, 1);
    options.connection.query_timeout = 2000ms;
    Pool pool(ex, options);
    const auto backend = co_await backend_of(&pool);
    auto notes = std::make_shared<Notes>();
    notes->out.resize(3);
    core::spawn_tracked(ex, run_and_note(&pool, kSlowA, notes, 0), "test.slow_a");
    core::spawn_tracked(ex, run_and_note(&pool, kSlowB, notes, 1), "test.slow_b");
    co_await sleep_for(1000ms);
    co_await run_and_note(&pool, kLater, notes, 2);
    co_await wait_finished(notes, 3);
    EXPECT_EQ(notes->out[0], "ok:a");
    EXPECT_EQ(notes->out[1], "timeout");
    EXPECT_EQ(notes->out[2], "ok:later") << "an innocent statement failed with the one that timed out";
    // Same connection, answers still matched to their statements.
    EXPECT_EQ(co_await backend_of(&pool), backend);
    auto r = co_await pool.query(kEcho, 42);
    EXPECT_EQ(r.get<std::int32_t>(0, 0), 42);
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbPipeline, AStatementThatWaitedTooLongFailsAloneAndItsConnectionStays) {
    test::run_coro(waited_too_long_fails_alone(test::process_test_database_url()));
}

// A caller whose coroutine is cancelled (here by `||`) abandons its statement, not the connection
// the others are pipelined on.
asio::awaitable<void> cancelled_waiter_leaves_the_connection(std::string url) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    Pool pool(ex, pool_options(url, 1));
    const auto backend = co_await backend_of(&pool);
    auto notes = std::make_shared<Notes>();
    notes->out.resize(1);
    core::spawn_tracked(ex, run_and_note(&pool, kSlowA, notes, 0), "test.slow_a");
    asio::steady_timer give_up(ex, 200ms);
    auto first = co_await (pool.query(kSlowB) || give_up.async_wait(asio::use_awaitable));
    EXPECT_EQ(first.index(), 1U);
    auto later = co_await pool.query(kLater);
    EXPECT_EQ(later.get<std::string>(0, 0), "later");
    co_await wait_finished(notes, 1);
    EXPECT_EQ(notes->out[0], "ok:a") << "a statement failed because another caller gave up";
    EXPECT_EQ(co_await backend_of(&pool), backend);
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbPipeline, ACancelledCallerAbandonsItsStatementNotTheConnection) {
    test::run_coro(cancelled_waiter_leaves_the_connection(test::process_test_database_url()));
}

// ---- transactions -------------------------------------------------------------------------------

constexpr Statement kInsert{"test.tx_insert", "INSERT INTO tx_items (name) VALUES ($1)"};
constexpr Statement kCount{"test.tx_count", "SELECT count(*) FROM tx_items WHERE name = $1"};

asio::awaitable<std::int64_t> count_named(Pool* pool, std::string name) {
    auto r = co_await pool->query(kCount, name);
    co_return r.get<std::int64_t>(0, 0);
}

asio::awaitable<void> ensure_tx_table(Pool* pool) {
    static_cast<void>(co_await pool->query_unprepared(
        "CREATE TABLE IF NOT EXISTS tx_items (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE)"));
}

asio::awaitable<void> commit_rollback_scope_exit(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 2));
    co_await ensure_tx_table(&pool);
    {
        auto tx = co_await pool.begin();
        static_cast<void>(co_await tx.query(kInsert, "committed"));
        // Not visible outside before COMMIT.
        {
            const auto count = co_await count_named(&pool, "committed");
            EXPECT_EQ(count, 0);
        }
        co_await tx.commit();
        EXPECT_FALSE(tx.is_open());
    }
    {
        const auto count = co_await count_named(&pool, "committed");
        EXPECT_EQ(count, 1);
    }
    {
        auto tx = co_await pool.begin();
        static_cast<void>(co_await tx.query(kInsert, "rolled_back"));
        co_await tx.rollback();
    }
    {
        const auto count = co_await count_named(&pool, "rolled_back");
        EXPECT_EQ(count, 0);
    }
    {
        auto tx = co_await pool.begin();
        static_cast<void>(co_await tx.query(kInsert, "abandoned"));
        EXPECT_EQ(pool.in_use(), 1U);
        // Destroyed without commit: ROLLBACK is queued and the connection goes back.
    }
    EXPECT_EQ(pool.in_use(), 0U);
    {
        const auto count = co_await count_named(&pool, "abandoned");
        EXPECT_EQ(count, 0);
    }
    // The abandoned transaction's connection is clean for the next holder.
    auto tx = co_await pool.begin();
    auto level = co_await tx.query(
        Statement{"test.tx_status", "SELECT count(*) FROM tx_items WHERE name = 'abandoned'"});
    EXPECT_EQ(level.get<std::int64_t>(0, 0), 0);
    co_await tx.commit();
}

TEST(DbTransaction, CommitVisibleRollbackAndScopeExitInvisible) {
    test::run_coro(commit_rollback_scope_exit(test::process_test_database_url()));
}

asio::awaitable<void> isolation_and_failed_commit(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 2));
    co_await ensure_tx_table(&pool);
    {
        auto tx = co_await pool.begin(Isolation::kSerializable);
        auto r =
            co_await tx.query(Statement{"test.tx_iso", "SELECT current_setting('transaction_isolation')"});
        EXPECT_EQ(r.get<std::string>(0, 0), "serializable");
        co_await tx.commit();
    }
    {
        auto tx = co_await pool.begin(Isolation::kRepeatableRead);
        auto r =
            co_await tx.query(Statement{"test.tx_iso", "SELECT current_setting('transaction_isolation')"});
        EXPECT_EQ(r.get<std::string>(0, 0), "repeatable read");
        co_await tx.rollback();
    }
    {
        // A failed statement aborts the transaction; COMMIT then must not look like success.
        auto tx = co_await pool.begin();
        static_cast<void>(co_await tx.query(kInsert, "dup"));
        bool failed = false;
        try {
            static_cast<void>(co_await tx.query(kInsert, "dup"));
        } catch (const DbError& e) {
            failed = e.is_unique_violation();
        }
        EXPECT_TRUE(failed);
        bool commit_failed = false;
        try {
            co_await tx.commit();
        } catch (const DbError& e) {
            commit_failed = e.sqlstate() == "25P02";
        }
        EXPECT_TRUE(commit_failed);
        EXPECT_FALSE(tx.is_open());
    }
    {
        const auto count = co_await count_named(&pool, "dup");
        EXPECT_EQ(count, 0);
    }
    EXPECT_EQ(pool.in_use(), 0U);
}

TEST(DbTransaction, IsolationLevelsAndCommitAfterFailure) {
    test::run_coro(isolation_and_failed_commit(test::process_test_database_url()));
}

// Fails with 40001 on its first `fail_times` attempts, after inserting a row (which must vanish).
struct FlakyWork {
    std::shared_ptr<int> attempts;
    int fail_times;
    std::string name;

    asio::awaitable<int> operator()(Transaction& tx) const {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                                              // awaited directly by with_transaction
        ++*attempts;
        static_cast<void>(co_await tx.query(kInsert, name));
        if (*attempts <= fail_times) {
            static_cast<void>(co_await tx.query_unprepared(
                "DO $$ BEGIN RAISE EXCEPTION 'simulated conflict' USING ERRCODE = '40001'; END $$"));
        }
        co_return *attempts;
    }
};

asio::awaitable<void> with_transaction_retries(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 2));
    co_await ensure_tx_table(&pool);
    auto attempts = std::make_shared<int>(0);
    // Named, not a braced temporary: GCC 12 destroys an aggregate temporary passed by value to a
    // coroutine twice.
    FlakyWork retried{attempts, 2, "retried"};
    const int result = co_await with_transaction(pool, retried, 3);
    EXPECT_EQ(result, 3);
    EXPECT_EQ(*attempts, 3);
    {
        const auto count = co_await count_named(&pool, "retried");
        EXPECT_EQ(count, 1);
    }

    auto attempts2 = std::make_shared<int>(0);
    bool gave_up = false;
    try {
        FlakyWork given_up{attempts2, 100, "given_up"};
        static_cast<void>(co_await with_transaction(pool, given_up, 3));
    } catch (const RetryableDbError& e) {
        gave_up = e.sqlstate() == "40001";
    }
    EXPECT_TRUE(gave_up);
    EXPECT_EQ(*attempts2, 3);
    {
        const auto count = co_await count_named(&pool, "given_up");
        EXPECT_EQ(count, 0);
    }
    EXPECT_EQ(pool.in_use(), 0U);
}

TEST(DbTransaction, WithTransactionRetriesRetryableErrors) {
    test::run_coro(with_transaction_retries(test::process_test_database_url()));
}

// ---- pool limits --------------------------------------------------------------------------------

asio::awaitable<void> exhaustion_times_out(std::string url) {
    auto options = pool_options(url, 1);
    options.acquire_timeout = 200ms;
    Pool pool(co_await asio::this_coro::executor, options);
    auto held = co_await pool.begin();
    static_cast<void>(co_await held.query(Statement{"test.hold", "SELECT 1"}));
    EXPECT_EQ(pool.in_use(), 1U);

    const auto start = std::chrono::steady_clock::now();
    bool timed_out = false;
    try {
        auto second = co_await pool.begin();
    } catch (const PoolTimeoutError&) {
        timed_out = true;
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(timed_out);
    EXPECT_GE(waited, 180ms);
    EXPECT_LT(waited, 2s);
    EXPECT_EQ(pool.waiting(), 0U);
    // Shared statements cannot use the leased connection either.
    EXPECT_THROW(static_cast<void>(co_await pool.query(Statement{"test.one", "SELECT 1"})), PoolTimeoutError);
    co_await held.commit();
    // Free again.
    auto r = co_await pool.query(Statement{"test.one", "SELECT 1"});
    EXPECT_EQ(r.get<std::int32_t>(0, 0), 1);
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbPool, ExhaustionThrowsPoolTimeoutError) {
    test::run_coro(exhaustion_times_out(test::process_test_database_url()));
}

asio::awaitable<void> begin_and_record(Pool* pool, std::shared_ptr<std::vector<int>> order, int id) {
    auto tx = co_await pool->begin();
    order->push_back(id);
    co_await sleep_for(10ms);
    co_await tx.commit();
}

asio::awaitable<void> waiters_get_connection_in_order(std::string url) {
    auto options = pool_options(url, 1);
    options.acquire_timeout = 5s;
    Pool pool(co_await asio::this_coro::executor, options);
    auto order = std::make_shared<std::vector<int>>();
    auto held = co_await pool.begin();
    static_cast<void>(co_await held.query(Statement{"test.hold", "SELECT 1"}));
    auto ex = co_await asio::this_coro::executor;
    auto done = std::make_shared<int>(0);
    for (int id = 1; id <= 3; ++id) {
        asio::co_spawn(ex, begin_and_record(&pool, order, id), [done](const std::exception_ptr& e) {
            EXPECT_FALSE(e);
            ++*done;
        });
    }
    co_await sleep_for(50ms);
    EXPECT_EQ(pool.waiting(), 3U);
    co_await held.commit();
    for (int i = 0; i < 200 && *done < 3; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(*done, 3);
    EXPECT_EQ(*order, (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(pool.size(), 1U);
    EXPECT_EQ(pool.in_use(), 0U);
}

TEST(DbPool, WaitersAreServedFifo) {
    test::run_coro(waiters_get_connection_in_order(test::process_test_database_url()));
}

constexpr Statement kNowMicros{"test.now_micros", "SELECT (extract(epoch FROM now()) * 1000000)::bigint"};

asio::awaitable<void> shared_query_now(Pool* pool, std::shared_ptr<std::int64_t> out) {
    *out = (co_await pool->query(kNowMicros)).get<std::int64_t>(0, 0);
}

// A query waiting for a connection is handed the one a transaction gives back; before it runs,
// the same thread leases that connection for a new transaction. The query must not run inside
// that transaction (it would see the transaction's now(), its locks and its writes, and abort it
// with an error of its own).
asio::awaitable<void> a_granted_query_never_joins_a_transaction(std::string url) {
    auto options = pool_options(url, 1);
    options.acquire_timeout = 5s;
    Pool pool(co_await asio::this_coro::executor, options);
    auto ex = co_await asio::this_coro::executor;
    auto query_now = std::make_shared<std::int64_t>(0);
    auto done = std::make_shared<bool>(false);
    auto held = co_await pool.begin();
    static_cast<void>(co_await held.query(Statement{"test.hold", "SELECT 1"}));
    asio::co_spawn(ex, shared_query_now(&pool, query_now), [done](const std::exception_ptr& e) {
        EXPECT_FALSE(e);
        *done = true;
    });
    co_await sleep_for(50ms);
    EXPECT_EQ(pool.waiting(), 1U);
    co_await held.commit();  // the waiting query is granted the connection
    auto tx = co_await pool.begin();  // and this transaction leases it before the query resumes
    const auto tx_now = (co_await tx.query(kNowMicros)).get<std::int64_t>(0, 0);
    static_cast<void>(co_await tx.query(Statement{"test.sleep", "SELECT pg_sleep(0.05)"}));
    co_await tx.commit();
    for (int i = 0; i < 200 && !*done; ++i) co_await sleep_for(10ms);
    EXPECT_TRUE(*done);
    EXPECT_GT(*query_now, tx_now) << "the query ran inside the transaction";
}

TEST(DbPool, AGrantedQueryNeverJoinsATransaction) {
    test::run_coro(a_granted_query_never_joins_a_transaction(test::process_test_database_url()));
}

constexpr Statement kPid{"test.pid", "SELECT pg_backend_pid()"};

asio::awaitable<void> terminate_backend(std::string url, std::int32_t pid) {
    ConnectionOptions o;
    o.url = std::move(url);
    auto killer = co_await Connection::connect(co_await asio::this_coro::executor, o);
    // The two-argument form waits until the backend has exited.
    auto r =
        co_await killer->query(Statement{"test.terminate", "SELECT pg_terminate_backend($1, 5000)"}, pid);
    EXPECT_TRUE(r.get<bool>(0, 0));
}

asio::awaitable<void> pool_replaces_terminated_connection(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 1));
    auto before = (co_await pool.query(kPid)).get<std::int32_t>(0, 0);
    co_await terminate_backend(url, before);
    // The idle connection is found dead before anything is sent on it: no error surfaces.
    auto after = (co_await pool.query(kPid)).get<std::int32_t>(0, 0);
    EXPECT_NE(before, after);
    EXPECT_EQ(pool.size(), 1U);
    // Same for a transaction.
    co_await terminate_backend(url, after);
    auto tx = co_await pool.begin();
    auto third = (co_await tx.query(kPid)).get<std::int32_t>(0, 0);
    EXPECT_NE(third, after);
    co_await tx.commit();
}

TEST(DbPool, TerminatedConnectionIsReplaced) {
    test::run_coro(pool_replaces_terminated_connection(test::process_test_database_url()));
}

// Regression: with a dead connection in front of a healthy one, dropping the dead one used
// std::remove_if and then closed the moved-from (null) tail element — a crash under load.
asio::awaitable<void> pool_drops_dead_connection_before_healthy_one(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 2));
    auto first = co_await pool.begin();
    auto second = co_await pool.begin();  // forces a second connection
    auto dead_pid = (co_await first.query(kPid)).get<std::int32_t>(0, 0);
    auto live_pid = (co_await second.query(kPid)).get<std::int32_t>(0, 0);
    co_await first.commit();
    co_await second.commit();
    EXPECT_EQ(pool.size(), 2U);
    co_await terminate_backend(url, dead_pid);
    auto pid = (co_await pool.query(kPid)).get<std::int32_t>(0, 0);
    EXPECT_EQ(pid, live_pid);
    EXPECT_EQ(pool.size(), 1U);
}

TEST(DbPool, DeadConnectionInFrontOfHealthyOneIsDropped) {
    test::run_coro(pool_drops_dead_connection_before_healthy_one(test::process_test_database_url()));
}

asio::awaitable<void> ping_and_close(std::string url) {
    Pool pool(co_await asio::this_coro::executor, pool_options(url, 2));
    co_await pool.ping();
    EXPECT_EQ(pool.size(), 1U);
    pool.close();
    EXPECT_EQ(pool.size(), 0U);
    EXPECT_THROW(co_await pool.ping(), ConnectionLostError);
}

TEST(DbPool, PingAndClose) {
    test::run_coro(ping_and_close(test::process_test_database_url()));
}

asio::awaitable<void> unreachable_server(std::string url) {
    PoolOptions o = pool_options(test::database_url(url, "no_such_database_xyz"), 1);
    Pool pool(co_await asio::this_coro::executor, o);
    EXPECT_THROW(co_await pool.ping(), ConnectionLostError);
    EXPECT_EQ(pool.size(), 0U);
    ConnectionOptions closed_port;
    closed_port.url = "postgresql://emporium@127.0.0.1:1/postgres";
    EXPECT_THROW(
        static_cast<void>(co_await Connection::connect(co_await asio::this_coro::executor, closed_port)),
        ConnectionLostError);
}

TEST(DbPool, ConnectFailuresAreConnectionLost) {
    test::run_coro(unreachable_server(test::process_test_database_url()));
}

}  // namespace
}  // namespace emporium::db
