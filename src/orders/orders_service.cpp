#include "orders/orders_service.hpp"

#include "core/codec.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"


#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include <array>
#include <exception>
#include <utility>

namespace emporium::orders {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

constexpr int kTransactionAttempts = 3;

void count(const std::string& outcome) {
    core::Metrics::global()
        .counter("emporium_orders_total", "Checkout requests by outcome", {{"outcome", outcome}})
        .inc();
}

std::string outcome_of(const core::Error& e) {
    switch (e.code) {
        case core::Errc::kOutOfStock: return "out_of_stock";
        case core::Errc::kConflict: return "conflict";
        case core::Errc::kCartChanged: return "cart_changed";
        default: return "rejected";
    }
}

std::vector<inventory::Line> lines_of(const Order& o) {
    std::vector<inventory::Line> lines;
    lines.reserve(o.items.size());
    for (const auto& i : o.items) lines.push_back(inventory::Line{i.variant_id, i.product_id, i.quantity});
    return lines;
}

// An order's lines must all be in one currency. Errors: kValidation.
core::Result<void> check_currency(const std::vector<inventory::ReservedLine>& lines) {
    if (lines.empty()) return {};
    const auto& currency = lines.front().currency;
    for (const auto& line : lines) {
        if (line.currency != currency) {
            return core::make_error(core::Errc::kValidation,
                                    "all products of an order must have the same currency",
                                    {{"items", "mixes " + currency + " and " + line.currency}});
        }
    }
    return {};
}

// The items in the client's order (`wanted`), each with its share of the price (`priced` lists
// the reserved lines in their order).
std::vector<OrderItem> items_of(const std::vector<inventory::Line>& wanted,
                                const std::vector<inventory::ReservedLine>& reserved,
                                const pricing::Priced& priced) {
    std::vector<OrderItem> items;
    for (const auto& want : wanted) {
        for (std::size_t j = 0; j < reserved.size(); ++j) {
            const auto& line = reserved[j];
            if (line.variant_id != want.variant_id) continue;
            items.push_back(OrderItem{line.product_id, line.variant_id, line.quantity, line.unit_price_cents,
                                      priced.lines[j].discount_cents, priced.lines[j].tax_cents});
        }
    }
    return items;
}

// The order's money from its price.
void set_money(Order& order, const pricing::Priced& priced, std::string currency, const NewOrder& placed) {
    order.currency = std::move(currency);
    order.country = placed.country;
    order.shipping_option_id = placed.shipping_option_id;
    order.subtotal_cents = priced.subtotal_cents;
    order.discount_cents = priced.discount_cents;
    order.shipping_cents = priced.shipping_cents - priced.shipping_discount_cents;
    order.tax_cents = priced.tax_cents;
    order.total_cents = priced.total_cents;
    order.promotions.clear();
    for (const auto& a : priced.applied) {
        order.promotions.push_back(AppliedPromotion{
            a.promotion_id, a.code.empty() ? std::nullopt : std::optional<std::string>(a.code), a.discount_cents});
    }
}

PricingRequest request_of(std::int64_t user_id, const NewOrder& order, const std::vector<inventory::Line>& lines) {
    PricingRequest r{user_id, order.codes, {}, order.expected_total_cents, order.country, order.shipping_option_id, {}};
    for (const auto& l : lines) {
        r.product_ids.push_back(l.product_id);
        r.variant_ids.push_back(l.variant_id);
    }
    return r;
}

// Pricing without promotions (no pricer): the lines' amounts; a code names nothing.
class PlainRound final : public PricingRound {
public:
    explicit PlainRound(std::vector<PricingRequest> requests) : requests_(std::move(requests)) {}
    core::Result<pricing::Priced> price(std::size_t i, const std::vector<inventory::ReservedLine>& lines) override {
        const auto& request = requests_.at(i);
        if (!request.codes.empty()) {
            return core::make_error(core::Errc::kValidation, "no such promotion code",
                                    {{"codes", "no promotion has the code " + request.codes.front()}});
        }
        pricing::PricingInput input;
        for (const auto& l : lines) input.lines.push_back(pricing::Line{l.variant_id, l.product_id, std::nullopt, l.quantity, l.unit_price_cents});
        auto priced = pricing::price(input);
        if (request.expected_total_cents && *request.expected_total_cents != priced.total_cents) {
            return unexpected_total(priced.total_cents, *request.expected_total_cents);
        }
        return priced;
    }
    asio::awaitable<void> commit_in(
        db::Transaction& /*tx*/,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): unused
        std::vector<std::pair<std::size_t, std::int64_t>> /*orders*/) override {
        co_return;
    }

private:
    std::vector<PricingRequest> requests_;
};

