// OrdersService + InventoryService against the real test PostgreSQL and Redis, for every
// inventory strategy: 200 concurrent buyers of a product with 50 units (exactly 50 orders, the rest
// out_of_stock, ledger clean), multi-product orders in random line order (no deadlock),
// idempotent replays, cancel / expiry returning stock, and the `redis` strategy's stock mirror
// following the catalog's stock changes (never overselling, never hiding a unit).
#include "integration/redis_support.hpp"
#include "orders/orders_service.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

namespace emporium::orders {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using inventory::Strategy;

struct Outcome {
    bool done = false;
    bool created = false;
    std::optional<core::Errc> error;
    std::string failure;  // an exception
};

asio::awaitable<void> buy(OrdersService* service,
                          std::int64_t user_id,
                          std::string key,
                          std::vector<OrderLine> lines,
                          Outcome* out) {
    NewOrder order;
    order.items = std::move(lines);
    order.shipping_address = json::object{{"city", "Oslo"}};
    try {
        auto r = co_await service->place_order(user_id, key, std::move(order), "fp:" + key);
        if (!r) {
            out->error = r.error().code;
        } else if (r->failure) {
            out->error = r->failure->code;
        } else {
            out->created = r->status == 201;
        }
    } catch (const std::exception& e) {
        out->failure = e.what();
    }
    out->done = true;
}

struct Tally {
    int created = 0;
    int out_of_stock = 0;
};

// Counts created and out-of-stock outcomes; every buyer must have finished without an exception.
Tally tally(const std::vector<Outcome>& outcomes) {
    Tally t;
    for (const auto& o : outcomes) {
        EXPECT_TRUE(o.done);
        EXPECT_TRUE(o.failure.empty()) << o.failure;
        if (o.created) ++t.created;
        if (o.error == core::Errc::kOutOfStock) ++t.out_of_stock;
    }
    return t;
}

class OrdersTest : public ::testing::TestWithParam<Strategy> {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 8;
        o.acquire_timeout = 20s;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:orders:" + test::unique_suffix() + ":";
        user_ = user("buyer@example.com");
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }

    std::shared_ptr<OrdersService> make_service(Strategy strategy, std::chrono::seconds order_ttl = 900s) {
        inventory::InventorySettings settings;
        settings.strategy = strategy;
        settings.lock_retries = 2000;
        settings.optimistic_retries = 1000;
        auto* r = redis_.get();
        auto* p = pool_.get();
        auto redlock = std::make_shared<inventory::Redlock>(
            [r] { return std::vector<redis::Client*>{r}; }, settings.lock_ttl, settings.lock_retries);
        inventory_ = std::make_shared<inventory::InventoryService>(
            settings,
            inventory::InventoryStore([p]() -> db::Pool& { return *p; }),
            [r]() -> redis::Client& { return *r; },
            redis::Keys(prefix_),
            std::move(redlock),
            nullptr);
        OrdersSettings orders_settings;
        orders_settings.order_ttl = order_ttl;
        return std::make_shared<OrdersService>(
            orders_settings, OrdersStore([p]() -> db::Pool& { return *p; }), inventory_);
    }
    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw), 120s);
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        return run(pool_->query_unprepared(std::move(text), std::move(params))).get<std::int64_t>(0, 0);
    }
    std::int64_t user(const std::string& email) {
        return scalar("INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', 'U') RETURNING id",
                      db::params(email));
    }
    std::int64_t product(std::int64_t stock, std::int64_t price = 1000, bool active = true) {
        const auto id = scalar(
            "INSERT INTO products (sku, name, price_cents, stock, is_active) VALUES ($1, 'P', $2::bigint, $3::integer, "
            "$4::boolean) RETURNING id",
            db::params("sku-" + test::unique_suffix(), price, stock, active));
        scalar("INSERT INTO inventory_movements (product_id, delta, reason) VALUES ($1, $2::integer, 'initial') "
               "RETURNING id",
               db::params(id, stock));
        return id;
    }
    // Another variant of `product_id` with its own stock (and opening ledger row) and, if given, its
    // own price.
    std::int64_t variant(std::int64_t product_id, std::int64_t stock, std::optional<std::int64_t> price = {},
                         bool active = true) {
        const auto suffix = test::unique_suffix();
        const auto id = scalar(
            "INSERT INTO product_variants (product_id, sku, option_key, price_cents, stock, is_active) "
            "VALUES ($1, $2, $3, $4::bigint, $5::integer, $6::boolean) RETURNING id",
            db::params(product_id, "vsku-" + suffix, suffix, price, stock, active));
        scalar("INSERT INTO inventory_movements (variant_id, product_id, delta, reason) "
               "VALUES ($1, $2, $3::integer, 'initial') RETURNING id",
               db::params(id, product_id, stock));
        return id;
    }
    std::int64_t variant_stock(std::int64_t id) {
        return scalar("SELECT stock::bigint FROM product_variants WHERE id = $1", db::params(id));
    }
    std::int64_t default_variant(std::int64_t product_id) {
        return scalar("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", db::params(product_id));
    }
    // A captured payment of the order (what the payments context records before it settles).
    std::int64_t captured_payment(std::int64_t order_id) {
        return scalar(
            "INSERT INTO payments (order_id, status, amount_cents, currency, provider, idempotency_key, "
            "captured_at) SELECT id, 'captured', total_cents, currency, 'sandbox', gen_random_uuid()::text, "
            "now() FROM orders WHERE id = $1 RETURNING id",
            db::params(order_id));
    }
    std::int64_t stock(std::int64_t id) {
        return scalar("SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1", db::params(id));
    }
    // The Redis mirror's key of a product's default variant (the unit of stock).
    std::string stock_key(std::int64_t product_id) {
        const auto variant =
            scalar("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", db::params(product_id));
        return prefix_ + "{v:" + std::to_string(variant) + "}:stock";
    }
    std::int64_t purchases(std::int64_t id) {
        return scalar("SELECT purchase_count FROM products WHERE id = $1", db::params(id));
    }
    std::int64_t movements(std::int64_t id, const std::string& reason) {
        return scalar("SELECT count(*) FROM inventory_movements WHERE product_id = $1 AND reason = $2",
                      db::params(id, reason));
    }
    void expect_audit_clean() {
        auto mismatches = run(inventory_->audit());
        EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " products do not balance";
    }
    // Runs every buyer concurrently on the test's io_context.
    std::vector<Outcome> buy_all(OrdersService& s, std::vector<std::vector<OrderLine>> orders) {
        std::vector<Outcome> outcomes(orders.size());
        for (std::size_t i = 0; i < orders.size(); ++i) {
            asio::co_spawn(ctx_,
                           buy(&s, user_, "key-" + std::to_string(i), std::move(orders[i]), &outcomes[i]),
                           [o = &outcomes[i]](std::exception_ptr e) {
                               if (e) {
                                   o->failure = "unhandled exception";
                                   o->done = true;
                               }
                           });
        }
        ctx_.restart();
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (std::chrono::steady_clock::now() < deadline &&
               !std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.done; })) {
            ctx_.run_one_for(50ms);
        }
        return outcomes;
    }
    Order place(OrdersService& s, std::vector<OrderLine> lines, const std::string& key, std::int64_t user_id) {
        NewOrder order;
        order.items = std::move(lines);
        order.shipping_address = json::object{{"city", "Oslo"}};
        auto r = run(s.place_order(user_id, key, std::move(order), "fp:" + key));
        EXPECT_TRUE(r && !r->failure);
        if (!r || r->failure) return Order{};
        const auto body = json::parse(r->body);
        Order o;
        o.id = body.at("id").as_int64();
        return o;
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::shared_ptr<inventory::InventoryService> inventory_;
    std::string prefix_;
    std::int64_t user_ = 0;
};

