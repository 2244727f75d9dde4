#include "recommend/recommend_store.hpp"

namespace emporium::recommend {

namespace asio = boost::asio;

namespace {

constexpr db::Statement kMaxOrder{"recommend.max_order", "SELECT coalesce(max(id), 0) FROM orders"};
constexpr db::Statement kBaskets{
    "recommend.baskets",
    "SELECT i.order_id, array_agg(i.product_id) AS products FROM order_items i JOIN orders o ON o.id = i.order_id "
    // The range on both sides: PostgreSQL does not carry it across the join by itself.
    "WHERE i.order_id > $1 AND i.order_id <= $2 AND o.id > $1 AND o.id <= $2 AND o.status IN ('paid', 'fulfilled') "
    "GROUP BY i.order_id"};
constexpr db::Statement kOrderProducts{
    "recommend.order_products",
    "SELECT o.status IN ('paid', 'fulfilled') AS paid, coalesce(array_agg(i.product_id) FILTER (WHERE i.product_id IS NOT NULL), "
    "'{}') AS products FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE o.id = $1 GROUP BY o.id"};
constexpr db::Statement kPurchases{
    "recommend.purchases",
    "SELECT product_id FROM (SELECT i.product_id, max(o.id) AS last FROM orders o JOIN order_items i ON i.order_id = o.id "
    "WHERE o.user_id = $1 AND o.status IN ('paid', 'fulfilled') GROUP BY i.product_id) t ORDER BY last DESC, product_id "
    "LIMIT $2"};

}  // namespace

asio::awaitable<std::int64_t> RecommendStore::max_order_id() {
    auto r = co_await pool_().query(kMaxOrder);
    co_return r.get<std::int64_t>(0, 0);
}

asio::awaitable<std::vector<OrderBasket>> RecommendStore::baskets(std::int64_t after, std::int64_t up_to) {
    auto r = co_await pool_().query(kBaskets, after, up_to);
    std::vector<OrderBasket> out;
    out.reserve(r.rows());
    for (std::size_t i = 0; i < r.rows(); ++i) {
        out.push_back({r.get<std::int64_t>(i, 0), r.get<std::vector<std::int64_t>>(i, 1)});
    }
    co_return out;
}

asio::awaitable<std::pair<bool, std::vector<std::int64_t>>> RecommendStore::order_products(std::int64_t order_id) {
    auto r = co_await pool_().query(kOrderProducts, order_id);
    if (r.empty()) co_return std::pair<bool, std::vector<std::int64_t>>{false, {}};
    co_return std::pair<bool, std::vector<std::int64_t>>{r.get<bool>(0, 0), r.get<std::vector<std::int64_t>>(0, 1)};
}

asio::awaitable<std::vector<std::int64_t>> RecommendStore::purchases(std::int64_t user_id, std::int64_t limit) {
    auto r = co_await pool_().query(kPurchases, user_id, limit);
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, 0));
    co_return out;
}

}  // namespace emporium::recommend
