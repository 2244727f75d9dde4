#include "carts/carts_service.hpp"

#include "core/codec.hpp"
#include "core/log.hpp"

#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <set>
#include <utility>

namespace emporium::carts {

namespace {

namespace asio = boost::asio;

// A serialization failure or deadlock retries the whole transaction this many times in all.
constexpr int kTransactionAttempts = 3;

std::string status_text(CartStatus status) { return std::string(core::codec::enum_name(status)); }

core::Error not_open(const CartRow& cart) {
    std::string message = "cart " + std::to_string(cart.id) + " is " + status_text(cart.status);
    if (cart.order_id) message += " (order " + std::to_string(*cart.order_id) + ")";
    return core::make_error(core::Errc::kConflict, message);
}

core::Error too_many_units(std::int32_t quantity) {
    return core::make_error(core::Errc::kValidation,
                            "at most " + std::to_string(kMaxQuantity) + " units of a variant per cart",
                            {{"quantity", "the line would have " + std::to_string(quantity) + " units; at most " +
                                              std::to_string(kMaxQuantity)}});
}

core::Error cart_full() {
    return core::make_error(core::Errc::kValidation, "a cart has at most " + std::to_string(kMaxLines) + " lines",
                            {{"variant_id", "the cart is full"}});
}

core::Error variant_refused(std::int64_t variant_id, const std::string& field) {
    return core::make_error(core::Errc::kValidation,
                            "variant " + std::to_string(variant_id) + " does not exist or is not for sale",
                            {{field, "variant " + std::to_string(variant_id) + " does not exist or is not for sale"}});
}

// The cart as checkout must find it under its lock: the lines (variant, quantity, units held) the
// customer's request was built from, with no price moved and nothing withdrawn.
// What stops a cart's lines from being ordered as they are: empty, withdrawn variants, prices
// that moved since quoted. (The total the customer saw is checked by the order's pricing.)
core::Result<void> review(const std::vector<LineRow>& lines) {
    if (lines.empty()) {
        return core::make_error(core::Errc::kValidation, "the cart is empty", {{"lines", "the cart has no lines"}});
    }
    std::vector<core::FieldError> flagged;
    for (const auto& l : lines) {
        const auto name = "variant " + std::to_string(l.variant_id);
        if (!l.for_sale) flagged.push_back({"lines", name + " is no longer for sale: remove it"});
        if (l.price_cents != l.quoted_price_cents) {
            flagged.push_back({"lines", name + " now costs " + std::to_string(l.price_cents) + " (quoted " +
                                            std::to_string(l.quoted_price_cents) + "): set the line again to accept it"});
        }
    }
    if (!flagged.empty()) return core::make_error(core::Errc::kCartChanged, "the cart has lines to review", std::move(flagged));
    return {};
}

// The cart as checkout must find it under its lock: the lines (variant, quantity, units held) the
// order was built from, nothing to review.
class CartOrderSource final : public orders::OrderSource {
public:
    CartOrderSource(CartsStore store, std::int64_t cart_id, std::vector<LineRow> lines)
        : store_(std::move(store)), cart_id_(cart_id), lines_(std::move(lines)) {}

    core::Result<void> check() const override { return review(lines_); }

    asio::awaitable<core::Result<void>> lock_in(
        db::Transaction& tx) override {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        auto cart = co_await store_.lock_cart(tx, cart_id_);
        if (!cart) co_return core::make_error(core::Errc::kNotFound, "no such cart");
        if (cart->status != CartStatus::kOpen) co_return not_open(*cart);
        const auto locked = co_await store_.lock_lines(tx, cart_id_);
        bool same = locked.size() == lines_.size();
        for (std::size_t i = 0; same && i < locked.size(); ++i) {
            same = locked[i].variant_id == lines_[i].variant_id && locked[i].quantity == lines_[i].quantity &&
                   locked[i].held == lines_[i].held;
        }
        if (!same) {
            co_return core::make_error(core::Errc::kCartChanged,
                                       "the cart changed while it was being checked out; read it again");
        }
        co_return review(locked);
    }

    asio::awaitable<void> close_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::int64_t order_id) override {
        co_await store_.close_checked_out(tx, cart_id_, order_id);
    }

private:
    CartsStore store_;
    std::int64_t cart_id_;
    std::vector<LineRow> lines_;  // ascending variant id, as lock_lines returns them
};

}  // namespace

