#include "promotions/promotions_store.hpp"

#include "core/codec.hpp"

namespace emporium::promotions {

namespace {

namespace asio = boost::asio;

#define EMPORIUM_PROMOTION_COLUMNS                                                                          \
    "id, code, name, kind, value, currency, min_subtotal_cents, product_ids, category_ids, variant_ids, "   \
    "first_order_only, starts_at, ends_at, exclusive, priority, usage_limit, redeemed, per_customer_limit, " \
    "is_active, version, created_at, updated_at"
constexpr db::Statement kInsert{
    "promotions.insert",
    "INSERT INTO promotions (code, name, kind, value, currency, min_subtotal_cents, product_ids, category_ids, "
    "variant_ids, first_order_only, starts_at, ends_at, exclusive, priority, usage_limit, per_customer_limit, "
    "is_active) VALUES ($1, $2, $3, $4::bigint, $5, $6::bigint, $7::bigint[], $8::bigint[], $9::bigint[], "
    "$10::boolean, $11::timestamptz, $12::timestamptz, $13::boolean, $14::integer, $15::bigint, $16::bigint, "
    "$17::boolean) RETURNING " EMPORIUM_PROMOTION_COLUMNS};
constexpr db::Statement kFind{"promotions.find", "SELECT " EMPORIUM_PROMOTION_COLUMNS
                                                 " FROM promotions WHERE id = $1 AND deleted_at IS NULL"};
constexpr db::Statement kLock{"promotions.lock", "SELECT " EMPORIUM_PROMOTION_COLUMNS
                                                 " FROM promotions WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"};
constexpr db::Statement kList{
    "promotions.list",
    "SELECT " EMPORIUM_PROMOTION_COLUMNS " FROM promotions WHERE deleted_at IS NULL "
    "AND ($2::bigint IS NULL OR id < $2::bigint) AND ($3::boolean IS NULL OR is_active = $3::boolean) "
    "ORDER BY id DESC LIMIT $1"};
constexpr db::Statement kUpdate{
    "promotions.update",
    "UPDATE promotions SET name = $2, value = $3::bigint, min_subtotal_cents = $4::bigint, product_ids = $5::bigint[], "
    "category_ids = $6::bigint[], variant_ids = $7::bigint[], first_order_only = $8::boolean, "
    "starts_at = $9::timestamptz, ends_at = $10::timestamptz, exclusive = $11::boolean, priority = $12::integer, "
    "usage_limit = $13::bigint, per_customer_limit = $14::bigint, is_active = $15::boolean, version = version + 1 "
    "WHERE id = $1 RETURNING " EMPORIUM_PROMOTION_COLUMNS};
// What may price an order: the promotions with one of the codes (live, active or not: an inactive
// one is shown as such) and the automatic ones in force, ascending id.
#define EMPORIUM_PRICING_CANDIDATES                                                                  \
    "SELECT " EMPORIUM_PROMOTION_COLUMNS " FROM promotions WHERE deleted_at IS NULL AND ("           \
    "code IN (SELECT jsonb_array_elements_text($1::jsonb)) OR (code IS NULL AND is_active "          \
    "AND (starts_at IS NULL OR starts_at <= now()) AND (ends_at IS NULL OR ends_at > now()))) ORDER BY id"
constexpr db::Statement kCandidates{"promotions.candidates", EMPORIUM_PRICING_CANDIDATES};
constexpr db::Statement kLockCandidates{"promotions.lock_candidates", EMPORIUM_PRICING_CANDIDATES " FOR UPDATE"};
#undef EMPORIUM_PRICING_CANDIDATES
#undef EMPORIUM_PROMOTION_COLUMNS
constexpr db::Statement kCustomerUses{
    "promotions.customer_uses",
    "SELECT user_id, promotion_id, count(*) AS n FROM promotion_redemptions WHERE user_id = ANY($1::bigint[]) "
    "AND promotion_id = ANY($2::bigint[]) AND released_at IS NULL GROUP BY user_id, promotion_id"};
constexpr db::Statement kCustomersWithOrders{
    "promotions.customers_with_orders",
    "SELECT DISTINCT user_id FROM orders WHERE user_id = ANY($1::bigint[]) AND status NOT IN ('cancelled', 'expired')"};
constexpr db::Statement kCategories{
    "promotions.categories",
    "SELECT id, category_id FROM products WHERE id = ANY($1::bigint[]) AND category_id IS NOT NULL"};
// Redemptions and the global counts, guarded by the limits (the CHECK of 0014 guards them too):
// returns one row per promotion counted.
constexpr db::Statement kRedeem{
    "promotions.redeem",
    "WITH r AS (INSERT INTO promotion_redemptions (promotion_id, order_id, user_id, code, discount_cents) "
    "SELECT d.promotion_id, d.order_id, d.user_id, d.code, d.discount_cents FROM jsonb_to_recordset($1::jsonb) "
    "AS d(promotion_id bigint, order_id bigint, user_id bigint, code text, discount_cents bigint) "
    "RETURNING promotion_id) "
    "UPDATE promotions p SET redeemed = p.redeemed + c.n "
    "FROM (SELECT promotion_id, count(*) AS n FROM r GROUP BY promotion_id) c "
    "WHERE p.id = c.promotion_id AND (p.usage_limit IS NULL OR p.redeemed + c.n <= p.usage_limit) RETURNING p.id"};
constexpr db::Statement kLockRedeemed{
    "promotions.lock_redeemed",
    "SELECT id FROM promotions WHERE id IN (SELECT promotion_id FROM promotion_redemptions "
    "WHERE order_id = ANY($1::bigint[]) AND released_at IS NULL) ORDER BY id FOR UPDATE"};
constexpr db::Statement kRelease{
    "promotions.release",
    "WITH r AS (UPDATE promotion_redemptions SET released_at = now() WHERE order_id = ANY($1::bigint[]) "
    "AND released_at IS NULL RETURNING promotion_id) "
    "UPDATE promotions p SET redeemed = p.redeemed - c.n "
    "FROM (SELECT promotion_id, count(*) AS n FROM r GROUP BY promotion_id) c WHERE p.id = c.promotion_id"};
constexpr db::Statement kRemove{
    "promotions.remove",
    "UPDATE promotions SET deleted_at = now(), is_active = false, version = version + 1 "
    "WHERE id = $1 AND deleted_at IS NULL"};
constexpr db::Statement kMissingTargets{
    "promotions.missing_targets",
    "SELECT 'product_ids' AS member, x AS id FROM unnest($1::bigint[]) x "
    "WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = x AND p.deleted_at IS NULL) "
    "UNION ALL SELECT 'category_ids', x FROM unnest($2::bigint[]) x "
    "WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = x) "
    "UNION ALL SELECT 'variant_ids', x FROM unnest($3::bigint[]) x "
    "WHERE NOT EXISTS (SELECT 1 FROM product_variants v WHERE v.id = x AND v.deleted_at IS NULL)"};

std::vector<Promotion> promotions_of(const db::QueryResult& r) {
    std::vector<Promotion> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        Promotion p;
        p.id = r.get<std::int64_t>(i, "id");
        p.code = r.get_optional<std::string>(i, "code");
        p.name = r.get<std::string>(i, "name");
        p.kind = core::codec::enum_from<PromotionKind>(r.get<std::string>(i, "kind")).value_or(PromotionKind::kPercentage);
        p.value = r.get<std::int64_t>(i, "value");
        p.currency = r.get<std::string>(i, "currency");
        p.min_subtotal_cents = r.get<std::int64_t>(i, "min_subtotal_cents");
        p.product_ids = r.get<std::vector<std::int64_t>>(i, "product_ids");
        p.category_ids = r.get<std::vector<std::int64_t>>(i, "category_ids");
        p.variant_ids = r.get<std::vector<std::int64_t>>(i, "variant_ids");
        p.first_order_only = r.get<bool>(i, "first_order_only");
        p.starts_at = r.get_optional<Timestamp>(i, "starts_at");
        p.ends_at = r.get_optional<Timestamp>(i, "ends_at");
        p.exclusive = r.get<bool>(i, "exclusive");
        p.priority = r.get<std::int32_t>(i, "priority");
        p.usage_limit = r.get_optional<std::int64_t>(i, "usage_limit");
        p.redeemed = r.get<std::int64_t>(i, "redeemed");
        p.per_customer_limit = r.get_optional<std::int64_t>(i, "per_customer_limit");
        p.is_active = r.get<bool>(i, "is_active");
        p.version = r.get<std::int64_t>(i, "version");
        p.created_at = r.get<Timestamp>(i, "created_at");
        p.updated_at = r.get<Timestamp>(i, "updated_at");
        out.push_back(std::move(p));
    }
    return out;
}

boost::json::value codes_json(const std::vector<std::string>& codes) {
    boost::json::array out;
    for (const auto& c : codes) out.emplace_back(c);
    return out;
}

}  // namespace

