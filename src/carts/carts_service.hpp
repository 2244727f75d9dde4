#pragma once
// Carts: a guest's (proved by its token) or a signed-in customer's; lines priced from the catalog on
// every read, flagged when a price moved or a variant was withdrawn; stock held per line while the
// cart is active (CART_HOLDS); checkout through the orders context in one transaction; merge of a
// guest cart into the customer's; expiry of holds and carts (the carts.expire job). No HTTP, no SQL.

#include "carts/carts_store.hpp"
#include "carts/carts_types.hpp"
#include "core/error.hpp"
#include "core/group_commit.hpp"
#include "inventory/inventory_service.hpp"
#include "orders/orders_service.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emporium::carts {

struct CartsSettings {
    bool holds = true;                        // lines hold their units (off: stock is taken at checkout)
    std::chrono::seconds hold_ttl{900};       // a hold lasts this long after the cart's last activity
    std::chrono::seconds hold_max{7'200};     // activity renews a hold at most this long after it began
    std::chrono::seconds cart_ttl{2'592'000};  // an open cart expires this long after its last change
    std::chrono::seconds cart_retention{2'592'000};  // expired and merged carts are deleted this long after
    // Under the `redis` strategy line writes are committed in groups of at most this many
    // (ORDER_BATCH_MAX, as the orders' group commit).
    int group_max = 64;
};

// Who asks: a signed-in user and/or the X-Cart-Token the request carries.
struct CartCaller {
    std::optional<std::int64_t> user_id;
    std::optional<std::string> token;
};

// A created cart, or the customer's open cart that already existed (created == false).
struct OpenedCart {
    Cart cart;
    bool created = true;
};

class CartsService {
public:
    CartsService(CartsSettings settings,
                 CartsStore store,
                 std::shared_ptr<inventory::InventoryService> inventory,
                 std::shared_ptr<orders::OrdersService> orders);

    const CartsSettings& settings() const { return settings_; }
    const std::shared_ptr<orders::OrdersService>& orders() const { return orders_; }

