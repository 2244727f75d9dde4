#include "db/pg_session.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <climits>

#include <algorithm>
#include <memory>
#include <poll.h>
#include <stdexcept>
#include <utility>
#include <vector>

namespace emporium::db::detail {

namespace asio = boost::asio;
using WaitType = asio::posix::descriptor_base::wait_type;

namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

// Server notices (e.g. "relation already exists, skipping") would go to stderr by default.
void on_notice(void* /*arg*/, const char* message) {
    std::string_view text = message != nullptr ? message : "";
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    core::log::debug("pg notice", {{"notice", text}});
}

// statement_timeout fires on the server a little before our own deadline, so a slow statement
// normally ends as a clean server-side cancel (the connection survives) rather than as a
// client-side timeout (which has to close the connection).
std::chrono::milliseconds server_statement_timeout(std::chrono::milliseconds query_timeout) {
    if (query_timeout.count() <= 0) return std::chrono::milliseconds(0);
    const auto margin = std::min(query_timeout / 10, std::chrono::milliseconds(250));
    return std::max(query_timeout - margin, std::chrono::milliseconds(1));
}

std::string trimmed_error(const PGconn* conn) {
    std::string text = conn != nullptr ? PQerrorMessage(conn) : "no connection";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

struct ConninfoDeleter {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

}  // namespace

PendingOp::PendingOp(const asio::any_io_executor& ex,
                     SteadyClock::time_point sent,
                     std::chrono::milliseconds timeout,
                     std::string statement_name)
    : timer(ex, sent + timeout),
      started(sent),
      deadline(sent + timeout),
      statement(std::move(statement_name)) {}

// While a script or COPY runs the session is out of pipeline mode and nothing else may be queued.
struct Session::ExclusiveIo {
    explicit ExclusiveIo(Session& s) : session(s) {
        if (s.exclusive_io_) throw std::logic_error("db::Connection: a script or COPY is already running");
        if (s.pipeline_ && PQexitPipelineMode(s.conn_) != 1) {
            throw DbError("pg: cannot leave pipeline mode: " + trimmed_error(s.conn_), "");
        }
        s.exclusive_io_ = true;
    }
    ~ExclusiveIo() {
        session.exclusive_io_ = false;
        if (session.pipeline_ && session.conn_ != nullptr && PQenterPipelineMode(session.conn_) != 1) {
            // Cannot happen on an idle healthy connection; if it does, the session is unusable.
            try {
                session.fail_connection("cannot re-enter pipeline mode");
            } catch (const std::exception& e) {
                // Only allocation can fail here; the connection is unusable either way.
                core::log::error("pg close failed", {{"error", e.what()}});
            }
        }
    }
    ExclusiveIo(const ExclusiveIo&) = delete;
    ExclusiveIo& operator=(const ExclusiveIo&) = delete;
    Session& session;
};

Session::Session(asio::any_io_executor ex, ConnectionOptions options)
    : ex_(std::move(ex)), options_(std::move(options)), pipeline_(options_.pipeline) {}

Session::~Session() {
    // libpq owns the fd: hand it back before PQfinish closes it.
    if (socket_) socket_->release();
    if (conn_ != nullptr) PQfinish(conn_);
}

bool Session::is_healthy() const {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

void Session::require_usable() const {
    if (!is_healthy()) throw ConnectionLostError("pg: connection is closed", "08003");
    if (exclusive_io_) throw std::logic_error("db::Connection: busy with a script or COPY");
}

void Session::assign_socket() {
    // During connect libpq may close its socket and open another (next host, SSL retry), possibly
    // under the same number, so the descriptor is re-registered before every wait.
    if (socket_) {
        socket_->release();
        socket_.reset();
    }
    const int fd = PQsocket(conn_);
    if (fd < 0) throw ConnectionLostError("pg: connection has no socket: " + trimmed_error(conn_), "08006");
    socket_.emplace(ex_, fd);
}

asio::awaitable<std::shared_ptr<Session>> Session::open(asio::any_io_executor ex, ConnectionOptions options) {
    if (options.pipeline && PQlibVersion() < 140000) {
        throw ConnectionLostError("pg: libpq 14 or newer is required for pipeline mode", "08000");
    }
    auto self = std::make_shared<Session>(ex, options);

    // Start from the URL's own settings and add ours: sessions always run in UTC (Timestamp
    // parsing relies on it) with a server-side statement_timeout.
    char* parse_error = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> parsed(
        PQconninfoParse(options.url.c_str(), &parse_error));
    if (!parsed) {
        std::string why = parse_error != nullptr ? parse_error : "out of memory";
        if (parse_error != nullptr) PQfreemem(parse_error);
        throw ConnectionLostError("pg: invalid database URL: " + why, "08000");
    }
    std::vector<std::string> keys;
    std::vector<std::string> values;
    std::string extra_options;
    bool has_application_name = false;
    for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr) continue;
        const std::string_view key = o->keyword;
        if (key == "options") {
            extra_options = o->val;
            continue;
        }
        if (key == "application_name") has_application_name = true;
        keys.emplace_back(key);
        values.emplace_back(o->val);
    }
    std::string session_options = "-c TimeZone=UTC -c statement_timeout=" +
                                  std::to_string(server_statement_timeout(options.query_timeout).count());
    if (!extra_options.empty()) session_options = extra_options + " " + session_options;
    keys.emplace_back("options");
    values.push_back(std::move(session_options));
    if (!has_application_name) {
        keys.emplace_back("application_name");
        values.emplace_back("emporium");
    }
    std::vector<const char*> key_ptrs;
    std::vector<const char*> value_ptrs;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        key_ptrs.push_back(keys[i].c_str());
        value_ptrs.push_back(values[i].c_str());
    }
    key_ptrs.push_back(nullptr);
    value_ptrs.push_back(nullptr);

