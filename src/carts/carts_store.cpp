#include "carts/carts_store.hpp"

#include "core/codec.hpp"

namespace emporium::carts {

namespace {

namespace asio = boost::asio;

constexpr db::Statement kCreate{
    "carts.create",
    "INSERT INTO carts (user_id, token_hash, expires_at) "
    "VALUES ($1::bigint, $2::bytea, now() + $3::bigint * interval '1 second') RETURNING id"};
#define EMPORIUM_CART_COLUMNS                                                                  \
    "SELECT id, user_id, token_hash, status, order_id, version, expires_at, country, shipping_option_id, " \
    "(SELECT coalesce(jsonb_agg(cc.code ORDER BY cc.added_at, cc.code), '[]'::jsonb) FROM cart_codes cc "        \
    "WHERE cc.cart_id = carts.id) AS codes "                                                                        \
    "FROM carts"
constexpr db::Statement kFind{"carts.find", EMPORIUM_CART_COLUMNS " WHERE id = $1"};
constexpr db::Statement kLockCart{"carts.lock", EMPORIUM_CART_COLUMNS " WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kLockCarts{"carts.lock_many",
                                   EMPORIUM_CART_COLUMNS " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"};
constexpr db::Statement kCartsIn{"carts.find_many", EMPORIUM_CART_COLUMNS " WHERE id = ANY($1::bigint[]) ORDER BY id"};
#undef EMPORIUM_CART_COLUMNS
constexpr db::Statement kOpenCartOf{"carts.open_cart_of",
                                    "SELECT id FROM carts WHERE user_id = $1 AND status = 'open'"};
constexpr db::Statement kCartOfToken{"carts.cart_of_token", "SELECT id FROM carts WHERE token_hash = $1::bytea"};
// A line with what the catalog says about its variant now (price, whether it is for sale).
#define EMPORIUM_LINE_COLUMNS                                                                                  \
    "SELECT l.cart_id, l.variant_id, l.product_id, v.sku, p.name, l.quantity, l.quoted_price_cents, l.held, "            \
    "l.hold_started_at, l.hold_expires_at, coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, " \
    "(v.is_active AND v.deleted_at IS NULL AND p.is_active AND p.deleted_at IS NULL) AS for_sale "            \
    "FROM cart_lines l JOIN product_variants v ON v.id = l.variant_id JOIN products p ON p.id = l.product_id " \
    "WHERE "
constexpr db::Statement kLines{"carts.lines", EMPORIUM_LINE_COLUMNS "l.cart_id = $1 ORDER BY l.added_at, l.id"};
constexpr db::Statement kLockLines{"carts.lock_lines",
                                   EMPORIUM_LINE_COLUMNS "l.cart_id = $1 ORDER BY l.variant_id FOR UPDATE OF l"};
constexpr db::Statement kLockLine{"carts.lock_line",
                                  EMPORIUM_LINE_COLUMNS "l.cart_id = $1 AND l.variant_id = $2 FOR UPDATE OF l"};
constexpr db::Statement kLinesIn{"carts.lines_many", EMPORIUM_LINE_COLUMNS
                                 "l.cart_id = ANY($1::bigint[]) ORDER BY l.cart_id, l.added_at, l.id"};
constexpr db::Statement kLockLinesOf{
    "carts.lock_lines_many",
    EMPORIUM_LINE_COLUMNS "l.cart_id = ANY($1::bigint[]) ORDER BY l.cart_id, l.variant_id FOR UPDATE OF l"};
#undef EMPORIUM_LINE_COLUMNS
// Activity moves the deadlines of the holds the cart still has (also of those past their deadline
// that nobody reclaimed: their units are still counted as held), never past start + $3.
constexpr db::Statement kRenew{
    "carts.renew",
    "UPDATE cart_lines SET hold_expires_at = least(now() + $2::bigint * interval '1 second', "
    "hold_started_at + $3::bigint * interval '1 second') "
    "WHERE cart_id = $1 AND held > 0 AND hold_expires_at < least(now() + $2::bigint * interval '1 second', "
    "hold_started_at + $3::bigint * interval '1 second')"};
// What the variants offer now; `lapsed` counts the lapsed held units of every cart but $2 (NULL:
// every cart).
constexpr db::Statement kOffers{
    "carts.offers",
    "SELECT v.id, v.product_id, coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, "
    "(v.is_active AND v.deleted_at IS NULL AND p.is_active AND p.deleted_at IS NULL) AS for_sale, "
    "(v.stock - v.held)::bigint AS available, "
    "(SELECT coalesce(sum(l.held), 0) FROM cart_lines l WHERE l.variant_id = v.id AND l.held > 0 "
    "AND l.hold_expires_at < now() AND ($2::bigint IS NULL OR l.cart_id <> $2::bigint))::bigint AS lapsed "
    "FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = ANY($1::bigint[]) ORDER BY v.id"};
constexpr db::Statement kLockAvailable{
    "carts.lock_available",
    "SELECT id, (stock - held)::bigint AS available FROM product_variants WHERE id = ANY($1::bigint[]) "
    "ORDER BY id FOR UPDATE"};
constexpr db::Statement kUpsertLines{
    "carts.upsert_lines",
    "INSERT INTO cart_lines (cart_id, variant_id, product_id, quantity, quoted_price_cents, held, hold_started_at, "
    "hold_expires_at) SELECT d.cart_id, d.variant_id, d.product_id, d.quantity, d.quoted_price_cents, d.held, "
    "CASE WHEN d.held > 0 THEN now() END, CASE WHEN d.held > 0 THEN now() + $2::bigint * interval '1 second' END "
    "FROM jsonb_to_recordset($1::jsonb) AS d(cart_id bigint, variant_id bigint, product_id bigint, quantity integer, "
    "quoted_price_cents bigint, held integer) ORDER BY d.cart_id, d.variant_id "
    "ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = EXCLUDED.quantity, "
    "quoted_price_cents = EXCLUDED.quoted_price_cents, held = EXCLUDED.held, "
    "hold_started_at = EXCLUDED.hold_started_at, hold_expires_at = EXCLUDED.hold_expires_at"};
constexpr db::Statement kShiftHeld{
    "carts.shift_held",
    "UPDATE product_variants v SET held = v.held + d.delta "
    "FROM jsonb_to_recordset($1::jsonb) AS d(variant_id bigint, delta integer) WHERE v.id = d.variant_id"};
constexpr db::Statement kTouchMany{
    "carts.touch_many",
    "UPDATE carts c SET version = c.version + d.changes, expires_at = now() + $2::bigint * interval '1 second' "
    "FROM jsonb_to_recordset($1::jsonb) AS d(cart_id bigint, changes bigint) WHERE c.id = d.cart_id"};
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
    "AND hold_expires_at < now() AND cart_id <> ALL($2::bigint[]) FOR UPDATE SKIP LOCKED), "
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
constexpr db::Statement kAddCode{
    "carts.add_code", "INSERT INTO cart_codes (cart_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING"};
// The codes of cart $1 the cart $2 lacks, oldest first, as many as fit under $3 codes.
constexpr db::Statement kMoveCodes{
    "carts.move_codes",
    "INSERT INTO cart_codes (cart_id, code, added_at) SELECT $2, c.code, c.added_at FROM cart_codes c "
    "WHERE c.cart_id = $1 AND NOT EXISTS (SELECT 1 FROM cart_codes t WHERE t.cart_id = $2 AND t.code = c.code) "
    "ORDER BY c.added_at, c.code "
    "LIMIT greatest(0, $3::bigint - (SELECT count(*) FROM cart_codes WHERE cart_id = $2))"};
constexpr db::Statement kRemoveCode{"carts.remove_code", "DELETE FROM cart_codes WHERE cart_id = $1 AND code = $2"};
constexpr db::Statement kSetShipping{
    "carts.set_shipping", "UPDATE carts SET country = $2, shipping_option_id = $3::bigint WHERE id = $1"};
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


std::vector<LineRow> lines_of(const db::QueryResult& r) {
    std::vector<LineRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        LineRow l;
        l.cart_id = r.get<std::int64_t>(i, "cart_id");
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

std::vector<CartRow> carts_of(const db::QueryResult& r) {
    std::vector<CartRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        CartRow c;
        c.id = r.get<std::int64_t>(i, "id");
        c.user_id = r.get_optional<std::int64_t>(i, "user_id");
        if (auto hash = r.get_optional<db::Bytea>(i, "token_hash")) c.token_hash = std::move(hash->bytes);
        c.status = core::codec::enum_from<CartStatus>(r.get<std::string>(i, "status")).value_or(CartStatus::kExpired);
        c.order_id = r.get_optional<std::int64_t>(i, "order_id");
        c.version = r.get<std::int64_t>(i, "version");
        c.expires_at = r.get<Timestamp>(i, "expires_at");
        c.country = r.get_optional<std::string>(i, "country");
        c.shipping_option_id = r.get_optional<std::int64_t>(i, "shipping_option_id");
        const auto codes = r.get<boost::json::value>(i, "codes");
        for (const auto& code : codes.as_array()) c.codes.emplace_back(code.as_string());
        out.push_back(std::move(c));
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
    co_return std::move(carts_of(r).front());
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
    std::vector<std::int64_t> ids{variant_id};
    auto found = co_await offers(tx, std::move(ids), cart_id);
    if (found.empty()) co_return std::nullopt;
    co_return std::move(found.front());
}

asio::awaitable<std::optional<CartRow>> CartsStore::lock_cart(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLockCart, db::params(id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return std::move(carts_of(r).front());
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
    std::int64_t variant_id,
    std::vector<std::int64_t> spared) {
    auto r = co_await tx.query(kReclaim, db::params(variant_id, spared));
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

asio::awaitable<void> CartsStore::set_shipping(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::string country,
    std::optional<std::int64_t> option_id) {
    co_await tx.query(kSetShipping, db::params(cart_id, country, option_id));
}

asio::awaitable<void> CartsStore::add_code(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::string code) {
    co_await tx.query(kAddCode, db::params(cart_id, code));
}

asio::awaitable<void> CartsStore::move_codes(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t from,
    std::int64_t into,
    std::int64_t max) {
    co_await tx.query(kMoveCodes, db::params(from, into, max));
}

asio::awaitable<bool> CartsStore::remove_code(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t cart_id,
    std::string code) {
    auto r = co_await tx.query(kRemoveCode, db::params(cart_id, code));
    co_return r.affected() == 1;
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

asio::awaitable<std::vector<CartRow>> CartsStore::carts_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> ids,
    bool lock) {
    auto r = co_await tx.query(lock ? kLockCarts : kCartsIn, db::params(ids));
    co_return carts_of(r);
}

asio::awaitable<std::vector<LineRow>> CartsStore::lines_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> cart_ids,
    bool lock) {
    auto r = co_await tx.query(lock ? kLockLinesOf : kLinesIn, db::params(cart_ids));
    co_return lines_of(r);
}

asio::awaitable<std::vector<Offer>> CartsStore::offers(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> variant_ids,
    std::optional<std::int64_t> excluded_cart) {
    auto r = co_await tx.query(kOffers, db::params(variant_ids, excluded_cart));
    std::vector<Offer> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(Offer{r.get<std::int64_t>(i, "id"),          r.get<std::int64_t>(i, "product_id"),
                            r.get<std::int64_t>(i, "price_cents"), r.get<std::string>(i, "currency"),
                            r.get<bool>(i, "for_sale"),            r.get<std::int64_t>(i, "available"),
                            r.get<std::int64_t>(i, "lapsed")});
    }
    co_return out;
}

asio::awaitable<std::vector<std::pair<std::int64_t, std::int64_t>>> CartsStore::lock_available(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> variant_ids) {
    auto r = co_await tx.query(kLockAvailable, db::params(variant_ids));
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.emplace_back(r.get<std::int64_t>(i, "id"), r.get<std::int64_t>(i, "available"));
    }
    co_return out;
}

asio::awaitable<void> CartsStore::upsert_lines(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<LineWrite> lines,
    std::chrono::seconds ttl) {
    boost::json::array rows;
    rows.reserve(lines.size());
    for (const auto& l : lines) {
        rows.push_back(boost::json::object{{"cart_id", l.cart_id},
                                           {"variant_id", l.variant_id},
                                           {"product_id", l.product_id},
                                           {"quantity", l.quantity},
                                           {"quoted_price_cents", l.quoted_price_cents},
                                           {"held", l.held}});
    }
    const boost::json::value batch(std::move(rows));
    co_await tx.query(kUpsertLines, db::params(batch, static_cast<std::int64_t>(ttl.count())));
}

asio::awaitable<void> CartsStore::shift_held(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::pair<std::int64_t, std::int32_t>> deltas) {
    boost::json::array rows;
    rows.reserve(deltas.size());
    for (const auto& [variant_id, delta] : deltas) {
        rows.push_back(boost::json::object{{"variant_id", variant_id}, {"delta", delta}});
    }
    const boost::json::value batch(std::move(rows));
    co_await tx.query(kShiftHeld, db::params(batch));
}

asio::awaitable<void> CartsStore::touch_many(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::pair<std::int64_t, std::int64_t>> changes,
    std::chrono::seconds ttl) {
    boost::json::array rows;
    rows.reserve(changes.size());
    for (const auto& [cart_id, n] : changes) rows.push_back(boost::json::object{{"cart_id", cart_id}, {"changes", n}});
    const boost::json::value batch(std::move(rows));
    co_await tx.query(kTouchMany, db::params(batch, static_cast<std::int64_t>(ttl.count())));
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
