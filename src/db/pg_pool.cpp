// Pool and Transaction. All state lives on one executor, so there are no locks; every decision is
// taken synchronously between two co_awaits.
//
// Connections are either shared (Pool::query pipelines statements on them) or leased (one
// Transaction or COPY holds them). Callers that cannot get a connection wait in one FIFO; a
// released connection is handed to the front waiter directly so late arrivals cannot overtake.

#include "core/log.hpp"
#include "db/pg.hpp"
#include "db/pg_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>

namespace emporium::db {

namespace asio = boost::asio;
using detail::Session;
using detail::SteadyClock;

namespace {

struct Waiter {
    Waiter(const asio::any_io_executor& ex, SteadyClock::time_point deadline, bool exclusive_wanted)
        : timer(ex, deadline), exclusive(exclusive_wanted) {}
    asio::steady_timer timer;
    bool exclusive;
    bool done = false;                 // woken: either granted or asked to try again
    std::shared_ptr<Session> granted;  // leased already when `exclusive`
};

}  // namespace

struct Pool::Impl {
    Impl(asio::any_io_executor executor, PoolOptions opts)
        : ex(std::move(executor)), options(std::move(opts)) {}

    asio::any_io_executor ex;
    PoolOptions options;
    std::vector<std::shared_ptr<Session>> sessions;
    std::size_t opening = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;
    bool closed = false;

    bool can_open() const { return !closed && sessions.size() + opening < options.max_size; }

    // Drops sessions that broke (the reader closed them, a timeout, the server went away). A
    // leased session is dropped when its holder returns it.
    void prune() {
        // partition, not remove_if: the broken sessions must stay intact at the tail so they can
        // be closed (remove_if leaves moved-from, null pointers there).
        auto broken = std::stable_partition(sessions.begin(), sessions.end(), [](const std::shared_ptr<Session>& s) {
            return s->is_leased() || s->probe_alive();
        });
        const auto dropped = static_cast<std::size_t>(std::distance(broken, sessions.end()));
        if (dropped == 0) return;
        for (auto it = broken; it != sessions.end(); ++it) (*it)->close();
        sessions.erase(broken, sessions.end());
        core::log::warn("pg pool dropped broken connections", {{"count", dropped}});
        for (std::size_t i = 0; i < dropped; ++i) wake_one_to_retry();
    }

    std::shared_ptr<Session> least_loaded_shared() const {
        std::shared_ptr<Session> best;
        for (const auto& s : sessions) {
            if (s->is_leased() || !s->is_healthy()) continue;
            if (!best || s->in_flight() < best->in_flight()) best = s;
        }
        return best;
    }

    // Capacity appeared (a connection was dropped or failed to open): the front waiter tries again.
    void wake_one_to_retry() {
        if (waiters.empty()) return;
        auto w = waiters.front();
        waiters.pop_front();
        w->done = true;
        w->timer.cancel();
    }

    // A connection finished opening (or failed to): everyone waiting re-evaluates, in FIFO order.
    void wake_all_to_retry() {
        while (!waiters.empty()) wake_one_to_retry();
    }

    static void grant(const std::shared_ptr<Waiter>& w, const std::shared_ptr<Session>& s) {
        if (w->exclusive) s->set_leased(true);
        w->granted = s;
        w->done = true;
        w->timer.cancel();
    }

    // A holder gives its leased session back.
    void release(const std::shared_ptr<Session>& s) {
        s->set_leased(false);
        if (closed || !s->is_healthy()) {
            s->close();
            std::erase(sessions, s);
            if (!closed) wake_one_to_retry();
            return;
        }
        if (waiters.empty()) return;
        if (waiters.front()->exclusive) {
            auto w = waiters.front();
            waiters.pop_front();
            grant(w, s);
            return;
        }
        // Shared waiters at the front can all pipeline on this connection.
        while (!waiters.empty() && !waiters.front()->exclusive) {
            auto w = waiters.front();
            waiters.pop_front();
            grant(w, s);
        }
    }

