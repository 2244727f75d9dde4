#include "app/commands.hpp"
#include "core/log.hpp"
#include "db/pg.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>

namespace emporium::app {
namespace {

// Redraws the progress lines in place (cursor up, clear line) on a terminal.
class TerminalProgress {
public:
    void draw(const seed::ProgressSnapshot& snapshot) {
        const std::vector<std::string> lines = seed::format_progress(snapshot);
        std::string out;
        if (drawn_ > 0) out += "\x1b[" + std::to_string(drawn_) + "A";
        for (const std::string& line : lines) {
            out += "\r\x1b[2K";
            out += line;
            out += '\n';
        }
        drawn_ = lines.size();
        std::fwrite(out.data(), 1, out.size(), stderr);
        std::fflush(stderr);
    }

private:
    std::size_t drawn_ = 0;
};

// The ProgressCallback handed to seed::run (std::function needs a copyable callable).
struct DrawProgress {
    std::shared_ptr<TerminalProgress> terminal;
    void operator()(const seed::ProgressSnapshot& snapshot) const { terminal->draw(snapshot); }
};

boost::asio::awaitable<seed::SeedReport> seed_shop(db::ConnectionOptions database,
                                                   SeedOptions options,
                                                   bool show_progress) {
    seed::ProgressCallback progress;
    if (show_progress) progress = DrawProgress{std::make_shared<TerminalProgress>()};
    co_return co_await seed::run(std::move(database), options, std::move(progress));
}

}  // namespace

bool progress_enabled(ProgressMode mode, bool stderr_is_terminal) {
    switch (mode) {
        case ProgressMode::kAlways:
            return true;
        case ProgressMode::kNever:
            return false;
        case ProgressMode::kAuto:
            break;
    }
    return stderr_is_terminal;
}

int run_seed(const core::Config& config, const SeedOptions& options, ProgressMode progress) {
    db::ConnectionOptions database;
    database.url = config.db.url;
    database.connect_timeout = config.db.connect_timeout;
    // A step of the load (one chunk of COPY data, one index build on a big table) may take minutes.
    database.query_timeout = std::chrono::minutes(30);
    database.pipeline = false;
    const bool show_progress = progress_enabled(progress, ::isatty(STDERR_FILENO) == 1);

    boost::asio::io_context ctx;
    std::exception_ptr failure;
    seed::SeedReport report{};
    boost::asio::co_spawn(
        ctx, seed_shop(database, options, show_progress), [&](std::exception_ptr e, seed::SeedReport r) {
            failure = std::move(e);
            report = std::move(r);
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
    std::array<char, 32> seconds{};
    std::snprintf(seconds.data(), seconds.size(), "%.1f", report.seconds);
    std::cout << "seeded " << report.categories << " categories, " << report.products << " products, "
              << report.users << " users, " << report.orders << " orders (" << report.order_items
              << " items), " << report.reviews << " reviews in " << seconds.data() << " s\n";
    return 0;
}

}  // namespace emporium::app
