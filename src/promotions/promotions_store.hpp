#pragma once
// SQL of the promotions context (table promotions, migration 0014).

#include "db/pg.hpp"
#include "promotions/promotions_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace emporium::promotions {

class PromotionsStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit PromotionsStore(PoolProvider pools) : pools_(std::move(pools)) {}
    db::Pool& pool() { return pools_(); }

    // Throws db::DbError (unique violation on promotions_code_key) for a code in use.
    boost::asio::awaitable<Promotion> insert(NewPromotion p);
    boost::asio::awaitable<std::optional<Promotion>> find(std::int64_t id);
    // Newest first, ids below `before`; `active` filters on is_active.
    boost::asio::awaitable<std::vector<Promotion>> list(std::int64_t limit,
                                                        std::optional<std::int64_t> before,
                                                        std::optional<bool> active);
    boost::asio::awaitable<std::optional<Promotion>> lock(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    // Writes every changeable member of `p` (by id) and bumps the version.
    boost::asio::awaitable<Promotion> update(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        Promotion p);
    // false when there was no such live promotion.
    boost::asio::awaitable<bool> remove(std::int64_t id);
    // The ids of the lists that name no product, category or variant: (member name, id).
    boost::asio::awaitable<std::vector<std::pair<std::string, std::int64_t>>> missing_targets(
        std::vector<std::int64_t> product_ids,
        std::vector<std::int64_t> category_ids,
        std::vector<std::int64_t> variant_ids);

private:
    PoolProvider pools_;
};

}  // namespace emporium::promotions