std::optional<core::Error> refuse(const CartRow& cart, const CartCaller& caller) {
    if (cart.token_hash) {
        if (!caller.token) {
            return core::make_error(core::Errc::kForbidden, "this cart needs its X-Cart-Token",
                                    {{"X-Cart-Token", "is required for this cart"}});
        }
        if (token_digest(*caller.token) != *cart.token_hash) {
            return core::make_error(core::Errc::kForbidden, "the X-Cart-Token is not this cart's",
                                    {{"X-Cart-Token", "is not this cart's token"}});
        }
        return std::nullopt;
    }
    if (!caller.user_id || cart.user_id != caller.user_id) return core::make_error(core::Errc::kNotFound, "no such cart");
    return std::nullopt;
}

Cart build_cart(const CartRow& row, const std::vector<LineRow>& lines) {
    Cart cart;
    cart.id = row.id;
    cart.status = row.status;
    cart.order_id = row.order_id;
    cart.expires_at = row.expires_at;
    cart.version = row.version;
    bool flagged = false;
    bool one_currency = true;
    cart.lines.reserve(lines.size());
    for (const auto& l : lines) {
        CartLine line;
        line.variant_id = l.variant_id;
        line.product_id = l.product_id;
        line.sku = l.sku;
        line.name = l.name;
        line.quantity = l.quantity;
        line.unit_price_cents = l.price_cents;
        line.quoted_price_cents = l.quoted_price_cents;
        line.currency = l.currency;
        line.held = l.held;
        if (l.held > 0) line.hold_expires_at = l.hold_expires_at;
        line.price_changed = l.price_cents != l.quoted_price_cents;
        line.unavailable = !l.for_sale;
        flagged = flagged || line.price_changed || line.unavailable;
        if (!line.unavailable) {
            line.line_total_cents = l.price_cents * l.quantity;
            cart.subtotal_cents += line.line_total_cents;
            cart.item_count += l.quantity;
            if (cart.currency.empty()) cart.currency = l.currency;
            one_currency = one_currency && cart.currency == l.currency;
        }
        cart.lines.push_back(std::move(line));
    }
    cart.checkout_ready = row.status == CartStatus::kOpen && !cart.lines.empty() && !flagged && one_currency;
    cart.total_cents = cart.subtotal_cents;
    cart.country = row.country;
    cart.shipping_option_id = row.shipping_option_id;
    for (const auto& code : row.codes) cart.codes.push_back(CartCode{code, false, 0, std::nullopt});
    return cart;
}

CartsService::CartsService(CartsSettings settings,
                           CartsStore store,
                           std::shared_ptr<inventory::InventoryService> inventory,
                           std::shared_ptr<orders::OrdersService> orders)
    : settings_(settings),
      store_(std::move(store)),
      inventory_(std::move(inventory)),
      orders_(std::move(orders)),
      groups_("cart line group commit", "cart_lines", settings.group_max, [this](core::GroupCommit<PendingLine>::Group group) {
          return write_group(std::move(group));
      }) {}

asio::awaitable<Cart> CartsService::view(const CartRow& row) {
    if (settings_.holds && row.status == CartStatus::kOpen) {
        co_await store_.renew(row.id, settings_.hold_ttl, settings_.hold_max);
    }
    const auto lines = co_await store_.lines(row.id);
    co_return co_await priced(build_cart(row, lines), row.user_id);
}

asio::awaitable<Cart> CartsService::priced(Cart cart, std::optional<std::int64_t> user_id) {
    // A closed cart shows what it had; its order has the price that was charged.
    if (cart.status != CartStatus::kOpen) co_return cart;
    const auto& pricer = orders_->pricer();
    std::vector<std::string> codes;
    for (const auto& c : cart.codes) codes.push_back(c.code);
    if (!pricer) {
        for (auto& c : cart.codes) c.reason = "unknown_code";
        co_return cart;
    }
    std::vector<inventory::ReservedLine> lines;
    std::vector<std::size_t> index;  // cart line of each priced line
    for (std::size_t i = 0; i < cart.lines.size(); ++i) {
        const auto& l = cart.lines[i];
        if (l.unavailable || l.currency != cart.currency) continue;
        lines.push_back(inventory::ReservedLine{l.variant_id, l.product_id, l.quantity, l.unit_price_cents, l.currency});
        index.push_back(i);
    }
    orders::PricingRequest request;
    request.codes = std::move(codes);
    request.country = cart.country;
    request.shipping_option_id = cart.shipping_option_id;
    const auto quote = co_await pricer->quote(user_id, std::move(lines), std::move(request));
    for (const auto& o : quote.shipping_options) cart.shipping_options.push_back(CartShippingOption{o.id, o.name, o.price_cents});
    const auto& p = quote.priced;
    for (std::size_t j = 0; j < index.size() && j < p.lines.size(); ++j) cart.lines[index[j]].discount_cents = p.lines[j].discount_cents;
    cart.discount_cents = p.discount_cents;
    cart.shipping_cents = p.shipping_cents - p.shipping_discount_cents;
    cart.tax_cents = p.tax_cents;
    cart.total_cents = p.total_cents;
    for (const auto& a : p.applied) {
        cart.promotions.push_back(
            CartPromotion{a.promotion_id, a.code.empty() ? std::nullopt : std::optional<std::string>(a.code), a.discount_cents});
    }
    for (auto& c : cart.codes) {
        if (std::find(quote.unknown_codes.begin(), quote.unknown_codes.end(), c.code) != quote.unknown_codes.end()) {
            c.reason = "unknown_code";
            continue;
        }
        for (const auto& a : p.applied) {
            if (a.code == c.code) {
                c.applied = true;
                c.discount_cents = a.discount_cents;
            }
        }
        for (const auto& r : p.rejected) {
            if (r.code == c.code) c.reason = std::string(core::codec::enum_name(r.reason));
        }
    }
    co_return cart;
}

