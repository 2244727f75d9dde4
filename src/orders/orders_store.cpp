#include "orders/orders_store.hpp"

namespace emporium::orders {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

#define EMPORIUM_ORDER_COLUMNS                                                                            \
    "id, user_id, status, total_cents, currency, shipping_address, created_at, expires_at, paid_payment_id, " \
    "subtotal_cents, discount_cents, shipping_cents, tax_cents, promotions, country, shipping_option_id, refunded_cents, " \
    "fulfilled_at"

constexpr db::Statement kPurgeKey{
    "orders.purge_key", "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at < now()"};
constexpr db::Statement kClaimKey{
    "orders.claim_key",
    "INSERT INTO idempotency_keys (user_id, key, request_hash, expires_at) "
    "VALUES ($1, $2, $3::bytea, now() + $4::bigint * interval '1 second') ON CONFLICT DO NOTHING RETURNING user_id"};
constexpr db::Statement kTakeOverKey{
    "orders.take_over_key",
    "UPDATE idempotency_keys SET created_at = now() WHERE user_id = $1 AND key = $2 AND request_hash = $3::bytea "
    "AND status_code IS NULL AND created_at < now() - $4::bigint * interval '1 second' RETURNING user_id"};
constexpr db::Statement kFindKey{
    "orders.find_key",
    "SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE user_id = $1 AND key = $2"};
constexpr db::Statement kFinishKey{
    "orders.finish_key",
    "UPDATE idempotency_keys SET status_code = $3::integer, response_body = $4 WHERE user_id = $1 AND key = $2"};
constexpr db::Statement kDropKey{
    "orders.drop_key",
    "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status_code IS NULL"};
constexpr db::Statement kPurgeExpiredKeys{"orders.purge_expired_keys",
                                          "DELETE FROM idempotency_keys WHERE expires_at < now()"};
constexpr db::Statement kInsertOrder{
    "orders.insert_order",
    "INSERT INTO orders (user_id, total_cents, shipping_address, idempotency_key, expires_at) "
    "VALUES ($1, 0, $2::jsonb, $3, now() + $4::bigint * interval '1 second') RETURNING " EMPORIUM_ORDER_COLUMNS};
constexpr db::Statement kInsertOrders{
    "orders.insert_orders",
    "INSERT INTO orders (user_id, total_cents, currency, shipping_address, idempotency_key, expires_at, "
    "subtotal_cents, discount_cents, shipping_cents, tax_cents, promotions, country, shipping_option_id) "
    "SELECT d.user_id, d.total_cents, d.currency, d.shipping_address, d.idempotency_key, "
    "now() + $2::bigint * interval '1 second', d.subtotal_cents, d.discount_cents, d.shipping_cents, d.tax_cents, "
    "d.promotions, d.country, d.shipping_option_id FROM jsonb_to_recordset($1::jsonb) AS d(user_id bigint, "
    "total_cents bigint, currency text, shipping_address jsonb, idempotency_key text, subtotal_cents bigint, "
    "discount_cents bigint, shipping_cents bigint, tax_cents bigint, promotions jsonb, country text, "
    "shipping_option_id bigint) "
    "RETURNING " EMPORIUM_ORDER_COLUMNS ", idempotency_key"};
constexpr db::Statement kInsertItems{
    "orders.insert_items",
    "INSERT INTO order_items (order_id, product_id, variant_id, quantity, unit_price_cents, discount_cents, tax_cents) "
    "SELECT d.order_id, d.product_id, d.variant_id, d.quantity, d.unit_price_cents, d.discount_cents, d.tax_cents "
    "FROM jsonb_to_recordset($1::jsonb) AS d(order_id bigint, product_id bigint, variant_id bigint, quantity integer, "
    "unit_price_cents bigint, discount_cents bigint, tax_cents bigint)"};
constexpr db::Statement kAddEvents{
    "orders.add_events",
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) "
    "SELECT 'order', d.order_id::text, $2, d.payload FROM jsonb_to_recordset($1::jsonb) "
    "AS d(order_id bigint, payload jsonb)"};
constexpr db::Statement kFinishKeys{
    "orders.finish_keys",
    "UPDATE idempotency_keys k SET status_code = d.status, response_body = d.body "
    "FROM jsonb_to_recordset($1::jsonb) AS d(user_id bigint, key text, status integer, body text) "
    "WHERE k.user_id = d.user_id AND k.key = d.key"};