    self->conn_ = PQconnectStartParams(key_ptrs.data(), value_ptrs.data(), 0);
    if (self->conn_ == nullptr) throw ConnectionLostError("pg: out of memory starting a connection", "08000");
    if (PQstatus(self->conn_) == CONNECTION_BAD) {
        throw ConnectionLostError("pg: cannot connect: " + trimmed_error(self->conn_), "08001");
    }
    PQsetNoticeProcessor(self->conn_, &on_notice, nullptr);

    const auto deadline = SteadyClock::now() + options.connect_timeout;
    // Right after PQconnectStart the documented protocol is to behave as if PQconnectPoll had
    // returned PGRES_POLLING_WRITING.
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;
    while (poll_status != PGRES_POLLING_OK) {
        if (poll_status == PGRES_POLLING_FAILED) {
            throw ConnectionLostError("pg: cannot connect: " + trimmed_error(self->conn_), "08001");
        }
        self->assign_socket();
        co_await wait_socket(
            self,
            poll_status == PGRES_POLLING_READING ? WaitType::wait_read : WaitType::wait_write,
            deadline,
            "connect");
        poll_status = PQconnectPoll(self->conn_);
    }
    self->assign_socket();
    if (PQsetnonblocking(self->conn_, 1) != 0) {
        throw ConnectionLostError(
            "pg: cannot make the connection non-blocking: " + trimmed_error(self->conn_), "08000");
    }
    if (self->pipeline_ && PQenterPipelineMode(self->conn_) != 1) {
        throw ConnectionLostError("pg: cannot enter pipeline mode: " + trimmed_error(self->conn_), "08000");
    }
    co_return self;
}

asio::awaitable<void> Session::wait_socket(std::shared_ptr<Session> self,
                                           WaitType what,
                                           SteadyClock::time_point deadline,
                                           std::string what_for) {
    if (!self->socket_) throw ConnectionLostError("pg: connection is closed", "08003");
    // The watchdog cancels the wait at the deadline; the flag tells a timeout from a close().
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer watchdog(self->ex_, deadline);
    watchdog.async_wait([weak = std::weak_ptr<Session>(self), timed_out](boost::system::error_code ec) {
        if (ec) return;
        *timed_out = true;
        if (auto s = weak.lock(); s != nullptr && s->socket_) s->socket_->cancel();
    });
    auto [ec] = co_await self->socket_->async_wait(what, kAwaitTuple);
    watchdog.cancel();
    if (*timed_out) {
        self->close_with(make_db_error("pg: connection closed after a timeout", "08006"));
        throw QueryTimeoutError("pg: " + what_for + " timed out");
    }
    if (!self->socket_ || self->conn_ == nullptr) {
        throw ConnectionLostError("pg: connection closed during " + what_for, "08003");
    }
    if (ec) self->fail_connection_and_throw("socket wait failed: " + ec.message());
}