json::value event_payload(const Order& o) {
    return json::object{{"order_id", o.id},
                        {"user_id", o.user_id},
                        {"status", status_name(o.status)},
                        {"total_cents", o.total_cents},
                        {"currency", o.currency}};
}

}  // namespace

// A checkout waiting for its group commit; the writer task fills `result` (or `failure`) and
// then signals `done`.
struct OrdersService::PendingOrder : core::GroupMember {
    PendingOrder(const asio::any_io_executor& ex, std::int64_t user, std::string k, NewOrder o, std::vector<inventory::Line> l)
        : GroupMember(ex), user_id(user), key(std::move(k)), order(std::move(o)), lines(std::move(l)) {}
    std::int64_t user_id;
    std::string key;
    NewOrder order;
    std::vector<inventory::Line> lines;  // resolved, in the client's order
    core::Result<CheckoutResponse> result = core::make_error(core::Errc::kInternal, "checkout did not run");
};

core::Error unexpected_total(std::int64_t total, std::int64_t expected) {
    return core::make_error(core::Errc::kCartChanged,
                            "the total is " + std::to_string(total) + ", not " + std::to_string(expected),
                            {{"expected_total_cents", "the total is " + std::to_string(total)}});
}

asio::awaitable<std::unique_ptr<PricingRound>> OrdersService::open_pricing(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<PricingRequest> requests) {
    if (!pricer_) co_return std::make_unique<PlainRound>(std::move(requests));
    co_return co_await pricer_->open_in(tx, std::move(requests));
}

std::string sha256(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
        throw core::InfraError("orders: SHA-256 failed (OpenSSL EVP_Digest)");
    }
    return {reinterpret_cast<const char*>(digest.data()), size};  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): bytes
}

OrdersService::OrdersService(OrdersSettings settings,
                             OrdersStore store,
                             std::shared_ptr<inventory::InventoryService> inventory)
    : settings_(settings),
      store_(std::move(store)),
      inventory_(std::move(inventory)),
      batches_("checkout group commit", "checkout", settings.batch_max, [this](core::GroupCommit<PendingOrder>::Group batch) {
          return write_batch(std::move(batch));
      }) {}

asio::awaitable<core::Result<IdempotencyClaim>> OrdersService::claim_request(std::int64_t user_id,
                                                                            std::string key,
                                                                            std::string fingerprint) {
    const auto hash = sha256(fingerprint);
    if (co_await store_.claim_key(user_id, key, hash, settings_.idempotency_ttl, settings_.abandoned_after)) {
        co_return IdempotencyClaim{true, std::nullopt};
    }
    auto record = co_await store_.find_key(user_id, key);
    if (!record) {
        co_return core::make_error(core::Errc::kConflict, "the Idempotency-Key is being recycled, please retry");
    }
    if (record->request_hash != hash) {
        count("rejected");
        co_return core::make_error(core::Errc::kValidation,
                                   "the Idempotency-Key was already used for a different request",
                                   {{"Idempotency-Key", "was used with a different request body"}});
    }
    if (!record->status_code || !record->response_body) {
        co_return core::make_error(core::Errc::kConflict, "a request with this Idempotency-Key is still in progress");
    }
    count("replayed");
    co_return IdempotencyClaim{false, CheckoutResponse{*record->status_code, *record->response_body, true, std::nullopt}};
}

asio::awaitable<void> OrdersService::release_request(std::int64_t user_id, std::string key) {
    try {
        co_await store_.drop_key(user_id, key);
    } catch (const core::InfraError& e) {
        // The record stays "in progress" until it expires; the client gets 409 on retries.
        core::log::error("cannot release an idempotency key", {{"user_id", user_id}, {"error", e.what()}});
    }
}

asio::awaitable<void> OrdersService::remember_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t user_id,
    std::string key,
    std::int32_t status,
    std::string body) {
    co_await store_.finish_key_in(tx, user_id, std::move(key), status, std::move(body));
}