constexpr db::Statement kInsertItem{
    "orders.insert_item",
    "INSERT INTO order_items (order_id, product_id, variant_id, quantity, unit_price_cents, discount_cents, tax_cents) "
    "VALUES ($1, $2, $3, $4::integer, $5::bigint, $6::bigint, $7::bigint)"};
constexpr db::Statement kSetTotal{
    "orders.set_total",
    "UPDATE orders SET total_cents = $2::bigint, currency = $3, subtotal_cents = $4::bigint, "
    "discount_cents = $5::bigint, shipping_cents = $6::bigint, tax_cents = $7::bigint, promotions = $8::jsonb, "
    "country = $9, shipping_option_id = $10::bigint WHERE id = $1"};
constexpr db::Statement kAddRefunded{
    "orders.add_refunded",
    "UPDATE orders SET refunded_cents = refunded_cents + $2::bigint WHERE id = $1 AND paid_payment_id = $3 "
    "RETURNING refunded_cents"};
constexpr db::Statement kAddEvent{
    "orders.add_event",
    "INSERT INTO outbox (aggregate_type, aggregate_id, event_type, payload) VALUES ('order', $1, $2, $3::jsonb)"};
constexpr db::Statement kOrderById{"orders.order_by_id",
                                   "SELECT " EMPORIUM_ORDER_COLUMNS " FROM orders WHERE id = $1"};
constexpr db::Statement kLockOrder{"orders.lock_order",
                                   "SELECT " EMPORIUM_ORDER_COLUMNS " FROM orders WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kItemsOf{
    "orders.items_of",
    "SELECT order_id, product_id, variant_id, quantity, unit_price_cents, discount_cents, tax_cents FROM order_items "
    "WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, product_id, variant_id"};
constexpr db::Statement kSetStatus{
    "orders.set_status",
    "UPDATE orders SET status = $2, "
    "paid_at = CASE WHEN $2 = 'paid' THEN now() ELSE paid_at END, "
    "paid_payment_id = CASE WHEN $2 = 'paid' THEN $3::bigint ELSE paid_payment_id END, "
    "fulfilled_at = CASE WHEN $2 = 'fulfilled' THEN now() ELSE fulfilled_at END, "
    "cancelled_at = CASE WHEN $2 IN ('cancelled', 'expired') THEN now() ELSE cancelled_at END "
    "WHERE id = $1"};
// For an order that is not paid (pending_payment, payment_failed), a captured payment is one whose
// settle job has not moved the order yet: it is about to pay the order, like a pending one may.
constexpr db::Statement kUnsettledPayment{
    "orders.unsettled_payment",
    "SELECT 1 FROM payments WHERE order_id = $1 AND status IN ('pending', 'captured') LIMIT 1"};
constexpr db::Statement kListFirst{
    "orders.list_first",
    "SELECT " EMPORIUM_ORDER_COLUMNS " FROM orders WHERE user_id = $1 ORDER BY id DESC LIMIT $2"};
constexpr db::Statement kListAfter{
    "orders.list_after",
    "SELECT " EMPORIUM_ORDER_COLUMNS " FROM orders WHERE user_id = $1 AND id < $3 ORDER BY id DESC LIMIT $2"};
// Every customer's orders (the admin's listing), narrowed by state and by a part of the e-mail.
constexpr db::Statement kListAll{
    "orders.list_all",
    "SELECT " EMPORIUM_ORDER_COLUMNS " FROM orders WHERE ($2::bigint IS NULL OR id < $2) "
    "AND ($3::text IS NULL OR status = $3) "
    "AND ($4::text IS NULL OR user_id IN (SELECT id FROM users WHERE strpos(lower(email), lower($4)) > 0)) "
    "ORDER BY id DESC LIMIT $1"};
constexpr db::Statement kDueOrders{
    "orders.due_orders",
    "SELECT id FROM orders o WHERE status IN ('pending_payment', 'payment_failed') AND expires_at <= now() "
    // A capture in flight may still succeed, a captured payment is about to pay the order: such an
    // order waits for its payment's outcome. (Read on the statement's snapshot: expire_batch checks
    // again under the row lock.)
    "AND NOT EXISTS (SELECT 1 FROM payments p "
    "WHERE p.order_id = o.id AND p.status IN ('pending', 'captured')) "
    "ORDER BY expires_at, id LIMIT $1 FOR UPDATE SKIP LOCKED"};

