#pragma once
// SQL of the recommendations context (read-only): baskets of paid orders in order-id ranges, the
// products of one order, and a customer's purchases.

#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace emporium::recommend {

struct OrderBasket {
    std::int64_t order_id = 0;
    std::vector<std::int64_t> products;
};

class RecommendStore {
public:
    using PoolRef = std::function<db::Pool&()>;
    explicit RecommendStore(PoolRef pool) : pool_(std::move(pool)) {}

    boost::asio::awaitable<std::int64_t> max_order_id();
    // Baskets of paid or fulfilled orders with after < id <= up_to.
    boost::asio::awaitable<std::vector<OrderBasket>> baskets(std::int64_t after, std::int64_t up_to);
    // The products of one order and whether it is paid (or fulfilled).
    boost::asio::awaitable<std::pair<bool, std::vector<std::int64_t>>> order_products(std::int64_t order_id);
    // Products the user bought (paid or fulfilled orders), most recently bought first.
    boost::asio::awaitable<std::vector<std::int64_t>> purchases(std::int64_t user_id, std::int64_t limit);

private:
    PoolRef pool_;
};

}  // namespace emporium::recommend
