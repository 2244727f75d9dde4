#include "app/read_your_writes.hpp"

#include "core/log.hpp"
#include "redis/position.hpp"

#include <limits>

namespace emporium::app {

namespace asio = boost::asio;

namespace {

// A larger map than this is swept of expired entries on insert (a burst of writers).
constexpr std::size_t kSweepAbove = 100'000;

}  // namespace

ReadYourWrites::ReadYourWrites(PoolProvider primary,
                               ClientProvider redis,
                               redis::Keys keys,
                               std::chrono::milliseconds ttl)
    : primary_(std::move(primary)), redis_(std::move(redis)), keys_(std::move(keys)), ttl_(ttl) {}

std::string ReadYourWrites::key(std::int64_t user_id) const {
    return keys_.make("rw", user_id);
}

void ReadYourWrites::remember(std::int64_t user_id, db::Lsn lsn) {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    if (entries_.size() > kSweepAbove)
        std::erase_if(entries_, [&](const auto& e) { return e.second.expires <= now; });
    auto& e = entries_[user_id];
    if (e.expires <= now) e.lsn = 0;
    e.lsn = std::max(e.lsn, lsn);
    e.expires = now + ttl_;
}

db::Lsn ReadYourWrites::remembered(std::int64_t user_id) const {
    const auto now = Clock::now();
    std::lock_guard lock(mutex_);
    auto it = entries_.find(user_id);
    if (it == entries_.end() || it->second.expires <= now) return 0;
    return it->second.lsn;
}

asio::awaitable<db::Lsn> ReadYourWrites::record(std::int64_t user_id) {
    const auto lsn = co_await db::current_insert_lsn(primary_());
    remember(user_id, lsn);
    try {
        auto reply = co_await redis::raise_position(&redis_(), key(user_id), lsn, ttl_);
        if (reply.is_error())
            core::log::warn("write position not shared", {{"user_id", user_id}, {"error", reply.str}});
    } catch (const redis::RedisError& e) {
        core::log::warn("write position not shared", {{"user_id", user_id}, {"error", e.what()}});
    } catch (const redis::RedisTimeoutError& e) {
        core::log::warn("write position not shared", {{"user_id", user_id}, {"error", e.what()}});
    }
    co_return lsn;
}

asio::awaitable<db::Lsn> ReadYourWrites::lookup(std::int64_t user_id) {
    const auto local = remembered(user_id);
    db::Lsn shared = 0;
    try {
        shared = (co_await redis::read_position(&redis_(), key(user_id))).value_or(0);
    } catch (const redis::RedisError& e) {
        core::log::debug("write position unknown: reading from the primary",
                         {{"user_id", user_id}, {"error", e.what()}});
        shared = std::numeric_limits<db::Lsn>::max();
    } catch (const redis::RedisTimeoutError& e) {
        core::log::debug("write position unknown: reading from the primary",
                         {{"user_id", user_id}, {"error", e.what()}});
        shared = std::numeric_limits<db::Lsn>::max();
    }
    co_return std::max(local, shared);
}

namespace {

bool is_write(http::Verb v) {
    return v == http::Verb::post || v == http::Verb::put || v == http::Verb::patch ||
           v == http::Verb::delete_;
}

asio::awaitable<void> record_after(std::shared_ptr<ReadYourWrites> tracker,
                                   std::optional<std::int64_t> user_id,
                                   http::Verb method) {
    if (!user_id || !is_write(method)) co_return;
    co_await tracker->record(*user_id);
}

asio::awaitable<http::MiddlewareResult> look_up(std::shared_ptr<ReadYourWrites> tracker,
                                                http::RequestContext* ctx,
                                                bool replica_reads) {
    http::MiddlewareResult out;
    const auto method = ctx->request.method();
    const bool is_read = method == http::Verb::get || method == http::Verb::head;
    if (!is_read) {
        // A write's handler reads what it writes: never from a replica.
        ctx->read_after = std::numeric_limits<db::Lsn>::max();
    } else if (ctx->user_id) {
        // Only the operations declared to read replicas ask Redis; the others stay on the primary.
        ctx->read_after =
            replica_reads ? co_await tracker->lookup(*ctx->user_id) : std::numeric_limits<db::Lsn>::max();
    }
    co_return out;
}

}  // namespace

http::AfterHook read_your_writes_recorder(std::shared_ptr<ReadYourWrites> tracker) {
    return [tracker = std::move(tracker)](const http::RequestContext& ctx, const http::Response& /*res*/) {
        return record_after(tracker, ctx.user_id, ctx.request.method());
    };
}

http::Middleware read_your_writes_middleware(std::shared_ptr<ReadYourWrites> tracker) {
    return [tracker = std::move(tracker)](http::RequestContext& ctx, const http::Route& route) {
        return look_up(tracker, &ctx, route.operation->replica_reads);
    };
}

}  // namespace emporium::app
