#pragma once
// Asynchronous PostgreSQL client on libpq: non-blocking connections driven by the Asio reactor,
// pipeline mode (many statements in flight per connection), scoped transactions, a pool, COPY.
//
// Threading: a Connection / Pool / Transaction belongs to the executor it was created with (one
// io_context thread) and must only be used from that thread. The application keeps one Pool per
// I/O context (core::PerContext<db::Pool>).

#include "core/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emporium::db {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// ---- errors (the one place SQLSTATE is mapped) -------------------------------------------------
class DbError : public core::InfraError {
public:
    DbError(const std::string& message, std::string sqlstate, std::string constraint = {})
        : core::InfraError(message), sqlstate_(std::move(sqlstate)), constraint_(std::move(constraint)) {}
    const std::string& sqlstate() const { return sqlstate_; }
    // Name of the violated constraint for integrity errors (23xxx), else empty. Lets a store tell
    // e.g. a duplicate e-mail from a duplicate idempotency key without parsing messages.
    const std::string& constraint() const { return constraint_; }
    bool is_unique_violation() const { return sqlstate_ == "23505"; }
    bool is_check_violation() const { return sqlstate_ == "23514"; }
    bool is_foreign_key_violation() const { return sqlstate_ == "23503"; }

private:
    std::string sqlstate_;
    std::string constraint_;
};
// 40001 serialization_failure, 40P01 deadlock_detected: the transaction may be retried.
class RetryableDbError : public DbError {
public:
    using DbError::DbError;
};
// The connection is gone (server restart, network) or could not be opened; SQLSTATE 08xxx, 57P01..
class ConnectionLostError : public DbError {
public:
    using DbError::DbError;
};
// No pooled connection became free within the acquisition timeout.
class PoolTimeoutError : public core::TimeoutError {
public:
    using core::TimeoutError::TimeoutError;
};
// A statement did not complete within its timeout (its connection is closed and replaced).
class QueryTimeoutError : public core::TimeoutError {
public:
    using core::TimeoutError::TimeoutError;
};

// Throws the right subclass for a SQLSTATE: 40001/40P01 → RetryableDbError; empty, class 08 and
// 57P01..57P03 → ConnectionLostError; 57014 (statement_timeout fired on the server) →
// QueryTimeoutError; anything else → DbError.
[[noreturn]] void throw_db_error(const std::string& message, std::string sqlstate, std::string constraint = {});

