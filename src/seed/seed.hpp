#pragma once
// Deterministic demo / benchmark data (`emporium seed`), loaded with COPY … FROM STDIN.
//
// Every row is a pure function of (seed, table, row number): the same options always produce the
// same rows, any row can be produced without the others, and nothing is kept in memory except a
// few per-product counters (purchase counts, rating sums) and the list of reviewed
// (product, user) pairs. Timestamps are relative to an anchor, the start of the UTC day of the
// run, so they are identical for runs on the same day (the generator takes the anchor explicitly).
//
// What is generated (see seed.cpp for the exact shapes):
//   categories  a fixed tree, 8 top-level categories with 5 leaves each; products use leaves only
//   users       user<N>@example.com, all with one Argon2id hash of kDemoPassword, role customer
//   products    names from word lists ("Sonora Premium Wireless Headphones Q240", "Apple iPhone 15 Pro"),
//               two-paragraph descriptions, log-normal-ish prices, stock, created_at in the last
//               90 days; purchase_count = units in the seeded orders; rating_sum / rating_count =
//               the seeded reviews
//   orders      paid or fulfilled, in the past, 1–5 distinct products each; products are grouped
//               in bundles of kBundleSize (same category and brand) that tend to be bought
//               together, and popularity is Zipf-like (log-uniform over a permutation of ids)
//   reviews     every 20th order line on average becomes a verified review (one per user and
//               product), capped at kMaxReviews rows
//   ledger      one 'initial' inventory movement per product with delta = stock, dated at the
//               anchor: the seeded order history predates the ledger's opening balance, so
//               products.stock = Σ inventory_movements.delta holds from the start.

#include <boost/asio/awaitable.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::db {
class Pool;
}

