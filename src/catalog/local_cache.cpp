#include "catalog/local_cache.hpp"

#include "core/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <vector>

namespace emporium::catalog {

namespace asio = boost::asio;

LocalProductCache::LocalProductCache(LocalCacheSettings settings) : settings_(settings) {}

std::shared_ptr<const Product> LocalProductCache::get(std::int64_t id) const {
    if (!enabled()) return nullptr;
    auto& s = shard(id);
    std::lock_guard lock(s.mutex);
    auto it = s.entries.find(id);
    if (it == s.entries.end()) return nullptr;
    if (it->second.expires <= Clock::now()) {
        s.entries.erase(it);
        return nullptr;
    }
    return it->second.product;
}

void LocalProductCache::put(std::shared_ptr<const Product> product) {
    if (!enabled() || !product) return;
    const auto id = product->id;
    auto& s = shard(id);
    const auto now = Clock::now();
    std::lock_guard lock(s.mutex);
    if (s.entries.size() >= settings_.capacity / kShards + 1) {
        // Full: drop what expired; if that was nothing, start over (a cache, not a store).
        std::erase_if(s.entries, [now](const auto& kv) { return kv.second.expires <= now; });
        if (s.entries.size() >= settings_.capacity / kShards + 1) s.entries.clear();
    }
    s.entries.insert_or_assign(id, Entry{std::move(product), now + settings_.ttl});
}

void LocalProductCache::evict(std::int64_t id) {
    auto& s = shard(id);
    std::lock_guard lock(s.mutex);
    s.entries.erase(id);
}

void LocalProductCache::clear() {
    for (auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        s.entries.clear();
    }
}

void LocalProductCache::set_live(bool live) {
    if (!live) {
        live_.store(false, std::memory_order_release);
        clear();
        return;
    }
    clear();  // anything cached before the subscription may have missed its invalidation
    live_.store(true, std::memory_order_release);
}

std::size_t LocalProductCache::size() const {
    std::size_t n = 0;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        n += s.entries.size();
    }
    return n;
}

std::string invalidation_channel(const redis::Keys& keys) { return keys.make("catalog", "invalidate"); }

asio::awaitable<void> listen_for_invalidations(std::shared_ptr<LocalProductCache> cache,
                                               std::shared_ptr<redis::Subscriber> subscriber,
                                               std::string channel,
                                               const std::atomic<bool>* stopping) {
    constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
    auto backoff = kFirstBackoff;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    bool subscribed = false;
    while (!*stopping) {
        bool lost = false;
        try {
            if (!subscribed) {
                std::vector<std::string> channels{channel};
                co_await subscriber->subscribe(std::move(channels));
                subscribed = true;
                cache->set_live(true);
            }
            // A bounded wait, so a stop request is noticed.
            auto message = co_await subscriber->next(std::chrono::milliseconds(500));
            backoff = kFirstBackoff;
            std::int64_t id = 0;
            const auto& p = message.payload;
            auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), id);
            if (ec == std::errc{} && end == p.data() + p.size()) {
                cache->evict(id);
            } else {
                cache->clear();  // not an id: drop everything rather than guess
            }
        } catch (const redis::RedisTimeoutError&) {
            // No message within the wait: the connection is fine.
        } catch (const redis::RedisError& e) {
            // Lost: messages published meanwhile are gone. Serve nothing locally until the
            // subscriber has reconnected and re-subscribed (next() does both).
            cache->set_live(false);
            subscribed = false;
            if (*stopping) break;
            if (backoff == kFirstBackoff) {
                core::log::warn("catalog invalidation channel lost; the in-process product cache is off until it is back",
                                {{"error", e.what()}});
            }
            lost = true;
        }
        if (lost) {
            timer.expires_after(backoff);
            static_cast<void>(co_await timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            backoff = std::min(backoff * 2, std::chrono::milliseconds(2'000));
        }
    }
    cache->set_live(false);
}

}  // namespace emporium::catalog
