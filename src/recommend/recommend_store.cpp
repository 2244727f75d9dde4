#include "recommend/recommend_store.hpp"

#include <algorithm>
#include <stdexcept>

namespace emporium::recommend {

namespace asio = boost::asio;

namespace {

// PostgreSQL's binary COPY: an 11-byte signature, 32-bit flags and header-extension length, then
// per row a 16-bit field count and per field a 32-bit length and the value, all big-endian; a
// field count of -1 ends the data.
constexpr std::string_view kSignature{"PGCOPY\n\xff\r\n\0", 11};

std::uint64_t big_endian(const char* p, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

[[noreturn]] void malformed(const char* what) {
    throw std::runtime_error(std::string("recommend: malformed COPY data: ") + what);
}

}  // namespace

void BasketAssembler::row(std::string_view data) {
    if (!header_seen_) {
        if (data.size() < kSignature.size() + 8 || data.substr(0, kSignature.size()) != kSignature) malformed("no header");
        const auto extension = big_endian(data.data() + kSignature.size() + 4, 4);
        if (extension > data.size() - kSignature.size() - 8) malformed("header extension");
        data.remove_prefix(kSignature.size() + 8 + extension);
        header_seen_ = true;
        if (data.empty()) return;  // the header came alone
    }
    if (trailer_seen_) malformed("data after the trailer");
    if (data.size() == 2 && big_endian(data.data(), 2) == 0xffff) {
        trailer_seen_ = true;
        return;
    }
    // Two non-null bigint fields: 2 + (4 + 8) * 2 bytes.
    if (data.size() != 26 || big_endian(data.data(), 2) != 2 || big_endian(data.data() + 2, 4) != 8 ||
        big_endian(data.data() + 14, 4) != 8) {
        malformed("expected a row of two bigints");
    }
    const auto order = static_cast<std::int64_t>(big_endian(data.data() + 6, 8));
    const auto product = static_cast<std::int64_t>(big_endian(data.data() + 18, 8));
    if (order != order_ && !products_.empty()) {
        if (order < order_) malformed("rows not in order-id order");
        on_basket_(products_);
        products_.clear();
    }
    order_ = order;
    products_.push_back(product);
    ++rows_;
}

void BasketAssembler::finish() {
    if (!products_.empty()) on_basket_(products_);
    products_.clear();
    header_seen_ = false;
    trailer_seen_ = false;
}

namespace {

constexpr db::Statement kMaxOrder{"recommend.max_order", "SELECT coalesce(max(id), 0) FROM orders"};
// The range of the next COPY (which cannot take parameters), as transaction-local settings; JIT
// compilation would cost more than it saves on these short statements.
constexpr db::Statement kRange{
    "recommend.range",
    "SELECT set_config('emporium.recommend_after', $1, true), set_config('emporium.recommend_up_to', $2, true), "
    "set_config('jit', 'off', true)"};
// Index-only scans on both sides: order_items' primary key (order_id, product_id) for the range,
// and the partial index of unsettled orders to leave those out. The range on orders too:
// PostgreSQL does not carry it across the join by itself.
constexpr std::string_view kPaidItems =
    "COPY (SELECT i.order_id, i.product_id FROM order_items i "
    "WHERE i.order_id > current_setting('emporium.recommend_after')::bigint "
    "AND i.order_id <= current_setting('emporium.recommend_up_to')::bigint "
    "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = i.order_id "
    "AND o.id > current_setting('emporium.recommend_after')::bigint "
    "AND o.id <= current_setting('emporium.recommend_up_to')::bigint "
    "AND o.status NOT IN ('paid', 'fulfilled')) "
    "ORDER BY i.order_id) TO STDOUT (FORMAT binary)";
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

asio::awaitable<std::uint64_t> RecommendStore::stream_paid_items(std::int64_t batch_orders, BasketAssembler& into) {
    // READ COMMITTED: each range is read at its own snapshot, so no snapshot is held for the
    // whole rebuild (VACUUM is not held back), as with separate queries.
    auto tx = co_await pool_().begin();
    auto r = co_await tx.query(kMaxOrder);
    const auto max_id = r.get<std::int64_t>(0, 0);
    const auto step = std::max<std::int64_t>(1, batch_orders);
    db::CopySink sink = [&into](std::string_view row) { into.row(row); };
    for (std::int64_t after = 0; after < max_id; after += step) {
        const auto up_to = std::min(max_id, after + step);
        static_cast<void>(co_await tx.query(kRange, std::to_string(after), std::to_string(up_to)));
        static_cast<void>(co_await tx.copy_out(std::string(kPaidItems), sink));
        into.finish();
    }
    co_await tx.commit();
    co_return into.rows();
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