TEST_P(OrdersTest, TwoHundredBuyersFiftyUnitsExactlyFiftyOrders) {
    auto service = make_service(GetParam());
    const auto p = product(50);
    std::vector<std::vector<OrderLine>> orders(200, std::vector<OrderLine>{{p, 1}});
    auto outcomes = buy_all(*service, std::move(orders));
    const auto [created, out_of_stock] = tally(outcomes);
    EXPECT_EQ(created, 50);
    EXPECT_EQ(out_of_stock, 150);
    EXPECT_EQ(stock(p), 0);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 50);
    EXPECT_EQ(movements(p, "order_reserved"), 50);
    EXPECT_EQ(scalar("SELECT count(*) FROM outbox WHERE event_type = 'order.created'"), 50);
    expect_audit_clean();
}

TEST_P(OrdersTest, MultiProductOrdersInRandomLineOrderDoNotDeadlock) {
    auto service = make_service(GetParam());
    std::vector<std::int64_t> products{product(1000), product(1000), product(1000)};
    std::mt19937 rng(42);
    std::vector<std::vector<OrderLine>> orders;
    for (int i = 0; i < 60; ++i) {
        std::vector<OrderLine> lines;
        for (auto id : products) lines.push_back({id, 1});
        std::shuffle(lines.begin(), lines.end(), rng);
        orders.push_back(std::move(lines));
    }
    auto outcomes = buy_all(*service, std::move(orders));
    for (const auto& o : outcomes) {
        EXPECT_TRUE(o.created) << (o.failure.empty() ? "error" : o.failure);
    }
    for (auto id : products) EXPECT_EQ(stock(id), 940);
    expect_audit_clean();
}

