#include "notify/notify_store.hpp"

namespace emporium::notify {

namespace asio = boost::asio;

namespace {

constexpr db::Statement kOrder{
    "notify.order",
    "SELECT o.id, o.user_id, o.status, o.total_cents, o.currency, coalesce(o.paid_at, o.created_at) AS dated, u.email, "
    "o.discount_cents, o.shipping_cents, o.tax_cents, o.shipping_option_id IS NOT NULL AS has_shipping "
    "FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1"};
constexpr db::Statement kItems{
    "notify.items",
    // A variant other than the product's default is named by its SKU after the product's name.
    "SELECT p.name || CASE WHEN v.is_default THEN '' ELSE ' (' || v.sku || ')' END AS name, i.quantity, "
    "i.unit_price_cents FROM order_items i JOIN products p ON p.id = i.product_id "
    "JOIN product_variants v ON v.id = i.variant_id "
    "WHERE i.order_id = $1 ORDER BY i.product_id, i.variant_id"};
constexpr db::Statement kEnsureEmail{
    "notify.ensure_email",
    "INSERT INTO emails (order_id, kind, recipient, subject) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (order_id, kind) DO NOTHING"};
constexpr db::Statement kLockEmail{"notify.lock_email",
                                   "SELECT status FROM emails WHERE order_id = $1 AND kind = $2 FOR UPDATE"};
constexpr db::Statement kMarkEmail{
    "notify.mark_email",
    "UPDATE emails SET status = $3, attempts = attempts + 1, last_error = $4, "
    "sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE sent_at END WHERE order_id = $1 AND kind = $2"};
constexpr db::Statement kHasReceipt{"notify.has_receipt", "SELECT 1 FROM receipts WHERE order_id = $1"};
constexpr db::Statement kInsertReceipt{
    "notify.insert_receipt",
    "INSERT INTO receipts (order_id, pdf) VALUES ($1, $2) ON CONFLICT (order_id) DO NOTHING"};
constexpr db::Statement kReceipt{
    "notify.receipt",
    "SELECT o.user_id, o.status, r.pdf FROM orders o LEFT JOIN receipts r ON r.order_id = o.id WHERE o.id = $1"};

}  // namespace

asio::awaitable<std::optional<OrderDocument>> NotifyStore::order_document(std::int64_t order_id) {
    auto head = co_await pool_().query(kOrder, order_id);
    if (head.empty()) co_return std::nullopt;
    auto items = co_await pool_().query(kItems, order_id);
    OrderDocument doc;
    doc.user_id = head.get<std::int64_t>(0, "user_id");
    doc.status = head.get<std::string>(0, "status");
    auto& r = doc.receipt;
    r.order_id = order_id;
    r.order_number = order_number(order_id);
    r.date = std::chrono::time_point_cast<std::chrono::system_clock::duration>(head.get<db::Timestamp>(0, "dated"));
    r.customer_email = head.get<std::string>(0, "email");
    r.currency = head.get<std::string>(0, "currency");
    r.total_cents = head.get<std::int64_t>(0, "total_cents");
    r.discount_cents = head.get<std::int64_t>(0, "discount_cents");
    r.shipping_cents = head.get<std::int64_t>(0, "shipping_cents");
    r.tax_cents = head.get<std::int64_t>(0, "tax_cents");
    r.has_shipping = head.get<bool>(0, "has_shipping");
    for (std::size_t i = 0; i < items.rows(); ++i) {
        ReceiptLine line;
        line.name = items.get<std::string>(i, "name");
        line.quantity = items.get<std::int32_t>(i, "quantity");
        line.unit_price_cents = items.get<std::int64_t>(i, "unit_price_cents");
        line.line_total_cents = line.unit_price_cents * line.quantity;
        r.lines.push_back(std::move(line));
    }
    co_return doc;
}

asio::awaitable<void> NotifyStore::ensure_email(std::int64_t order_id,
                                                std::string kind,
                                                std::string recipient,
                                                std::string subject) {
    co_await pool_().query(kEnsureEmail, order_id, kind, recipient, subject);
}

asio::awaitable<std::optional<std::string>> NotifyStore::lock_email(db::Transaction& tx,
                                                                    std::int64_t order_id,
                                                                    std::string kind) {
    auto r = co_await tx.query(kLockEmail, order_id, kind);
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::string>(0, 0);
}

asio::awaitable<void> NotifyStore::mark_email(db::Transaction& tx,
                                              std::int64_t order_id,
                                              std::string kind,
                                              std::string status,
                                              std::optional<std::string> error) {
    co_await tx.query(kMarkEmail, db::params(order_id, kind, status, error));
}

asio::awaitable<bool> NotifyStore::has_receipt(std::int64_t order_id) {
    auto r = co_await pool_().query(kHasReceipt, order_id);
    co_return !r.empty();
}

asio::awaitable<bool> NotifyStore::insert_receipt(std::int64_t order_id, std::string pdf) {
    auto r = co_await pool_().query(kInsertReceipt, db::params(order_id, db::Param::bytea(pdf)));
    co_return r.affected() == 1;
}

asio::awaitable<std::optional<StoredReceipt>> NotifyStore::receipt(std::int64_t order_id) {
    auto r = co_await pool_().query(kReceipt, order_id);
    if (r.empty()) co_return std::nullopt;
    StoredReceipt out;
    out.user_id = r.get<std::int64_t>(0, "user_id");
    out.status = r.get<std::string>(0, "status");
    if (!r.is_null(0, r.column("pdf"))) out.pdf = r.get<db::Bytea>(0, "pdf").bytes;
    co_return out;
}

}  // namespace emporium::notify
