#include "payments/payments_store.hpp"

namespace emporium::payments {

namespace asio = boost::asio;

namespace {

#define EMPORIUM_PAYMENT_COLUMNS                                                                    \
    "id, order_id, status, amount_cents, currency, provider, provider_reference, idempotency_key, " \
    "method_token, attempts, last_error, created_at, updated_at, captured_at, flag_reason, flagged_at"

#define EMPORIUM_REFUND_COLUMNS                                                                        \
    "id, order_id, payment_id, amount_cents, currency, status, reason, lines, automatic, provider_key, " \
    "provider_reference, attempts, last_error, created_at, refunded_at"
constexpr db::Statement kInsertRefund{
    "refunds.insert",
    "INSERT INTO refunds (order_id, payment_id, amount_cents, currency, reason, lines, automatic, provider_key) "
    "VALUES ($1, $2, $3::bigint, $4, $5, $6::jsonb, $7::boolean, $8) RETURNING " EMPORIUM_REFUND_COLUMNS};
constexpr db::Statement kFindRefund{"refunds.find", "SELECT " EMPORIUM_REFUND_COLUMNS " FROM refunds WHERE id = $1"};
constexpr db::Statement kLockRefund{"refunds.lock",
                                    "SELECT " EMPORIUM_REFUND_COLUMNS " FROM refunds WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kRefundsOfOrder{
    "refunds.of_order", "SELECT " EMPORIUM_REFUND_COLUMNS " FROM refunds WHERE order_id = $1 ORDER BY id DESC LIMIT 200"};
constexpr db::Statement kRefundByReference{"refunds.by_reference",
                                           "SELECT id FROM refunds WHERE provider_reference = $1"};
#undef EMPORIUM_REFUND_COLUMNS
// What is no longer refundable of a payment: its refunds that did not fail.
constexpr db::Statement kRefundedOf{
    "refunds.refunded_of",
    "SELECT coalesce(sum(amount_cents), 0)::bigint AS refunded FROM refunds WHERE payment_id = $1 AND status <> 'failed'"};
// Units of each variant already given back (refunds that did not fail).
constexpr db::Statement kRefundedUnits{
    "refunds.refunded_units",
    "SELECT (l->>'variant_id')::bigint AS variant_id, sum((l->>'quantity')::integer)::bigint AS units "
    "FROM refunds r, jsonb_array_elements(r.lines) l WHERE r.order_id = $1 AND r.status <> 'failed' GROUP BY 1"};
constexpr db::Statement kBeginRefundAttempt{
    "refunds.begin_attempt",
    "UPDATE refunds SET attempts = attempts + 1 WHERE id = $1 AND status = 'pending' RETURNING attempts"};
constexpr db::Statement kRecordRefundError{"refunds.record_error",
                                           "UPDATE refunds SET last_error = $2 WHERE id = $1 AND status = 'pending'"};
constexpr db::Statement kSetRefundOutcome{
    "refunds.set_outcome",
    "UPDATE refunds SET status = $2, provider_reference = coalesce($3, provider_reference), last_error = $4, "
    "refunded_at = CASE WHEN $2 = 'succeeded' THEN now() ELSE refunded_at END WHERE id = $1"};
constexpr db::Statement kAddRefundEvent{
    "refunds.add_event",
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('refund', $1, $2, $3::jsonb)"};

#define EMPORIUM_RETURN_COLUMNS "id, order_id, status, lines, reason, refund_id, created_at, received_at"
constexpr db::Statement kInsertReturn{
    "returns.insert",
    "INSERT INTO returns (order_id, user_id, lines, reason) VALUES ($1, $2, $3::jsonb, $4) RETURNING " EMPORIUM_RETURN_COLUMNS};
constexpr db::Statement kLockReturn{"returns.lock",
                                    "SELECT " EMPORIUM_RETURN_COLUMNS " FROM returns WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kFindReturn{"returns.find", "SELECT " EMPORIUM_RETURN_COLUMNS " FROM returns WHERE id = $1"};
constexpr db::Statement kReturnsOfOrder{
    "returns.of_order", "SELECT " EMPORIUM_RETURN_COLUMNS " FROM returns WHERE order_id = $1 ORDER BY id DESC LIMIT 200"};
constexpr db::Statement kReceiveReturn{
    "returns.receive",
    "UPDATE returns SET status = 'received', received_at = now(), refund_id = $2::bigint WHERE id = $1 "
    "RETURNING " EMPORIUM_RETURN_COLUMNS};
#undef EMPORIUM_RETURN_COLUMNS
// Units of each variant of the order already asked back (requested or received returns).
constexpr db::Statement kReturnedUnits{
    "returns.units",
    "SELECT (l->>'variant_id')::bigint AS variant_id, sum((l->>'quantity')::integer)::bigint AS units "
    "FROM returns r, jsonb_array_elements(r.lines) l WHERE r.order_id = $1 GROUP BY 1"};

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

Refund refund_of(const db::QueryResult& r, std::size_t i) {
    Refund f;
    f.id = r.get<std::int64_t>(i, "id");
    f.order_id = r.get<std::int64_t>(i, "order_id");
    f.payment_id = r.get<std::int64_t>(i, "payment_id");
    f.amount_cents = r.get<std::int64_t>(i, "amount_cents");
    f.currency = r.get<std::string>(i, "currency");
    f.status = r.get<std::string>(i, "status");
    f.reason = r.get<std::string>(i, "reason");
    const auto lines = r.get<boost::json::value>(i, "lines");
    for (const auto& l : lines.as_array()) {
        const auto& o = l.as_object();
        f.lines.push_back(RefundLine{o.at("variant_id").to_number<std::int64_t>(),
                                     o.at("quantity").to_number<std::int32_t>(),
                                     o.at("amount_cents").to_number<std::int64_t>()});
    }
    f.automatic = r.get<bool>(i, "automatic");
    f.provider_key = r.get<std::string>(i, "provider_key");
    f.provider_reference = r.get_optional<std::string>(i, "provider_reference");
    f.attempts = r.get<std::int32_t>(i, "attempts");
    f.last_error = r.get_optional<std::string>(i, "last_error");
    f.created_at = r.get<Timestamp>(i, "created_at");
    f.refunded_at = r.get_optional<Timestamp>(i, "refunded_at");
    return f;
}

Return return_of(const db::QueryResult& r, std::size_t i) {
    Return x;
    x.id = r.get<std::int64_t>(i, "id");
    x.order_id = r.get<std::int64_t>(i, "order_id");
    x.status = r.get<std::string>(i, "status");
    const auto lines = r.get<boost::json::value>(i, "lines");
    for (const auto& l : lines.as_array()) {
        const auto& o = l.as_object();
        x.lines.push_back(ReturnLine{o.at("variant_id").to_number<std::int64_t>(), o.at("quantity").to_number<std::int32_t>()});
    }
    x.reason = r.get<std::string>(i, "reason");
    x.refund_id = r.get_optional<std::int64_t>(i, "refund_id");
    x.created_at = r.get<Timestamp>(i, "created_at");
    x.received_at = r.get_optional<Timestamp>(i, "received_at");
    return x;
}

}  // namespace

asio::awaitable<Return> PaymentsStore::insert_return(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t user_id,
    Return value) {
    boost::json::array lines;
    for (const auto& l : value.lines) lines.push_back(boost::json::object{{"variant_id", l.variant_id}, {"quantity", l.quantity}});
    const boost::json::value list(std::move(lines));
    auto r = co_await tx.query(kInsertReturn, db::params(value.order_id, user_id, list, value.reason));
    co_return return_of(r, 0);
}

asio::awaitable<std::optional<Return>> PaymentsStore::find_return(std::int64_t id) {
    auto r = co_await pool_().query(kFindReturn, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return return_of(r, 0);
}

asio::awaitable<std::optional<Return>> PaymentsStore::lock_return(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLockReturn, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return return_of(r, 0);
}

asio::awaitable<std::vector<Return>> PaymentsStore::returns_of_order(std::int64_t order_id) {
    auto r = co_await pool_().query(kReturnsOfOrder, db::params(order_id));
    std::vector<Return> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(return_of(r, i));
    co_return out;
}

asio::awaitable<Return> PaymentsStore::receive_return(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    std::optional<std::int64_t> refund_id) {
    auto r = co_await tx.query(kReceiveReturn, db::params(id, refund_id));
    co_return return_of(r, 0);
}

asio::awaitable<std::map<std::int64_t, std::int64_t>> PaymentsStore::returned_units(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id) {
    auto r = co_await tx.query(kReturnedUnits, db::params(order_id));
    std::map<std::int64_t, std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out[r.get<std::int64_t>(i, "variant_id")] = r.get<std::int64_t>(i, "units");
    co_return out;
}

asio::awaitable<Refund> PaymentsStore::insert_refund(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    Refund refund) {
    boost::json::array lines;
    for (const auto& l : refund.lines) {
        lines.push_back(boost::json::object{{"variant_id", l.variant_id}, {"quantity", l.quantity}, {"amount_cents", l.amount_cents}});
    }
    const boost::json::value list(std::move(lines));
    auto r = co_await tx.query(kInsertRefund, db::params(refund.order_id, refund.payment_id, refund.amount_cents,
                                                         refund.currency, refund.reason, list, refund.automatic,
                                                         refund.provider_key));
    co_return refund_of(r, 0);
}

asio::awaitable<std::optional<Refund>> PaymentsStore::find_refund(std::int64_t id) {
    auto r = co_await pool_().query(kFindRefund, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return refund_of(r, 0);
}

asio::awaitable<std::optional<Refund>> PaymentsStore::lock_refund(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLockRefund, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return refund_of(r, 0);
}

asio::awaitable<std::vector<Refund>> PaymentsStore::refunds_of_order(std::int64_t order_id) {
    auto r = co_await pool_().query(kRefundsOfOrder, db::params(order_id));
    std::vector<Refund> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(refund_of(r, i));
    co_return out;
}

asio::awaitable<std::optional<std::int64_t>> PaymentsStore::refund_by_reference(std::string reference) {
    auto r = co_await pool_().query(kRefundByReference, db::params(reference));
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::int64_t>(0, "id");
}

asio::awaitable<std::int64_t> PaymentsStore::refunded_of(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t payment_id) {
    auto r = co_await tx.query(kRefundedOf, db::params(payment_id));
    co_return r.get<std::int64_t>(0, "refunded");
}

asio::awaitable<std::map<std::int64_t, std::int64_t>> PaymentsStore::refunded_units(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id) {
    auto r = co_await tx.query(kRefundedUnits, db::params(order_id));
    std::map<std::int64_t, std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out[r.get<std::int64_t>(i, "variant_id")] = r.get<std::int64_t>(i, "units");
    co_return out;
}

asio::awaitable<std::optional<std::int32_t>> PaymentsStore::begin_refund_attempt(std::int64_t id) {
    auto r = co_await pool_().query(kBeginRefundAttempt, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::int32_t>(0, "attempts");
}

asio::awaitable<void> PaymentsStore::record_refund_error(std::int64_t id, std::string error) {
    co_await pool_().query(kRecordRefundError, db::params(id, error));
}

asio::awaitable<void> PaymentsStore::set_refund_outcome(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    std::string status,
    std::optional<std::string> reference,
    std::optional<std::string> error) {
    co_await tx.query(kSetRefundOutcome, db::params(id, status, reference, error));
}

asio::awaitable<void> PaymentsStore::add_refund_event(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t refund_id,
    std::string event_type,
    boost::json::value payload) {
    co_await tx.query(kAddRefundEvent, db::params(std::to_string(refund_id), event_type, payload));
}

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