TEST_P(OrdersTest, IdempotentReplayReservesOnce) {
    auto service = make_service(GetParam());
    const auto p = product(10, 250);
    NewOrder order;
    order.items = {{p, 3}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto first = run(service->place_order(user_, "k1", order, "body-a"));
    ASSERT_TRUE(first && !first->failure);
    EXPECT_FALSE(first->replayed);
    EXPECT_EQ(json::parse(first->body).at("total_cents").as_int64(), 750);
    auto again = run(service->place_order(user_, "k1", order, "body-a"));
    ASSERT_TRUE(again && !again->failure);
    EXPECT_TRUE(again->replayed);
    EXPECT_EQ(again->status, first->status);
    EXPECT_EQ(again->body, first->body);
    EXPECT_EQ(stock(p), 7);
    auto other = run(service->place_order(user_, "k1", order, "body-b"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, core::Errc::kValidation);
    // A stored failure is replayed too.
    NewOrder big;
    big.items = {{p, 50}};
    big.shipping_address = json::object{{"city", "Oslo"}};
    auto short_stock = run(service->place_order(user_, "k2", big, "body-c"));
    ASSERT_TRUE(short_stock && short_stock->failure);
    EXPECT_EQ(short_stock->failure->code, core::Errc::kOutOfStock);
    EXPECT_NE(short_stock->failure->message.find(std::to_string(p)), std::string::npos);
    run(service->remember_failure(user_, "k2", 409, "{\"code\":\"out_of_stock\"}"));
    auto replay = run(service->place_order(user_, "k2", big, "body-c"));
    ASSERT_TRUE(replay && !replay->failure);
    EXPECT_EQ(replay->status, 409);
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 1);
    expect_audit_clean();
}

TEST_P(OrdersTest, UnknownAndInactiveProductsAreNamed) {
    auto service = make_service(GetParam());
    const auto inactive = product(5, 100, false);
    NewOrder order;
    order.items = {{inactive, 1}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto r = run(service->place_order(user_, "k-inactive", order, "x"));
    ASSERT_TRUE(r && r->failure);
    EXPECT_EQ(r->failure->code, core::Errc::kValidation);
    EXPECT_NE(r->failure->message.find(std::to_string(inactive)), std::string::npos);
    order.items = {{999'999, 1}};
    auto missing = run(service->place_order(user_, "k-missing", order, "y"));
    ASSERT_TRUE(missing && missing->failure);
    EXPECT_NE(missing->failure->message.find("999999"), std::string::npos);
    EXPECT_EQ(stock(inactive), 5);
}

// Variants are the unit of stock: two variants of one product in one order are two lines, each
// priced (its override or the product's price), taken and returned on its own; the product's stock
// is their sum throughout.
TEST_P(OrdersTest, TwoVariantsOfOneProductInOneOrder) {
    auto service = make_service(GetParam());
    const auto p = product(5, 1000);
    const auto large = variant(p, 3, 1500);
    const auto base = default_variant(p);
    EXPECT_EQ(stock(p), 8);
    NewOrder order;
    order.items = {OrderLine{std::nullopt, 2, large}, OrderLine{p, 1, std::nullopt}, OrderLine{p, 1, base}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto r = run(service->place_order(user_, "two-variants", order, "fp:two-variants"));
    ASSERT_TRUE(r && !r->failure) << (r ? r->failure->message : r.error().message);
    const auto body = json::parse(r->body).as_object();
    EXPECT_EQ(body.at("total_cents").as_int64(), 2 * 1500 + 2 * 1000);
    const auto& items = body.at("items").as_array();
    ASSERT_EQ(items.size(), 2U) << "the product's line and its default variant's line are one line";
    EXPECT_EQ(items[0].at("variant_id").as_int64(), large);
    EXPECT_EQ(items[0].at("product_id").as_int64(), p);
    EXPECT_EQ(items[0].at("unit_price_cents").as_int64(), 1500);
    EXPECT_EQ(items[1].at("variant_id").as_int64(), base);
    EXPECT_EQ(items[1].at("quantity").as_int64(), 2);
    EXPECT_EQ(variant_stock(large), 1);
    EXPECT_EQ(variant_stock(base), 3);
    EXPECT_EQ(stock(p), 4);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE reason = 'order_reserved' AND product_id = $1",
                     db::params(p)),
              2);
    expect_audit_clean();

    const auto id = body.at("id").as_int64();
    ASSERT_TRUE(run(service->cancel(id, user_, false)));
    EXPECT_EQ(variant_stock(large), 3);
    EXPECT_EQ(variant_stock(base), 5);
    EXPECT_EQ(stock(p), 8);
    expect_audit_clean();
}

// A sold-out variant does not make its siblings sold out, and concurrent buyers of one variant
// get exactly its units.
TEST_P(OrdersTest, OneVariantSellsOutWhileItsSiblingsKeepTheirStock) {
    auto service = make_service(GetParam());
    const auto p = product(50);
    const auto red = variant(p, 10);
    std::vector<std::vector<OrderLine>> orders(60, std::vector<OrderLine>{OrderLine{std::nullopt, 1, red}});
    auto outcomes = buy_all(*service, std::move(orders));
    const auto [created, out_of_stock] = tally(outcomes);
    EXPECT_EQ(created, 10);
    EXPECT_EQ(out_of_stock, 50);
    EXPECT_EQ(variant_stock(red), 0);
    EXPECT_EQ(variant_stock(default_variant(p)), 50);
    EXPECT_EQ(stock(p), 50);
    NewOrder sibling;
    sibling.items = {{p, 2}};
    sibling.shipping_address = json::object{{"city", "Oslo"}};
    auto r = run(service->place_order(user_, "sibling", sibling, "fp:sibling"));
    ASSERT_TRUE(r && !r->failure);
    EXPECT_EQ(variant_stock(default_variant(p)), 48);
    expect_audit_clean();
}

// A variant that does not exist, is inactive, or is named with another product's id cannot be
// ordered; the error names the variant, and nothing is taken.
TEST_P(OrdersTest, UnknownInactiveAndForeignVariantsAreNamed) {
    auto service = make_service(GetParam());
    const auto p = product(5);
    const auto q = product(5);
    const auto inactive = variant(p, 4, std::nullopt, false);
    const auto other = variant(q, 4);
    const auto refused = [&](OrderLine line, const std::string& key) {
        NewOrder order;
        order.items = {line};
        order.shipping_address = json::object{{"city", "Oslo"}};
        auto r = run(service->place_order(user_, key, order, "fp:" + key));
        EXPECT_TRUE(r && r->failure) << key;
        return r && r->failure ? r->failure->code == core::Errc::kValidation &&
                                     r->failure->message.find("variant") != std::string::npos
                               : false;
    };
    EXPECT_TRUE(refused(OrderLine{std::nullopt, 1, 999'999'999}, "missing"));
    EXPECT_TRUE(refused(OrderLine{std::nullopt, 1, inactive}, "inactive"));
    EXPECT_TRUE(refused(OrderLine{p, 1, other}, "foreign"));
    EXPECT_EQ(variant_stock(inactive), 4);
    EXPECT_EQ(variant_stock(other), 4);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 0);
    expect_audit_clean();
}

// Units held by carts are not for sale: only stock − held can be ordered.
TEST_P(OrdersTest, HeldUnitsCannotBeOrdered) {
    auto service = make_service(GetParam());
    const auto p = product(10);
    const auto v = variant(p, 5);
    // A cart holds 3 of the 5 units.
    const auto cart = scalar("INSERT INTO carts (user_id, expires_at) VALUES ($1, now() + interval '1 hour') RETURNING id",
                             db::params(user_));
    scalar("INSERT INTO cart_lines (cart_id, variant_id, product_id, quantity, quoted_price_cents, held, "
           "hold_started_at, hold_expires_at) VALUES ($1, $2, $3, 3, 1000, 3, now(), now() + interval '1 hour') "
           "RETURNING id",
           db::params(cart, v, p));
    scalar("UPDATE product_variants SET held = 3 WHERE id = $1 RETURNING id", db::params(v));
    NewOrder order;
    order.items = {OrderLine{std::nullopt, 3, v}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto r = run(service->place_order(user_, "held-3", order, "fp:held-3"));
    ASSERT_TRUE(r && r->failure);
    EXPECT_EQ(r->failure->code, core::Errc::kOutOfStock);
    order.items = {OrderLine{std::nullopt, 2, v}};
    auto two = run(service->place_order(user_, "held-2", order, "fp:held-2"));
    ASSERT_TRUE(two && !two->failure);
    EXPECT_EQ(variant_stock(v), 3);
    EXPECT_EQ(scalar("SELECT held::bigint FROM product_variants WHERE id = $1", db::params(v)), 3);
    expect_audit_clean();
}

TEST_P(OrdersTest, CancelAndExpiryReturnStock) {
    auto service = make_service(GetParam());
    const auto p = product(10);
    auto order = place(*service, {{p, 4}}, "c1", user_);
    EXPECT_EQ(stock(p), 6);
    const auto stranger = user("stranger@example.com");
    auto foreign = run(service->cancel(order.id, stranger, false));
    ASSERT_FALSE(foreign);
    EXPECT_EQ(foreign.error().code, core::Errc::kNotFound);
    auto cancelled = run(service->cancel(order.id, user_, false));
    ASSERT_TRUE(cancelled);
    EXPECT_EQ(cancelled->status, OrderStatus::kCancelled);
    EXPECT_EQ(stock(p), 10);
    EXPECT_EQ(movements(p, "order_cancelled"), 1);
    auto twice = run(service->cancel(order.id, user_, true));
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, core::Errc::kConflict);

    // paid → fulfilled; fulfilling an unpaid order is a conflict.
    auto paid = place(*service, {{p, 1}}, "c2", user_);
    auto early = run(service->fulfil(paid.id));
    ASSERT_FALSE(early);
    EXPECT_EQ(early.error().code, core::Errc::kConflict);
    EXPECT_EQ(purchases(p), 0);
    const auto payment = captured_payment(paid.id);
    auto applied = run(service->mark_paid(paid.id, payment));
    ASSERT_TRUE(applied);
    EXPECT_EQ(applied->kind, PaymentApplied::Kind::kPaid);
    EXPECT_EQ(applied->order.paid_payment_id, payment);
    EXPECT_EQ(purchases(p), 1);  // the ranking's popularity counts paid units
    // Paying again: by the same payment (a redelivery) or by another one (a second charge).
    auto again = run(service->mark_paid(paid.id, payment));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->kind, PaymentApplied::Kind::kAlreadyPaidByIt);
    auto other = run(service->mark_paid(paid.id, captured_payment(paid.id)));
    ASSERT_TRUE(other);
    EXPECT_EQ(other->kind, PaymentApplied::Kind::kPaidByAnother);
    EXPECT_EQ(purchases(p), 1);
    auto fulfilled = run(service->fulfil(paid.id));
    ASSERT_TRUE(fulfilled);
    EXPECT_EQ(fulfilled->status, OrderStatus::kFulfilled);
    EXPECT_EQ(stock(p), 9);

    // Orders with a zero TTL are due at once.
    auto quick = make_service(GetParam(), 0s);
    auto due = place(*quick, {{p, 5}}, "c3", user_);
    EXPECT_EQ(stock(p), 4);
    EXPECT_EQ(run(quick->expire_due()), 1);
    EXPECT_EQ(stock(p), 9);
    EXPECT_EQ(movements(p, "order_expired"), 1);
    auto expired = run(quick->get_order(due.id, user_, false));
    ASSERT_TRUE(expired);
    EXPECT_EQ(expired->status, OrderStatus::kExpired);
    EXPECT_EQ(run(quick->expire_due()), 0);
    expect_audit_clean();

    // Listing: own orders only, newest first, keyset pages.
    auto page = run(service->list_orders(orders::OrderFilter{.user_id = user_}, 2, std::nullopt));
    ASSERT_TRUE(page);
    ASSERT_EQ(page->items.size(), 2U);
    EXPECT_EQ(page->items[0].id, due.id);
    ASSERT_TRUE(page->next_cursor);
    auto rest = run(service->list_orders(orders::OrderFilter{.user_id = user_}, 2, page->next_cursor));
    ASSERT_TRUE(rest);
    EXPECT_EQ(rest->items.size(), 1U);
    EXPECT_FALSE(rest->next_cursor);
    auto none = run(service->list_orders(orders::OrderFilter{.user_id = stranger}, 10, std::nullopt));
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->items.empty());
}

