// SQL of a product's options and variants (CatalogStore's variant methods): reads with their
// option values, and the admin writes, each in one transaction with its ledger row.
//
// Lock order: a variant write locks the variant row, then (through the stock trigger of 0010 and
// the version bump here) its product, as checkout does; a variant creation locks the product first
// (it serialises the creation of the product's options) and inserts a row nobody else can lock.

#include "catalog/catalog_store.hpp"

#include "db/transaction_helper.hpp"

#include <boost/json/array.hpp>

#include <algorithm>
#include <string>

namespace emporium::catalog {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// The variant columns the readers below expect; `v` is product_variants, `p` its product.
#define EMPORIUM_VARIANT_COLUMNS                                                                              \
    "v.id, v.product_id, v.sku, v.price_cents AS price_override_cents, "                                      \
    "coalesce(v.price_cents, p.price_cents) AS price_cents, p.currency, v.stock, v.held, v.is_default, "      \
    "v.is_active, v.deleted_at IS NOT NULL AS is_deleted, v.version, v.weight_g, v.low_stock_threshold, "                 \
    "(SELECT coalesce(json_agg(json_build_array(o.name, ov.value) ORDER BY o.position), '[]'::json) "         \
    "FROM product_variant_values vv JOIN product_options o ON o.id = vv.option_id "                           \
    "JOIN product_option_values ov ON ov.id = vv.value_id WHERE vv.variant_id = v.id) AS options"

constexpr db::Statement kVariantsOfProduct{
    "catalog.variants_of_product",
    "SELECT " EMPORIUM_VARIANT_COLUMNS " FROM product_variants v JOIN products p ON p.id = v.product_id "
    "WHERE v.product_id = $1 ORDER BY v.position, v.id"};
constexpr db::Statement kVariantById{
    "catalog.variant_by_id",
    "SELECT " EMPORIUM_VARIANT_COLUMNS ", p.is_active AND p.deleted_at IS NULL AS product_visible "
    "FROM product_variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1"};
#undef EMPORIUM_VARIANT_COLUMNS

constexpr db::Statement kLockProductForVariant{
    "catalog.lock_product_for_variant",
    "SELECT deleted_at IS NOT NULL AS is_deleted FROM products WHERE id = $1 FOR UPDATE"};
constexpr db::Statement kOptionsOfProduct{
    "catalog.options_of_product",
    "SELECT id, name, position FROM product_options WHERE product_id = $1 ORDER BY position"};
constexpr db::Statement kInsertOption{
    "catalog.insert_option",
    "INSERT INTO product_options (product_id, name, position) VALUES ($1, $2, $3::smallint) RETURNING id"};
// The value's id, inserted after the option's last value when new (the DO UPDATE changes nothing:
// it only makes RETURNING see an existing row).
constexpr db::Statement kUpsertOptionValue{
    "catalog.upsert_option_value",
    "INSERT INTO product_option_values (option_id, value, position) "
    "VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM product_option_values WHERE option_id = $1)) "
    "ON CONFLICT (option_id, value) DO UPDATE SET position = product_option_values.position RETURNING id"};
constexpr db::Statement kInsertVariant{
    "catalog.insert_variant",
    "INSERT INTO product_variants (product_id, sku, option_key, price_cents, stock, is_active, weight_g, "
    "low_stock_threshold, position) "
    "VALUES ($1, $2, $3, $4::bigint, $5::integer, $6::boolean, $7::integer, $8::integer, "
    "(SELECT coalesce(max(position), 0) + 1 FROM product_variants WHERE product_id = $1)) RETURNING id"};
constexpr db::Statement kInsertVariantValue{
    "catalog.insert_variant_value",
    "INSERT INTO product_variant_values (variant_id, option_id, value_id) VALUES ($1, $2, $3)"};
constexpr db::Statement kVariantMovement{
    "catalog.variant_movement",
    "INSERT INTO inventory_movements (product_id, variant_id, delta, reason, note) "
    "VALUES ($1, $2, $3::integer, $4, $5)"};
// The product's JSON shows its variants, so its version (ETag) moves with every variant write.
constexpr db::Statement kBumpProductVersion{"catalog.bump_product_version",
                                            "UPDATE products SET version = version + 1 WHERE id = $1"};
constexpr db::Statement kLockVariant{
    "catalog.lock_variant",
    "SELECT product_id, version, stock, held, is_default, deleted_at IS NOT NULL AS is_deleted "
    "FROM product_variants WHERE id = $1 FOR UPDATE"};
// $3: whether to change the price override, $4 the new one (NULL: none).
constexpr db::Statement kUpdateVariant{
    "catalog.update_variant",
    "UPDATE product_variants SET sku = coalesce($2, sku), "
    "price_cents = CASE WHEN $3::boolean THEN $4::bigint ELSE price_cents END, "
    "stock = coalesce($5::integer, stock), is_active = coalesce($6::boolean, is_active), "
    "weight_g = coalesce($7::integer, weight_g), low_stock_threshold = coalesce($8::integer, low_stock_threshold), "
    "version = version + 1 "
    "WHERE id = $1"};
constexpr db::Statement kSoftDeleteVariant{
    "catalog.soft_delete_variant",
    "UPDATE product_variants SET deleted_at = now(), is_active = false, stock = $2::integer, version = version + 1 "
    "WHERE id = $1"};

Variant variant_of(const db::QueryResult& r, std::size_t row) {
    Variant v;
    v.id = r.get<std::int64_t>(row, "id");
    v.product_id = r.get<std::int64_t>(row, "product_id");
    v.sku = r.get<std::string>(row, "sku");
    v.price_override_cents = r.get_optional<std::int64_t>(row, "price_override_cents");
    v.price_cents = r.get<std::int64_t>(row, "price_cents");
    v.currency = r.get<std::string>(row, "currency");
    v.stock = r.get<std::int64_t>(row, "stock");
    v.held = r.get<std::int64_t>(row, "held");
    v.available = v.stock - v.held;
    v.in_stock = v.available > 0;
    v.is_default = r.get<bool>(row, "is_default");
    v.is_active = r.get<bool>(row, "is_active");
    v.is_deleted = r.get<bool>(row, "is_deleted");
    v.version = r.get<std::int64_t>(row, "version");
    v.weight_g = r.get<std::int32_t>(row, "weight_g");
    v.low_stock_threshold = r.get<std::int32_t>(row, "low_stock_threshold");
    const auto options = r.get<json::value>(row, "options");
    for (const auto& pair : options.as_array()) {
        const auto& a = pair.as_array();
        v.options.push_back(VariantOption{std::string(a.at(0).as_string()), std::string(a.at(1).as_string())});
    }
    return v;
}

core::Error not_found() { return core::make_error(core::Errc::kNotFound, "no such variant"); }

asio::awaitable<Variant> read_variant_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                           // awaited directly
    db::Transaction& tx,
    std::int64_t id) {
    auto r = co_await tx.query(kVariantById, db::params(id));
    co_return variant_of(r, 0);
}

