#include "jobs/worker.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace emporium::jobs {

namespace asio = boost::asio;

namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(kAwaitTuple);
}

// The background loops sleep in slices this long, so that they notice the end of run() quickly.
constexpr std::chrono::milliseconds kLoopSlice{100};

// The next slice of a sleep until `next`: at most kLoopSlice, never past `next`.
std::chrono::milliseconds slice_until(Clock::time_point next) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    return std::clamp(left, std::chrono::milliseconds(1), kLoopSlice);
}

// Counts a background loop of the worker while it runs (see Worker::run).
struct LoopCount {
    explicit LoopCount(int& n) : n_(n) {}
    ~LoopCount() { --n_; }
    LoopCount(const LoopCount&) = delete;
    LoopCount& operator=(const LoopCount&) = delete;
    int& n_;
};

// The outcome of one handler run, shared between the handler and the timeout watchdog.
struct Race {
    explicit Race(const asio::any_io_executor& ex, std::chrono::milliseconds timeout) : timer(ex, timeout) {}
    asio::steady_timer timer;  // the job's deadline; cancelled when the handler returns
    bool done = false;         // the handler has returned
    bool timed_out = false;    // the deadline came first: the job was settled as failed
    std::optional<core::Error> error;
};

// Until the handler of `race` has returned.
asio::awaitable<void> wait_returned(std::shared_ptr<Race> race) {
    while (!race->done) {
        race->timer.expires_at(Clock::time_point::max());
        co_await race->timer.async_wait(kAwaitTuple);
    }
}

struct Outcome {
    bool ok = false;
    bool permanent = false;
    std::string error;
};

void count(const Job& job, std::string_view outcome) {
    core::Metrics::global()
        .counter("emporium_jobs_total", "Jobs settled by this worker, by queue, type and outcome",
                 {{"queue", job.queue}, {"type", job.type}, {"outcome", std::string(outcome)}})
        .inc();
}

}  // namespace

bool is_permanent(const core::Error& error) {
    switch (error.code) {
        case core::Errc::kValidation:
        case core::Errc::kBadRequest:
        case core::Errc::kNotFound:
        case core::Errc::kConflict:
        case core::Errc::kForbidden:
            return true;
        default:
            return false;
    }
}

Worker::Worker(const asio::any_io_executor& ex,
               WorkerSettings settings,
               std::shared_ptr<JobQueue> queue,
               redis::ClientOptions blocking_client)
    : ex_(ex),
      settings_(std::move(settings)),
      queue_(std::move(queue)),
      wakeup_(ex),
      rng_(std::random_device{}()) {
    settings_.concurrency = std::max(1, settings_.concurrency);
    for (std::size_t i = 0; i < settings_.queues.size(); ++i) {
        watchers_.push_back(std::make_unique<redis::Client>(ex, blocking_client));
        watcher_waits_.push_back(std::make_unique<asio::steady_timer>(ex));
    }
}

Worker::~Worker() = default;

void Worker::handle(std::string type, Handler handler) { handlers_[std::move(type)] = std::move(handler); }

void Worker::stop() {
    stopping_ = true;
    wake();
    // Ends the watchers' blocking reads now rather than after `block`.
    for (auto& w : watchers_) w->close();
    for (auto& t : watcher_waits_) t->cancel();
}

void Worker::wake() { wakeup_.cancel(); }

asio::awaitable<void> Worker::wait_for_slot() {
    while (!stopping_ && running_.size() >= static_cast<std::size_t>(settings_.concurrency)) {
        wakeup_.expires_after(std::chrono::seconds(1));
        co_await wakeup_.async_wait(kAwaitTuple);
    }
}