TEST_F(OrdersTest, AbandonedInProgressKeyIsTakenOverBySameRequestOnly) {
    auto service = make_service(Strategy::kPessimistic);
    const auto p = product(5);
    // A request that died (crash) before committing left its in-progress record behind.
    scalar("INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) "
           "VALUES ($1, 'crashed', $2::bytea, now() - interval '10 minutes') RETURNING 1::bigint",
           db::params(user_, db::Param::bytea(sha256("fp:crashed"))));
    scalar("INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, 'running', $2::bytea) "
           "RETURNING 1::bigint",
           db::params(user_, db::Param::bytea(sha256("fp:running"))));
    NewOrder order;
    order.items = {{p, 1}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto other = run(service->place_order(user_, "crashed", order, "fp:other"));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, core::Errc::kValidation);
    auto running = run(service->place_order(user_, "running", order, "fp:running"));
    ASSERT_FALSE(running);
    EXPECT_EQ(running.error().code, core::Errc::kConflict);
    auto retried = run(service->place_order(user_, "crashed", order, "fp:crashed"));
    ASSERT_TRUE(retried && !retried->failure);
    EXPECT_FALSE(retried->replayed);
    EXPECT_EQ(stock(p), 4);
}

TEST_F(OrdersTest, DualRejectsAStaleFencingToken) {
    auto service = make_service(Strategy::kDual);
    const auto p = product(5);
    // A later lock holder already wrote a higher token: our write must not land.
    scalar("UPDATE product_variants SET fence_token = 1000000 WHERE product_id = $1 RETURNING id", db::params(p));
    NewOrder order;
    order.items = {{p, 1}};
    order.shipping_address = json::object{{"city", "Oslo"}};
    auto r = run(service->place_order(user_, "fenced", order, "f"));
    ASSERT_TRUE(r && r->failure);
    EXPECT_EQ(r->failure->code, core::Errc::kConflict);
    EXPECT_EQ(stock(p), 5);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 0);
    expect_audit_clean();
}

