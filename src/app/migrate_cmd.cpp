#include "app/commands.hpp"
#include "core/log.hpp"
#include "db/migrate.hpp"
#include "db/pg.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace emporium::app {
namespace {

boost::asio::awaitable<db::MigrateReport> migrate_all(core::Config config) {
    db::ConnectionOptions options;
    options.url = config.db.url;
    options.connect_timeout = config.db.connect_timeout;
    options.query_timeout = std::chrono::minutes(30);  // migrations may rebuild indexes
    options.pipeline = false;
    auto ex = co_await boost::asio::this_coro::executor;
    auto conn = co_await db::Connection::connect(ex, options);
    co_return co_await db::migrate(*conn, config.db.migrations_dir);
}

}  // namespace

int run_migrate(const core::Config& config) {
    boost::asio::io_context ctx;
    std::exception_ptr failure;
    db::MigrateReport report;
    boost::asio::co_spawn(ctx, migrate_all(config), [&](std::exception_ptr e, db::MigrateReport r) {
        failure = e;
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
