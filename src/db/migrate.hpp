#pragma once
// Forward-only schema migrations: migrations/NNNN_name.sql applied in order, each in its own
// transaction, recorded with a SHA-256 checksum in schema_migrations. Used by `emporium migrate`
// and by the test harness (which builds its template database with exactly this code).

#include "core/error.hpp"
#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::db {

// A migration could not be applied, or the files on disk disagree with what was applied
// (changed checksum, file missing, duplicate version). The message names the file; it is meant
// for operators, not clients.
class MigrationError : public core::InfraError {
public:
    using core::InfraError::InfraError;
};

struct MigrateReport {
    std::vector<std::string> applied;  // file names applied by this run, in order
    std::size_t already_applied = 0;   // files that were applied before this run
};

// The advisory-lock key that serialises migrators (also across hosts sharing the database).
inline constexpr std::int64_t kMigrationLockKey = 0x656d705f6d696772;  // "emp_migr"

// Applies the pending migrations of `dir` (files matching ^\d{4}_[a-z0-9_]+\.sql$, other files
// are ignored). `conn` should be opened with pipeline = false and a query_timeout long enough for
// the slowest migration (and for waiting on a concurrent migrator's lock). Holds the session
// advisory lock kMigrationLockKey for the whole run and releases it also on failure. Migration
// files must not contain their own BEGIN/COMMIT (or statements that cannot run in a transaction,
// such as CREATE INDEX CONCURRENTLY).
// Throws MigrationError (bad files, checksum mismatch, failed migration: rolled back, message has
// the file name and the server's message) and the DbError family for connection problems.
boost::asio::awaitable<MigrateReport> migrate(
    Connection& conn,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                       // callers co_await directly
    std::string dir);

// Lowercase hex SHA-256 (libsodium) of `data`; the checksum recorded for each migration.
std::string sha256_hex(std::string_view data);

}  // namespace emporium::db
