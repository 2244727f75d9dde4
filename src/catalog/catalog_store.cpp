#include "catalog/catalog_store.hpp"

#include "db/transaction_helper.hpp"

#include <array>
#include <charconv>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;

// The price range of the active variants (0012; NULL after a bulk load: the product's price).
#define EMPORIUM_CATALOG_PRICE_RANGE                                                                  \
    "coalesce(p.price_min_cents, p.price_cents) AS price_min_cents, "                                \
    "coalesce(p.price_max_cents, p.price_cents) AS price_max_cents"
// The variants' live total: products.stock changes only when a variant crosses zero (0013).
#define EMPORIUM_CATALOG_STOCK \
    "(SELECT coalesce(sum(v.stock), 0) FROM product_variants v WHERE v.product_id = p.id)::bigint AS stock"
// A macro only so the column list can be pasted into constexpr statement literals.
#define EMPORIUM_CATALOG_PRODUCT_COLUMNS                                                                     \
    "p.id, p.sku, p.name, p.description, p.category_id, c.slug AS category_slug, "                           \
    "c.name AS category_label, p.price_cents, p.currency, " EMPORIUM_CATALOG_STOCK ", p.is_active, "        \
    "p.deleted_at IS NOT NULL AS is_deleted, p.rating_sum, p.rating_count, p.purchase_count, p.created_at, " \
    "p.version, " EMPORIUM_CATALOG_PRICE_RANGE

constexpr db::Statement kListCategories{"catalog.list_categories",
                                        "SELECT id, parent_id, slug, name FROM categories ORDER BY name, id"};
constexpr db::Statement kCategoryBySlug{"catalog.category_by_slug",
                                        "SELECT id, parent_id, slug, name FROM categories WHERE slug = $1"};
constexpr db::Statement kInsertCategory{
    "catalog.insert_category",
    "INSERT INTO categories (slug, name, parent_id) VALUES ($1, $2, $3::bigint) "
    "RETURNING id, parent_id, slug, name"};
constexpr db::Statement kCategorySubtree{
    "catalog.category_subtree",
    "WITH RECURSIVE sub AS (SELECT id FROM categories WHERE slug = $1 "
    "UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) "
    "SELECT array_agg(id ORDER BY id) AS ids FROM sub"};
constexpr db::Statement kProductById{"catalog.product_by_id",
                                     "SELECT " EMPORIUM_CATALOG_PRODUCT_COLUMNS
                                     " FROM products p LEFT JOIN categories c ON c.id = p.category_id "
                                     "WHERE p.id = $1"};
// The read paths leave the category's slug and name to the service (its in-process copy of the
// small categories table): one table per read instead of a join.
#define EMPORIUM_CATALOG_PRODUCT_COLUMNS_NO_JOIN                                                              \
    "p.id, p.sku, p.name, p.description, p.category_id, NULL::text AS category_slug, "                       \
    "NULL::text AS category_label, p.price_cents, p.currency, " EMPORIUM_CATALOG_STOCK ", p.is_active, "     \
    "p.deleted_at IS NOT NULL AS is_deleted, p.rating_sum, p.rating_count, p.purchase_count, p.created_at, " \
    "p.version, " EMPORIUM_CATALOG_PRICE_RANGE
constexpr db::Statement kProductRead{"catalog.product_read",
                                     "SELECT " EMPORIUM_CATALOG_PRODUCT_COLUMNS_NO_JOIN " FROM products p WHERE p.id = $1"};
constexpr db::Statement kProductsByIds{"catalog.products_by_ids",
                                       "SELECT " EMPORIUM_CATALOG_PRODUCT_COLUMNS_NO_JOIN
                                       " FROM products p "
                                       "WHERE p.id = ANY($1::bigint[]) AND p.is_active AND p.deleted_at IS NULL"};
#undef EMPORIUM_CATALOG_PRODUCT_COLUMNS_NO_JOIN
constexpr db::Statement kInsertProduct{
    "catalog.insert_product",
    "INSERT INTO products (sku, name, description, category_id, price_cents, currency, stock, is_active) "
    "VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6, $7::integer, $8::boolean) RETURNING id"};
constexpr db::Statement kInsertMovement{
    "catalog.insert_movement",
    "INSERT INTO inventory_movements (product_id, delta, reason, note) VALUES ($1, $2::integer, $3, $4)"};
constexpr db::Statement kLockProduct{
    "catalog.lock_product",
    "SELECT version, deleted_at IS NOT NULL AS is_deleted FROM products WHERE id = $1 FOR UPDATE"};
// The product's variants locked (ascending ids, the sales' lock order) and their total read after.
constexpr db::Statement kLockedStockTotal{
    "catalog.locked_stock_total",
    "SELECT coalesce(sum(stock), 0)::bigint AS total FROM "
    "(SELECT stock FROM product_variants WHERE product_id = $1 ORDER BY id FOR UPDATE) v"};
// A change of the product's total goes to its default variant.
constexpr db::Statement kShiftDefaultStock{
    "catalog.shift_default_stock",
    "UPDATE product_variants SET stock = stock + $2::integer, version = version + 1 "
    "WHERE product_id = $1 AND is_default"};
constexpr db::Statement kUpdateProduct{
    "catalog.update_product",
    "UPDATE products SET name = coalesce($2, name), description = coalesce($3, description), "
    "category_id = coalesce($4::bigint, category_id), price_cents = coalesce($5::bigint, price_cents), "
    "currency = coalesce($6, currency), is_active = coalesce($7::boolean, is_active), version = version + 1 "
    "WHERE id = $1"};
constexpr db::Statement kSoftDelete{
    "catalog.soft_delete_product",
    "UPDATE products SET deleted_at = now(), is_active = false, version = version + 1 "
    "WHERE id = $1 AND deleted_at IS NULL"};
