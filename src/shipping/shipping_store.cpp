#include "shipping/shipping_store.hpp"

namespace emporium::shipping {

namespace {

namespace asio = boost::asio;

#define EMPORIUM_OPTION_COLUMNS "id, country, name, currency, base_cents, per_kg_cents, free_above_cents, is_active"
constexpr db::Statement kInsertOption{
    "shipping.insert_option",
    "INSERT INTO shipping_options (country, name, currency, base_cents, per_kg_cents, free_above_cents, is_active) "
    "VALUES ($1, $2, $3, $4::bigint, $5::bigint, $6::bigint, $7::boolean) RETURNING " EMPORIUM_OPTION_COLUMNS};
constexpr db::Statement kListOptions{
    "shipping.list_options",
    "SELECT " EMPORIUM_OPTION_COLUMNS " FROM shipping_options WHERE deleted_at IS NULL "
    "AND ($1 = '' OR country = $1) ORDER BY country, id"};
constexpr db::Statement kOptionsFor{
    "shipping.options_for",
    "SELECT " EMPORIUM_OPTION_COLUMNS " FROM shipping_options WHERE deleted_at IS NULL AND is_active "
    "AND country = $1 ORDER BY id"};
#undef EMPORIUM_OPTION_COLUMNS
constexpr db::Statement kRemoveOption{
    "shipping.remove_option",
    "UPDATE shipping_options SET deleted_at = now(), is_active = false WHERE id = $1 AND deleted_at IS NULL"};
constexpr db::Statement kDeleteRates{"shipping.delete_rates", "DELETE FROM tax_rates WHERE country = $1"};
// Two replacements of one country's rates run one after the other (both delete, then insert).
constexpr db::Statement kLockCountry{"shipping.lock_country",
                                     "SELECT pg_advisory_xact_lock(hashtext('emporium.tax_rates:' || $1))"};
constexpr db::Statement kInsertRates{
    "shipping.insert_rates",
    "INSERT INTO tax_rates (country, category_id, rate_bp) SELECT $1, d.category_id, d.rate_bp "
    "FROM jsonb_to_recordset($2::jsonb) AS d(category_id bigint, rate_bp integer)"};
constexpr db::Statement kListRates{
    "shipping.list_rates", "SELECT country, category_id, rate_bp FROM tax_rates ORDER BY country, category_id NULLS FIRST"};
constexpr db::Statement kRatesOf{
    "shipping.rates_of",
    "SELECT country, category_id, rate_bp FROM tax_rates WHERE country = $1 ORDER BY category_id NULLS FIRST"};
constexpr db::Statement kAnyRates{"shipping.any_rates", "SELECT EXISTS (SELECT 1 FROM tax_rates) AS any"};
constexpr db::Statement kWeights{
    "shipping.weights", "SELECT id, weight_g FROM product_variants WHERE id = ANY($1::bigint[])"};

std::vector<ShippingOption> options_of(const db::QueryResult& r) {
    std::vector<ShippingOption> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        ShippingOption o;
        o.id = r.get<std::int64_t>(i, "id");
        o.country = r.get<std::string>(i, "country");
        o.name = r.get<std::string>(i, "name");
        o.currency = r.get<std::string>(i, "currency");
        o.base_cents = r.get<std::int64_t>(i, "base_cents");
        o.per_kg_cents = r.get<std::int64_t>(i, "per_kg_cents");
        o.free_above_cents = r.get_optional<std::int64_t>(i, "free_above_cents");
        o.is_active = r.get<bool>(i, "is_active");
        out.push_back(std::move(o));
    }
    return out;
}

// Rows (country, category_id, rate_bp) ordered by country, the standard rate first.
std::vector<TaxRates> rates_of_rows(const db::QueryResult& r) {
    std::vector<TaxRates> out;
    for (std::size_t i = 0; i < r.rows(); ++i) {
        const auto country = r.get<std::string>(i, "country");
        if (out.empty() || out.back().country != country) out.push_back(TaxRates{country, 0, {}});
        const auto rate = r.get<std::int32_t>(i, "rate_bp");
        if (auto category = r.get_optional<std::int64_t>(i, "category_id")) {
            out.back().categories.push_back(CategoryRate{*category, rate});
        } else {
            out.back().standard_bp = rate;
        }
    }
    return out;
}

}  // namespace

