#include "inventory/inventory_service.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <random>

namespace emporium::inventory {

namespace {

namespace asio = boost::asio;

// Every script below touches one variant: its stock key and its epoch key, both tagged {v:<id>}
// so that they share a hash slot. An order of several variants runs one call per variant, in
// ascending variant order (see acquire_redis).

// KEYS: a stock key. ARGV: the quantity. 0 = decremented; -1 = key missing (load it); 1 = too
// little stock (nothing changes).
const redis::Script& reserve_script() {
    static const redis::Script kScript(R"lua(
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if tonumber(v) < tonumber(ARGV[1]) then return 1 end
redis.call('DECRBY', KEYS[1], ARGV[1])
return 0
)lua");
    return kScript;
}

// The mirror and the database move separately, so a key is only ever loaded from a database read
// that no later change can have missed. Each variant has an epoch key next to its stock key:
// loading reads the epoch, then the database, and sets the stock key only if the epoch is still
// the same. Every stock change that finds the stock key missing (or drops it) bumps the epoch, so
// a load that read the database before that change does not write its stale value.

// KEYS: a stock key, its epoch key. ARGV: the epoch read before the database, the stock value.
// Sets the stock key if it is missing and the epoch did not move.
const redis::Script& load_script() {
    static const redis::Script kScript(R"lua(
if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
end
return 0
)lua");
    return kScript;
}

// KEYS: a stock key, its epoch key. ARGV: the quantity, the epoch TTL (ms). Adds the quantity back
// if the key exists; for a missing key (reloaded from the database on its next use) bumps the
// epoch instead, so a load in flight cannot miss the units.
const redis::Script& give_back_script() {
    static const redis::Script kScript(R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
else
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 0
)lua");
    return kScript;
}

// KEYS: a stock key and its epoch key. ARGV: the epoch TTL (ms). Drops the mirror of a variant
// whose stock the database changed, and any load in flight that read the database before.
const redis::Script& drop_script() {
    static const redis::Script kScript(R"lua(
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 0
)lua");
    return kScript;
}

// An epoch only has to outlive the loads that read it (a load lasts at most a request's budget).
constexpr std::chrono::milliseconds kEpochTtl{3'600'000};

std::vector<std::int64_t> ids_of(const std::vector<Line>& lines) {
    std::vector<std::int64_t> ids;
    ids.reserve(lines.size());
    for (const auto& l : lines) ids.push_back(l.variant_id);
    return ids;
}

const StockRow* find_row(const std::vector<StockRow>& rows, std::int64_t variant_id) {
    auto it = std::find_if(rows.begin(), rows.end(), [variant_id](const StockRow& r) { return r.variant_id == variant_id; });
    return it == rows.end() ? nullptr : &*it;
}

// Validates `lines` against `rows`: every variant exists, belongs to the line's product and is for
// sale; with `check_stock`, has enough units available.
core::Result<void> check_rows(const std::vector<Line>& lines, const std::vector<StockRow>& rows, bool check_stock) {
    for (const auto& l : lines) {
        const auto* row = find_row(rows, l.variant_id);
        if (row == nullptr || row->product_id != l.product_id || !row->is_for_sale) return unknown_product_error(l);
    }
    if (check_stock) {
        for (const auto& l : lines) {
            const auto* row = find_row(rows, l.variant_id);
            if (row->available + l.held < l.quantity) return out_of_stock_error(l, row->available + l.held);
        }
    }
    return {};
}

std::vector<ReservedLine> priced(const std::vector<Line>& lines, const std::vector<StockRow>& rows) {
    std::vector<ReservedLine> out;
    out.reserve(lines.size());
    for (const auto& l : lines) {
        const auto* row = find_row(rows, l.variant_id);
        out.push_back(ReservedLine{l.variant_id, l.product_id, l.quantity, row->price_cents, row->currency});
    }
    return out;
}

// The products of `lines`, each once.
std::vector<std::int64_t> products_of(const std::vector<Line>& lines) {
    std::vector<std::int64_t> ids;
    ids.reserve(lines.size());
    for (const auto& l : lines) ids.push_back(l.product_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

asio::awaitable<void> backoff(int attempt) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    const int base = std::min(1 << std::min(attempt, 4), 16);
    std::uniform_int_distribution<int> dist(base, base * 2);
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(dist(rng)));
    co_await timer.async_wait(asio::use_awaitable);
}

}  // namespace

namespace {

std::string line_name(const Line& line) {
    return line.named_by_variant ? "variant " + std::to_string(line.variant_id)
                                 : "product " + std::to_string(line.product_id);
}

}  // namespace

core::Error unknown_product_error(const Line& line) {
    const auto name = line_name(line);
    return core::make_error(core::Errc::kValidation,
                            name + " does not exist or is not for sale",
                            {{"items", name + " does not exist or is not for sale"}});
}

core::Error out_of_stock_error(const Line& line, std::int64_t available) {
    const auto name = line_name(line);
    return core::make_error(core::Errc::kOutOfStock,
                            name + " is out of stock",
                            {{"items", name + ": requested " + std::to_string(line.quantity) +
                                           ", available " + std::to_string(std::max<std::int64_t>(available, 0))}});
}

InventoryService::InventoryService(InventorySettings settings,
                                   InventoryStore store,
                                   ClientProvider redis,
                                   redis::Keys keys,
                                   std::shared_ptr<Redlock> redlock,
                                   std::shared_ptr<catalog::CatalogService> catalog)
    : settings_(settings),
      store_(std::move(store)),
      redis_(std::move(redis)),
      keys_(std::move(keys)),
      redlock_(std::move(redlock)),
      catalog_(std::move(catalog)) {}

namespace {

// The hash tag of a variant's mirror keys (stock and epoch share a slot).
std::string variant_tag(std::int64_t variant_id) { return "v:" + std::to_string(variant_id); }

}  // namespace

std::string InventoryService::stock_key(std::int64_t variant_id) const {
    return keys_.tagged(variant_tag(variant_id), "stock");
}

std::string InventoryService::epoch_key(std::int64_t variant_id) const {
    return keys_.tagged(variant_tag(variant_id), "stock", "epoch");
}

asio::awaitable<core::Result<std::vector<Line>>> InventoryService::resolve(std::vector<Line> lines) {
    std::vector<std::int64_t> variant_ids;
    std::vector<std::int64_t> product_ids;
    for (const auto& l : lines) {
        if (l.variant_id != 0) {
            variant_ids.push_back(l.variant_id);
        } else {
            product_ids.push_back(l.product_id);
        }
    }
    const auto refs = co_await store_.resolve(std::move(variant_ids), std::move(product_ids));
    for (auto& l : lines) {
        const auto it = std::find_if(refs.begin(), refs.end(), [&l](const VariantRef& r) {
            return l.variant_id != 0 ? r.variant_id == l.variant_id : (r.product_id == l.product_id && r.is_default);
        });
        // A variant named with another product's id is as unknown as a missing one.
        if (it == refs.end() || (l.product_id != 0 && it->product_id != l.product_id)) co_return unknown_product_error(l);
        l.variant_id = it->variant_id;
        l.product_id = it->product_id;
    }
    co_return lines;
}

asio::awaitable<core::Result<void>> InventoryService::precheck(std::vector<Line> lines, bool init_mirror) {
    if (!init_mirror) {
        auto rows = co_await store_.snapshot(ids_of(lines));
        co_return check_rows(lines, rows, true);
    }
    // The epochs first, then the database: see load_script(). One GET per variant (each in its
    // own slot), pipelined.
    std::vector<std::vector<std::string>> gets;
    gets.reserve(lines.size());
    for (const auto& l : lines) gets.push_back(redis::cmd("GET", epoch_key(l.variant_id)));
    auto epochs = co_await redis_().pipeline(std::move(gets));
    if (epochs.size() != lines.size()) throw redis::RedisError("inventory: unexpected replies to GET of the stock epochs");
    for (const auto& e : epochs) {
        if (e.is_error()) throw redis::RedisError("inventory: GET of a stock epoch failed: " + e.str);
    }
    auto rows = co_await store_.snapshot(ids_of(lines));
    auto checked = check_rows(lines, rows, false);
    if (!checked) co_return checked.error();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto id = lines[i].variant_id;
        std::vector<std::string> keys{stock_key(id), epoch_key(id)};
        std::vector<std::string> args{epochs[i].is_nil() ? std::string() : epochs[i].str,
                                      std::to_string(find_row(rows, id)->available)};
        auto reply = co_await redis_().eval(load_script(), std::move(keys), std::move(args));
        if (reply.is_error()) throw redis::RedisError("inventory: stock mirror load failed: " + reply.str);
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<Hold>> InventoryService::acquire(std::vector<Line> lines) {
    lines = sorted_lines(std::move(lines));
    switch (settings_.strategy) {
        case Strategy::kDual: co_return co_await acquire_dual(std::move(lines));
        case Strategy::kRedis: co_return co_await acquire_redis(std::move(lines));
        case Strategy::kPessimistic:
        case Strategy::kOptimistic: break;
    }
    Hold hold;
    hold.lines = std::move(lines);
    co_return hold;
}

asio::awaitable<core::Result<Hold>> InventoryService::acquire_dual(std::vector<Line> lines) {
    // A sold-out variant is answered without queueing for its lock (stock only rises by returns,
    // so a stale read can only refuse an order that arrives just as stock comes back).
    auto pre = co_await precheck(lines, false);
    if (!pre) co_return pre.error();
    Hold hold;
    hold.lines = std::move(lines);
    bool failed = false;
    for (const auto& l : hold.lines) {
        // Units the buyer's cart holds are its already: no lock (and no fence, 0) for a line of
        // only those.
        if (l.quantity <= l.held) {
            hold.fences.push_back(0);
            continue;
        }
        auto lock = co_await redlock_->acquire(keys_.make("lock", "variant", l.variant_id));
        if (!lock) {
            failed = true;
            break;
        }
        hold.locks.push_back(std::move(*lock));
        auto fence = co_await redlock_->primary().command(redis::cmd("INCR", keys_.make("fence", l.variant_id)));
        hold.fences.push_back(fence.as_int());
    }
    if (failed) {
        co_await settle(std::move(hold), false);
        co_return core::make_error(core::Errc::kConflict, "the products are busy, please retry");
    }
    co_return hold;
}

asio::awaitable<core::Result<Hold>> InventoryService::acquire_redis(std::vector<Line> all) {
    // Only the units the buyer's cart does not hold go through the mirror (which counts held units
    // as gone).
    std::vector<Line> lines;
    for (const auto& l : all) {
        if (l.quantity <= l.held) continue;
        Line unheld = l;
        unheld.quantity = l.quantity - l.held;
        unheld.held = 0;
        lines.push_back(unheld);
    }
    if (lines.empty()) {
        Hold hold;
        hold.lines = std::move(all);
        co_return hold;
    }
    // One reservation per variant (each variant's keys are in their own hash slot), in ascending
    // variant order (`all` is sorted). When one is refused, the ones taken before it are given
    // back. Between the two, a concurrent order can be refused for units this order is about to
    // return: the mirror is an admission filter and the database's conditional update is the
    // authority, so a partial reservation can only refuse a little early, never oversell.
    // A load refused because the stock changed meanwhile is simply tried again.
    for (int attempt = 0; attempt < 3; ++attempt) {
        std::size_t taken = 0;
        std::int64_t code = 0;
        for (; taken < lines.size(); ++taken) {
            const auto& l = lines[taken];
            std::vector<std::string> keys{stock_key(l.variant_id)};
            std::vector<std::string> args{std::to_string(l.quantity)};
            auto reply = co_await redis_().eval(reserve_script(), std::move(keys), std::move(args));
            if (reply.is_error()) {
                std::vector<Line> done(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(taken));
                co_await mirror_add(std::move(done));
                throw redis::RedisError("inventory: reserve script failed: " + reply.str);
            }
            code = reply.as_int();
            if (code != 0) break;
        }
        if (code == 0) {
            Hold hold;
            hold.lines = std::move(all);
            hold.redis_reserved = true;
            co_return hold;
        }
        std::vector<Line> done(lines.begin(), lines.begin() + static_cast<std::ptrdiff_t>(taken));
        co_await mirror_add(std::move(done));
        const auto& refused = lines[taken];
        if (code > 0) {
            auto left = co_await redis_().command(redis::cmd("GET", stock_key(refused.variant_id)));
            co_return out_of_stock_error(refused, left.is_nil() ? 0 : left.as_int());
        }
        // A key is missing: load the mirror of these variants from the database (SET NX).
        auto init = co_await precheck(lines, true);
        if (!init) co_return init.error();
    }
    co_return core::make_error(core::Errc::kConflict, "the stock mirror is not ready, please retry");
}

asio::awaitable<core::Result<std::vector<ReservedLine>>> InventoryService::reserve_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    const Hold& hold,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id) {
    const auto& lines = hold.lines;
    const bool lock_rows = settings_.strategy == Strategy::kPessimistic || settings_.strategy == Strategy::kDual;
    auto rows = co_await store_.snapshot_in(tx, ids_of(lines), lock_rows);
    auto checked = check_rows(lines, rows, lock_rows);
    if (!checked) co_return checked.error();

    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto& l = lines[i];
        bool taken = false;
        switch (settings_.strategy) {
            case Strategy::kPessimistic: taken = co_await store_.take(tx, l.variant_id, l.quantity, l.held); break;
            case Strategy::kDual:
                if (hold.fences[i] == 0) {  // units the buyer's cart held: not locked
                    taken = co_await store_.take(tx, l.variant_id, l.quantity, l.held);
                    break;
                }
                taken = co_await store_.take_fenced(tx, l.variant_id, l.quantity, l.held, hold.fences[i]);
                if (!taken) {
                    core::log::warn("stale fencing token", {{"variant_id", l.variant_id}, {"fence", hold.fences[i]}});
                    co_return core::make_error(core::Errc::kConflict, "the product lock expired, please retry");
                }
                break;
            case Strategy::kRedis:
                // The final guard: the mirror said yes, the database must agree.
                taken = co_await store_.take(tx, l.variant_id, l.quantity, l.held);
                break;
            case Strategy::kOptimistic: {
                auto version = find_row(rows, l.variant_id)->version;
                for (int attempt = 0;; ++attempt) {
                    if (co_await store_.take_if_version(tx, l.variant_id, l.quantity, l.held, version)) {
                        taken = true;
                        break;
                    }
                    std::vector<std::int64_t> one(1, l.variant_id);
                    auto fresh = co_await store_.snapshot_in(tx, std::move(one), false);
                    if (fresh.empty() || fresh.front().available + l.held < l.quantity) {
                        co_return out_of_stock_error(l, fresh.empty() ? 0 : fresh.front().available + l.held);
                    }
                    if (attempt + 1 >= settings_.optimistic_retries) {
                        co_return core::make_error(core::Errc::kConflict,
                                                   line_name(l) + " is being bought by many customers, please retry");
                    }
                    version = fresh.front().version;
                    co_await backoff(attempt);
                }
                break;
            }
        }
        if (!taken) co_return out_of_stock_error(l, find_row(rows, l.variant_id)->available + l.held);
        co_await store_.record_movement(tx, Movement{l.variant_id, l.product_id, -l.quantity, order_id}, "order_reserved");
    }
    co_return priced(lines, rows);
}

