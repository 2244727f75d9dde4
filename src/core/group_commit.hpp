#pragma once
// Group commit: requests that each would run a transaction on the same hot rows queue here instead,
// and one writer task at a time takes them in groups (those that arrived while the previous group
// was being written, at most `max`) and writes each group in one transaction. The orders' checkouts
// and the carts' line writes (the `redis` strategy) use it.

#include "core/metrics.hpp"
#include "core/spawn.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace emporium::core {

// What every queued request carries besides its own data. The writer stores its answer in the
// request; a writer that throws fails the whole group with `failure`.
struct GroupMember {
    explicit GroupMember(const boost::asio::any_io_executor& ex) : done(ex, 1) {}
    std::exception_ptr failure;
    boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

template <class Member>  // derived from GroupMember
class GroupCommit {
public:
    using Group = std::vector<std::shared_ptr<Member>>;
    using Writer = std::function<boost::asio::awaitable<void>(Group)>;

    // `queue` labels the queue's counters: emporium_group_commit_groups_total and
    // emporium_group_commit_requests_total (their ratio is the mean group size).
    GroupCommit(std::string name, std::string queue, int max, Writer writer)
        : name_(std::move(name)),
          max_(max),
          writer_(std::move(writer)),
          groups_(Metrics::global().counter("emporium_group_commit_groups_total",
                                            "Groups written by a group commit queue", {{"queue", queue}})),
          requests_(Metrics::global().counter("emporium_group_commit_requests_total",
                                              "Requests written in groups by a group commit queue",
                                              {{"queue", queue}})) {}

    // Queues `member` and returns once its group has been written (its answer is in it); rethrows
    // the writer's failure.
    boost::asio::awaitable<void> submit(std::shared_ptr<Member> member) {
        bool start_writer = false;
        {
            const std::lock_guard guard(mutex_);
            waiting_.push_back(member);
            start_writer = !std::exchange(flushing_, true);
        }
        if (start_writer) spawn_tracked(co_await boost::asio::this_coro::executor, flush(), name_);
        co_await member->done.async_receive(boost::asio::use_awaitable);
        if (member->failure) std::rethrow_exception(member->failure);
    }

private:
    boost::asio::awaitable<void> flush() {
        for (;;) {
            Group group;
            {
                const std::lock_guard guard(mutex_);
                if (waiting_.empty()) {
                    flushing_ = false;
                    co_return;
                }
                while (!waiting_.empty() && static_cast<int>(group.size()) < max_) {
                    group.push_back(std::move(waiting_.front()));
                    waiting_.pop_front();
                }
            }
            groups_.inc();
            requests_.inc(group.size());
            std::exception_ptr failure;
            try {
                co_await writer_(group);
            } catch (...) {
                failure = std::current_exception();
            }
            for (auto& m : group) {
                if (failure) m->failure = failure;
                m->done.try_send(boost::system::error_code{});
            }
        }
    }

    std::string name_;
    int max_;
    Writer writer_;
    Metrics::Counter& groups_;
    Metrics::Counter& requests_;
    std::mutex mutex_;
    std::deque<std::shared_ptr<Member>> waiting_;
    bool flushing_ = false;
};

}  // namespace emporium::core