constexpr db::Statement kVisibleProduct{
    "catalog.visible_product",
    "SELECT id FROM products WHERE id = $1 AND is_active AND deleted_at IS NULL FOR SHARE"};
constexpr db::Statement kVerifiedPurchase{
    "catalog.verified_purchase",
    "SELECT EXISTS (SELECT 1 FROM order_items oi JOIN orders o ON o.id = oi.order_id "
    "WHERE oi.product_id = $1 AND o.user_id = $2 AND o.status IN ('paid', 'fulfilled', 'return_requested', 'returned')) AS verified"};
constexpr db::Statement kInsertReview{
    "catalog.insert_review",
    "INSERT INTO reviews (product_id, user_id, rating, title, body, verified_purchase) "
    "VALUES ($1, $2, $3::smallint, $4, $5, $6::boolean) "
    "RETURNING id, product_id, user_id, rating, title, body, verified_purchase, created_at"};
constexpr db::Statement kAddRating{"catalog.add_rating",
                                   "UPDATE products SET rating_sum = rating_sum + $2::bigint, rating_count = "
                                   "rating_count + 1 WHERE id = $1"};
constexpr db::Statement kReviewsFirst{
    "catalog.reviews_first",
    "SELECT id, product_id, user_id, rating, title, body, verified_purchase, created_at FROM reviews "
    "WHERE product_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"};
constexpr db::Statement kReviewsAfter{
    "catalog.reviews_after",
    "SELECT id, product_id, user_id, rating, title, body, verified_purchase, created_at FROM reviews "
    "WHERE product_id = $1 AND (created_at, id) < ($3::timestamptz, $4::bigint) "
    "ORDER BY created_at DESC, id DESC LIMIT $2"};
constexpr db::Statement kMaxPurchase{
    "catalog.max_purchase",
    "SELECT coalesce(max(purchase_count), 0) AS m FROM products WHERE is_active AND deleted_at IS NULL"};
constexpr db::Statement kTrigramThreshold{
    "catalog.trigram_threshold", "SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)"};

// ---- the rank index's feed ----

// Micros since the epoch of a timestamptz expression (exact: extract is numeric).
#define EMPORIUM_MICROS(x) "(extract(epoch FROM " x ") * 1000000)::bigint"
#define EMPORIUM_CHANGE_COLUMNS                                                                          \
    "c.seq, c.xid::text AS xid, c.product_id, c.b_visible IS NOT NULL AS has_before, "                   \
    "coalesce(c.b_category_id, 0) AS b_category_id, coalesce(c.b_price_cents, 0) AS b_price_cents, "     \
    "coalesce(c.b_in_stock, false) AS b_in_stock, coalesce(c.b_visible, false) AS b_visible, "           \
    "coalesce(c.b_purchase_count, 0) AS b_purchase_count, coalesce(c.b_rating_sum, 0) AS b_rating_sum, " \
    "coalesce(c.b_rating_count, 0) AS b_rating_count, "                                                  \
    "coalesce(" EMPORIUM_MICROS("c.b_created_at") ", 0) AS b_created, "                                  \
    "coalesce(c.a_category_id, 0) AS a_category_id, c.a_price_cents, c.a_in_stock, c.a_visible, "        \
    "c.a_purchase_count, c.a_rating_sum, c.a_rating_count, " EMPORIUM_MICROS("c.a_created_at") " AS a_created, " \
    EMPORIUM_MICROS("c.changed_at") " AS changed, c.a_lexemes, c.a_name_lexemes"

constexpr db::Statement kRankSnapshot{
    "catalog.rank_snapshot",
    "SELECT pg_current_snapshot()::text AS snapshot, " EMPORIUM_MICROS("clock_timestamp()") " AS now"};
constexpr const char* kRankBaselineCopy =
    "COPY (SELECT id, coalesce(category_id, 0), price_cents, (stock > 0)::int, "
    "(is_active AND deleted_at IS NULL)::int, purchase_count, rating_sum, rating_count, " EMPORIUM_MICROS("created_at")
    ", catalog_lexemes(search_vector), catalog_name_lexemes(search_vector) FROM products) TO STDOUT";
constexpr std::int64_t kRankLoadTimeoutMs = std::int64_t{30} * 60 * 1000;
constexpr db::Statement kRankLoadTimeout{"catalog.rank_load_timeout",
                                         "SELECT set_config('statement_timeout', $1::text, true)"};
constexpr db::Statement kRankHistory{
    "catalog.rank_history",
    "SELECT " EMPORIUM_CHANGE_COLUMNS " FROM catalog_changes c "
    "WHERE c.changed_at >= to_timestamp($1::bigint / 1000000.0) AND c.product_id <> 0 ORDER BY c.seq"};
// One statement, so the rows and the snapshot returned are the statement's own.
constexpr db::Statement kRankChangesSince{
    "catalog.rank_changes_since",
    "WITH s AS (SELECT pg_current_snapshot() AS snap) "
    "SELECT s.snap::text AS snapshot, " EMPORIUM_CHANGE_COLUMNS " FROM s LEFT JOIN catalog_changes c "
    "ON c.xid >= $2::xid8 AND NOT pg_visible_in_snapshot(c.xid, $1::pg_snapshot) ORDER BY c.seq"};
// Rows are deleted oldest first up to the first one within the retention (found in seq order, so
// only the rows deleted are read).
constexpr db::Statement kRankPurge{
    "catalog.rank_purge",
    "DELETE FROM catalog_changes WHERE seq < coalesce((SELECT seq FROM catalog_changes "
    "WHERE changed_at >= clock_timestamp() - make_interval(secs => $1::bigint / 1000000.0) ORDER BY seq LIMIT 1), "
    "(SELECT max(seq) + 1 FROM catalog_changes))"};
