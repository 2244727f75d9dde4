#pragma once
// The in-process layer in front of the Redis product cache: a hot product costs no Redis round
// trip. Entries live `ttl` (short) and are dropped across servers at once by the invalidation
// channel: CatalogCache::invalidate_product publishes the product id, and every `serve` process
// listens (listen_for_invalidations) and evicts it. Pub/sub loses messages while disconnected, so
// the layer serves nothing until its listener is subscribed, and is emptied whenever the
// subscription is lost. Thread-safe (sharded mutexes; no lock is held across an await).

#include "catalog/catalog_types.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace emporium::catalog {

struct LocalCacheSettings {
    std::chrono::milliseconds ttl{2'000};  // 0 disables the layer
    std::size_t capacity = 100'000;        // products kept at most (per process)
};

class LocalProductCache {
public:
    explicit LocalProductCache(LocalCacheSettings settings = {});

    bool enabled() const { return settings_.ttl.count() > 0 && live_.load(std::memory_order_acquire); }
    // The cached product, if fresh (and the layer is live).
    std::shared_ptr<const Product> get(std::int64_t id) const;
    void put(std::shared_ptr<const Product> product);
    void evict(std::int64_t id);
    void clear();
    // Live while the invalidation channel is subscribed; going down empties the layer.
    void set_live(bool live);
    std::size_t size() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        std::shared_ptr<const Product> product;
        Clock::time_point expires;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::int64_t, Entry> entries;
    };
    static constexpr std::size_t kShards = 16;
    Shard& shard(std::int64_t id) const {
        return shards_[static_cast<std::size_t>(static_cast<std::uint64_t>(id) % kShards)];
    }

    LocalCacheSettings settings_;
    mutable std::array<Shard, kShards> shards_;
    std::atomic<bool> live_{false};
};

// The channel invalidate_product publishes on: "<prefix>catalog:invalidate".
std::string invalidation_channel(const redis::Keys& keys);

// Keeps `cache` in step with the invalidation channel until `*stopping`: subscribes (the layer is
// live from then on), evicts each published id, and on a lost connection empties the layer and
// waits for the subscriber to reconnect.
boost::asio::awaitable<void> listen_for_invalidations(std::shared_ptr<LocalProductCache> cache,
                                                      std::shared_ptr<redis::Subscriber> subscriber,
                                                      std::string channel,
                                                      const std::atomic<bool>* stopping);

}  // namespace emporium::catalog
