#pragma once
// Internal: one libpq connection driven by the Asio reactor. Connection and Pool are thin owners
// of a Session; nothing outside src/db includes this header.
//
// Model: callers `send()` a statement (synchronously written into libpq's buffer, followed by a
// pipeline sync point) and get a PendingOp; `await_op()` suspends on the op's timer until the
// reader coroutine has matched the server's answers to the FIFO of ops and cancelled that timer,
// or until the op's deadline passes. A caller that gives up (its deadline, or its coroutine was
// cancelled) abandons its op: the op stays in the FIFO, so the server's answers are still matched
// in order, and its answer is dropped when it comes. The connection is closed only when the
// server itself stops answering: when the op at the head of the FIFO (the statement the server is
// working on) has been outstanding for a whole query timeout, although the server-side
// statement_timeout (a little shorter) should have ended it. So a statement that waited too long
// behind others fails alone; the statements pipelined with it keep their connection.
// Only one reader and one flusher coroutine run per session; both hold a shared_ptr to it and
// exit once the session is closed.

#include "db/pg.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace emporium::db::detail {

using SteadyClock = std::chrono::steady_clock;

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// The exception for a SQLSTATE (see throw_db_error), as an exception_ptr.
std::exception_ptr make_db_error(const std::string& message, std::string sqlstate, std::string constraint = {});
// The exception for a failed PGresult; `conn` decides whether an error without SQLSTATE means the
// connection is gone.
std::exception_ptr error_from_result(const PGresult* res, const PGconn* conn, std::string_view statement);
QueryResult make_result(PgResultPtr res);

enum class SendMode { kPrepared, kUnprepared };

// One statement in flight. Completed (done = true, timer cancelled) by the reader or by close().
struct PendingOp {
    PendingOp(const boost::asio::any_io_executor& ex,
              SteadyClock::time_point sent,
              std::chrono::milliseconds timeout,
              std::string statement_name);

    boost::asio::steady_timer timer;  // expires at the deadline; cancelled to wake the waiter
    SteadyClock::time_point started;
    SteadyClock::time_point deadline;  // started + the query timeout
    std::string statement;            // name, for error messages
    std::string prepared_name;        // set when this op carried the PQsendPrepare for its name
    int steps_seen = 0;               // NULL terminators seen (step 0 is the prepare, if any)
    PgResultPtr result;
    std::exception_ptr error;
    bool done = false;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(boost::asio::any_io_executor ex, ConnectionOptions options);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Connects without blocking. Throws ConnectionLostError or QueryTimeoutError (connect timeout).
    static boost::asio::awaitable<std::shared_ptr<Session>> open(boost::asio::any_io_executor ex,
                                                                 ConnectionOptions options);

    // Queues one statement. Throws ConnectionLostError if the session is not usable, in which case
    // nothing was sent (Pool::query relies on that to retry on another connection).
    std::shared_ptr<PendingOp> send(std::string_view statement,
                                    std::string_view sql,
                                    const Params& params,
                                    SendMode mode);
    // Waits for `op`; returns its result or throws its error: QueryTimeoutError at the deadline,
    // system_error(operation_aborted) when the calling coroutine is cancelled. Either way the op
    // is abandoned, not the connection (see the model above).
    static boost::asio::awaitable<QueryResult> await_op(std::shared_ptr<Session> self,
                                                        std::shared_ptr<PendingOp> op);
    // send + await_op; on a non-pipelined session first waits until nothing is in flight.
    static boost::asio::awaitable<QueryResult> execute(
        std::shared_ptr<Session> self, std::string statement, std::string sql, Params params, SendMode mode);
    // Waits until every op queued so far has completed (successfully or not).
    static boost::asio::awaitable<void> wait_idle(std::shared_ptr<Session> self);
    // Simple-query protocol, several statements, no parameters (leaves pipeline mode meanwhile).
    static boost::asio::awaitable<void> run_script(std::shared_ptr<Session> self, std::string sql);
    // COPY … FROM STDIN; returns the number of rows copied.
    static boost::asio::awaitable<std::int64_t> run_copy(std::shared_ptr<Session> self,
                                                         std::string copy_sql,
                                                         CopySource source);
    // COPY … TO STDOUT; returns the number of rows copied.
    static boost::asio::awaitable<std::int64_t> run_copy_out(std::shared_ptr<Session> self,
                                                             std::string copy_sql,
                                                             CopySink sink);

