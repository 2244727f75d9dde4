#include "inventory/inventory_store.hpp"

#include <boost/json/value.hpp>

namespace emporium::inventory {

namespace {

namespace asio = boost::asio;

constexpr db::Statement kSnapshot{
    "inventory.snapshot",
    "SELECT id, price_cents, currency, stock, version, (is_active AND deleted_at IS NULL) AS for_sale "
    "FROM products WHERE id = ANY($1::bigint[]) ORDER BY id"};
constexpr db::Statement kSnapshotLocked{
    "inventory.snapshot_locked",
    "SELECT id, price_cents, currency, stock, version, (is_active AND deleted_at IS NULL) AS for_sale "
    "FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"};
constexpr db::Statement kTake{
    "inventory.take",
    "UPDATE products SET stock = stock - $2::integer, version = version + 1 "
    "WHERE id = $1 AND stock >= $2::integer"};
constexpr db::Statement kTakeFenced{
    "inventory.take_fenced",
    "UPDATE products SET stock = stock - $2::integer, version = version + 1, fence_token = $3::bigint "
    "WHERE id = $1 AND stock >= $2::integer AND fence_token < $3::bigint"};
constexpr db::Statement kTakeIfVersion{
    "inventory.take_if_version",
    "UPDATE products SET stock = stock - $2::integer, version = version + 1 "
    "WHERE id = $1 AND version = $3::bigint AND stock >= $2::integer"};
constexpr db::Statement kGiveBack{
    "inventory.give_back",
    "UPDATE products SET stock = stock + $2::integer, version = version + 1 WHERE id = $1"};
constexpr db::Statement kRecordSale{
    "inventory.record_sale",
    "UPDATE products SET purchase_count = purchase_count + $2::integer WHERE id = $1"};
constexpr db::Statement kRecordMovement{
    "inventory.record_movement",
    "INSERT INTO inventory_movements (product_id, delta, reason, order_id) "
    "VALUES ($1, $2::integer, $3, $4::bigint)"};
constexpr db::Statement kTakeMany{
    "inventory.take_many",
    "UPDATE products p SET stock = p.stock - d.quantity, version = p.version + 1 "
    "FROM jsonb_to_recordset($1::jsonb) AS d(product_id bigint, quantity integer) "
    "WHERE p.id = d.product_id AND p.stock >= d.quantity"};
constexpr db::Statement kRecordMovements{
    "inventory.record_movements",
    "INSERT INTO inventory_movements (product_id, delta, reason, order_id) "
    "SELECT d.product_id, d.delta, $2, d.order_id "
    "FROM jsonb_to_recordset($1::jsonb) AS d(product_id bigint, delta integer, order_id bigint)"};
constexpr db::Statement kAudit{
    "inventory.audit",
    "SELECT p.id, p.stock::bigint AS stock, coalesce(m.total, 0)::bigint AS ledger_sum FROM products p "
    "LEFT JOIN (SELECT product_id, sum(delta) AS total FROM inventory_movements GROUP BY product_id) m "
    "ON m.product_id = p.id WHERE p.stock <> coalesce(m.total, 0) ORDER BY p.id"};
constexpr db::Statement kAllStock{"inventory.all_stock", "SELECT id, stock::bigint AS stock FROM products ORDER BY id"};

std::vector<StockRow> rows_of(const db::QueryResult& r) {
    std::vector<StockRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        StockRow row;
        row.product_id = r.get<std::int64_t>(i, "id");
        row.price_cents = r.get<std::int64_t>(i, "price_cents");
        row.currency = r.get<std::string>(i, "currency");
        row.stock = r.get<std::int64_t>(i, "stock");
        row.version = r.get<std::int64_t>(i, "version");
        row.is_for_sale = r.get<bool>(i, "for_sale");
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace

asio::awaitable<std::int64_t> InventoryStore::take_many(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<Line> totals) {
    boost::json::array rows;
    rows.reserve(totals.size());
    for (const auto& t : totals) rows.push_back(boost::json::object{{"product_id", t.product_id}, {"quantity", t.quantity}});
    const boost::json::value batch(std::move(rows));
    auto r = co_await tx.query(kTakeMany, db::params(batch));
    co_return r.affected();
}

asio::awaitable<void> InventoryStore::record_movements(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<Movement> movements,
    std::string reason) {
    boost::json::array rows;
    rows.reserve(movements.size());
    for (const auto& m : movements) {
        rows.push_back(boost::json::object{{"product_id", m.product_id}, {"delta", m.delta}, {"order_id", m.order_id}});
    }
    const boost::json::value batch(std::move(rows));
    co_await tx.query(kRecordMovements, db::params(batch, reason));
}

asio::awaitable<std::vector<StockRow>> InventoryStore::snapshot(std::vector<std::int64_t> ids) {
    auto r = co_await pools_().query(kSnapshot, db::params(ids));
    co_return rows_of(r);
}

asio::awaitable<std::vector<StockRow>> InventoryStore::snapshot_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> ids,
    bool lock) {
    auto r = co_await tx.query(lock ? kSnapshotLocked : kSnapshot, db::params(ids));
    co_return rows_of(r);
}

asio::awaitable<bool> InventoryStore::take(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity) {
    auto r = co_await tx.query(kTake, db::params(product_id, quantity));
    co_return r.affected() == 1;
}

asio::awaitable<bool> InventoryStore::take_fenced(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity,
    std::int64_t fence) {
    auto r = co_await tx.query(kTakeFenced, db::params(product_id, quantity, fence));
    co_return r.affected() == 1;
}

asio::awaitable<bool> InventoryStore::take_if_version(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity,
    std::int64_t version) {
    auto r = co_await tx.query(kTakeIfVersion, db::params(product_id, quantity, version));
    co_return r.affected() == 1;
}

asio::awaitable<void> InventoryStore::give_back(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity) {
    co_await tx.query(kGiveBack, db::params(product_id, quantity));
}

asio::awaitable<void> InventoryStore::record_sale(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity) {
    co_await tx.query(kRecordSale, db::params(product_id, quantity));
}

asio::awaitable<void> InventoryStore::record_movement(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t delta,
    std::string reason,
    std::int64_t order_id) {
    co_await tx.query(kRecordMovement, db::params(product_id, delta, reason, order_id));
}

asio::awaitable<std::vector<AuditMismatch>> InventoryStore::audit() {
    auto r = co_await pools_().query(kAudit);
    std::vector<AuditMismatch> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(AuditMismatch{r.get<std::int64_t>(i, "id"),
                                    r.get<std::int64_t>(i, "stock"),
                                    r.get<std::int64_t>(i, "ledger_sum")});
    }
    co_return out;
}

asio::awaitable<std::vector<std::pair<std::int64_t, std::int64_t>>> InventoryStore::all_stock() {
    auto r = co_await pools_().query(kAllStock);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.emplace_back(r.get<std::int64_t>(i, "id"), r.get<std::int64_t>(i, "stock"));
    }
    co_return out;
}

}  // namespace emporium::inventory
