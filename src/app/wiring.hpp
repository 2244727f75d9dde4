#pragma once

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/spawn.hpp"
#include "db/pg.hpp"
#include "db/replicas.hpp"
#include "http/metrics_listener.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <memory>

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

// The process's metrics port (METRICS_HOST:METRICS_PORT), accepting on `ex`; null when
// METRICS_PORT is 0. Prints "emporium <role> metrics on http://host:port/metrics". Throws
// boost::system::system_error when the port cannot be bound.
inline std::unique_ptr<http::MetricsListener> start_metrics(const boost::asio::any_io_executor& ex,
                                                            const core::Config& config,
                                                            const std::string& role) {
    if (config.http.metrics_port == 0) return nullptr;
    auto listener = std::make_unique<http::MetricsListener>(ex, config.http.metrics_host, config.http.metrics_port,
                                                            config.http.metrics_token);
    core::spawn_tracked(ex, listener->run(), "metrics.listener");
    const auto url = "http://" + config.http.metrics_host + ":" + std::to_string(listener->port()) + "/metrics";
    core::log::info("metrics port", {{"url", url}, {"token", !config.http.metrics_token.empty()}});
    std::cout << "emporium " << role << " metrics on " << url << std::endl;
    return listener;
}

// The read replicas of one I/O context (DATABASE_REPLICA_URLS and the REPLICA_* settings).
inline db::ReplicaSettings replica_settings(const core::Config& config) {
    db::ReplicaSettings s;
    s.urls = config.db.replica_urls;
    s.pool_size = config.db.replica_pool_size;
    s.max_lag = config.db.replica_max_lag;
    s.retry = config.db.replica_retry;
    s.sample_every = config.db.replica_sample;
    s.connect_timeout = config.db.connect_timeout;
    s.query_timeout = config.db.query_timeout;
    s.acquire_timeout = config.db.acquire_timeout;
    return s;
}

inline redis::ClientOptions redis_options(const core::Config& config) {
    redis::ClientOptions o;
    o.url = config.redis.url;
    o.command_timeout = config.redis.command_timeout;
    o.connect_timeout = config.redis.connect_timeout;
    return o;
}

// Runs a one-shot command's coroutine on a private io_context; returns its exit code, or 1 (with
// "<name> failed: …" on stderr) when it throws.
inline int run_command(boost::asio::awaitable<int> task, const char* name) {
    boost::asio::io_context ctx;
    std::exception_ptr failure;
    int code = 1;
    boost::asio::co_spawn(ctx, std::move(task), [&](std::exception_ptr e, int c) {
        failure = std::move(e);
        code = c;
    });
    ctx.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << name << " failed: " << e.what() << "\n";
            return 1;
        }
    }
    return code;
}

}  // namespace emporium::app