#undef EMPORIUM_ORDER_COLUMNS

std::vector<AppliedPromotion> promotions_of(const json::value& v) {
    std::vector<AppliedPromotion> out;
    if (const auto* items = v.if_array()) {
        for (const auto& item : *items) {
            const auto& o = item.as_object();
            AppliedPromotion p;
            p.promotion_id = o.at("promotion_id").to_number<std::int64_t>();
            if (const auto* code = o.if_contains("code"); code && code->is_string()) p.code = std::string(code->as_string());
            p.discount_cents = o.at("discount_cents").to_number<std::int64_t>();
            out.push_back(std::move(p));
        }
    }
    return out;
}

json::value promotions_json(const std::vector<AppliedPromotion>& promotions) {
    json::array out;
    for (const auto& p : promotions) {
        json::object o{{"promotion_id", p.promotion_id}, {"discount_cents", p.discount_cents}};
        o["code"] = p.code ? json::value(*p.code) : json::value(nullptr);
        out.push_back(std::move(o));
    }
    return out;
}

Order order_of(const db::QueryResult& r, std::size_t row) {
    Order o;
    o.id = r.get<std::int64_t>(row, "id");
    o.user_id = r.get<std::int64_t>(row, "user_id");
    o.status = parse_status(r.get<std::string>(row, "status")).value_or(OrderStatus::kPendingPayment);
    o.total_cents = r.get<std::int64_t>(row, "total_cents");
    o.currency = r.get<std::string>(row, "currency");
    o.shipping_address = r.get<json::value>(row, "shipping_address");
    o.created_at = r.get<db::Timestamp>(row, "created_at");
    o.expires_at = r.get_optional<db::Timestamp>(row, "expires_at");
    o.paid_payment_id = r.get_optional<std::int64_t>(row, "paid_payment_id");
    o.subtotal_cents = r.get<std::int64_t>(row, "subtotal_cents");
    o.discount_cents = r.get<std::int64_t>(row, "discount_cents");
    o.shipping_cents = r.get<std::int64_t>(row, "shipping_cents");
    o.tax_cents = r.get<std::int64_t>(row, "tax_cents");
    o.promotions = promotions_of(r.get<json::value>(row, "promotions"));
    o.country = r.get_optional<std::string>(row, "country");
    o.shipping_option_id = r.get_optional<std::int64_t>(row, "shipping_option_id");
    o.refunded_cents = r.get<std::int64_t>(row, "refunded_cents");
    o.fulfilled_at = r.get_optional<db::Timestamp>(row, "fulfilled_at");
    return o;
}

void attach_items(std::vector<Order>& orders, const db::QueryResult& r) {
    for (std::size_t i = 0; i < r.rows(); ++i) {
        const auto order_id = r.get<std::int64_t>(i, "order_id");
        for (auto& o : orders) {
            if (o.id != order_id) continue;
            o.items.push_back(OrderItem{r.get<std::int64_t>(i, "product_id"),
                                        r.get<std::int64_t>(i, "variant_id"),
                                        r.get<std::int32_t>(i, "quantity"),
                                        r.get<std::int64_t>(i, "unit_price_cents"),
                                        r.get<std::int64_t>(i, "discount_cents"),
                                        r.get<std::int64_t>(i, "tax_cents")});
        }
    }
}

}  // namespace

asio::awaitable<bool> OrdersStore::claim_key(std::int64_t user_id,
                                             std::string key,
                                             std::string request_hash,
                                             std::chrono::seconds ttl,
                                             std::chrono::seconds abandoned_after) {
    const db::Params claim = db::params(user_id, key, db::Param::bytea(request_hash), static_cast<long long>(ttl.count()));
    auto r = co_await pools_().query(kClaimKey, claim);
    if (r.rows() == 1) co_return true;
    // Taken: by an expired record (removed, then the key is claimed anew) or by a live one.
    auto purged = co_await pools_().query(kPurgeKey, db::params(user_id, key));
    if (purged.affected() > 0) {
        r = co_await pools_().query(kClaimKey, claim);
        if (r.rows() == 1) co_return true;
    }
    auto taken = co_await pools_().query(
        kTakeOverKey,
        db::params(user_id, key, db::Param::bytea(request_hash), static_cast<long long>(abandoned_after.count())));
    co_return taken.rows() == 1;
}

