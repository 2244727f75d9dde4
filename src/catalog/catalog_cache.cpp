#include "catalog/catalog_cache.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "redis/position.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <limits>
#include <random>
#include <vector>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;

void count(const std::string& cache, const char* result) {
    core::Metrics::global()
        .counter("emporium_cache_requests_total",
                 "Catalog cache lookups by cache and result (hit, miss, stale)",
                 {{"cache", cache}, {"result", result}})
        .inc();
}

std::chrono::milliseconds with_jitter(std::chrono::milliseconds ttl, std::chrono::milliseconds jitter) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    if (jitter.count() <= 0) return ttl;
    std::uniform_int_distribution<std::int64_t> dist(0, jitter.count());
    return ttl + std::chrono::milliseconds(dist(rng));
}

// KEYS: lock, key, stale key (one hash tag: see CatalogCache::product_key and list_key). ARGV:
// token, "1" to store, value, ttl ms, stale ttl ms. Stores only while the caller still holds the
// lock: a write that invalidated in between deleted the lock, so a value read before that write's
// commit is never stored.
const redis::Script& fill_script() {
    static const redis::Script kScript(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[5])
end
redis.call('DEL', KEYS[1])
return 1
)lua");
    return kScript;
}

// KEYS: lock. ARGV: token.
const redis::Script& release_script() {
    static const redis::Script kScript(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");
    return kScript;
}

}  // namespace

CatalogCache::CatalogCache(ClientProvider clients, redis::Keys keys, CacheSettings settings)
    : clients_(std::move(clients)), keys_(std::move(keys)), settings_(settings) {}

// A cached value, its stale copy and its fill lock are written by one script: they share a hash
// tag, the product's ({p:<id>}) or the list query's ({l:<hash>}).
std::string CatalogCache::product_key(std::int64_t id) const {
    return keys_.tagged("p:" + std::to_string(id), "catalog", "product");
}

std::string CatalogCache::list_key(std::int64_t generation, const std::string& query_hash) const {
    return keys_.tagged("l:" + query_hash, "catalog", "list", generation);
}

std::string CatalogCache::list_stale_key(const std::string& query_hash) const {
    return keys_.tagged("l:" + query_hash, "catalog", "list-stale");
}

asio::awaitable<std::optional<std::int64_t>> CatalogCache::generation() {
    if (!enabled()) co_return std::nullopt;
    try {
        auto reply = co_await clients_().command(redis::cmd("GET", keys_.make("catalog", "gen")));
        if (reply.is_nil()) co_return 0;
        if (reply.is_error()) co_return std::nullopt;
        co_return reply.as_int();
    } catch (const redis::RedisError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    }
    co_return std::nullopt;
}

asio::awaitable<CacheLookup> CatalogCache::lookup(std::string cache, std::string key, std::string stale_key) {
    CacheLookup out;
    if (!enabled()) co_return out;
    try {
        auto& client = clients_();
        auto first = co_await client.command(redis::cmd("GET", key));
        if (first.type == redis::Reply::Type::kString) {
            count(cache, "hit");
            out.kind = CacheLookup::Kind::kHit;
            out.value = std::move(first.str);
            co_return out;
        }
        auto token = core::random_hex_id();
        auto lock = co_await client.command(
            redis::cmd("SET", key + ":lock", token, "NX", "PX", settings_.lock_ttl.count()));
        if (lock.is_ok()) {
            // Double-check: the previous holder may have filled the key between our GET and SET.
            auto again = co_await client.command(redis::cmd("GET", key));
            if (again.type == redis::Reply::Type::kString) {
                count(cache, "hit");
                auto keys = redis::cmd(key + ":lock");
                auto args = redis::cmd(token);
                redis::Script script = release_script();
                co_await client.eval(std::move(script), std::move(keys), std::move(args));
                out.kind = CacheLookup::Kind::kHit;
                out.value = std::move(again.str);
                co_return out;
            }
            count(cache, "miss");
            out.kind = CacheLookup::Kind::kLoad;
            out.lock_token = std::move(token);
            co_return out;
        }
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (int i = 0; i < settings_.wait_steps; ++i) {
            timer.expires_after(settings_.wait_step);
            co_await timer.async_wait(asio::use_awaitable);
            auto polled = co_await client.command(redis::cmd("GET", key));
            if (polled.type == redis::Reply::Type::kString) {
                count(cache, "hit");
                out.kind = CacheLookup::Kind::kHit;
                out.value = std::move(polled.str);
                co_return out;
            }
        }
        auto stale = co_await client.command(redis::cmd("GET", stale_key));
        if (stale.type == redis::Reply::Type::kString) {
            count(cache, "stale");
            out.kind = CacheLookup::Kind::kStale;
            out.value = std::move(stale.str);
            co_return out;
        }
    } catch (const redis::RedisError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    }
    count(cache, "miss");
    out = CacheLookup{};
    co_return out;
}