asio::awaitable<core::Result<CartRow>> CartsService::lock_open(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    CartCaller caller) {
    auto cart = co_await store_.lock_cart(tx, id);
    if (!cart) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*cart, caller)) co_return std::move(*refused);
    if (cart->status != CartStatus::kOpen) co_return not_open(*cart);
    co_return std::move(*cart);
}

asio::awaitable<Cart> CartsService::current(std::int64_t id) {
    auto row = co_await store_.find(id);
    const auto lines = co_await store_.lines(id);
    co_return co_await priced(build_cart(*row, lines), row->user_id);
}

asio::awaitable<OpenedCart> CartsService::open(CartCaller caller) {
    if (caller.user_id) {
        for (int attempt = 0;; ++attempt) {
            if (auto existing = co_await store_.open_cart_of(*caller.user_id)) {
                auto row = co_await store_.find(*existing);
                if (row) {
                    auto cart = co_await view(*row);
                    co_return OpenedCart{std::move(cart), false};
                }
            }
            try {
                const auto id = co_await store_.create(caller.user_id, std::nullopt, settings_.cart_ttl);
                auto row = co_await store_.find(id);
                auto cart = co_await view(*row);
                co_return OpenedCart{std::move(cart), true};
            } catch (const db::DbError& e) {
                // Another request made the customer's cart meanwhile: use that one.
                if (!e.is_unique_violation() || attempt > 0) throw;
            }
        }
    }
    std::string token = new_token();
    const auto id = co_await store_.create(std::nullopt, token_digest(token), settings_.cart_ttl);
    auto row = co_await store_.find(id);
    OpenedCart opened;
    opened.cart = co_await view(*row);
    opened.cart.token = std::move(token);
    co_return opened;
}

asio::awaitable<core::Result<Cart>> CartsService::get(std::int64_t id, CartCaller caller) {
    auto row = co_await store_.find(id);
    if (!row) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*row, caller)) co_return std::move(*refused);
    co_return co_await view(*row);
}

asio::awaitable<core::Result<Cart>> CartsService::add_line(std::int64_t id, CartCaller caller, NewCartLine line) {
    // The cart first: a missing or foreign cart answers as such whatever the line names.
    auto row = co_await store_.find(id);
    if (!row) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*row, caller)) co_return std::move(*refused);
    inventory::Line wanted{line.variant_id.value_or(0), line.product_id.value_or(0), line.quantity,
                           line.variant_id.has_value()};
    std::vector<inventory::Line> asked(1, wanted);
    auto resolved = co_await inventory_->resolve(std::move(asked));
    if (!resolved) {
        const std::string field = line.variant_id ? "variant_id" : "product_id";
        co_return variant_refused(wanted.variant_id != 0 ? wanted.variant_id : wanted.product_id, field);
    }
    co_return co_await write_line(id, std::move(caller), resolved->front(), true);
}

asio::awaitable<core::Result<Cart>> CartsService::set_line(std::int64_t id,
                                                           std::int64_t variant_id,
                                                           CartCaller caller,
                                                           std::int32_t quantity) {
    const inventory::Line wanted{variant_id, 0, quantity, true};
    co_return co_await write_line(id, std::move(caller), wanted, false);
}

