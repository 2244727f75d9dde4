#pragma once
// `emporium scheduler`: fires periodic entries once per period cluster-wide. Safe to run several:
// only the holder of a renewed Redis leader lease fires, and each firing first claims a marker
// key for (entry, period) with SET NX, so even two processes that both believe they lead (a lease
// that expired during a pause) cannot fire the same period twice.

#include "jobs/schedule.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace emporium::jobs {

struct ScheduleEntry {
    std::string name;
    Schedule schedule;
    // Runs when the entry fires; `slot` identifies the period (for idempotent job ids).
    std::function<boost::asio::awaitable<void>(std::int64_t slot)> action;
};

struct SchedulerSettings {
    std::chrono::milliseconds leader_ttl{10'000};
    std::chrono::milliseconds tick{250};
    // A cron period older than this when first seen is skipped rather than fired late.
    std::chrono::milliseconds cron_grace{60'000};
};

class Scheduler {
public:
    using ClientRef = std::function<redis::Client&()>;

    Scheduler(ClientRef redis, redis::Keys keys, SchedulerSettings settings, std::vector<ScheduleEntry> entries);

    boost::asio::awaitable<void> run();
    void stop() { stopping_ = true; }

    bool is_leader() const { return leader_; }
    const std::string& token() const { return token_; }

    // One round: renew or take the lease, then fire what is due. Returns the names fired.
    boost::asio::awaitable<std::vector<std::string>> tick(std::int64_t now_ms);

private:
    boost::asio::awaitable<bool> hold_lease();

    ClientRef redis_;
    redis::Keys keys_;
    SchedulerSettings settings_;
    std::vector<ScheduleEntry> entries_;
    std::map<std::string, std::int64_t> last_slot_;  // per entry, fired or seen taken
    std::string token_;
    bool leader_ = false;
    bool stopping_ = false;
};

}  // namespace emporium::jobs
