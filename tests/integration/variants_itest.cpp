// A product's options and variants through CatalogService against the real test PostgreSQL and
// Redis: each variant's own stock, price and ledger (the inventory audit stays clean), unique
// combinations and SKUs, the options every variant must name, PATCH with its version and never
// below the held units, soft delete, and the product detail (options, variants, price range) with
// its cache invalidated by every variant write.
#include "catalog/catalog_service.hpp"
#include "integration/redis_support.hpp"
#include "inventory/inventory_store.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace emporium::catalog {
namespace {

namespace asio = boost::asio;

class VariantsTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 4;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:variants:" + test::unique_suffix() + ":";
        CatalogStore store([p = pool_.get()]() -> db::Pool& { return *p; });
        CatalogCache::ClientProvider clients = [r = redis_.get()]() -> redis::Client& { return *r; };
        service_ = std::make_unique<CatalogService>(std::move(store), CatalogCache(clients, redis::Keys(prefix_)));
        service_->on_stock_change(&VariantsTest::record_stock_change);
        stock_changes().clear();
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }

    static std::vector<std::int64_t>& stock_changes() {
        static std::vector<std::int64_t> changes;
        return changes;
    }
    static asio::awaitable<void> record_stock_change(std::int64_t product_id) {
        stock_changes().push_back(product_id);
        co_return;
    }

    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw));
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        return run(pool_->query_unprepared(std::move(text), std::move(params))).get<std::int64_t>(0, 0);
    }
    Product product(std::string sku, std::int64_t price, std::int64_t stock) {
        NewProduct in;
        in.sku = std::move(sku);
        in.name = "Shirt";
        in.price_cents = price;
        in.stock = stock;
        auto p = run(service_->create_product(std::move(in)));
        EXPECT_TRUE(p) << (p ? "" : p.error().message);
        return p ? *p : Product{};
    }
    static VariantInput input(std::string sku,
                              std::vector<VariantOption> options,
                              std::int64_t stock,
                              std::optional<std::int64_t> price = std::nullopt) {
        VariantInput in;
        in.sku = std::move(sku);
        in.options = std::move(options);
        in.stock = stock;
        in.price_cents = price;
        return in;
    }
    Variant variant(std::int64_t product_id, VariantInput in) {
        auto v = run(service_->create_variant(product_id, std::move(in)));
        EXPECT_TRUE(v) << (v ? "" : v.error().message);
        return v ? *v : Variant{};
    }
    std::int64_t ledger_of_variant(std::int64_t variant_id) {
        return scalar("SELECT coalesce(sum(delta), 0)::bigint FROM inventory_movements WHERE variant_id = $1",
                      db::params(variant_id));
    }
    std::int64_t variant_stock(std::int64_t variant_id) {
        return scalar("SELECT stock::bigint FROM product_variants WHERE id = $1", db::params(variant_id));
    }
    void expect_audit_clean() {
        inventory::InventoryStore inventory([p = pool_.get()]() -> db::Pool& { return *p; });
        auto mismatches = run(inventory.audit());
        EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " mismatches, first id "
                                        << (mismatches.empty() ? 0 : mismatches.front().id);
    }
    Variant patch(std::int64_t id, VariantPatch p) {
        auto v = run(service_->update_variant(id, std::move(p)));
        EXPECT_TRUE(v) << (v ? "" : v.error().message);
        return v ? *v : Variant{};
    }
    static core::Errc code_of(const core::Result<Variant>& r) { return r ? core::Errc::kInternal : r.error().code; }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::string prefix_;
    std::unique_ptr<CatalogService> service_;
};

