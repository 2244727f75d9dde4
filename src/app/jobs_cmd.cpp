// `emporium worker` (jobs and the outbox relay) and `emporium scheduler` (periodic entries).
#include "app/commands.hpp"
#include "app/jobs_wiring.hpp"
#include "app/orders_wiring.hpp"
#include "app/wiring.hpp"
#include "core/cpu_pool.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/spawn.hpp"
#include "jobs/scheduler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <thread>

namespace emporium::app {

namespace {

namespace asio = boost::asio;

// An integer member of a job's payload; 0 when it is absent or not an integer.
std::int64_t payload_int(const jobs::Job& job, std::string_view name) {
    const auto* value = job.payload.if_contains(name);
    return value != nullptr && value->is_int64() ? value->get_int64() : 0;
}

std::int64_t order_id_of(const jobs::Job& job) { return payload_int(job, "order_id"); }

core::Error no_order_id(const jobs::Job& job) {
    return core::make_error(core::Errc::kValidation, "job " + job.id + " has no order_id");
}

// The handlers, bound to the services they call. Plain functions (not capturing lambda
// coroutines) so the services outlive every frame.
asio::awaitable<core::Result<void>> send_confirmation(std::shared_ptr<notify::NotifyService> notify, jobs::Job job) {
    const auto id = order_id_of(job);
    if (id <= 0) co_return no_order_id(job);
    co_return co_await notify->send_order_confirmation(id);
}

asio::awaitable<core::Result<void>> render_receipt(std::shared_ptr<notify::NotifyService> notify, jobs::Job job) {
    const auto id = order_id_of(job);
    if (id <= 0) co_return no_order_id(job);
    co_return co_await notify->render_receipt(id);
}

std::int64_t payment_id_of(const jobs::Job& job) { return payload_int(job, "payment_id"); }

asio::awaitable<core::Result<void>> capture_payment(std::shared_ptr<payments::PaymentsService> payments, jobs::Job job) {
    const auto id = payment_id_of(job);
    if (id <= 0) co_return core::make_error(core::Errc::kValidation, "job " + job.id + " has no payment_id");
    co_return co_await payments->capture(id, job.attempt);
}

asio::awaitable<core::Result<void>> execute_refund(std::shared_ptr<payments::PaymentsService> payments, jobs::Job job) {
    const auto refund_id = payload_int(job, "refund_id");
    if (refund_id <= 0) co_return core::make_error(core::Errc::kValidation, "job " + job.id + " has no refund_id");
    co_return co_await payments->execute_refund(refund_id, job.attempt);
}

asio::awaitable<core::Result<void>> deliver_webhook(std::shared_ptr<webhooks::WebhooksService> webhooks, jobs::Job job) {
    const auto delivery_id = payload_int(job, "delivery_id");
    if (delivery_id <= 0) co_return core::make_error(core::Errc::kValidation, "job " + job.id + " has no delivery_id");
    const auto replay = static_cast<std::int32_t>(payload_int(job, "replay"));
    co_return co_await webhooks->deliver(delivery_id, replay, job.attempt);
}

asio::awaitable<core::Result<void>> settle_payment(std::shared_ptr<payments::PaymentsService> payments, jobs::Job job) {
    const auto id = payment_id_of(job);
    if (id <= 0) co_return core::make_error(core::Errc::kValidation, "job " + job.id + " has no payment_id");
    co_return co_await payments->settle(id);
}

asio::awaitable<core::Result<void>> rebuild_recommendations(std::shared_ptr<recommend::RecommendService> service, jobs::Job /*job*/) {
    auto report = co_await service->rebuild();
    if (!report && report.error().code == core::Errc::kConflict) {
        core::log::info("recommendations rebuild skipped: another one is running");
        co_return core::Result<void>{};
    }
    if (!report) co_return report.error();
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> bump_recommendations(std::shared_ptr<recommend::RecommendService> service, jobs::Job job) {
    const auto id = order_id_of(job);
    if (id <= 0) co_return no_order_id(job);
    co_return co_await service->on_order_paid(id);
}

asio::awaitable<core::Result<void>> expire_carts(std::shared_ptr<carts::CartsService> carts, jobs::Job /*job*/) {
    const auto released = co_await carts->expire_due();
    if (released > 0) core::log::info("released expired cart holds and carts", {{"count", released}});
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> expire_orders(std::shared_ptr<orders::OrdersService> orders, jobs::Job /*job*/) {
    const auto expired = co_await orders->expire_due();
    const auto purged = co_await orders->purge_idempotency_keys();
    if (expired > 0 || purged > 0) {
        core::log::info("expired unpaid orders", {{"orders", expired}, {"idempotency_keys_purged", purged}});
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<void>> sweep_outbox(std::shared_ptr<jobs::OutboxRelay> relay,
                                                 std::int64_t retention_days,
                                                 jobs::Job /*job*/) {
    const auto published = co_await relay->publish_pending();
    const auto purged = co_await relay->purge_published(retention_days);
    if (published > 0 || purged > 0) {
        core::log::info("outbox sweep", {{"published", published}, {"purged", purged}});
    }
    co_return core::Result<void>{};
}

// Deletes catalog change-feed rows older than the retention (the rank indexes read them).
asio::awaitable<core::Result<void>> purge_catalog_changes(catalog::CatalogStore store,
                                                          std::chrono::seconds retention,
                                                          jobs::Job /*job*/) {
    const auto purged =
        co_await store.purge_rank_changes(std::chrono::duration_cast<std::chrono::microseconds>(retention).count());
    if (purged > 0) core::log::info("catalog change feed purged", {{"rows", purged}});
    co_return core::Result<void>{};
}

// Does nothing. A payload with "probe_ms" (epoch ms when the work was committed) makes it record
// the delay until it started in the list <prefix>jobs:probe (benchmarks read it).
asio::awaitable<core::Result<void>> noop(redis::Client* redis, std::string probe_key, jobs::Job job) {
    const auto* probe = job.payload.if_contains("probe_ms");
    if (probe != nullptr && probe->is_int64()) {
        const auto delay = jobs::now_ms() - probe->get_int64();
        std::vector<std::vector<std::string>> commands;
        commands.push_back(redis::cmd("RPUSH", probe_key, std::to_string(delay)));
        commands.push_back(redis::cmd("LTRIM", probe_key, "-1000000", "-1"));
        co_await redis->pipeline(std::move(commands));
    }
    co_return core::Result<void>{};
}

asio::awaitable<void> enqueue_one(std::shared_ptr<jobs::JobQueue> queue, jobs::Job job) {
    std::vector<jobs::Job> batch;
    batch.push_back(std::move(job));
    co_await queue->enqueue(std::move(batch));
}

asio::awaitable<void> promote(std::shared_ptr<jobs::JobQueue> queue) {
    co_await queue->promote_due(jobs::now_ms());
}

asio::awaitable<void> run_scheduler_until_stopped(jobs::Scheduler* scheduler, std::function<void()> done) {
    co_await scheduler->run();
    done();
}

std::string consumer_name() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
    return std::string(host.data()) + ":" + std::to_string(::getpid()) + ":" + core::random_hex_id().substr(0, 8);
}

asio::awaitable<void> run_worker_tasks(std::shared_ptr<jobs::Worker> worker,
                                       std::shared_ptr<jobs::OutboxRelay> relay,
                                       std::chrono::milliseconds drain,
                                       std::function<void()> done) {
    if (relay) core::spawn_tracked(co_await asio::this_coro::executor, relay->run(), "outbox.relay");
    co_await worker->run(drain);
    if (relay) relay->stop();
    done();
}

}  // namespace

int run_worker(const core::Config& config, const WorkerOptions& options) {
    jobs::WorkerSettings settings;
    settings.queues = !options.queues.empty()                ? options.queues
                      : !config.jobs.worker_queues.empty() ? config.jobs.worker_queues
                                                           : settings.queues;
    for (const auto& q : settings.queues) {
        if (!jobs::is_queue(q)) {
            std::cerr << "worker: unknown queue '" << q << "'\n";
            return 2;
        }
    }
    settings.concurrency = options.concurrency > 0 ? options.concurrency : config.jobs.worker_concurrency;
    settings.consumer = consumer_name();
    settings.visibility_timeout = config.jobs.visibility_timeout;
    settings.handler_delay = config.jobs.handler_delay;
    settings.policies = retry_policies(config);

    asio::io_context ctx;
    core::CpuPool cpu(std::max(2U, std::thread::hardware_concurrency()));
    OrdersStack stack(ctx.get_executor(), config);
    auto* pool = stack.pool.get();
    auto* redis = stack.redis.get();
    auto queue = std::make_shared<jobs::JobQueue>([redis]() -> redis::Client& { return *redis; },
                                                  redis::Keys(config.jobs.key_prefix));
    queue->require_replica_acks(config.jobs.enqueue_replica_acks, config.jobs.enqueue_ack_timeout);
    std::shared_ptr<notify::Mailer> mailer = notify::make_mailer(mail_settings(config));
    auto notify_service = std::make_shared<notify::NotifyService>(
        notify_settings(config), notify::NotifyStore([pool]() -> db::Pool& { return *pool; }), mailer, cpu);
    // The relay object also serves the outbox.sweep job; it only LISTENs when `relay_running`.
    auto relay = std::make_shared<jobs::OutboxRelay>([pool]() -> db::Pool& { return *pool; },
                                                     pool_options(config, 1).connection, queue, event_routes(),
                                                     relay_settings(config));
    const bool relay_running = !options.no_relay;
    auto webhooks_service = std::make_shared<webhooks::WebhooksService>(
        webhooks::WebhooksStore([pool]() -> db::Pool& { return *pool; }), webhooks_settings(config),
        std::make_shared<webhooks::Sender>(sender_settings(config)));
    relay->set_fanout([w = webhooks_service](db::Transaction& tx, std::vector<jobs::OutboxEvent> events) {
        return w->fan_out(tx, std::move(events));
    });

    auto worker = std::make_shared<jobs::Worker>(ctx.get_executor(), settings, queue, redis_options(config));
    worker->handle(std::string(kEmailOrderConfirmation),
                   [n = notify_service](jobs::Job job) { return send_confirmation(n, std::move(job)); });
    worker->handle(std::string(kReceiptRender),
                   [n = notify_service](jobs::Job job) { return render_receipt(n, std::move(job)); });
    worker->handle(std::string(kOrdersExpire),
                   [o = stack.orders](jobs::Job job) { return expire_orders(o, std::move(job)); });
    worker->handle(std::string(kCartsExpire),
                   [c = stack.carts](jobs::Job job) { return expire_carts(c, std::move(job)); });
    worker->handle(std::string(kOutboxSweep), [r = relay, days = config.jobs.outbox_retention_days](jobs::Job job) {
        return sweep_outbox(r, days, std::move(job));
    });
    auto payments_service = std::make_shared<payments::PaymentsService>(
        payments_settings(config), payments::PaymentsStore([pool]() -> db::Pool& { return *pool; }), stack.orders,
        payment_provider(config, cpu));
    worker->handle(std::string(payments::kCaptureJob),
                   [p = payments_service](jobs::Job job) { return capture_payment(p, std::move(job)); });
    worker->handle(std::string(payments::kSettleJob),
                   [p = payments_service](jobs::Job job) { return settle_payment(p, std::move(job)); });
    worker->handle(std::string(payments::kRefundJob),
                   [p = payments_service](jobs::Job job) { return execute_refund(p, std::move(job)); });
    worker->handle(std::string(webhooks::kDeliverJob),
                   [w = webhooks_service](jobs::Job job) { return deliver_webhook(w, std::move(job)); });
    auto recommend_service = std::make_shared<recommend::RecommendService>(
        recommend_settings(config), recommend::RecommendStore([pool]() -> db::Pool& { return *pool; }),
        [redis]() -> redis::Client& { return *redis; }, redis::Keys(config.cache.key_prefix), nullptr);
    worker->handle(std::string(kRecommendRebuild),
                   [r = recommend_service](jobs::Job job) { return rebuild_recommendations(r, std::move(job)); });
    worker->handle(std::string(kRecommendOrderPaid),
                   [r = recommend_service](jobs::Job job) { return bump_recommendations(r, std::move(job)); });
    worker->handle(std::string(kCatalogPurgeChanges),
                   [store = catalog::CatalogStore([pool]() -> db::Pool& { return *pool; }),
                    retention = config.catalog.changes_retention](jobs::Job job) {
                       return purge_catalog_changes(store, retention, std::move(job));
                   });
    worker->handle(std::string(kNoop), [redis, probe = redis::Keys(config.jobs.key_prefix).make("jobs", "probe")](
                                           jobs::Job job) { return noop(redis, probe, std::move(job)); });

    const auto metrics_port = start_metrics(ctx.get_executor(), config, "worker");
    core::log::info("worker starting", {{"mailer", mailer->describe()}, {"relay", relay_running}});
    std::cout << "emporium worker running (consumer " << settings.consumer << ")" << std::endl;

    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        core::log::info("worker shutting down", {{"signal", signo}, {"running", worker->running()}});
        worker->stop();
        relay->stop();
        if (metrics_port) metrics_port->stop();
    });
    bool finished = false;
    core::spawn_tracked(ctx.get_executor(),
                        run_worker_tasks(worker, relay_running ? relay : nullptr, config.jobs.drain_timeout, [&] {
                            finished = true;
                            signals.cancel();
                            stack.close();
                            ctx.stop();
                        }),
                        "worker");
    ctx.run();
    cpu.join();
    return finished ? 0 : 1;
}

int run_scheduler(const core::Config& config) {
    auto parse = [](const std::string& key, const std::string& text) {
        auto s = jobs::Schedule::parse(text);
        if (!s) throw core::ConfigError(key + ": " + s.error().message);
        return *s;
    };
    asio::io_context ctx;
    redis::Client redis(ctx.get_executor(), redis_options(config));
    auto queue = std::make_shared<jobs::JobQueue>([r = &redis]() -> redis::Client& { return *r; },
                                                  redis::Keys(config.jobs.key_prefix));
    queue->require_replica_acks(config.jobs.enqueue_replica_acks, config.jobs.enqueue_ack_timeout);
    // A periodic job: its id names the period, so a duplicate is recognisable.
    auto enqueue = [queue](const std::string& type, const std::string& queue_name = "default") {
        return [queue, type, queue_name](std::int64_t slot) -> asio::awaitable<void> {
            jobs::Job job;
            job.id = "sched:" + type + ":" + std::to_string(slot);
            job.type = type;
            job.queue = queue_name;
            job.payload = boost::json::object{{"slot", slot}};
            return enqueue_one(queue, std::move(job));
        };
    };
    std::vector<jobs::ScheduleEntry> entries;
    entries.push_back({std::string(kOrdersExpire), parse("SCHEDULE_EXPIRE_ORDERS", config.jobs.schedule_expire_orders),
                       enqueue(std::string(kOrdersExpire))});
    entries.push_back({std::string(kCartsExpire), parse("SCHEDULE_EXPIRE_CARTS", config.jobs.schedule_expire_carts),
                       enqueue(std::string(kCartsExpire))});
    entries.push_back({std::string(kOutboxSweep), parse("SCHEDULE_OUTBOX_SWEEP", config.jobs.schedule_outbox_sweep),
                       enqueue(std::string(kOutboxSweep))});
    entries.push_back({std::string(kRecommendRebuild), parse("SCHEDULE_RECOMMEND", config.jobs.schedule_recommend),
                       enqueue(std::string(kRecommendRebuild), "recommend")});
    entries.push_back({std::string(kCatalogPurgeChanges),
                       parse("SCHEDULE_CATALOG_PURGE", config.jobs.schedule_catalog_purge),
                       enqueue(std::string(kCatalogPurgeChanges))});
    entries.push_back({"jobs.promote", parse("SCHEDULE_PROMOTE", config.jobs.schedule_promote),
                       [queue](std::int64_t) { return promote(queue); }});
    jobs::SchedulerSettings settings;
    settings.leader_ttl = config.jobs.leader_ttl;
    jobs::Scheduler scheduler([r = &redis]() -> redis::Client& { return *r; }, redis::Keys(config.jobs.key_prefix),
                              settings, std::move(entries));
    const auto metrics_port = start_metrics(ctx.get_executor(), config, "scheduler");
    std::cout << "emporium scheduler running (token " << scheduler.token() << ")" << std::endl;
    asio::signal_set signals(ctx, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        scheduler.stop();
        if (metrics_port) metrics_port->stop();
    });
    core::spawn_tracked(ctx.get_executor(), run_scheduler_until_stopped(&scheduler, [&] {
                            signals.cancel();
                            redis.close();
                            ctx.stop();
                        }),
                        "scheduler");
    ctx.run();
    return 0;
}

}  // namespace emporium::app
