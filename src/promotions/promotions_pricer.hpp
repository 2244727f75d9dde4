#pragma once
// Promotions, shipping and tax applied to orders and carts: the orders context's Pricer. In an order's transaction it
// locks the promotions that may apply (ascending id), prices each order with pricing::price and
// counts what the accepted orders redeem, so usage limits are exact under concurrency
// (docs/architecture.md, "Promotions"). Cart views get a quote: the same arithmetic without locks.

#include "orders/orders_service.hpp"
#include "promotions/promotions_store.hpp"
#include "shipping/shipping_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace emporium::promotions {

class PromotionsPricer final : public orders::Pricer {
public:
    PromotionsPricer(PromotionsStore store, shipping::ShippingStore shipping, bool prices_include_tax)
        : store_(std::move(store)), shipping_(std::move(shipping)), prices_include_tax_(prices_include_tax) {}

    boost::asio::awaitable<std::unique_ptr<orders::PricingRound>> open_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<orders::PricingRequest> requests) override;
    boost::asio::awaitable<orders::Quote> quote(std::optional<std::int64_t> user_id,
                                                std::vector<inventory::ReservedLine> lines,
                                                orders::PricingRequest request) override;
    boost::asio::awaitable<void> release_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> order_ids) override;

private:
    // The automatic promotions in force, read at most once a second (every cart view needs them).
    boost::asio::awaitable<std::vector<Promotion>> automatic();

    PromotionsStore store_;
    shipping::ShippingStore shipping_;
    bool prices_include_tax_ = false;
    std::mutex mutex_;  // guards the cache below; never held across a co_await
    std::vector<Promotion> automatic_;
    std::optional<std::chrono::steady_clock::time_point> automatic_read_at_;
};

}  // namespace emporium::promotions
