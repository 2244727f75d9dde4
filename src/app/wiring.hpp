#pragma once

#include "core/config.hpp"
#include "db/pg.hpp"
#include "redis/redis.hpp"

#include <algorithm>

namespace emporium::app {

// The pool of one I/O context: DB_POOL_SIZE is split across the contexts.
inline db::PoolOptions pool_options(const core::Config& config, std::size_t contexts) {
    db::PoolOptions o;
    o.connection.url = config.db.url;
    o.connection.connect_timeout = config.db.connect_timeout;
    o.connection.query_timeout = config.db.query_timeout;
    o.connection.pipeline = true;
    o.max_size = std::max<std::size_t>(1, (config.db.pool_size + contexts - 1) / std::max<std::size_t>(1, contexts));
    o.acquire_timeout = config.db.acquire_timeout;
    return o;
}

inline redis::ClientOptions redis_options(const core::Config& config) {
    redis::ClientOptions o;
    o.url = config.redis.url;
    o.command_timeout = config.redis.command_timeout;
    o.connect_timeout = config.redis.connect_timeout;
    return o;
}

}  // namespace emporium::app
