#include "inventory/redlock.hpp"

#include "core/ids.hpp"
#include "core/metrics.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>

namespace emporium::inventory {

namespace {

namespace asio = boost::asio;

const redis::Script& release_script() {
    static const redis::Script kScript(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0");
    return kScript;
}

core::Metrics::Counter& lock_counter(const std::string& result) {
    return core::Metrics::global().counter(
        "emporium_lock_acquisitions_total", "Redlock acquisitions by result", {{"result", result}});
}

std::chrono::milliseconds jitter() {
    thread_local std::minstd_rand rng{std::random_device{}()};
    std::uniform_int_distribution<int> dist(5, 25);
    return std::chrono::milliseconds(dist(rng));
}

}  // namespace

std::size_t redlock_quorum(std::size_t masters) {
    return masters / 2 + 1;
}

std::chrono::milliseconds redlock_drift(std::chrono::milliseconds ttl) {
    return ttl / 100 + std::chrono::milliseconds(2);
}

std::chrono::milliseconds redlock_validity(std::chrono::milliseconds ttl, std::chrono::milliseconds elapsed) {
    return ttl - elapsed - redlock_drift(ttl);
}

bool redlock_granted(std::size_t acquired,
                     std::size_t masters,
                     std::chrono::milliseconds ttl,
                     std::chrono::milliseconds elapsed) {
    return masters > 0 && acquired >= redlock_quorum(masters) &&
           redlock_validity(ttl, elapsed) > std::chrono::milliseconds(0);
}

Redlock::Redlock(MastersProvider masters, std::chrono::milliseconds ttl, int retries)
    : masters_(std::move(masters)), ttl_(ttl), retries_(retries) {}

redis::Client& Redlock::primary() const {
    return *masters_().front();
}

asio::awaitable<std::size_t> Redlock::try_all(std::string key, std::string token) {
    std::size_t ok = 0;
    for (redis::Client* master : masters_()) {
        try {
            auto reply = co_await master->command(redis::cmd("SET", key, token, "NX", "PX", ttl_.count()));
            if (reply.is_ok()) ++ok;
        } catch (const core::InfraError&) {
            // A master that is down or slow refuses; the quorum decides.
            continue;
        }
    }
    co_return ok;
}

asio::awaitable<std::optional<Lock>> Redlock::acquire(std::string key) {
    const auto masters = masters_().size();
    for (int attempt = 0; attempt < retries_; ++attempt) {
        const std::string token = core::random_hex_id();
        const auto start = std::chrono::steady_clock::now();
        const auto ok = co_await try_all(key, token);
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        if (redlock_granted(ok, masters, ttl_, elapsed)) {
            lock_counter("acquired").inc();
            co_return Lock{key, token, redlock_validity(ttl_, elapsed)};
        }
        if (ok > 0) {
            Lock partial{key, token, std::chrono::milliseconds(0)};
            co_await release(std::move(partial));
        }
        lock_counter("busy").inc();
        asio::steady_timer timer(co_await asio::this_coro::executor, jitter());
        co_await timer.async_wait(asio::use_awaitable);
    }
    lock_counter("failed").inc();
    co_return std::nullopt;
}

asio::awaitable<void> Redlock::release(Lock lock) {
    for (redis::Client* master : masters_()) {
        try {
            std::vector<std::string> keys{lock.key};
            std::vector<std::string> args{lock.token};
            co_await master->eval(release_script(), std::move(keys), std::move(args));
        } catch (const core::InfraError&) {
            // The lease expires by itself on a master we cannot reach.
            continue;
        }
    }
}

}  // namespace emporium::inventory
