#pragma once
// Runs a unit of work in a transaction and retries it when PostgreSQL reports a serialization
// failure or a deadlock (RetryableDbError), with a small jittered backoff. Everything else
// propagates unchanged on the first failure.

#include "db/pg.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <random>
#include <type_traits>

namespace emporium::db {

namespace detail {
// 5..15 ms, then 10..30 ms, 20..60 ms…: spreads colliding retries apart.
inline std::chrono::milliseconds retry_backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int base = 5 << std::min(attempt - 1, 6);
    std::uniform_int_distribution<int> dist(base, base * 3);
    return std::chrono::milliseconds(dist(rng));
}
}  // namespace detail

// `f` is called as `f(Transaction&)` and returns boost::asio::awaitable<R>; on success the
// transaction is committed and R returned. `f` runs again (in a fresh transaction) after a
// RetryableDbError thrown by it or by COMMIT, at most `max_attempts` times in total; the last
// RetryableDbError is rethrown. `f` must not have side effects outside the transaction, or they
// must be idempotent. Pass a named function object or a function: lambda coroutines with
// captures are not allowed (STYLE.md §4).
template <typename F>
auto with_transaction(
    Pool& pool,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): callers co_await directly
    F f,
    int max_attempts = 3,
    Isolation isolation = Isolation::kReadCommitted)
    -> boost::asio::awaitable<typename std::invoke_result_t<F&, Transaction&>::value_type> {
    using R = typename std::invoke_result_t<F&, Transaction&>::value_type;
    for (int attempt = 1;; ++attempt) {
        std::exception_ptr retryable;
        try {
            Transaction tx = co_await pool.begin(isolation);
            if constexpr (std::is_void_v<R>) {
                co_await f(tx);
                co_await tx.commit();
                co_return;
            } else {
                R result = co_await f(tx);
                co_await tx.commit();
                co_return result;
            }
        } catch (const RetryableDbError&) {
            if (attempt >= max_attempts) throw;
            retryable = std::current_exception();
        }
        // The failed Transaction has been destroyed (its ROLLBACK queued) before we wait.
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor,
                                        detail::retry_backoff(attempt));
        co_await timer.async_wait(boost::asio::use_awaitable);
    }
}

}  // namespace emporium::db