TEST_F(OrdersTest, RedisGroupCommitBelievesTheDatabaseOverADriftedMirror) {
    auto service = make_service(Strategy::kRedis);
    const auto a = product(5, 300);
    const auto b = product(100, 200);
    // The mirror believes there are 40 of `a`: the database, checked in the batch, decides.
    run(redis_->command(redis::cmd("SET", stock_key(a), 40)));
    std::vector<std::vector<OrderLine>> orders;
    for (int i = 0; i < 20; ++i) orders.push_back({{a, 1}});
    for (int i = 0; i < 10; ++i) orders.push_back({{b, 2}});
    for (int i = 0; i < 10; ++i) orders.push_back({{b, 1}, {a, 1}});
    auto outcomes = buy_all(*service, std::move(orders));
    const auto [created, out_of_stock] = tally(outcomes);
    // All 10 orders of `b` alone, and exactly 5 of the 30 that want one `a`.
    EXPECT_EQ(created, 15);
    EXPECT_EQ(out_of_stock, 25);
    EXPECT_EQ(stock(a), 0);
    const auto b_with_a = scalar("SELECT count(*) FROM order_items i JOIN order_items j ON j.order_id = i.order_id "
                                 "WHERE i.product_id = $1 AND j.product_id = $2",
                                 db::params(a, b));
    EXPECT_EQ(stock(b), 100 - 20 - b_with_a);
    // Every order is whole: items, a matching total, its ledger rows, its event and its stored answer.
    EXPECT_EQ(scalar("SELECT count(*) FROM orders o WHERE total_cents <> (SELECT sum(quantity * unit_price_cents) "
                     "FROM order_items i WHERE i.order_id = o.id)"),
              0);
    EXPECT_EQ(scalar("SELECT count(*) FROM order_items"), 15 + b_with_a);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE reason = 'order_reserved'"), 15 + b_with_a);
    EXPECT_EQ(scalar("SELECT count(*) FROM outbox o JOIN orders r ON r.id::text = o.aggregate_id "
                     "WHERE o.event_type = 'order.created'"),
              15);
    EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys k JOIN orders o ON o.user_id = k.user_id "
                     "AND o.idempotency_key = k.key WHERE k.status_code = 201 "
                     "AND (k.response_body::jsonb ->> 'id')::bigint = o.id"),
              15);
    // Orders waiting together were written together (several orders per transaction).
    EXPECT_LT(scalar("SELECT count(DISTINCT xmin::text) FROM orders"), 15);
    // Refused orders gave their mirror units back: 40 - the 5 sold.
    auto mirror = run(redis_->command(redis::cmd("GET", stock_key(a))));
    EXPECT_EQ(mirror.as_int(), 35);
    expect_audit_clean();
}