asio::awaitable<core::Result<void>> CartsService::apply_line(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id,
    CartCaller caller,
    inventory::Line wanted,
    bool add) {
    if (auto locked = co_await lock_open(tx, id, caller); !locked) co_return locked.error();
    const auto line = co_await store_.lock_line(tx, id, wanted.variant_id);
    const auto offer = co_await store_.offer(tx, wanted.variant_id, id);
    if (!offer || !offer->for_sale) co_return variant_refused(wanted.variant_id, "variant_id");
    const std::int32_t quantity = add && line ? line->quantity + wanted.quantity : wanted.quantity;
    if (quantity > kMaxQuantity) co_return too_many_units(quantity);
    std::int64_t lines = 0;
    if (!line) lines = co_await store_.count_lines(tx, id);
    if (!line && lines >= static_cast<std::int64_t>(kMaxLines)) co_return cart_full();
    const std::int32_t had = line ? line->held : 0;
    const std::int32_t want = settings_.holds ? quantity : 0;
    inventory::Line named{wanted.variant_id, offer->product_id, quantity, true};
    // Short of units even counting the lapsed holds the next taker reclaims: refused before
    // anything is written, without queueing on the variant's row (in a sell-out, most requests).
    // A unit freed since the read is missed as if the request had come a moment earlier.
    if (want > had && want - had > offer->available + offer->lapsed) {
        co_return inventory::out_of_stock_error(named, offer->available + had);
    }
    // The cart and its line first, the variant row last: the hot row stays locked for as little
    // of the transaction as possible.
    LineRow write;
    write.variant_id = wanted.variant_id;
    write.product_id = offer->product_id;
    write.quantity = quantity;
    write.quoted_price_cents = offer->price_cents;  // setting a line accepts its price
    const HoldWrite hold{want, settings_.hold_ttl};
    co_await store_.upsert_line(tx, id, std::move(write), hold);
    co_await store_.touch(tx, id, settings_.cart_ttl);
    if (want > had) {
        bool held = co_await store_.hold(tx, wanted.variant_id, want - had);
        // Units held past their deadline go to whoever needs them now.
        if (!held && co_await store_.reclaim(tx, wanted.variant_id) > 0) {
            held = co_await store_.hold(tx, wanted.variant_id, want - had);
        }
        if (!held) co_return inventory::out_of_stock_error(named, offer->available + had);
    } else if (want < had) {
        co_await store_.unhold(tx, wanted.variant_id, had - want);
    } else if (!settings_.holds && quantity > offer->available) {
        co_return inventory::out_of_stock_error(named, offer->available);
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<Cart>> CartsService::write_line(std::int64_t id,
                                                             CartCaller caller,
                                                             inventory::Line wanted,
                                                             bool add) {
    if (settings_.holds && settings_.group_max > 1 && inventory_->strategy() == inventory::Strategy::kRedis) {
        co_return co_await write_grouped(id, std::move(caller), wanted, add);
    }
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await store_.pool().begin();
            auto applied = co_await apply_line(tx, id, caller, wanted, add);
            if (!applied) {
                co_await tx.rollback();
                co_return applied.error();
            }
            co_await tx.commit();
            break;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
    co_return co_await current(id);
}

// A line write waiting for its group; the writer task fills `result` (or `failure`), then
// signals `done`.
struct CartsService::PendingLine : core::GroupMember {
    PendingLine(const asio::any_io_executor& ex, std::int64_t cart, CartCaller who, inventory::Line line, bool adding)
        : GroupMember(ex), id(cart), caller(std::move(who)), wanted(line), add(adding) {}
    std::int64_t id;
    CartCaller caller;
    inventory::Line wanted;
    bool add;
    core::Result<Cart> result = core::make_error(core::Errc::kInternal, "the line write did not run");
};

// One pass over a group in arrival order, as apply_line would decide each write one after the
// other: the lines as they stand after the earlier writes, the units each variant has left.
struct CartsService::Group {
    struct Decision {
        std::optional<core::Error> refused;
        LineWrite line;
        std::int32_t had = 0;
    };
    std::map<std::int64_t, CartRow> carts;
    std::map<std::int64_t, Offer> offers;
    std::map<std::pair<std::int64_t, std::int64_t>, LineWrite> lines;  // (cart, variant) → state
    std::map<std::int64_t, std::size_t> line_counts;

    // `available` per variant; a variant absent from it cannot give more units (its units were not
    // checked under its lock).
    std::vector<Decision> decide(const std::vector<std::shared_ptr<PendingLine>>& group,
                                 std::map<std::int64_t, std::int64_t> available) const {
        auto state = lines;
        auto counts = line_counts;
        std::vector<Decision> out(group.size());
        for (std::size_t i = 0; i < group.size(); ++i) {
            const auto& p = *group[i];
            auto& d = out[i];
            const auto cart = carts.find(p.id);
            if (cart == carts.end()) {
                d.refused = core::make_error(core::Errc::kNotFound, "no such cart");
                continue;
            }
            if (auto refused = refuse(cart->second, p.caller)) {
                d.refused = std::move(*refused);
                continue;
            }
            if (cart->second.status != CartStatus::kOpen) {
                d.refused = not_open(cart->second);
                continue;
            }
            const auto variant_id = p.wanted.variant_id;
            const auto offer = offers.find(variant_id);
            if (offer == offers.end() || !offer->second.for_sale) {
                d.refused = variant_refused(variant_id, "variant_id");
                continue;
            }
            const auto key = std::make_pair(p.id, variant_id);
            const auto line = state.find(key);
            const bool exists = line != state.end();
            const std::int32_t quantity = p.add && exists ? line->second.quantity + p.wanted.quantity : p.wanted.quantity;
            if (quantity > kMaxQuantity) {
                d.refused = too_many_units(quantity);
                continue;
            }
            if (!exists && counts[p.id] >= kMaxLines) {
                d.refused = cart_full();
                continue;
            }
            d.had = exists ? line->second.held : 0;
            const std::int32_t want = quantity;
            if (want > d.had) {
                const auto left = available.find(variant_id);
                if (left == available.end() || want - d.had > left->second) {
                    const inventory::Line named{variant_id, offer->second.product_id, quantity, true};
                    const auto shown = left == available.end() ? offer->second.available : left->second;
                    d.refused = inventory::out_of_stock_error(named, std::max<std::int64_t>(shown, 0) + d.had);
                    continue;
                }
            }
            if (auto left = available.find(variant_id); left != available.end()) left->second -= want - d.had;
            d.line = LineWrite{p.id, variant_id, offer->second.product_id, quantity, offer->second.price_cents, want};
            if (!exists) ++counts[p.id];
            state[key] = d.line;
        }
        return out;
    }
};

asio::awaitable<core::Result<Cart>> CartsService::write_grouped(std::int64_t id,
                                                                CartCaller caller,
                                                                inventory::Line wanted,
                                                                bool add) {
    auto ex = co_await asio::this_coro::executor;
    const auto user_id = caller.user_id;
    auto pending = std::make_shared<PendingLine>(ex, id, std::move(caller), wanted, add);
    co_await groups_.submit(pending);
    if (!pending->result) co_return std::move(pending->result);
    auto cart = co_await priced(std::move(*pending->result), user_id);
    co_return cart;
}

asio::awaitable<void> CartsService::write_group(std::vector<std::shared_ptr<PendingLine>> group) {
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await store_.pool().begin();
            const bool wrote = co_await try_group(tx, group);
            if (wrote) {
                co_await tx.commit();
            } else {
                co_await tx.rollback();
            }
            co_return;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
}

asio::awaitable<bool> CartsService::try_group(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::shared_ptr<PendingLine>>& group) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    // The lock order of every cart transaction: carts by ascending id, their lines, then variants
    // by ascending id (only those whose held units change).
    std::vector<std::int64_t> cart_ids;
    std::vector<std::int64_t> variant_ids;
    for (const auto& p : group) {
        cart_ids.push_back(p->id);
        variant_ids.push_back(p->wanted.variant_id);
    }
    std::sort(cart_ids.begin(), cart_ids.end());
    cart_ids.erase(std::unique(cart_ids.begin(), cart_ids.end()), cart_ids.end());
    std::sort(variant_ids.begin(), variant_ids.end());
    variant_ids.erase(std::unique(variant_ids.begin(), variant_ids.end()), variant_ids.end());

    Group g;
    for (auto& c : co_await store_.carts_in(tx, cart_ids, true)) g.carts.emplace(c.id, std::move(c));
    for (const auto& l : co_await store_.lines_in(tx, cart_ids, true)) {
        g.lines[{l.cart_id, l.variant_id}] =
            LineWrite{l.cart_id, l.variant_id, l.product_id, l.quantity, l.quoted_price_cents, l.held};
        ++g.line_counts[l.cart_id];
    }
    for (auto& o : co_await store_.offers(tx, variant_ids)) g.offers.emplace(o.variant_id, std::move(o));

    // First pass without any variant lock, counting lapsed holds as available: a write short of
    // units even so is refused without queueing on the variant's row (in a sell-out, most).
    std::map<std::int64_t, std::int64_t> estimate;
    for (const auto& [vid, o] : g.offers) estimate[vid] = o.available + o.lapsed;
    std::set<std::int64_t> changing;
    for (const auto& d : g.decide(group, estimate)) {
        if (!d.refused && d.line.held != d.had) changing.insert(d.line.variant_id);
    }
    // Second pass under the locks of the variants that change, with their exact units after the
    // lapsed holds of carts outside the group were taken back.
    std::map<std::int64_t, std::int64_t> exact;
    if (!changing.empty()) {
        const std::vector<std::int64_t> locking(changing.begin(), changing.end());
        for (const auto& [vid, available] : co_await store_.lock_available(tx, locking)) exact[vid] = available;
        for (auto& [vid, available] : exact) {
            if (g.offers[vid].lapsed > 0) available += co_await store_.reclaim(tx, vid, cart_ids);
        }
    }
    const auto decisions = g.decide(group, exact);

    std::map<std::pair<std::int64_t, std::int64_t>, LineWrite> writes;  // the last state of each line
    std::map<std::int64_t, std::int32_t> deltas;
    std::map<std::int64_t, std::int64_t> changes;
    for (std::size_t i = 0; i < group.size(); ++i) {
        const auto& d = decisions[i];
        if (d.refused) {
            group[i]->result = *d.refused;
            continue;
        }
        writes[{d.line.cart_id, d.line.variant_id}] = d.line;
        deltas[d.line.variant_id] += d.line.held - d.had;
        ++changes[d.line.cart_id];
    }
    if (writes.empty()) co_return false;

    std::vector<LineWrite> lines;
    lines.reserve(writes.size());
    for (const auto& [key, line] : writes) lines.push_back(line);
    co_await store_.upsert_lines(tx, std::move(lines), settings_.hold_ttl);
    std::vector<std::pair<std::int64_t, std::int32_t>> shifts;
    for (const auto& [vid, delta] : deltas) {
        if (delta != 0) shifts.emplace_back(vid, delta);
    }
    if (!shifts.empty()) co_await store_.shift_held(tx, std::move(shifts));
    std::vector<std::int64_t> written;
    std::vector<std::pair<std::int64_t, std::int64_t>> touched;
    for (const auto& [cart_id, n] : changes) {
        written.push_back(cart_id);
        touched.emplace_back(cart_id, n);
    }
    co_await store_.touch_many(tx, std::move(touched), settings_.cart_ttl);

    // Each written cart as this transaction leaves it: the answer of every write to it.
    std::map<std::int64_t, std::vector<LineRow>> after;
    for (auto& l : co_await store_.lines_in(tx, written, false)) after[l.cart_id].push_back(std::move(l));
    std::map<std::int64_t, Cart> views;
    for (const auto& row : co_await store_.carts_in(tx, written, false)) views.emplace(row.id, build_cart(row, after[row.id]));
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (!decisions[i].refused) group[i]->result = views.at(group[i]->id);
    }
    co_return true;
}

