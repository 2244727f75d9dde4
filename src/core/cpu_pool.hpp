#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace emporium::core {

// The pool for CPU-heavy work (password hashing, PDF rendering, scoring) so I/O threads never block.
class CpuPool {
public:
    explicit CpuPool(std::size_t threads) : pool_(threads) {}
    boost::asio::thread_pool& pool() { return pool_; }
    void join() { pool_.join(); }

private:
    boost::asio::thread_pool pool_;
};

namespace detail {
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> invoke_as_coroutine(F f) {
    co_return f();
}
}  // namespace detail

// Runs `f` on the CPU pool and resumes the caller on its own executor with the result.
template <typename F>
boost::asio::awaitable<std::invoke_result_t<F>> run_on_cpu(CpuPool& cpu, F f) {
    co_return co_await boost::asio::co_spawn(cpu.pool(), detail::invoke_as_coroutine(std::move(f)),
                                             boost::asio::use_awaitable);
}

}  // namespace emporium::core
