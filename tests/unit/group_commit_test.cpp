// core::GroupCommit: every request is answered once, by the group it joined; requests that arrive
// while a group is being written form the next one (at most `max`); a writer's failure reaches
// every request of its group and not the next; the counters count groups and requests.
#include "core/group_commit.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace emporium::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Request : GroupMember {
    Request(const asio::any_io_executor& ex, int n) : GroupMember(ex), number(n) {}
    int number;
    int answer = -1;  // the index of the group that wrote it
};

// Records the groups; each write takes 5 ms (a transaction), the third group fails.
struct Writer {
    std::vector<std::vector<int>>* groups;
    asio::awaitable<void> operator()(GroupCommit<Request>::Group group) const { return write(groups, std::move(group)); }
    static asio::awaitable<void> write(std::vector<std::vector<int>>* groups, GroupCommit<Request>::Group group) {
        asio::steady_timer wait(co_await asio::this_coro::executor, 5ms);
        co_await wait.async_wait(asio::use_awaitable);
        const auto index = static_cast<int>(groups->size());
        groups->emplace_back();
        for (auto& r : group) {
            groups->back().push_back(r->number);
            r->answer = index;
        }
        if (index == 2) throw std::runtime_error("the third group failed");
    }
};

asio::awaitable<void> send(GroupCommit<Request>* queue, std::shared_ptr<Request> request, int* failures) {
    try {
        co_await queue->submit(request);
    } catch (const std::runtime_error&) {
        ++*failures;
    }
}

TEST(GroupCommit, RequestsArrivingDuringAWriteFormTheNextGroupsAndFailuresStayInTheirGroup) {
    asio::io_context ctx;
    std::vector<std::vector<int>> groups;
    GroupCommit<Request> queue("test group commit", "unit_test", 4, Writer{&groups});
    auto& registry = Metrics::global();
    const auto groups_before = registry.counter("emporium_group_commit_groups_total", "", {{"queue", "unit_test"}}).value();
    const auto requests_before =
        registry.counter("emporium_group_commit_requests_total", "", {{"queue", "unit_test"}}).value();
    std::vector<std::shared_ptr<Request>> requests;
    int failures = 0;
    for (int i = 0; i < 10; ++i) {
        requests.push_back(std::make_shared<Request>(ctx.get_executor(), i));
        asio::co_spawn(ctx, send(&queue, requests.back(), &failures), asio::detached);
    }
    ctx.run_for(5s);

    // The first request starts the writer alone; the nine that queued behind it are taken at most
    // four at a time, in arrival order.
    ASSERT_EQ(groups.size(), 4U);
    EXPECT_EQ(groups[0], (std::vector<int>{0}));
    EXPECT_EQ(groups[1], (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(groups[2], (std::vector<int>{5, 6, 7, 8}));
    EXPECT_EQ(groups[3], (std::vector<int>{9}));
    for (const auto& r : requests) EXPECT_GE(r->answer, 0) << r->number;
    EXPECT_EQ(failures, 4);  // the third group's members, and only them
    EXPECT_EQ(registry.counter("emporium_group_commit_groups_total", "", {{"queue", "unit_test"}}).value() - groups_before,
              4U);
    EXPECT_EQ(
        registry.counter("emporium_group_commit_requests_total", "", {{"queue", "unit_test"}}).value() - requests_before,
        10U);

    // The queue starts a new writer once it has drained.
    auto late = std::make_shared<Request>(ctx.get_executor(), 10);
    asio::co_spawn(ctx, send(&queue, late, &failures), asio::detached);
    ctx.restart();
    ctx.run_for(5s);
    EXPECT_EQ(late->answer, 4);
}

}  // namespace
}  // namespace emporium::core