asio::awaitable<void> Worker::run(std::chrono::milliseconds drain) {
    while (!stopping_) {
        try {
            co_await queue_->ensure_groups();
            break;
        } catch (const std::exception& e) {
            core::log::warn("jobs: cannot reach Redis yet", {{"error", e.what()}});
        }
        wakeup_.expires_after(std::chrono::seconds(1));
        co_await wakeup_.async_wait(kAwaitTuple);
    }
    // Jobs the previous release left under the untagged names. A failure here does not keep the
    // worker from serving the new keys: the maintenance loop tries again every interval.
    if (!stopping_) {
        try {
            co_await queue_->migrate_legacy();
        } catch (const std::exception& e) {
            core::log::error("jobs: moving the jobs of the previous release failed; retrying later",
                             {{"error", e.what()}});
        }
    }
    loops_ += 2 + static_cast<int>(watchers_.size());  // counted down by the loops themselves when they end
    core::spawn_tracked(ex_, heartbeat_loop(), "jobs.heartbeat");
    core::spawn_tracked(ex_, maintenance_loop(), "jobs.maintenance");
    for (std::size_t i = 0; i < watchers_.size(); ++i) core::spawn_tracked(ex_, watch_loop(i), "jobs.watch");
    core::log::info("worker started", {{"consumer", settings_.consumer},
                                       {"concurrency", settings_.concurrency},
                                       {"queues", [&] {
                                            std::string s;
                                            for (const auto& q : settings_.queues) s += (s.empty() ? "" : ",") + q;
                                            return s;
                                        }()}});
    std::size_t first_queue = 0;
    while (!stopping_) {
        co_await wait_for_slot();
        if (stopping_) break;
        const auto free = static_cast<std::int64_t>(settings_.concurrency) - static_cast<std::int64_t>(running_.size());
        // A read pass: the watchers that rang may watch again, and whatever they saw is read now.
        rung_ = false;
        ++passes_;
        for (auto& t : watcher_waits_) t->cancel();
        std::vector<std::string> order;
        const auto n = settings_.queues.size();
        for (std::size_t i = 0; i < n; ++i) order.push_back(settings_.queues[(first_queue + i) % n]);
        first_queue = n == 0 ? 0 : (first_queue + 1) % n;
        std::vector<Job> jobs;
        bool failed = false;
        try {
            jobs = co_await queue_->read(settings_.consumer, std::move(order), free);
        } catch (const std::exception& e) {
            core::log::warn("jobs: read failed; retrying", {{"error", e.what()}});
            failed = true;
        }
        if (failed) {
            wakeup_.expires_after(std::chrono::seconds(1));
            co_await wakeup_.async_wait(kAwaitTuple);
            continue;
        }
        const bool idle = jobs.empty();
        for (auto& job : jobs) {
            running_.emplace(job.queue, job.stream_id);
            core::spawn_tracked(ex_, dispatch(std::move(job)), "jobs.dispatch");
        }
        if (idle && !rung_ && !stopping_) {
            // Nothing anywhere: until a watcher rings (or a slot frees up), at most `block`.
            wakeup_.expires_after(settings_.block);
            co_await wakeup_.async_wait(kAwaitTuple);
        }
    }
    // Finish what is running; anything left after `drain` stays unacknowledged and is reclaimed
    // by another worker after the visibility timeout.
    const auto deadline = Clock::now() + drain;
    while (!running_.empty() && Clock::now() < deadline) {
        wakeup_.expires_at(std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
        co_await wakeup_.async_wait(kAwaitTuple);
    }
    // The heartbeat and maintenance loops use this object: return only once they have ended, so the
    // caller may destroy the worker as soon as run() completes.
    finished_ = true;
    while (loops_ > 0) co_await sleep_for(kLoopSlice);
    core::log::info("worker stopped", {{"consumer", settings_.consumer}, {"abandoned", running_.size()}});
    for (auto& w : watchers_) w->close();
}

asio::awaitable<void> Worker::watch_loop(std::size_t index) {
    const LoopCount counted(loops_);
    const auto queue = settings_.queues[index];
    auto& client = *watchers_[index];
    auto& pass_begun = *watcher_waits_[index];
    std::string last;  // the newest entry id this watcher has seen ("" = ask the stream)
    bool warned = false;
    while (!stopping_ && !finished_) {
        bool failed = false;
        try {
            if (last.empty()) last = co_await queue_->last_id(queue);
            auto seen = co_await queue_->wait_for_new(client, queue, last, settings_.block);
            warned = false;
            if (seen) {
                last = std::move(*seen);
                rung_ = true;
                wake();
                // Watch again once a read pass has begun (it reads what was seen): while the
                // worker is busy, a queue with a backlog does not ring over and over.
                const auto pass = passes_;
                while (!stopping_ && passes_ == pass) {
                    pass_begun.expires_at(Clock::time_point::max());
                    co_await pass_begun.async_wait(kAwaitTuple);
                }
            }
        } catch (const std::exception& e) {
            if (!stopping_ && !warned) {
                core::log::warn("jobs: watching a queue failed; reading every block until it is back",
                                {{"queue", queue}, {"error", e.what()}});
            }
            warned = true;
            failed = true;
        }
        if (failed) {
            last.clear();
            const auto next = Clock::now() + std::chrono::seconds(1);
            while (!stopping_ && Clock::now() < next) co_await sleep_for(slice_until(next));
        }
    }
}

asio::awaitable<void> Worker::dispatch(Job job) {
    const auto started = Clock::now();
    if (job.created_ms > 0) {
        core::Metrics::global()
            .histogram("emporium_job_start_delay_seconds", "Time from enqueue to handler start", {{"queue", job.queue}})
            .observe(static_cast<double>(std::max<std::int64_t>(0, now_ms() - job.created_ms)) / 1000.0);
    }
    const auto& policy = settings_.policies.of(job.type);
    Outcome outcome;
    std::shared_ptr<Race> overran;  // a handler still running after its timeout
    auto handler = handlers_.find(job.type);
    if (handler == handlers_.end()) {
        outcome = {false, true, "no handler for job type '" + job.type + "'"};
    } else if (job.attempt > policy.max_attempts) {
        outcome = {false, true, "gave up after " + std::to_string(policy.max_attempts) + " deliveries" +
                                    (job.last_error.empty() ? std::string() : ": " + job.last_error)};
    } else {
        if (settings_.handler_delay.count() > 0) co_await sleep_for(settings_.handler_delay);
        auto race = std::make_shared<Race>(ex_, policy.timeout);
        auto on_done = [race](const std::exception_ptr& e, const core::Result<void>& r) {
            race->done = true;
            if (race->timed_out) {
                // Settled already as timed out: the late outcome is dropped (handlers are
                // idempotent); dispatch() logs the return and frees the slot.
                race->timer.cancel();
                return;
            }
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    race->error = core::make_error(core::Errc::kUnavailable, ex.what());
                } catch (...) {
                    race->error = core::make_error(core::Errc::kInternal, "unknown exception");
                }
            } else if (!r) {
                race->error = r.error();
            }
            race->timer.cancel();
        };
        asio::co_spawn(ex_, handler->second(job), std::move(on_done));
        co_await race->timer.async_wait(kAwaitTuple);
        if (!race->done) {
            race->timed_out = true;  // a late completion is ignored; handlers are idempotent
            outcome = {false, false, "timed out after " + std::to_string(policy.timeout.count()) + " ms"};
            overran = race;
        } else if (race->error) {
            outcome = {false, is_permanent(*race->error), race->error->message};
        } else {
            outcome.ok = true;
        }
    }
    const auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
    core::Metrics::global()
        .histogram("emporium_job_duration_seconds", "Handler run time by queue", {{"queue", job.queue}})
        .observe(seconds);
    try {
        if (outcome.ok) {
            co_await queue_->ack(job);
            count(job, "succeeded");
            core::log::info("job done", {{"job", job.id}, {"type", job.type}, {"attempt", job.attempt},
                                         {"ms", static_cast<std::int64_t>(seconds * 1000)}});
        } else if (outcome.permanent || job.attempt >= policy.max_attempts) {
            co_await queue_->bury(job, outcome.error);
            count(job, "dead");
            core::log::error("job dead-lettered", {{"job", job.id}, {"type", job.type}, {"attempt", job.attempt},
                                                   {"error", outcome.error}});
        } else {
            const auto delay = backoff_delay(policy, job.attempt, rng_);
            co_await queue_->retry(job, now_ms() + delay.count(), outcome.error);
            count(job, "retried");
            core::log::warn("job failed; retrying", {{"job", job.id}, {"type", job.type}, {"attempt", job.attempt},
                                                     {"retry_in_ms", delay.count()}, {"error", outcome.error}});
        }
    } catch (const std::exception& e) {
        // Not settled: the job stays in the pending list and is reclaimed after the visibility timeout.
        core::log::error("job outcome not recorded; it will be redelivered",
                         {{"job", job.id}, {"error", e.what()}});
    }
    if (overran && !overran->done) {
        // Nothing interrupts a handler (it would skip its own cleanup), so its slot stays taken
        // until it returns: a handler that ignores its deadline must not let more than
        // `concurrency` handlers run at once.
        static auto& overruns = core::Metrics::global().gauge(
            "emporium_jobs_overrunning",
            "Job handlers still running after their timeout (their slots stay taken)");
        overruns.add(1);
        core::log::warn("job handler still running after its timeout; its slot stays taken until it returns",
                        {{"job", job.id}, {"type", job.type}});
        co_await wait_returned(overran);
        overruns.add(-1);
        core::log::info("job handler returned after its timeout",
                        {{"job", job.id},
                         {"type", job.type},
                         {"ms",
                          static_cast<std::int64_t>(
                              std::chrono::duration<double, std::milli>(Clock::now() - started).count())}});
    }
    running_.erase({job.queue, job.stream_id});
    wake();
}

