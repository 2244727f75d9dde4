#include "inventory/redlock.hpp"

#include "core/ids.hpp"
#include "core/metrics.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <unordered_map>

namespace emporium::inventory {

namespace {

namespace asio = boost::asio;

// KEYS: lock. ARGV: token. Releases the lock only if we hold it.
const redis::Script& release_script() {
    static const redis::Script kScript(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");
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

// The per-key FIFO queues of this process.
class LocalQueue {
public:
    struct Waiter {
        explicit Waiter(const asio::any_io_executor& ex) : ready(ex, 1) {}
        asio::experimental::concurrent_channel<void(boost::system::error_code)> ready;
    };

    // Enters at once (nullptr) or returns the waiter to await; it is signalled when its turn came.
    std::shared_ptr<Waiter> enter(const std::string& key, const asio::any_io_executor& ex) {
        const std::lock_guard guard(mutex_);
        auto& gate = gates_[key];
        if (!gate.held) {
            gate.held = true;
            return nullptr;
        }
        gate.waiting.push_back(std::make_shared<Waiter>(ex));
        return gate.waiting.back();
    }

    // A waiter gives up (its request was cancelled): true when it was still queued; false when
    // the turn had already passed to it (the caller must then leave()).
    bool abandon(const std::string& key, const std::shared_ptr<Waiter>& w) {
        const std::lock_guard guard(mutex_);
        auto it = gates_.find(key);
        if (it == gates_.end()) return false;
        auto& q = it->second.waiting;
        auto pos = std::find(q.begin(), q.end(), w);
        if (pos == q.end()) return false;
        q.erase(pos);
        return true;
    }

    // The holder leaves: the next waiter (if any) gets the turn.
    void leave(const std::string& key) {
        std::shared_ptr<Waiter> next;
        {
            const std::lock_guard guard(mutex_);
            auto it = gates_.find(key);
            if (it == gates_.end()) return;
            if (it->second.waiting.empty()) {
                gates_.erase(it);
                return;
            }
            next = std::move(it->second.waiting.front());
            it->second.waiting.pop_front();
        }
        next->ready.try_send(boost::system::error_code{});
    }

private:
    struct Gate {
        bool held = false;
        std::deque<std::shared_ptr<Waiter>> waiting;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Gate> gates_;
};

void LocalTurn::leave() {
    if (!left_.exchange(true)) queue_->leave(key_);
}

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
    : masters_(std::move(masters)), ttl_(ttl), retries_(retries), local_(std::make_shared<LocalQueue>()) {}

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
    auto ex = co_await asio::this_coro::executor;
    if (auto waiter = local_->enter(key, ex)) {
        // Waiting in line is bounded like the retries in Redis would be.
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer limit(ex, retries_ * std::chrono::milliseconds(25));
        std::exception_ptr cancelled;
        bool timed_out = false;
        try {
            auto outcome = co_await (waiter->ready.async_receive(asio::use_awaitable) ||
                                     limit.async_wait(asio::use_awaitable));
            timed_out = outcome.index() == 1;
        } catch (...) {
            cancelled = std::current_exception();
        }
        if (cancelled || timed_out) {
            // Still queued: leave the queue; else the turn came meanwhile: pass it on.
            if (!local_->abandon(key, waiter)) local_->leave(key);
            if (cancelled) std::rethrow_exception(cancelled);
            lock_counter("failed").inc();
            co_return std::nullopt;
        }
    }
    auto turn = std::make_shared<LocalTurn>(local_, key);
    const auto masters = masters_().size();
    for (int attempt = 0; attempt < retries_; ++attempt) {
        const std::string token = core::random_hex_id();
        const auto start = std::chrono::steady_clock::now();
        const auto ok = co_await try_all(key, token);
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        if (redlock_granted(ok, masters, ttl_, elapsed)) {
            lock_counter("acquired").inc();
            co_return Lock{key, token, redlock_validity(ttl_, elapsed), std::move(turn)};
        }
        if (ok > 0) co_await release_masters(key, token);
        lock_counter("busy").inc();
        asio::steady_timer timer(co_await asio::this_coro::executor, jitter());
        co_await timer.async_wait(asio::use_awaitable);
    }
    lock_counter("failed").inc();
    co_return std::nullopt;
}

asio::awaitable<void> Redlock::release(Lock lock) {
    co_await release_masters(lock.key, lock.token);
    if (lock.turn) lock.turn->leave();  // the next local waiter's turn
}

asio::awaitable<void> Redlock::release_masters(std::string key, std::string token) {
    for (redis::Client* master : masters_()) {
        try {
            std::vector<std::string> keys{key};
            std::vector<std::string> args{token};
            co_await master->eval(release_script(), std::move(keys), std::move(args));
        } catch (const core::InfraError&) {
            // The lease expires by itself on a master we cannot reach.
            continue;
        }
    }
}

}  // namespace emporium::inventory