asio::awaitable<core::Result<Variant>>
insert_variant_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by with_transaction
    db::Transaction& tx,
    std::int64_t product_id,
    VariantInput in) {
    auto product = co_await tx.query(kLockProductForVariant, db::params(product_id));
    if (product.empty() || product.get<bool>(0, "is_deleted")) {
        co_return core::make_error(core::Errc::kNotFound, "no such product");
    }
    auto existing = co_await tx.query(kOptionsOfProduct, db::params(product_id));
    std::vector<std::pair<std::string, std::int64_t>> options;  // name, id
    for (std::size_t i = 0; i < existing.rows(); ++i) {
        options.emplace_back(existing.get<std::string>(i, "name"), existing.get<std::int64_t>(i, "id"));
    }
    if (!options.empty()) {
        bool same = options.size() == in.options.size();
        for (const auto& o : in.options) {
            same = same && std::any_of(options.begin(), options.end(), [&](const auto& e) { return e.first == o.option; });
        }
        if (!same) {
            std::string names;
            for (const auto& [name, id] : options) names += (names.empty() ? "" : ", ") + name;
            co_return core::make_error(core::Errc::kValidation,
                                       "the request has invalid fields",
                                       {{"options", "must name exactly the product's options: " + names}});
        }
    } else {
        for (std::size_t i = 0; i < in.options.size(); ++i) {
            const auto position = static_cast<std::int64_t>(i + 1);
            auto inserted = co_await tx.query(kInsertOption, db::params(product_id, in.options[i].option, position));
            options.emplace_back(in.options[i].option, inserted.get<std::int64_t>(0, "id"));
        }
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> values;  // option id, value id
    for (const auto& o : in.options) {
        const auto it = std::find_if(options.begin(), options.end(), [&](const auto& e) { return e.first == o.option; });
        auto value = co_await tx.query(kUpsertOptionValue, db::params(it->second, o.value));
        values.emplace_back(it->second, value.get<std::int64_t>(0, "id"));
    }
    std::vector<std::int64_t> value_ids;
    for (const auto& [option_id, value_id] : values) value_ids.push_back(value_id);
    std::sort(value_ids.begin(), value_ids.end());
    std::string key;
    for (auto id : value_ids) key += (key.empty() ? "" : ",") + std::to_string(id);

    auto inserted = co_await tx.query(
        kInsertVariant, db::params(product_id, in.sku, key, in.price_cents, in.stock, in.is_active, in.weight_g,
                                   in.low_stock_threshold));
    const auto id = inserted.get<std::int64_t>(0, "id");
    for (const auto& [option_id, value_id] : values) {
        co_await tx.query(kInsertVariantValue, db::params(id, option_id, value_id));
    }
    co_await tx.query(kVariantMovement, db::params(product_id, id, in.stock, "initial", "variant created"));
    co_await tx.query(kBumpProductVersion, db::params(product_id));
    co_return co_await read_variant_in(tx, id);
}

struct InsertVariantWork {
    std::int64_t product_id;
    VariantInput input;
    asio::awaitable<core::Result<Variant>> operator()(db::Transaction& tx) const {
        return insert_variant_in(tx, product_id, input);
    }
};

asio::awaitable<core::Result<Variant>>
update_variant_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by with_transaction
    db::Transaction& tx,
    std::int64_t id,
    VariantPatch patch) {
    auto current = co_await tx.query(kLockVariant, db::params(id));
    if (current.empty() || current.get<bool>(0, "is_deleted")) co_return not_found();
    const auto product_id = current.get<std::int64_t>(0, "product_id");
    const auto version = current.get<std::int64_t>(0, "version");
    if (version != patch.expected_version) {
        co_return core::make_error(
            core::Errc::kPreconditionFailed,
            "the variant was changed by someone else (current version " + std::to_string(version) + ")");
    }
    const auto stock = current.get<std::int64_t>(0, "stock");
    const auto held = current.get<std::int64_t>(0, "held");
    if (patch.stock && *patch.stock < held) {
        co_return core::make_error(core::Errc::kConflict,
                                   "carts hold " + std::to_string(held) + " units of this variant",
                                   {{"stock", "must be at least the units held (" + std::to_string(held) + ")"}});
    }
    if (patch.stock && *patch.stock != stock) {
        const auto delta = *patch.stock - stock;
        co_await tx.query(kVariantMovement,
                          db::params(product_id, id, delta, delta > 0 ? "restock" : "adjustment", "variant update"));
    }
    const bool set_price = patch.price_cents.has_value();
    const std::optional<std::int64_t> price = set_price ? *patch.price_cents : std::nullopt;
    co_await tx.query(kUpdateVariant, db::params(id, patch.sku, set_price, price, patch.stock, patch.is_active, patch.weight_g,
                                                  patch.low_stock_threshold));
    co_await tx.query(kBumpProductVersion, db::params(product_id));
    co_return co_await read_variant_in(tx, id);
}

