#pragma once

#include "core/config.hpp"
#include "seed/seed.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace emporium::app {

using SeedOptions = seed::SeedOptions;

// `emporium seed --progress`: auto draws the progress only when stderr is a terminal.
enum class ProgressMode { kAuto, kAlways, kNever };

struct CreateAdminOptions {
    std::string email;
    std::string name = "Administrator";
};

struct MigrateOptions {
    // Longest one migration statement may run (an index build on the largest table): the client
    // gives up after this, the server cancels the statement a little earlier. Also the longest
    // wait for another migrator's lock.
    std::int64_t statement_timeout_ms = 6LL * 3'600'000;
};

struct WorkerOptions {
    std::vector<std::string> queues;  // empty: WORKER_QUEUES, else all
    int concurrency = 0;              // 0: WORKER_CONCURRENCY
    bool no_relay = false;            // do not run the outbox relay in this process
};

std::string version();

// `emporium serve`: the HTTP API until SIGTERM/SIGINT; returns the process exit code.
int run_serve(const core::Config& config);
// `emporium migrate`: applies pending migrations from MIGRATIONS_DIR. Index builds report their
// progress: a log line at most every 5 s and, when stderr is a terminal, an in-place line.
int run_migrate(const core::Config& config, const MigrateOptions& options);
// `emporium seed`: deterministic demo data. On a terminal (or with ProgressMode::kAlways) the
// tables' progress is redrawn in place on stderr; otherwise only the summary line is printed
// (stdout) and logged.
int run_seed(const core::Config& config,
             const SeedOptions& options,
             ProgressMode progress = ProgressMode::kAuto);
// Whether run_seed draws progress for `mode` (pure; the terminal test is isatty(stderr)).
bool progress_enabled(ProgressMode mode, bool stderr_is_terminal);
// `emporium create-admin --email E [--name N]`: creates an admin account; the password comes from
// EMPORIUM_ADMIN_PASSWORD or one line of stdin. Exit code 0, 1 (rejected: policy, duplicate, or
// database failure), 2 (no password given).
int run_create_admin(const core::Config& config, const CreateAdminOptions& options);
// `emporium worker`: runs jobs and the outbox relay until SIGTERM/SIGINT (running jobs finish
// first, up to WORKER_DRAIN_MS). Exit code 0, or 2 for an unknown queue.
int run_worker(const core::Config& config, const WorkerOptions& options);
// `emporium scheduler`: fires periodic entries (one leader cluster-wide) until SIGTERM/SIGINT.
int run_scheduler(const core::Config& config);
// `emporium recommend rebuild`: the full co-occurrence rebuild (what the scheduled job runs).
int run_recommend_rebuild(const core::Config& config);
// `emporium expire-orders`: expires unpaid orders past expires_at (stock returned) and purges
// expired idempotency keys. Exit code 0, or 1 on failure.
int run_expire_orders(const core::Config& config);
int run_expire_carts(const core::Config& config);
// `emporium inventory audit|resync`: audit exits 1 when any product's stock differs from the sum
// of its ledger rows; resync rewrites the Redis stock mirror from PostgreSQL.
int run_inventory(const core::Config& config, const std::string& action);

}  // namespace emporium::app
