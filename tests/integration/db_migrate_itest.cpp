// db::migrate against real databases, with migrations directories the tests write themselves,
// plus the test-database fixture built on it.

#include "db/migrate.hpp"
#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>

namespace emporium::db {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

ConnectionOptions options_for(std::string url) {
    ConnectionOptions o;
    o.url = std::move(url);
    o.pipeline = false;
    o.query_timeout = 30s;
    return o;
}

asio::awaitable<MigrateReport> migrate_url(std::string url, std::string dir) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(std::move(url)));
    co_return co_await migrate(*conn, std::move(dir));
}

asio::awaitable<std::string> scalar_of(std::string url, std::string sql) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(std::move(url)));
    auto r = co_await conn->query_unprepared(std::move(sql));
    co_return r.get_optional<std::string>(0, 0).value_or("NULL");
}

// A migrations directory and an empty database, both removed at the end of the test.
class MigrateTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("emporium_migrations_" + test::unique_suffix());
        fs::create_directories(dir_);
        url_ = test::create_empty_database();
    }
    void TearDown() override {
        test::drop_test_database(url_);
        fs::remove_all(dir_);
    }
    void write(const std::string& name, const std::string& sql) const {
        std::ofstream(dir_ / name, std::ios::binary | std::ios::trunc) << sql;
    }
    MigrateReport run_migrate() const { return test::run_coro(migrate_url(url_, dir_.string())); }
    std::string dir() const { return dir_.string(); }
    const std::string& url() const { return url_; }

    // Runs one SQL statement on the test database and returns the first column of the first row.
    std::string scalar(const std::string& sql) const { return test::run_coro(scalar_of(url_, sql)); }

private:
    fs::path dir_;
    std::string url_;
};

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const MigrationError& e) {
        return e.what();
    }
    return "(no MigrationError)";
}

TEST_F(MigrateTest, AppliesInOrderRecordsChecksumsAndIsIdempotent) {
    write("0002_items.sql", "CREATE TABLE items (id int PRIMARY KEY, owner int REFERENCES owners(id));");
    write("0001_owners.sql", "CREATE TABLE owners (id int PRIMARY KEY);\nINSERT INTO owners VALUES (1);");
    write("README.md", "not a migration");
    write("1_bad_name.sql", "SELECT 1/0;");  // does not match the pattern: ignored

    auto first = run_migrate();
    EXPECT_EQ(first.applied, (std::vector<std::string>{"0001_owners.sql", "0002_items.sql"}));
    EXPECT_EQ(first.already_applied, 0U);
    EXPECT_EQ(scalar("SELECT count(*) FROM owners"), "1");
    EXPECT_EQ(
        scalar("SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations"),
        "1:0001_owners.sql,2:0002_items.sql");
    EXPECT_EQ(scalar("SELECT checksum FROM schema_migrations WHERE version = 1"),
              sha256_hex("CREATE TABLE owners (id int PRIMARY KEY);\nINSERT INTO owners VALUES (1);"));

    auto again = run_migrate();
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.already_applied, 2U);
    EXPECT_EQ(scalar("SELECT count(*) FROM owners"), "1");  // 0001 did not run twice

    write("0003_more.sql", "ALTER TABLE items ADD COLUMN note text;");
    auto third = run_migrate();
    EXPECT_EQ(third.applied, (std::vector<std::string>{"0003_more.sql"}));
    EXPECT_EQ(third.already_applied, 2U);
    // The advisory lock was released.
    EXPECT_EQ(scalar("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")::text"), "true");
}

TEST_F(MigrateTest, ChangedAppliedMigrationIsRejected) {
    write("0001_init.sql", "CREATE TABLE a (id int);");
    run_migrate();
    write("0001_init.sql", "CREATE TABLE a (id bigint);");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0001_init.sql was changed after being applied"), std::string::npos) << msg;
    EXPECT_EQ(scalar("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")::text"), "true");
}

TEST_F(MigrateTest, MissingAppliedFileIsRejected) {
    write("0001_init.sql", "CREATE TABLE a (id int);");
    write("0002_next.sql", "CREATE TABLE b (id int);");
    run_migrate();
    fs::remove(fs::path(dir()) / "0002_next.sql");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0002_next.sql"), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST_F(MigrateTest, DuplicateVersionsAreRejected) {
    write("0001_a.sql", "SELECT 1;");
    write("0001_b.sql", "SELECT 1;");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("share a version"), std::string::npos) << msg;
}