// The mirror reserves one variant at a time (each variant's keys are in their own hash slot), in
// ascending variant order: a later variant's refusal gives the earlier ones back.
TEST_F(OrdersTest, RedisAnOrderRefusedByALaterVariantGivesTheEarlierOnesBack) {
    auto service = make_service(Strategy::kRedis);
    const auto a = product(5, 300);
    const auto b = product(5, 200);
    const auto mirror = [&](std::int64_t id) { return run(redis_->command(redis::cmd("GET", stock_key(id)))).as_int(); };
    // The mirror has none of `b` left (the database, which it lags, still has some).
    run(redis_->command(redis::cmd("SET", stock_key(a), 5)));
    run(redis_->command(redis::cmd("SET", stock_key(b), 0)));
    ASSERT_EQ(scalar("SELECT CASE WHEN (SELECT id FROM product_variants WHERE product_id = $1 AND is_default) < "
                     "(SELECT id FROM product_variants WHERE product_id = $2 AND is_default) THEN 1 ELSE 0 END",
                     db::params(a, b)),
              1)
        << "`a`'s variant is reserved first";
    std::vector<std::vector<OrderLine>> orders{{{b, 1}, {a, 2}}};
    auto outcomes = buy_all(*service, std::move(orders));
    ASSERT_TRUE(outcomes[0].done);
    EXPECT_TRUE(outcomes[0].failure.empty()) << outcomes[0].failure;
    EXPECT_FALSE(outcomes[0].created);
    EXPECT_EQ(outcomes[0].error, core::Errc::kOutOfStock);
    EXPECT_EQ(mirror(a), 5) << "the units of `a` reserved before `b` was refused were not given back";
    EXPECT_EQ(mirror(b), 0);
    EXPECT_EQ(stock(a), 5);
    // A missing key of the later variant is loaded from the database and the order goes through.
    run(redis_->command(redis::cmd("DEL", stock_key(b))));
    EXPECT_NE(place(*service, {{a, 2}, {b, 1}}, "after-load", user_).id, 0);
    EXPECT_EQ(mirror(a), 3);
    EXPECT_EQ(mirror(b), 4);
    EXPECT_EQ(stock(a), 3);
    EXPECT_EQ(stock(b), 4);
    expect_audit_clean();
}

TEST_F(OrdersTest, RedisGroupCommitARefusedOrderLeavesItsUnitsToTheOrdersAfterIt) {
    auto service = make_service(Strategy::kRedis);
    const auto blocker = product(1, 100);
    const auto a = product(5, 300);
    const auto euro = product(10, 200);
    scalar("UPDATE products SET currency = 'EUR' WHERE id = $1 RETURNING id", db::params(euro));
    // The mirror believes in one more `a` than the database has (stock it did not know was gone):
    // it admits both orders below, and the database, checked in the batch, decides.
    run(redis_->command(redis::cmd("SET", stock_key(a), 6)));
    run(redis_->command(redis::cmd("SET", stock_key(euro), 10)));
    run(redis_->command(redis::cmd("SET", stock_key(blocker), 1)));

    // A first batch (one order) waits for the blocker's row, which the test holds.
    db::ConnectionOptions own;
    own.url = db_.url;
    auto held = run(db::Connection::connect(ctx_.get_executor(), own));
    run(held->query_unprepared("BEGIN"));
    run(held->query_unprepared("SELECT id FROM products WHERE id = $1 FOR UPDATE", db::params(blocker)));
    std::vector<Outcome> outcomes(3);
    const auto spawn = [&](std::size_t i, std::vector<OrderLine> lines) {
        asio::co_spawn(
            ctx_,
            buy(service.get(), user_, "batch-" + std::to_string(i), std::move(lines), &outcomes[i]),
            [o = &outcomes[i]](std::exception_ptr e) {
                if (e) {
                    o->failure = "unhandled exception";
                    o->done = true;
                }
            });
    };
    spawn(0, {{blocker, 1}});
    const auto waiting_for_rows = [&] {
        return scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'");
    };
    for (int i = 0; i < 200 && waiting_for_rows() == 0; ++i) ctx_.run_one_for(10ms);
    ASSERT_EQ(waiting_for_rows(), 1);

    // Meanwhile two checkouts queue for the next batch: one mixing currencies (refused by the
    // batch), then one that needs all 5 units of `a`.
    // Both have reserved in the mirror (this GET's answer comes after theirs on the same
    // connection, so they have queued by the time the loop sees it). The mirror reserves one
    // variant per call, so the first order (two variants) is let finish before the second starts.
    const auto mirror = [&](std::int64_t id) {
        return run(redis_->command(redis::cmd("GET", stock_key(id)))).as_int();
    };
    spawn(1, {{a, 1}, {euro, 1}});
    for (int i = 0; i < 500 && mirror(euro) != 9; ++i) ctx_.run_one_for(1ms);
    ASSERT_EQ(mirror(a), 5);
    spawn(2, {{a, 5}});
    for (int i = 0; i < 500 && (mirror(a) != 0 || mirror(euro) != 9); ++i) ctx_.run_one_for(1ms);
    ASSERT_EQ(mirror(a), 0);
    ASSERT_EQ(mirror(euro), 9);
    EXPECT_FALSE(outcomes[1].done);
    EXPECT_FALSE(outcomes[2].done);

    run(held->query_unprepared("ROLLBACK"));
    held->close();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline &&
           !std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.done; })) {
        ctx_.run_one_for(50ms);
    }
    for (const auto& o : outcomes) {
        ASSERT_TRUE(o.done);
        EXPECT_TRUE(o.failure.empty()) << o.failure;
    }
    EXPECT_TRUE(outcomes[0].created);
    EXPECT_EQ(outcomes[1].error, core::Errc::kValidation);
    EXPECT_TRUE(outcomes[2].created) << "the refused order's unit made the next order look out of stock";
    EXPECT_EQ(stock(a), 0);
    EXPECT_EQ(stock(euro), 10);
    EXPECT_EQ(stock(blocker), 0);
    EXPECT_EQ(scalar("SELECT count(*) FROM orders"), 2);
    // The refused order gave its mirror units back.
    EXPECT_EQ(mirror(euro), 10);
    EXPECT_EQ(mirror(a), 1);
    expect_audit_clean();
}

// ---- the `redis` strategy's stock mirror follows every stock change ----