TEST_F(VariantsTest, VariantsHaveTheirOwnStockPriceAndLedger) {
    auto p = product("TEE", 2000, 4);
    auto small = variant(p.id, input("TEE-S-RED", {{"Size", "S"}, {"Colour", "Red"}}, 7));
    auto large = variant(p.id, input("TEE-L-RED", {{"Size", "L"}, {"Colour", "Red"}}, 3, 2500));

    EXPECT_EQ(small.price_cents, 2000);
    EXPECT_FALSE(small.price_override_cents);
    EXPECT_EQ(large.price_cents, 2500);
    EXPECT_EQ(large.price_override_cents, 2500);
    EXPECT_EQ(small.available, 7);
    ASSERT_EQ(small.options.size(), 2U);
    EXPECT_EQ(small.options[0].option, "Size");
    EXPECT_EQ(small.options[0].value, "S");
    EXPECT_EQ(small.options[1].option, "Colour");

    // Each variant opens its own ledger; the product's stock is the sum.
    EXPECT_EQ(ledger_of_variant(small.id), 7);
    EXPECT_EQ(ledger_of_variant(large.id), 3);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE variant_id = $1 AND reason = 'initial'",
                     db::params(small.id)),
              1);
    EXPECT_EQ(scalar("SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1", db::params(p.id)), 14);
    EXPECT_EQ(scalar("SELECT count(*) FROM product_options WHERE product_id = $1", db::params(p.id)), 2);
    EXPECT_EQ(scalar("SELECT count(*) FROM product_option_values v JOIN product_options o ON o.id = v.option_id "
                     "WHERE o.product_id = $1",
                     db::params(p.id)),
              3);  // S, L, Red
    expect_audit_clean();
    EXPECT_EQ(stock_changes(), (std::vector<std::int64_t>{p.id, p.id, p.id}));  // product + 2 variants

    // Restock one variant and adjust the other down: one ledger row each, the audit stays clean.
    auto restocked = patch(small.id, VariantPatch{.expected_version = small.version, .stock = 10});
    EXPECT_EQ(restocked.stock, 10);
    EXPECT_EQ(restocked.version, small.version + 1);
    auto adjusted = patch(large.id, VariantPatch{.expected_version = large.version, .stock = 1});
    EXPECT_EQ(scalar("SELECT delta::bigint FROM inventory_movements WHERE variant_id = $1 AND reason = 'restock'",
                     db::params(small.id)),
              3);
    EXPECT_EQ(scalar("SELECT delta::bigint FROM inventory_movements WHERE variant_id = $1 AND reason = 'adjustment'",
                     db::params(large.id)),
              -2);
    EXPECT_EQ(scalar("SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1", db::params(p.id)), 4 + 10 + 1);
    expect_audit_clean();

    // Clearing the override falls back to the product's price; a price change leaves no ledger row.
    VariantPatch clear{.expected_version = adjusted.version};
    clear.price_cents = std::optional<std::int64_t>{};
    auto cleared = patch(large.id, clear);
    EXPECT_EQ(cleared.price_cents, 2000);
    EXPECT_FALSE(cleared.price_override_cents);
    EXPECT_EQ(scalar("SELECT count(*) FROM inventory_movements WHERE variant_id = $1", db::params(large.id)), 2);

    // The detail: options with their values, the active variants, the price range.
    auto cheap = variant(p.id, input("TEE-S-BLUE", {{"Colour", "Blue"}, {"Size", "S"}}, 0, 1500));
    auto detail = run(service_->get_product(p.id));
    ASSERT_TRUE(detail);
    ASSERT_TRUE(detail->variants);
    EXPECT_EQ(detail->variants->size(), 4U);  // the default variant and three
    ASSERT_TRUE(detail->price_range);
    EXPECT_EQ(detail->price_range->min_cents, 1500);
    EXPECT_EQ(detail->price_range->max_cents, 2000);
    ASSERT_TRUE(detail->options);
    ASSERT_EQ(detail->options->size(), 2U);
    EXPECT_EQ((*detail->options)[0].name, "Size");
    EXPECT_EQ((*detail->options)[0].values, (std::vector<std::string>{"S", "L"}));
    EXPECT_EQ((*detail->options)[1].values, (std::vector<std::string>{"Red", "Blue"}));
    const auto& blue = detail->variants->back();
    EXPECT_EQ(blue.id, cheap.id);
    EXPECT_FALSE(blue.in_stock);
    EXPECT_EQ(blue.options[0].option, "Size");  // the product's option order, not the request's

    // The cached detail follows a variant write (the cache entry is dropped).
    auto again = run(service_->get_product(p.id));
    ASSERT_TRUE(again);
    auto blue_now = run(service_->get_variant(cheap.id, false));
    ASSERT_TRUE(blue_now);
    patch(cheap.id, VariantPatch{.expected_version = blue_now->version, .price_cents = std::optional<std::int64_t>{900}});
    auto after = run(service_->get_product(p.id));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->price_range->min_cents, 900);
    EXPECT_GT(after->version, again->version);

    // Orders see the variants' stock: the live list.
    auto listed = run(service_->list_variants(p.id, false));
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->items.size(), 4U);
    expect_audit_clean();
}