// ---- parameters ---------------------------------------------------------------------------------
// One text-format parameter; std::nullopt is SQL NULL. Converting constructors make
// `{id, name, std::nullopt}` a valid Params list.
class Param {
public:
    Param(std::nullopt_t /*null*/) {}  // NOLINT(google-explicit-constructor)
    Param(std::string v) : value_(std::move(v)) {}  // NOLINT(google-explicit-constructor)
    Param(std::string_view v) : value_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(const char* v) : value_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(bool v) : value_(v ? "t" : "f") {}  // NOLINT(google-explicit-constructor)
    Param(int v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(long v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(long long v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(unsigned v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(unsigned long v) : value_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    Param(double v);  // NOLINT(google-explicit-constructor)
    Param(Timestamp v);  // NOLINT(google-explicit-constructor)
    Param(const std::vector<std::int64_t>& v);  // NOLINT(google-explicit-constructor): bigint[] literal
    Param(const boost::json::value& v);  // NOLINT(google-explicit-constructor): json/jsonb text
    template <typename T>
    Param(const std::optional<T>& v) {  // NOLINT(google-explicit-constructor)
        if (v) value_ = Param(*v).value_;
    }
    // bytea from raw bytes (sent as \x hex text).
    static Param bytea(std::string_view raw);

    const std::optional<std::string>& value() const { return value_; }

private:
    std::optional<std::string> value_;
};
using Params = std::vector<Param>;

// Builds Params without a braced list. GCC 12 rejects a braced list that is a temporary inside a
// co_await expression ("array used as initializer"): write `co_await pool.query(stmt, id, name)`
// (the variadic overloads below) or `db::params(id, name)`, not `co_await pool.query(stmt, {id, name})`.
template <typename... Args>
Params params(Args&&... args) {
    Params out;
    out.reserve(sizeof...(Args));
    (out.emplace_back(std::forward<Args>(args)), ...);
    return out;
}

namespace detail {
template <typename... Args>
concept ParamList = sizeof...(Args) > 0 && (std::constructible_from<Param, Args&&> && ...);
}  // namespace detail

// A named statement. The name identifies it in logs and metrics and is the prepared-statement
// name on each connection; the same name must always carry the same SQL. Both views must outlive
// the awaited call (string literals, usually `static constexpr`).
struct Statement {
    std::string_view name;
    std::string_view sql;
};

// ---- results ------------------------------------------------------------------------------------
// The rows of one statement (text format). Column access by index or name; typed getters parse
// the text form and throw DbError on a type mismatch or NULL (use get_optional for nullable).
class QueryResult {
public:
    QueryResult() = default;
    explicit QueryResult(std::shared_ptr<void> pg_result);  // takes a PGresult*

    std::size_t rows() const;
    std::size_t columns() const;
    bool empty() const { return rows() == 0; }
    // Rows affected by INSERT/UPDATE/DELETE (PQcmdTuples).
    std::int64_t affected() const;
    // The command tag ("INSERT 0 1", "COMMIT", "ROLLBACK"…), empty for a default-constructed result.
    std::string_view command() const;
    // Index of a column by name; throws DbError if absent.
    int column(std::string_view name) const;

    bool is_null(std::size_t row, int col) const;
    std::string_view text(std::size_t row, int col) const;

    template <typename T>
    T get(std::size_t row, int col) const;
    template <typename T>
    T get(std::size_t row, std::string_view name) const { return get<T>(row, column(name)); }
    template <typename T>
    std::optional<T> get_optional(std::size_t row, int col) const {
        if (is_null(row, col)) return std::nullopt;
        return get<T>(row, col);
    }
    template <typename T>
    std::optional<T> get_optional(std::size_t row, std::string_view name) const { return get_optional<T>(row, column(name)); }

private:
    std::shared_ptr<void> res_;
};
// Supported get<T>: bool, std::int32_t, std::int64_t, double, std::string (text, numeric as its
// decimal string), Timestamp (timestamptz; sessions run with TimeZone=UTC), std::vector<std::int64_t>
// (bigint[]), boost::json::value (json/jsonb), Bytea (bytea decoded to raw bytes).
struct Bytea {
    std::string bytes;
};

// The supported conversions (defined in pg_types.cpp); any other T fails to link.
template <>
bool QueryResult::get<bool>(std::size_t row, int col) const;
template <>
std::int32_t QueryResult::get<std::int32_t>(std::size_t row, int col) const;
template <>
std::int64_t QueryResult::get<std::int64_t>(std::size_t row, int col) const;
template <>
double QueryResult::get<double>(std::size_t row, int col) const;
template <>
std::string QueryResult::get<std::string>(std::size_t row, int col) const;
template <>
Timestamp QueryResult::get<Timestamp>(std::size_t row, int col) const;
template <>
std::vector<std::int64_t> QueryResult::get<std::vector<std::int64_t>>(std::size_t row, int col) const;
template <>
boost::json::value QueryResult::get<boost::json::value>(std::size_t row, int col) const;
template <>
Bytea QueryResult::get<Bytea>(std::size_t row, int col) const;

// ---- connection ---------------------------------------------------------------------------------
struct ConnectionOptions {
    std::string url;  // postgresql://user[:password]@host:port/dbname[?options]
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds query_timeout{5000};
    bool pipeline = true;  // pipeline mode (false for migrations / scripts)
};

// An asynchronous NOTIFY received on a channel the connection LISTENs to.
struct Notification {
    std::string channel;
    std::string payload;
};

// Called repeatedly by copy_in to get the next chunk of COPY text data; return false when done.
using CopySource = std::function<bool(std::string& chunk)>;
// Called by copy_out with each row of COPY … TO STDOUT data, in the format the statement asked for
// (one CopyData message = one row; with FORMAT binary the file header arrives with the first row
// and the trailer as a row of its own). The view is valid only during the call. Throwing stops
// the COPY: the connection is closed and the exception propagates.
using CopySink = std::function<void(std::string_view row)>;

class Connection {
public:
    // Opens a connection without blocking (PQconnectStart/PQconnectPoll on the reactor).
    // Throws ConnectionLostError (cannot connect) or QueryTimeoutError (connect timeout).
    static boost::asio::awaitable<std::unique_ptr<Connection>> connect(boost::asio::any_io_executor ex,
                                                                       ConnectionOptions options);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs one statement; concurrent calls are pipelined and answered in order. Throws DbError
    // subclasses (with SQLSTATE) and QueryTimeoutError.
    boost::asio::awaitable<QueryResult> query(Statement stmt, Params params = {});
    template <typename... Args>
        requires detail::ParamList<Args...>
    boost::asio::awaitable<QueryResult> query(Statement stmt, Args&&... args) {
        return query(stmt, db::params(std::forward<Args>(args)...));
    }
    // Unnamed, unprepared statement (dynamic SQL); still parameterised.
    boost::asio::awaitable<QueryResult> query_unprepared(std::string sql, Params params = {});
    // Multi-statement script via the simple query protocol (no parameters). Requires nothing in flight.
    boost::asio::awaitable<void> execute_script(std::string sql);
    // COPY … FROM STDIN; returns rows copied. Requires nothing in flight.
    boost::asio::awaitable<std::int64_t> copy_in(std::string copy_sql, CopySource source);
    // COPY … TO STDOUT, streamed row by row into `sink`; returns rows copied. Requires nothing in flight.
    boost::asio::awaitable<std::int64_t> copy_out(std::string copy_sql, CopySink sink);

    // Waits up to `timeout` for a NOTIFY (after `LISTEN channel` on this connection); std::nullopt
    // when none arrived. Notifications that came in during earlier statements are returned first.
    // Use on a dedicated connection with nothing in flight. Throws ConnectionLostError.
    boost::asio::awaitable<std::optional<Notification>> wait_notification(std::chrono::milliseconds timeout);

    bool is_healthy() const;
    std::size_t in_flight() const;
    void close();

    struct Impl;

private:
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// ---- pool ---------------------------------------------------------------------------------------
struct PoolOptions {
    ConnectionOptions connection;
    std::size_t max_size = 4;
    std::chrono::milliseconds acquire_timeout{2000};
    // Statements in flight per connection before the pool opens another connection.
    std::size_t pipeline_depth = 16;
};

class Transaction;

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

class Pool {
public:
    Pool(boost::asio::any_io_executor ex, PoolOptions options);
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // One statement on a shared (pipelined) connection. Throws as Connection::query, or
    // PoolTimeoutError when no connection can be had in time.
    boost::asio::awaitable<QueryResult> query(Statement stmt, Params params = {});
    template <typename... Args>
        requires detail::ParamList<Args...>
    boost::asio::awaitable<QueryResult> query(Statement stmt, Args&&... args) {
        return query(stmt, db::params(std::forward<Args>(args)...));
    }
    boost::asio::awaitable<QueryResult> query_unprepared(std::string sql, Params params = {});
    // Starts a transaction on an exclusive connection.
    boost::asio::awaitable<Transaction> begin(Isolation isolation = Isolation::kReadCommitted);
    // SELECT 1 through the pool (readiness).
    boost::asio::awaitable<void> ping();
    // COPY on a dedicated connection.
    boost::asio::awaitable<std::int64_t> copy_in(std::string copy_sql, CopySource source);
    // COPY … TO STDOUT on a dedicated connection, in bounded memory (see CopySink).
    boost::asio::awaitable<std::int64_t> copy_out(std::string copy_sql, CopySink sink);

    std::size_t size() const;        // open connections
    std::size_t in_use() const;      // exclusively held (transactions)
    std::size_t waiting() const;     // callers waiting for a connection
    void close();                    // closes idle connections, fails waiters

    struct Impl;

private:
    std::shared_ptr<Impl> impl_;
    friend class Transaction;
};

// A transaction holding one pooled connection exclusively. commit() must be called explicitly;
// if the object is destroyed (scope exit, exception) without commit or rollback, a ROLLBACK is
// queued on the connection before it returns to the pool.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&& other) noexcept;
    ~Transaction();

    boost::asio::awaitable<QueryResult> query(Statement stmt, Params params = {});
    template <typename... Args>
        requires detail::ParamList<Args...>
    boost::asio::awaitable<QueryResult> query(Statement stmt, Args&&... args) {
        return query(stmt, db::params(std::forward<Args>(args)...));
    }
    boost::asio::awaitable<QueryResult> query_unprepared(std::string sql, Params params = {});
    // COPY … TO STDOUT inside the transaction (sees its settings and, above READ COMMITTED, its
    // snapshot). If the sink throws, the connection is closed and the transaction is lost.
    boost::asio::awaitable<std::int64_t> copy_out(std::string copy_sql, CopySink sink);
    boost::asio::awaitable<void> commit();
    boost::asio::awaitable<void> rollback();
    bool is_open() const;

    struct State;
    explicit Transaction(std::unique_ptr<State> state);

private:
    std::unique_ptr<State> state_;
};

}  // namespace emporium::db