constexpr db::Statement kRankReload{
    "catalog.rank_reload",
    "INSERT INTO catalog_changes (product_id, a_price_cents, a_in_stock, a_visible, a_purchase_count, "
    "a_rating_sum, a_rating_count, a_created_at) VALUES (0, 0, false, false, 0, 0, 0, now())"};
// The text predicates (TextPredicate), with the ids of the matching products: all of them (at
// most a limit), or those among given ids.
#define EMPORIUM_TEXT_ANYWHERE "search_vector @@ websearch_to_tsquery('english', $1)"
// The name's lexemes are the A-weighted part of search_vector: filtering them out of the stored
// vector matches exactly what to_tsvector('english', name) would, without parsing the name again.
// The index on to_tsvector('english', name) finds the matches when they are listed.
#define EMPORIUM_TEXT_NAME "ts_filter(search_vector, '{a}') @@ websearch_to_tsquery('english', $1)"
#define EMPORIUM_TEXT_NAME_INDEXED "to_tsvector('english', name) @@ websearch_to_tsquery('english', $1)"
constexpr db::Statement kTextMatches{"catalog.text_matches",
                                     "SELECT id FROM products WHERE " EMPORIUM_TEXT_ANYWHERE " LIMIT $2"};
constexpr db::Statement kTextMatchesAmong{
    "catalog.text_matches_among", "SELECT id FROM products WHERE id = ANY($2::bigint[]) AND " EMPORIUM_TEXT_ANYWHERE};
// The name alone matches, and the whole text too (a negated word must be absent everywhere).
constexpr db::Statement kNameMatches{
    "catalog.name_matches",
    "SELECT id FROM products WHERE " EMPORIUM_TEXT_NAME_INDEXED " AND " EMPORIUM_TEXT_ANYWHERE " LIMIT $2"};
constexpr db::Statement kNameMatchesAmong{
    "catalog.name_matches_among",
    "SELECT id FROM products WHERE id = ANY($2::bigint[]) AND " EMPORIUM_TEXT_NAME " AND " EMPORIUM_TEXT_ANYWHERE};
constexpr db::Statement kElsewhereMatches{
    "catalog.elsewhere_matches",
    "SELECT id FROM products WHERE " EMPORIUM_TEXT_ANYWHERE " AND NOT " EMPORIUM_TEXT_NAME " LIMIT $2"};
constexpr db::Statement kElsewhereMatchesAmong{
    "catalog.elsewhere_matches_among",
    "SELECT id FROM products WHERE id = ANY($2::bigint[]) AND " EMPORIUM_TEXT_ANYWHERE " AND NOT " EMPORIUM_TEXT_NAME};
#undef EMPORIUM_TEXT_ANYWHERE
#undef EMPORIUM_TEXT_NAME
#undef EMPORIUM_TEXT_NAME_INDEXED
constexpr db::Statement kTsquery{"catalog.tsquery", "SELECT websearch_to_tsquery('english', $1)::text"};
// Typo correction: for each word of $1 (space-separated), whether the vocabulary has it, and else
// its nearest vocabulary word by word similarity (at least pg_trgm.word_similarity_threshold).
constexpr db::Statement kCorrectWords{
    "catalog.correct_words",
    "SELECT w.word, EXISTS (SELECT 1 FROM search_words s WHERE s.word = w.word) AS known, "
    "(SELECT s.word FROM search_words s WHERE w.word <% s.word ORDER BY w.word <<-> s.word, s.word LIMIT 1) AS nearest "
    "FROM unnest(string_to_array($1, ' ')) WITH ORDINALITY AS w(word, n) ORDER BY w.n"};

#undef EMPORIUM_CHANGE_COLUMNS
#undef EMPORIUM_MICROS

RankChange change_of(const db::QueryResult& r, std::size_t i) {
    RankChange c;
    c.seq = static_cast<std::uint64_t>(r.get<std::int64_t>(i, "seq"));
    const auto xid = r.get<std::string>(i, "xid");
    c.xid = std::stoull(xid);
    c.product_id = r.get<std::int64_t>(i, "product_id");
    if (r.get<bool>(i, "has_before")) {
        RankInputs b;
        b.category_id = r.get<std::int64_t>(i, "b_category_id");
        b.price_cents = r.get<std::int64_t>(i, "b_price_cents");
        b.in_stock = r.get<bool>(i, "b_in_stock");
        b.visible = r.get<bool>(i, "b_visible");
        b.purchase_count = r.get<std::int64_t>(i, "b_purchase_count");
        b.rating_sum = r.get<std::int64_t>(i, "b_rating_sum");
        b.rating_count = r.get<std::int64_t>(i, "b_rating_count");
        b.created_micros = r.get<std::int64_t>(i, "b_created");
        c.before = b;
    }
    c.after.category_id = r.get<std::int64_t>(i, "a_category_id");
    c.after.price_cents = r.get<std::int64_t>(i, "a_price_cents");
    c.after.in_stock = r.get<bool>(i, "a_in_stock");
    c.after.visible = r.get<bool>(i, "a_visible");
    c.after.purchase_count = r.get<std::int64_t>(i, "a_purchase_count");
    c.after.rating_sum = r.get<std::int64_t>(i, "a_rating_sum");
    c.after.rating_count = r.get<std::int64_t>(i, "a_rating_count");
    c.after.created_micros = r.get<std::int64_t>(i, "a_created");
    c.at_micros = r.get<std::int64_t>(i, "changed");
    if (auto lexemes = r.get_optional<std::string>(i, "a_lexemes")) {
        c.text = ProductText{c.product_id, std::move(*lexemes), r.get_optional<std::string>(i, "a_name_lexemes").value_or("")};
    }
    return c;
}

// COPY text: a field with its backslash escapes undone.
std::string copy_field(std::string_view f) {
    std::string out;
    out.reserve(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] != '\\' || i + 1 == f.size()) {
            out += f[i];
            continue;
        }
        const char e = f[++i];
        out += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
    }
    return out;
}

