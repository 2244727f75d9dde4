#pragma once
// `emporium worker`: reads jobs of the chosen queues with the consumer group, runs their handlers
// (at most `concurrency` at a time, each with its type's timeout), then acknowledges, schedules a
// retry with backoff, or moves the job to the dead-letter stream. Jobs a dead worker left behind
// are reclaimed after the visibility timeout; jobs still running are kept visible by a heartbeat.
//
// Reading: each queue's stream is in its own hash slot (Redis Cluster refuses one XREADGROUP over
// streams of several slots), so the worker reads them one at a time, without blocking, taking as
// many jobs as it has free slots (the queue it starts with rotates, so a busy queue does not starve
// the others). When every queue came back empty it sleeps until a watcher rings: one watcher per
// queue blocks on its own connection in XREAD (outside the consumer group, so it takes nothing)
// for an entry newer than the last it saw, and wakes the reader as soon as one arrives. A job
// therefore starts as soon as today (no polling delay), and a lost watcher only delays it to the
// next `block` (the reader also reads again after `block` however quiet it is).

#include "core/error.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/jobs_types.hpp"
#include "redis/redis.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace emporium::jobs {

// A handler's answer. Errors with a permanent code (kValidation, kNotFound, kConflict, kForbidden)
// go straight to the dead-letter stream; any other error or exception is retried.
using Handler = std::function<boost::asio::awaitable<core::Result<void>>(Job)>;

bool is_permanent(const core::Error& error);

struct WorkerSettings {
    std::vector<std::string> queues{kQueues.begin(), kQueues.end()};
    int concurrency = 8;
    std::string consumer;  // unique per process: host:pid:random
    std::chrono::milliseconds block{1'000};
    std::chrono::milliseconds visibility_timeout{60'000};
    std::chrono::milliseconds promote_interval{500};
    // How often the maintenance loop looks for jobs left under the keys of the previous release
    // (JobQueue::migrate_legacy; once at start too): catches an old process still enqueueing
    // during a rolling upgrade.
    std::chrono::milliseconds legacy_check_interval{60'000};
    RetryPolicies policies;
    // Delay before each handler runs. Fault-injection tests use it to kill a worker mid-job.
    std::chrono::milliseconds handler_delay{0};
};

class Worker {
public:
    Worker(const boost::asio::any_io_executor& ex,
           WorkerSettings settings,
           std::shared_ptr<JobQueue> queue,
           redis::ClientOptions blocking_client);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Registers the handler of a job type.
    void handle(std::string type, Handler handler);

    // Runs until stop(); then waits for running jobs to finish (at most `drain`) and returns.
    boost::asio::awaitable<void> run(std::chrono::milliseconds drain);
    void stop();

    std::size_t running() const { return running_.size(); }

private:
    boost::asio::awaitable<void> dispatch(Job job);
    boost::asio::awaitable<void> heartbeat_loop();
    boost::asio::awaitable<void> maintenance_loop();
    boost::asio::awaitable<void> watch_loop(std::size_t index);
    boost::asio::awaitable<void> wait_for_slot();
    void wake();

    boost::asio::any_io_executor ex_;
    WorkerSettings settings_;
    std::shared_ptr<JobQueue> queue_;
    // One blocking connection and one "a read pass started" timer per watched queue.
    std::vector<std::unique_ptr<redis::Client>> watchers_;
    std::vector<std::unique_ptr<boost::asio::steady_timer>> watcher_waits_;
    bool rung_ = false;             // a watcher saw a new entry since the last read pass began
    std::uint64_t passes_ = 0;      // read passes begun
    std::map<std::string, Handler, std::less<>> handlers_;
    std::set<std::pair<std::string, std::string>> running_;  // (queue, stream id)
    boost::asio::steady_timer wakeup_;  // cancelled when a slot frees up or on stop
    std::mt19937_64 rng_;
    bool stopping_ = false;
    bool finished_ = false;  // run() is past its drain: the background loops end
    int loops_ = 0;          // background loops still running; run() waits for them
};

}  // namespace emporium::jobs
