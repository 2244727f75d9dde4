#pragma once
// Redlock (https://redis.io/docs/manual/patterns/distributed-locks/) over N independent Redis
// masters: SET key token NX PX ttl on each, success when a majority answered OK and time is left
// (validity = ttl − elapsed − drift, drift = ttl/100 + 2 ms); release is token-checked in Lua so a
// lock that expired and was taken by someone else is never deleted. Bounded retries with jitter.

#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
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

struct Lock {
    std::string key;
    std::string token;
    std::chrono::milliseconds validity{0};
};

class Redlock {
public:
    // The masters of the calling thread (one Client per master, owned elsewhere).
    using MastersProvider = std::function<std::vector<redis::Client*>()>;

    Redlock(MastersProvider masters, std::chrono::milliseconds ttl, int retries);

    // Tries up to `retries` times, 5..25 ms apart; nullopt when the lock could not be had.
    // Redis failures on single masters count as refusals (a minority down is tolerated).
    boost::asio::awaitable<std::optional<Lock>> acquire(std::string key);
    // Deletes the key on every master where it still carries our token.
    boost::asio::awaitable<void> release(Lock lock);
    // The first master (fencing counters live there).
    redis::Client& primary() const;

private:
    boost::asio::awaitable<std::size_t> try_all(std::string key, std::string token);

    MastersProvider masters_;
    std::chrono::milliseconds ttl_;
    int retries_;
};

}  // namespace emporium::inventory
