#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace emporium::test {

// Drives an awaitable to completion on a private io_context and returns its value (rethrows its
// exception). Fails with std::runtime_error if it does not finish within `limit`.
template <typename T>
T run_coro(boost::asio::io_context& ctx, boost::asio::awaitable<T> aw,
           std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    bool done = false;
    if constexpr (std::is_void_v<T>) {
        boost::asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e) {
            error = e;
            done = true;
        });
    } else {
        boost::asio::co_spawn(ctx, std::move(aw), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e) result.emplace(std::move(v));
            done = true;
        });
    }
    ctx.restart();
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        ctx.run_one_for(std::chrono::milliseconds(50));
    }
    if (!done) throw std::runtime_error("run_coro: coroutine did not finish in time");
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

template <typename T>
T run_coro(boost::asio::awaitable<T> aw, std::chrono::seconds limit = std::chrono::seconds(60)) {
    boost::asio::io_context ctx;
    return run_coro(ctx, std::move(aw), limit);
}

}  // namespace emporium::test