    // See Connection::wait_notification.
    static boost::asio::awaitable<std::optional<Notification>> wait_notification(std::shared_ptr<Session> self,
                                                                               std::chrono::milliseconds timeout);

    bool is_healthy() const;
    std::size_t in_flight() const { return ops_.size(); }
    // The op at the head of the FIFO has been waiting for its answer for a whole query timeout:
    // the server (or the network) stopped answering.
    bool head_overdue() const;
    // For an idle session: checks without blocking whether the server has closed the connection
    // (e.g. after a restart) and closes it if so; a busy session is closed if head_overdue().
    // Returns is_healthy().
    bool probe_alive();
    // Closes the connection; every op still pending fails with ConnectionLostError.
    void close();

    // Pool bookkeeping: held exclusively by a transaction or COPY.
    bool is_leased() const { return leased_; }
    void set_leased(bool leased) { leased_ = leased; }

private:
    static boost::asio::awaitable<void> reader_loop(std::shared_ptr<Session> self);
    static boost::asio::awaitable<void> flush_loop(std::shared_ptr<Session> self);
    // Waits until the socket is readable/writable; at `deadline` closes the session and throws
    // QueryTimeoutError. Throws ConnectionLostError if the session was closed meanwhile.
    static boost::asio::awaitable<void> wait_socket(std::shared_ptr<Session> self,
                                                    boost::asio::posix::descriptor_base::wait_type what,
                                                    SteadyClock::time_point deadline,
                                                    std::string what_for);
    static boost::asio::awaitable<void> flush_all(std::shared_ptr<Session> self,
                                                  SteadyClock::time_point deadline,
                                                  std::string what_for);
    // Sends a COPY statement (exclusive I/O held) and waits until the server has entered the
    // `expected` COPY state; throws the server's error, or 42601 if the statement is another kind.
    static boost::asio::awaitable<void> start_copy(std::shared_ptr<Session> self,
                                                   std::string copy_sql,
                                                   ExecStatusType expected);
    // Reads until a complete result is available (PQisBusy() == false).
    static boost::asio::awaitable<void> read_available(std::shared_ptr<Session> self,
                                                       SteadyClock::time_point deadline,
                                                       std::string what_for);
    // Collects results up to the terminating NULL; returns the first error (or null) and the
    // affected-row count of the last successful command.
    static boost::asio::awaitable<std::pair<std::exception_ptr, std::int64_t>> collect_results(
        std::shared_ptr<Session> self, SteadyClock::time_point deadline, std::string what_for);

    std::optional<Notification> take_notification();
    void close_with(const std::exception_ptr& error);
    void fail_connection(std::string_view why);
    [[noreturn]] void fail_connection_and_throw(std::string_view why);
    void require_usable() const;
    void assign_socket();
    void drain();
    void complete_front();
    void start_reader();
    void start_flusher();
    SteadyClock::time_point deadline() const { return SteadyClock::now() + options_.query_timeout; }
    // Closes the connection because the head of the FIFO is overdue.
    void close_overdue();
    // Leaves pipeline mode for the simple/COPY protocol and enters it again afterwards.
    struct ExclusiveIo;

    boost::asio::any_io_executor ex_;
    ConnectionOptions options_;
    PGconn* conn_ = nullptr;
    std::optional<boost::asio::posix::stream_descriptor> socket_;
    std::deque<std::shared_ptr<PendingOp>> ops_;
    SteadyClock::time_point head_since_{};  // when ops_.front() became the head
    std::unordered_set<std::string> prepared_;
    bool pipeline_ = false;
    bool reader_running_ = false;
    bool flusher_running_ = false;
    bool exclusive_io_ = false;
    bool leased_ = false;
};

}  // namespace emporium::db::detail