TEST_F(MigrateTest, FailingMigrationRollsBackOnlyItself) {
    write("0001_ok.sql", "CREATE TABLE ok (id int);");
    write("0002_bad.sql", "CREATE TABLE half (id int);\nSELECT 1/0;");
    write("0003_later.sql", "CREATE TABLE later (id int);");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0002_bad.sql"), std::string::npos) << msg;
    EXPECT_NE(msg.find("division by zero"), std::string::npos) << msg;
    EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), "1");
    EXPECT_EQ(scalar("SELECT to_regclass('ok') IS NOT NULL"), "t");
    EXPECT_EQ(scalar("SELECT to_regclass('half') IS NULL"), "t");
    EXPECT_EQ(scalar("SELECT to_regclass('later') IS NULL"), "t");
    EXPECT_EQ(scalar("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")::text"), "true");
    // Fixing the file lets the next run continue where it stopped.
    write("0002_bad.sql", "CREATE TABLE half (id int);");
    auto fixed = run_migrate();
    EXPECT_EQ(fixed.applied, (std::vector<std::string>{"0002_bad.sql", "0003_later.sql"}));
}

struct MigrateOutcome {
    std::vector<MigrateReport> reports;
    std::vector<std::string> errors;
    int finished = 0;
};

asio::awaitable<void> migrate_into(std::string url, std::string dir, std::shared_ptr<MigrateOutcome> out) {
    try {
        out->reports.push_back(co_await migrate_url(std::move(url), std::move(dir)));
    } catch (const std::exception& e) {
        out->errors.emplace_back(e.what());
    }
    ++out->finished;
}

TEST_F(MigrateTest, ConcurrentMigratorsApplyOnce) {
    // Slow migrations so that the two runs certainly overlap.
    write("0001_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE once (id int);");
    write("0002_counter.sql", "CREATE TABLE counter (n int); INSERT INTO counter VALUES (1);");
    asio::io_context ctx;
    auto out = std::make_shared<MigrateOutcome>();
    for (int i = 0; i < 2; ++i) {
        asio::co_spawn(ctx, migrate_into(url(), dir(), out), [out](const std::exception_ptr& e) {
            if (e) out->errors.emplace_back("unexpected exception");
        });
    }
    for (int i = 0; i < 600 && out->finished < 2; ++i) ctx.run_one_for(50ms);
    ASSERT_EQ(out->finished, 2);
    EXPECT_TRUE(out->errors.empty()) << out->errors.front();
    ASSERT_EQ(out->reports.size(), 2U);
    const auto& a = out->reports[0];
    const auto& b = out->reports[1];
    EXPECT_EQ(a.applied.size() + b.applied.size(), 2U);
    EXPECT_EQ(a.already_applied + b.already_applied, 2U);
    EXPECT_TRUE(a.applied.empty() || b.applied.empty());  // one did all the work
    EXPECT_EQ(scalar("SELECT count(*) FROM counter"), "1");
}

// ---- no-transaction migrations ------------------------------------------------------------------

// An index whose build takes a while whatever the machine: every key costs a 3 ms sleep (declared
// IMMUTABLE so that it may be indexed), so 600 rows take about two seconds to scan.
constexpr std::string_view kSlowTable =
    "CREATE FUNCTION slow_key(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$\n"
    "BEGIN PERFORM pg_sleep(0.003); RETURN k; END;\n"
    "$$;\n"
    "CREATE TABLE items (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, k int NOT NULL);\n"
    "INSERT INTO items (k) SELECT g FROM generate_series(1, 600) g;\n";
constexpr std::string_view kSlowIndex =
    "-- emporium: no-transaction\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS items_slow_idx ON items (slow_key(k));\n";

constexpr Statement kWriterInsert{"test.writer_insert", "INSERT INTO items (k) VALUES ($1)"};
constexpr Statement kWriterUpdate{"test.writer_update", "UPDATE items SET k = k + 1 WHERE id = $1"};

// Shared by the migrator, the writer and the progress callback of one test (one thread).
struct BuildRun {
    bool migrate_done = false;
    bool writer_done = false;
    std::optional<MigrateReport> report;
    std::string migrate_error;
    std::int64_t writes = 0;
    std::vector<std::string> write_errors;
    std::vector<IndexBuildProgress> progress;
    std::vector<std::int64_t> writes_at_report;  // writes completed when each report came
};

// Completion of the spawned test coroutines, which catch what they expect themselves.
struct Unexpected {
    std::shared_ptr<BuildRun> run;
    void operator()(const std::exception_ptr& e) const {
        if (!e) return;
        run->migrate_error = "unexpected exception";
        run->migrate_done = run->writer_done = true;
    }
};

MigrateOptions watched_options(const std::string& url, const std::shared_ptr<BuildRun>& run) {
    MigrateOptions o;
    auto monitor = options_for(url);
    monitor.query_timeout = 5s;
    o.monitor = monitor;
    o.progress_interval = 100ms;
    o.log_interval = 1s;
    o.on_progress = [run](const IndexBuildProgress& p) {
        run->progress.push_back(p);
        run->writes_at_report.push_back(run->writes);
    };
    return o;
}

