#include "app/commands.hpp"
#include "core/log.hpp"
#include "db/migrate.hpp"
#include "db/pg.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <unistd.h>

namespace emporium::app {
namespace {

// On a terminal: one line redrawn in place under the log lines. The progress log line (every 5 s)
// is written with the line cleared first, so the two never share a row.
void show_on_terminal(const db::IndexBuildProgress& p) {
    std::cerr << "\r\033[K" << std::flush;
    if (p.log_due) db::log_index_build_progress(p);
    if (!p.finished) std::cerr << db::describe(p) << std::flush;
}

boost::asio::awaitable<db::MigrateReport> migrate_all(core::Config config, MigrateOptions command_options) {
    const auto statement_timeout = std::chrono::milliseconds(command_options.statement_timeout_ms);
    db::ConnectionOptions options;
    options.url = config.db.url;
    options.connect_timeout = config.db.connect_timeout;
    // Sets the server's statement_timeout a little below the client's: a build that runs too long
    // is cancelled by the server (leaving an invalid index the next run replaces) rather than
    // abandoned by the client while the server goes on building.
    options.query_timeout = statement_timeout;
    options.pipeline = false;

    db::MigrateOptions migrate_options;
    db::ConnectionOptions monitor = options;
    monitor.query_timeout = std::chrono::seconds(5);
    migrate_options.monitor = monitor;
    migrate_options.lock_wait = statement_timeout;
    // A look every second (cheap: one row of a system view) feeds the terminal line; the log gets
    // one line per 5 s, and a build longer than a second gets its "finished" line.
    migrate_options.progress_interval = std::chrono::seconds(1);
    migrate_options.log_interval = std::chrono::seconds(5);
    if (::isatty(STDERR_FILENO) != 0) migrate_options.on_progress = show_on_terminal;

    auto ex = co_await boost::asio::this_coro::executor;
    auto conn = co_await db::Connection::connect(ex, options);
    co_return co_await db::migrate(*conn, config.db.migrations_dir, std::move(migrate_options));
}

}  // namespace

int run_migrate(const core::Config& config, const MigrateOptions& options) {
    boost::asio::io_context ctx;
    std::exception_ptr failure;
    db::MigrateReport report;
    boost::asio::co_spawn(ctx, migrate_all(config, options), [&](std::exception_ptr e, db::MigrateReport r) {
        failure = std::move(e);
        report = std::move(r);
    });
    ctx.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            core::log::error("migration failed", {{"error", e.what()}});
            std::cerr << "migration failed: " << e.what() << "\n";
            return 1;
        }
    }
    for (const auto& name : report.applied) std::cout << "applied " << name << "\n";
    std::cout << "migrations: " << report.applied.size() << " applied, " << report.already_applied
              << " already up to date\n";
    return 0;
}

}  // namespace emporium::app