asio::awaitable<void> Worker::heartbeat_loop() {
    const LoopCount counted(loops_);
    const auto every = std::max(std::chrono::milliseconds(200), settings_.visibility_timeout / 3);
    while (!finished_ && (!stopping_ || !running_.empty())) {
        const auto next = Clock::now() + every;
        while (!finished_ && Clock::now() < next) co_await sleep_for(slice_until(next));
        if (finished_) break;
        std::map<std::string, std::vector<std::string>> by_queue;
        for (const auto& [q, id] : running_) by_queue[q].push_back(id);
        for (auto& [q, ids] : by_queue) {
            try {
                co_await queue_->touch(settings_.consumer, q, std::move(ids));
            } catch (const std::exception& e) {
                core::log::warn("jobs: heartbeat failed", {{"error", e.what()}});
            }
        }
    }
}

asio::awaitable<void> Worker::maintenance_loop() {
    const auto reclaim_every = std::clamp(settings_.visibility_timeout / 4, std::chrono::milliseconds(250),
                                          std::chrono::milliseconds(30'000));
    const LoopCount counted(loops_);
    auto next_reclaim = Clock::now() + reclaim_every;
    auto next_legacy_check = Clock::now() + settings_.legacy_check_interval;
    while (!stopping_) {
        const auto next = Clock::now() + settings_.promote_interval;
        while (!stopping_ && Clock::now() < next) co_await sleep_for(slice_until(next));
        if (stopping_) break;
        try {
            // Retries are due even when no scheduler runs.
            co_await queue_->promote_due(now_ms());
            if (Clock::now() >= next_legacy_check) {
                next_legacy_check = Clock::now() + settings_.legacy_check_interval;
                co_await queue_->migrate_legacy();
            }
            if (Clock::now() >= next_reclaim) {
                next_reclaim = Clock::now() + reclaim_every;
                for (const auto& q : settings_.queues) {
                    const auto free =
                        static_cast<std::int64_t>(settings_.concurrency) - static_cast<std::int64_t>(running_.size());
                    if (free <= 0 || stopping_) break;
                    auto jobs = co_await queue_->reclaim(settings_.consumer, q, settings_.visibility_timeout, free);
                    for (auto& job : jobs) {
                        if (!running_.emplace(job.queue, job.stream_id).second) continue;  // already ours
                        core::log::warn("job reclaimed from a stalled worker",
                                        {{"job", job.id}, {"type", job.type}, {"attempt", job.attempt}});
                        count(job, "reclaimed");
                        core::spawn_tracked(ex_, dispatch(std::move(job)), "jobs.dispatch");
                    }
                }
            }
        } catch (const std::exception& e) {
            core::log::warn("jobs: maintenance failed", {{"error", e.what()}});
        }
    }
}

}  // namespace emporium::jobs
