// The job system against the real test PostgreSQL and Redis: queue round trip and statistics,
// retries following the backoff bounds then the dead-letter stream (and back), per-job timeouts,
// reclaiming the jobs of a dead consumer, the outbox relay (NOTIFY wake-up, Redis down → events
// wait in PostgreSQL and are all published once it returns), two schedulers firing once per period,
// and the order documents (one e-mail, one receipt however often the jobs run).
#include "core/spawn.hpp"
#include "integration/redis_support.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/outbox_relay.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"
#include "notify/notify_service.hpp"
#include "orders/orders_service.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

namespace emporium::jobs {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Job make_job(std::string type, std::string queue, std::string id) {
    Job j;
    j.id = std::move(id);
    j.type = std::move(type);
    j.queue = std::move(queue);
    j.payload = json::object{{"n", 1}};
    return j;
}

asio::awaitable<void> run_worker_for(Worker* worker, std::chrono::milliseconds how_long) {
    asio::steady_timer t(co_await asio::this_coro::executor, how_long);
    core::spawn_tracked(co_await asio::this_coro::executor, [](Worker* w, asio::steady_timer* timer) -> asio::awaitable<void> {
        co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
        w->stop();
    }(worker, &t), "stopper");
    co_await worker->run(5s);
}

class JobsTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 4;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:jobs:" + test::unique_suffix() + ":";
        queue_ = make_queue(redis_.get());
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }
    std::shared_ptr<JobQueue> make_queue(redis::Client* client) {
        return std::make_shared<JobQueue>([client]() -> redis::Client& { return *client; }, redis::Keys(prefix_));
    }
    template <typename T>
    T run(asio::awaitable<T> aw, std::chrono::seconds limit = 60s) {
        return test::run_coro(ctx_, std::move(aw), limit);
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        auto r = run(pool_->query_unprepared(std::move(text), std::move(params)));
        return r.empty() || r.is_null(0, 0) ? 0 : r.get<std::int64_t>(0, 0);
    }
    WorkerSettings settings(std::string consumer) {
        WorkerSettings s;
        s.consumer = std::move(consumer);
        s.block = 100ms;
        s.concurrency = 4;
        s.promote_interval = 20ms;
        s.visibility_timeout = 1'000ms;
        return s;
    }
    QueueStats stats_of(const std::string& queue) {
        for (auto& s : run(queue_->stats())) {
            if (s.queue == queue) return s;
        }
        throw std::runtime_error("no queue " + queue);
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::string prefix_;
    std::shared_ptr<JobQueue> queue_;
};

// A relay that published an event and then failed to record it (its transaction rolled back, or
// it was killed) publishes it again: the queue takes a job id once within the dedupe window.
TEST_F(JobsTest, AJobIdEnqueuedTwiceIsQueuedOnce) {
    run(queue_->ensure_groups());
    std::vector<Job> first{make_job("noop", "email", "ob7:email.order_confirmation"), make_job("noop", "receipt", "ob7:receipt.render")};
    auto ids = run(queue_->enqueue(first));
    ASSERT_EQ(ids.size(), 2U);
    EXPECT_FALSE(ids[0].empty());
    EXPECT_FALSE(ids[1].empty());
    std::vector<Job> again{make_job("noop", "email", "ob7:email.order_confirmation"), make_job("noop", "email", "ob8:email.order_confirmation")};
    ids = run(queue_->enqueue(again));
    ASSERT_EQ(ids.size(), 2U);
    EXPECT_TRUE(ids[0].empty()) << "a duplicate is skipped";
    EXPECT_FALSE(ids[1].empty());
    EXPECT_EQ(stats_of("email").pending, 2);
    EXPECT_EQ(stats_of("receipt").pending, 1);
    std::vector<Job> anonymous{make_job("noop", "email", "")};
    EXPECT_THROW(run(queue_->enqueue(anonymous)), std::invalid_argument);
}

// JOBS_ENQUEUE_REPLICA_ACKS: an enqueue that not enough replicas acknowledged (WAIT) throws, so the
// outbox relay keeps its rows and publishes them again later (the test Redis has no replica). The
// job id is remembered meanwhile, so that later attempt does not queue it twice.
TEST_F(JobsTest, AnEnqueueWithoutTheRequiredReplicaAcknowledgementsFails) {
    run(queue_->ensure_groups());
    queue_->require_replica_acks(1, 50ms);
    std::vector<Job> jobs{make_job("noop", "email", "acks:1")};
    EXPECT_THROW(run(queue_->enqueue(jobs)), redis::RedisError);
    queue_->require_replica_acks(0, 50ms);
    auto again = run(queue_->enqueue(jobs));
    ASSERT_EQ(again.size(), 1U);
    EXPECT_TRUE(again[0].empty()) << "already queued by the first attempt";
    EXPECT_EQ(stats_of("email").pending, 1);
}