// ---- notifications ------------------------------------------------------------------------------

std::optional<Notification> Session::take_notification() {
    if (conn_ == nullptr) return std::nullopt;
    PGnotify* n = PQnotifies(conn_);
    if (n == nullptr) return std::nullopt;
    Notification out{n->relname != nullptr ? n->relname : "", n->extra != nullptr ? n->extra : ""};
    PQfreemem(n);
    return out;
}

asio::awaitable<std::optional<Notification>> Session::wait_notification(std::shared_ptr<Session> self,
                                                                        std::chrono::milliseconds timeout) {
    self->require_usable();
    if (auto n = self->take_notification()) co_return n;
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
        if (!self->ops_.empty() || self->reader_running_ || self->exclusive_io_) {
            // Someone else reads the socket; their PQconsumeInput buffers our notifications.
            asio::steady_timer nap(self->ex_, std::min(deadline, SteadyClock::now() + std::chrono::milliseconds(20)));
            co_await nap.async_wait(kAwaitTuple);
        } else {
            // Wait for the socket to become readable, but give up quietly at the deadline (unlike
            // wait_socket, a quiet channel is not a failure).
            auto timed_out = std::make_shared<bool>(false);
            asio::steady_timer watchdog(self->ex_, deadline);
            watchdog.async_wait([weak = std::weak_ptr<Session>(self), timed_out](boost::system::error_code ec) {
                if (ec) return;
                *timed_out = true;
                if (auto s = weak.lock(); s != nullptr && s->socket_) s->socket_->cancel();
            });
            auto [ec] = co_await self->socket_->async_wait(WaitType::wait_read, kAwaitTuple);
            watchdog.cancel();
            if (self->conn_ == nullptr || !self->socket_) throw ConnectionLostError("pg: connection closed while listening", "08003");
            if (*timed_out) co_return std::nullopt;
            if (ec) self->fail_connection_and_throw("socket wait failed: " + ec.message());
            if (PQconsumeInput(self->conn_) != 1) self->fail_connection_and_throw(trimmed_error(self->conn_));
            // Parses what was read (an error notice while idle goes to the notice processor).
            static_cast<void>(PQisBusy(self->conn_));
            if (PQstatus(self->conn_) != CONNECTION_OK) self->fail_connection_and_throw("closed by the server while listening");
        }
        if (auto n = self->take_notification()) co_return n;
    }
    co_return std::nullopt;
}

// ---- pipelined statements -----------------------------------------------------------------------

std::shared_ptr<PendingOp> Session::send(std::string_view statement,
                                         std::string_view sql,
                                         const Params& params,
                                         SendMode mode) {
    require_usable();
    if (!pipeline_ && !ops_.empty()) {
        throw std::logic_error("db::Connection: concurrent statements need pipeline mode");
    }
    if (params.size() > 65535)
        throw DbError("pg: " + std::string(statement) + ": too many parameters", "54000");
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
    const int n = static_cast<int>(params.size());
    const std::string sql_text(sql);  // libpq needs NUL-terminated strings

    auto op =
        std::make_shared<PendingOp>(ex_, SteadyClock::now(), options_.query_timeout, std::string(statement));
    bool ok = true;
    if (mode == SendMode::kPrepared && pipeline_) {
        std::string name(statement);
        if (!prepared_.contains(name)) {
            // Parse once per connection; the Parse is pipelined ahead of the first execution.
            ok = PQsendPrepare(conn_, name.c_str(), sql_text.c_str(), n, nullptr) == 1;
            if (ok) {
                prepared_.insert(name);
                op->prepared_name = name;
            }
        }
        ok = ok && PQsendQueryPrepared(conn_, name.c_str(), n, values.data(), nullptr, nullptr, 0) == 1;
    } else {
        // Non-pipelined sessions (migrations, scripts) use the unnamed statement: simpler, and they
        // do not repeat statements often enough for preparing to pay off.
        ok = PQsendQueryParams(conn_, sql_text.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0) == 1;
    }
    // Every statement is its own sync segment: an error aborts only that statement, and outside an
    // explicit transaction each statement commits on its own.
    if (ok && pipeline_) ok = PQpipelineSync(conn_) == 1;
    if (!ok) fail_connection_and_throw("cannot send " + std::string(statement));

    if (ops_.empty()) head_since_ = op->started;
    ops_.push_back(op);
    const int flushed = PQflush(conn_);
    if (flushed < 0) {
        fail_connection("flush failed");
        return op;  // completed with ConnectionLostError
    }
    if (flushed == 1) start_flusher();
    start_reader();
    return op;
}

