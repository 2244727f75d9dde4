#include "recommend/basket_stream.hpp"

#include <charconv>
#include <stdexcept>

namespace emporium::recommend {

namespace {

std::int64_t to_id(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        throw std::runtime_error("recommend: malformed COPY row: expected two integers");
    }
    return v;
}

}  // namespace

void BasketAssembler::row(std::string_view data) {
    // Text format, one row per message: "<order id>\t<product id>\n" (PostgreSQL prints
    // integers faster than it packs them in binary).
    if (!data.empty() && data.back() == '\n') data.remove_suffix(1);
    const auto tab = data.find('\t');
    if (tab == std::string_view::npos) throw std::runtime_error("recommend: malformed COPY row: expected two integers");
    const auto order = to_id(data.substr(0, tab));
    const auto product = to_id(data.substr(tab + 1));
    if (order != order_ && !products_.empty()) {
        if (order < order_) throw std::runtime_error("recommend: COPY rows not in order-id order");
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
}

}  // namespace emporium::recommend