// A retried enqueue of a job the first attempt appended (its WAIT failed) appends nothing. WAIT counts
// the replicas that have this connection's last write; a new connection that wrote nothing would
// pass at once while the job is on the master only (a failover could lose it, and the outbox would
// not send it again). The retry's WAIT must cover the first attempt's append: it fails until the
// replica has it. (Redis 7.0 already counts a script call that wrote nothing as the connection's
// write; the enqueue script writes the job's marker again anyway, so as not to depend on that.)
TEST_F(JobsTest, ARetriedEnqueueWaitsUntilAReplicaHasTheFirstAttemptsAppend) {
    redis::test::ThrowawayRedis master({"--repl-diskless-sync-delay", "0"});
    master.start();
    redis::test::ThrowawayRedis replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
    replica.start();
    const auto client_options = [&] {
        redis::ClientOptions o;
        o.url = "redis://127.0.0.1:" + std::to_string(master.port());
        o.command_timeout = 2s;
        return o;
    };
    redis::Client first(ctx_.get_executor(), client_options());
    auto queue = make_queue(&first);
    run(queue->ensure_groups());
    // Once this is acknowledged, the replica is in sync and the master counts its acknowledgements.
    queue->require_replica_acks(1, 10s);
    std::vector<Job> warm_up{make_job("noop", "email", "replicated:0")};
    ASSERT_FALSE(run(queue->enqueue(warm_up)).at(0).empty());
    std::vector<Job> jobs{make_job("noop", "email", "replicated:1")};

    replica.signal(SIGSTOP);  // the replica stalls: nothing new reaches it
    queue->require_replica_acks(1, 300ms);
    EXPECT_THROW(run(queue->enqueue(jobs)), redis::RedisError);
    // The outbox retries, from another connection (another relay, or after a reconnect).
    redis::Client second(ctx_.get_executor(), client_options());
    auto retry = make_queue(&second);
    retry->require_replica_acks(1, 300ms);
    EXPECT_THROW(run(retry->enqueue(jobs)), redis::RedisError) << "the job is not on the replica yet";

    replica.signal(SIGCONT);
    retry->require_replica_acks(1, 5s);
    auto ids = run(retry->enqueue(jobs));
    ASSERT_EQ(ids.size(), 1U);
    EXPECT_TRUE(ids[0].empty()) << "queued once, by the first attempt";
    first.close();
    second.close();
}

// Every key a queue's scripts touch carries the queue's hash tag (one Redis Cluster slot), and a
// batch of several queues is enqueued one queue at a time, each job's stream id in its place.
TEST_F(JobsTest, AQueuesKeysShareOneSlotAndABatchOfSeveralQueuesKeepsItsOrder) {
    using redis::test::slot_tag;
    for (auto q : kQueues) {
        const auto tag = "q:" + std::string(q);
        EXPECT_EQ(queue_->stream_key(q), prefix_ + "{" + tag + "}:jobs:stream");
        EXPECT_EQ(slot_tag(queue_->delayed_key(q)), tag);
        EXPECT_EQ(slot_tag(queue_->dead_key(q)), tag);
        EXPECT_EQ(slot_tag(queue_->stats_key(q)), tag);
        EXPECT_EQ(slot_tag(queue_->enqueued_key(q, "ob1:x")), tag);
    }
    EXPECT_NE(slot_tag(queue_->stream_key("email")), slot_tag(queue_->stream_key("receipt")));
    run(queue_->ensure_groups());
    std::vector<Job> batch{make_job("noop", "email", "m1"), make_job("noop", "receipt", "m2"),
                           make_job("noop", "email", "m3"), make_job("noop", "default", "m4")};
    auto ids = run(queue_->enqueue(batch));
    ASSERT_EQ(ids.size(), 4U);
    std::vector<std::string> queues{"email", "receipt", "default"};
    auto got = run(queue_->read("c1", queues, 10));
    ASSERT_EQ(got.size(), 4U);
    std::map<std::string, std::string> stream_id_of;
    for (const auto& j : got) stream_id_of[j.id] = j.stream_id;
    for (std::size_t i = 0; i < batch.size(); ++i) EXPECT_EQ(ids[i], stream_id_of[batch[i].id]) << batch[i].id;
    // The totals are kept per queue.
    EXPECT_TRUE(run(queue_->ack(got[0])));
    EXPECT_EQ(run(redis_->command(redis::cmd("HGET", queue_->stats_key(got[0].queue), "succeeded"))).as_int(), 1);
    EXPECT_EQ(stats_of(got[0].queue).outcomes["succeeded"], 1);
}

// Each queue is read on its own (its stream is in its own slot); a job enqueued while the worker
// idles still starts at once, on whichever of its queues it lands: a watcher wakes the reader,
// which would otherwise look again only after `block`.
TEST_F(JobsTest, AnIdleWorkerStartsANewJobOfAnyQueueWithoutWaitingForItsBlockTime) {
    auto s = settings("c-watch");
    s.block = 3'000ms;
    s.queues = {"email", "receipt", "webhook"};
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    std::map<std::string, Clock::time_point> started;
    worker.handle("noop", [&](Job job) -> asio::awaitable<core::Result<void>> {
        started[job.id] = Clock::now();
        co_return core::Result<void>{};
    });
    std::map<std::string, Clock::time_point> enqueued;
    auto late = [](JobQueue* q, std::map<std::string, Clock::time_point>* at) -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (const char* queue : {"webhook", "email", "receipt"}) {
            t.expires_after(700ms);  // the worker is idle, blocked in its watchers
            co_await t.async_wait(asio::use_awaitable);
            std::vector<Job> one{make_job("noop", queue, std::string("w-") + queue)};
            (*at)[one[0].id] = Clock::now();
            co_await q->enqueue(std::move(one));
        }
    };
    core::spawn_tracked(ctx_.get_executor(), late(queue_.get(), &enqueued), "late");
    run(run_worker_for(&worker, 3s));
    ASSERT_EQ(started.size(), 3U);
    for (const auto& [id, at] : enqueued) {
        ASSERT_TRUE(started.contains(id)) << id;
        EXPECT_LT(started[id] - at, 500ms) << id << " waited for the reader's block time";
    }
}