void Session::start_reader() {
    if (reader_running_ || ops_.empty()) return;
    reader_running_ = true;
    core::spawn_tracked(ex_, reader_loop(shared_from_this()), "pg.reader");
}

void Session::start_flusher() {
    if (flusher_running_) return;
    flusher_running_ = true;
    core::spawn_tracked(ex_, flush_loop(shared_from_this()), "pg.flusher");
}

asio::awaitable<void> Session::reader_loop(std::shared_ptr<Session> self) {
    while (self->conn_ != nullptr && !self->ops_.empty()) {
        self->drain();
        if (self->conn_ == nullptr || self->ops_.empty()) break;
        auto [ec] = co_await self->socket_->async_wait(WaitType::wait_read, kAwaitTuple);
        if (self->conn_ == nullptr) break;  // closed meanwhile; ops already failed
        if (ec) {
            self->fail_connection("socket wait failed: " + ec.message());
            break;
        }
        if (PQconsumeInput(self->conn_) != 1) {
            self->fail_connection(trimmed_error(self->conn_));
            break;
        }
    }
    self->reader_running_ = false;
}

asio::awaitable<void> Session::flush_loop(std::shared_ptr<Session> self) {
    while (self->conn_ != nullptr) {
        const int rc = PQflush(self->conn_);
        if (rc < 0) {
            self->fail_connection("flush failed");
            break;
        }
        // A blocked write makes libpq read whatever the server sent (to avoid a deadlock with a
        // server blocked on its own writes); results may now sit in libpq's buffer without the
        // socket being readable, so match them here.
        self->drain();
        if (rc == 0 || self->conn_ == nullptr) break;
        auto [ec] = co_await self->socket_->async_wait(WaitType::wait_write, kAwaitTuple);
        if (self->conn_ == nullptr) break;
        if (ec) {
            self->fail_connection("socket wait failed: " + ec.message());
            break;
        }
    }
    self->flusher_running_ = false;
}

void Session::drain() {
    // In pipeline mode every op ends with PGRES_PIPELINE_SYNC; the NULLs between statement results
    // only separate steps. Two NULLs in a row mean nothing more is buffered. Without pipeline mode
    // the single op in flight ends at its NULL.
    bool last_was_null = false;
    while (conn_ != nullptr && !ops_.empty() && PQisBusy(conn_) == 0) {
        PgResultPtr res(PQgetResult(conn_));
        auto& op = *ops_.front();
        if (!res) {
            if (!pipeline_) {
                complete_front();
                continue;
            }
            if (last_was_null) break;
            last_was_null = true;
            ++op.steps_seen;
            continue;
        }
        last_was_null = false;
        switch (PQresultStatus(res.get())) {
            case PGRES_PIPELINE_SYNC:
                complete_front();
                break;
            case PGRES_PIPELINE_ABORTED:
                // Follows an error earlier in the same segment, which is already recorded.
                if (!op.error)
                    op.error = make_db_error("pg: " + op.statement + ": pipeline aborted", "25P02");
                break;
            case PGRES_FATAL_ERROR:
            case PGRES_BAD_RESPONSE:
                if (!op.error) op.error = error_from_result(res.get(), conn_, op.statement);
                // The Parse failed, so the name is not prepared on the server; prepare it again next time.
                if (op.steps_seen == 0 && !op.prepared_name.empty()) prepared_.erase(op.prepared_name);
                break;
            case PGRES_COPY_IN:
            case PGRES_COPY_OUT:
            case PGRES_COPY_BOTH:
                // COPY through query() cannot be driven here; the protocol state is now unusable.
                fail_connection("COPY must use copy_in()");
                return;
            default:
                // TUPLES_OK / COMMAND_OK / EMPTY_QUERY / NONFATAL_ERROR: the statement's answer (the
                // prepare's COMMAND_OK comes first and is replaced by the execution's result).
                op.result = std::move(res);
                break;
        }
    }
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_BAD) fail_connection(trimmed_error(conn_));
}

void Session::complete_front() {
    auto op = std::move(ops_.front());
    ops_.pop_front();
    head_since_ = SteadyClock::now();  // the server is now working on the next one
    op->done = true;
    op->timer.cancel();
}

