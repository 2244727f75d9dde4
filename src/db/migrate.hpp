#pragma once
// Forward-only schema migrations: migrations/NNNN_name.sql applied in order and recorded with a
// SHA-256 checksum in schema_migrations. Used by `emporium migrate` and by the test harness
// (which builds its template database with exactly this code).
//
// A migration runs in one of two modes:
// - transactional (the default): the whole file in one transaction; a failure leaves no trace.
// - no-transaction: the file's first line is kNoTransactionMarker. Its statements run one by one,
//   each committing on its own, so statements that cannot run in a transaction block work (CREATE
//   INDEX CONCURRENTLY: an index built without blocking writes). Every statement must be safe to
//   run again: after a failure the next run starts the file over. Each CREATE INDEX must name its
//   index and say IF NOT EXISTS; before running one, the migrator drops an invalid index of that
//   name on that table (what a failed or interrupted concurrent build leaves behind), so the
//   re-run builds it again instead of skipping it. The migration is recorded only after its last
//   statement succeeded.

#include "core/error.hpp"
#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::db {

// A migration could not be applied, or the files on disk disagree with what was applied
// (changed checksum, file missing, duplicate version, a no-transaction file that breaks its
// rules). The message names the file; it is meant for operators, not clients.
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

// The first line of a migration that runs statement by statement, outside a transaction.
inline constexpr std::string_view kNoTransactionMarker = "-- emporium: no-transaction";

// A snapshot of one index build of the migrator's session, read from
// pg_stat_progress_create_index on a second connection.
struct IndexBuildProgress {
    std::string migration;  // file name
    std::string index;      // the index being built (empty until it exists)
    std::string table;
    std::string command;  // CREATE INDEX, CREATE INDEX CONCURRENTLY, REINDEX …
    std::string phase;    // e.g. "building index: scanning table"
    std::int64_t lockers_total = 0;
    std::int64_t lockers_done = 0;
    std::int64_t current_locker_pid = 0;  // the session a waiting phase waits for (0: none)
    std::int64_t blocks_total = 0;
    std::int64_t blocks_done = 0;
    std::int64_t tuples_total = 0;
    std::int64_t tuples_done = 0;
    std::chrono::milliseconds elapsed{0};  // since the statement started
    // True on at most one report per MigrateOptions::log_interval (and on every finished report):
    // the one to write to the log.
    bool log_due = false;
    // The statement has ended: the last report of its build, with the figures last seen, the
    // statement's full duration and whether it failed.
    bool finished = false;
    bool failed = false;

    // Share of the current phase done, in [0, 1]; std::nullopt when the phase has no measure.
    std::optional<double> phase_fraction() const;
};

// "0006_x.sql: products_idx on products: building index: scanning table 45% (1200/2660 blocks), 12 s"
std::string describe(const IndexBuildProgress& progress);
// Writes one structured log line for `progress`: INFO "index build progress" / "index build
// finished", WARN "index build failed".
void log_index_build_progress(const IndexBuildProgress& progress);

struct MigrateOptions {
    // A second connection to the same database (pipeline = false, a short query_timeout) from
    // which index builds are watched; std::nullopt: no progress reports. Progress is best effort:
    // when this connection fails, the migration goes on without reports (and says so in the log).
    std::optional<ConnectionOptions> monitor;
    // How often the monitor looks at pg_stat_progress_create_index while a statement runs.
    std::chrono::milliseconds progress_interval{5'000};
    // At most one log_due report per interval.
    std::chrono::milliseconds log_interval{5'000};
    // Called on the connection's executor with every report. Unset: log_due reports are logged
    // (log_index_build_progress). Set: the callback decides (a terminal's in-place line, …).
    std::function<void(const IndexBuildProgress&)> on_progress;
    // Waiting for another migrator: the lock is tried every lock_poll, for at most lock_wait.
    // Polling instead of a blocking pg_advisory_lock: a session blocked in that call keeps a
    // snapshot open, which a concurrent index build of the lock holder waits for — a deadlock
    // that PostgreSQL resolves by failing the build.
    std::chrono::milliseconds lock_poll{250};
    std::chrono::milliseconds lock_wait{std::chrono::minutes(30)};
};

// Applies the pending migrations of `dir` (files matching ^\d{4}_[a-z0-9_]+\.sql$, other files
// are ignored). `conn` should be opened with pipeline = false and a query_timeout long enough for
// the slowest statement (an index build on the largest table); the server-side statement_timeout
// follows it. Holds the session advisory lock kMigrationLockKey for the whole run and releases it
// also on failure. Transactional migration files must not contain their own BEGIN/COMMIT.
// Throws MigrationError (bad files, checksum mismatch, a failed migration: the message has the
// file name, for a no-transaction file the failing statement's number and line, and the server's
// message; a lock held by another migrator for longer than lock_wait) and the DbError family for
// connection problems.
boost::asio::awaitable<MigrateReport> migrate(
    Connection& conn,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                       // callers co_await directly
    std::string dir,
    MigrateOptions options);
boost::asio::awaitable<MigrateReport> migrate(
    Connection& conn,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                       // callers co_await directly
    std::string dir);

// One statement of a SQL script.
struct SqlStatement {
    std::string text;  // from its first token to its last: comments before and after it dropped
    int line = 0;      // 1-based line where it starts
};

// Splits a script into statements at the semicolons outside string constants ('…', E'…'),
// quoted identifiers, dollar-quoted strings ($$…$$, $tag$…$tag$) and comments (-- and nested
// /* */). Statements with nothing but comments are dropped. Throws MigrationError for an
// unterminated quote, dollar quote or comment (naming its line).
std::vector<SqlStatement> split_sql_statements(std::string_view sql);

// Lowercase hex SHA-256 (libsodium) of `data`; the checksum recorded for each migration.
std::string sha256_hex(std::string_view data);

}  // namespace emporium::db
