#include "app/commands.hpp"
#include "app/jobs_wiring.hpp"
#include "app/orders_wiring.hpp"
#include "app/read_your_writes.hpp"
#include "app/wiring.hpp"
#include "auth/auth_routes.hpp"
#include "carts/carts_routes.hpp"
#include "catalog/catalog_routes.hpp"
#include "core/cpu_pool.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/spawn.hpp"
#include "db/pg.hpp"
#include "http/openapi.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "http/system_routes.hpp"
#include "http/web_routes.hpp"
#include "inventory/inventory_routes.hpp"
#include "jobs/jobs_routes.hpp"
#include "notify/notify_routes.hpp"
#include "orders/orders_routes.hpp"
#include "payments/payments_routes.hpp"
#include "promotions/promotions_pricer.hpp"
#include "promotions/promotions_routes.hpp"
#include "ratelimit/rate_limit_middleware.hpp"
#include "recommend/recommend_routes.hpp"
#include "redis/redis.hpp"
#include "shipping/shipping_routes.hpp"
#include "webhooks/webhooks_routes.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <thread>

namespace emporium::app {

std::string version() { return EMPORIUM_VERSION; }

namespace {

// POST /admin/recommendations/rebuild: the job the scheduler also enqueues, with an id of its own.
boost::asio::awaitable<std::string> enqueue_rebuild(std::shared_ptr<jobs::JobQueue> queue) {
    jobs::Job job;
    job.id = "manual:" + std::string(kRecommendRebuild) + ":" + core::random_hex_id();
    job.type = std::string(kRecommendRebuild);
    job.queue = "recommend";
    auto id = job.id;
    std::vector<jobs::Job> batch;
    batch.push_back(std::move(job));
    co_await queue->enqueue(std::move(batch));
    co_return id;
}

boost::asio::awaitable<void> probe_postgres(core::PerContext<db::Pool>* pools) { co_await pools->local().ping(); }
catalog::CatalogCache make_catalog_cache(const core::Config& config, core::PerContext<redis::Client>& clients) {
    catalog::CacheSettings settings;
    settings.enabled = config.cache.enabled;
    return {[r = &clients]() -> redis::Client& { return r->local(); }, redis::Keys(config.cache.key_prefix), settings};
}

boost::asio::awaitable<void> probe_redis(core::PerContext<redis::Client>* clients) { co_await clients->local().ping(); }

// Ready once the rank index has loaded (until then sort=rank would run the full-scan reference).
boost::asio::awaitable<void> probe_rank_index(std::shared_ptr<catalog::RankFeed> feed) {
    if (!feed->ready()) throw core::InfraError("the rank index is loading");
    co_return;
}

// Mirrors the queue statistics (kept in Redis, cluster-wide) into /metrics every few seconds.
boost::asio::awaitable<void> refresh_job_metrics(std::shared_ptr<jobs::JobQueue> queue, const std::atomic<bool>* stopping) {
    auto& metrics = core::Metrics::global();
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    while (!*stopping) {
        try {
            for (const auto& s : co_await queue->stats()) {
                const auto depth = [&](const char* state, std::int64_t v) {
                    metrics
                        .gauge("emporium_jobs_queue_depth", "Jobs per queue and state (pending, in_progress, delayed, dead)",
                               {{"queue", s.queue}, {"state", state}})
                        .set(v);
                };
                depth("pending", s.pending);
                depth("in_progress", s.in_progress);
                depth("delayed", s.delayed);
                depth("dead", s.dead);
                metrics
                    .gauge("emporium_jobs_oldest_age_ms", "Age of the oldest pending or running job per queue",
                           {{"queue", s.queue}})
                    .set(s.oldest_age_ms.value_or(0));
                for (const auto& [outcome, n] : s.outcomes) {
                    metrics
                        .gauge("emporium_jobs_settled", "Jobs settled cluster-wide since the queue was created, by outcome",
                               {{"queue", s.queue}, {"outcome", outcome}})
                        .set(n);
                }
            }
        } catch (const std::exception&) {
            // Redis is down: keep the last figures; /readyz reports the outage.
        }
        timer.expires_after(std::chrono::seconds(5));
        co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
}

// The pool of one I/O context, sampled on that context's thread (pools are not thread-safe).
boost::asio::awaitable<void> sample_pool(core::PerContext<db::Pool>* pools, std::size_t context, const std::atomic<bool>* stopping) {
    auto& metrics = core::Metrics::global();
    const auto label = std::to_string(context);
    auto& open = metrics.gauge("emporium_db_pool_connections", "PostgreSQL connections per I/O context and state",
                               {{"context", label}, {"state", "open"}});
    auto& leased = metrics.gauge("emporium_db_pool_connections", "PostgreSQL connections per I/O context and state",
                                 {{"context", label}, {"state", "in_use"}});
    auto& waiting = metrics.gauge("emporium_db_pool_waiting", "Callers waiting for a PostgreSQL connection",
                                  {{"context", label}});
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    while (!*stopping) {
        auto& pool = pools->local();
        open.set(static_cast<std::int64_t>(pool.size()));
        leased.set(static_cast<std::int64_t>(pool.in_use()));
        waiting.set(static_cast<std::int64_t>(pool.waiting()));
        timer.expires_after(std::chrono::seconds(1));
        co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
}

}  // namespace

int run_serve(const core::Config& config) {
    // Password hashing runs here, never on the I/O threads.
    core::CpuPool cpu(std::max(1U, std::thread::hardware_concurrency()));
    core::Runtime runtime(config.http.threads);
    core::PerContext<db::Pool> pools(runtime, [&](boost::asio::io_context& ctx, std::size_t) {
        return std::make_unique<db::Pool>(ctx.get_executor(), pool_options(config, runtime.size()));
    });
    core::PerContext<redis::Client> redis_clients(runtime, [&](boost::asio::io_context& ctx, std::size_t) {
        return std::make_unique<redis::Client>(ctx.get_executor(), redis_options(config));
    });
    // Read replicas (DATABASE_REPLICA_URLS): one set per I/O context beside its primary pool. Without
    // them nothing below is built and every read runs on the primary as before.
    std::unique_ptr<core::PerContext<db::ReplicaSet>> replica_sets;
    std::function<db::ReplicaSet*()> replicas;
    std::shared_ptr<ReadYourWrites> read_your_writes;
    if (!config.db.replica_urls.empty()) {
        replica_sets = std::make_unique<core::PerContext<db::ReplicaSet>>(
            runtime, [&](boost::asio::io_context& ctx, std::size_t i) {
                return std::make_unique<db::ReplicaSet>(
                    ctx.get_executor(), pools.at(i), replica_settings(config), std::to_string(i));
            });
        replicas = [r = replica_sets.get()]() -> db::ReplicaSet* { return &r->local(); };
        read_your_writes =
            std::make_shared<ReadYourWrites>([p = &pools]() -> db::Pool& { return p->local(); },
                                             [r = &redis_clients]() -> redis::Client& { return r->local(); },
                                             redis::Keys(config.cache.key_prefix));
    }

    http::Router router;
    http::OpenApi openapi("Emporium API", version());
    http::Api api(router, openapi);
    std::vector<http::ReadinessCheck> checks;
    checks.push_back({"postgres", [p = &pools] { return probe_postgres(p); }});
    checks.push_back({"redis", [r = &redis_clients] { return probe_redis(r); }});
    // sort=rank from the in-process rank index (RANKING_MODE=index), kept fresh from the change feed.
    std::shared_ptr<catalog::RankFeed> rank_feed;
    if (config.catalog.ranking_mode == "index") {
        catalog::RankFeedSettings feed_settings;
        feed_settings.cursor_ttl = config.catalog.cursor_ttl;
        feed_settings.notify = config.catalog.sync == "notify";
        feed_settings.listen_connection = pool_options(config, 1).connection;
        rank_feed = std::make_shared<catalog::RankFeed>(
            catalog::CatalogStore([p = &pools]() -> db::Pool& { return p->local(); }), cpu, feed_settings);
        checks.push_back({"rank_index", [f = rank_feed] { return probe_rank_index(f); }});
    }
    http::register_system_routes(router, openapi, std::move(checks), config.http.docs_dir,
                                 http::MetricsExposure{config.http.metrics_port == 0, config.http.metrics_token});
    http::register_web_routes(router, openapi,
                              config.http.web_dir.empty() ? http::default_web_dir() : config.http.web_dir);

    auto auth_settings = auth::AuthSettings::from_config(config.auth);
    if (auth_settings.jwt.secret.empty()) {
        auth_settings.jwt.secret = core::random_hex_id() + core::random_hex_id();
        core::log::warn(
            "JWT_SECRET is not set: using a random key for this process only; tokens will not work "
            "across processes or restarts. Set JWT_SECRET in production.");
    }
    auto auth_service = std::make_shared<auth::AuthService>(
        std::move(auth_settings), auth::AuthStore([p = &pools]() -> db::Pool& { return p->local(); }), cpu);
    auth::register_routes(api, auth_service);
    // The in-process product layer and the channel that keeps it in step with every server's writes.
    std::shared_ptr<catalog::LocalProductCache> local_cache;
    std::shared_ptr<redis::Subscriber> invalidations;
    if (config.cache.enabled && config.cache.local_ttl.count() > 0) {
        catalog::LocalCacheSettings local_settings;
        local_settings.ttl = config.cache.local_ttl;
        local_settings.capacity = static_cast<std::size_t>(config.cache.local_capacity);
        local_cache = std::make_shared<catalog::LocalProductCache>(local_settings);
        invalidations = std::make_shared<redis::Subscriber>(runtime.context(0).get_executor(), redis_options(config));
    }
    auto catalog_service = std::make_shared<catalog::CatalogService>(
        catalog::CatalogStore([p = &pools]() -> db::Pool& { return p->local(); }, replicas),
        make_catalog_cache(config, redis_clients),
        rank_feed,
        catalog::CatalogSettings{},
        local_cache);
    catalog::register_routes(api, catalog_service);

    // Redlock masters: REDIS_LOCK_URLS, or the main Redis alone.
    std::vector<std::unique_ptr<core::PerContext<redis::Client>>> lock_masters;
    for (const auto& url : config.inventory.lock_urls) {
        auto options = redis_options(config);
        options.url = url;
        lock_masters.push_back(std::make_unique<core::PerContext<redis::Client>>(
            runtime, [options](boost::asio::io_context& ctx, std::size_t) {
                return std::make_unique<redis::Client>(ctx.get_executor(), options);
            }));
    }
    auto redlock = std::make_shared<inventory::Redlock>(
        [m = &lock_masters, r = &redis_clients] {
            std::vector<redis::Client*> out;
            for (auto& per_context : *m) out.push_back(&per_context->local());
            if (out.empty()) out.push_back(&r->local());
            return out;
        },
        config.inventory.lock_ttl,
        config.inventory.lock_retries);
    auto inventory_service = std::make_shared<inventory::InventoryService>(
        inventory_settings(config),
        inventory::InventoryStore([p = &pools]() -> db::Pool& { return p->local(); }),
        [r = &redis_clients]() -> redis::Client& { return r->local(); },
        redis::Keys(config.rate_limit.key_prefix),
        std::move(redlock),
        catalog_service);
    // The catalog's stock changes (admin updates, new products) reach the Redis stock mirror.
    catalog_service->on_stock_change(inventory::mirror_follower(inventory_service));
    auto orders_service = std::make_shared<orders::OrdersService>(
        orders_settings(config), orders::OrdersStore([p = &pools]() -> db::Pool& { return p->local(); }), inventory_service);
    orders_service->set_pricer(std::make_shared<promotions::PromotionsPricer>(
        promotions::PromotionsStore([p = &pools]() -> db::Pool& { return p->local(); }),
        shipping::ShippingStore([p = &pools]() -> db::Pool& { return p->local(); }),
        config.inventory.prices_include_tax));
    orders::register_routes(api, orders_service);
    inventory::register_routes(api, inventory_service);
    auto carts_service = std::make_shared<carts::CartsService>(
        carts_settings(config), carts::CartsStore([p = &pools]() -> db::Pool& { return p->local(); }), inventory_service,
        orders_service);
    carts::register_routes(api, carts_service);
    auth_service->on_login(carts::login_merger(carts_service));
    shipping::register_routes(api, std::make_shared<shipping::ShippingService>(shipping::ShippingStore(
                                       [p = &pools]() -> db::Pool& { return p->local(); })));
    promotions::register_routes(api, std::make_shared<promotions::PromotionsService>(promotions::PromotionsStore(
                                         [p = &pools]() -> db::Pool& { return p->local(); })));
    webhooks::register_routes(api, std::make_shared<webhooks::WebhooksService>(
                                       webhooks::WebhooksStore([p = &pools]() -> db::Pool& { return p->local(); }),
                                       webhooks_settings(config), nullptr));
    // The API only records payment requests and webhook outcomes; the worker charges the provider.
    payments::register_routes(api,
                              std::make_shared<payments::PaymentsService>(
                                  payments_settings(config),
                                  payments::PaymentsStore([p = &pools]() -> db::Pool& { return p->local(); }),
                                  orders_service,
                                  nullptr));
    auto job_queue = std::make_shared<jobs::JobQueue>([r = &redis_clients]() -> redis::Client& { return r->local(); },
                                                      redis::Keys(config.jobs.key_prefix));
    job_queue->require_replica_acks(config.jobs.enqueue_replica_acks, config.jobs.enqueue_ack_timeout);
    recommend::register_routes(
        api,
        std::make_shared<recommend::RecommendService>(
            recommend_settings(config),
            recommend::RecommendStore([p = &pools]() -> db::Pool& { return p->local(); }, replicas),
            [r = &redis_clients]() -> redis::Client& { return r->local(); },
            redis::Keys(config.cache.key_prefix),
            catalog_service),
        [job_queue] { return enqueue_rebuild(job_queue); });
    jobs::register_routes(api, job_queue);
    notify::register_routes(api,
                            std::make_shared<notify::NotifyService>(
                                notify_settings(config),
                                notify::NotifyStore([p = &pools]() -> db::Pool& { return p->local(); }),
                                notify::make_mailer(mail_settings(config)),
                                cpu));
    auto limiter = std::make_shared<ratelimit::RateLimiter>(
        [r = &redis_clients]() -> redis::Client& { return r->local(); },
        redis::Keys(config.rate_limit.key_prefix));

    http::Server server(runtime, config.http, router);
    // Order matters: rate limiting first (cheap rejection of floods, including bad tokens), then auth.
    server.use(ratelimit::make_rate_limit_middleware(
        limiter, config.rate_limit, auth::bearer_user_resolver(auth_service)));
    server.use(auth::make_auth_middleware(auth_service));
    if (read_your_writes) {
        // After authentication (it needs the user); the recorder runs before a write's answer is sent.
        server.use(read_your_writes_middleware(read_your_writes));
        server.after(read_your_writes_recorder(read_your_writes));
    }
    std::uint16_t port = 0;
    try {
        port = server.start();
    } catch (const std::system_error& e) {
        core::log::error("cannot listen", {{"host", config.http.host}, {"port", config.http.port}, {"error", e.what()}});
        return 1;
    }
    std::string base = "http://" + config.http.host + ":" + std::to_string(port);
    core::log::info("listening", {{"url", base}, {"docs", base + "/docs/"}, {"threads", runtime.size()}});
    // One plain line on stdout for scripts and humans (the port when HTTP_PORT=0).
    std::cout << "emporium listening on " << base << " (API docs: " << base << "/docs/)" << std::endl;

    std::unique_ptr<http::MetricsListener> metrics_port;
    try {
        metrics_port = start_metrics(runtime.context(0).get_executor(), config, "serve");
    } catch (const std::exception& e) {
        core::log::error("cannot listen", {{"host", config.http.metrics_host}, {"port", config.http.metrics_port},
                                           {"error", e.what()}});
        return 1;
    }

    std::atomic<bool> stopping{false};
    core::spawn_tracked(runtime.context(0).get_executor(), refresh_job_metrics(job_queue, &stopping), "jobs.metrics");
    if (rank_feed) {
        core::spawn_tracked(runtime.context(0).get_executor(), rank_feed->maintain(), "rank.maintain");
        core::spawn_tracked(runtime.context(0).get_executor(), rank_feed->listen(), "rank.listen");
    }
    if (local_cache) {
        core::spawn_tracked(runtime.context(0).get_executor(),
                            catalog::listen_for_invalidations(local_cache,
                                                              invalidations,
                                                              catalog::invalidation_channel(redis::Keys(config.cache.key_prefix)),
                                                              &stopping),
                            "catalog.invalidations");
    }
    for (std::size_t i = 0; i < runtime.size(); ++i) {
        core::spawn_tracked(runtime.context(i).get_executor(), sample_pool(&pools, i, &stopping), "db.pool.metrics");
        if (replica_sets) {
            core::spawn_tracked(
                runtime.context(i).get_executor(), replica_sets->at(i).run(), "db.replicas.sampler");
        }
    }
    if (replica_sets) {
        core::log::info(
            "read replicas",
            {{"replicas", config.db.replica_urls.size()}, {"max_lag_ms", config.db.replica_max_lag.count()}});
    }
    boost::asio::signal_set signals(runtime.context(0), SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        stopping = true;
        if (rank_feed) rank_feed->stop();
        if (metrics_port) metrics_port->stop();
        core::log::info("shutting down", {{"signal", signo}, {"open_connections", server.active_connections()}});
        if (replica_sets) {
            for (auto& s : *replica_sets) s->stop();
        }
        server.shutdown([&] {
            if (replica_sets) {
                for (auto& s : *replica_sets) s->close();
            }
            for (auto& p : pools) p->close();
            for (auto& r : redis_clients) r->close();
            if (invalidations) invalidations->close();
            for (auto& m : lock_masters) {
                for (auto& r : *m) r->close();
            }
            runtime.release_work();
            runtime.stop();
        });
    });
    runtime.run();
    cpu.join();
    core::log::info("stopped");
    return 0;
}

}  // namespace emporium::app