asio::awaitable<std::vector<core::Result<std::vector<ReservedLine>>>> InventoryService::check_many_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::vector<Line>> orders,
    OrderRule rule) {
    std::vector<std::int64_t> ids;
    for (const auto& lines : orders) {
        for (const auto& l : lines) ids.push_back(l.variant_id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    // The locked snapshot is ordered by id: the one lock order, whatever the orders' line order.
    auto rows = co_await store_.snapshot_in(tx, std::move(ids), true);
    std::vector<core::Result<std::vector<ReservedLine>>> out;
    out.reserve(orders.size());
    for (const auto& lines : orders) {
        auto checked = check_rows(lines, rows, true);
        if (!checked) {
            out.emplace_back(checked.error());
            continue;
        }
        auto lines_priced = priced(lines, rows);
        if (rule) {
            // Before the units are taken off: a refused order must not leave the orders after it
            // short of stock it will never use.
            auto allowed = rule(out.size(), lines_priced);
            if (!allowed) {
                out.emplace_back(allowed.error());
                continue;
            }
        }
        for (const auto& l : lines) {
            auto it = std::find_if(rows.begin(), rows.end(), [&l](const StockRow& r) { return r.variant_id == l.variant_id; });
            it->available -= l.quantity;  // what the next order of the batch sees
        }
        out.emplace_back(std::move(lines_priced));
    }
    co_return out;
}

asio::awaitable<void> InventoryService::take_many_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<Movement> taken) {
    std::vector<Line> totals;
    for (const auto& m : taken) {
        auto it = std::find_if(totals.begin(), totals.end(), [&m](const Line& t) { return t.variant_id == m.variant_id; });
        if (it == totals.end()) {
            totals.push_back(Line{m.variant_id, m.product_id, -m.delta});
        } else {
            it->quantity -= m.delta;
        }
    }
    totals = sorted_lines(std::move(totals));
    const auto variants = static_cast<std::int64_t>(totals.size());
    if (co_await store_.take_many(tx, std::move(totals)) != variants) {
        throw core::InfraError("inventory: the database refused a batch decrement its own check allowed");
    }
    co_await store_.record_movements(tx, std::move(taken), "order_reserved");
}

asio::awaitable<void> InventoryService::settle(Hold hold, bool committed) {
    // Released in the reverse order of taking. The std::ranges::reverse_view that modernize-loop-convert
    // suggests does not compile with clang 14 and libstdc++ 12.
    for (auto it = hold.locks.rbegin(); it != hold.locks.rend(); ++it) {  // NOLINT(modernize-loop-convert): above
        co_await redlock_->release(std::move(*it));
    }
    if (hold.redis_reserved && !committed) co_await mirror_add(hold.lines);
    if (committed) co_await invalidate(hold.lines);
}

asio::awaitable<void> InventoryService::release_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t order_id,
    std::vector<Line> lines,
    ReturnReason reason) {
    lines = sorted_lines(std::move(lines));
    const std::string reason_text(reason_name(reason));
    for (const auto& l : lines) {
        co_await store_.give_back(tx, l.variant_id, l.quantity);
        co_await store_.record_movement(tx, Movement{l.variant_id, l.product_id, l.quantity, order_id}, reason_text);
    }
}