asio::awaitable<std::vector<Promotion>> PromotionsStore::candidates(std::vector<std::string> codes) {
    const auto list = codes_json(codes);
    auto r = co_await pools_().query(kCandidates, db::params(list));
    co_return promotions_of(r);
}

asio::awaitable<std::vector<Promotion>> PromotionsStore::lock_candidates(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::string> codes) {
    const auto list = codes_json(codes);
    auto r = co_await tx.query(kLockCandidates, db::params(list));
    co_return promotions_of(r);
}

asio::awaitable<std::vector<CustomerUses>> PromotionsStore::customer_uses(
    db::Transaction* tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> user_ids,
    std::vector<std::int64_t> promotion_ids) {
    auto params = db::params(user_ids, promotion_ids);
    db::QueryResult r;
    if (tx) {
        r = co_await tx->query(kCustomerUses, std::move(params));
    } else {
        r = co_await pools_().query(kCustomerUses, std::move(params));
    }
    std::vector<CustomerUses> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(CustomerUses{r.get<std::int64_t>(i, "user_id"), r.get<std::int64_t>(i, "promotion_id"),
                                   r.get<std::int64_t>(i, "n")});
    }
    co_return out;
}

asio::awaitable<std::vector<std::int64_t>> PromotionsStore::customers_with_orders(
    db::Transaction* tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> user_ids) {
    auto params = db::params(user_ids);
    db::QueryResult r;
    if (tx) {
        r = co_await tx->query(kCustomersWithOrders, std::move(params));
    } else {
        r = co_await pools_().query(kCustomersWithOrders, std::move(params));
    }
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, "user_id"));
    co_return out;
}

