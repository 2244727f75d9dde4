// Orders and inventory rules without services: the order state machine, checkout validation
// (limits, merging of duplicate lines) and the Redlock quorum / validity arithmetic.
#include "inventory/inventory_types.hpp"
#include "inventory/redlock.hpp"
#include "orders/orders_service.hpp"
#include "orders/orders_types.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace emporium::orders {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

core::Result<NewOrder> parse(std::string_view text) {
    return parse_new_order(json::parse(text).as_object());
}

bool has_field(const core::Error& e, const std::string& field) {
    for (const auto& d : e.details) {
        if (d.field == field) return true;
    }
    return false;
}

TEST(OrderStateMachine, AllowsOnlyTheDocumentedTransitions) {
    using S = OrderStatus;
    const std::vector<S> all{S::kPendingPayment, S::kPaid, S::kFulfilled, S::kCancelled, S::kExpired, S::kPaymentFailed};
    int allowed = 0;
    for (auto from : all) {
        for (auto to : all) {
            if (can_transition(from, to)) ++allowed;
        }
    }
    EXPECT_EQ(allowed, 8);
    EXPECT_TRUE(can_transition(S::kPendingPayment, S::kPaid));
    EXPECT_TRUE(can_transition(S::kPendingPayment, S::kCancelled));
    EXPECT_TRUE(can_transition(S::kPendingPayment, S::kExpired));
    EXPECT_TRUE(can_transition(S::kPendingPayment, S::kPaymentFailed));
    EXPECT_TRUE(can_transition(S::kPaid, S::kFulfilled));
    // A declined payment keeps the reservation: pay again, cancel, or expire.
    EXPECT_TRUE(can_transition(S::kPaymentFailed, S::kPaid));
    EXPECT_TRUE(can_transition(S::kPaymentFailed, S::kCancelled));
    EXPECT_TRUE(can_transition(S::kPaymentFailed, S::kExpired));
    EXPECT_FALSE(can_transition(S::kPaymentFailed, S::kFulfilled));
    EXPECT_FALSE(can_transition(S::kPaid, S::kCancelled));
    EXPECT_FALSE(can_transition(S::kPendingPayment, S::kFulfilled));
    EXPECT_FALSE(can_transition(S::kCancelled, S::kPendingPayment));
    EXPECT_FALSE(can_transition(S::kExpired, S::kCancelled));
    EXPECT_TRUE(returns_stock(S::kCancelled));
    EXPECT_TRUE(returns_stock(S::kExpired));
    EXPECT_FALSE(returns_stock(S::kPaymentFailed));
    EXPECT_FALSE(returns_stock(S::kFulfilled));
}

TEST(OrderStateMachine, StatusNamesRoundTrip) {
    for (auto s : {OrderStatus::kPendingPayment, OrderStatus::kPaid, OrderStatus::kFulfilled, OrderStatus::kCancelled,
                   OrderStatus::kExpired, OrderStatus::kPaymentFailed}) {
        EXPECT_EQ(parse_status(status_name(s)), s);
    }
    EXPECT_FALSE(parse_status("shipped"));
}

TEST(OrderValidation, AcceptsAndMergesDuplicateLines) {
    auto order = parse(R"({"items":[{"product_id":7,"quantity":2},{"product_id":3,"quantity":1},
                                     {"product_id":7,"quantity":5}],"shipping_address":{"city":"Oslo"}})");
    ASSERT_TRUE(order) << order.error().message;
    ASSERT_EQ(order->items.size(), 2U);
    EXPECT_EQ(order->items[0].product_id, 7);
    EXPECT_EQ(order->items[0].quantity, 7);
    EXPECT_EQ(order->items[1].product_id, 3);
}

TEST(OrderValidation, RejectsBadQuantitiesLinesAndAddress) {
    auto zero = parse(R"({"items":[{"product_id":1,"quantity":0}],"shipping_address":{"a":1}})");
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code, core::Errc::kValidation);
    EXPECT_TRUE(has_field(zero.error(), "items/0/quantity"));
    EXPECT_FALSE(parse(R"({"items":[{"product_id":1,"quantity":101}],"shipping_address":{"a":1}})"));
    EXPECT_FALSE(parse(R"({"items":[{"product_id":1,"quantity":60},{"product_id":1,"quantity":41}],
                           "shipping_address":{"a":1}})"));
    EXPECT_FALSE(parse(R"({"items":[{"product_id":-1,"quantity":1}],"shipping_address":{"a":1}})"));
    EXPECT_FALSE(parse(R"({"items":[{"product_id":"1","quantity":1}],"shipping_address":{"a":1}})"));
    EXPECT_FALSE(parse(R"({"items":[],"shipping_address":{"a":1}})"));
    auto no_address = parse(R"({"items":[{"product_id":1,"quantity":1}]})");
    ASSERT_FALSE(no_address);
    EXPECT_TRUE(has_field(no_address.error(), "shipping_address"));
    EXPECT_FALSE(parse(R"({"items":[{"product_id":1,"quantity":1}],"shipping_address":{},"x":1})"));
    std::string many = R"({"shipping_address":{"a":1},"items":[)";
    for (int i = 1; i <= 51; ++i) many += (i > 1 ? "," : "") + std::string(R"({"product_id":)") + std::to_string(i) + R"(,"quantity":1})";
    many += "]}";
    EXPECT_FALSE(parse(many));
}

TEST(Idempotency, FingerprintHashIsStable) {
    EXPECT_EQ(sha256("a").size(), 32U);
    EXPECT_EQ(sha256("same"), sha256("same"));
    EXPECT_NE(sha256("same"), sha256("other"));
}

TEST(Redlock, QuorumIsAMajority) {
    EXPECT_EQ(inventory::redlock_quorum(1), 1U);
    EXPECT_EQ(inventory::redlock_quorum(2), 2U);
    EXPECT_EQ(inventory::redlock_quorum(3), 2U);
    EXPECT_EQ(inventory::redlock_quorum(5), 3U);
}

TEST(Redlock, ValiditySubtractsElapsedAndDrift) {
    EXPECT_EQ(inventory::redlock_drift(1000ms), 12ms);
    EXPECT_EQ(inventory::redlock_validity(1000ms, 100ms), 888ms);
    EXPECT_TRUE(inventory::redlock_granted(2, 3, 1000ms, 100ms));
    EXPECT_FALSE(inventory::redlock_granted(1, 3, 1000ms, 100ms));
    EXPECT_FALSE(inventory::redlock_granted(3, 3, 1000ms, 990ms));  // no time left
    EXPECT_FALSE(inventory::redlock_granted(0, 0, 1000ms, 0ms));
}

TEST(Inventory, StrategyNamesRoundTrip) {
    for (auto s : {inventory::Strategy::kPessimistic, inventory::Strategy::kDual, inventory::Strategy::kOptimistic,
                   inventory::Strategy::kRedis}) {
        EXPECT_EQ(inventory::parse_strategy(inventory::strategy_name(s)), s);
    }
    EXPECT_FALSE(inventory::parse_strategy("yolo"));
}

}  // namespace
}  // namespace emporium::orders