// One COPY text row of kRankBaselineCopy: nine integers, then the lexemes and the name's lexemes.
void baseline_row(std::string_view row, CatalogStore::RankBaseline& into) {
    std::array<std::int64_t, 9> v{};
    std::size_t field = 0;
    const char* p = row.data();
    const char* end = row.data() + row.size();
    while (field < v.size()) {
        auto [next, ec] = std::from_chars(p, end, v[field]);
        if (ec != std::errc{}) throw db::DbError("rank baseline: malformed COPY row", "XX000");
        ++field;
        p = next;
        if (p < end && (*p == '\t' || *p == '\n')) ++p;
    }
    RankInputs in;
    in.category_id = v[1];
    in.price_cents = v[2];
    in.in_stock = v[3] != 0;
    in.visible = v[4] != 0;
    in.purchase_count = v[5];
    in.rating_sum = v[6];
    in.rating_count = v[7];
    in.created_micros = v[8];
    into.products.emplace_back(v[0], in);
    std::string_view rest(p, static_cast<std::size_t>(end - p));
    if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
    const auto tab = rest.find('\t');
    if (tab == std::string_view::npos) throw db::DbError("rank baseline: malformed COPY row", "XX000");
    into.texts.push_back(ProductText{v[0], copy_field(rest.substr(0, tab)), copy_field(rest.substr(tab + 1))});
}

// The ranking formula in SQL ($1 = max purchase count snapshot, $2 = "now" snapshot); mirrors
// catalog::ranking_score. date_part (float8), not extract (numeric since PostgreSQL 14): the
// numeric arithmetic made the age term the most expensive part of a full ranking scan.
constexpr const char* kPopularity =
    "(CASE WHEN $1::bigint > 0 THEN least(1.0::float8, p.purchase_count::float8 / $1::bigint::float8) "
    "ELSE 0::float8 END)";
constexpr const char* kRatingTerm =
    "(CASE WHEN p.rating_count > 0 THEN p.rating_sum::float8 / p.rating_count::float8 / 5.0::float8 "
    "ELSE 0::float8 END)";
constexpr const char* kFreshness =
    "greatest(0::float8, 1.0::float8 - greatest(0::float8, "
    "date_part('epoch', $2::timestamptz - p.created_at) / 86400.0::float8) / 30.0::float8)";

// The positions of the product columns in a result, looked up once per result (by name, so the
// statements may order their columns freely).
struct ProductColumns {
    explicit ProductColumns(const db::QueryResult& r)
        : id(r.column("id")),
          sku(r.column("sku")),
          name(r.column("name")),
          description(r.column("description")),
          category_id(r.column("category_id")),
          category_slug(r.column("category_slug")),
          category_label(r.column("category_label")),
          price_cents(r.column("price_cents")),
          currency(r.column("currency")),
          stock(r.column("stock")),
          is_active(r.column("is_active")),
          is_deleted(r.column("is_deleted")),
          rating_sum(r.column("rating_sum")),
          rating_count(r.column("rating_count")),
          purchase_count(r.column("purchase_count")),
          created_at(r.column("created_at")),
          version(r.column("version")),
          price_min_cents(r.column("price_min_cents")),
          price_max_cents(r.column("price_max_cents")) {}
    int id, sku, name, description, category_id, category_slug, category_label, price_cents, currency, stock,
        is_active, is_deleted, rating_sum, rating_count, purchase_count, created_at, version, price_min_cents,
        price_max_cents;
};

Product product_of(const db::QueryResult& r, std::size_t row, const ProductColumns& c) {
    Product p;
    p.id = r.get<std::int64_t>(row, c.id);
    p.sku = r.get<std::string>(row, c.sku);
    p.name = r.get<std::string>(row, c.name);
    p.description = r.get<std::string>(row, c.description);
    if (!r.is_null(row, c.category_id)) {
        p.category = CategoryRef{r.get<std::int64_t>(row, c.category_id),
                                 r.is_null(row, c.category_slug) ? "" : r.get<std::string>(row, c.category_slug),
                                 r.is_null(row, c.category_label) ? "" : r.get<std::string>(row, c.category_label)};
    }
    p.price_cents = r.get<std::int64_t>(row, c.price_cents);
    p.currency = r.get<std::string>(row, c.currency);
    p.stock = r.get<std::int64_t>(row, c.stock);
    p.is_active = r.get<bool>(row, c.is_active);
    p.is_deleted = r.get<bool>(row, c.is_deleted);
    p.rating_sum = r.get<std::int64_t>(row, c.rating_sum);
    p.rating_count = r.get<std::int64_t>(row, c.rating_count);
    p.purchase_count = r.get<std::int64_t>(row, c.purchase_count);
    p.created_at = r.get<db::Timestamp>(row, c.created_at);
    p.version = r.get<std::int64_t>(row, c.version);
    p.price_range = PriceRange{r.get<std::int64_t>(row, c.price_min_cents), r.get<std::int64_t>(row, c.price_max_cents)};
    return p;
}

Product product_of(const db::QueryResult& r, std::size_t row) { return product_of(r, row, ProductColumns(r)); }

Category category_of(const db::QueryResult& r, std::size_t row) {
    return Category{r.get<std::int64_t>(row, "id"),
                    r.get_optional<std::int64_t>(row, "parent_id"),
                    r.get<std::string>(row, "slug"),
                    r.get<std::string>(row, "name")};
}

Review review_of(const db::QueryResult& r, std::size_t row) {
    Review v;
    v.id = r.get<std::int64_t>(row, "id");
    v.product_id = r.get<std::int64_t>(row, "product_id");
    v.user_id = r.get<std::int64_t>(row, "user_id");
    v.rating = r.get<std::int32_t>(row, "rating");
    v.title = r.get<std::string>(row, "title");
    v.body = r.get<std::string>(row, "body");
    v.verified_purchase = r.get<bool>(row, "verified_purchase");
    v.created_at = r.get<db::Timestamp>(row, "created_at");
    return v;
}