asio::awaitable<core::Result<Cart>> CartsService::remove_line(std::int64_t id,
                                                              std::int64_t variant_id,
                                                              CartCaller caller) {
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await store_.pool().begin();
            if (auto locked = co_await lock_open(tx, id, caller); !locked) co_return locked.error();
            const auto line = co_await store_.lock_line(tx, id, variant_id);
            if (!line) co_return core::make_error(core::Errc::kNotFound, "the cart has no line of this variant");
            if (line->held > 0) co_await store_.unhold(tx, variant_id, line->held);
            co_await store_.delete_line(tx, id, variant_id);
            co_await store_.touch(tx, id, settings_.cart_ttl);
            co_await tx.commit();
            break;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
    co_return co_await current(id);
}

asio::awaitable<core::Result<Cart>> CartsService::add_code(std::int64_t id, CartCaller caller, std::string text) {
    auto row = co_await store_.find(id);
    if (!row) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*row, caller)) co_return std::move(*refused);
    const auto code = orders::normalize_code(text);
    if (!code) {
        co_return core::make_error(core::Errc::kValidation, "the code is malformed",
                                   {{"code", "must be 3 to 32 characters of A-Z a-z 0-9 - _"}});
    }
    // A code that names no promotion is refused at once; one that exists but does not apply (yet)
    // stays on the cart with its reason.
    const auto& pricer = orders_->pricer();
    bool known = pricer != nullptr;
    if (pricer) {
        std::vector<inventory::ReservedLine> no_lines;
        orders::PricingRequest asked;
        asked.codes.push_back(*code);
        const auto quote = co_await pricer->quote(std::nullopt, std::move(no_lines), std::move(asked));
        known = quote.unknown_codes.empty();
    }
    if (!known) {
        co_return core::make_error(core::Errc::kValidation, "no promotion has this code",
                                   {{"code", "no promotion has the code " + *code}});
    }
    CartEdit edit;
    edit.kind = CartEdit::Kind::kAddCode;
    edit.code = *code;
    co_return co_await change(id, std::move(caller), std::move(edit));
}

