#pragma once
// Redlock (https://redis.io/docs/manual/patterns/distributed-locks/) over N independent Redis
// masters: SET key token NX PX ttl on each, success when a majority answered OK and time is left
// (validity = ttl − elapsed − drift, drift = ttl/100 + 2 ms); release is token-checked in Lua so a
// lock that expired and was taken by someone else is never deleted. Bounded retries with jitter.
// Inside one process the contenders for a key first queue locally (FIFO): only the head of the
// queue asks Redis, and a release hands the key straight to the next local waiter instead of
// leaving it to a retry timer.

#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emporium::inventory {

// Majority of `masters` (n/2 + 1).
std::size_t redlock_quorum(std::size_t masters);
// Clock drift allowance for a lease of `ttl`: ttl/100 + 2 ms.
std::chrono::milliseconds redlock_drift(std::chrono::milliseconds ttl);
// Time the lock is still safely held after acquisition took `elapsed` (≤ 0: not held).
std::chrono::milliseconds redlock_validity(std::chrono::milliseconds ttl, std::chrono::milliseconds elapsed);
// Whether `acquired` successes out of `masters` within `elapsed` make a lock.
bool redlock_granted(std::size_t acquired,
                     std::size_t masters,
                     std::chrono::milliseconds ttl,
                     std::chrono::milliseconds elapsed);

class LocalQueue;

// A place at the head of this process's queue for a key. leave() (once; also on destruction, so
// a holder that unwinds by an exception lets the next local waiter in too).
class LocalTurn {
public:
    LocalTurn(std::shared_ptr<LocalQueue> queue, std::string key) : queue_(std::move(queue)), key_(std::move(key)) {}
    LocalTurn(const LocalTurn&) = delete;
    LocalTurn& operator=(const LocalTurn&) = delete;
    ~LocalTurn() { leave(); }
    void leave();

private:
    std::shared_ptr<LocalQueue> queue_;
    std::string key_;
    std::atomic<bool> left_{false};
};

struct Lock {
    std::string key;
    std::string token;
    std::chrono::milliseconds validity{0};
    std::shared_ptr<LocalTurn> turn;  // left by release()
};

class Redlock {
public:
    // The masters of the calling thread (one Client per master, owned elsewhere).
    using MastersProvider = std::function<std::vector<redis::Client*>()>;

    Redlock(MastersProvider masters, std::chrono::milliseconds ttl, int retries);

    // Tries up to `retries` times, 5..25 ms apart (after waiting at most retries × 25 ms for the
    // local contenders ahead); nullopt when the lock could not be had.
    // Redis failures on single masters count as refusals (a minority down is tolerated).
    boost::asio::awaitable<std::optional<Lock>> acquire(std::string key);
    // Deletes the key on every master where it still carries our token.
    boost::asio::awaitable<void> release(Lock lock);
    // The first master (fencing counters live there).
    redis::Client& primary() const;

private:
    boost::asio::awaitable<std::size_t> try_all(std::string key, std::string token);
    boost::asio::awaitable<void> release_masters(std::string key, std::string token);

    MastersProvider masters_;
    std::chrono::milliseconds ttl_;
    int retries_;
    std::shared_ptr<LocalQueue> local_;
};

}  // namespace emporium::inventory