asio::awaitable<void> migrate_watched(std::string url,
                                      std::string dir,
                                      MigrateOptions options,
                                      std::shared_ptr<BuildRun> run) {
    try {
        auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
        run->report = co_await migrate(*conn, std::move(dir), std::move(options));
    } catch (const std::exception& e) {
        run->migrate_error = e.what();
    }
    run->migrate_done = true;
}

// Inserts and updates rows of `items` until the migration is over. lock_timeout bounds how long
// any write may wait for a lock: a build that blocked writes would make them fail.
asio::awaitable<void> keep_writing(std::string url, std::shared_ptr<BuildRun> run) {
    try {
        auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(url));
        co_await conn->execute_script("SET lock_timeout = '500ms'");
        // A write every 10 ms: plenty to see, and few enough that validating the rows written during
        // the build (each costs a slow_key call) stays short.
        asio::steady_timer pace(co_await asio::this_coro::executor);
        std::int64_t i = 0;
        while (!run->migrate_done) {
            ++i;
            pace.expires_after(10ms);
            co_await pace.async_wait(asio::as_tuple(asio::use_awaitable));
            try {
                if (i % 2 == 0) {
                    static_cast<void>(co_await conn->query(kWriterInsert, static_cast<int>(i)));
                } else {
                    static_cast<void>(co_await conn->query(kWriterUpdate, 1 + i % 600));
                }
                ++run->writes;
            } catch (const DbError& e) {
                run->write_errors.emplace_back(e.what());
            }
        }
    } catch (const std::exception& e) {
        run->write_errors.emplace_back(e.what());
    }
    run->writer_done = true;
}

void drive(asio::io_context& ctx, const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!done() && std::chrono::steady_clock::now() < deadline) ctx.run_one_for(50ms);
    ASSERT_TRUE(done()) << "did not finish within 60 s";
}