asio::awaitable<core::Result<Cart>> CartsService::set_shipping(std::int64_t id, CartCaller caller, CartShipping body) {
    auto row = co_await store_.find(id);
    if (!row) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*row, caller)) co_return std::move(*refused);
    std::string country;
    for (char c : body.country) country.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    if (body.shipping_option_id) {
        // The option must serve the country (in the cart's currency, once it has lines).
        const auto& pricer = orders_->pricer();
        bool served = false;
        if (pricer) {
            auto lines = co_await store_.lines(id);
            std::vector<inventory::ReservedLine> priced_lines;
            for (const auto& l : lines) {
                if (l.for_sale) priced_lines.push_back(inventory::ReservedLine{l.variant_id, l.product_id, l.quantity, l.price_cents, l.currency});
            }
            orders::PricingRequest request;
            request.country = country;
            const auto quote = co_await pricer->quote(row->user_id, std::move(priced_lines), std::move(request));
            for (const auto& o : quote.shipping_options) served = served || o.id == *body.shipping_option_id;
        }
        if (!served) {
            co_return core::make_error(core::Errc::kValidation, "no such shipping option for " + country,
                                       {{"shipping_option_id", "is not an active option for " + country}});
        }
    }
    CartEdit edit;
    edit.kind = CartEdit::Kind::kShipping;
    edit.country = std::move(country);
    edit.shipping_option_id = body.shipping_option_id;
    co_return co_await change(id, std::move(caller), std::move(edit));
}

