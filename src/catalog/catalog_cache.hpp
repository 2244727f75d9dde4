#pragma once
// Cache-aside for catalog reads in Redis, with a single-flight rebuild lock.
//
// lookup(): GET the key; on a miss try `SET <key>:lock <token> NX PX lock_ttl`. The winner gets
// kLoad (it reads the database and calls fill()); the others poll the key for a short while, then
// fall back to the longer-lived stale copy, then to the database themselves (kMiss). Redis
// failures never fail a request: they count as a miss (kMiss) and the caller reads the database.
//
// Keys (all under the redis::Keys prefix): catalog:product:<id> (+ ":stale", ":lock") and
// catalog:list:<generation>:<hash> with catalog:list-stale:<hash>; catalog:gen is INCR'd by every
// product write, so list pages of an older generation are never read again.
//
// With read replicas, catalog:write-lsn holds the highest primary WAL position any product write
// reached before invalidating (raise_write_lsn, then invalidate_product, in that order). A fill
// reads it after winning the lock and reads the database only where that position has been
// replayed. A lock won after an invalidation therefore sees at least that write's position, and
// a lock won before it is deleted by it (the fill is then dropped): no cache entry is older than
// the write that last invalidated it.

#include "db/replicas.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace emporium::catalog {

struct CacheSettings {
    bool enabled = true;
    std::chrono::milliseconds product_ttl{60'000};
    std::chrono::milliseconds list_ttl{30'000};
    std::chrono::milliseconds jitter{15'000};  // random extra TTL in [0, jitter]
    std::chrono::milliseconds stale_ttl{600'000};
    std::chrono::milliseconds lock_ttl{3'000};
    std::chrono::milliseconds wait_step{10};
    int wait_steps = 20;  // losers poll for wait_step * wait_steps at most
};

struct CacheLookup {
    enum class Kind { kHit, kStale, kLoad, kMiss };
    Kind kind = Kind::kMiss;
    std::optional<std::string> value;  // kHit, kStale
    std::string lock_token;            // kLoad: pass to fill()
};

// Must be used from the thread of the Redis client the provider returns (one per I/O context).
class CatalogCache {
public:
    using ClientProvider = std::function<redis::Client&()>;

    // An empty provider disables the cache (every lookup is kMiss without touching Redis).
    CatalogCache(ClientProvider clients, redis::Keys keys, CacheSettings settings = {});

    bool enabled() const { return settings_.enabled && static_cast<bool>(clients_); }
    const CacheSettings& settings() const { return settings_; }

    std::string product_key(std::int64_t id) const;
    // The generation of list pages (0 when unset); nullopt when Redis is unavailable.
    boost::asio::awaitable<std::optional<std::int64_t>> generation();
    std::string list_key(std::int64_t generation, const std::string& query_hash) const;
    std::string list_stale_key(const std::string& query_hash) const;

    // `cache` labels the metric emporium_cache_requests_total{cache,result}.
    boost::asio::awaitable<CacheLookup> lookup(std::string cache, std::string key, std::string stale_key);
    // If the lock still holds `lock_token`: stores `value` (when given) under key (TTL + jitter)
    // and stale_key, and releases the lock. Otherwise (a write invalidated meanwhile) does nothing.
    boost::asio::awaitable<void> fill(std::string key,
                                      std::string stale_key,
                                      std::optional<std::string> value,
                                      std::chrono::milliseconds ttl,
                                      std::string lock_token);
    // After a product write: drops its entries and rebuild lock, bumps the list generation and
    // publishes the id on the invalidation channel (every process's in-process layer drops it).
    boost::asio::awaitable<void> invalidate_product(std::int64_t id);

    // Raises catalog:write-lsn to at least `lsn` (never lowers it). Redis failures are logged.
    boost::asio::awaitable<void> raise_write_lsn(db::Lsn lsn);
    // catalog:write-lsn; 0 when unset or the cache is disabled; the largest position (only the
    // primary qualifies) when Redis does not answer.
    boost::asio::awaitable<db::Lsn> write_lsn();

private:
    ClientProvider clients_;
    redis::Keys keys_;
    CacheSettings settings_;
};

}  // namespace emporium::catalog
