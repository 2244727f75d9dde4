// db::migrate against real databases, with migrations directories the tests write themselves,
// plus the test-database fixture built on it.

#include "db/migrate.hpp"
#include "db/pg.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>

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
}

}  // namespace
}  // namespace emporium::db
