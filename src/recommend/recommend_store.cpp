#include "recommend/recommend_store.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace emporium::recommend {

namespace asio = boost::asio;

namespace {

constexpr db::Statement kMaxOrder{"recommend.max_order", "SELECT coalesce(max(id), 0) FROM orders"};
// The range of the next COPY (which cannot take parameters), as transaction-local settings; JIT
// compilation would cost more than it saves on these short statements.
constexpr db::Statement kRange{
    "recommend.range",
    "SELECT set_config('emporium.recommend_after', $1, true), set_config('emporium.recommend_up_to', $2, true), "
    "set_config('jit', 'off', true)"};
// Index-only scans on both sides: order_items_order_product_idx (order_id, product_id) for the range
// (DISTINCT: two variants of one product in an order are one product of the basket),
// and the partial index of unsettled orders to leave those out. The range on orders too:
// PostgreSQL does not carry it across the join by itself.
constexpr std::string_view kPaidItems =
    "COPY (SELECT DISTINCT i.order_id, i.product_id FROM order_items i "
    "WHERE i.order_id > current_setting('emporium.recommend_after')::bigint "
    "AND i.order_id <= current_setting('emporium.recommend_up_to')::bigint "
    "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id "
    "AND o.id > current_setting('emporium.recommend_after')::bigint "
    "AND o.id <= current_setting('emporium.recommend_up_to')::bigint "
    "AND o.status NOT IN ('paid', 'fulfilled', 'return_requested', 'returned')) "
    "ORDER BY i.order_id, i.product_id) TO STDOUT";
constexpr db::Statement kOrderProducts{
    "recommend.order_products",
    "SELECT o.status IN ('paid', 'fulfilled', 'return_requested', 'returned') AS paid, coalesce(array_agg(DISTINCT i.product_id) FILTER (WHERE i.product_id IS NOT NULL), "
    "'{}') AS products FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE o.id = $1 GROUP BY o.id"};
constexpr db::Statement kPurchases{
    "recommend.purchases",
    "SELECT product_id FROM (SELECT i.product_id, max(o.id) AS last FROM orders o JOIN order_items i ON i.order_id = o.id "
    "WHERE o.user_id = $1 AND o.status IN ('paid', 'fulfilled', 'return_requested', 'returned') GROUP BY i.product_id) t ORDER BY last DESC, product_id "
    "LIMIT $2"};

}  // namespace

asio::awaitable<void> RecommendStore::read_ranges(std::int64_t max_id,
                                                 std::int64_t step,
                                                 std::size_t stream,
                                                 std::size_t streams,
                                                 BasketAssembler* into) {
    // READ COMMITTED: each range is read at its own snapshot, so no snapshot is held for the
    // whole rebuild (VACUUM is not held back), as with separate queries.
    auto tx = co_await pool_().begin();
    db::CopySink sink = [into](std::string_view row) { into->row(row); };
    const auto stride = step * static_cast<std::int64_t>(streams);
    for (std::int64_t after = step * static_cast<std::int64_t>(stream); after < max_id; after += stride) {
        const auto up_to = std::min(max_id, after + step);
        static_cast<void>(co_await tx.query(kRange, std::to_string(after), std::to_string(up_to)));
        static_cast<void>(co_await tx.copy_out(std::string(kPaidItems), sink));
        into->finish();
    }
    co_await tx.commit();
}

asio::awaitable<std::uint64_t> RecommendStore::stream_paid_baskets(std::int64_t batch_orders,
                                                                   std::size_t streams,
                                                                   BasketAssembler::OnBasket on_basket) {
    auto r = co_await pool_().query(kMaxOrder);
    const auto max_id = r.get<std::int64_t>(0, 0);
    const auto step = std::max<std::int64_t>(1, batch_orders);
    const auto ranges = static_cast<std::size_t>((max_id + step - 1) / step);
    streams = std::max<std::size_t>(1, std::min(streams, ranges));
    std::vector<BasketAssembler> assemblers(streams, BasketAssembler(on_basket));
    if (streams == 1) {
        co_await read_ranges(max_id, step, 0, 1, assemblers.data());
    } else {
        const auto ex = co_await asio::this_coro::executor;
        using Op = decltype(asio::co_spawn(ex, read_ranges(0, 1, 0, 1, nullptr), asio::deferred));
        std::vector<Op> readers;
        for (std::size_t s = 0; s < streams; ++s) {
            readers.push_back(asio::co_spawn(ex, read_ranges(max_id, step, s, streams, &assemblers[s]), asio::deferred));
        }
        auto group = asio::experimental::make_parallel_group(std::move(readers));
        auto [order, errors] = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        static_cast<void>(order);
        for (const auto& e : errors) {
            if (e) std::rethrow_exception(e);
        }
    }
    std::uint64_t rows = 0;
    for (const auto& a : assemblers) rows += a.rows();
    co_return rows;
}

asio::awaitable<std::pair<bool, std::vector<std::int64_t>>> RecommendStore::order_products(std::int64_t order_id) {
    auto r = co_await pool_().query(kOrderProducts, order_id);
    if (r.empty()) co_return std::pair<bool, std::vector<std::int64_t>>{false, {}};
    co_return std::pair<bool, std::vector<std::int64_t>>{r.get<bool>(0, 0), r.get<std::vector<std::int64_t>>(0, 1)};
}

asio::awaitable<std::vector<std::int64_t>> RecommendStore::purchases(std::int64_t user_id,
                                                                     std::int64_t limit,
                                                                     db::Lsn after) {
    auto* set = replicas_ ? replicas_() : nullptr;
    db::QueryResult r;
    if (set != nullptr) {
        r = co_await set->query(kPurchases, db::params(user_id, limit), after);
    } else {
        r = co_await pool_().query(kPurchases, user_id, limit);
    }
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < r.rows(); ++i) out.push_back(r.get<std::int64_t>(i, 0));
    co_return out;
}

}  // namespace emporium::recommend
