#pragma once
// `emporium worker`: reads jobs of the chosen queues with the consumer group, runs their handlers
// (at most `concurrency` at a time, each with its type's timeout), then acknowledges, schedules a
// retry with backoff, or moves the job to the dead-letter stream. Jobs a dead worker left behind
// are reclaimed after the visibility timeout; jobs still running are kept visible by a heartbeat.

#include "core/error.hpp"
#include "jobs/job_queue.hpp"
#include "jobs/jobs_types.hpp"
#include "redis/redis.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
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
    boost::asio::awaitable<void> wait_for_slot();
    void wake();

    boost::asio::any_io_executor ex_;
    WorkerSettings settings_;
    std::shared_ptr<JobQueue> queue_;
    redis::Client blocking_;
    std::map<std::string, Handler, std::less<>> handlers_;
    std::set<std::pair<std::string, std::string>> running_;  // (queue, stream id)
    boost::asio::steady_timer wakeup_;  // cancelled when a slot frees up or on stop
    std::mt19937_64 rng_;
    bool stopping_ = false;
    bool finished_ = false;  // run() is past its drain: the background loops end
    int loops_ = 0;          // background loops still running; run() waits for them
};

}  // namespace emporium::jobs