asio::awaitable<void> InventoryService::record_sale_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<Line> lines) {
    // One update per product (two variants of one product are one sale of it), ascending ids.
    std::vector<std::pair<std::int64_t, std::int32_t>> sold;
    for (const auto& l : lines) {
        auto it = std::find_if(sold.begin(), sold.end(), [&l](const auto& s) { return s.first == l.product_id; });
        if (it == sold.end()) {
            sold.emplace_back(l.product_id, l.quantity);
        } else {
            it->second += l.quantity;
        }
    }
    std::sort(sold.begin(), sold.end());
    for (const auto& [product_id, quantity] : sold) co_await store_.record_sale(tx, product_id, quantity);
}

asio::awaitable<void> InventoryService::after_sale(std::vector<Line> lines) { co_await invalidate(std::move(lines)); }

asio::awaitable<void> InventoryService::after_release(std::vector<Line> lines) {
    if (settings_.strategy == Strategy::kRedis) co_await mirror_add(lines);
    co_await invalidate(std::move(lines));
}

asio::awaitable<void> InventoryService::mirror_add(std::vector<Line> lines) {
    // Units a cart held never left the mirror: only the others go back.
    std::erase_if(lines, [](const Line& l) { return l.quantity <= l.held; });
    if (lines.empty()) co_return;
    try {
        // One call per variant (each in its own slot).
        for (const auto& l : lines) {
            std::vector<std::string> keys{stock_key(l.variant_id), epoch_key(l.variant_id)};
            std::vector<std::string> args{std::to_string(l.quantity - l.held), std::to_string(kEpochTtl.count())};
            auto reply = co_await redis_().eval(give_back_script(), std::move(keys), std::move(args));
            if (reply.is_error()) core::log::error("stock mirror give-back failed", {{"error", reply.str}});
        }
    } catch (const core::InfraError& e) {
        // The mirror is then lower than the database: fewer sales, never overselling;
        // `emporium inventory resync` repairs it.
        core::log::error("stock mirror give-back failed", {{"error", e.what()}});
    }
}