// ---- transactional work ----

asio::awaitable<Product>
insert_product_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                    // awaited by with_transaction
    db::Transaction& tx,
    NewProduct in) {
    auto inserted = co_await tx.query(kInsertProduct,
                                      db::params(in.sku,
                                                 in.name,
                                                 in.description,
                                                 in.category_id,
                                                 in.price_cents,
                                                 in.currency,
                                                 in.stock,
                                                 in.is_active));
    const auto id = inserted.get<std::int64_t>(0, "id");
    co_await tx.query(kInsertMovement, db::params(id, in.stock, "initial", "product created"));
    auto row = co_await tx.query(kProductById, db::params(id));
    co_return product_of(row, 0);
}

struct InsertProductWork {
    NewProduct input;
    asio::awaitable<Product> operator()(db::Transaction& tx) const { return insert_product_in(tx, input); }
};

asio::awaitable<core::Result<Product>>
update_product_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                    // awaited by with_transaction
    db::Transaction& tx,
    std::int64_t id,
    ProductPatch patch) {
    auto current = co_await tx.query(kLockProduct, db::params(id));
    if (current.empty() || current.get<bool>(0, "is_deleted")) {
        co_return core::make_error(core::Errc::kNotFound, "no such product");
    }
    const auto version = current.get<std::int64_t>(0, "version");
    if (version != patch.expected_version) {
        co_return core::make_error(
            core::Errc::kPreconditionFailed,
            "the product was changed by someone else (current version " + std::to_string(version) + ")");
    }
    if (patch.stock) {
        const auto total = co_await tx.query(kLockedStockTotal, db::params(id));
        const auto total_now = total.get<std::int64_t>(0, "total");
        if (patch.expected_stock && *patch.expected_stock != total_now) {
            co_return core::make_error(core::Errc::kPreconditionFailed,
                                       "the product's stock changed since it was read (now " +
                                           std::to_string(total_now) + "); read it again");
        }
        const auto delta = *patch.stock - total_now;
        if (delta != 0) {
            const char* reason = delta > 0 ? "restock" : "adjustment";
            co_await tx.query(kInsertMovement, db::params(id, delta, reason, "product update"));
            co_await tx.query(kShiftDefaultStock, db::params(id, delta));
        }
    }
    co_await tx.query(kUpdateProduct,
                      db::params(id,
                                 patch.name,
                                 patch.description,
                                 patch.category_id,
                                 patch.price_cents,
                                 patch.currency,
                                 patch.is_active));
    auto row = co_await tx.query(kProductById, db::params(id));
    co_return product_of(row, 0);
}

struct UpdateProductWork {
    std::int64_t id;
    ProductPatch patch;
    asio::awaitable<core::Result<Product>> operator()(db::Transaction& tx) const {
        return update_product_in(tx, id, patch);
    }
};

asio::awaitable<core::Result<Review>>
insert_review_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                   // awaited by with_transaction
    db::Transaction& tx,
    std::int64_t product_id,
    std::int64_t user_id,
    NewReview in) {
    auto visible = co_await tx.query(kVisibleProduct, db::params(product_id));
    if (visible.empty()) co_return core::make_error(core::Errc::kNotFound, "no such product");
    auto verified = co_await tx.query(kVerifiedPurchase, db::params(product_id, user_id));
    auto inserted = co_await tx.query(
        kInsertReview,
        db::params(product_id, user_id, in.rating, in.title, in.body, verified.get<bool>(0, "verified")));
    co_await tx.query(kAddRating, db::params(product_id, in.rating));
    co_return review_of(inserted, 0);
}

struct InsertReviewWork {
    std::int64_t product_id;
    std::int64_t user_id;
    NewReview input;
    asio::awaitable<core::Result<Review>> operator()(db::Transaction& tx) const {
        return insert_review_in(tx, product_id, user_id, input);
    }
};

// The listing statement and its parameters, from fixed fragments only.
struct BuiltQuery {
    std::string sql;
    db::Params params;
    std::string next() const { return "$" + std::to_string(params.size() + 1); }
};

// The conditions after "WHERE p.is_active AND p.deleted_at IS NULL" for the filters of `spec`
// (its text, when a mode is set, as the parameter `q`).
std::string filter_sql(const ListSpec& spec, const std::string& q, BuiltQuery& b) {
    std::string sql;
    if (!q.empty()) sql += " AND p.search_vector @@ websearch_to_tsquery('english', " + q + ")";
    if (spec.category_ids) {
        sql += " AND p.category_id = ANY(" + b.next() + "::bigint[])";
        b.params.emplace_back(*spec.category_ids);
    }
    if (spec.min_price) {
        sql += " AND p.price_cents >= " + b.next() + "::bigint";
        b.params.emplace_back(*spec.min_price);
    }
    if (spec.max_price) {
        sql += " AND p.price_cents <= " + b.next() + "::bigint";
        b.params.emplace_back(*spec.max_price);
    }
    if (spec.in_stock) sql += *spec.in_stock ? " AND p.stock > 0" : " AND p.stock = 0";
    return sql;
}

std::string text_param(const ListSpec& spec, BuiltQuery& b) {
    if (!spec.q || spec.mode == TextMode::kNone) return {};
    auto q = b.next();
    b.params.emplace_back(*spec.q);
    return q;
}