namespace emporium::seed {

struct SeedOptions {
    std::int64_t products = 200;
    std::int64_t users = 50;
    std::int64_t orders = 500;
    std::uint64_t seed = 42;
    bool only_if_empty = false;
};

struct SeedReport {
    std::int64_t categories = 0;
    std::int64_t products = 0;
    std::int64_t users = 0;
    std::int64_t orders = 0;
    std::int64_t order_items = 0;
    std::int64_t reviews = 0;
    double seconds = 0;
    bool skipped = false;
};

// The password of every seeded user (documented demo credential; never use seeded data in
// production).
inline constexpr std::string_view kDemoPassword = "emporium-demo-password";

// The database is not in a state the seeder can load into (e.g. rows already present without
// only_if_empty), or the options are invalid.
class SeedError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Loads deterministic demo data with COPY. Same options → identical rows (timestamps are relative
// to the start of the current UTC day).
// - only_if_empty and products already has rows: does nothing, returns skipped = true.
// - otherwise the catalog, users, orders, reviews and ledger tables must be empty: throws
//   SeedError if not (explicit ids are loaded, so rows could collide).
// Loading: categories → (products, users) → (orders, reviews, ledger) → order_items, in that order
// because of the foreign keys; big tables are cut into row ranges that load concurrently (one COPY
// per range, up to 3 pooled connections at once; a smaller pool works too, just slower). Then the
// identity sequences are moved past the loaded ids and the tables are ANALYZEd.
// Not atomic: each range is its own COPY transaction; after a failure, recreate the database.
// Orders need users and products: with users == 0 or products == 0 no orders are generated.
// The Dataset pre-pass and the password hash run on the calling thread (about a second per
// million orders): fine for the one-shot `seed` command, not for a serving I/O thread.
// Throws db:: errors on database failures. `pool` must outlive the call (awaited directly) and be
// used from its own executor's thread only (the load coroutines share state without locks).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): callers await it directly
boost::asio::awaitable<SeedReport> run(db::Pool& pool, SeedOptions options);

// ================================================================================================
// The pure generator (no I/O), exposed for tests and benchmarks.
// ================================================================================================

inline constexpr std::int64_t kBundleSize = 4;
inline constexpr std::int64_t kMaxReviews = 1'000'000;
inline constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
inline constexpr int kMaxItemsPerOrder = 5;

// xoshiro256** seeded through splitmix64: identical output on every platform and library.
class Rng {
public:
    explicit Rng(std::uint64_t seed);
    // A generator for one row: independent streams for (seed, stream, index).
    static Rng for_row(std::uint64_t seed, std::uint64_t stream, std::uint64_t index);

    std::uint64_t next();
    // Uniform in [0, n) without modulo bias; n > 0.
    std::uint64_t below(std::uint64_t n);
    // Uniform in [lo, hi]; lo <= hi.
    std::int64_t between(std::int64_t lo, std::int64_t hi);
    // True with probability num/den.
    bool chance(std::uint64_t num, std::uint64_t den) { return below(den) < num; }

private:
    std::array<std::uint64_t, 4> s_{};
};

std::uint64_t splitmix64(std::uint64_t& state);

// Appends `s` in COPY text format: backslash, tab, newline and carriage return escaped. A NUL
// byte (which PostgreSQL text cannot hold) throws SeedError.
void append_copy_text(std::string& out, std::string_view s);

// Formats seconds since the Unix epoch as "YYYY-MM-DD HH:MM:SS+00" (timestamptz input).
void append_timestamp(std::string& out, std::int64_t unix_seconds);

struct CategoryRow {
    std::int64_t id = 0;
    std::int64_t parent_id = 0;  // 0 → NULL (top level)
    std::string slug;
    std::string name;
};

struct ProductRow {
    std::int64_t id = 0;
    std::string sku;
    std::string name;
    std::string description;
    std::int64_t category_id = 0;
    std::string category_name;
    std::int64_t price_cents = 0;
    std::int32_t stock = 0;
    std::int64_t purchase_count = 0;
    std::int64_t rating_sum = 0;
    std::int64_t rating_count = 0;
    std::int64_t created_at = 0;  // unix seconds
};

struct UserRow {
    std::int64_t id = 0;
    std::string email;
    std::string name;
    std::int64_t created_at = 0;
};

struct OrderItemRow {
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
};

struct OrderRow {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    bool is_fulfilled = false;
    std::int64_t total_cents = 0;
    std::int64_t created_at = 0;
    std::int64_t paid_at = 0;
    std::int64_t fulfilled_at = 0;  // 0 when not fulfilled
    int item_count = 0;
    std::array<OrderItemRow, kMaxItemsPerOrder> items{};
};

struct ReviewRow {
    std::int64_t id = 0;
    std::int64_t product_id = 0;
    std::int64_t user_id = 0;
    std::int32_t rating = 0;
    std::string title;
    std::string body;
    std::int64_t created_at = 0;
};

enum class Table { kCategories, kUsers, kProducts, kInventoryMovements, kOrders, kOrderItems, kReviews };

// "COPY <table> (<columns>) FROM STDIN" for the columns append_row writes.
std::string_view copy_sql(Table table);
std::string_view table_name(Table table);

// All generated data for one set of options. Construction runs the pre-pass over the orders
// (purchase counts, reviewed pairs, rating aggregates): O(orders) time, O(products + reviews)
// memory. Immutable afterwards, so it can be shared by concurrent COPY streams.
class Dataset {
public:
    // anchor_unix_seconds: "now" for the generated history (every timestamp is before it).
    // password_hash: written to every user (see demo_password_hash()).
    Dataset(SeedOptions options, std::int64_t anchor_unix_seconds, std::string password_hash);

    const SeedOptions& options() const { return options_; }
    std::int64_t anchor() const { return anchor_; }

    // Number of rows per table.
    std::int64_t rows(Table table) const;

    static CategoryRow category(std::int64_t id);  // the tree is the same for every seed
    ProductRow product(std::int64_t id) const;
    UserRow user(std::int64_t id) const;
    OrderRow order(std::int64_t id) const;
    ReviewRow review(std::int64_t id) const;

    // Appends row number `index` (0-based) of `table` as one COPY text line.
    void append_row(Table table, std::int64_t index, std::string& out) const;

private:
    struct ProductBase;
    ProductBase product_base(std::int64_t id) const;
    std::int64_t popular_product(Rng& rng) const;

    SeedOptions options_;
    std::int64_t anchor_;
    std::string password_hash_;
    std::int64_t order_items_ = 0;
    std::uint64_t permutation_stride_ = 1;
    std::uint64_t permutation_offset_ = 0;
    std::vector<std::int64_t> purchase_count_;  // by product id
    std::vector<std::int64_t> rating_sum_;      // by product id
    std::vector<std::int32_t> rating_count_;    // by product id
    std::vector<std::uint64_t> reviewed_;       // product_id * (users + 1) + user_id, sorted
};

// Streams one table as COPY text, chunk by chunk.
class TableStream {
public:
    TableStream(std::shared_ptr<const Dataset> data,
                Table table,
                std::int64_t first_row = 0,
                std::int64_t end_row = -1);
    // Clears `chunk` and fills it with whole rows until it holds at least `target_bytes` or the
    // table is done. Returns false (chunk empty) when there was nothing left.
    bool fill(std::string& chunk, std::size_t target_bytes = kChunkBytes);
    std::int64_t rows_written() const { return next_ - first_; }

private:
    std::shared_ptr<const Dataset> data_;
    Table table_;
    std::int64_t first_;
    std::int64_t next_;
    std::int64_t end_;
};

// The Argon2id PHC string of kDemoPassword (opslimit 2, memlimit 19 MiB) with a fixed salt
// derived from `seed`, so seeded users are identical across runs. Verifiable with
// crypto_pwhash_str_verify. Takes ~50 ms of CPU; compute it once. Requires sodium_init().
std::string demo_password_hash(std::uint64_t seed);

}  // namespace emporium::seed