namespace {

asio::awaitable<void> follow_stock(std::weak_ptr<InventoryService> inventory, std::int64_t product_id) {
    if (auto service = inventory.lock()) co_await service->stock_changed(product_id);
}

struct MirrorFollower {
    std::weak_ptr<InventoryService> inventory;
    asio::awaitable<void> operator()(std::int64_t product_id) const {
        return follow_stock(inventory, product_id);
    }
};

}  // namespace

catalog::CatalogService::StockListener mirror_follower(std::weak_ptr<InventoryService> inventory) {
    return MirrorFollower{std::move(inventory)};
}

asio::awaitable<void> InventoryService::stock_changed(std::int64_t product_id) {
    if (settings_.strategy != Strategy::kRedis) co_return;
    std::string failure;
    try {
        for (const std::int64_t variant_id : co_await store_.variants_of(product_id)) {
            std::vector<std::string> keys{stock_key(variant_id), epoch_key(variant_id)};
            std::vector<std::string> args{std::to_string(kEpochTtl.count())};
            auto reply = co_await redis_().eval(drop_script(), std::move(keys), std::move(args));
            if (reply.is_error()) failure = reply.str;
        }
    } catch (const core::InfraError& e) {
        failure = e.what();
    }
    if (!failure.empty()) {
        // The mirror keeps the old value: too low after a restock (fewer sales, never more) or too
        // high after a reduction (the database refuses what it does not have).
        core::log::error("stock mirror drop failed; run `emporium inventory resync`",
                         {{"product_id", product_id}, {"error", failure}});
    }
}