asio::awaitable<std::map<std::int64_t, std::int64_t>> PromotionsStore::categories(
    db::Transaction* tx,
    std::vector<std::int64_t> product_ids) {
    auto params = db::params(product_ids);
    db::QueryResult r;
    if (tx) {
        r = co_await tx->query(kCategories, std::move(params));
    } else {
        r = co_await pools_().query(kCategories, std::move(params));
    }
    std::map<std::int64_t, std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out[r.get<std::int64_t>(i, "id")] = r.get<std::int64_t>(i, "category_id");
    co_return out;
}

asio::awaitable<std::size_t> PromotionsStore::redeem(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<Redemption> redemptions) {
    boost::json::array rows;
    for (const auto& d : redemptions) {
        boost::json::object o{{"promotion_id", d.promotion_id},
                              {"order_id", d.order_id},
                              {"user_id", d.user_id},
                              {"discount_cents", d.discount_cents}};
        o["code"] = d.code ? boost::json::value(*d.code) : boost::json::value(nullptr);
        rows.push_back(std::move(o));
    }
    const boost::json::value batch(std::move(rows));
    auto r = co_await tx.query(kRedeem, db::params(batch));
    co_return r.rows();
}

asio::awaitable<void> PromotionsStore::release(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> order_ids) {
    auto locked = co_await tx.query(kLockRedeemed, db::params(order_ids));
    if (locked.rows() == 0) co_return;
    co_await tx.query(kRelease, db::params(order_ids));
}

asio::awaitable<Promotion> PromotionsStore::insert(NewPromotion p) {
    auto r = co_await pools_().query(
        kInsert, db::params(p.code, p.name, std::string(core::codec::enum_name(p.kind)), p.value, p.currency,
                            p.min_subtotal_cents, p.product_ids, p.category_ids, p.variant_ids, p.first_order_only,
                            p.starts_at, p.ends_at, p.exclusive, static_cast<int>(p.priority), p.usage_limit,
                            p.per_customer_limit, p.is_active));
    co_return std::move(promotions_of(r).front());
}

asio::awaitable<std::optional<Promotion>> PromotionsStore::find(std::int64_t id) {
    auto r = co_await pools_().query(kFind, db::params(id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return std::move(promotions_of(r).front());
}

asio::awaitable<std::vector<Promotion>> PromotionsStore::list(std::int64_t limit,
                                                              std::optional<std::int64_t> before,
                                                              std::optional<bool> active) {
    auto r = co_await pools_().query(kList, db::params(limit, before, active));
    co_return promotions_of(r);
}

asio::awaitable<std::optional<Promotion>> PromotionsStore::lock(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    auto r = co_await tx.query(kLock, db::params(id));
    if (r.rows() == 0) co_return std::nullopt;
    co_return std::move(promotions_of(r).front());
}

asio::awaitable<Promotion> PromotionsStore::update(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    Promotion p) {
    auto r = co_await tx.query(
        kUpdate, db::params(p.id, p.name, p.value, p.min_subtotal_cents, p.product_ids, p.category_ids, p.variant_ids,
                            p.first_order_only, p.starts_at, p.ends_at, p.exclusive, static_cast<int>(p.priority),
                            p.usage_limit, p.per_customer_limit, p.is_active));
    co_return std::move(promotions_of(r).front());
}

asio::awaitable<bool> PromotionsStore::remove(std::int64_t id) {
    auto r = co_await pools_().query(kRemove, db::params(id));
    co_return r.affected() == 1;
}

asio::awaitable<std::vector<std::pair<std::string, std::int64_t>>> PromotionsStore::missing_targets(
    std::vector<std::int64_t> product_ids,
    std::vector<std::int64_t> category_ids,
    std::vector<std::int64_t> variant_ids) {
    auto r = co_await pools_().query(kMissingTargets, db::params(product_ids, category_ids, variant_ids));
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.emplace_back(r.get<std::string>(i, "member"), r.get<std::int64_t>(i, "id"));
    }
    co_return out;
}

}  // namespace emporium::promotions