TEST_F(MigrateTest, ConcurrentIndexBuildLetsWritesThroughAndReportsProgress) {
    write("0001_items.sql", std::string(kSlowTable));
    run_migrate();
    write("0002_items_slow_idx.sql", std::string(kSlowIndex));

    asio::io_context ctx;
    auto run = std::make_shared<BuildRun>();
    asio::co_spawn(ctx, keep_writing(url(), run), Unexpected{run});
    asio::co_spawn(ctx, migrate_watched(url(), dir(), watched_options(url(), run), run), Unexpected{run});
    drive(ctx, [&] { return run->migrate_done && run->writer_done; });

    ASSERT_EQ(run->migrate_error, "");
    ASSERT_TRUE(run->report.has_value());
    EXPECT_EQ(run->report->applied, (std::vector<std::string>{"0002_items_slow_idx.sql"}));
    EXPECT_TRUE(run->write_errors.empty()) << run->write_errors.front();

    // The build was watched: reports of its phases for this index, then one final report.
    ASSERT_GE(run->progress.size(), 3U);
    EXPECT_TRUE(run->progress.back().finished);
    std::size_t first_scan = run->progress.size();
    std::size_t last_scan = 0;
    std::vector<std::string> unexpected;
    for (std::size_t i = 0; i < run->progress.size(); ++i) {
        const auto& p = run->progress[i];
        if (p.migration != "0002_items_slow_idx.sql" || p.index != "items_slow_idx" || p.table != "items" ||
            p.command != "CREATE INDEX CONCURRENTLY") {
            unexpected.push_back(describe(p) + " (" + p.command + ")");
        }
        if (!p.finished && p.phase == "building index: scanning table") {
            EXPECT_GT(p.blocks_total, 0);
            first_scan = std::min(first_scan, i);
            last_scan = i;
        }
    }
    EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " reports like " << unexpected.front();
    ASSERT_LT(first_scan, last_scan) << "the table scan was seen at most once";
    // Writes went on while the table was being scanned for the index.
    EXPECT_GE(run->writes_at_report[last_scan] - run->writes_at_report[first_scan], 5)
        << "reports " << first_scan << ".." << last_scan << " of " << run->progress.size() << ", writes "
        << run->writes;

    EXPECT_EQ(
        scalar(
            "SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = 'items_slow_idx'::regclass"),
        "t");
    EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations WHERE version = 2"), "1");
    EXPECT_EQ(scalar("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")::text"), "true");
}

TEST_F(MigrateTest, SecondMigratorWaitsForAConcurrentBuildWithoutBreakingIt) {
    // A migrator blocked inside pg_advisory_lock() holds a snapshot that the build in the lock
    // holder's session waits for: PostgreSQL breaks that deadlock by failing the build.
    write("0001_items.sql", std::string(kSlowTable));
    run_migrate();
    write("0002_items_slow_idx.sql", std::string(kSlowIndex));

    asio::io_context ctx;
    auto first = std::make_shared<BuildRun>();
    auto second = std::make_shared<BuildRun>();
    asio::co_spawn(
        ctx, migrate_watched(url(), dir(), watched_options(url(), first), first), Unexpected{first});
    // The second starts once the first is building.
    drive(ctx, [&] { return first->migrate_done || !first->progress.empty(); });
    asio::co_spawn(ctx, migrate_watched(url(), dir(), MigrateOptions{}, second), Unexpected{second});
    drive(ctx, [&] { return first->migrate_done && second->migrate_done; });

    EXPECT_EQ(first->migrate_error, "");
    EXPECT_EQ(second->migrate_error, "");
    ASSERT_TRUE(first->report && second->report);
    EXPECT_EQ(first->report->applied, (std::vector<std::string>{"0002_items_slow_idx.sql"}));
    EXPECT_TRUE(second->report->applied.empty());
    EXPECT_EQ(second->report->already_applied, 2U);
    EXPECT_EQ(scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'items_slow_idx'::regclass"), "t");
}

TEST_F(MigrateTest, FailedConcurrentBuildLeavesAnInvalidIndexThatTheRerunReplaces) {
    write("0001_people.sql",
          "CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL);\n"
          "INSERT INTO people VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'a@example.com');");
    write("0002_people_email_key.sql",
          "-- emporium: no-transaction\n"
          "-- One account per address.\n"
          "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS people_email_key ON ONLY public.\"people\" "
          "(email);\n");
    auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0002_people_email_key.sql failed at statement 1 of 1 (line 3)"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("could not create unique index"), std::string::npos) << msg;
    EXPECT_EQ(scalar("SELECT string_agg(name, ',') FROM schema_migrations"), "0001_people.sql");
    EXPECT_EQ(scalar("SELECT pg_try_advisory_lock(" + std::to_string(kMigrationLockKey) + ")::text"), "true");
    // What the failed build leaves: an index that exists but is invalid.
    EXPECT_EQ(scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'people_email_key'::regclass"), "f");

    // IF NOT EXISTS alone would skip the invalid index and record the migration; the re-run
    // builds it again and fails again while the data is still wrong.
    msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("could not create unique index"), std::string::npos) << msg;
    EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), "1");
    const auto invalid_oid = scalar("SELECT 'people_email_key'::regclass::oid");

    // Data fixed: the re-run replaces the invalid index by a valid one and records the migration once.
    EXPECT_EQ(scalar("WITH d AS (DELETE FROM people WHERE id = 3 RETURNING 1) SELECT count(*) FROM d"), "1");
    const auto fixed = run_migrate();
    EXPECT_EQ(fixed.applied, (std::vector<std::string>{"0002_people_email_key.sql"}));
    EXPECT_EQ(scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'people_email_key'::regclass"), "t");
    EXPECT_NE(scalar("SELECT 'people_email_key'::regclass::oid"), invalid_oid);
    EXPECT_EQ(scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'people'"), "2");  // pkey + this one
    EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations WHERE version = 2"), "1");
    EXPECT_TRUE(run_migrate().applied.empty());
}

TEST_F(MigrateTest, NoTransactionMigrationRunsEachStatementOnItsOwn) {
    write("0001_base.sql", "CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);");
    write("0002_split.sql",
          "-- emporium: no-transaction\n"
          "CREATE SCHEMA IF NOT EXISTS side;\n"
          "CREATE OR REPLACE FUNCTION side.note(n int) RETURNS text LANGUAGE plpgsql AS $fn$\n"
          "BEGIN\n"
          "    RETURN 'note; ' || n;  -- a semicolon in a string and in a comment;\n"
          "END;\n"
          "$fn$;\n"
          "INSERT INTO notes SELECT g, side.note(g) FROM generate_series(1, 3) g ON CONFLICT DO NOTHING;\n"
          "/* VACUUM cannot run inside a transaction block; */ VACUUM notes;\n"
          "SET search_path = side, public;\n");
    write("0003_after.sql", "CREATE TABLE after_split (id int);");
    const auto report = run_migrate();
    EXPECT_EQ(report.applied,
              (std::vector<std::string>{"0001_base.sql", "0002_split.sql", "0003_after.sql"}));
    EXPECT_EQ(scalar("SELECT string_agg(body, '|' ORDER BY id) FROM notes"), "note; 1|note; 2|note; 3");
    // The SET of 0002 ended with it: 0003 ran with the connection's own search_path.
    EXPECT_EQ(scalar("SELECT to_regclass('public.after_split') IS NOT NULL"), "t");
}

TEST_F(MigrateTest, NoTransactionMigrationResumesAfterAFailedStatement) {
    write("0001_steps.sql",
          "-- emporium: no-transaction\n"
          "CREATE TABLE IF NOT EXISTS steps (n int PRIMARY KEY);\n"
          "INSERT INTO steps VALUES (1) ON CONFLICT DO NOTHING;\n"
          "\n"
          "SELECT 1 / (SELECT count(*) - 1 FROM steps);\n"
          "INSERT INTO steps VALUES (2) ON CONFLICT DO NOTHING;\n");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0001_steps.sql failed at statement 3 of 4 (line 5)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("division by zero"), std::string::npos) << msg;
    // Statements 1 and 2 committed on their own, the migration is not recorded.
    EXPECT_EQ(scalar("SELECT string_agg(n::text, ',' ORDER BY n) FROM steps"), "1");
    EXPECT_EQ(scalar("SELECT count(*) FROM schema_migrations"), "0");
    // An unrecorded migration may still be edited; the re-run starts it over.
    EXPECT_EQ(scalar("WITH i AS (INSERT INTO steps VALUES (0) RETURNING 1) SELECT count(*) FROM i"), "1");
    EXPECT_EQ(run_migrate().applied, (std::vector<std::string>{"0001_steps.sql"}));
    EXPECT_EQ(scalar("SELECT string_agg(n::text, ',' ORDER BY n) FROM steps"), "0,1,2");
}

TEST_F(MigrateTest, NoTransactionMigrationsThatCannotBeRerunAreRejectedBeforeAnythingRuns) {
    write("0001_first.sql", "CREATE TABLE first (id int);");
    const auto rejected = [this](const std::string& sql) {
        write("0002_bad.sql", sql);
        return message_of([this] { run_migrate(); });
    };
    auto msg = rejected(
        "-- emporium: no-transaction\nCREATE TABLE IF NOT EXISTS t (a int);\n"
        "CREATE INDEX CONCURRENTLY t_a_idx ON t (a);");
    EXPECT_NE(
        msg.find("0002_bad.sql, line 3: CREATE INDEX in a no-transaction migration needs IF NOT EXISTS"),
        std::string::npos)
        << msg;
    msg = rejected("-- emporium: no-transaction\nCREATE INDEX CONCURRENTLY ON first (id);");
    EXPECT_NE(msg.find("needs IF NOT EXISTS and an index name"), std::string::npos) << msg;
    msg = rejected("-- emporium: no-transaction\nBEGIN;\nCREATE TABLE t (a int);\nCOMMIT;");
    EXPECT_NE(msg.find("line 2: transaction control (begin)"), std::string::npos) << msg;
    msg = rejected("-- emporium: no-transaction\nDO $$ BEGIN PERFORM 1;\n");
    EXPECT_NE(msg.find("0002_bad.sql, line 2: unterminated dollar-quoted string $$"), std::string::npos)
        << msg;
    msg = rejected("-- emporium: no-transactions\nSELECT 1;");
    EXPECT_NE(msg.find("unknown directive `-- emporium: no-transactions`"), std::string::npos) << msg;
    // The files are checked before anything runs: not even 0001 was applied.
    EXPECT_EQ(scalar("SELECT to_regclass('first') IS NULL"), "t");
}

TEST_F(MigrateTest, ConcurrentIndexInATransactionalMigrationFailsWithAHint) {
    write("0001_t.sql", "CREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);");
    const auto msg = message_of([this] { run_migrate(); });
    EXPECT_NE(msg.find("0001_t.sql failed and was rolled back"), std::string::npos) << msg;
    EXPECT_NE(msg.find("first line is `-- emporium: no-transaction`"), std::string::npos) << msg;
    EXPECT_EQ(scalar("SELECT to_regclass('t') IS NULL"), "t");
}

asio::awaitable<void> script_of(std::string url, std::string sql) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(std::move(url)));
    co_await conn->execute_script(sql);
}