asio::awaitable<void> InventoryService::invalidate(std::vector<Line> lines) {
    if (!catalog_) co_return;
    for (const std::int64_t product_id : products_of(lines)) co_await catalog_->invalidate_product(product_id);
}

asio::awaitable<std::vector<AuditMismatch>> InventoryService::audit() {
    co_return co_await store_.audit();
}

asio::awaitable<core::Result<VariantLedger>> InventoryService::ledger(std::int64_t variant_id,
                                                                     std::int64_t limit,
                                                                     std::optional<std::string> cursor) {
    std::optional<std::int64_t> before;
    if (cursor && !(before = core::parse_id(*cursor))) {
        co_return core::make_error(core::Errc::kBadRequest, "the cursor is malformed");
    }
    auto books = co_await store_.ledger(variant_id, limit + 1, before);
    if (!books) co_return core::make_error(core::Errc::kNotFound, "no such variant");
    if (static_cast<std::int64_t>(books->items.size()) > limit) {
        books->items.pop_back();
        books->next_cursor = std::to_string(books->items.back().id);
    }
    co_return std::move(*books);
}

asio::awaitable<std::size_t> InventoryService::resync() {
    auto all = co_await store_.all_stock();
    for (const auto& [id, stock] : all) {
        // The keys of releases before the hash tags (`stock:<id>`, `stock:<id>:epoch`) are read no
        // more; a resync drops them.
        std::vector<std::vector<std::string>> commands;
        commands.push_back(redis::cmd("SET", stock_key(id), stock));
        commands.push_back(redis::cmd("DEL", keys_.make("stock", id)));
        commands.push_back(redis::cmd("DEL", keys_.make("stock", id, "epoch")));
        for (const auto& r : co_await redis_().pipeline(std::move(commands))) {
            if (r.is_error()) throw redis::RedisError("inventory: resync failed: " + r.str);
        }
    }
    co_return all.size();
}

}  // namespace emporium::inventory