// The catalog, with its stock changes wired to the inventory's mirror as in `emporium serve`.
std::shared_ptr<catalog::CatalogService> catalog_for(
    db::Pool* pool, const std::shared_ptr<inventory::InventoryService>& inventory) {
    auto catalog = std::make_shared<catalog::CatalogService>(
        catalog::CatalogStore([pool]() -> db::Pool& { return *pool; }),
        catalog::CatalogCache({}, redis::Keys("")));
    catalog->on_stock_change(inventory::mirror_follower(inventory));
    return catalog;
}

// Sets the product's absolute stock through the catalog (retrying when a checkout changed the
// stock meanwhile, as an admin's client does after 412); returns the stock it replaced.
asio::awaitable<std::int64_t> set_stock(catalog::CatalogService* catalog,
                                        db::Pool* pool,
                                        std::int64_t product,
                                        std::int64_t add) {
    for (;;) {
        auto row = co_await pool->query_unprepared(
            "SELECT version, (SELECT coalesce(sum(stock), 0) FROM product_variants WHERE product_id = $1)::bigint "
            "FROM products WHERE id = $1",
            db::params(product));
        catalog::ProductPatch patch;
        patch.expected_version = row.get<std::int64_t>(0, 0);
        const auto before = row.get<std::int64_t>(0, 1);
        patch.expected_stock = before;
        patch.stock = before + add;
        auto updated = co_await catalog->update_product(product, std::move(patch));
        if (updated) co_return before;
        if (updated.error().code != core::Errc::kPreconditionFailed)
            throw std::runtime_error(updated.error().message);
    }
}

TEST_F(OrdersTest, RedisMirrorFollowsAnAdminsRestockAndReduction) {
    auto service = make_service(Strategy::kRedis);
    auto catalog = catalog_for(pool_.get(), inventory_);
    catalog::NewProduct np;
    np.sku = "lamp-" + test::unique_suffix();
    np.name = "Lamp";
    np.price_cents = 1000;
    np.stock = 1;
    auto created = run(catalog->create_product(np));
    ASSERT_TRUE(created);
    const auto p = created->id;
    const auto mirror = [&] {
        auto r = run(redis_->command(redis::cmd("GET", stock_key(p))));
        return r.is_nil() ? std::optional<std::int64_t>() : std::optional<std::int64_t>(r.as_int());
    };
    place(*service, {{p, 1}}, "m1", user_);
    EXPECT_EQ(mirror(), 0);

    // The issue: stock 1, one order (mirror 0), PATCH stock to 50 → the next order was refused.
    EXPECT_EQ(run(set_stock(catalog.get(), pool_.get(), p, 50)), 0);
    EXPECT_FALSE(mirror()) << "dropped, to be reloaded from the database";
    place(*service, {{p, 1}}, "m2", user_);
    EXPECT_EQ(mirror(), 49);
    EXPECT_EQ(stock(p), 49);

    // A reduction below what the mirror believes: the mirror answers with the new figure.
    EXPECT_EQ(run(set_stock(catalog.get(), pool_.get(), p, -47)), 49);
    NewOrder three;
    three.items = {{p, 3}};
    three.shipping_address = json::object{{"city", "Oslo"}};
    auto refused = run(service->place_order(user_, "m3", std::move(three), "fp:m3"));
    ASSERT_TRUE(refused && refused->failure);
    EXPECT_EQ(refused->failure->code, core::Errc::kOutOfStock);
    EXPECT_EQ(mirror(), 2);

    // A return that finds the key gone (evicted, Redis restarted) leaves it to the next load,
    // which reads the database after it.
    auto two = place(*service, {{p, 2}}, "m4", user_);
    EXPECT_EQ(mirror(), 0);
    run(redis_->command(redis::cmd("DEL", stock_key(p))));
    ASSERT_TRUE(run(service->cancel(two.id, user_, false)));
    EXPECT_FALSE(mirror());
    place(*service, {{p, 1}}, "m5", user_);
    EXPECT_EQ(mirror(), 1);
    EXPECT_EQ(stock(p), 1);
    expect_audit_clean();
}

// Checkouts, restocks through the catalog, cancellations and lost mirror keys all at once: the
// database never sells what it does not have (its conditional decrement), and the mirror never
// hides a unit (buying one at a time afterwards sells the stock down to exactly 0).
TEST_F(OrdersTest, RedisMirrorNeitherOversellsNorLosesUnitsWhileStockChanges) {
    auto service = make_service(Strategy::kRedis);
    auto catalog = catalog_for(pool_.get(), inventory_);
    const auto p = product(20);
    const auto key = stock_key(p);
    int next_key = 0;
    std::int64_t supplied = 20;
    std::int64_t cancelled = 0;
    for (int round = 0; round < 5; ++round) {
        std::vector<Outcome> outcomes(15);
        for (auto& o : outcomes) {
            asio::co_spawn(ctx_,
                           buy(service.get(), user_, "s-" + std::to_string(next_key++), {{p, 1}}, &o),
                           [o = &o](std::exception_ptr e) {
                               if (e) {
                                   o->failure = "unhandled exception";
                                   o->done = true;
                               }
                           });
        }
        bool restocked = false;
        asio::co_spawn(ctx_,
                       set_stock(catalog.get(), pool_.get(), p, 10),
                       [&restocked](std::exception_ptr e, std::int64_t) {
                           EXPECT_FALSE(e) << "restock failed";
                           restocked = true;
                       });
        if (round % 2 == 1) run(redis_->command(redis::cmd("DEL", key)));  // a lost key mid-sale
        ctx_.restart();
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline &&
               (!restocked ||
                !std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.done; }))) {
            ctx_.run_one_for(50ms);
        }
        ASSERT_TRUE(restocked);
        supplied += 10;
        tally(outcomes);
        // Two of this round's orders are cancelled (their units come back).
        auto open = run(pool_->query_unprepared(
            "SELECT id FROM orders WHERE status = 'pending_payment' ORDER BY id DESC LIMIT 2"));
        for (std::size_t i = 0; i < open.rows(); ++i) {
            ASSERT_TRUE(run(service->cancel(open.get<std::int64_t>(i, 0), user_, false)));
            ++cancelled;
        }
    }
    // Then one unit at a time until the shop says it is sold out.
    int drained = 0;
    for (; drained < 200; ++drained) {
        NewOrder one;
        one.items = {{p, 1}};
        one.shipping_address = json::object{{"city", "Oslo"}};
        const auto k = "drain-" + std::to_string(drained);
        auto r = run(service->place_order(user_, k, std::move(one), "fp:" + k));
        ASSERT_TRUE(r);
        if (r->failure) {
            EXPECT_EQ(r->failure->code, core::Errc::kOutOfStock);
            break;
        }
    }
    EXPECT_EQ(stock(p), 0) << "every unit supplied could be sold";
    EXPECT_EQ(scalar("SELECT count(*) FROM orders WHERE status = 'pending_payment'"), supplied)
        << "and no more";
    EXPECT_EQ(scalar("SELECT count(*) FROM orders WHERE status = 'cancelled'"), cancelled);
    expect_audit_clean();
}