bool Session::head_overdue() const {
    return !ops_.empty() && SteadyClock::now() - head_since_ >= options_.query_timeout;
}

void Session::close_overdue() {
    static auto& closed = core::Metrics::global().counter(
        "emporium_db_connections_closed_unresponsive_total",
        "PostgreSQL connections closed because the statement the server was running got no answer within "
        "DB_QUERY_TIMEOUT_MS");
    closed.inc();
    core::log::warn(
        "pg connection closed: no answer within the query timeout",
        {{"statement", ops_.empty() ? std::string() : ops_.front()->statement}, {"in_flight", ops_.size()}});
    close_with(
        make_db_error("pg: connection closed: the server did not answer within the query timeout", "08006"));
}

asio::awaitable<QueryResult> Session::await_op(std::shared_ptr<Session> self, std::shared_ptr<PendingOp> op) {
    static auto& errors = core::Metrics::global().counter(
        "emporium_db_query_errors_total", "PostgreSQL statements that failed (any error, timeouts included)");
    if (!op->done) {
        // Woken by cancel() on completion (or on our own cancellation), or by the deadline.
        co_await op->timer.async_wait(kAwaitTuple);
        if (!op->done) {
            // Give up on this statement only. It stays queued, so the answers that follow are
            // still matched in order; its own answer is dropped when it comes.
            errors.inc();
            if (SteadyClock::now() < op->deadline) {
                // Our coroutine was cancelled (e.g. the caller's `||`).
                throw boost::system::system_error(asio::error::operation_aborted);
            }
            // Queued too long behind others, or the server is slow on this very statement. Only if
            // the statement at the head got no answer for a whole query timeout (the server-side
            // statement_timeout would have ended it) is the server unresponsive: then nothing
            // queued here will be answered and the connection goes.
            if (self->head_overdue()) self->close_overdue();
            throw QueryTimeoutError("pg: " + op->statement + ": no answer within " +
                                    std::to_string(self->options_.query_timeout.count()) + " ms");
        }
    }
    static auto& latency = core::Metrics::global().histogram(
        "emporium_db_query_duration_seconds", "PostgreSQL statements: time from sending to the complete answer");
    latency.observe(std::chrono::duration<double>(SteadyClock::now() - op->started).count());
    if (op->error) {
        errors.inc();
        std::rethrow_exception(op->error);
    }
    co_return make_result(std::move(op->result));
}

asio::awaitable<void> Session::wait_idle(std::shared_ptr<Session> self) {
    while (!self->ops_.empty()) {
        if (self->head_overdue()) {
            self->close_overdue();
            break;
        }
        auto last = self->ops_.back();
        // Wake when the last op completes (its timer is cancelled). An op whose caller gave up has
        // an expired timer: re-arm it for the moment the head would be overdue. A timer whose
        // caller still waits is left alone (that caller decides by its own deadline).
        if (last->timer.expiry() <= SteadyClock::now()) {
            last->timer.expires_at(self->head_since_ + self->options_.query_timeout);
        }
        co_await last->timer.async_wait(kAwaitTuple);
    }
}

asio::awaitable<QueryResult> Session::execute(
    std::shared_ptr<Session> self, std::string statement, std::string sql, Params params, SendMode mode) {
    if (!self->pipeline_) co_await wait_idle(self);
    auto op = self->send(statement, sql, params, mode);
    co_return co_await await_op(self, std::move(op));
}

// ---- closing ------------------------------------------------------------------------------------

void Session::close_with(const std::exception_ptr& error) {
    auto ops = std::move(ops_);
    ops_.clear();
    for (auto& op : ops) {
        if (op->done) continue;
        if (!op->error) op->error = error;
        op->done = true;
        op->timer.cancel();
    }
    // release() aborts the reader's and flusher's waits without closing libpq's fd.
    if (socket_) {
        socket_->release();
        socket_.reset();
    }
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    prepared_.clear();
}

void Session::fail_connection(std::string_view why) {
    close_with(make_db_error("pg: connection lost: " + std::string(why), "08006"));
}

void Session::fail_connection_and_throw(std::string_view why) {
    std::string message = "pg: connection lost: " + std::string(why) + " (" + trimmed_error(conn_) + ")";
    fail_connection(why);
    throw ConnectionLostError(message, "08006");
}