struct UpdateVariantWork {
    std::int64_t id;
    VariantPatch patch;
    asio::awaitable<core::Result<Variant>> operator()(db::Transaction& tx) const {
        return update_variant_in(tx, id, patch);
    }
};

asio::awaitable<core::Result<CatalogStore::VariantRemoval>>
delete_variant_in(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by with_transaction
    db::Transaction& tx,
    std::int64_t id) {
    auto current = co_await tx.query(kLockVariant, db::params(id));
    if (current.empty() || current.get<bool>(0, "is_deleted")) co_return not_found();
    if (current.get<bool>(0, "is_default")) {
        co_return core::make_error(core::Errc::kConflict, "a product's default variant cannot be deleted");
    }
    CatalogStore::VariantRemoval removal;
    removal.product_id = current.get<std::int64_t>(0, "product_id");
    const auto stock = current.get<std::int64_t>(0, "stock");
    const auto held = current.get<std::int64_t>(0, "held");
    // Its unsold, unheld units leave the stock with the variant (through the ledger).
    if (stock > held) {
        co_await tx.query(kVariantMovement,
                          db::params(removal.product_id, id, held - stock, "adjustment", "variant deleted"));
        removal.stock_changed = true;
    }
    co_await tx.query(kSoftDeleteVariant, db::params(id, held));
    co_await tx.query(kBumpProductVersion, db::params(removal.product_id));
    co_return removal;
}