asio::awaitable<void> hold_lock(inventory::Redlock* redlock, std::string key, int me, std::vector<int>* order) {
    auto lock = co_await redlock->acquire(key);
    if (!lock) co_return;
    order->push_back(me);
    asio::steady_timer work(co_await asio::this_coro::executor, 3ms);
    co_await work.async_wait(asio::use_awaitable);
    co_await redlock->release(std::move(*lock));
}

TEST_F(OrdersTest, RedlockContendersOfOneProcessQueueAndAreHandedTheLockInTurn) {
    auto* live = redis_.get();
    // 4 retries would give up within ~100 ms if everyone polled Redis; 12 holders of 3 ms each
    // queue locally instead and each gets the lock, first come first served.
    inventory::Redlock redlock([live] { return std::vector<redis::Client*>{live}; }, 1000ms, 4);
    std::vector<int> order;
    for (int i = 0; i < 12; ++i) {
        asio::co_spawn(ctx_, hold_lock(&redlock, prefix_ + "lock:queue", i, &order), asio::detached);
    }
    ctx_.restart();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (order.size() < 12 && std::chrono::steady_clock::now() < deadline) ctx_.run_one_for(50ms);
    ASSERT_EQ(order.size(), 12U);
    for (int i = 0; i < 12; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
    // The last holder releases too.
    std::int64_t leftover = 1;
    for (int i = 0; i < 100 && leftover != 0; ++i) {
        ctx_.run_one_for(10ms);
        leftover = run(redis_->command(redis::cmd("EXISTS", prefix_ + "lock:queue"))).as_int();
    }
    EXPECT_EQ(leftover, 0);
}

TEST_F(OrdersTest, RedlockNeedsAMajorityOfMasters) {
    redis::ClientOptions down;
    down.url = "redis://127.0.0.1:1/0";  // nothing listens: every command fails fast
    down.connect_timeout = 200ms;
    auto dead1 = std::make_unique<redis::Client>(ctx_.get_executor(), down);
    auto dead2 = std::make_unique<redis::Client>(ctx_.get_executor(), down);
    // A second "master": database 1 of the test server (a keyspace of its own).
    auto second_options = redis::test::shared_server_options();
    second_options.url = test::test_redis_url() + "/1";
    auto second = std::make_unique<redis::Client>(ctx_.get_executor(), second_options);
    auto* live = redis_.get();
    auto* live2 = second.get();
    auto* d1 = dead1.get();
    auto* d2 = dead2.get();
    // Two live masters + one dead: 2 of 3.
    inventory::Redlock majority([live, live2, d1] { return std::vector<redis::Client*>{live, live2, d1}; }, 1000ms, 3);
    auto lock = run(majority.acquire(prefix_ + "lock:a"));
    ASSERT_TRUE(lock);
    EXPECT_GT(lock->validity, 900ms);
    EXPECT_LE(lock->validity, 988ms);
    // Held: a second acquisition of the same key fails after its retries.
    EXPECT_FALSE(run(majority.acquire(prefix_ + "lock:a")));
    run(majority.release(*lock));
    auto again = run(majority.acquire(prefix_ + "lock:a"));
    ASSERT_TRUE(again);
    run(majority.release(*again));
    // One live of three: no quorum, and the partial lock is released again.
    inventory::Redlock minority([live, d1, d2] { return std::vector<redis::Client*>{live, d1, d2}; }, 1000ms, 2);
    EXPECT_FALSE(run(minority.acquire(prefix_ + "lock:b")));
    auto leftover = run(redis_->command(redis::cmd("EXISTS", prefix_ + "lock:b")));
    EXPECT_EQ(leftover.as_int(), 0);
    dead1->close();
    dead2->close();
    second->close();
}

INSTANTIATE_TEST_SUITE_P(Strategies,
                         OrdersTest,
                         ::testing::Values(Strategy::kPessimistic, Strategy::kDual, Strategy::kOptimistic, Strategy::kRedis),
                         [](const ::testing::TestParamInfo<Strategy>& param_info) {
                             return std::string(inventory::strategy_name(param_info.param));
                         });

}  // namespace
}  // namespace emporium::orders
