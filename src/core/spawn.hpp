#pragma once

#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <string>

namespace emporium::core {

namespace detail {
struct LogExceptionHandler {
    std::string task;
    void operator()(const std::exception_ptr& e) const {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log::error("task failed", {{"task", task}, {"error", ex.what()}});
        }
    }
};
}  // namespace detail

// Spawns a coroutine whose failure is logged (never silently dropped). The owner of the task is
// whoever keeps the executor alive and waits for it (the server for connections, the job runner
// for jobs).
template <typename Executor, typename Awaitable>
void spawn_tracked(Executor ex, Awaitable task, std::string name) {
    boost::asio::co_spawn(ex, std::move(task), detail::LogExceptionHandler{std::move(name)});
}

}  // namespace emporium::core