struct DeleteVariantWork {
    std::int64_t id;
    asio::awaitable<core::Result<CatalogStore::VariantRemoval>> operator()(db::Transaction& tx) const {
        return delete_variant_in(tx, id);
    }
};

// A unique violation of the variants' keys as the client's conflict; nullopt for anything else.
std::optional<core::Error> variant_conflict(const db::DbError& e) {
    if (!e.is_unique_violation()) return std::nullopt;
    if (e.constraint() == "product_variants_sku_key") {
        return core::make_error(core::Errc::kConflict, "a variant with this SKU already exists", {{"sku", "is already taken"}});
    }
    if (e.constraint() == "product_variants_combination_key") {
        return core::make_error(core::Errc::kConflict,
                                "the product already has a variant with these options",
                                {{"options", "this combination already exists"}});
    }
    return std::nullopt;
}

}  // namespace

asio::awaitable<std::vector<Variant>> CatalogStore::variants_of(std::int64_t product_id) {
    auto r = co_await read(kVariantsOfProduct, db::params(product_id));
    std::vector<Variant> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(variant_of(r, i));
    co_return out;
}

asio::awaitable<std::optional<CatalogStore::FoundVariant>> CatalogStore::find_variant(std::int64_t id) {
    auto r = co_await read(kVariantById, db::params(id));
    if (r.empty()) co_return std::nullopt;
    co_return FoundVariant{variant_of(r, 0), r.get<bool>(0, "product_visible")};
}

asio::awaitable<core::Result<Variant>> CatalogStore::insert_variant(std::int64_t product_id, VariantInput input) {
    std::optional<core::Error> conflict;
    try {
        InsertVariantWork work{product_id, std::move(input)};
        auto insertion = db::with_transaction(pools_(), std::move(work));
        co_return co_await std::move(insertion);
    } catch (const db::DbError& e) {
        conflict = variant_conflict(e);
        if (!conflict) throw;
    }
    co_return *conflict;
}

asio::awaitable<core::Result<Variant>> CatalogStore::update_variant(std::int64_t id, VariantPatch patch) {
    std::optional<core::Error> conflict;
    try {
        UpdateVariantWork work{id, std::move(patch)};
        auto update = db::with_transaction(pools_(), std::move(work));
        co_return co_await std::move(update);
    } catch (const db::DbError& e) {
        conflict = variant_conflict(e);
        // Carts took units between the check and the update (the held-within-stock CHECK).
        if (!conflict && e.is_check_violation() && e.constraint() == "product_variants_held_within_stock") {
            conflict = core::make_error(core::Errc::kConflict, "the stock cannot go below the units held by carts");
        }
        if (!conflict) throw;
    }
    co_return *conflict;
}

asio::awaitable<core::Result<CatalogStore::VariantRemoval>> CatalogStore::delete_variant(std::int64_t id) {
    DeleteVariantWork work{id};
    auto deletion = db::with_transaction(pools_(), std::move(work));
    co_return co_await std::move(deletion);
}

}  // namespace emporium::catalog