// Two transactions each empty one variant of one product (two checkouts of its last units). The
// product's stored total is read again when a variant crosses zero (0013); the second transaction's
// trigger waits for the first's lock on the product and reads the total only after it, so the
// product ends out of stock. A total read in the statement that waited would still count the first
// variant's unit (its snapshot predates the first commit) and leave the product listed in stock.
TEST_F(VariantsTest, TwoVariantsEmptiedConcurrentlyLeaveTheProductOutOfStock) {
    auto p = product("LAST", 1000, 1);
    auto other = variant(p.id, input("LAST-B", {{"Size", "B"}}, 1));
    const auto first = scalar("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", db::params(p.id));
    ASSERT_EQ(scalar("SELECT stock::bigint FROM products WHERE id = $1", db::params(p.id)), 2);

    db::ConnectionOptions options;
    options.url = db_.url;
    asio::io_context io;
    auto one = test::run_coro(io, db::Connection::connect(io.get_executor(), options));
    test::run_coro(io, one->query_unprepared("BEGIN"));
    test::run_coro(io, one->query_unprepared("UPDATE product_variants SET stock = 0 WHERE id = $1", db::params(first)));
    std::atomic<bool> second_done{false};
    std::thread second([&] {
        asio::io_context io2;
        auto two = test::run_coro(io2, db::Connection::connect(io2.get_executor(), options));
        test::run_coro(io2, two->query_unprepared("UPDATE product_variants SET stock = 0 WHERE id = $1",
                                                  db::params(other.id)));
        two->close();
        second_done = true;
    });
    // The second waits for the product's row, which the first's trigger locked.
    for (int i = 0; i < 500 && scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND wait_event_type = 'Lock'") == 0;
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(second_done.load());
    test::run_coro(io, one->query_unprepared("COMMIT"));
    one->close();
    second.join();
    EXPECT_EQ(scalar("SELECT stock::bigint FROM products WHERE id = $1", db::params(p.id)), 0);
    EXPECT_EQ(run(service_->get_product(p.id, true))->stock, 0);
}

TEST_F(VariantsTest, CombinationsAndSkusAreUniqueAndOptionsMustMatch) {
    auto p = product("CAP", 1000, 0);
    variant(p.id, input("CAP-M", {{"Size", "M"}}, 1));

    auto same = run(service_->create_variant(p.id, input("CAP-M-2", {{"Size", "M"}}, 1)));
    EXPECT_EQ(code_of(same), core::Errc::kConflict);
    auto sku = run(service_->create_variant(p.id, input("CAP-M", {{"Size", "L"}}, 1)));
    EXPECT_EQ(code_of(sku), core::Errc::kConflict);
    // Another product's SKU is taken too (its default variant carries it).
    auto other = product("HAT", 1000, 0);
    auto taken = run(service_->create_variant(p.id, input("HAT", {{"Size", "XL"}}, 1)));
    EXPECT_EQ(code_of(taken), core::Errc::kConflict);

    auto fewer = run(service_->create_variant(p.id, input("CAP-X", {}, 1)));
    EXPECT_EQ(code_of(fewer), core::Errc::kValidation);
    auto renamed = run(service_->create_variant(p.id, input("CAP-Y", {{"Colour", "Red"}}, 1)));
    EXPECT_EQ(code_of(renamed), core::Errc::kValidation);
    auto more = run(service_->create_variant(p.id, input("CAP-Z", {{"Size", "S"}, {"Colour", "Red"}}, 1)));
    EXPECT_EQ(code_of(more), core::Errc::kValidation);
    // No options at all is the default variant's combination.
    auto plain = run(service_->create_variant(other.id, input("HAT-2", {}, 1)));
    EXPECT_EQ(code_of(plain), core::Errc::kConflict);
    auto missing = run(service_->create_variant(999'999, input("NOPE", {{"Size", "S"}}, 1)));
    EXPECT_EQ(code_of(missing), core::Errc::kNotFound);

    // Nothing of the refused ones was written: one option, one value, one variant besides the default.
    EXPECT_EQ(scalar("SELECT count(*) FROM product_options WHERE product_id = $1", db::params(p.id)), 1);
    EXPECT_EQ(scalar("SELECT count(*) FROM product_variants WHERE product_id = $1", db::params(p.id)), 2);
    EXPECT_EQ(scalar("SELECT count(*) FROM product_variants WHERE sku IN ('CAP-M-2', 'CAP-X', 'CAP-Y', 'CAP-Z')"), 0);
    expect_audit_clean();
}

TEST_F(VariantsTest, PatchVariantNeedsItsVersionAndCannotGoBelowHeld) {
    auto p = product("MUG", 800, 0);
    auto v = variant(p.id, input("MUG-BIG", {{"Size", "Big"}}, 5));

    auto unversioned = run(service_->update_variant(v.id, VariantPatch{.stock = 6}));
    EXPECT_EQ(code_of(unversioned), core::Errc::kPreconditionRequired);
    auto stale = run(service_->update_variant(v.id, VariantPatch{.expected_version = v.version + 7, .stock = 6}));
    EXPECT_EQ(code_of(stale), core::Errc::kPreconditionFailed);
    auto absent = run(service_->update_variant(999'999, VariantPatch{.expected_version = 1, .stock = 6}));
    EXPECT_EQ(code_of(absent), core::Errc::kNotFound);

    // Carts hold 3 units (written as a cart would): the stock cannot go below them.
    scalar("UPDATE product_variants SET held = 3 WHERE id = $1 RETURNING id", db::params(v.id));
    auto current = run(service_->get_variant(v.id, false));
    ASSERT_TRUE(current);
    EXPECT_EQ(current->available, 2);
    auto below = run(service_->update_variant(v.id, VariantPatch{.expected_version = current->version, .stock = 2}));
    EXPECT_EQ(code_of(below), core::Errc::kConflict);
    EXPECT_EQ(variant_stock(v.id), 5);
    auto to_held = patch(v.id, VariantPatch{.expected_version = current->version, .stock = 3});
    EXPECT_EQ(to_held.available, 0);
    EXPECT_FALSE(to_held.in_stock);

    // Another variant's SKU is a conflict; nothing changes.
    auto w = variant(p.id, input("MUG-SMALL", {{"Size", "Small"}}, 1));
    auto dup = run(service_->update_variant(w.id, VariantPatch{.expected_version = w.version, .sku = "MUG-BIG"}));
    EXPECT_EQ(code_of(dup), core::Errc::kConflict);
    EXPECT_EQ(ledger_of_variant(v.id), 3);
    // The carts' units released as a cart would (the audit checks held against the cart lines).
    scalar("UPDATE product_variants SET held = 0 WHERE id = $1 RETURNING id", db::params(v.id));
    expect_audit_clean();
}

TEST_F(VariantsTest, DeleteIsSoftAndNeverTheDefaultVariant) {
    auto p = product("BAG", 5000, 2);
    auto v = variant(p.id, input("BAG-RED", {{"Colour", "Red"}}, 4));

    auto default_id = scalar("SELECT id FROM product_variants WHERE product_id = $1 AND is_default", db::params(p.id));
    auto refused = run(service_->delete_variant(default_id));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, core::Errc::kConflict);

    stock_changes().clear();
    ASSERT_TRUE(run(service_->delete_variant(v.id)));
    EXPECT_EQ(stock_changes(), std::vector<std::int64_t>{p.id});
    EXPECT_EQ(scalar("SELECT count(*) FROM product_variants WHERE id = $1 AND deleted_at IS NOT NULL AND NOT is_active",
                     db::params(v.id)),
              1);
    // Its units left through the ledger; the product keeps the default variant's.
    EXPECT_EQ(variant_stock(v.id), 0);
    EXPECT_EQ(scalar("SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1", db::params(p.id)), 2);
    expect_audit_clean();

    auto again = run(service_->delete_variant(v.id));
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, core::Errc::kNotFound);
    EXPECT_EQ(code_of(run(service_->get_variant(v.id, false))), core::Errc::kNotFound);
    EXPECT_EQ(code_of(run(service_->get_variant(v.id, true))), core::Errc::kNotFound);
    auto patched = run(service_->update_variant(v.id, VariantPatch{.expected_version = 2, .stock = 1}));
    EXPECT_EQ(code_of(patched), core::Errc::kNotFound);

    // The combination stays taken by the deleted row (its ledger history names it).
    auto same = run(service_->create_variant(p.id, input("BAG-RED-2", {{"Colour", "Red"}}, 1)));
    EXPECT_EQ(code_of(same), core::Errc::kConflict);

    auto detail = run(service_->get_product(p.id));
    ASSERT_TRUE(detail && detail->variants);
    EXPECT_EQ(detail->variants->size(), 1U);
    auto listed = run(service_->list_variants(p.id, true));
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->items.size(), 1U);
}

TEST_F(VariantsTest, InactiveVariantsAndHiddenProductsAreHiddenFromThePublic) {
    auto p = product("PEN", 300, 0);
    auto v = variant(p.id, input("PEN-BLUE", {{"Ink", "Blue"}}, 9));
    auto off = patch(v.id, VariantPatch{.expected_version = v.version, .is_active = false});
    EXPECT_FALSE(off.is_active);
    EXPECT_EQ(code_of(run(service_->get_variant(v.id, false))), core::Errc::kNotFound);
    EXPECT_TRUE(run(service_->get_variant(v.id, true)));
    auto pub = run(service_->list_variants(p.id, false));
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->items.size(), 1U);
    auto admin = run(service_->list_variants(p.id, true));
    ASSERT_TRUE(admin);
    EXPECT_EQ(admin->items.size(), 2U);

    ASSERT_TRUE(run(service_->delete_product(p.id)));
    auto gone = run(service_->list_variants(p.id, false));
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, core::Errc::kNotFound);
    EXPECT_FALSE(run(service_->list_variants(999'999, true)));
}

TEST_F(VariantsTest, ListingsShowThePriceRangeKeptByTheDatabase) {
    auto p = product("SHOE", 5000, 1);
    auto range_of = [&](std::int64_t id) {
        return std::pair{scalar("SELECT price_min_cents FROM products WHERE id = $1", db::params(id)),
                         scalar("SELECT price_max_cents FROM products WHERE id = $1", db::params(id))};
    };
    EXPECT_EQ(range_of(p.id), (std::pair<std::int64_t, std::int64_t>{5000, 5000}));
    auto cheap = variant(p.id, input("SHOE-40", {{"Size", "40"}}, 2, 4000));
    auto dear = variant(p.id, input("SHOE-46", {{"Size", "46"}}, 2, 7000));
    EXPECT_EQ(range_of(p.id), (std::pair<std::int64_t, std::int64_t>{4000, 7000}));

    ListQuery q;
    q.sort = ListSort::kNewest;
    auto page = run(service_->list_products(q));
    ASSERT_TRUE(page);
    ASSERT_EQ(page->items.size(), 1U);
    ASSERT_TRUE(page->items[0].product.price_range);
    EXPECT_EQ(page->items[0].product.price_range->min_cents, 4000);
    EXPECT_EQ(page->items[0].product.price_range->max_cents, 7000);
    // The cached page carries it too.
    auto cached = run(service_->list_products(q));
    ASSERT_TRUE(cached && cached->items.size() == 1U && cached->items[0].product.price_range);
    EXPECT_EQ(cached->items[0].product.price_range->max_cents, 7000);

    // A deactivated variant leaves the range, a deleted one too; the product's price moves the
    // variants without an override.
    patch(dear.id, VariantPatch{.expected_version = dear.version, .is_active = false});
    EXPECT_EQ(range_of(p.id), (std::pair<std::int64_t, std::int64_t>{4000, 5000}));
    ASSERT_TRUE(run(service_->delete_variant(cheap.id)));
    EXPECT_EQ(range_of(p.id), (std::pair<std::int64_t, std::int64_t>{5000, 5000}));
    auto current = run(service_->get_product(p.id, true));
    ASSERT_TRUE(current);
    ProductPatch reprice;
    reprice.expected_version = current->version;
    reprice.price_cents = 6000;
    ASSERT_TRUE(run(service_->update_product(p.id, reprice)));
    EXPECT_EQ(range_of(p.id), (std::pair<std::int64_t, std::int64_t>{6000, 6000}));
    auto after = run(service_->list_products(q));
    ASSERT_TRUE(after && after->items.size() == 1U && after->items[0].product.price_range);
    EXPECT_EQ(after->items[0].product.price_range->min_cents, 6000);
    expect_audit_clean();
}

}  // namespace
}  // namespace emporium::catalog
