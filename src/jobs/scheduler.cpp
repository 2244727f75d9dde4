#include "jobs/scheduler.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "jobs/jobs_types.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace emporium::jobs {

namespace asio = boost::asio;

namespace {

// KEYS: lease. ARGV: token, ttl ms. Takes a free lease or extends our own.
const redis::Script kHoldLease(R"lua(
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");

// KEYS: lease. ARGV: token. Gives the lease up if we hold it.
const redis::Script kReleaseLease(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

}  // namespace

Scheduler::Scheduler(ClientRef redis, redis::Keys keys, SchedulerSettings settings, std::vector<ScheduleEntry> entries)
    : redis_(std::move(redis)),
      keys_(std::move(keys)),
      settings_(settings),
      entries_(std::move(entries)),
      token_(core::random_hex_id()) {}

asio::awaitable<bool> Scheduler::hold_lease() {
    std::vector<std::string> keys{keys_.make("scheduler", "leader")};
    std::vector<std::string> args{token_, std::to_string(settings_.leader_ttl.count())};
    auto r = co_await redis_().eval(kHoldLease, std::move(keys), std::move(args));
    co_return !r.is_error() && r.integer == 1;
}

asio::awaitable<std::vector<std::string>> Scheduler::tick(std::int64_t now) {
    std::vector<std::string> fired;
    const bool was_leader = leader_;
    leader_ = co_await hold_lease();
    if (leader_ != was_leader) {
        core::log::info(leader_ ? "scheduler: became leader" : "scheduler: lost leadership", {{"token", token_}});
    }
    if (!leader_) co_return fired;
    for (auto& entry : entries_) {
        const auto slot = entry.schedule.slot_at(now);
        if (!slot) continue;
        auto last = last_slot_.find(entry.name);
        if (last != last_slot_.end() && last->second >= *slot) continue;
        last_slot_[entry.name] = *slot;
        if (entry.schedule.is_cron() && now - entry.schedule.slot_start_ms(*slot) > settings_.cron_grace.count()) {
            continue;  // matched long before we looked; wait for the next match
        }
        const auto ttl = std::max<std::int64_t>(2 * entry.schedule.granularity().count(), 60'000);
        auto claimed = co_await redis_().command(redis::cmd("SET", keys_.make("scheduler", "fired", entry.name, *slot),
                                                            token_, "NX", "PX", std::to_string(ttl)));
        if (!claimed.is_ok()) continue;  // another scheduler fired this period
        try {
            co_await entry.action(*slot);
            fired.push_back(entry.name);
            core::Metrics::global()
                .counter("emporium_scheduler_fired_total", "Periodic entries fired", {{"entry", entry.name}})
                .inc();
            core::log::info("scheduler fired", {{"entry", entry.name}, {"slot", *slot}});
        } catch (const std::exception& e) {
            core::log::error("scheduler entry failed", {{"entry", entry.name}, {"error", e.what()}});
        }
    }
    co_return fired;
}

asio::awaitable<void> Scheduler::run() {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    core::log::info("scheduler started", {{"entries", entries_.size()}, {"token", token_}});
    while (!stopping_) {
        try {
            co_await tick(now_ms());
        } catch (const std::exception& e) {
            if (leader_) core::log::warn("scheduler: Redis unreachable; not firing", {{"error", e.what()}});
            leader_ = false;
        }
        timer.expires_after(settings_.tick);
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (leader_) {
        try {
            std::vector<std::string> keys{keys_.make("scheduler", "leader")};
            std::vector<std::string> args{token_};
            co_await redis_().eval(kReleaseLease, std::move(keys), std::move(args));
        } catch (const std::exception&) {
            // The lease expires on its own.
        }
    }
    core::log::info("scheduler stopped");
}

}  // namespace emporium::jobs