asio::awaitable<void> OrdersService::refunded_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    std::int64_t amount_cents,
    std::int64_t payment_id) {
    const auto total = co_await store_.add_refunded(tx, order_id, amount_cents, payment_id);
    if (!total) co_return;
    json::value payload = json::object{{"order_id", order_id}, {"amount_cents", amount_cents}, {"refunded_cents", *total}};
    co_await store_.add_event(tx, order_id, "order.refunded", std::move(payload));
}

asio::awaitable<bool> OrdersService::move_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    Order order,
    OrderStatus target) {
    if (!can_transition(order.status, target)) co_return false;
    co_await store_.set_status(tx, order.id, target, order.paid_payment_id);
    order.status = target;
    co_await store_.add_event(tx, order.id, "order." + std::string(status_name(target)), event_payload(order));
    co_return true;
}

asio::awaitable<void> OrdersService::restock_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    std::vector<inventory::Line> lines) {
    co_await inventory_->release_in(tx, order_id, std::move(lines), inventory::ReturnReason::kReturned);
}

asio::awaitable<void> OrdersService::after_restock(std::vector<inventory::Line> lines) {
    co_await inventory_->after_release(std::move(lines));
}

asio::awaitable<std::optional<Order>> OrdersService::lock_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t id) {
    co_return co_await store_.lock_order(tx, id);
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::place_order(std::int64_t user_id,
                                                                           std::string key,
                                                                           NewOrder order,
                                                                           std::string fingerprint) {
    co_return co_await claimed(user_id, std::move(key), std::move(fingerprint), std::move(order), {}, nullptr);
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::place_from(std::int64_t user_id,
                                                                          std::string key,
                                                                          std::string fingerprint,
                                                                          NewOrder order,
                                                                          std::vector<inventory::Line> lines,
                                                                          std::shared_ptr<OrderSource> source) {
    co_return co_await claimed(user_id, std::move(key), std::move(fingerprint), std::move(order), std::move(lines),
                               std::move(source));
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::claimed(std::int64_t user_id,
                                                                       std::string key,
                                                                       std::string fingerprint,
                                                                       NewOrder order,
                                                                       std::vector<inventory::Line> wanted,
                                                                       std::shared_ptr<OrderSource> source) {
    auto claim = co_await claim_request(user_id, key, std::move(fingerprint));
    if (!claim) co_return claim.error();
    if (claim->replay) co_return std::move(*claim->replay);
    std::exception_ptr failure;
    core::Result<CheckoutResponse> result = core::make_error(core::Errc::kInternal, "checkout did not run");
    try {
        result = co_await checkout(user_id, key, std::move(order), std::move(wanted), std::move(source));
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    if (failure) {
        count("error");
        co_await release_request(user_id, key);
        std::rethrow_exception(failure);
    }
    if (!result) {
        count(outcome_of(result.error()));
        CheckoutResponse failed;
        failed.failure = result.error();
        co_return failed;
    }
    count("created");
    co_return result;
}

asio::awaitable<void> OrdersService::remember_failure(std::int64_t user_id,
                                                      std::string key,
                                                      std::int32_t status,
                                                      std::string body) {
    co_await store_.finish_key(user_id, std::move(key), status, std::move(body));
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::checkout(std::int64_t user_id,
                                                                        std::string key,
                                                                        NewOrder order,
                                                                        std::vector<inventory::Line> lines,
                                                                        std::shared_ptr<OrderSource> source) {
    core::Result<std::vector<inventory::Line>> wanted = std::move(lines);
    if (!source) wanted = co_await resolve_lines(order.items);
    if (!wanted) co_return wanted.error();
    if (source) {
        if (auto checked = source->check(); !checked) co_return checked.error();
    }
    auto hold = co_await inventory_->acquire(*wanted);
    if (!hold) co_return hold.error();
    std::exception_ptr failure;
    core::Result<CheckoutResponse> result = core::make_error(core::Errc::kInternal, "checkout did not run");
    try {
        if (inventory_->strategy() == inventory::Strategy::kRedis && settings_.batch_max > 1 && !source) {
            result = co_await write_grouped(user_id, std::move(key), std::move(order), std::move(*wanted));
        } else {
            result = co_await write_order(user_id, std::move(key), std::move(order), std::move(*wanted), *hold,
                                          std::move(source));
        }
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    co_await inventory_->settle(std::move(*hold), !failure && result.has_value());
    if (failure) std::rethrow_exception(failure);
    co_return result;
}

asio::awaitable<core::Result<std::vector<inventory::Line>>> OrdersService::resolve_lines(
    std::vector<OrderLine> items) {
    std::vector<inventory::Line> asked;
    asked.reserve(items.size());
    for (const auto& item : items) {
        asked.push_back(inventory::Line{
            item.variant_id.value_or(0), item.product_id.value_or(0), item.quantity, item.variant_id.has_value()});
    }
    auto resolved = co_await inventory_->resolve(std::move(asked));
    if (!resolved) co_return resolved.error();
    // A product's line and its default variant's line are one line.
    std::vector<inventory::Line> merged;
    merged.reserve(resolved->size());
    for (const auto& line : *resolved) {
        auto it = std::find_if(merged.begin(), merged.end(),
                               [&line](const inventory::Line& l) { return l.variant_id == line.variant_id; });
        if (it == merged.end()) {
            merged.push_back(line);
            continue;
        }
        it->quantity += line.quantity;
        if (it->quantity > kMaxQuantity) {
            const std::string name = "variant " + std::to_string(line.variant_id);
            co_return core::make_error(
                core::Errc::kValidation,
                name + " is ordered more than " + std::to_string(kMaxQuantity) + " times",
                {{"items", name + " appears more than once; the total must not exceed " + std::to_string(kMaxQuantity)}});
        }
    }
    co_return merged;
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::write_order(
    std::int64_t user_id,
    std::string key,
    NewOrder order,
    std::vector<inventory::Line> wanted,
    const inventory::Hold& hold,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::shared_ptr<OrderSource> source) {
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await inventory_->pool().begin();
            if (source) {
                auto locked = co_await source->lock_in(tx);
                if (!locked) {
                    co_await tx.rollback();
                    co_return locked.error();
                }
            }
            // Promotions are locked before the stock (the one lock order).
            std::vector<PricingRequest> requests{request_of(user_id, order, wanted)};
            auto round = co_await open_pricing(tx, std::move(requests));
            json::value address(order.shipping_address);
            auto created = co_await store_.insert_order(tx, user_id, std::move(address), key, settings_.order_ttl);
            auto reserved = co_await inventory_->reserve_in(tx, hold, created.id);
            if (!reserved) {
                co_await tx.rollback();
                co_return reserved.error();
            }
            const std::string currency = reserved->empty() ? "USD" : reserved->front().currency;
            if (auto same = check_currency(*reserved); !same) {
                co_await tx.rollback();
                co_return same.error();
            }
            auto priced = round->price(0, *reserved);
            if (!priced) {
                co_await tx.rollback();
                co_return priced.error();
            }
            created.items = items_of(wanted, *reserved, *priced);
            for (const auto& item : created.items) co_await store_.insert_item(tx, created.id, item);
            set_money(created, *priced, currency, order);
            co_await store_.set_amounts(tx, created);
            std::vector<std::pair<std::size_t, std::int64_t>> redeemed{{0, created.id}};
            co_await round->commit_in(tx, std::move(redeemed));
            if (source) co_await source->close_in(tx, created.id);
            const std::int64_t total = created.total_cents;
            auto body = core::codec::encode(created);
            co_await store_.add_event(tx, created.id, "order.created", to_json(created));
            co_await store_.finish_key_in(tx, user_id, key, 201, body);
            co_await tx.commit();
            core::log::info("order placed",
                            {{"order_id", created.id}, {"user_id", user_id}, {"total_cents", total}});
            co_return CheckoutResponse{201, std::move(body), false, std::nullopt};
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        } catch (const db::DbError& e) {
            // The key's record expired and was purged, but the order it created is still there.
            if (!e.is_unique_violation() || e.constraint() != "orders_user_idempotency_key") throw;
            co_return core::make_error(core::Errc::kConflict,
                                       "this Idempotency-Key already created an order; use a new key",
                                       {{"Idempotency-Key", "was already used"}});
        }
    }
}

asio::awaitable<core::Result<CheckoutResponse>> OrdersService::write_grouped(std::int64_t user_id,
                                                                             std::string key,
                                                                             NewOrder order,
                                                                             std::vector<inventory::Line> lines) {
    auto ex = co_await asio::this_coro::executor;
    auto pending = std::make_shared<PendingOrder>(ex, user_id, std::move(key), std::move(order), std::move(lines));
    co_await batches_.submit(pending);
    co_return std::move(pending->result);
}

asio::awaitable<void> OrdersService::write_batch(std::vector<std::shared_ptr<PendingOrder>> batch) {
    bool one_by_one = false;
    for (int attempt = 1; !one_by_one; ++attempt) {
        try {
            auto tx = co_await inventory_->pool().begin();
            std::vector<std::vector<inventory::Line>> wanted;
            std::vector<PricingRequest> requests;
            wanted.reserve(batch.size());
            for (const auto& p : batch) {
                wanted.push_back(p->lines);
                requests.push_back(request_of(p->user_id, p->order, p->lines));
            }
            auto round = co_await open_pricing(tx, std::move(requests));
            // The currency rule and the price are checked inside the batch check, before an
            // order's units count as taken: a refused order must not make the ones after it look
            // out of stock (nor use up a promotion).
            std::vector<pricing::Priced> prices(batch.size());
            inventory::InventoryService::OrderRule rule =
                [&round, &prices](std::size_t i, const std::vector<inventory::ReservedLine>& lines) -> core::Result<void> {
                if (auto same = check_currency(lines); !same) return same.error();
                auto priced = round->price(i, lines);
                if (!priced) return priced.error();
                prices[i] = std::move(*priced);
                return {};
            };
            auto checked = co_await inventory_->check_many_in(tx, std::move(wanted), std::move(rule));

            // Orders that fail (unknown product, stock the mirror did not know was gone, mixed
            // currencies) get their error; the others are written together.
            std::vector<std::size_t> accepted;
            std::vector<NewOrderRow> rows;
            for (std::size_t i = 0; i < batch.size(); ++i) {
                auto& p = *batch[i];
                if (!checked[i]) {
                    p.result = checked[i].error();
                    continue;
                }
                Order money;
                set_money(money, prices[i], checked[i]->empty() ? "USD" : checked[i]->front().currency, p.order);
                accepted.push_back(i);
                rows.push_back(NewOrderRow{p.user_id, p.key, money.total_cents, money.currency,
                                           json::value(p.order.shipping_address), money.subtotal_cents,
                                           money.discount_cents, money.shipping_cents, money.tax_cents,
                                           money.promotions, money.country, money.shipping_option_id});
            }
            if (accepted.empty()) {
                co_await tx.rollback();
                co_return;
            }
            auto created = co_await store_.insert_orders(tx, std::move(rows), settings_.order_ttl);

            std::vector<inventory::Movement> movements;
            std::vector<std::pair<std::int64_t, OrderItem>> items;
            std::vector<std::pair<std::int64_t, json::value>> events;
            std::vector<FinishedKey> keys;
            std::vector<std::string> bodies;
            std::vector<std::pair<std::size_t, std::int64_t>> redeemed;
            for (std::size_t n = 0; n < accepted.size(); ++n) {
                auto& p = *batch[accepted[n]];
                auto& order = created[n];
                if (order.id == 0) throw core::InfraError("orders: a grouped order was not returned by its insert");
                order.items = items_of(p.lines, *checked[accepted[n]], prices[accepted[n]]);
                for (const auto& item : order.items) {
                    items.emplace_back(order.id, item);
                    movements.push_back(inventory::Movement{item.variant_id, item.product_id, -item.quantity, order.id});
                }
                redeemed.emplace_back(accepted[n], order.id);
                events.emplace_back(order.id, to_json(order));
                bodies.push_back(core::codec::encode(order));
                keys.push_back(FinishedKey{p.user_id, p.key, 201, bodies.back()});
            }
            co_await inventory_->take_many_in(tx, std::move(movements));
            co_await store_.insert_items(tx, std::move(items));
            co_await round->commit_in(tx, std::move(redeemed));
            co_await store_.add_events(tx, "order.created", std::move(events));
            co_await store_.finish_keys_in(tx, std::move(keys));
            co_await tx.commit();
            for (std::size_t n = 0; n < accepted.size(); ++n) {
                const auto& order = created[n];
                core::log::info("order placed",
                                {{"order_id", order.id}, {"user_id", order.user_id}, {"total_cents", order.total_cents}});
                batch[accepted[n]]->result = CheckoutResponse{201, std::move(bodies[n]), false, std::nullopt};
            }
            co_return;
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        } catch (const db::DbError& e) {
            if (!e.is_unique_violation() || e.constraint() != "orders_user_idempotency_key") throw;
            // A key whose record was purged while its order stayed: the batch is redone one order
            // at a time below, so only that request fails.
            one_by_one = true;
        }
    }
    for (auto& p : batch) {
        try {
            inventory::Hold hold;
            hold.lines = inventory::sorted_lines(p->lines);
            hold.redis_reserved = true;
            p->result = co_await write_order(p->user_id, p->key, p->order, p->lines, hold);
        } catch (const std::exception&) {
            p->failure = std::current_exception();
        }
    }
}

asio::awaitable<core::Result<Order>> OrdersService::get_order(std::int64_t id, std::int64_t viewer_id, bool is_admin) {
    auto order = co_await store_.find_order(id);
    if (!order || (!is_admin && order->user_id != viewer_id)) {
        co_return core::make_error(core::Errc::kNotFound, "no such order");
    }
    co_return std::move(*order);
}

asio::awaitable<core::Result<OrderPage>> OrdersService::list_orders(OrderFilter filter,
                                                                    std::int64_t limit,
                                                                    std::optional<std::string> cursor) {
    std::optional<std::int64_t> before;
    if (cursor && !(before = core::parse_id(*cursor))) {
        co_return core::make_error(core::Errc::kBadRequest, "the cursor is malformed");
    }
    auto orders = co_await store_.list_orders(std::move(filter), limit + 1, before);
    OrderPage page;
    if (static_cast<std::int64_t>(orders.size()) > limit) {
        orders.pop_back();
        page.next_cursor = std::to_string(orders.back().id);
    }
    page.items = std::move(orders);
    co_return page;
}

asio::awaitable<core::Result<Order>> OrdersService::cancel(std::int64_t id, std::int64_t viewer_id, bool is_admin) {
    std::optional<std::int64_t> owner;
    if (!is_admin) owner = viewer_id;
    co_return co_await transition_or_conflict(id, owner, OrderStatus::kCancelled);
}

asio::awaitable<core::Result<Order>> OrdersService::fulfil(std::int64_t id) {
    co_return co_await transition_or_conflict(id, std::nullopt, OrderStatus::kFulfilled);
}

asio::awaitable<core::Result<PaymentApplied>> OrdersService::mark_paid(std::int64_t id,
                                                                       std::int64_t payment_id) {
    auto t = co_await transition(id, std::nullopt, OrderStatus::kPaid, payment_id);
    if (!t) co_return t.error();
    PaymentApplied out;
    out.order = std::move(t->order);
    const auto status = out.order.status;
    if (t->changed) {
        out.kind = PaymentApplied::Kind::kPaid;
    } else if (is_paid_state(status)) {
        // Once paid, paid_payment_id never changes, so this comparison is final.
        out.kind = out.order.paid_payment_id == payment_id ? PaymentApplied::Kind::kAlreadyPaidByIt
                                                           : PaymentApplied::Kind::kPaidByAnother;
    } else {
        out.kind = PaymentApplied::Kind::kNotPayable;  // cancelled or expired: final states
    }
    co_return out;
}

asio::awaitable<core::Result<Order>> OrdersService::mark_payment_failed(std::int64_t id) {
    co_return co_await transition_or_conflict(id, std::nullopt, OrderStatus::kPaymentFailed);
}

asio::awaitable<core::Result<Order>> OrdersService::transition_or_conflict(std::int64_t id,
                                                                           std::optional<std::int64_t> owner,
                                                                           OrderStatus target) {
    auto t = co_await transition(id, owner, target, std::nullopt);
    if (!t) co_return t.error();
    if (!t->changed) {
        co_return core::make_error(core::Errc::kConflict,
                                   "the order is " + std::string(status_name(t->order.status)) +
                                       " and cannot become " + std::string(status_name(target)));
    }
    co_return std::move(t->order);
}

asio::awaitable<core::Result<OrdersService::Transitioned>> OrdersService::transition(
    std::int64_t id,
    std::optional<std::int64_t> owner,
    OrderStatus target,
    std::optional<std::int64_t> paid_by) {
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = co_await inventory_->pool().begin();
            auto order = co_await store_.lock_order(tx, id);
            if (!order || (owner && order->user_id != *owner)) {
                co_await tx.rollback();
                co_return core::make_error(core::Errc::kNotFound, "no such order");
            }
            if (!can_transition(order->status, target)) {
                co_await tx.rollback();
                co_return Transitioned{std::move(*order), false};
            }
            if (target == OrderStatus::kCancelled && co_await store_.has_unsettled_payment(tx, id)) {
                co_await tx.rollback();
                co_return core::make_error(core::Errc::kConflict,
                                           "a payment for this order is being processed; try again once it is settled");
            }
            const bool give_back = returns_stock(target);
            // Promotions before the stock (the lock order of checkouts).
            if (give_back && pricer_) {
                std::vector<std::int64_t> released{id};
                co_await pricer_->release_in(tx, std::move(released));
            }
            if (give_back) {
                const auto reason = target == OrderStatus::kCancelled ? inventory::ReturnReason::kCancelled
                                    : target == OrderStatus::kExpired ? inventory::ReturnReason::kExpired
                                                                      : inventory::ReturnReason::kPaymentFailed;
                co_await inventory_->release_in(tx, id, lines_of(*order), reason);
            }
            const bool sold = target == OrderStatus::kPaid;
            if (sold) co_await inventory_->record_sale_in(tx, lines_of(*order));
            co_await store_.set_status(tx, id, target, sold ? paid_by : std::nullopt);
            order->status = target;
            if (sold) order->paid_payment_id = paid_by;
            co_await store_.add_event(tx, id, "order." + std::string(status_name(target)), event_payload(*order));
            co_await tx.commit();
            core::log::info("order status changed", {{"order_id", id}, {"status", status_name(target)}});
            if (give_back) co_await inventory_->after_release(lines_of(*order));
            if (sold) co_await inventory_->after_sale(lines_of(*order));
            co_return Transitioned{std::move(*order), true};
        } catch (const db::RetryableDbError&) {
            if (attempt >= kTransactionAttempts) throw;
        }
    }
}

asio::awaitable<std::int64_t> OrdersService::expire_batch(std::int64_t batch) {
    std::vector<inventory::Line> returned;
    std::int64_t expired = 0;
    {
        auto tx = co_await inventory_->pool().begin();
        auto ids = co_await store_.lock_due_orders(tx, batch);
        std::vector<Order> due;
        for (auto id : ids) {
            auto order = co_await store_.lock_order(tx, id);
            if (!order || !can_transition(order->status, OrderStatus::kExpired)) continue;
            // lock_due_orders checked the payments on its statement's snapshot: a payment started
            // (committed) after that snapshot but before the row was locked, or captured since, is
            // only visible now. Such an order waits for its payment, as cancel does.
            if (co_await store_.has_unsettled_payment(tx, id)) continue;
            due.push_back(std::move(*order));
        }
        // Every order's promotions first, then the stock (the lock order of checkouts).
        if (pricer_ && !due.empty()) {
            std::vector<std::int64_t> due_ids;
            for (const auto& o : due) due_ids.push_back(o.id);
            co_await pricer_->release_in(tx, std::move(due_ids));
        }
        for (auto& order : due) {
            auto lines = lines_of(order);
            co_await inventory_->release_in(tx, order.id, lines, inventory::ReturnReason::kExpired);
            co_await store_.set_status(tx, order.id, OrderStatus::kExpired);
            order.status = OrderStatus::kExpired;
            co_await store_.add_event(tx, order.id, "order.expired", event_payload(order));
            returned.insert(returned.end(), lines.begin(), lines.end());
            ++expired;
        }
        co_await tx.commit();
    }
    if (expired > 0) {
        core::log::info("orders expired", {{"count", expired}});
        co_await inventory_->after_release(std::move(returned));
    }
    co_return expired;
}

asio::awaitable<std::int64_t> OrdersService::expire_due(std::int64_t batch) {
    std::int64_t total = 0;
    for (;;) {
        std::int64_t n = 0;
        for (int attempt = 1;; ++attempt) {
            try {
                n = co_await expire_batch(batch);
                break;
            } catch (const db::RetryableDbError&) {
                if (attempt >= kTransactionAttempts) throw;
            }
        }
        total += n;
        if (n < batch) break;
    }
    co_return total;
}

asio::awaitable<std::int64_t> OrdersService::purge_idempotency_keys() {
    co_return co_await store_.purge_expired_keys();
}

}  // namespace emporium::orders