void Session::close() {
    close_with(make_db_error("pg: connection closed", "08003"));
}

bool Session::probe_alive() {
    if (!is_healthy()) return false;
    if (head_overdue()) {
        close_overdue();
        return false;
    }
    if (!ops_.empty() || reader_running_ || exclusive_io_) return true;  // the reader will notice
    // Zero timeout: never blocks. An idle connection has nothing to read unless the server closed
    // it (FATAL 57P01 followed by EOF after a restart or pg_terminate_backend) or sent an
    // asynchronous message. PQconsumeInput only buffers; PQisBusy parses (an error arriving while
    // idle goes to the notice processor), and the next read sees the EOF. A few rounds cover a
    // message and the EOF arriving separately.
    for (int round = 0; round < 3; ++round) {
        pollfd pfd{};
        pfd.fd = PQsocket(conn_);
        pfd.events = POLLIN;
        if (::poll(&pfd, 1, 0) <= 0) return true;
        const bool read_ok = PQconsumeInput(conn_) == 1;
        if (read_ok) static_cast<void>(PQisBusy(conn_));  // parses what was read
        if (!read_ok || PQstatus(conn_) != CONNECTION_OK) {
            fail_connection("closed by the server while idle");
            return false;
        }
    }
    return true;
}

// ---- simple query protocol and COPY -----------------------------------------------------------

asio::awaitable<void> Session::flush_all(std::shared_ptr<Session> self,
                                         SteadyClock::time_point deadline,
                                         std::string what_for) {
    while (true) {
        const int rc = PQflush(self->conn_);
        if (rc == 0) co_return;
        if (rc < 0) self->fail_connection_and_throw("flush failed during " + what_for);
        co_await wait_socket(self, WaitType::wait_write, deadline, what_for);
    }
}

asio::awaitable<void> Session::read_available(std::shared_ptr<Session> self,
                                              SteadyClock::time_point deadline,
                                              std::string what_for) {
    while (PQisBusy(self->conn_) != 0) {
        co_await wait_socket(self, WaitType::wait_read, deadline, what_for);
        if (PQconsumeInput(self->conn_) != 1) self->fail_connection_and_throw(trimmed_error(self->conn_));
    }
}

asio::awaitable<std::pair<std::exception_ptr, std::int64_t>> Session::collect_results(
    std::shared_ptr<Session> self, SteadyClock::time_point deadline, std::string what_for) {
    std::exception_ptr error;
    std::int64_t affected = 0;
    while (true) {
        co_await read_available(self, deadline, what_for);
        PgResultPtr res(PQgetResult(self->conn_));
        if (!res) break;
        switch (PQresultStatus(res.get())) {
            case PGRES_FATAL_ERROR:
            case PGRES_BAD_RESPONSE:
                if (!error) error = error_from_result(res.get(), self->conn_, what_for);
                break;
            case PGRES_COPY_IN:
            case PGRES_COPY_OUT:
            case PGRES_COPY_BOTH:
                self->fail_connection_and_throw("unexpected COPY in " + what_for);
            default:
                affected = make_result(std::move(res)).affected();
                break;
        }
    }
    if (PQstatus(self->conn_) == CONNECTION_BAD) self->fail_connection_and_throw(trimmed_error(self->conn_));
    co_return std::pair{error, affected};
}

asio::awaitable<void> Session::run_script(std::shared_ptr<Session> self, std::string sql) {
    co_await wait_idle(self);
    self->require_usable();
    const auto deadline = self->deadline();
    ExclusiveIo exclusive(*self);
    if (PQsendQuery(self->conn_, sql.c_str()) != 1) self->fail_connection_and_throw("cannot send script");
    co_await flush_all(self, deadline, "script");
    auto [error, affected] = co_await collect_results(self, deadline, "script");
    static_cast<void>(affected);
    if (error) std::rethrow_exception(error);
}

