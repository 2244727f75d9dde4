#pragma once
// SQL of shipping options, tax rates and variant weights (migration 0016). Readers taking a
// Transaction* read in it when given, else on the pool.

#include "db/pg.hpp"
#include "shipping/shipping_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace emporium::shipping {

class ShippingStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit ShippingStore(PoolProvider pools) : pools_(std::move(pools)) {}
    db::Pool& pool() { return pools_(); }

    boost::asio::awaitable<ShippingOption> insert_option(NewShippingOption option);
    // Live options (active or not), by country then id; all countries when `country` is empty.
    boost::asio::awaitable<std::vector<ShippingOption>> list_options(std::string country);
    // false when there was no such live option.
    boost::asio::awaitable<bool> remove_option(std::int64_t id);
    // The live, active options of `country`, ascending id.
    boost::asio::awaitable<std::vector<ShippingOption>> options_for(db::Transaction* tx, std::string country);

    // Replaces the country's rates (one transaction). Throws db::DbError (foreign key) for a
    // category that does not exist.
    boost::asio::awaitable<TaxRates> put_rates(std::string country, NewTaxRates rates);
    boost::asio::awaitable<std::vector<TaxRates>> list_rates();
    boost::asio::awaitable<bool> remove_rates(std::string country);
    // The country's rates; nullopt when it has none.
    boost::asio::awaitable<std::optional<TaxRates>> rates_of(db::Transaction* tx, std::string country);
    // Whether any country has a tax rate (then every order must name its country).
    boost::asio::awaitable<bool> any_rates(db::Transaction* tx);
    // variant id → weight in grams.
    boost::asio::awaitable<std::map<std::int64_t, std::int64_t>> weights(db::Transaction* tx,
                                                                         std::vector<std::int64_t> variant_ids);

private:
    boost::asio::awaitable<db::QueryResult> read(db::Transaction* tx, db::Statement stmt, db::Params params);

    PoolProvider pools_;
};

}  // namespace emporium::shipping
