// Queries/s through db::Pool with pipelining: `clients` coroutines spread over `threads` I/O
// threads, each running pgbench's select-only statement in a loop for `seconds`.
//   emporium_bench_pg URL CLIENTS THREADS SECONDS CONNECTIONS_PER_THREAD SCALE
// Prints one line: `qps=<n> p50_ms=<x> p99_ms=<y>`.
#include "core/runtime.hpp"
#include "core/spawn.hpp"
#include "db/pg.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace emporium;
using Clock = std::chrono::steady_clock;

constexpr db::Statement kSelect{"bench.select_balance", "SELECT abalance FROM pgbench_accounts WHERE aid = $1"};

struct Shared {
    std::atomic<std::uint64_t> queries{0};
    std::atomic<std::uint64_t> errors{0};
    std::mutex mutex;
    std::vector<double> latencies_ms;
    Clock::time_point measure_from;
    Clock::time_point until;
    std::atomic<int> running{0};
};

boost::asio::awaitable<void> client(db::Pool* pool, Shared* shared, std::uint64_t seed, long accounts) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<long> aid(1, accounts);
    std::vector<double> local;
    while (Clock::now() < shared->until) {
        auto t0 = Clock::now();
        try {
            auto r = co_await pool->query(kSelect, aid(rng));
            if (r.rows() != 1) shared->errors.fetch_add(1);
        } catch (const std::exception&) {
            shared->errors.fetch_add(1);
        }
        auto t1 = Clock::now();
        if (t0 >= shared->measure_from) {
            shared->queries.fetch_add(1, std::memory_order_relaxed);
            if ((local.size() & 7U) == 0) local.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
    }
    {
        std::lock_guard lock(shared->mutex);
        shared->latencies_ms.insert(shared->latencies_ms.end(), local.begin(), local.end());
    }
    shared->running.fetch_sub(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 7) {
        std::fprintf(stderr, "usage: %s URL CLIENTS THREADS SECONDS CONNS_PER_THREAD SCALE\n", argv[0]);
        return 2;
    }
    std::string url = argv[1];
    int clients = std::stoi(argv[2]);
    unsigned threads = static_cast<unsigned>(std::stoi(argv[3]));
    double seconds = std::stod(argv[4]);
    std::size_t conns = static_cast<std::size_t>(std::stoi(argv[5]));
    long accounts = std::stol(argv[6]) * 100000L;

    core::Runtime runtime(threads);
    core::PerContext<db::Pool> pools(runtime, [&](boost::asio::io_context& ctx, std::size_t) {
        db::PoolOptions o;
        o.connection.url = url;
        o.max_size = conns;
        o.pipeline_depth = static_cast<std::size_t>(clients) / (threads * conns) + 1;
        return std::make_unique<db::Pool>(ctx.get_executor(), o);
    });
    Shared shared;
    auto warmup = std::chrono::milliseconds(1000);
    shared.measure_from = Clock::now() + warmup;
    shared.until = shared.measure_from + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    shared.running = clients;
    for (int i = 0; i < clients; ++i) {
        auto idx = static_cast<std::size_t>(i) % runtime.size();
        core::spawn_tracked(runtime.context(idx).get_executor(),
                            client(&pools.at(idx), &shared, static_cast<std::uint64_t>(i) + 1, accounts), "bench.client");
    }
    std::thread stopper([&] {
        while (shared.running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        runtime.release_work();
        runtime.stop();
    });
    runtime.run();
    stopper.join();
    auto& lat = shared.latencies_ms;
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lat.size())))]; };
    std::printf("qps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%llu\n", static_cast<double>(shared.queries.load()) / seconds,
                pct(0.50), pct(0.99), static_cast<unsigned long long>(shared.errors.load()));
    return shared.errors.load() == 0 ? 0 : 1;
}
