#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

namespace emporium::core {

// One io_context per I/O thread. Everything created for a context (HTTP connections, database and
// Redis connections) is used only from that context's thread, so the context is the strand of all
// its objects and they need no locks.
class Runtime {
public:
    static constexpr std::size_t kNoContext = std::numeric_limits<std::size_t>::max();

    explicit Runtime(unsigned threads);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;
    ~Runtime();

    std::size_t size() const { return contexts_.size(); }
    boost::asio::io_context& context(std::size_t i) { return *contexts_[i]; }
    // Round-robin choice, for spreading accepted connections.
    boost::asio::io_context& next();

    // Runs every context on its own thread (the caller's thread runs context 0); returns when
    // all of them have stopped.
    void run();
    // Lets the contexts finish once they run out of work.
    void release_work();
    // Stops every context now.
    void stop();

    // Index of the context the calling thread runs, or kNoContext.
    static std::size_t current_index();

private:
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
    std::atomic<std::size_t> next_{0};
};

// One T per context of a Runtime; `local()` gives the calling thread's instance.
template <typename T>
class PerContext {
public:
    template <typename Factory>
    PerContext(Runtime& rt, Factory make) {
        items_.reserve(rt.size());
        for (std::size_t i = 0; i < rt.size(); ++i) items_.push_back(make(rt.context(i), i));
    }
    T& local() {
        auto i = Runtime::current_index();
        return *items_[i == Runtime::kNoContext ? 0 : i];
    }
    T& at(std::size_t i) { return *items_[i]; }
    std::size_t size() const { return items_.size(); }
    auto begin() { return items_.begin(); }
    auto end() { return items_.end(); }

private:
    std::vector<std::unique_ptr<T>> items_;
};

}  // namespace emporium::core
