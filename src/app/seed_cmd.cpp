#include "app/commands.hpp"
#include "app/wiring.hpp"
#include "core/log.hpp"
#include "db/pg.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace emporium::app {
namespace {

boost::asio::awaitable<seed::SeedReport> seed_shop(core::Config config, SeedOptions options) {
    auto ex = co_await boost::asio::this_coro::executor;
    auto pool_opts = pool_options(config, 1);
    pool_opts.max_size = 4;
    pool_opts.connection.query_timeout = std::chrono::minutes(30);
    db::Pool pool(ex, pool_opts);
    auto report = co_await seed::run(pool, options);
    pool.close();
    co_return report;
}

}  // namespace

int run_seed(const core::Config& config, const SeedOptions& options) {
    boost::asio::io_context ctx;
    std::exception_ptr failure;
    seed::SeedReport report{};
    boost::asio::co_spawn(ctx, seed_shop(config, options), [&](std::exception_ptr e, seed::SeedReport r) {
        failure = e;
        report = r;
    });
    ctx.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "seed failed: " << e.what() << "\n";
            return 1;
        }
    }
    if (report.skipped) {
        std::cout << "seed: catalog already has products, nothing to do\n";
        return 0;
    }
    std::cout << "seeded " << report.categories << " categories, " << report.products << " products, " << report.users
              << " users, " << report.orders << " orders (" << report.order_items << " items), " << report.reviews
              << " reviews in " << report.seconds << " s\n";
    return 0;
}

}  // namespace emporium::app