    // A guest gets a new cart and its token; a signed-in customer gets their open cart, made if
    // they have none.
    boost::asio::awaitable<OpenedCart> open(CartCaller caller);
    // Errors (every operation on a cart): kNotFound (no such cart, or another customer's),
    // kForbidden (a guest cart without its token, or with another).
    boost::asio::awaitable<core::Result<Cart>> get(std::int64_t id, CartCaller caller);
    // Adds units to a line (made if absent). Errors: kValidation (unknown or withdrawn variant,
    // more than 100 units on the line or 50 lines), kOutOfStock (fewer units available than asked),
    // kConflict (the cart is not open).
    boost::asio::awaitable<core::Result<Cart>> add_line(std::int64_t id, CartCaller caller, NewCartLine line);
    // Sets a line's quantity and accepts its current price. Errors as add_line.
    boost::asio::awaitable<core::Result<Cart>> set_line(std::int64_t id,
                                                        std::int64_t variant_id,
                                                        CartCaller caller,
                                                        std::int32_t quantity);
    // Removes a line and releases its hold. Errors: kNotFound (no such line), kConflict.
    boost::asio::awaitable<core::Result<Cart>> remove_line(std::int64_t id, std::int64_t variant_id, CartCaller caller);
    // Puts a promotion code on the cart (case-insensitive; again: nothing changes). Errors:
    // kValidation (malformed, or no promotion has it), kConflict (5 codes already, not open).
    boost::asio::awaitable<core::Result<Cart>> add_code(std::int64_t id, CartCaller caller, std::string code);
    // Sets the destination and (optionally) its shipping option. Errors: kValidation (an option
    // that does not serve the country), kConflict (not open).
    boost::asio::awaitable<core::Result<Cart>> set_shipping(std::int64_t id, CartCaller caller, CartShipping body);
    // Errors: kNotFound (not on the cart), kConflict (not open).
    boost::asio::awaitable<core::Result<Cart>> remove_code(std::int64_t id, CartCaller caller, std::string code);
    // Orders the cart's lines for the signed-in caller under Idempotency-Key `key` (the orders
    // context's rules: a replay answers as the first request did). Failures (stored as the key's
    // answer): kCartChanged (a price moved, a variant was withdrawn, the lines or the total are not
    // what the customer saw), kValidation (empty cart), kConflict (already checked out), the
    // inventory's kOutOfStock for units the cart did not hold.
    boost::asio::awaitable<core::Result<orders::CheckoutResponse>> checkout(std::int64_t id,
                                                                            CartCaller caller,
                                                                            std::string key,
                                                                            CartCheckout body,
                                                                            std::string fingerprint);
    // Moves the guest cart `id` (its token in `caller`) into the signed-in caller's open cart:
    // quantities added (at most 100 per line, the excess hold released), holds kept, promotion
    // codes the customer's cart lacks added while it has fewer than 5. Errors as get,
    // plus kConflict (the guest cart is not open), kValidation (a cart of another customer).
    boost::asio::awaitable<core::Result<Cart>> merge(std::int64_t id, CartCaller caller);
    // At sign-in with a guest cart's token: merges that cart (if it is an open guest cart) into
    // the customer's; returns the customer's cart id, or nullopt when there was nothing to merge.
    boost::asio::awaitable<std::optional<std::int64_t>> merge_at_login(std::int64_t user_id, std::string token);
    // The carts.expire job: releases holds past their deadline, expires inactive carts and deletes
    // expired and merged carts past CART_RETENTION_S. Returns the holds, carts expired and deleted.
    boost::asio::awaitable<std::int64_t> expire_due(std::int64_t batch = 500);

private:
    // The checks and writes of one line change in `tx` (no commit): the cart and its line first,
    // the variant's held units last. An error leaves `tx` for the caller to roll back.
    boost::asio::awaitable<core::Result<void>> apply_line(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        CartCaller caller,
        inventory::Line wanted,
        bool add);
    boost::asio::awaitable<core::Result<Cart>> write_line(std::int64_t id,
                                                          CartCaller caller,
                                                          inventory::Line wanted,
                                                          bool add);
    // The group commit of line writes (holds on, `redis` strategy): a write waits for the next
    // group, which one writer task commits with one statement per table (carts, lines, variants).
    struct PendingLine;
    struct Group;
    boost::asio::awaitable<core::Result<Cart>> write_grouped(std::int64_t id,
                                                             CartCaller caller,
                                                             inventory::Line wanted,
                                                             bool add);
    boost::asio::awaitable<void> write_group(std::vector<std::shared_ptr<PendingLine>> group);
    boost::asio::awaitable<bool> try_group(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::shared_ptr<PendingLine>>& group);  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    // A change of the cart's codes or destination, made under the cart's lock by change().
    struct CartEdit {
        enum class Kind { kAddCode, kRemoveCode, kShipping };
        Kind kind = Kind::kAddCode;
        std::string code;  // normalised
        std::string country;
        std::optional<std::int64_t> shipping_option_id;
    };
    // Errors: as lock_open, kConflict (a sixth code), kNotFound (removing a code not there).
    boost::asio::awaitable<core::Result<Cart>> change(std::int64_t id, CartCaller caller, CartEdit edit);
    boost::asio::awaitable<Cart> view(const CartRow& row);
    // The cart's discounts, taxes and total now, and each code's state, for `user_id` (a guest:
    // none), from the pricer; an open cart only.
    boost::asio::awaitable<Cart> priced(Cart cart, std::optional<std::int64_t> user_id);
    // The cart locked in `tx`, if `caller` may change it and it is open.
    boost::asio::awaitable<core::Result<CartRow>> lock_open(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id,
        CartCaller caller);
    // The cart as stored now (after a change).
    boost::asio::awaitable<Cart> current(std::int64_t id);

    CartsSettings settings_;
    CartsStore store_;
    std::shared_ptr<inventory::InventoryService> inventory_;
    std::shared_ptr<orders::OrdersService> orders_;
    core::GroupCommit<PendingLine> groups_;
};

// The listener the composition root registers with AuthService::on_login (weak: the carts context
// outlives no one).
std::function<boost::asio::awaitable<std::optional<std::int64_t>>(std::int64_t, std::string)> login_merger(
    std::weak_ptr<CartsService> carts);

// Whether `caller` may use the cart: nullopt, or the error (kForbidden, kNotFound).
std::optional<core::Error> refuse(const CartRow& cart, const CartCaller& caller);
// The customer's view of a cart from its stored lines (flags, totals).
Cart build_cart(const CartRow& row, const std::vector<LineRow>& lines);

}  // namespace emporium::carts
