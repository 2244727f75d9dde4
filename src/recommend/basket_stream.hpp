#pragma once
// Baskets out of a stream of (order id, product id) rows, as the rebuild reads them from
// PostgreSQL. Pure CPU, no I/O.

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace emporium::recommend {

// Turns the rows of `COPY (SELECT order_id, product_id … ORDER BY order_id) TO STDOUT` (text
// format) into baskets: consecutive rows of one order become one call of `on_basket` with its
// products. Throws std::runtime_error on a row that is not two integers or that goes back in
// order id (the stream is then unusable).
class BasketAssembler {
public:
    using OnBasket = std::function<void(std::span<const std::int64_t> products)>;
    explicit BasketAssembler(OnBasket on_basket) : on_basket_(std::move(on_basket)) {}

    void row(std::string_view data);  // one CopyData message
    // Delivers the last basket (at the end of a COPY; another may follow).
    void finish();
    std::uint64_t rows() const { return rows_; }

private:
    OnBasket on_basket_;
    std::vector<std::int64_t> products_;
    std::int64_t order_ = 0;
    std::uint64_t rows_ = 0;
};

}  // namespace emporium::recommend
