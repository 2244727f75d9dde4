// GET/s through redis::Client with pipelining: `clients` coroutines over `threads` I/O threads
// (one connection per thread), GET of random keys among `keys`, for `seconds`.
//   emporium_bench_redis URL CLIENTS THREADS SECONDS KEYS
#include "core/runtime.hpp"
#include "core/spawn.hpp"
#include "redis/redis.hpp"

#include <atomic>
#include <cstdio>
#include <random>
#include <string>

namespace {

using namespace emporium;
using Clock = std::chrono::steady_clock;

struct Shared {
    std::atomic<std::uint64_t> ops{0};
    std::atomic<std::uint64_t> errors{0};
    Clock::time_point measure_from;
    Clock::time_point until;
    std::atomic<int> running{0};
};

boost::asio::awaitable<void> client(redis::Client* redis, Shared* shared, std::uint64_t seed, int keys) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> key(0, keys - 1);
    while (Clock::now() < shared->until) {
        auto t0 = Clock::now();
        try {
            auto r = co_await redis->command(redis::cmd("GET", "key:" + std::to_string(key(rng))));
            if (r.is_error()) shared->errors.fetch_add(1);
        } catch (const std::exception&) {
            shared->errors.fetch_add(1);
        }
        if (t0 >= shared->measure_from) shared->ops.fetch_add(1, std::memory_order_relaxed);
    }
    shared->running.fetch_sub(1);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: %s URL CLIENTS THREADS SECONDS KEYS\n", argv[0]);
        return 2;
    }
    std::string url = argv[1];
    int clients = std::stoi(argv[2]);
    unsigned threads = static_cast<unsigned>(std::stoi(argv[3]));
    double seconds = std::stod(argv[4]);
    int keys = std::stoi(argv[5]);
    core::Runtime runtime(threads);
    core::PerContext<redis::Client> redis_clients(runtime, [&](boost::asio::io_context& ctx, std::size_t) {
        redis::ClientOptions o;
        o.url = url;
        return std::make_unique<redis::Client>(ctx.get_executor(), o);
    });
    Shared shared;
    shared.measure_from = Clock::now() + std::chrono::milliseconds(1000);
    shared.until = shared.measure_from + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    shared.running = clients;
    for (int i = 0; i < clients; ++i) {
        auto idx = static_cast<std::size_t>(i) % runtime.size();
        core::spawn_tracked(runtime.context(idx).get_executor(),
                            client(&redis_clients.at(idx), &shared, static_cast<std::uint64_t>(i) + 1, keys), "bench.client");
    }
    std::thread stopper([&] {
        while (shared.running.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        runtime.release_work();
        runtime.stop();
    });
    runtime.run();
    stopper.join();
    std::printf("ops=%.0f errors=%llu\n", static_cast<double>(shared.ops.load()) / seconds,
                static_cast<unsigned long long>(shared.errors.load()));
    return shared.errors.load() == 0 ? 0 : 1;
}