asio::awaitable<std::optional<IdempotencyRecord>> OrdersStore::find_key(std::int64_t user_id, std::string key) {
    auto r = co_await pools_().query(kFindKey, db::params(user_id, key));
    if (r.empty()) co_return std::nullopt;
    IdempotencyRecord rec;
    rec.request_hash = r.get<db::Bytea>(0, "request_hash").bytes;
    rec.status_code = r.get_optional<std::int32_t>(0, "status_code");
    rec.response_body = r.get_optional<std::string>(0, "response_body");
    co_return rec;
}

asio::awaitable<void> OrdersStore::finish_key(std::int64_t user_id, std::string key, std::int32_t status, std::string body) {
    co_await pools_().query(kFinishKey, db::params(user_id, key, status, body));
}

asio::awaitable<void> OrdersStore::finish_key_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t user_id,
    std::string key,
    std::int32_t status,
    std::string body) {
    co_await tx.query(kFinishKey, db::params(user_id, key, status, body));
}

asio::awaitable<void> OrdersStore::drop_key(std::int64_t user_id, std::string key) {
    co_await pools_().query(kDropKey, db::params(user_id, key));
}

asio::awaitable<std::int64_t> OrdersStore::purge_expired_keys() {
    auto r = co_await pools_().query(kPurgeExpiredKeys);
    co_return r.affected();
}

asio::awaitable<Order> OrdersStore::insert_order(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t user_id,
    json::value shipping_address,
    std::string idempotency_key,
    std::chrono::seconds ttl) {
    auto r = co_await tx.query(
        kInsertOrder,
        db::params(user_id, shipping_address, idempotency_key, static_cast<long long>(ttl.count())));
    co_return order_of(r, 0);
}

asio::awaitable<std::vector<Order>> OrdersStore::insert_orders(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<NewOrderRow> orders,
    std::chrono::seconds ttl) {
    json::array rows;
    rows.reserve(orders.size());
    for (const auto& o : orders) {
        rows.push_back(json::object{{"user_id", o.user_id},
                                    {"idempotency_key", o.idempotency_key},
                                    {"total_cents", o.total_cents},
                                    {"currency", o.currency},
                                    {"shipping_address", o.shipping_address},
                                    {"subtotal_cents", o.subtotal_cents},
                                    {"discount_cents", o.discount_cents},
                                    {"shipping_cents", o.shipping_cents},
                                    {"tax_cents", o.tax_cents},
                                    {"promotions", promotions_json(o.promotions)},
                                    {"country", o.country ? json::value(*o.country) : json::value(nullptr)},
                                    {"shipping_option_id", o.shipping_option_id ? json::value(*o.shipping_option_id)
                                                                                : json::value(nullptr)}});
    }
    const json::value batch(std::move(rows));
    auto r = co_await tx.query(kInsertOrders, db::params(batch, static_cast<long long>(ttl.count())));
    // RETURNING has no defined order: match the rows by (user, key), which is unique.
    std::vector<Order> out(orders.size());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        auto order = order_of(r, i);
        const auto key = r.get<std::string>(i, "idempotency_key");
        for (std::size_t j = 0; j < orders.size(); ++j) {
            if (orders[j].user_id == order.user_id && orders[j].idempotency_key == key) out[j] = order;
        }
    }
    co_return out;
}

asio::awaitable<void> OrdersStore::insert_items(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::pair<std::int64_t, OrderItem>> items) {
    json::array rows;
    rows.reserve(items.size());
    for (const auto& [order_id, item] : items) {
        rows.push_back(json::object{{"order_id", order_id},
                                    {"product_id", item.product_id},
                                    {"variant_id", item.variant_id},
                                    {"quantity", item.quantity},
                                    {"unit_price_cents", item.unit_price_cents},
                                    {"discount_cents", item.discount_cents},
                                    {"tax_cents", item.tax_cents}});
    }
    const json::value batch(std::move(rows));
    co_await tx.query(kInsertItems, db::params(batch));
}

asio::awaitable<void> OrdersStore::add_events(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::string event_type,
    std::vector<std::pair<std::int64_t, json::value>> events) {
    json::array rows;
    rows.reserve(events.size());
    for (auto& [order_id, payload] : events) {
        rows.push_back(json::object{{"order_id", order_id}, {"payload", std::move(payload)}});
    }
    const json::value batch(std::move(rows));
    co_await tx.query(kAddEvents, db::params(batch, event_type));
}