// Copies the repository's migrations whose version is at most `last` into the test's directory.
void copy_repository_migrations(const fs::path& to, int last) {
    for (const auto& e : fs::directory_iterator(test::source_dir() + "/migrations")) {
        const auto name = e.path().filename().string();
        if (name.size() > 9 && name.ends_with(".sql") && std::stoi(name.substr(0, 4)) <= last)
            fs::copy_file(e.path(), to / name, fs::copy_options::skip_existing);
    }
}

// A catalog and its stock history as the code before variants wrote them (products.stock and one
// ledger row per change, orders with items), then 0009: nothing lost, every unit on a variant.
TEST_F(MigrateTest, VariantsMigrationKeepsEveryUnitAndItsHistory) {
    copy_repository_migrations(dir(), 8);
    run_migrate();
    const auto script = [&](const std::string& sql) { test::run_coro(script_of(url(), sql)); };
    script(R"sql(
        INSERT INTO users (email, password_hash, name) VALUES ('v@example.com', '$argon2id$v=19$x', 'V');
        INSERT INTO products (sku, name, price_cents, stock, version)
            SELECT 'SKU-' || g, 'Product ' || g, 100 * g, 0, 1 FROM generate_series(1, 40) g;
        INSERT INTO inventory_movements (product_id, delta, reason) SELECT id, 10 + id, 'initial' FROM products;
        UPDATE products SET stock = 10 + id, version = version + 1;
        INSERT INTO inventory_movements (product_id, delta, reason) SELECT id, 5, 'restock' FROM products WHERE id % 3 = 0;
        UPDATE products SET stock = stock + 5, version = version + 1 WHERE id % 3 = 0;
        INSERT INTO inventory_movements (product_id, delta, reason, note)
            SELECT id, -2, 'adjustment', 'breakage' FROM products WHERE id % 4 = 0;
        UPDATE products SET stock = stock - 2, version = version + 1 WHERE id % 4 = 0;
        INSERT INTO orders (user_id, total_cents, shipping_address, expires_at)
            SELECT 1, 0, '{}', now() + interval '1 hour' FROM generate_series(1, 10);
        INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
            SELECT o.id, p.id, 3, p.price_cents FROM orders o JOIN products p ON p.id IN (o.id, o.id + 10);
        INSERT INTO inventory_movements (product_id, delta, reason, order_id)
            SELECT product_id, -quantity, 'order_reserved', order_id FROM order_items;
        UPDATE products p SET stock = p.stock - i.q, version = p.version + 1
            FROM (SELECT product_id, sum(quantity) AS q FROM order_items GROUP BY product_id) i WHERE p.id = i.product_id;
        INSERT INTO inventory_movements (product_id, delta, reason, order_id)
            SELECT product_id, quantity, 'order_cancelled', order_id FROM order_items WHERE order_id <= 3;
        UPDATE products p SET stock = p.stock + i.q, version = p.version + 1
            FROM (SELECT product_id, sum(quantity) AS q FROM order_items WHERE order_id <= 3 GROUP BY product_id) i
            WHERE p.id = i.product_id;
    )sql");
    const auto ledger_mismatches = std::string(
        "SELECT count(*) FROM products p WHERE p.stock <> "
        "(SELECT coalesce(sum(delta), 0) FROM inventory_movements m WHERE m.product_id = p.id)");
    ASSERT_EQ(scalar(ledger_mismatches), "0");  // the history is consistent before
    const auto units = scalar("SELECT sum(stock) FROM products");
    const auto movements = scalar("SELECT count(*) FROM inventory_movements");

    copy_repository_migrations(dir(), 9);
    run_migrate();
    // One default variant per product, with its id, SKU, stock and version.
    EXPECT_EQ(scalar("SELECT count(*) FROM product_variants"), "40");
    EXPECT_EQ(scalar("SELECT count(*) FROM products p JOIN product_variants v ON v.id = p.id AND v.product_id = p.id "
                     "AND v.is_default AND v.sku = p.sku AND v.stock = p.stock AND v.version = p.version AND v.held = 0"),
              "40");
    EXPECT_EQ(scalar("SELECT sum(stock) FROM product_variants"), units);
    // Every ledger row and order item names its variant, and the ledger balances per variant.
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements"), movements);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE variant_id <> product_id"), "0");
    EXPECT_EQ(scalar("SELECT count(*) FROM order_items WHERE variant_id <> product_id"), "0");
    const auto variant_mismatches = std::string(
        "SELECT count(*) FROM product_variants v WHERE v.stock <> "
        "(SELECT coalesce(sum(delta), 0) FROM inventory_movements m WHERE m.variant_id = v.id)");
    EXPECT_EQ(scalar(variant_mismatches), "0");
    EXPECT_EQ(scalar(ledger_mismatches), "0");

    // The code of the previous release keeps selling through products.stock: its writes reach the
    // default variant, and both ledgers still balance.
    script(R"sql(
        INSERT INTO products (sku, name, price_cents, stock) VALUES ('SKU-NEW', 'New', 500, 7);
        INSERT INTO inventory_movements (product_id, delta, reason)
            SELECT id, 7, 'initial' FROM products WHERE sku = 'SKU-NEW';
        UPDATE products SET stock = stock - 1, fence_token = 9 WHERE id = 5;
        INSERT INTO inventory_movements (product_id, delta, reason, note) VALUES (5, -1, 'adjustment', 'lost');
        INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES (4, 30, 1, 100);
        UPDATE products SET sku = 'SKU-RENAMED' WHERE id = 6;
    )sql");
    EXPECT_EQ(scalar("SELECT v.stock FROM product_variants v JOIN products p ON p.id = v.product_id "
                     "WHERE p.sku = 'SKU-NEW' AND v.is_default"),
              "7");
    EXPECT_EQ(scalar("SELECT stock || ',' || fence_token FROM product_variants WHERE id = 5"),
              scalar("SELECT stock || ',9' FROM products WHERE id = 5"));
    EXPECT_EQ(scalar("SELECT variant_id FROM order_items WHERE order_id = 4 AND product_id = 30"), "30");
    EXPECT_EQ(scalar("SELECT sku FROM product_variants WHERE id = 6"), "SKU-RENAMED");
    EXPECT_EQ(scalar(variant_mismatches), "0");
    EXPECT_EQ(scalar(ledger_mismatches), "0");
    // A variant cannot go below zero (nor below what carts hold) even when the product could.
    EXPECT_THROW(script("UPDATE product_variants SET held = stock + 1 WHERE id = 7"), db::DbError);

    // 0010: the code sells variants. Its writes to a variant reach the product's total, the
    // previous release's writes to the product still reach the default variant (once: no echo),
    // a new variant's stock counts, and one order may hold two variants of one product.
    copy_repository_migrations(dir(), 10);
    run_migrate();
    const auto total_mismatches = std::string(
        "SELECT count(*) FROM products p WHERE p.stock <> "
        "(SELECT coalesce(sum(stock), 0) FROM product_variants v WHERE v.product_id = p.id)");
    EXPECT_EQ(scalar(total_mismatches), "0");
    const auto stock_of_5 = std::stoll(scalar("SELECT stock FROM products WHERE id = 5"));
    script(R"sql(
        UPDATE product_variants SET stock = stock - 2 WHERE id = 5;
        INSERT INTO inventory_movements (variant_id, product_id, delta, reason, note) VALUES (5, 5, -2, 'adjustment', 'x');
        UPDATE products SET stock = stock + 3 WHERE id = 5;
        INSERT INTO inventory_movements (product_id, delta, reason) VALUES (5, 3, 'restock');
        INSERT INTO product_variants (id, product_id, sku, option_key, stock) VALUES (100005, 5, 'SKU-5-B', 'b', 4);
        INSERT INTO inventory_movements (variant_id, product_id, delta, reason) VALUES (100005, 5, 4, 'initial');
        INSERT INTO order_items (order_id, product_id, variant_id, quantity, unit_price_cents) VALUES
            (4, 5, 5, 1, 100), (4, 5, 100005, 1, 100);
    )sql");
    EXPECT_EQ(scalar("SELECT stock FROM products WHERE id = 5"), std::to_string(stock_of_5 - 2 + 3 + 4));
    EXPECT_EQ(scalar("SELECT stock FROM product_variants WHERE id = 5"), std::to_string(stock_of_5 - 2 + 3));
    EXPECT_EQ(scalar(total_mismatches), "0");
    EXPECT_EQ(scalar(variant_mismatches), "0");
    EXPECT_EQ(scalar(ledger_mismatches), "0");
    // One opening balance per variant, as there was one per product.
    EXPECT_THROW(script("INSERT INTO inventory_movements (variant_id, product_id, delta, reason) "
                        "VALUES (100005, 5, 1, 'initial')"),
                 db::DbError);

    // 0013: sales stop writing products. A variant's change that does not cross zero leaves the
    // stored total (and the version) alone; one that crosses zero puts the live total back; the
    // previous release's write of products.stock sets the total through the default variant even
    // when the stored total is behind. (These writes skip the ledger: only the totals are checked.)
    copy_repository_migrations(dir(), 13);
    run_migrate();
    const auto live_5 = std::string("SELECT sum(stock) FROM product_variants WHERE product_id = 5");
    const auto stored_5 = std::string("SELECT stock FROM products WHERE id = 5");
    const auto version_5 = scalar("SELECT version FROM products WHERE id = 5");
    ASSERT_EQ(scalar(stored_5), scalar(live_5));
    const auto total_5 = std::stoll(scalar(live_5));
    script("UPDATE product_variants SET stock = stock - 1 WHERE id = 5");
    EXPECT_EQ(scalar(stored_5), std::to_string(total_5)) << "a sale that does not empty a variant";
    EXPECT_EQ(scalar("SELECT version FROM products WHERE id = 5"), version_5);
    script("UPDATE product_variants SET stock = 0 WHERE id = 100005");
    EXPECT_EQ(scalar(stored_5), scalar(live_5)) << "a variant ran out: the total is read again";
    script("UPDATE product_variants SET stock = stock - 2 WHERE id = 5");
    EXPECT_NE(scalar(stored_5), scalar(live_5));
    script("UPDATE products SET stock = 20 WHERE id = 5");
    EXPECT_EQ(scalar("SELECT stock FROM product_variants WHERE id = 5"), "20");
    EXPECT_EQ(scalar(live_5), "20");
    EXPECT_EQ(scalar(stored_5), "20");
    script("UPDATE product_variants SET stock = 0 WHERE product_id = 5");
    EXPECT_EQ(scalar(stored_5), "0") << "every variant ran out: the product is out of stock";
    script("UPDATE product_variants SET stock = 2 WHERE id = 100005");
    EXPECT_EQ(scalar(stored_5), "2") << "one came back";
    EXPECT_EQ(scalar("SELECT version FROM products WHERE id = 5"), version_5);
}