    void close_all() {
        closed = true;
        for (const auto& s : sessions) {
            if (!s->is_leased()) s->close();
        }
        std::erase_if(sessions, [](const std::shared_ptr<Session>& s) { return !s->is_leased(); });
        while (!waiters.empty()) wake_one_to_retry();
    }
};

namespace {

asio::awaitable<std::shared_ptr<Session>> open_session(std::shared_ptr<Pool::Impl> pool) {
    ++pool->opening;
    std::shared_ptr<Session> session;
    std::exception_ptr error;
    try {
        session = co_await Session::open(pool->ex, pool->options.connection);
    } catch (const core::InfraError&) {
        error = std::current_exception();
    }
    --pool->opening;
    // Shared waiters can pipeline on the new connection; others may open one in the freed slot.
    pool->wake_all_to_retry();
    if (error) std::rethrow_exception(error);
    if (pool->closed) {
        session->close();
        throw ConnectionLostError("pg: pool is closed", "08003");
    }
    pool->sessions.push_back(session);
    co_return session;
}

// Gets a session for one pipelined statement (exclusive = false) or leases one (exclusive = true).
asio::awaitable<std::shared_ptr<Session>> acquire(std::shared_ptr<Pool::Impl> pool,
                                                  bool exclusive,
                                                  SteadyClock::time_point deadline) {
    while (true) {
        if (pool->closed) throw ConnectionLostError("pg: pool is closed", "08003");
        pool->prune();
        auto best = pool->least_loaded_shared();
        bool should_wait = false;
        if (!exclusive) {
            if (best && (best->in_flight() < pool->options.pipeline_depth || !pool->can_open()))
                co_return best;
            // A burst of first statements must not open max_size connections at once: while one
            // is being opened, wait for it and pipeline on it.
            should_wait = pool->opening > 0;
        } else {
            // An idle shared connection first; then a new one; then a busy shared one (the
            // transaction's BEGIN simply queues behind the statements already in flight on it).
            if (best && (best->in_flight() == 0 || !pool->can_open())) {
                best->set_leased(true);
                co_return best;
            }
        }
        if (!should_wait && pool->can_open()) {
            auto session = co_await open_session(pool);
            if (exclusive) session->set_leased(true);
            co_return session;
        }
        auto waiter = std::make_shared<Waiter>(pool->ex, deadline, exclusive);
        pool->waiters.push_back(waiter);
        co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!waiter->done) {
            std::erase(pool->waiters, waiter);
            throw PoolTimeoutError("pg: no database connection available within " +
                                   std::to_string(pool->options.acquire_timeout.count()) + " ms");
        }
        // A statement granted a shared connection runs on it unless a transaction leased it
        // between the grant and now (the statement would run inside that transaction): it then
        // tries again.
        if (waiter->granted && waiter->granted->is_healthy() && (exclusive || !waiter->granted->is_leased()))
            co_return waiter->granted;
        if (waiter->granted && exclusive) pool->release(waiter->granted);
    }
}

// Returns a leased session on every path (including exceptions).
class Lease {
public:
    Lease(std::shared_ptr<Pool::Impl> pool, std::shared_ptr<Session> session)
        : pool_(std::move(pool)), session_(std::move(session)) {}
    ~Lease() {
        if (!session_) return;
        try {
            pool_->release(session_);
        } catch (const std::exception& e) {
            // Only allocation can fail in release(); losing the connection is the lesser evil.
            core::log::error("pg pool release failed", {{"error", e.what()}});
        }
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    const std::shared_ptr<Session>& session() const { return session_; }

private:
    std::shared_ptr<Pool::Impl> pool_;
    std::shared_ptr<Session> session_;
};

asio::awaitable<QueryResult> pool_query(std::shared_ptr<Pool::Impl> pool,
                                        std::string statement,
                                        std::string sql,
                                        Params params,
                                        detail::SendMode mode) {
    const auto deadline = SteadyClock::now() + pool->options.acquire_timeout;
    for (int attempt = 0;; ++attempt) {
        auto session = co_await acquire(pool, false, deadline);
        std::shared_ptr<detail::PendingOp> op;
        try {
            op = session->send(statement, sql, params, mode);
        } catch (const ConnectionLostError&) {
            // Nothing reached the server, so one retry on another (or a new) connection is safe.
            if (attempt >= 1) throw;
            continue;
        }
        co_return co_await Session::await_op(session, std::move(op));
    }
}

asio::awaitable<std::int64_t> pool_copy(std::shared_ptr<Pool::Impl> pool,
                                        std::string copy_sql,
                                        CopySource source) {
    auto session = co_await acquire(pool, true, SteadyClock::now() + pool->options.acquire_timeout);
    Lease lease(pool, session);
    co_return co_await Session::run_copy(session, std::move(copy_sql), std::move(source));
}

asio::awaitable<std::int64_t> pool_copy_out(std::shared_ptr<Pool::Impl> pool,
                                            std::string copy_sql,
                                            CopySink sink) {
    auto session = co_await acquire(pool, true, SteadyClock::now() + pool->options.acquire_timeout);
    Lease lease(pool, session);
    co_return co_await Session::run_copy_out(session, std::move(copy_sql), std::move(sink));
}

asio::awaitable<void> pool_ping(std::shared_ptr<Pool::Impl> pool) {
    static_cast<void>(
        co_await pool_query(std::move(pool), "pool.ping", "SELECT 1", {}, detail::SendMode::kPrepared));
}

std::string_view begin_sql(Isolation isolation) {
    switch (isolation) {
        case Isolation::kRepeatableRead:
            return "BEGIN ISOLATION LEVEL REPEATABLE READ";
        case Isolation::kSerializable:
            return "BEGIN ISOLATION LEVEL SERIALIZABLE";
        case Isolation::kReadCommitted:
            break;
    }
    return "BEGIN ISOLATION LEVEL READ COMMITTED";
}

}  // namespace

// ---- Pool ---------------------------------------------------------------------------------------

Pool::Pool(asio::any_io_executor ex, PoolOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}

Pool::~Pool() {
    try {
        impl_->close_all();
    } catch (const std::exception& e) {
        // Only allocation can fail while closing; libpq's sockets are closed regardless.
        core::log::error("pg pool close failed", {{"error", e.what()}});
    }
}

asio::awaitable<QueryResult> Pool::query(Statement stmt, Params params) {
    return pool_query(
        impl_, std::string(stmt.name), std::string(stmt.sql), std::move(params), detail::SendMode::kPrepared);
}

asio::awaitable<QueryResult> Pool::query_unprepared(std::string sql, Params params) {
    return pool_query(impl_, "unprepared", std::move(sql), std::move(params), detail::SendMode::kUnprepared);
}

asio::awaitable<void> Pool::ping() {
    return pool_ping(impl_);
}

asio::awaitable<std::int64_t> Pool::copy_in(std::string copy_sql, CopySource source) {
    return pool_copy(impl_, std::move(copy_sql), std::move(source));
}

asio::awaitable<std::int64_t> Pool::copy_out(std::string copy_sql, CopySink sink) {
    return pool_copy_out(impl_, std::move(copy_sql), std::move(sink));
}

std::size_t Pool::size() const {
    return impl_->sessions.size();
}

std::size_t Pool::in_use() const {
    return static_cast<std::size_t>(
        std::count_if(impl_->sessions.begin(), impl_->sessions.end(), [](const std::shared_ptr<Session>& s) {
            return s->is_leased();
        }));
}

std::size_t Pool::waiting() const {
    return impl_->waiters.size();
}

void Pool::close() {
    impl_->close_all();
}

// ---- Transaction --------------------------------------------------------------------------------

struct Transaction::State {
    std::shared_ptr<Pool::Impl> pool;
    std::shared_ptr<Session> session;
    Isolation isolation = Isolation::kReadCommitted;
    bool begun = false;     // BEGIN has been sent
    bool finished = false;  // committed, rolled back, or failed at commit: the session is returned
};

namespace {

asio::awaitable<Transaction> pool_begin(std::shared_ptr<Pool::Impl> pool, Isolation isolation) {
    auto session = co_await acquire(pool, true, SteadyClock::now() + pool->options.acquire_timeout);
    auto state = std::make_unique<Transaction::State>();
    state->pool = std::move(pool);
    state->session = std::move(session);
    state->isolation = isolation;
    co_return Transaction(std::move(state));
}

void finish(Transaction::State& st) {
    if (st.finished) return;
    st.finished = true;
    st.pool->release(st.session);
}

// BEGIN travels in the same flush as the first statement: one round trip instead of two.
asio::awaitable<QueryResult> tx_query(
    Transaction::State* st, std::string statement, std::string sql, Params params, detail::SendMode mode) {
    if (st == nullptr || st->finished) throw std::logic_error("db::Transaction: used after commit/rollback");
    std::shared_ptr<detail::PendingOp> begin_op;
    if (!st->begun) {
        begin_op = st->session->send("tx.begin", begin_sql(st->isolation), {}, detail::SendMode::kUnprepared);
        st->begun = true;
    }
    auto op = st->session->send(statement, sql, params, mode);
    if (begin_op) static_cast<void>(co_await Session::await_op(st->session, std::move(begin_op)));
    co_return co_await Session::await_op(st->session, std::move(op));
}

asio::awaitable<std::int64_t> tx_copy_out(Transaction::State* st, std::string copy_sql, CopySink sink) {
    if (st == nullptr || st->finished) throw std::logic_error("db::Transaction: used after commit/rollback");
    if (!st->begun) {
        auto begin_op = st->session->send("tx.begin", begin_sql(st->isolation), {}, detail::SendMode::kUnprepared);
        st->begun = true;
        static_cast<void>(co_await Session::await_op(st->session, std::move(begin_op)));
    }
    co_return co_await Session::run_copy_out(st->session, std::move(copy_sql), std::move(sink));
}

asio::awaitable<void> tx_end(Transaction::State* st, bool commit) {
    if (st == nullptr || st->finished) throw std::logic_error("db::Transaction: already finished");
    if (!st->begun) {
        // Nothing was sent: there is nothing to commit or roll back.
        finish(*st);
        co_return;
    }
    std::exception_ptr error;
    QueryResult result;
    try {
        auto op = st->session->send(commit ? "tx.commit" : "tx.rollback",
                                    commit ? "COMMIT" : "ROLLBACK",
                                    {},
                                    detail::SendMode::kUnprepared);
        result = co_await Session::await_op(st->session, std::move(op));
    } catch (const core::InfraError&) {
        // Either way the transaction is over on the server (a failed COMMIT rolls back); return
        // the connection before reporting.
        error = std::current_exception();
    }
    finish(*st);
    if (error) std::rethrow_exception(error);
    // COMMIT of a transaction that already failed answers "ROLLBACK" without an error; the caller
    // must not believe its writes are durable.
    if (commit && result.command() == "ROLLBACK") {
        throw DbError("pg: COMMIT rolled back because an earlier statement of the transaction failed",
                      "25P02");
    }
}

}  // namespace

asio::awaitable<Transaction> Pool::begin(Isolation isolation) {
    return pool_begin(impl_, isolation);
}

Transaction::Transaction(std::unique_ptr<State> state) : state_(std::move(state)) {}
Transaction::Transaction(Transaction&&) noexcept = default;

Transaction& Transaction::operator=(Transaction&& other) noexcept {
    if (this != &other) {
        Transaction discarded(std::move(*this));  // rolls back what this held
        state_ = std::move(other.state_);
    }
    return *this;
}

Transaction::~Transaction() {
    if (!state_ || state_->finished) return;
    try {
        if (state_->begun && state_->session->is_healthy()) {
            // A destructor cannot co_await: queue the ROLLBACK and return the connection right
            // away. Statements of the next holder queue behind it on the same connection, so they
            // never see this transaction's state.
            static_cast<void>(
                state_->session->send("tx.rollback", "ROLLBACK", {}, detail::SendMode::kUnprepared));
        }
    } catch (const ConnectionLostError&) {
        // The connection is gone, and the server rolled back with it; finish() drops it.
    } catch (const std::exception& e) {
        // Anything else would leave the transaction open on the connection: close it, so the
        // server rolls back and the pool never hands it out again.
        core::log::error("pg queued rollback failed", {{"error", e.what()}});
        state_->session->close();
    }
    try {
        finish(*state_);
    } catch (const std::exception& e) {
        core::log::error("pg pool release failed", {{"error", e.what()}});
    }
}

asio::awaitable<QueryResult> Transaction::query(Statement stmt, Params params) {
    return tx_query(state_.get(),
                    std::string(stmt.name),
                    std::string(stmt.sql),
                    std::move(params),
                    detail::SendMode::kPrepared);
}

asio::awaitable<QueryResult> Transaction::query_unprepared(std::string sql, Params params) {
    return tx_query(
        state_.get(), "unprepared", std::move(sql), std::move(params), detail::SendMode::kUnprepared);
}

asio::awaitable<std::int64_t> Transaction::copy_out(std::string copy_sql, CopySink sink) {
    return tx_copy_out(state_.get(), std::move(copy_sql), std::move(sink));
}

asio::awaitable<void> Transaction::commit() {
    return tx_end(state_.get(), true);
}
asio::awaitable<void> Transaction::rollback() {
    return tx_end(state_.get(), false);
}
bool Transaction::is_open() const {
    return state_ && !state_->finished;
}

}  // namespace emporium::db