asio::awaitable<void> CatalogCache::fill(std::string key,
                                         std::string stale_key,
                                         std::optional<std::string> value,
                                         std::chrono::milliseconds ttl,
                                         std::string lock_token) {
    if (!enabled()) co_return;
    try {
        auto keys = redis::cmd(key + ":lock", key, stale_key);
        auto args = redis::cmd(lock_token,
                               value ? "1" : "0",
                               value.value_or(""),
                               with_jitter(ttl, settings_.jitter).count(),
                               settings_.stale_ttl.count());
        redis::Script script = fill_script();
        auto reply = co_await clients_().eval(std::move(script), std::move(keys), std::move(args));
        if (reply.is_error()) core::log::warn("catalog cache fill failed", {{"error", reply.str}});
    } catch (const redis::RedisError& e) {
        core::log::debug("catalog cache fill failed", {{"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::debug("catalog cache fill failed", {{"error", e.what()}});
    }
}

asio::awaitable<void> CatalogCache::invalidate_product(std::int64_t id) {
    if (!enabled()) co_return;
    try {
        const auto key = product_key(id);
        std::vector<std::vector<std::string>> commands;
        // Dropping the lock too makes an in-flight rebuild (which may have read the old row) skip
        // its fill.
        commands.push_back(redis::cmd("DEL", key, key + ":stale", key + ":lock"));
        commands.push_back(redis::cmd("INCR", keys_.make("catalog", "gen")));
        // Every process's in-process layer (local_cache.hpp) drops its copy.
        commands.push_back(redis::cmd("PUBLISH", keys_.make("catalog", "invalidate"), std::to_string(id)));
        co_await clients_().pipeline(std::move(commands));
    } catch (const redis::RedisError& e) {
        // Entries expire by TTL; nothing else to do (the cache is an optimisation).
        core::log::warn("catalog cache invalidation failed", {{"product_id", id}, {"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::warn("catalog cache invalidation failed", {{"product_id", id}, {"error", e.what()}});
    }
}

asio::awaitable<void> CatalogCache::raise_write_lsn(db::Lsn lsn) {
    if (!enabled()) co_return;
    try {
        auto reply = co_await redis::raise_position(&clients_(), keys_.make("catalog", "write-lsn"), lsn);
        if (reply.is_error()) core::log::warn("catalog write position not raised", {{"error", reply.str}});
    } catch (const redis::RedisError& e) {
        core::log::warn("catalog write position not raised", {{"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::warn("catalog write position not raised", {{"error", e.what()}});
    }
}

asio::awaitable<db::Lsn> CatalogCache::write_lsn() {
    if (!enabled()) co_return 0;
    try {
        co_return (co_await redis::read_position(&clients_(), keys_.make("catalog", "write-lsn")))
            .value_or(0);
    } catch (const redis::RedisError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::debug("catalog cache unavailable", {{"error", e.what()}});
    }
    // Unknown: only the primary is sure to be recent enough.
    co_return std::numeric_limits<db::Lsn>::max();
}

}  // namespace emporium::catalog