TEST_F(JobsTest, EnqueueReadAckAndStatistics) {
    run(queue_->ensure_groups());
    std::vector<Job> jobs;
    for (int i = 0; i < 3; ++i) jobs.push_back(make_job("noop", "default", "j" + std::to_string(i)));
    auto ids = run(queue_->enqueue(jobs));
    ASSERT_EQ(ids.size(), 3U);
    auto s = stats_of("default");
    EXPECT_EQ(s.pending, 3);
    EXPECT_EQ(s.in_progress, 0);
    ASSERT_TRUE(s.oldest_age_ms.has_value());

    std::vector<std::string> queues{"default", "email"};
    auto got = run(queue_->read("c1", queues, 2));
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].id, "j0");
    EXPECT_EQ(got[0].queue, "default");
    EXPECT_GT(got[0].created_ms, 0);
    s = stats_of("default");
    EXPECT_EQ(s.pending, 1);
    EXPECT_EQ(s.in_progress, 2);

    EXPECT_TRUE(run(queue_->ack(got[0])));
    EXPECT_FALSE(run(queue_->ack(got[0])));  // already settled: not counted twice
    EXPECT_TRUE(run(queue_->bury(got[1], "broken")));
    s = stats_of("default");
    EXPECT_EQ(s.in_progress, 0);
    EXPECT_EQ(s.pending, 1);
    EXPECT_EQ(s.dead, 1);
    EXPECT_EQ(s.outcomes["succeeded"], 1);
    EXPECT_EQ(s.outcomes["dead"], 1);
    // Nothing new for this consumer group after the last one is read.
    EXPECT_EQ(run(queue_->read("c1", queues, 10)).size(), 1U);
    EXPECT_TRUE(run(queue_->read("c1", queues, 10)).empty());
}

TEST_F(JobsTest, FailuresRetryWithinTheBackoffBoundsThenDeadLetterAndCanBeRevived) {
    RetryPolicy policy{100ms, 400ms, 4, 2s};
    auto s = settings("c-retry");
    s.policies = RetryPolicies(policy);
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    std::vector<Clock::time_point> calls;
    worker.handle("flaky", [&calls](Job) -> asio::awaitable<core::Result<void>> {
        calls.push_back(Clock::now());
        co_return core::make_error(core::Errc::kUnavailable, "provider down");
    });
    run(queue_->ensure_groups());
    std::vector<Job> one{make_job("flaky", "payment", "flaky-1")};
    run(queue_->enqueue(one));
    run(run_worker_for(&worker, 4s));

    ASSERT_EQ(calls.size(), 4U) << "max_attempts deliveries, then dead";
    for (std::size_t i = 1; i < calls.size(); ++i) {
        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(calls[i] - calls[i - 1]);
        const auto ceiling = backoff_ceiling(policy, static_cast<int>(i));
        // The delay is drawn from [0, ceiling]; promotion polls every 20 ms and the read blocks
        // at most 100 ms, so a retry starts no later than ceiling + ~150 ms.
        EXPECT_LE(gap, ceiling + 250ms) << "retry " << i;
    }
    auto stats = stats_of("payment");
    EXPECT_EQ(stats.dead, 1);
    EXPECT_EQ(stats.delayed, 0);
    EXPECT_EQ(stats.pending + stats.in_progress, 0);
    EXPECT_EQ(stats.outcomes["retried"], 3);
    auto dead = run(queue_->dead_jobs("payment", 10));
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].job.id, "flaky-1");
    EXPECT_EQ(dead[0].job.attempt, 4);
    EXPECT_EQ(dead[0].error, "provider down");

    auto revived = run(queue_->retry_dead(dead[0].id));
    ASSERT_TRUE(revived);
    EXPECT_EQ(revived->attempt, 1);
    EXPECT_FALSE(run(queue_->retry_dead(dead[0].id)));  // moved once
    EXPECT_FALSE(run(queue_->retry_dead("1-1")));
    stats = stats_of("payment");
    EXPECT_EQ(stats.dead, 0);
    EXPECT_EQ(stats.pending, 1);
}

TEST_F(JobsTest, PermanentErrorsUnknownTypesAndTimeouts) {
    RetryPolicy quick{50ms, 50ms, 3, 200ms};
    auto s = settings("c-perm");
    s.policies = RetryPolicies(quick);
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    int permanent_calls = 0;
    int slow_calls = 0;
    worker.handle("bad_input", [&](Job) -> asio::awaitable<core::Result<void>> {
        ++permanent_calls;
        co_return core::make_error(core::Errc::kValidation, "order 5 does not exist");
    });
    worker.handle("slow", [&](Job) -> asio::awaitable<core::Result<void>> {
        ++slow_calls;
        asio::steady_timer t(co_await asio::this_coro::executor, 1s);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return core::Result<void>{};
    });
    run(queue_->ensure_groups());
    std::vector<Job> batch{make_job("bad_input", "default", "p1"), make_job("nobody_handles_me", "default", "u1"),
                           make_job("slow", "receipt", "s1")};
    run(queue_->enqueue(batch));
    run(run_worker_for(&worker, 3s));
    EXPECT_EQ(permanent_calls, 1) << "permanent errors are not retried";
    EXPECT_EQ(slow_calls, 3) << "each timed-out delivery is retried up to max_attempts";
    auto dead = run(queue_->dead_jobs("default", 10));
    ASSERT_EQ(dead.size(), 2U);
    std::set<std::string> errors{dead[0].error, dead[1].error};
    EXPECT_TRUE(errors.count("order 5 does not exist"));
    EXPECT_TRUE(errors.count("no handler for job type 'nobody_handles_me'"));
    auto slow_dead = run(queue_->dead_jobs("receipt", 10));
    ASSERT_EQ(slow_dead.size(), 1U);
    EXPECT_NE(slow_dead[0].error.find("timed out"), std::string::npos) << slow_dead[0].error;
}

