#pragma once
// SQL of the recommendations context (read-only): the items of paid orders streamed in order-id
// ranges, the products of one order, and a customer's purchases.

#include "db/pg.hpp"
#include "db/replicas.hpp"
#include "recommend/basket_stream.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace emporium::recommend {

class RecommendStore {
public:
    using PoolRef = std::function<db::Pool&()>;
    // The calling thread's read replicas (empty or null: none): purchases() may read there.
    using ReplicaProvider = std::function<db::ReplicaSet*()>;
    explicit RecommendStore(PoolRef pool, ReplicaProvider replicas = {})
        : pool_(std::move(pool)), replicas_(std::move(replicas)) {}

    // Every basket of a paid or fulfilled order, to `on_basket` (on the caller's executor, one at a
    // time, in no particular order across streams). One COPY statement per `batch_orders` order
    // ids, so no statement's length depends on the size of the history and the client's memory
    // does not either; the ranges are dealt round-robin to `streams` connections read
    // concurrently (the pool must be able to lend that many). Returns the number of rows.
    boost::asio::awaitable<std::uint64_t> stream_paid_baskets(std::int64_t batch_orders,
                                                              std::size_t streams,
                                                              BasketAssembler::OnBasket on_basket);
    // The products of one order and whether it is paid (or fulfilled).
    boost::asio::awaitable<std::pair<bool, std::vector<std::int64_t>>> order_products(std::int64_t order_id);
    // Products the user bought (paid or fulfilled orders), most recently bought first. Read on a
    // replica that has replayed `after` when there are replicas (else the primary).
    boost::asio::awaitable<std::vector<std::int64_t>> purchases(std::int64_t user_id,
                                                                std::int64_t limit,
                                                                db::Lsn after = 0);

private:
    boost::asio::awaitable<void> read_ranges(std::int64_t max_id,
                                             std::int64_t step,
                                             std::size_t stream,
                                             std::size_t streams,
                                             BasketAssembler* into);

    PoolRef pool_;
    ReplicaProvider replicas_;
};

}  // namespace emporium::recommend