asio::awaitable<core::Result<Cart>> CartsService::remove_code(std::int64_t id, CartCaller caller, std::string text) {
    CartEdit edit;
    edit.kind = CartEdit::Kind::kRemoveCode;
    edit.code = orders::normalize_code(text).value_or(text);
    co_return co_await change(id, std::move(caller), std::move(edit));
}

asio::awaitable<core::Result<Cart>> CartsService::change(std::int64_t id, CartCaller caller, CartEdit edit) {
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await store_.pool().begin();
            auto locked = co_await lock_open(tx, id, caller);
            if (!locked) co_return locked.error();
            switch (edit.kind) {
                case CartEdit::Kind::kAddCode: {
                    const auto& codes = locked->codes;
                    if (std::find(codes.begin(), codes.end(), edit.code) != codes.end()) break;  // there already
                    if (codes.size() >= orders::kMaxCodes) {
                        co_return core::make_error(core::Errc::kConflict,
                                                   "a cart carries at most " + std::to_string(orders::kMaxCodes) + " codes",
                                                   {{"code", "remove a code first"}});
                    }
                    co_await store_.add_code(tx, id, edit.code);
                    break;
                }
                case CartEdit::Kind::kRemoveCode: {
                    const bool removed = co_await store_.remove_code(tx, id, edit.code);
                    if (!removed) co_return core::make_error(core::Errc::kNotFound, "the cart does not carry this code");
                    break;
                }
                case CartEdit::Kind::kShipping:
                    co_await store_.set_shipping(tx, id, edit.country, edit.shipping_option_id);
                    break;
            }
            co_await store_.touch(tx, id, settings_.cart_ttl);
            co_await tx.commit();
            break;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
    co_return co_await current(id);
}

asio::awaitable<core::Result<orders::CheckoutResponse>> CartsService::checkout(std::int64_t id,
                                                                               CartCaller caller,
                                                                               std::string key,
                                                                               CartCheckout body,
                                                                               std::string fingerprint) {
    auto row = co_await store_.find(id);
    if (!row) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*row, caller)) co_return std::move(*refused);
    // The lines as read now; the order's transaction checks, under the cart's lock, that they are
    // still these (a cart that is no longer open is refused there, after a replay had its chance).
    auto stored = co_await store_.lines(id);
    std::sort(stored.begin(), stored.end(), [](const LineRow& a, const LineRow& b) { return a.variant_id < b.variant_id; });
    std::vector<inventory::Line> lines;
    lines.reserve(stored.size());
    for (const auto& l : stored) lines.push_back(inventory::Line{l.variant_id, l.product_id, l.quantity, true, l.held});
    auto source = std::make_shared<CartOrderSource>(store_, id, std::move(stored));
    orders::NewOrder order;
    order.shipping_address = std::move(body.shipping_address);
    order.codes = row->codes;
    order.expected_total_cents = body.expected_total_cents;
    order.country = row->country;
    order.shipping_option_id = row->shipping_option_id;
    co_return co_await orders_->place_from(caller.user_id.value_or(0), std::move(key), std::move(fingerprint),
                                           std::move(order), std::move(lines), std::move(source));
}