// An entry of a queue's stream that is not a job (written by hand, or by a broken producer) is never
// handed to a handler: a read moves it to the dead letters, and so does a reclaim of one that a
// consumer had taken before it died. The entries around it are delivered as usual.
TEST_F(JobsTest, StreamEntriesThatAreNotJobsGoToTheDeadLettersOnReadAndOnReclaim) {
    run(queue_->ensure_groups());
    std::vector<Job> before{make_job("noop", "email", "n1")};
    run(queue_->enqueue(before));
    run(redis_->command(redis::cmd("XADD", queue_->stream_key("email"), "*", "garbage", "1")));
    std::vector<Job> after{make_job("noop", "email", "n2")};
    run(queue_->enqueue(after));

    std::vector<std::string> queues{"email"};
    auto got = run(queue_->read("c1", queues, 10));
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0].id, "n1");
    EXPECT_EQ(got[1].id, "n2");
    auto dead = run(queue_->dead_jobs("email", 10));
    ASSERT_EQ(dead.size(), 1U);
    EXPECT_EQ(dead[0].job.id, "undecodable");
    EXPECT_EQ(dead[0].error, "the stream entry is not a job");
    EXPECT_EQ(stats_of("email").in_progress, 2) << "the undecodable entry is no longer pending";

    // One more, delivered to a consumer that dies with it (read by the group directly, as a consumer
    // that cannot decode it would); the reclaim of the next consumer buries it.
    run(redis_->command(redis::cmd("XADD", queue_->stream_key("email"), "*", "garbage", "2")));
    run(redis_->command(redis::cmd("XREADGROUP", "GROUP", kConsumerGroup, "dead-consumer", "COUNT", "1", "STREAMS",
                                   queue_->stream_key("email"), ">")));
    EXPECT_TRUE(run(queue_->reclaim("c2", "email", 0ms, 10)).size() == 2U)
        << "the two jobs c1 holds are reclaimed; the undecodable entry is not";
    EXPECT_EQ(run(queue_->dead_jobs("email", 10)).size(), 2U);
}

TEST_F(JobsTest, JobsOfADeadConsumerAreReclaimedAfterTheVisibilityTimeout) {
    run(queue_->ensure_groups());
    std::vector<Job> one{make_job("count", "email", "r1")};
    run(queue_->enqueue(one));
    // A consumer takes the job and dies without acknowledging it.
    std::vector<std::string> queues{"email"};
    ASSERT_EQ(run(queue_->read("dead-consumer", queues, 1)).size(), 1U);
    EXPECT_EQ(stats_of("email").in_progress, 1);

    auto s = settings("c-alive");
    s.visibility_timeout = 500ms;
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    std::vector<int> attempts;
    worker.handle("count", [&](Job job) -> asio::awaitable<core::Result<void>> {
        attempts.push_back(job.attempt);
        co_return core::Result<void>{};
    });
    run(run_worker_for(&worker, 2s));
    ASSERT_EQ(attempts.size(), 1U);
    EXPECT_EQ(attempts[0], 2) << "the lost delivery counts as an attempt";
    auto st = stats_of("email");
    EXPECT_EQ(st.in_progress, 0);
    EXPECT_EQ(st.pending, 0);
    EXPECT_EQ(st.outcomes["succeeded"], 1);
}