asio::awaitable<void> OrdersStore::finish_keys_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<FinishedKey> keys) {
    json::array rows;
    rows.reserve(keys.size());
    for (auto& k : keys) {
        rows.push_back(json::object{{"user_id", k.user_id}, {"key", k.key}, {"status", k.status}, {"body", std::move(k.body)}});
    }
    const json::value batch(std::move(rows));
    co_await tx.query(kFinishKeys, db::params(batch));
}

asio::awaitable<void> OrdersStore::insert_item(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    OrderItem item) {
    co_await tx.query(kInsertItem, db::params(order_id, item.product_id, item.variant_id, item.quantity,
                                              item.unit_price_cents, item.discount_cents, item.tax_cents));
}

asio::awaitable<void> OrdersStore::set_amounts(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const Order& order) {
    const auto promotions = promotions_json(order.promotions);
    co_await tx.query(kSetTotal, db::params(order.id, order.total_cents, order.currency, order.subtotal_cents,
                                            order.discount_cents, order.shipping_cents, order.tax_cents, promotions,
                                            order.country, order.shipping_option_id));
}

asio::awaitable<std::optional<std::int64_t>> OrdersStore::add_refunded(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    std::int64_t amount_cents,
    std::int64_t payment_id) {
    auto r = co_await tx.query(kAddRefunded, db::params(order_id, amount_cents, payment_id));
    if (r.empty()) co_return std::nullopt;
    co_return r.get<std::int64_t>(0, "refunded_cents");
}

asio::awaitable<void> OrdersStore::add_event(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    std::string event_type,
    json::value payload) {
    co_await tx.query(kAddEvent, db::params(std::to_string(order_id), event_type, payload));
}

asio::awaitable<std::optional<Order>> OrdersStore::find_order(std::int64_t id) {
    auto r = co_await pools_().query(kOrderById, db::params(id));
    if (r.empty()) co_return std::nullopt;
    std::vector<Order> orders{order_of(r, 0)};
    std::vector<std::int64_t> ids{id};
    auto items = co_await pools_().query(kItemsOf, db::params(ids));
    attach_items(orders, items);
    co_return std::move(orders.front());
}

asio::awaitable<std::optional<Order>> OrdersStore::lock_order(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLockOrder, db::params(id));
    if (r.empty()) co_return std::nullopt;
    std::vector<Order> orders{order_of(r, 0)};
    std::vector<std::int64_t> ids{id};
    auto items = co_await tx.query(kItemsOf, db::params(ids));
    attach_items(orders, items);
    co_return std::move(orders.front());
}

asio::awaitable<void> OrdersStore::set_status(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    OrderStatus status,
    std::optional<std::int64_t> paid_by) {
    co_await tx.query(kSetStatus, db::params(id, std::string(status_name(status)), paid_by));
}

asio::awaitable<std::vector<Order>> OrdersStore::list_orders(OrderFilter filter,
                                                             std::int64_t limit,
                                                             std::optional<std::int64_t> before_id) {
    db::QueryResult r;
    if (!filter.user_id) {
        r = co_await pools_().query(kListAll, db::params(limit, before_id, filter.status, filter.email));
    } else if (before_id) {
        r = co_await pools_().query(kListAfter, db::params(*filter.user_id, limit, *before_id));
    } else {
        r = co_await pools_().query(kListFirst, db::params(*filter.user_id, limit));
    }
    std::vector<Order> orders;
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        orders.push_back(order_of(r, i));
        ids.push_back(orders.back().id);
    }
    if (!ids.empty()) {
        auto items = co_await pools_().query(kItemsOf, db::params(ids));
        attach_items(orders, items);
    }
    co_return orders;
}

asio::awaitable<bool> OrdersStore::has_unsettled_payment(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id) {
    auto r = co_await tx.query(kUnsettledPayment, order_id);
    co_return !r.empty();
}

asio::awaitable<std::vector<std::int64_t>> OrdersStore::lock_due_orders(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t limit) {
    auto r = co_await tx.query(kDueOrders, db::params(limit));
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < r.rows(); ++i) ids.push_back(r.get<std::int64_t>(i, "id"));
    co_return ids;
}

}  // namespace emporium::orders