asio::awaitable<core::Result<Cart>> CartsService::merge(std::int64_t id, CartCaller caller) {
    auto guest = co_await store_.find(id);
    if (!guest) co_return core::make_error(core::Errc::kNotFound, "no such cart");
    if (auto refused = refuse(*guest, caller)) co_return std::move(*refused);
    if (!guest->token_hash) {
        co_return core::make_error(core::Errc::kValidation, "only a guest cart can be merged",
                                   {{"id", "is not a guest cart"}});
    }
    CartCaller customer;
    customer.user_id = caller.user_id;
    const auto opened = co_await open(customer);
    const auto target = opened.cart.id;
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await store_.pool().begin();
            // The lock order: carts by ascending id, then lines, then variants.
            const auto first = co_await store_.lock_cart(tx, std::min(id, target));
            const auto second = co_await store_.lock_cart(tx, std::max(id, target));
            const auto& from = id < target ? first : second;
            const auto& into = id < target ? second : first;
            if (!from || !into) co_return core::make_error(core::Errc::kNotFound, "no such cart");
            if (from->status != CartStatus::kOpen) co_return not_open(*from);
            if (into->status != CartStatus::kOpen) co_return not_open(*into);
            auto moving = co_await store_.lock_lines(tx, id);
            for (const auto& line : moving) {
                const auto mine = co_await store_.lock_line(tx, target, line.variant_id);
                const std::int32_t total = std::min(kMaxQuantity, line.quantity + (mine ? mine->quantity : 0));
                const std::int32_t held = line.held + (mine ? mine->held : 0);
                const std::int32_t keep = std::min(held, total);
                if (held > keep) co_await store_.unhold(tx, line.variant_id, held - keep);
                co_await store_.delete_line(tx, id, line.variant_id);
                LineRow write = line;
                write.quantity = total;
                write.quoted_price_cents = mine ? mine->quoted_price_cents : line.quoted_price_cents;
                const HoldWrite hold{keep, settings_.hold_ttl};
                co_await store_.upsert_line(tx, target, std::move(write), hold);
            }
            co_await store_.move_codes(tx, id, target, static_cast<std::int64_t>(orders::kMaxCodes));
            co_await store_.close_merged(tx, id, target);
            co_await store_.touch(tx, target, settings_.cart_ttl);
            co_await tx.commit();
            break;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
    auto row = co_await store_.find(target);
    co_return co_await view(*row);
}

asio::awaitable<std::optional<std::int64_t>> CartsService::merge_at_login(std::int64_t user_id, std::string token) {
    const auto id = co_await store_.cart_of_token(token_digest(token));
    if (!id) co_return std::nullopt;
    CartCaller caller;
    caller.user_id = user_id;
    caller.token = std::move(token);
    auto merged = co_await merge(*id, std::move(caller));
    if (!merged) co_return std::nullopt;  // not open any more: nothing to merge
    co_return merged->id;
}

namespace {

asio::awaitable<std::optional<std::int64_t>> merge_for(std::weak_ptr<CartsService> carts,
                                                       std::int64_t user_id,
                                                       std::string token) {
    if (auto service = carts.lock()) co_return co_await service->merge_at_login(user_id, std::move(token));
    co_return std::nullopt;
}

struct LoginMerger {
    std::weak_ptr<CartsService> carts;
    asio::awaitable<std::optional<std::int64_t>> operator()(std::int64_t user_id, std::string token) const {
        return merge_for(carts, user_id, std::move(token));
    }
};

}  // namespace

std::function<asio::awaitable<std::optional<std::int64_t>>(std::int64_t, std::string)> login_merger(
    std::weak_ptr<CartsService> carts) {
    return LoginMerger{std::move(carts)};
}

asio::awaitable<std::int64_t> CartsService::expire_due(std::int64_t batch) {
    std::int64_t done = 0;
    for (;;) {
        const auto released = co_await store_.release_expired_holds(batch);
        done += released;
        if (released < batch) break;
    }
    for (;;) {
        const auto expired = co_await store_.expire_carts(batch);
        done += expired;
        if (expired < batch) break;
    }
    for (;;) {
        const auto purged = co_await store_.purge_carts(batch, settings_.cart_retention);
        done += purged;
        if (purged < batch) break;
    }
    co_return done;
}

}  // namespace emporium::carts