TEST_F(JobsTest, LongRunningJobsAreKeptVisibleByTheHeartbeat) {
    run(queue_->ensure_groups());
    std::vector<Job> one{make_job("long", "default", "l1")};
    run(queue_->enqueue(one));
    auto s = settings("c-a");
    s.visibility_timeout = 300ms;
    s.policies = RetryPolicies(RetryPolicy{100ms, 100ms, 5, 5s});
    Worker a(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    auto s2 = s;
    s2.consumer = "c-b";
    Worker b(ctx_.get_executor(), s2, queue_, redis::test::shared_server_options());
    int runs = 0;
    auto long_job = [&](Job) -> asio::awaitable<core::Result<void>> {
        ++runs;
        asio::steady_timer t(co_await asio::this_coro::executor, 1'200ms);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return core::Result<void>{};
    };
    a.handle("long", long_job);
    b.handle("long", long_job);
    std::vector<asio::awaitable<void>> both;
    both.push_back(run_worker_for(&a, 2'500ms));
    both.push_back(run_worker_for(&b, 2'500ms));
    redis::test::run_all(ctx_, std::move(both));
    EXPECT_EQ(runs, 1) << "a job running longer than the visibility timeout is not stolen while its worker lives";
    EXPECT_EQ(stats_of("default").outcomes["succeeded"], 1);
}

// How many handlers run at once.
struct Occupancy {
    int running = 0;
    int most = 0;
    int started = 0;
};

// A handler that ignores its deadline: it keeps working for `work` whatever its timeout says.
asio::awaitable<core::Result<void>> overrunning_job(std::shared_ptr<Occupancy> occupancy,
                                                    std::chrono::milliseconds work) {
    ++occupancy->started;
    occupancy->most = std::max(occupancy->most, ++occupancy->running);
    asio::steady_timer t(co_await asio::this_coro::executor, work);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    --occupancy->running;
    co_return core::Result<void>{};
}

TEST_F(JobsTest, AHandlerPastItsTimeoutKeepsItsSlotUntilItReturns) {
    auto s = settings("c-overrun");
    s.concurrency = 2;
    // Timeout 100 ms, one delivery each: the timed-out jobs go to the dead-letter stream.
    s.policies = RetryPolicies(RetryPolicy{50ms, 50ms, 1, 100ms});
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    auto occupancy = std::make_shared<Occupancy>();
    worker.handle("stuck", [occupancy](Job) { return overrunning_job(occupancy, 600ms); });
    run(queue_->ensure_groups());
    std::vector<Job> jobs;
    for (int i = 0; i < 6; ++i) jobs.push_back(make_job("stuck", "default", "o" + std::to_string(i)));
    run(queue_->enqueue(jobs));
    run(run_worker_for(&worker, 1'500ms));
    EXPECT_EQ(occupancy->running, 0) << "run() returned while handlers still ran";
    EXPECT_LE(occupancy->most, 2)
        << "timed-out handlers that ran on let the worker start more than its concurrency";
    EXPECT_EQ(occupancy->most, 2);
    // 600 ms each, two at a time, for 1.5 s: two or three pairs.
    EXPECT_GE(occupancy->started, 4);
    EXPECT_LE(occupancy->started, 6);
    EXPECT_EQ(run(queue_->dead_jobs("default", 10)).size(), static_cast<std::size_t>(occupancy->started));
}

class OutboxTest : public JobsTest {
protected:
    std::int64_t add_event(const std::string& type, std::int64_t order_id) {
        return scalar("INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, "
                      "jsonb_build_object('order_id', $3::bigint)) RETURNING id",
                      db::params(std::to_string(order_id), type, order_id));
    }
    std::int64_t unpublished() { return scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL"); }
    EventRoutes routes() {
        EventRoutes r;
        r.on("order.paid", "email.order_confirmation", "email");
        r.on("order.paid", "receipt.render", "receipt");
        return r;
    }
    db::ConnectionOptions listen_options() {
        db::ConnectionOptions o;
        o.url = db_.url;
        return o;
    }
};

TEST_F(OutboxTest, EventsWaitInPostgresWhileRedisIsDownAndAreAllPublishedAfter) {
    redis::test::ThrowawayRedis server;
    server.start();
    redis::ClientOptions options;
    options.url = "redis://127.0.0.1:" + std::to_string(server.port());
    options.command_timeout = 500ms;
    options.max_backoff = 100ms;
    redis::Client client(ctx_.get_executor(), options);
    auto queue = make_queue(&client);
    run(queue->ensure_groups());
    OutboxRelay relay([p = pool_.get()]() -> db::Pool& { return *p; }, listen_options(), queue, routes(), {});

    // Real orders (pessimistic checkout needs only PostgreSQL), placed and paid while Redis is down.
    auto* p = pool_.get();
    auto* r = &client;
    inventory::InventorySettings inv;
    inv.strategy = inventory::Strategy::kPessimistic;
    auto redlock = std::make_shared<inventory::Redlock>([r] { return std::vector<redis::Client*>{r}; }, inv.lock_ttl,
                                                        inv.lock_retries);
    auto inventory = std::make_shared<inventory::InventoryService>(
        inv, inventory::InventoryStore([p]() -> db::Pool& { return *p; }), [r]() -> redis::Client& { return *r; },
        redis::Keys(prefix_), std::move(redlock), nullptr);
    orders::OrdersService orders(orders::OrdersSettings{}, orders::OrdersStore([p]() -> db::Pool& { return *p; }), inventory);
    const auto user = scalar("INSERT INTO users (email, password_hash, name) VALUES ('down@example.com', '$argon2id$x', 'D') RETURNING id");
    const auto product = scalar("INSERT INTO products (sku, name, price_cents, stock) VALUES ('down-1', 'Mug', 900, 100) RETURNING id");
    scalar("INSERT INTO inventory_movements (product_id, delta, reason) VALUES ($1, 100, 'initial') RETURNING id",
           db::params(product));

    server.stop();
    for (int i = 0; i < 10; ++i) {
        orders::NewOrder o;
        o.items = {orders::OrderLine{product, 1}};
        o.shipping_address = json::object{{"city", "Oslo"}};
        const auto key = "down-" + std::to_string(i);
        auto placed = run(orders.place_order(user, key, std::move(o), "fp" + key));
        ASSERT_TRUE(placed && !placed->failure) << "checkout does not need Redis with the pessimistic strategy";
        const auto id = json::parse(placed->body).at("id").as_int64();
        const auto payment = scalar(
            "INSERT INTO payments (order_id, status, amount_cents, currency, provider, idempotency_key, "
            "captured_at) SELECT id, 'captured', total_cents, currency, 'sandbox', gen_random_uuid()::text, "
            "now() FROM orders WHERE id = $1 RETURNING id",
            db::params(id));
        ASSERT_TRUE(run(orders.mark_paid(id, payment)));
    }
    EXPECT_ANY_THROW(run(relay.publish_pending()));
    EXPECT_EQ(unpublished(), 20) << "10 order.created + 10 order.paid, none marked published while Redis is down";

    server.start();  // empty: the streams are gone too
    std::int64_t published = 0;
    for (int i = 0; i < 50 && published == 0; ++i) {
        try {
            published = run(relay.publish_pending());
        } catch (const std::exception&) {
            run(redis::test::sleep_for(100ms));  // reconnecting
        }
    }
    EXPECT_EQ(published, 20);
    EXPECT_EQ(unpublished(), 0);
    auto stats = run(queue->stats());
    std::map<std::string, std::int64_t> pending;
    for (const auto& st : stats) pending[st.queue] = st.pending;
    EXPECT_EQ(pending["email"], 10) << "one e-mail job per paid order, none lost, none doubled";
    EXPECT_EQ(pending["receipt"], 10);
    EXPECT_EQ(run(relay.publish_pending()), 0);
    client.close();
}

TEST_F(OutboxTest, NotifyWakesTheRelayLongBeforeThePoll) {
    RelaySettings s;
    s.poll_interval = 20s;  // only the NOTIFY can explain a fast publish
    OutboxRelay relay([p = pool_.get()]() -> db::Pool& { return *p; }, listen_options(), queue_, routes(), s);
    run(queue_->ensure_groups());
    auto relay_task = [](OutboxRelay* r) -> asio::awaitable<void> { co_await r->run(); };
    bool relay_done = false;
    asio::co_spawn(ctx_, relay_task(&relay), [&](std::exception_ptr) { relay_done = true; });
    run(redis::test::sleep_for(500ms));  // LISTEN is in place
    const auto start = Clock::now();
    add_event("order.paid", 77);
    std::int64_t left = 1;
    while (left > 0 && Clock::now() - start < 10s) {
        run(redis::test::sleep_for(10ms));
        left = unpublished();
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    EXPECT_EQ(left, 0);
    EXPECT_LT(took, 2s) << "published by NOTIFY, not by the 20 s poll";
    relay.stop();
    const auto deadline = Clock::now() + 25s;
    while (!relay_done && Clock::now() < deadline) ctx_.run_one_for(50ms);
}

TEST_F(OutboxTest, TwoRelaysShareTheWorkWithoutPublishingTwice) {
    for (int i = 1; i <= 300; ++i) add_event("order.paid", i);
    RelaySettings s;
    s.batch = 7;
    OutboxRelay a([p = pool_.get()]() -> db::Pool& { return *p; }, listen_options(), queue_, routes(), s);
    OutboxRelay b([p = pool_.get()]() -> db::Pool& { return *p; }, listen_options(), queue_, routes(), s);
    run(queue_->ensure_groups());
    std::int64_t na = 0;
    std::int64_t nb = 0;
    auto drive = [](OutboxRelay* r, std::int64_t* n) -> asio::awaitable<void> { *n = co_await r->publish_pending(); };
    std::vector<asio::awaitable<void>> both;
    both.push_back(drive(&a, &na));
    both.push_back(drive(&b, &nb));
    redis::test::run_all(ctx_, std::move(both));
    EXPECT_EQ(na + nb, 300);
    EXPECT_EQ(unpublished(), 0);
    EXPECT_EQ(stats_of("email").pending, 300);
}

// An upgrade from the release before the hash tags: jobs under the old key names (queued, delivered
// to a worker that the upgrade stopped, waiting for a retry, dead) and the shared outcome totals
// move to the tagged keys when the queue starts, and run or are listed there; two processes
// migrating at once move each job once.
TEST_F(JobsTest, JobsLeftUnderTheOldKeyNamesAreMovedAndRunAfterTheUpgrade) {
    const redis::Keys old(prefix_);
    const auto stream = old.make("jobs", "stream", "default");
    const auto delayed = old.make("jobs", "delayed", "default");
    const auto dead = old.make("jobs", "dead", "email");
    const auto stats = old.make("jobs", "stats");
    EXPECT_EQ(stream, queue_->legacy_stream_key("default"));
    EXPECT_EQ(stats, queue_->legacy_stats_key());
    auto cmd = [&](std::vector<std::string> args) { return run(redis_->command(std::move(args))); };
    cmd(redis::cmd("XGROUP", "CREATE", stream, "workers", "0", "MKSTREAM"));
    for (const char* id : {"old-1", "old-2", "old-3"}) {
        auto job = make_job("count", "default", id);
        job.created_ms = now_ms();
        cmd(redis::cmd("XADD", stream, "*", "job", encode(job)));
    }
    // old-1 was delivered to a worker of the old release, which never acknowledged it.
    auto taken = cmd(redis::cmd("XREADGROUP", "GROUP", "workers", "old-worker", "COUNT", "1", "STREAMS", stream, ">"));
    ASSERT_EQ(taken.elements.size(), 1U);
    auto retry = make_job("count", "default", "old-retry");
    retry.attempt = 2;
    cmd(redis::cmd("ZADD", delayed, std::to_string(now_ms() - 1), encode(retry)));
    cmd(redis::cmd("XADD", dead, "*", "job", encode(make_job("count", "email", "old-dead")), "error", "boom", "failed_ms",
                   std::to_string(now_ms())));
    cmd(redis::cmd("HSET", stats, "default:succeeded", "5", "email:dead", "1"));

    // Two processes start at once: each job is moved once.
    auto other = make_queue(redis_.get());
    std::vector<asio::awaitable<void>> both;
    auto migrate = [](std::shared_ptr<JobQueue> q) -> asio::awaitable<void> { co_await q->migrate_legacy(); };
    both.push_back(migrate(queue_));
    both.push_back(migrate(other));
    redis::test::run_all(ctx_, std::move(both));
    EXPECT_EQ(cmd(redis::cmd("XLEN", queue_->stream_key("default"))).as_int(), 3);
    EXPECT_EQ(cmd(redis::cmd("ZCARD", queue_->delayed_key("default"))).as_int(), 1);
    for (const auto& key : {stream, delayed, dead, stats}) {
        EXPECT_EQ(cmd(redis::cmd("EXISTS", key)).as_int(), 0) << key;
    }
    auto listed = run(queue_->dead_jobs("email", 10));
    ASSERT_EQ(listed.size(), 1U);
    EXPECT_EQ(listed[0].job.id, "old-dead");
    EXPECT_EQ(listed[0].error, "boom");
    EXPECT_EQ(stats_of("email").outcomes["dead"], 1);
    // Nothing left: a second run moves nothing.
    EXPECT_EQ(run(queue_->migrate_legacy()), 0);

    // A worker runs them all (the one the old worker held included), and a job an old process
    // queues under the old name after the upgrade too (the worker looks again every interval).
    auto s = settings("c-upgrade");
    s.legacy_check_interval = 200ms;
    Worker worker(ctx_.get_executor(), s, queue_, redis::test::shared_server_options());
    std::multiset<std::string> ran;
    worker.handle("count", [&](Job job) -> asio::awaitable<core::Result<void>> {
        ran.insert(job.id);
        co_return core::Result<void>{};
    });
    auto straggler = make_job("count", "default", "old-late");
    straggler.created_ms = now_ms();
    auto add_late = [](redis::Client* client, std::string key, std::string job) -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, 600ms);  // the worker runs by then
        co_await t.async_wait(asio::use_awaitable);
        co_await client->command(redis::cmd("XADD", key, "*", "job", job));
    };
    core::spawn_tracked(ctx_.get_executor(), add_late(redis_.get(), stream, encode(straggler)), "old release");
    run(run_worker_for(&worker, 2s));
    EXPECT_EQ(ran, (std::multiset<std::string>{"old-1", "old-2", "old-3", "old-late", "old-retry"}));
    EXPECT_EQ(stats_of("default").outcomes["succeeded"], 5 + 5);
    EXPECT_EQ(cmd(redis::cmd("EXISTS", stream)).as_int(), 0);
}

// A migration that fails (here: an old key of the wrong type) is logged and tried again later; it
// does not keep the worker from serving the tagged keys.
TEST_F(JobsTest, AFailedMigrationDoesNotKeepTheWorkerFromRunning) {
    run(redis_->command(redis::cmd("SET", queue_->legacy_stream_key("default"), "not a stream")));
    EXPECT_THROW(run(queue_->migrate_legacy()), redis::RedisError);
    run(queue_->ensure_groups());
    std::vector<Job> one{make_job("count", "default", "after-upgrade")};
    run(queue_->enqueue(one));
    Worker worker(ctx_.get_executor(), settings("c-failed-migration"), queue_, redis::test::shared_server_options());
    int ran = 0;
    worker.handle("count", [&](Job) -> asio::awaitable<core::Result<void>> {
        ++ran;
        co_return core::Result<void>{};
    });
    run(run_worker_for(&worker, 1s));
    EXPECT_EQ(ran, 1);
}

TEST_F(JobsTest, TwoSchedulersFireOncePerPeriod) {
    std::vector<std::int64_t> fired_slots;
    auto record = [&fired_slots](std::int64_t slot) -> asio::awaitable<void> {
        fired_slots.push_back(slot);
        co_return;
    };
    auto entries = [&] {
        std::vector<ScheduleEntry> e;
        e.push_back({"tick", Schedule::every(200ms), record});
        return e;
    };
    SchedulerSettings s;
    s.tick = 20ms;
    s.leader_ttl = 1s;
    auto ref = [r = redis_.get()]() -> redis::Client& { return *r; };
    Scheduler one(ref, redis::Keys(prefix_), s, entries());
    Scheduler two(ref, redis::Keys(prefix_), s, entries());
    auto run_for = [](Scheduler* sch, std::chrono::milliseconds d) -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, d);
        core::spawn_tracked(co_await asio::this_coro::executor, [](Scheduler* x) -> asio::awaitable<void> { co_await x->run(); }(sch), "sch");
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        sch->stop();
        asio::steady_timer settle(co_await asio::this_coro::executor, 100ms);
        co_await settle.async_wait(asio::as_tuple(asio::use_awaitable));
    };
    const auto start_slot = jobs::now_ms() / 200;
    std::vector<asio::awaitable<void>> both;
    both.push_back(run_for(&one, 2'000ms));
    both.push_back(run_for(&two, 2'000ms));
    redis::test::run_all(ctx_, std::move(both));
    const auto end_slot = jobs::now_ms() / 200;
    std::set<std::int64_t> unique(fired_slots.begin(), fired_slots.end());
    EXPECT_EQ(unique.size(), fired_slots.size()) << "a period fired twice";
    EXPECT_GE(fired_slots.size(), 8U);
    EXPECT_LE(static_cast<std::int64_t>(fired_slots.size()), end_slot - start_slot + 1);
    EXPECT_NE(one.is_leader(), two.is_leader() && one.is_leader()) << "never two leaders";
}

TEST_F(JobsTest, AFiredPeriodIsNotFiredAgainByASchedulerThatTakesOver) {
    int fires = 0;
    auto count = [&fires](std::int64_t) -> asio::awaitable<void> {
        ++fires;
        co_return;
    };
    SchedulerSettings s;
    s.leader_ttl = 500ms;
    auto ref = [r = redis_.get()]() -> redis::Client& { return *r; };
    std::vector<ScheduleEntry> e1{{"hourly", Schedule::every(3'600'000ms), count}};
    std::vector<ScheduleEntry> e2{{"hourly", Schedule::every(3'600'000ms), count}};
    Scheduler first(ref, redis::Keys(prefix_), s, e1);
    Scheduler second(ref, redis::Keys(prefix_), s, e2);
    const auto now = jobs::now_ms();
    EXPECT_EQ(run(first.tick(now)).size(), 1U);
    EXPECT_TRUE(run(second.tick(now)).empty()) << "not the leader";
    // The leader disappears (lease expires); the second takes over within the same hour.
    run(redis::test::sleep_for(700ms));
    EXPECT_TRUE(run(second.tick(now + 700)).empty()) << "the period already fired";
    EXPECT_TRUE(second.is_leader());
    EXPECT_EQ(fires, 1);
}

// ---- order documents ----------------------------------------------------------------------------

class DocumentsTest : public JobsTest {
protected:
    void SetUp() override {
        JobsTest::SetUp();
        spool_ = std::filesystem::temp_directory_path() / ("emporium-spool-" + test::unique_suffix());
        notify::MailSettings mail;
        mail.spool_dir = spool_.string();
        notify::NotifySettings settings;
        settings.shop_name = "Test Shop";
        settings.from = "orders@shop.test";
        settings.tax_label = "VAT";
        settings.tax_rate_bps = 2000;
        service_ = std::make_shared<notify::NotifyService>(
            settings, notify::NotifyStore([p = pool_.get()]() -> db::Pool& { return *p; }),
            std::shared_ptr<notify::Mailer>(notify::make_mailer(mail)), cpu_);
    }
    void TearDown() override {
        std::filesystem::remove_all(spool_);
        JobsTest::TearDown();
    }
    std::int64_t order(const std::string& status) {
        const auto user = scalar("INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', 'Ann') RETURNING id",
                                 db::params("ann-" + test::unique_suffix() + "@example.com"));
        const auto product = scalar("INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, 'Walnut desk', 12000, 5) RETURNING id",
                                    db::params("sku-" + test::unique_suffix()));
        const bool paid = status == "paid";
        const auto id = scalar(
            "INSERT INTO orders (user_id, status, total_cents, currency, shipping_address, paid_at) VALUES ($1, $2, 24000, "
            "'USD', '{\"city\":\"Oslo\"}', CASE WHEN $3::boolean THEN now() END) RETURNING id",
            db::params(user, status, paid));
        scalar("INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, 2, 12000) "
               "RETURNING order_id",
               db::params(id, product));
        return id;
    }
    std::size_t spool_files() {
        std::size_t n = 0;
        if (!std::filesystem::exists(spool_)) return 0;
        for (const auto& e : std::filesystem::directory_iterator(spool_)) n += e.path().extension() == ".eml" ? 1 : 0;
        return n;
    }

    core::CpuPool cpu_{1};
    std::filesystem::path spool_;
    std::shared_ptr<notify::NotifyService> service_;
};

TEST_F(DocumentsTest, OneEmailAndOneReceiptPerOrderHoweverOftenTheJobsRun) {
    const auto id = order("paid");
    for (int i = 0; i < 3; ++i) {
        auto sent = run(service_->send_order_confirmation(id));
        ASSERT_TRUE(sent) << sent.error().message;
        auto rendered = run(service_->render_receipt(id));
        ASSERT_TRUE(rendered) << rendered.error().message;
    }
    // Concurrent deliveries of the same job as well.
    std::vector<asio::awaitable<void>> racing;
    auto deliver = [](notify::NotifyService* s, std::int64_t order_id) -> asio::awaitable<void> {
        auto r = co_await s->send_order_confirmation(order_id);
        if (!r) throw std::runtime_error(r.error().message);
    };
    for (int i = 0; i < 4; ++i) racing.push_back(deliver(service_.get(), id));
    redis::test::run_all(ctx_, std::move(racing));

    EXPECT_EQ(spool_files(), 1U);
    EXPECT_EQ(scalar("SELECT count(*) FROM emails WHERE order_id = $1 AND status = 'sent'", db::params(id)), 1);
    EXPECT_EQ(scalar("SELECT attempts FROM emails WHERE order_id = $1", db::params(id)), 1);
    EXPECT_EQ(scalar("SELECT count(*) FROM receipts WHERE order_id = $1", db::params(id)), 1);

    const auto eml = spool_ / ("order-" + std::to_string(id) + "-confirmation.eml");
    std::ifstream in(eml, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("To: ann-"), std::string::npos);
    EXPECT_NE(text.find("multipart/alternative"), std::string::npos);
    EXPECT_NE(text.find(notify::order_number(id)), std::string::npos);

    auto pdf = run(service_->receipt_pdf(id, 0, true));
    ASSERT_TRUE(pdf);
    EXPECT_EQ(pdf->rfind("%PDF-", 0), 0U);
    const auto path = spool_ / "r.pdf";
    std::ofstream(path, std::ios::binary) << *pdf;
    std::string out;
    if (FILE* p = ::popen(("pdftotext -layout " + path.string() + " - 2>&1").c_str(), "r")) {
        std::array<char, 4096> buf{};
        while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
        ::pclose(p);
    }
    EXPECT_NE(out.find("Test Shop"), std::string::npos) << out;
    EXPECT_NE(out.find(notify::order_number(id)), std::string::npos) << out;
    EXPECT_NE(out.find("Walnut desk"), std::string::npos) << out;
    EXPECT_NE(out.find("240.00"), std::string::npos) << out;
    EXPECT_NE(out.find("VAT"), std::string::npos) << out;
    EXPECT_NE(out.find("40.00"), std::string::npos) << "20 % VAT included in 240.00 is 40.00\n" << out;
}

// A line of a variant other than the product's default is named by its SKU on the receipt.
TEST_F(DocumentsTest, TheReceiptNamesTheVariantOfEachLine) {
    const auto id = order("paid");
    const auto sku = "WD-OAK-" + test::unique_suffix();
    scalar("WITH v AS (INSERT INTO product_variants (product_id, sku, option_key, stock) "
           "SELECT product_id, $2, 'oak', 0 FROM order_items WHERE order_id = $1 RETURNING id, product_id) "
           "INSERT INTO order_items (order_id, product_id, variant_id, quantity, unit_price_cents) "
           "SELECT $1, product_id, id, 1, 15000 FROM v RETURNING order_id",
           db::params(id, sku));
    auto rendered = run(service_->render_receipt(id));
    ASSERT_TRUE(rendered) << rendered.error().message;
    auto pdf = run(service_->receipt_pdf(id, 0, true));
    ASSERT_TRUE(pdf);
    const auto path = spool_ / "variants.pdf";
    std::filesystem::create_directories(spool_);
    std::ofstream(path, std::ios::binary) << *pdf;
    std::string out;
    if (FILE* p = ::popen(("pdftotext -layout " + path.string() + " - 2>&1").c_str(), "r")) {
        std::array<char, 4096> buf{};
        while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
        ::pclose(p);
    }
    EXPECT_NE(out.find("Walnut desk (" + sku + ")"), std::string::npos) << out;
    EXPECT_NE(out.find("150.00"), std::string::npos) << out;
}

TEST_F(DocumentsTest, UnpaidOrUnknownOrdersAreRefusedAndReceiptsAreOnlyForTheOwner) {
    const auto pending = order("pending_payment");
    auto sent = run(service_->send_order_confirmation(pending));
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().code, core::Errc::kConflict);
    EXPECT_FALSE(run(service_->render_receipt(pending)));
    auto missing = run(service_->render_receipt(999'999));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, core::Errc::kNotFound);
    EXPECT_EQ(spool_files(), 0U);

    const auto paid = order("paid");
    const auto owner = scalar("SELECT user_id FROM orders WHERE id = $1", db::params(paid));
    auto not_yet = run(service_->receipt_pdf(paid, owner, false));
    ASSERT_FALSE(not_yet);
    EXPECT_EQ(not_yet.error().code, core::Errc::kNotFound);
    ASSERT_TRUE(run(service_->render_receipt(paid)));
    EXPECT_TRUE(run(service_->receipt_pdf(paid, owner, false)));
    auto other = run(service_->receipt_pdf(paid, owner + 1000, false));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, core::Errc::kNotFound);
}

}  // namespace
}  // namespace emporium::jobs