BuiltQuery build_list_query(const ListSpec& spec) {
    BuiltQuery b;
    b.params.emplace_back(spec.max_purchase);
    b.params.emplace_back(spec.now);
    std::string text_rank = "0::float8";
    const auto q = text_param(spec, b);
    if (!q.empty() && spec.sort == ListSort::kRelevance) {
        // The relevance tier: 1 when the name alone matches the query, else 0.
        text_rank = "(ts_filter(p.search_vector, '{a}') @@ websearch_to_tsquery('english', " + q + "))::int::float8";
    }
    std::string sql = "SELECT * FROM (SELECT " EMPORIUM_CATALOG_PRODUCT_COLUMNS ", ";
    sql += std::string(kPopularity) + " AS popularity, " + kRatingTerm + " AS rating_term, " + kFreshness +
           " AS freshness, 0.5::float8 * " + kPopularity + " + 0.3::float8 * " + kRatingTerm +
           " + 0.2::float8 * " + kFreshness + " AS score, " + text_rank + " AS text_rank";
    sql +=
        " FROM products p LEFT JOIN categories c ON c.id = p.category_id WHERE p.is_active AND p.deleted_at "
        "IS NULL";
    sql += filter_sql(spec, q, b);
    std::string outer_filter;
    if (spec.after) {
        const auto& a = *spec.after;
        const auto k = b.next();
        switch (spec.sort) {
            case ListSort::kRank:
            case ListSort::kRelevance:
                b.params.emplace_back(format_double(a.score_key));
                break;
            case ListSort::kNewest:
                b.params.emplace_back(Timestamp(std::chrono::microseconds(a.int_key)));
                break;
            case ListSort::kPriceAsc:
            case ListSort::kPriceDesc:
                b.params.emplace_back(a.int_key);
                break;
        }
        const auto i = b.next();
        b.params.emplace_back(a.id);
        switch (spec.sort) {
            case ListSort::kRank:
                outer_filter = " WHERE (s.score, s.id) < (" + k + "::float8, " + i + "::bigint)";
                break;
            case ListSort::kRelevance: {
                const auto t = b.next();
                b.params.emplace_back(a.tier == 0 ? 1.0 : 0.0);
                outer_filter =
                    " WHERE (s.text_rank, s.score, s.id) < (" + t + "::float8, " + k + "::float8, " + i + "::bigint)";
                break;
            }
            case ListSort::kPriceAsc:
                sql += " AND (p.price_cents, p.id) > (" + k + "::bigint, " + i + "::bigint)";
                break;
            case ListSort::kPriceDesc:
                sql += " AND (p.price_cents, p.id) < (" + k + "::bigint, " + i + "::bigint)";
                break;
            case ListSort::kNewest:
                sql += " AND (p.created_at, p.id) < (" + k + "::timestamptz, " + i + "::bigint)";
                break;
        }
    }
    sql += ") s" + outer_filter;
    switch (spec.sort) {
        case ListSort::kRank:
            sql += " ORDER BY s.score DESC, s.id DESC";
            break;
        case ListSort::kRelevance:
            sql += " ORDER BY s.text_rank DESC, s.score DESC, s.id DESC";
            break;
        case ListSort::kPriceAsc:
            sql += " ORDER BY s.price_cents ASC, s.id ASC";
            break;
        case ListSort::kPriceDesc:
            sql += " ORDER BY s.price_cents DESC, s.id DESC";
            break;
        case ListSort::kNewest:
            sql += " ORDER BY s.created_at DESC, s.id DESC";
            break;
    }
    sql += " LIMIT " + b.next();
    b.params.emplace_back(spec.limit);
    b.sql = std::move(sql);
    return b;
}

// Counts per (category, price band) of the products a listing spec matches (the reference for
// facets). The band edges are constants of the code, not input.
BuiltQuery build_facet_query(const ListSpec& spec) {
    BuiltQuery b;
    const auto q = text_param(spec, b);
    std::string edges;
    for (auto e : facet_price_bands()) edges += (edges.empty() ? "" : ",") + std::to_string(e);
    b.sql = "SELECT coalesce(p.category_id, 0) AS category_id, width_bucket(p.price_cents, '{" + edges +
            "}'::bigint[]) - 1 AS band, count(*) AS n FROM products p WHERE p.is_active AND p.deleted_at IS NULL" +
            filter_sql(spec, q, b) + " GROUP BY 1, 2";
    return b;
}

std::vector<ListedProduct> listed_of(const db::QueryResult& r) {
    std::vector<ListedProduct> out;
    if (r.empty()) return out;
    out.reserve(r.rows());
    const ProductColumns columns(r);
    for (std::size_t i = 0; i < r.rows(); ++i) {
        ListedProduct lp{product_of(r, i, columns), {}};
        lp.score.popularity = r.get<double>(i, "popularity");
        lp.score.rating = r.get<double>(i, "rating_term");
        lp.score.freshness = r.get<double>(i, "freshness");
        lp.score.score = r.get<double>(i, "score");
        lp.score.text_rank = r.get<double>(i, "text_rank");
        out.push_back(std::move(lp));
    }
    return out;
}

asio::awaitable<db::QueryResult>
correct_words_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                   // awaited by with_transaction
    db::Transaction& tx,
    std::string words) {
    co_await tx.query(kTrigramThreshold);
    co_return co_await tx.query(kCorrectWords, words);
}

struct CorrectWordsWork {
    std::string words;
    asio::awaitable<db::QueryResult> operator()(db::Transaction& tx) const { return correct_words_in(tx, words); }
};

}  // namespace

ListingSql listing_sql(const ListSpec& spec) {
    auto built = build_list_query(spec);
    return ListingSql{std::move(built.sql), std::move(built.params)};
}

// ---- primary or replica ----

asio::awaitable<db::QueryResult> CatalogStore::read(db::Statement stmt, db::Params params) {
    auto* set = replica_after_ && replicas_ ? replicas_() : nullptr;
    if (set == nullptr) co_return co_await pools_().query(stmt, std::move(params));
    co_return co_await set->query(stmt, std::move(params), *replica_after_);
}