asio::awaitable<void> Session::start_copy(std::shared_ptr<Session> self, std::string copy_sql, ExecStatusType expected) {
    if (PQsendQuery(self->conn_, copy_sql.c_str()) != 1) self->fail_connection_and_throw("cannot send COPY");
    co_await flush_all(self, self->deadline(), "copy");
    co_await read_available(self, self->deadline(), "copy");
    PgResultPtr first(PQgetResult(self->conn_));
    if (first && PQresultStatus(first.get()) == expected) co_return;
    std::exception_ptr error =
        first && PQresultStatus(first.get()) == PGRES_FATAL_ERROR
            ? error_from_result(first.get(), self->conn_, "copy")
            : make_db_error(expected == PGRES_COPY_IN ? "pg: copy: statement is not COPY … FROM STDIN"
                                                      : "pg: copy: statement is not COPY … TO STDOUT",
                            "42601");
    if (first) {
        auto [ignored, rows] = co_await collect_results(self, self->deadline(), "copy");
        static_cast<void>(ignored);
        static_cast<void>(rows);
    }
    std::rethrow_exception(error);
}

asio::awaitable<std::int64_t> Session::run_copy(std::shared_ptr<Session> self,
                                                std::string copy_sql,
                                                CopySource source) {
    co_await wait_idle(self);
    self->require_usable();
    // A COPY may legitimately take longer than one statement: the client-side limit is per step
    // (each chunk written, the final answer), i.e. a progress timeout.
    ExclusiveIo exclusive(*self);
    co_await start_copy(self, std::move(copy_sql), PGRES_COPY_IN);

    std::exception_ptr source_error;
    std::string chunk;
    bool more = true;
    while (more) {
        chunk.clear();
        try {
            more = source(chunk);
        } catch (const std::exception&) {
            // Abort the COPY below (the server rolls it back), then rethrow.
            source_error = std::current_exception();
            break;
        }
        std::string_view rest = chunk;
        while (!rest.empty()) {
            const auto piece = rest.substr(0, std::min<std::size_t>(rest.size(), INT_MAX));
            const int rc = PQputCopyData(self->conn_, piece.data(), static_cast<int>(piece.size()));
            if (rc < 0) self->fail_connection_and_throw("PQputCopyData failed");
            if (rc == 0) {
                co_await wait_socket(self, WaitType::wait_write, self->deadline(), "copy");
                continue;
            }
            rest.remove_prefix(piece.size());
        }
    }
    while (true) {
        const int rc = PQputCopyEnd(self->conn_, source_error ? "copy source failed" : nullptr);
        if (rc < 0) self->fail_connection_and_throw("PQputCopyEnd failed");
        if (rc == 1) break;
        co_await wait_socket(self, WaitType::wait_write, self->deadline(), "copy");
    }
    co_await flush_all(self, self->deadline(), "copy");
    auto [error, rows] = co_await collect_results(self, self->deadline(), "copy");
    if (source_error) std::rethrow_exception(source_error);
    if (error) std::rethrow_exception(error);
    co_return rows;
}

asio::awaitable<std::int64_t> Session::run_copy_out(std::shared_ptr<Session> self,
                                                    std::string copy_sql,
                                                    CopySink sink) {
    co_await wait_idle(self);
    self->require_usable();
    // As for COPY FROM, the limit is per step: each wait for more rows gets the full query timeout.
    ExclusiveIo exclusive(*self);
    co_await start_copy(self, std::move(copy_sql), PGRES_COPY_OUT);
    struct Freed {
        void operator()(char* p) const { PQfreemem(p); }
    };
    std::int64_t rows = 0;
    while (true) {
        char* raw = nullptr;
        const int n = PQgetCopyData(self->conn_, &raw, 1);
        if (n > 0) {
            std::unique_ptr<char, Freed> row(raw);
            try {
                sink(std::string_view(row.get(), static_cast<std::size_t>(n)));
            } catch (const std::exception&) {
                // The server keeps sending until the statement ends; a connection nobody reads
                // any more cannot go back to the pool.
                self->fail_connection("copy sink failed");
                throw;
            }
            ++rows;
            continue;
        }
        if (n == 0) {  // nothing complete buffered yet
            co_await wait_socket(self, WaitType::wait_read, self->deadline(), "copy");
            if (PQconsumeInput(self->conn_) != 1) self->fail_connection_and_throw(trimmed_error(self->conn_));
            continue;
        }
        if (n == -2) self->fail_connection_and_throw("PQgetCopyData failed");
        break;  // -1: the COPY is over; its status follows
    }
    auto [error, affected] = co_await collect_results(self, self->deadline(), "copy");
    static_cast<void>(affected);
    if (error) std::rethrow_exception(error);
    co_return rows;
}

}  // namespace emporium::db::detail
