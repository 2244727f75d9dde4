#include "inventory/inventory_store.hpp"

#include <boost/json/value.hpp>

namespace emporium::inventory {

namespace {

namespace asio = boost::asio;

// A variant is for sale when it and its product are active and not deleted; its price is its own
// override or else the product's. `available` leaves out the units carts hold.
#define EMPORIUM_STOCK_COLUMNS                                                                        \
    "SELECT v.id, v.product_id, coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, " \
    "v.stock - v.held AS available, v.version, "                                                    \
    "(v.is_active AND v.deleted_at IS NULL AND p.is_active AND p.deleted_at IS NULL) AS for_sale "  \
    "FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = ANY($1::bigint[]) ORDER BY v.id"
constexpr db::Statement kSnapshot{"inventory.snapshot", EMPORIUM_STOCK_COLUMNS};
constexpr db::Statement kSnapshotLocked{"inventory.snapshot_locked", EMPORIUM_STOCK_COLUMNS " FOR UPDATE OF v"};
#undef EMPORIUM_STOCK_COLUMNS
// The variants the lines name ($1) and the default variants of the products they name ($2).
constexpr db::Statement kResolve{
    "inventory.resolve",
    "SELECT id, product_id, is_default FROM product_variants "
    "WHERE id = ANY($1::bigint[]) OR (product_id = ANY($2::bigint[]) AND is_default)"};
constexpr db::Statement kVariantsOf{"inventory.variants_of",
                                    "SELECT id FROM product_variants WHERE product_id = $1 ORDER BY id"};
// $2 units of which $3 were held by the buyer's cart: they leave stock and held together, and the
// other $2 - $3 must be available (not held by anyone).
constexpr db::Statement kTake{
    "inventory.take",
    "UPDATE product_variants SET stock = stock - $2::integer, held = held - $3::integer, version = version + 1 "
    "WHERE id = $1 AND held >= $3::integer AND stock - held >= $2::integer - $3::integer"};
constexpr db::Statement kTakeFenced{
    "inventory.take_fenced",
    "UPDATE product_variants SET stock = stock - $2::integer, held = held - $3::integer, version = version + 1, "
    "fence_token = $4::bigint "
    "WHERE id = $1 AND held >= $3::integer AND stock - held >= $2::integer - $3::integer AND fence_token < $4::bigint"};
constexpr db::Statement kTakeIfVersion{
    "inventory.take_if_version",
    "UPDATE product_variants SET stock = stock - $2::integer, held = held - $3::integer, version = version + 1 "
    "WHERE id = $1 AND version = $4::bigint AND held >= $3::integer AND stock - held >= $2::integer - $3::integer"};
constexpr db::Statement kGiveBack{
    "inventory.give_back",
    "UPDATE product_variants SET stock = stock + $2::integer, version = version + 1 WHERE id = $1"};
constexpr db::Statement kRecordSale{
    "inventory.record_sale",
    "UPDATE products SET purchase_count = purchase_count + $2::integer WHERE id = $1"};
constexpr db::Statement kRecordMovement{
    "inventory.record_movement",
    "INSERT INTO inventory_movements (variant_id, product_id, delta, reason, order_id) "
    "VALUES ($1, $2, $3::integer, $4, $5::bigint)"};
constexpr db::Statement kTakeMany{
    "inventory.take_many",
    "UPDATE product_variants v SET stock = v.stock - d.quantity, version = v.version + 1 "
    "FROM jsonb_to_recordset($1::jsonb) AS d(variant_id bigint, quantity integer) "
    "WHERE v.id = d.variant_id AND v.stock - v.held >= d.quantity"};
constexpr db::Statement kRecordMovements{
    "inventory.record_movements",
    "INSERT INTO inventory_movements (variant_id, product_id, delta, reason, order_id) "
    "SELECT d.variant_id, d.product_id, d.delta, $2, d.order_id "
    "FROM jsonb_to_recordset($1::jsonb) AS d(variant_id bigint, product_id bigint, delta integer, order_id bigint)"};
// Variants whose stock is not the sum of their ledger rows, products whose stored total is on the
// wrong side of zero (it is updated only when a variant crosses zero, 0013), variants whose held
// units are not their cart lines'.
constexpr db::Statement kAudit{
    "inventory.audit",
    "SELECT 'variant' AS kind, v.id, v.stock::bigint AS stock, coalesce(m.total, 0)::bigint AS expected "
    "FROM product_variants v LEFT JOIN (SELECT variant_id, sum(delta) AS total FROM inventory_movements "
    "GROUP BY variant_id) m ON m.variant_id = v.id WHERE v.stock <> coalesce(m.total, 0) "
    "UNION ALL "
    "SELECT 'product', p.id, p.stock::bigint, coalesce(t.total, 0)::bigint FROM products p "
    "LEFT JOIN (SELECT product_id, sum(stock) AS total FROM product_variants GROUP BY product_id) t "
    "ON t.product_id = p.id WHERE (p.stock > 0) <> (coalesce(t.total, 0) > 0) "
    "UNION ALL "
    "SELECT 'held', v.id, v.held::bigint, coalesce(h.total, 0)::bigint FROM product_variants v "
    "LEFT JOIN (SELECT variant_id, sum(held) AS total FROM cart_lines WHERE held > 0 GROUP BY variant_id) h "
    "ON h.variant_id = v.id WHERE v.held <> coalesce(h.total, 0) ORDER BY 1 DESC, 2"};
constexpr db::Statement kVariantBooks{
    "inventory.variant_books",
    "SELECT v.id, v.product_id, v.sku, v.stock::bigint AS stock, v.held::bigint AS held, "
    "coalesce((SELECT sum(m.delta) FROM inventory_movements m WHERE m.variant_id = v.id), 0)::bigint AS ledger_sum "
    "FROM product_variants v WHERE v.id = $1"};
constexpr db::Statement kLedgerPage{
    "inventory.ledger_page",
    "SELECT id, delta, reason, order_id, note, created_at FROM inventory_movements "
    "WHERE variant_id = $1 AND ($3::bigint IS NULL OR id < $3) ORDER BY id DESC LIMIT $2"};
constexpr db::Statement kAllStock{"inventory.all_stock",
                                  "SELECT id, (stock - held)::bigint AS available FROM product_variants ORDER BY id"};

AuditKind kind_of(const std::string& kind) {
    if (kind == "variant") return AuditKind::kVariantLedger;
    if (kind == "product") return AuditKind::kProductInStock;
    return AuditKind::kHeld;
}

std::vector<StockRow> rows_of(const db::QueryResult& r) {
    std::vector<StockRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        StockRow row;
        row.variant_id = r.get<std::int64_t>(i, "id");
        row.product_id = r.get<std::int64_t>(i, "product_id");
        row.price_cents = r.get<std::int64_t>(i, "price_cents");
        row.currency = r.get<std::string>(i, "currency");
        row.available = r.get<std::int64_t>(i, "available");
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
    for (const auto& t : totals) rows.push_back(boost::json::object{{"variant_id", t.variant_id}, {"quantity", t.quantity}});
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
        rows.push_back(boost::json::object{
            {"variant_id", m.variant_id}, {"product_id", m.product_id}, {"delta", m.delta}, {"order_id", m.order_id}});
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
    std::int64_t variant_id,
    std::int32_t quantity,
    std::int32_t held) {
    auto r = co_await tx.query(kTake, db::params(variant_id, quantity, held));
    co_return r.affected() == 1;
}

asio::awaitable<bool> InventoryStore::take_fenced(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int32_t quantity,
    std::int32_t held,
    std::int64_t fence) {
    auto r = co_await tx.query(kTakeFenced, db::params(variant_id, quantity, held, fence));
    co_return r.affected() == 1;
}

asio::awaitable<bool> InventoryStore::take_if_version(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int32_t quantity,
    std::int32_t held,
    std::int64_t version) {
    auto r = co_await tx.query(kTakeIfVersion, db::params(variant_id, quantity, held, version));
    co_return r.affected() == 1;
}

asio::awaitable<void> InventoryStore::give_back(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int32_t quantity) {
    co_await tx.query(kGiveBack, db::params(variant_id, quantity));
}

asio::awaitable<void> InventoryStore::record_sale(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t product_id,
    std::int32_t quantity) {
    co_await tx.query(kRecordSale, db::params(product_id, quantity));
}

asio::awaitable<void> InventoryStore::record_movement(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    Movement movement,
    std::string reason) {
    co_await tx.query(kRecordMovement,
                      db::params(movement.variant_id, movement.product_id, movement.delta, reason, movement.order_id));
}

asio::awaitable<std::vector<AuditMismatch>> InventoryStore::audit() {
    auto r = co_await pools_().query(kAudit);
    std::vector<AuditMismatch> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(AuditMismatch{
            kind_of(r.get<std::string>(i, "kind")),
            r.get<std::int64_t>(i, "id"),
            r.get<std::int64_t>(i, "stock"),
            r.get<std::int64_t>(i, "expected")});
    }
    co_return out;
}

asio::awaitable<std::optional<VariantLedger>> InventoryStore::ledger(std::int64_t variant_id,
                                                                    std::int64_t limit,
                                                                    std::optional<std::int64_t> before_id) {
    auto head = co_await pools_().query(kVariantBooks, variant_id);
    if (head.empty()) co_return std::nullopt;
    VariantLedger out;
    out.variant_id = head.get<std::int64_t>(0, "id");
    out.product_id = head.get<std::int64_t>(0, "product_id");
    out.sku = head.get<std::string>(0, "sku");
    out.stock = head.get<std::int64_t>(0, "stock");
    out.held = head.get<std::int64_t>(0, "held");
    out.ledger_sum = head.get<std::int64_t>(0, "ledger_sum");
    auto r = co_await pools_().query(kLedgerPage, db::params(variant_id, limit, before_id));
    out.items.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.items.push_back(LedgerEntry{r.get<std::int64_t>(i, "id"), r.get<std::int32_t>(i, "delta"),
                                        r.get<std::string>(i, "reason"), r.get_optional<std::int64_t>(i, "order_id"),
                                        r.get_optional<std::string>(i, "note"), r.get<db::Timestamp>(i, "created_at")});
    }
    co_return out;
}

asio::awaitable<std::vector<std::pair<std::int64_t, std::int64_t>>> InventoryStore::all_stock() {
    auto r = co_await pools_().query(kAllStock);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.emplace_back(r.get<std::int64_t>(i, "id"), r.get<std::int64_t>(i, "available"));
    }
    co_return out;
}

asio::awaitable<std::vector<VariantRef>> InventoryStore::resolve(std::vector<std::int64_t> variant_ids,
                                                                 std::vector<std::int64_t> product_ids) {
    auto r = co_await pools_().query(kResolve, db::params(variant_ids, product_ids));
    std::vector<VariantRef> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(VariantRef{r.get<std::int64_t>(i, "id"), r.get<std::int64_t>(i, "product_id"),
                                 r.get<bool>(i, "is_default")});
    }
    co_return out;
}

asio::awaitable<std::vector<std::int64_t>> InventoryStore::variants_of(std::int64_t product_id) {
    auto r = co_await pools_().query(kVariantsOf, db::params(product_id));
    std::vector<std::int64_t> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, "id"));
    co_return out;
}

}  // namespace emporium::inventory