asio::awaitable<db::QueryResult> ShippingStore::read(db::Transaction* tx, db::Statement stmt, db::Params params) {
    if (tx) co_return co_await tx->query(stmt, std::move(params));
    co_return co_await pools_().query(stmt, std::move(params));
}

asio::awaitable<ShippingOption> ShippingStore::insert_option(NewShippingOption o) {
    auto r = co_await pools_().query(kInsertOption, db::params(o.country, o.name, o.currency, o.base_cents,
                                                               o.per_kg_cents, o.free_above_cents, o.is_active));
    co_return std::move(options_of(r).front());
}

asio::awaitable<std::vector<ShippingOption>> ShippingStore::list_options(std::string country) {
    auto r = co_await pools_().query(kListOptions, db::params(country));
    co_return options_of(r);
}

asio::awaitable<bool> ShippingStore::remove_option(std::int64_t id) {
    auto r = co_await pools_().query(kRemoveOption, db::params(id));
    co_return r.affected() == 1;
}

asio::awaitable<std::vector<ShippingOption>> ShippingStore::options_for(db::Transaction* tx, std::string country) {
    auto r = co_await read(tx, kOptionsFor, db::params(country));
    co_return options_of(r);
}

asio::awaitable<TaxRates> ShippingStore::put_rates(std::string country, NewTaxRates rates) {
    boost::json::array rows;
    rows.push_back(boost::json::object{{"category_id", nullptr}, {"rate_bp", rates.standard_bp}});
    for (const auto& c : rates.categories) rows.push_back(boost::json::object{{"category_id", c.category_id}, {"rate_bp", c.rate_bp}});
    const boost::json::value batch(std::move(rows));
    auto tx = co_await pools_().begin();
    co_await tx.query(kLockCountry, db::params(country));
    co_await tx.query(kDeleteRates, db::params(country));
    co_await tx.query(kInsertRates, db::params(country, batch));
    auto r = co_await tx.query(kRatesOf, db::params(country));
    co_await tx.commit();
    co_return std::move(rates_of_rows(r).front());
}

asio::awaitable<std::vector<TaxRates>> ShippingStore::list_rates() {
    auto r = co_await pools_().query(kListRates);
    co_return rates_of_rows(r);
}

asio::awaitable<bool> ShippingStore::remove_rates(std::string country) {
    auto r = co_await pools_().query(kDeleteRates, db::params(country));
    co_return r.affected() > 0;
}

asio::awaitable<std::optional<TaxRates>> ShippingStore::rates_of(db::Transaction* tx, std::string country) {
    auto r = co_await read(tx, kRatesOf, db::params(country));
    auto rates = rates_of_rows(r);
    if (rates.empty()) co_return std::nullopt;
    co_return std::move(rates.front());
}

asio::awaitable<bool> ShippingStore::any_rates(db::Transaction* tx) {
    db::Params none;
    auto r = co_await read(tx, kAnyRates, std::move(none));
    co_return r.get<bool>(0, "any");
}

asio::awaitable<std::map<std::int64_t, std::int64_t>> ShippingStore::weights(db::Transaction* tx,
                                                                             std::vector<std::int64_t> variant_ids) {
    auto r = co_await read(tx, kWeights, db::params(variant_ids));
    std::map<std::int64_t, std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out[r.get<std::int64_t>(i, "id")] = r.get<std::int32_t>(i, "weight_g");
    co_return out;
}

}  // namespace emporium::shipping
