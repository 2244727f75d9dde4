#include "payments/payments_store.hpp"

namespace emporium::payments {

namespace asio = boost::asio;

namespace {

#define EMPORIUM_PAYMENT_COLUMNS                                                                    \
    "id, order_id, status, amount_cents, currency, provider, provider_reference, idempotency_key, " \
    "method_token, attempts, last_error, created_at, updated_at, captured_at, flag_reason, flagged_at"

constexpr db::Statement kInsert{
    "payments.insert",
    "INSERT INTO payments (order_id, status, amount_cents, currency, provider, idempotency_key, method_token) "
    "VALUES ($1, 'pending', $2, $3, $4, $5, $6) RETURNING " EMPORIUM_PAYMENT_COLUMNS};
constexpr db::Statement kFind{"payments.find", "SELECT " EMPORIUM_PAYMENT_COLUMNS " FROM payments WHERE id = $1"};
constexpr db::Statement kLock{"payments.lock",
                              "SELECT " EMPORIUM_PAYMENT_COLUMNS " FROM payments WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kForOrder{
    "payments.for_order",
    "SELECT " EMPORIUM_PAYMENT_COLUMNS " FROM payments WHERE order_id = $1 ORDER BY id DESC LIMIT 50"};
constexpr db::Statement kByReference{"payments.by_reference",
                                     "SELECT id FROM payments WHERE provider = $1 AND provider_reference = $2"};
constexpr db::Statement kBeginAttempt{
    "payments.begin_attempt",
    "UPDATE payments SET attempts = attempts + 1 WHERE id = $1 AND status = 'pending' RETURNING attempts"};
constexpr db::Statement kRecordError{"payments.record_error",
                                     "UPDATE payments SET last_error = $2 WHERE id = $1 AND status = 'pending'"};
constexpr db::Statement kSetOutcome{
    "payments.set_outcome",
    "UPDATE payments SET status = $2, provider_reference = coalesce($3, provider_reference), last_error = $4, "
    "captured_at = CASE WHEN $2 = 'captured' THEN now() ELSE captured_at END WHERE id = $1"};
constexpr db::Statement kAddEvent{
    "payments.add_event",
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('payment', $1, $2, $3::jsonb)"};
constexpr db::Statement kRecordWebhook{
    "payments.record_webhook",
    "INSERT INTO webhook_events (provider, event_id, event_type, payment_id) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT DO NOTHING RETURNING event_id"};

constexpr db::Statement kFlag{"payments.flag",
                              "UPDATE payments SET flag_reason = $2, flagged_at = now() "
                              "WHERE id = $1 AND status = 'captured' AND flagged_at IS NULL RETURNING id"};
constexpr db::Statement kFlaggedFirst{
    "payments.flagged_first",
    "SELECT " EMPORIUM_PAYMENT_COLUMNS " FROM payments WHERE flagged_at IS NOT NULL "
    "ORDER BY id DESC LIMIT $1"};
constexpr db::Statement kFlaggedAfter{"payments.flagged_after",
                                      "SELECT " EMPORIUM_PAYMENT_COLUMNS
                                      " FROM payments WHERE flagged_at IS NOT NULL AND id < $2 "
                                      "ORDER BY id DESC LIMIT $1"};

#undef EMPORIUM_PAYMENT_COLUMNS

Payment row(const db::QueryResult& r, std::size_t i) {
    Payment p;
    p.id = r.get<std::int64_t>(i, "id");
    p.order_id = r.get<std::int64_t>(i, "order_id");
    p.status = r.get<std::string>(i, "status");
    p.amount_cents = r.get<std::int64_t>(i, "amount_cents");
    p.currency = r.get<std::string>(i, "currency");
    p.provider = r.get<std::string>(i, "provider");
    p.provider_reference = r.get_optional<std::string>(i, "provider_reference");
    p.idempotency_key = r.get<std::string>(i, "idempotency_key");
    p.method_token = r.get<std::string>(i, "method_token");
    p.attempts = r.get<std::int32_t>(i, "attempts");
    p.last_error = r.get_optional<std::string>(i, "last_error");
    p.created_at = r.get<db::Timestamp>(i, "created_at");
    p.updated_at = r.get<db::Timestamp>(i, "updated_at");
    p.captured_at = r.get_optional<db::Timestamp>(i, "captured_at");
    p.flag_reason = r.get_optional<std::string>(i, "flag_reason");
    p.flagged_at = r.get_optional<db::Timestamp>(i, "flagged_at");
    return p;
}

}  // namespace

asio::awaitable<Payment> PaymentsStore::insert(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    Payment p) {
    auto r = co_await tx.query(
        kInsert, db::params(p.order_id, p.amount_cents, p.currency, p.provider, p.idempotency_key, p.method_token));
    co_return row(r, 0);
}

asio::awaitable<std::optional<Payment>> PaymentsStore::find(std::int64_t id) {
    auto r = co_await pool_().query(kFind, id);
    if (r.empty()) co_return std::nullopt;
    co_return row(r, 0);
}

asio::awaitable<std::optional<Payment>> PaymentsStore::lock(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLock, id);
    if (r.empty()) co_return std::nullopt;
    co_return row(r, 0);
}

asio::awaitable<std::vector<Payment>> PaymentsStore::for_order(std::int64_t order_id) {
    auto r = co_await pool_().query(kForOrder, order_id);
    std::vector<Payment> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(row(r, i));
    co_return out;
}

asio::awaitable<std::optional<std::int64_t>> PaymentsStore::by_reference(std::string provider, std::string reference) {
    auto r = co_await pool_().query(kByReference, provider, reference);
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::int64_t>(0, 0);
}

asio::awaitable<std::optional<std::int32_t>> PaymentsStore::begin_attempt(std::int64_t id) {
    auto r = co_await pool_().query(kBeginAttempt, id);
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::int32_t>(0, 0);
}

asio::awaitable<void> PaymentsStore::record_error(std::int64_t id, std::string error) {
    co_await pool_().query(kRecordError, id, error);
}

asio::awaitable<void> PaymentsStore::set_outcome(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    std::string status,
    std::optional<std::string> reference,
    std::optional<std::string> error) {
    co_await tx.query(kSetOutcome, db::params(id, status, reference, error));
}

asio::awaitable<void> PaymentsStore::add_event(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t payment_id,
    std::string event_type,
    boost::json::value payload) {
    co_await tx.query(kAddEvent, db::params(std::to_string(payment_id), event_type, payload));
}

asio::awaitable<bool> PaymentsStore::record_webhook(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string provider,
    std::string event_id,
    std::string event_type,
    std::optional<std::int64_t> payment_id) {
    auto r = co_await tx.query(kRecordWebhook, db::params(provider, event_id, event_type, payment_id));
    co_return !r.empty();
}

asio::awaitable<bool> PaymentsStore::flag(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    std::string reason) {
    auto r = co_await tx.query(kFlag, db::params(id, reason));
    co_return !r.empty();
}

asio::awaitable<std::vector<Payment>> PaymentsStore::flagged(std::int64_t limit,
                                                             std::optional<std::int64_t> before_id) {
    db::QueryResult r;
    if (before_id) {
        r = co_await pool_().query(kFlaggedAfter, db::params(limit, *before_id));
    } else {
        r = co_await pool_().query(kFlaggedFirst, db::params(limit));
    }
    std::vector<Payment> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(row(r, i));
    co_return out;
}

}  // namespace emporium::payments