asio::awaitable<db::QueryResult> CatalogStore::read_unprepared(std::string sql, db::Params params) {
    auto* set = replica_after_ && replicas_ ? replicas_() : nullptr;
    if (set == nullptr) co_return co_await pools_().query_unprepared(std::move(sql), std::move(params));
    co_return co_await set->query_unprepared(std::move(sql), std::move(params), *replica_after_);
}

asio::awaitable<db::Lsn> CatalogStore::primary_insert_lsn() {
    co_return co_await db::current_insert_lsn(pools_());
}

// ---- categories ----

asio::awaitable<std::vector<Category>> CatalogStore::list_categories() {
    auto r = co_await read(kListCategories);
    std::vector<Category> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(category_of(r, i));
    co_return out;
}

asio::awaitable<std::optional<Category>> CatalogStore::find_category(std::string slug) {
    auto r = co_await read(kCategoryBySlug, db::params(slug));
    if (r.empty()) co_return std::nullopt;
    co_return category_of(r, 0);
}

asio::awaitable<core::Result<Category>> CatalogStore::insert_category(NewCategory input) {
    bool duplicate = false;
    try {
        auto r =
            co_await pools_().query(kInsertCategory, db::params(input.slug, input.name, input.parent_id));
        co_return category_of(r, 0);
    } catch (const db::DbError& e) {
        if (e.is_unique_violation() && e.constraint() == "categories_slug_key") {
            duplicate = true;
        } else if (!e.is_foreign_key_violation()) {
            throw;
        }
    }
    if (duplicate) {
        co_return core::make_error(core::Errc::kConflict,
                                   "a category with this slug already exists",
                                   {{"slug", "is already taken"}});
    }
    co_return core::make_error(
        core::Errc::kValidation, "the request has invalid fields", {{"parent_id", "does not exist"}});
}

asio::awaitable<std::optional<std::vector<std::int64_t>>> CatalogStore::category_subtree(std::string slug) {
    auto r = co_await read(kCategorySubtree, db::params(slug));
    if (r.empty() || r.is_null(0, 0)) co_return std::nullopt;
    co_return r.get<std::vector<std::int64_t>>(0, "ids");
}

// ---- products ----

asio::awaitable<std::optional<Product>> CatalogStore::find_product(std::int64_t id) {
    product_reads_->fetch_add(1);
    auto r = co_await read(kProductRead, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return product_of(r, 0);
}

asio::awaitable<std::vector<Product>> CatalogStore::find_visible_products(std::vector<std::int64_t> ids) {
    std::vector<Product> out;
    if (ids.empty()) co_return out;
    product_reads_->fetch_add(1);
    auto r = co_await read(kProductsByIds, ids);
    out.reserve(r.rows());
    if (r.empty()) co_return out;
    const ProductColumns columns(r);
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(product_of(r, i, columns));
    co_return out;
}

asio::awaitable<core::Result<Product>> CatalogStore::insert_product(NewProduct input) {
    bool duplicate = false;
    try {
        InsertProductWork work{std::move(input)};
        auto insertion = db::with_transaction(pools_(), std::move(work));
        co_return co_await std::move(insertion);
    } catch (const db::DbError& e) {
        if (e.is_unique_violation() &&
            (e.constraint() == "products_sku_key" || e.constraint() == "product_variants_sku_key")) {
            duplicate = true;
        } else if (!e.is_foreign_key_violation()) {
            throw;
        }
    }
    if (duplicate) {
        co_return core::make_error(
            core::Errc::kConflict, "a product with this SKU already exists", {{"sku", "is already taken"}});
    }
    co_return core::make_error(
        core::Errc::kValidation, "the request has invalid fields", {{"category_id", "does not exist"}});
}

asio::awaitable<core::Result<Product>> CatalogStore::update_product(std::int64_t id, ProductPatch patch) {
    bool stock_conflict = false;
    try {
        UpdateProductWork work{id, std::move(patch)};
        auto update = db::with_transaction(pools_(), std::move(work));
        co_return co_await std::move(update);
    } catch (const db::DbError& e) {
        // A stock change goes to the default variant: it cannot take that variant below zero or
        // below what carts hold, whatever the other variants have.
        if (e.is_check_violation() && (e.constraint() == "product_variants_stock_nonnegative" ||
                                       e.constraint() == "product_variants_held_within_stock")) {
            stock_conflict = true;
        } else if (!e.is_foreign_key_violation()) {
            throw;
        }
    }
    if (stock_conflict) {
        co_return core::make_error(core::Errc::kConflict,
                                   "a change of the product's stock goes to its default variant, which cannot go below "
                                   "zero or below its held units; change the other variants' stock through "
                                   "PATCH /api/v1/variants/{id}",
                                   {{"stock", "too low for the default variant"}});
    }
    co_return core::make_error(
        core::Errc::kValidation, "the request has invalid fields", {{"category_id", "does not exist"}});
}

asio::awaitable<bool> CatalogStore::soft_delete_product(std::int64_t id) {
    auto r = co_await pools_().query(kSoftDelete, db::params(id));
    co_return r.affected() == 1;
}

// ---- reviews ----

asio::awaitable<core::Result<Review>> CatalogStore::insert_review(std::int64_t product_id,
                                                                  std::int64_t user_id,
                                                                  NewReview input) {
    try {
        InsertReviewWork work{product_id, user_id, std::move(input)};
        auto insertion = db::with_transaction(pools_(), std::move(work));
        co_return co_await std::move(insertion);
    } catch (const db::DbError& e) {
        if (!e.is_unique_violation() || e.constraint() != "reviews_one_per_user_product") throw;
    }
    co_return core::make_error(core::Errc::kConflict, "you have already reviewed this product");
}

asio::awaitable<std::vector<Review>> CatalogStore::list_reviews(
    std::int64_t product_id, std::int64_t limit, std::optional<std::pair<Timestamp, std::int64_t>> after) {
    db::QueryResult r;
    if (after) {
        r = co_await read(kReviewsAfter, db::params(product_id, limit, after->first, after->second));
    } else {
        r = co_await read(kReviewsFirst, db::params(product_id, limit));
    }
    std::vector<Review> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(review_of(r, i));
    co_return out;
}

// ---- listing ----

asio::awaitable<std::int64_t> CatalogStore::max_purchase_count() {
    auto r = co_await read(kMaxPurchase);
    co_return r.get<std::int64_t>(0, "m");
}

asio::awaitable<std::vector<ListedProduct>> CatalogStore::list_products(ListSpec spec) {
    product_reads_->fetch_add(1);
    auto built = build_list_query(spec);
    auto r = co_await read_unprepared(std::move(built.sql), std::move(built.params));
    co_return listed_of(r);
}

asio::awaitable<std::vector<CatalogStore::FacetRow>> CatalogStore::facet_counts(ListSpec spec) {
    auto built = build_facet_query(spec);
    auto r = co_await read_unprepared(std::move(built.sql), std::move(built.params));
    std::vector<FacetRow> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(FacetRow{r.get<std::int64_t>(i, "category_id"),
                               static_cast<std::size_t>(r.get<std::int64_t>(i, "band")),
                               r.get<std::int64_t>(i, "n")});
    }
    co_return out;
}

