#include "carts/carts_store.hpp"

#include "core/codec.hpp"

namespace emporium::carts {

namespace {

namespace asio = boost::asio;

constexpr db::Statement kCreate{
    "carts.create",
    "INSERT INTO carts (user_id, token_hash, expires_at) "
    "VALUES ($1::bigint, $2::bytea, now() + $3::bigint * interval '1 second') RETURNING id"};
#define EMPORIUM_CART_COLUMNS "SELECT id, user_id, token_hash, status, order_id, version, expires_at FROM carts"
constexpr db::Statement kFind{"carts.find", EMPORIUM_CART_COLUMNS " WHERE id = $1"};
constexpr db::Statement kLockCart{"carts.lock", EMPORIUM_CART_COLUMNS " WHERE id = $1 FOR UPDATE"};
#undef EMPORIUM_CART_COLUMNS
constexpr db::Statement kOpenCartOf{"carts.open_cart_of",
                                    "SELECT id FROM carts WHERE user_id = $1 AND status = 'open'"};
constexpr db::Statement kCartOfToken{"carts.cart_of_token", "SELECT id FROM carts WHERE token_hash = $1::bytea"};
// A line with what the catalog says about its variant now (price, whether it is for sale).
#define EMPORIUM_LINE_COLUMNS                                                                                  \
    "SELECT l.variant_id, l.product_id, v.sku, p.name, l.quantity, l.quoted_price_cents, l.held, "            \
    "l.hold_started_at, l.hold_expires_at, coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, " \
    "(v.is_active AND v.deleted_at IS NULL AND p.is_active AND p.deleted_at IS NULL) AS for_sale "            \
    "FROM cart_lines l JOIN product_variants v ON v.id = l.variant_id JOIN products p ON p.id = l.product_id " \
    "WHERE l.cart_id = $1"
constexpr db::Statement kLines{"carts.lines", EMPORIUM_LINE_COLUMNS " ORDER BY l.added_at, l.id"};
constexpr db::Statement kLockLines{"carts.lock_lines", EMPORIUM_LINE_COLUMNS " ORDER BY l.variant_id FOR UPDATE OF l"};
constexpr db::Statement kLockLine{"carts.lock_line", EMPORIUM_LINE_COLUMNS " AND l.variant_id = $2 FOR UPDATE OF l"};
#undef EMPORIUM_LINE_COLUMNS
// Activity moves the deadlines of the holds the cart still has (also of those past their deadline
// that nobody reclaimed: their units are still counted as held), never past start + $3.
constexpr db::Statement kRenew{
    "carts.renew",
    "UPDATE cart_lines SET hold_expires_at = least(now() + $2::bigint * interval '1 second', "
    "hold_started_at + $3::bigint * interval '1 second') "
    "WHERE cart_id = $1 AND held > 0 AND hold_expires_at < least(now() + $2::bigint * interval '1 second', "
    "hold_started_at + $3::bigint * interval '1 second')"};
constexpr db::Statement kOffer{
    "carts.offer",
    "SELECT v.id, v.product_id, coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, "
    "(v.is_active AND v.deleted_at IS NULL AND p.is_active AND p.deleted_at IS NULL) AS for_sale, "
    "(v.stock - v.held)::bigint AS available, "
    "(SELECT coalesce(sum(l.held), 0) FROM cart_lines l WHERE l.variant_id = v.id AND l.held > 0 "
    "AND l.hold_expires_at < now() AND l.cart_id <> $2)::bigint AS lapsed "
    "FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1"};
constexpr db::Statement kCountLines{"carts.count_lines",
                                    "SELECT count(*) AS n FROM cart_lines WHERE cart_id = $1"};
constexpr db::Statement kHold{
    "carts.hold",
    "UPDATE product_variants SET held = held + $2::integer WHERE id = $1 AND stock - held >= $2::integer"};
constexpr db::Statement kUnhold{"carts.unhold",
                                "UPDATE product_variants SET held = held - $2::integer WHERE id = $1"};
// Holds of one variant past their deadline, of lines no one has locked (a cart being changed or
// checked out keeps its line).
constexpr db::Statement kReclaim{
    "carts.reclaim",
    "WITH expired AS (SELECT id, held FROM cart_lines WHERE variant_id = $1 AND held > 0 "
    "AND hold_expires_at < now() FOR UPDATE SKIP LOCKED), "
    "released AS (UPDATE cart_lines c SET held = 0, hold_started_at = NULL, hold_expires_at = NULL "
    "FROM expired e WHERE c.id = e.id RETURNING e.held) "
    "UPDATE product_variants SET held = held - (SELECT sum(held) FROM released) "
    "WHERE id = $1 AND EXISTS (SELECT 1 FROM released) RETURNING (SELECT sum(held) FROM released)::bigint AS freed"};
constexpr db::Statement kUpsertLine{
    "carts.upsert_line",
    "INSERT INTO cart_lines (cart_id, variant_id, product_id, quantity, quoted_price_cents, held, hold_started_at, "
    "hold_expires_at) VALUES ($1, $2, $3, $4::integer, $5::bigint, $6::integer, "
    "CASE WHEN $6::integer > 0 THEN now() END, CASE WHEN $6::integer > 0 THEN now() + $7::bigint * interval '1 second' END) "
    "ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity, "
    "quoted_price_cents = EXCLUDED.quoted_price_cents, held = EXCLUDED.held, "
    "hold_started_at = EXCLUDED.hold_started_at, hold_expires_at = EXCLUDED.hold_expires_at"};
constexpr db::Statement kDeleteLine{"carts.delete_line",
                                    "DELETE FROM cart_lines WHERE cart_id = $1 AND variant_id = $2"};
constexpr db::Statement kTouch{
    "carts.touch",
    "UPDATE carts SET version = version + 1, expires_at = now() + $2::bigint * interval '1 second' WHERE id = $1"};
constexpr db::Statement kCloseCheckedOut{
    "carts.close_checked_out",
    "WITH l AS (UPDATE cart_lines SET held = 0, hold_started_at = NULL, hold_expires_at = NULL "
    "WHERE cart_id = $1 AND held > 0), o AS (UPDATE orders SET cart_id = $1 WHERE id = $2) "
    "UPDATE carts SET status = 'checked_out', order_id = $2, version = version + 1 WHERE id = $1"};
constexpr db::Statement kCloseMerged{
    "carts.close_merged",
    "UPDATE carts SET status = 'merged', merged_into = $2, version = version + 1 WHERE id = $1"};
// The released lines' units leave their variants' held in one statement per batch.
#define EMPORIUM_RELEASE_TAIL                                                                              \
    "released AS (UPDATE cart_lines c SET held = 0, hold_started_at = NULL, hold_expires_at = NULL "       \
    "FROM expired e WHERE c.id = e.id RETURNING e.variant_id, e.held), "                                   \
    "totals AS (SELECT variant_id, sum(held)::integer AS units FROM released GROUP BY variant_id), "       \
    "variants AS (UPDATE product_variants v SET held = v.held - t.units FROM totals t WHERE v.id = t.variant_id " \
    "RETURNING 1) "
constexpr db::Statement kReleaseExpiredHolds{
    "carts.release_expired_holds",
    "WITH expired AS (SELECT id, variant_id, held FROM cart_lines WHERE held > 0 AND hold_expires_at < now() "
    "ORDER BY hold_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED), " EMPORIUM_RELEASE_TAIL
    "SELECT (SELECT count(*) FROM released) + 0 * (SELECT count(*) FROM variants) AS n"};
constexpr db::Statement kExpireCarts{
    "carts.expire",
    "WITH due AS (SELECT id FROM carts WHERE status = 'open' AND expires_at < now() ORDER BY expires_at "
    "LIMIT $1 FOR UPDATE SKIP LOCKED), "
    "expired AS (SELECT l.id, l.variant_id, l.held FROM cart_lines l JOIN due ON due.id = l.cart_id "
    "WHERE l.held > 0 FOR UPDATE OF l), " EMPORIUM_RELEASE_TAIL
    ", closed AS (UPDATE carts c SET status = 'expired', version = c.version + 1 FROM due WHERE c.id = due.id "
    "RETURNING 1) "
    "SELECT (SELECT count(*) FROM closed) + 0 * (SELECT count(*) FROM variants) AS n"};
#undef EMPORIUM_RELEASE_TAIL
// Expired and merged carts untouched for $2 seconds, with their lines: a cart another was merged
// into waits until that one has gone (a later sweep). Checked-out carts stay with their orders.
constexpr db::Statement kPurgeCarts{
    "carts.purge",
    "WITH due AS (SELECT c.id FROM carts c WHERE c.status IN ('expired', 'merged') "
    "AND c.updated_at < now() - $2::bigint * interval '1 second' "
    "AND NOT EXISTS (SELECT 1 FROM carts m WHERE m.merged_into = c.id) "
    "ORDER BY c.updated_at LIMIT $1 FOR UPDATE SKIP LOCKED), "
    "lines AS (DELETE FROM cart_lines l USING due WHERE l.cart_id = due.id RETURNING 1), "
    "gone AS (DELETE FROM carts c USING due WHERE c.id = due.id RETURNING 1) "
    "SELECT (SELECT count(*) FROM gone) + 0 * (SELECT count(*) FROM lines) AS n"};

CartRow cart_of(const db::QueryResult& r) {
    CartRow c;
    c.id = r.get<std::int64_t>(0, "id");
    c.user_id = r.get_optional<std::int64_t>(0, "user_id");
    if (auto hash = r.get_optional<db::Bytea>(0, "token_hash")) c.token_hash = std::move(hash->bytes);
    c.status = core::codec::enum_from<CartStatus>(r.get<std::string>(0, "status")).value_or(CartStatus::kExpired);
    c.order_id = r.get_optional<std::int64_t>(0, "order_id");
    c.version = r.get<std::int64_t>(0, "version");
    c.expires_at = r.get<Timestamp>(0, "expires_at");
    return c;
}

std::vector<LineRow> lines_of(const db::QueryResult& r) {
    std::vector<LineRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        LineRow l;
        l.variant_id = r.get<std::int64_t>(i, "variant_id");
        l.product_id = r.get<std::int64_t>(i, "product_id");
        l.sku = r.get<std::string>(i, "sku");
        l.name = r.get<std::string>(i, "name");
        l.quantity = r.get<std::int32_t>(i, "quantity");
        l.quoted_price_cents = r.get<std::int64_t>(i, "quoted_price_cents");
        l.held = r.get<std::int32_t>(i, "held");
        l.hold_started_at = r.get_optional<Timestamp>(i, "hold_started_at");
        l.hold_expires_at = r.get_optional<Timestamp>(i, "hold_expires_at");
        l.price_cents = r.get<std::int64_t>(i, "price_cents");
        l.currency = r.get<std::string>(i, "currency");
        l.for_sale = r.get<bool>(i, "for_sale");
        out.push_back(std::move(l));
    }
    return out;
}

}  // namespace