TEST(TestDatabaseFixture, BuildsFromTemplateAndRebuildsWhenMigrationsChange) {
    const fs::path dir = fs::temp_directory_path() / ("emporium_fixture_" + test::unique_suffix());
    fs::create_directories(dir);
    std::ofstream(dir / "0001_t.sql") << "CREATE TABLE fixture_t (id int); INSERT INTO fixture_t VALUES (7);";
    const auto first = test::create_test_database(dir.string());
    const auto second = test::create_test_database(dir.string());  // reuses the template
    EXPECT_NE(first, second);
    EXPECT_EQ(test::run_coro(scalar_of(first, "SELECT id FROM fixture_t")), "7");
    std::ofstream(dir / "0002_u.sql") << "INSERT INTO fixture_t VALUES (8);";
    const auto third = test::create_test_database(dir.string());  // new template
    EXPECT_EQ(test::run_coro(scalar_of(third, "SELECT count(*) FROM fixture_t")), "2");
    EXPECT_EQ(test::run_coro(scalar_of(second, "SELECT count(*) FROM fixture_t")), "1");
    for (const auto& url : {first, second, third}) test::drop_test_database(url);
    fs::remove_all(dir);
}

TEST(TestDatabaseFixture, RepositoryMigrationsProduceAWorkingDatabase) {
    test::TestDatabase db;
    const auto applied = test::run_coro(scalar_of(db.url, "SELECT count(*) FROM schema_migrations"));
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(test::source_dir() + "/migrations")) {
        const auto name = e.path().filename().string();
        if (name.size() > 9 && name.ends_with(".sql") &&
            std::isdigit(static_cast<unsigned char>(name[0])) != 0)
            ++files;
    }
    EXPECT_EQ(applied, std::to_string(files));
    // Indexes built concurrently ended valid.
    EXPECT_EQ(test::run_coro(scalar_of(db.url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid")), "0");
}

// The plan of `query` with sequential scans, bitmap scans and sorts off (a disabled plan only costs
// more, so a GIN index, which has only bitmap scans, still wins over the sequential scan): on an empty table the
// planner would rather scan and sort; a plan that reads the order from an index shows that the
// index (its operator class and partial predicate) can serve the query. The plans on a seeded
// catalog are in docs/benchmarks.md.
asio::awaitable<std::string> index_plan_of(std::string url, std::string query) {
    auto conn = co_await Connection::connect(co_await asio::this_coro::executor, options_for(std::move(url)));
    co_await conn->execute_script(
        "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off");
    auto r = co_await conn->query_unprepared("EXPLAIN (COSTS OFF) " + query);
    std::string plan;
    for (std::size_t i = 0; i < r.rows(); ++i) plan += r.get<std::string>(i, 0) + "\n";
    co_return plan;
}

TEST(TestDatabaseFixture, RepositorySearchIndexesServeTheirQueries) {
    test::TestDatabase db;
    const auto plan = [&db](const std::string& query) {
        return test::run_coro(index_plan_of(db.url, query));
    };
    // Typo correction: the nearest vocabulary word by trigram distance.
    auto p = plan("SELECT word FROM search_words WHERE 'lamb' <% word ORDER BY 'lamb' <<-> word LIMIT 1");
    EXPECT_NE(p.find("Index Scan using search_words_trgm_idx"), std::string::npos) << p;
    EXPECT_NE(p.find("Order By: (word <->> 'lamb'::text)"), std::string::npos) << p;
    // The first relevance tier: the name alone matches.
    p = plan("SELECT id FROM products WHERE to_tsvector('english', name) @@ websearch_to_tsquery('english', 'red lamp')");
    EXPECT_NE(p.find("products_name_fts_idx"), std::string::npos) << p;
}

}  // namespace
}  // namespace emporium::db
