#pragma once
// Per-test-binary PostgreSQL databases: each is a copy (CREATE DATABASE … TEMPLATE) of a template
// that the production migration code has migrated. The template's name carries a hash of
// migrations/, so editing a migration builds a new template instead of reusing a stale one.

#include <string>

namespace emporium::test {

// Creates a fresh migrated database and returns its URL (same server and user as
// EMPORIUM_TEST_DATABASE_URL). Safe to call from parallel test processes.
std::string create_test_database();
// Creates a database from `migrations_dir` instead of the repository's migrations/.
std::string create_test_database(const std::string& migrations_dir);
// Creates an empty database (no migrations) and returns its URL.
std::string create_empty_database();
// Drops the database of `url`, disconnecting whoever still uses it.
void drop_test_database(const std::string& url);
// `url` with its database name replaced by `dbname`.
std::string database_url(const std::string& url, const std::string& dbname);

// Creates a database in the constructor and drops it in the destructor.
struct TestDatabase {
    TestDatabase();
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    std::string url;
};

// One database per test process, created on first use and dropped at exit (gtest_discover_tests
// runs each test in its own process, so tests do not share state through it).
const std::string& process_test_database_url();

}  // namespace emporium::test
