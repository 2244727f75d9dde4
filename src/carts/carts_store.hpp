#pragma once
// SQL of the carts context: carts, cart_lines and the holds they keep in product_variants.held.
// Methods taking a Transaction run inside the caller's transaction, which awaits them directly.
// Lock order (the same everywhere): the cart row, its lines, then variant rows in ascending id.

#include "carts/carts_types.hpp"
#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace emporium::carts {

struct CartRow {
    std::int64_t id = 0;
    std::optional<std::int64_t> user_id;
    std::optional<std::string> token_hash;  // raw SHA-256
    CartStatus status = CartStatus::kOpen;
    std::optional<std::int64_t> order_id;
    std::int64_t version = 0;
    Timestamp expires_at{};
    std::vector<std::string> codes;  // promotion codes entered, oldest first
    std::optional<std::string> country;
    std::optional<std::int64_t> shipping_option_id;
};

// A line as stored, with what the catalog says now about its variant.
struct LineRow {
    std::int64_t cart_id = 0;
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::string sku;
    std::string name;
    std::int32_t quantity = 0;
    std::int64_t quoted_price_cents = 0;
    std::int32_t held = 0;
    std::optional<Timestamp> hold_started_at;
    std::optional<Timestamp> hold_expires_at;
    std::int64_t price_cents = 0;  // the variant's price now
    std::string currency;
    bool for_sale = false;
};

// What the catalog offers of one variant now.
struct Offer {
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int64_t price_cents = 0;
    std::string currency;
    bool for_sale = false;
    std::int64_t available = 0;  // stock − held
    std::int64_t lapsed = 0;     // units other carts hold past their deadline (the next taker reclaims them)
};

// A line's hold to write: `held` units for `ttl` from now (none when held is 0).
struct HoldWrite {
    std::int32_t held = 0;
    std::chrono::seconds ttl{0};
};

// One line of a group of line writes (CartsStore::upsert_lines): the line's whole new state.
struct LineWrite {
    std::int64_t cart_id = 0;
    std::int64_t variant_id = 0;
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    std::int64_t quoted_price_cents = 0;
    std::int32_t held = 0;
};

class CartsStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    explicit CartsStore(PoolProvider pools) : pools_(std::move(pools)) {}
    db::Pool& pool() { return pools_(); }

    boost::asio::awaitable<std::int64_t> create(std::optional<std::int64_t> user_id,
                                                std::optional<std::string> token_hash,
                                                std::chrono::seconds ttl);
    boost::asio::awaitable<std::optional<CartRow>> find(std::int64_t id);
    boost::asio::awaitable<std::optional<std::int64_t>> open_cart_of(std::int64_t user_id);
    boost::asio::awaitable<std::optional<std::int64_t>> cart_of_token(std::string token_hash);
    boost::asio::awaitable<std::vector<LineRow>> lines(std::int64_t cart_id);
    // Moves a cart's live hold deadlines on (activity), never past started + `max`.
    boost::asio::awaitable<void> renew(std::int64_t cart_id, std::chrono::seconds ttl, std::chrono::seconds max);

    // `cart_id`'s own lapsed units are not counted in Offer::lapsed.
    boost::asio::awaitable<std::optional<Offer>> offer(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int64_t cart_id);
    boost::asio::awaitable<std::optional<CartRow>> lock_cart(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t id);
    // The cart's lines, locked (ascending variant id).
    boost::asio::awaitable<std::vector<LineRow>> lock_lines(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id);
    // One line (locked), if the cart has it.
    boost::asio::awaitable<std::optional<LineRow>> lock_line(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::int64_t variant_id);
    boost::asio::awaitable<std::int64_t> count_lines(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id);
    // held += units if that many are available (stock − held); false otherwise.
    boost::asio::awaitable<bool> hold(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t units);
    // held −= units.
    boost::asio::awaitable<void> unhold(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::int32_t units);
    // Takes back the holds on `variant_id` past their deadline (of lines nobody else has locked,
    // and not of the carts `spared`); returns the units freed.
    boost::asio::awaitable<std::int64_t> reclaim(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t variant_id,
        std::vector<std::int64_t> spared = {});
    boost::asio::awaitable<void> upsert_line(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        LineRow line,
        HoldWrite hold);
    boost::asio::awaitable<void> delete_line(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::int64_t variant_id);
    // version + 1 and expires_at = now + ttl.
    boost::asio::awaitable<void> touch(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::chrono::seconds ttl);
    // Checkout: the lines hold nothing now (the order took the held units), the cart is closed.
    // The destination and the shipping option chosen (none: cleared).
    boost::asio::awaitable<void> set_shipping(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::string country,
        std::optional<std::int64_t> option_id);
    // A promotion code on the cart (nothing when it is there already).
    boost::asio::awaitable<void> add_code(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::string code);
    // Copies the codes of `from` that `into` lacks, oldest first, while `into` has fewer than `max`.
    boost::asio::awaitable<void> move_codes(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t from,
        std::int64_t into,
        std::int64_t max);
    // false when the cart did not carry it.
    boost::asio::awaitable<bool> remove_code(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::string code);
    boost::asio::awaitable<void> close_checked_out(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::int64_t order_id);
    // A cart merged into another (its lines already moved).
    boost::asio::awaitable<void> close_merged(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t cart_id,
        std::int64_t into);

    // Group commit of line writes (the `redis` strategy): each statement acts on the whole group.
    // The carts in ascending id (missing ones are absent), locked when `lock`.
    boost::asio::awaitable<std::vector<CartRow>> carts_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> ids,
        bool lock);
    // The carts' lines: locked, by cart and ascending variant id; or as lines() orders them.
    boost::asio::awaitable<std::vector<LineRow>> lines_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> cart_ids,
        bool lock);
    // What the catalog offers of each variant now, without locking (Offer::lapsed counts the
    // lapsed units of every cart but `excluded_cart`); unknown variants are absent.
    boost::asio::awaitable<std::vector<Offer>> offers(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> variant_ids,
        std::optional<std::int64_t> excluded_cart = std::nullopt);
    // Locks the variants in ascending id and returns each one's stock − held.
    boost::asio::awaitable<std::vector<std::pair<std::int64_t, std::int64_t>>> lock_available(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::int64_t> variant_ids);
    // Every line's new state in one statement (hold deadlines `ttl` from now).
    boost::asio::awaitable<void> upsert_lines(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<LineWrite> lines,
        std::chrono::seconds ttl);
    // held += delta for each (variant, delta), in one statement.
    boost::asio::awaitable<void> shift_held(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::pair<std::int64_t, std::int32_t>> deltas);
    // touch() for each (cart, number of changes): version + changes.
    boost::asio::awaitable<void> touch_many(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::pair<std::int64_t, std::int64_t>> changes,
        std::chrono::seconds ttl);
    // Sweep: releases up to `batch` holds past their deadline; returns the lines released.
    boost::asio::awaitable<std::int64_t> release_expired_holds(std::int64_t batch);
    // Expires up to `batch` open carts past expires_at, releasing their holds; returns how many.
    boost::asio::awaitable<std::int64_t> expire_carts(std::int64_t batch);
    // Deletes up to `batch` expired or merged carts untouched for `retention`, with their lines.
    boost::asio::awaitable<std::int64_t> purge_carts(std::int64_t batch, std::chrono::seconds retention);

private:
    PoolProvider pools_;
};

}  // namespace emporium::carts
