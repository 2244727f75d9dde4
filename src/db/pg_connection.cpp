#include "db/pg.hpp"
#include "db/pg_session.hpp"

namespace emporium::db {

namespace asio = boost::asio;

struct Connection::Impl {
    std::shared_ptr<detail::Session> session;
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() {
    // The reader/flusher coroutines keep the session alive; closing makes them exit and fails
    // whatever is still in flight.
    if (impl_) impl_->session->close();
}

asio::awaitable<std::unique_ptr<Connection>> Connection::connect(asio::any_io_executor ex,
                                                                 ConnectionOptions options) {
    auto session = co_await detail::Session::open(std::move(ex), std::move(options));
    co_return std::unique_ptr<Connection>(new Connection(std::make_unique<Impl>(Impl{std::move(session)})));
}

asio::awaitable<QueryResult> Connection::query(Statement stmt, Params params) {
    return detail::Session::execute(impl_->session,
                                    std::string(stmt.name),
                                    std::string(stmt.sql),
                                    std::move(params),
                                    detail::SendMode::kPrepared);
}

asio::awaitable<QueryResult> Connection::query_unprepared(std::string sql, Params params) {
    return detail::Session::execute(
        impl_->session, "unprepared", std::move(sql), std::move(params), detail::SendMode::kUnprepared);
}

asio::awaitable<void> Connection::execute_script(std::string sql) {
    return detail::Session::run_script(impl_->session, std::move(sql));
}

asio::awaitable<std::int64_t> Connection::copy_in(std::string copy_sql, CopySource source) {
    return detail::Session::run_copy(impl_->session, std::move(copy_sql), std::move(source));
}

asio::awaitable<std::int64_t> Connection::copy_out(std::string copy_sql, CopySink sink) {
    return detail::Session::run_copy_out(impl_->session, std::move(copy_sql), std::move(sink));
}

asio::awaitable<std::optional<Notification>> Connection::wait_notification(std::chrono::milliseconds timeout) {
    return detail::Session::wait_notification(impl_->session, timeout);
}

bool Connection::is_healthy() const {
    return impl_->session->is_healthy();
}
std::size_t Connection::in_flight() const {
    return impl_->session->in_flight();
}
void Connection::close() {
    impl_->session->close();
}

}  // namespace emporium::db