asio::awaitable<std::int64_t> CartsStore::create(std::optional<std::int64_t> user_id,
                                                 std::optional<std::string> token_hash,
                                                 std::chrono::seconds ttl) {
    const db::Param hash_param = token_hash ? db::Param::bytea(*token_hash) : db::Param(std::optional<std::string>());
    auto r = co_await pools_().query(kCreate, db::params(user_id, hash_param, static_cast<std::int64_t>(ttl.count())));
    co_return r.get<std::int64_t>(0, "id");
}

asio::awaitable<std::optional<CartRow>> CartsStore::find(std::int64_t id) {
    auto r = co_await pools_().query(kFind, db::params(id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return cart_of(r);
}

asio::awaitable<std::optional<std::int64_t>> CartsStore::open_cart_of(std::int64_t user_id) {
    auto r = co_await pools_().query(kOpenCartOf, db::params(user_id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return r.get<std::int64_t>(0, "id");
}

asio::awaitable<std::optional<std::int64_t>> CartsStore::cart_of_token(std::string token_hash) {
    auto r = co_await pools_().query(kCartOfToken, db::params(db::Param::bytea(token_hash)));
    if (r.rows() == 0) co_return std::nullopt;
    co_return r.get<std::int64_t>(0, "id");
}

asio::awaitable<std::vector<LineRow>> CartsStore::lines(std::int64_t cart_id) {
    auto r = co_await pools_().query(kLines, db::params(cart_id));
    co_return lines_of(r);
}

asio::awaitable<void> CartsStore::renew(std::int64_t cart_id, std::chrono::seconds ttl, std::chrono::seconds max) {
    co_await pools_().query(kRenew, db::params(cart_id, static_cast<std::int64_t>(ttl.count()),
                                               static_cast<std::int64_t>(max.count())));
}

asio::awaitable<std::optional<Offer>> CartsStore::offer(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int64_t cart_id) {
    auto r = co_await tx.query(kOffer, db::params(variant_id, cart_id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return Offer{r.get<std::int64_t>(0, "id"),          r.get<std::int64_t>(0, "product_id"),
                    r.get<std::int64_t>(0, "price_cents"), r.get<std::string>(0, "currency"),
                    r.get<bool>(0, "for_sale"),            r.get<std::int64_t>(0, "available"),
                    r.get<std::int64_t>(0, "lapsed")};
}

asio::awaitable<std::optional<CartRow>> CartsStore::lock_cart(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLockCart, db::params(id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return cart_of(r);
}

asio::awaitable<std::vector<LineRow>> CartsStore::lock_lines(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id) {
    auto r = co_await tx.query(kLockLines, db::params(cart_id));
    co_return lines_of(r);
}

asio::awaitable<std::optional<LineRow>> CartsStore::lock_line(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::int64_t variant_id) {
    auto r = co_await tx.query(kLockLine, db::params(cart_id, variant_id));
    auto rows = lines_of(r);
    if (rows.empty()) co_return std::nullopt;
    co_return std::move(rows.front());
}

asio::awaitable<std::int64_t> CartsStore::count_lines(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id) {
    auto r = co_await tx.query(kCountLines, db::params(cart_id));
    co_return r.get<std::int64_t>(0, "n");
}

asio::awaitable<bool> CartsStore::hold(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int32_t units) {
    auto r = co_await tx.query(kHold, db::params(variant_id, units));
    co_return r.affected() == 1;
}

asio::awaitable<void> CartsStore::unhold(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id,
    std::int32_t units) {
    co_await tx.query(kUnhold, db::params(variant_id, units));
}

asio::awaitable<std::int64_t> CartsStore::reclaim(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t variant_id) {
    auto r = co_await tx.query(kReclaim, db::params(variant_id));
    co_return r.rows() == 0 ? 0 : r.get<std::int64_t>(0, "freed");
}

asio::awaitable<void> CartsStore::upsert_line(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    LineRow line,
    HoldWrite hold) {
    co_await tx.query(kUpsertLine, db::params(cart_id, line.variant_id, line.product_id, line.quantity,
                                              line.quoted_price_cents, hold.held,
                                              static_cast<std::int64_t>(hold.ttl.count())));
}

asio::awaitable<void> CartsStore::delete_line(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::int64_t variant_id) {
    co_await tx.query(kDeleteLine, db::params(cart_id, variant_id));
}

asio::awaitable<void> CartsStore::touch(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::chrono::seconds ttl) {
    co_await tx.query(kTouch, db::params(cart_id, static_cast<std::int64_t>(ttl.count())));
}

asio::awaitable<void> CartsStore::close_checked_out(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::int64_t order_id) {
    co_await tx.query(kCloseCheckedOut, db::params(cart_id, order_id));
}

asio::awaitable<void> CartsStore::close_merged(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::int64_t into) {
    co_await tx.query(kCloseMerged, db::params(cart_id, into));
}

asio::awaitable<std::int64_t> CartsStore::release_expired_holds(std::int64_t batch) {
    auto r = co_await pools_().query(kReleaseExpiredHolds, db::params(batch));
    co_return r.get<std::int64_t>(0, "n");
}

asio::awaitable<std::int64_t> CartsStore::expire_carts(std::int64_t batch) {
    auto r = co_await pools_().query(kExpireCarts, db::params(batch));
    co_return r.get<std::int64_t>(0, "n");
}

asio::awaitable<std::int64_t> CartsStore::purge_carts(std::int64_t batch, std::chrono::seconds retention) {
    auto r = co_await pools_().query(kPurgeCarts, db::params(batch, static_cast<std::int64_t>(retention.count())));
    co_return r.get<std::int64_t>(0, "n");
}

}  // namespace emporium::carts
