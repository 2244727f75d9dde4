#pragma once
// SQL of the promotions context (table promotions, migration 0014).

#include "db/pg.hpp"
#include "promotions/promotions_types.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace emporium::promotions {

// A customer's live redemptions of a promotion.
struct CustomerUses {
    std::int64_t user_id = 0;
    std::int64_t promotion_id = 0;
    std::int64_t uses = 0;
};

struct Redemption {
    std::int64_t promotion_id = 0;
    std::int64_t order_id = 0;
    std::int64_t user_id = 0;
    std::optional<std::string> code;
    std::int64_t discount_cents = 0;
};

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

    // Pricing (migration 0015). The promotions with one of `codes` (live; active or not) and the
    // automatic ones in force, ascending id; lock_candidates locks them in that order.
    boost::asio::awaitable<std::vector<Promotion>> candidates(std::vector<std::string> codes);
    boost::asio::awaitable<std::vector<Promotion>> lock_candidates(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::string> codes);
    // In `tx` when given, else on the pool.
    boost::asio::awaitable<std::vector<CustomerUses>> customer_uses(db::Transaction* tx,
                                                                    std::vector<std::int64_t> user_ids,
                                                                    std::vector<std::int64_t> promotion_ids);
    // Those of `user_ids` with an order that was not cancelled or expired.
    boost::asio::awaitable<std::vector<std::int64_t>> customers_with_orders(db::Transaction* tx,
                                                                            std::vector<std::int64_t> user_ids);
    // product id → category id (products without a category are absent).
    boost::asio::awaitable<std::map<std::int64_t, std::int64_t>> categories(db::Transaction* tx,
                                                                            std::vector<std::int64_t> product_ids);
    // Writes the redemptions and adds them to their promotions' counts, guarded by usage_limit;
    // returns how many promotions were counted (fewer than named: a limit would be passed).
    boost::asio::awaitable<std::size_t> redeem(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<Redemption> redemptions);
    // Releases the live redemptions of `order_ids` (promotions locked first, ascending id).
    boost::asio::awaitable<void> release(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> order_ids);

private:
    PoolProvider pools_;
};

}  // namespace emporium::promotions