// ---- the rank index's feed ----

asio::awaitable<CatalogStore::RankBaseline> CatalogStore::load_rank_baseline(std::int64_t history_micros) {
    RankBaseline out;
    auto tx = co_await pools_().begin(db::Isolation::kRepeatableRead);
    // The COPY reads the whole catalog (about 5 s per million products): the connection's
    // statement_timeout, sized for requests, would cancel it, so this transaction gets its own. The
    // client still gives up if no row arrives for a whole query timeout (rows stream continuously).
    static_cast<void>(co_await tx.query(kRankLoadTimeout, std::to_string(kRankLoadTimeoutMs)));
    auto snap = co_await tx.query(kRankSnapshot);
    out.snapshot = snap.get<std::string>(0, "snapshot");
    out.now_micros = snap.get<std::int64_t>(0, "now");
    auto* into = &out;
    db::CopySink sink = [into](std::string_view row) { baseline_row(row, *into); };
    static_cast<void>(co_await tx.copy_out(std::string(kRankBaselineCopy), sink));
    auto history = co_await tx.query(kRankHistory, out.now_micros - history_micros);
    out.history.reserve(history.rows());
    for (std::size_t i = 0; i < history.rows(); ++i) out.history.push_back(change_of(history, i));
    co_await tx.commit();
    co_return out;
}

asio::awaitable<CatalogStore::RankCatchUp> CatalogStore::rank_changes_since(std::string snapshot, std::uint64_t xmin) {
    // Unprepared: planned with the actual xid each time, so the index on xid is used (a generic
    // plan guesses a third of the table for `xid >= $2` and scans it all).
    auto r = co_await pools_().query_unprepared(std::string(kRankChangesSince.sql), db::params(snapshot, std::to_string(xmin)));
    RankCatchUp out;
    out.snapshot = r.get<std::string>(0, "snapshot");
    for (std::size_t i = 0; i < r.rows(); ++i) {
        if (r.is_null(i, r.column("seq"))) continue;  // the snapshot row of an empty result
        auto c = change_of(r, i);
        if (c.product_id == 0) {
            out.reload = true;
            continue;
        }
        out.changes.push_back(std::move(c));
    }
    co_return out;
}

asio::awaitable<std::int64_t> CatalogStore::purge_rank_changes(std::int64_t retention_micros) {
    auto r = co_await pools_().query(kRankPurge, retention_micros);
    co_return r.affected();
}

asio::awaitable<void> CatalogStore::request_rank_reload() {
    static_cast<void>(co_await pools_().query(kRankReload));
}

asio::awaitable<std::vector<std::int64_t>> CatalogStore::text_matches(std::string q,
                                                                      TextPredicate predicate,
                                                                      std::int64_t limit) {
    const auto& statement = predicate == TextPredicate::kAnywhere ? kTextMatches
                            : predicate == TextPredicate::kName   ? kNameMatches
                                                                  : kElsewhereMatches;
    auto r = co_await read(statement, q, limit);
    std::vector<std::int64_t> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, 0));
    co_return out;
}

asio::awaitable<std::vector<std::int64_t>> CatalogStore::text_matches_among(std::string q,
                                                                            TextPredicate predicate,
                                                                            std::vector<std::int64_t> ids) {
    std::vector<std::int64_t> out;
    if (ids.empty()) co_return out;
    const auto& statement = predicate == TextPredicate::kAnywhere ? kTextMatchesAmong
                            : predicate == TextPredicate::kName   ? kNameMatchesAmong
                                                                  : kElsewhereMatchesAmong;
    auto r = co_await read(statement, q, ids);
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, 0));
    co_return out;
}

asio::awaitable<std::string> CatalogStore::tsquery_text(std::string q) {
    auto r = co_await read(kTsquery, q);
    co_return r.is_null(0, 0) ? std::string() : r.get<std::string>(0, 0);
}

asio::awaitable<std::vector<CatalogStore::WordCorrection>> CatalogStore::correct_words(std::vector<std::string> words) {
    std::vector<WordCorrection> out;
    if (words.empty()) co_return out;
    word_lookups_->fetch_add(1);
    std::string joined;
    for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
    CorrectWordsWork work{std::move(joined)};
    auto correcting = db::with_transaction(pools_(), std::move(work));
    auto r = co_await std::move(correcting);
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back(WordCorrection{r.get<std::string>(i, "word"),
                                     r.get<bool>(i, "known"),
                                     r.get_optional<std::string>(i, "nearest")});
    }
    co_return out;
}

}  // namespace emporium::catalog
