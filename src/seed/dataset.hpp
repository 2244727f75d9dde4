#pragma once
// The pure generator behind `emporium seed` (no I/O): every row is a function of (options, anchor,
// table, row number). Exposed for the loader, tests and benchmarks; callers use seed.hpp.

#include "seed/rng.hpp"
#include "seed/seed.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::seed {

inline constexpr std::int64_t kBundleSize = 4;
inline constexpr std::int64_t kMaxReviews = 1'000'000;
inline constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
inline constexpr int kMaxItemsPerOrder = 5;
inline constexpr std::int64_t kDay = 86'400;
// Share of the catalog created in the last 30 days (per mille), the window of the ranking's
// freshness term; the rest is spread over the 30–1000 days before, more of it recent.
inline constexpr std::int64_t kFreshPerMille = 40;
inline constexpr std::int64_t kCatalogAgeDays = 1000;

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
    std::size_t leaf = 0;         // index in vocab::vocabulary().leaves
    std::size_t noun = 0;         // index in that leaf's nouns
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
inline constexpr std::size_t kTableCount = 7;
inline constexpr std::array<Table, kTableCount> kAllTables{Table::kCategories,
                                                           Table::kUsers,
                                                           Table::kProducts,
                                                           Table::kInventoryMovements,
                                                           Table::kOrders,
                                                           Table::kOrderItems,
                                                           Table::kReviews};

// "COPY <table> (<columns>) FROM STDIN" for the columns append_row writes.
std::string_view copy_sql(Table table);
std::string_view table_name(Table table);

// All generated data for one set of options. Construction runs the pre-pass over the orders
// (purchase counts, reviewed pairs, rating aggregates): O(orders) time, O(products + reviews)
// memory. Immutable afterwards, so it can be shared by concurrent COPY streams and threads.
class Dataset {
public:
    // anchor_unix_seconds: "now" for the generated history (every timestamp is before it).
    // password_hash: written to every user (see demo_password_hash()). Throws SeedError for
    // negative counts.
    Dataset(SeedOptions options, std::int64_t anchor_unix_seconds, std::string password_hash);

    const SeedOptions& options() const { return options_; }
    std::int64_t anchor() const { return anchor_; }

    // Number of rows per table.
    std::int64_t rows(Table table) const;
    // Units a TableStream walks through: orders for order_items (all lines of one order at once),
    // rows for every other table.
    std::int64_t units(Table table) const;

    static std::int64_t category_count();
    static CategoryRow category(std::int64_t id);  // the tree is the same for every seed
    ProductRow product(std::int64_t id) const;
    // Just the name of product(id) (cheaper); `leaf_index`, when given, receives its leaf.
    std::string product_name(std::int64_t id, std::size_t* leaf_index = nullptr) const;
    // The distinct space-separated pieces of every product name and of the names of the leaves
    // that have products, sorted: what the search vocabulary is built from (O(products) time).
    std::vector<std::string> name_words() const;
    UserRow user(std::int64_t id) const;
    OrderRow order(std::int64_t id) const;
    ReviewRow review(std::int64_t id) const;

    // Appends unit number `index` (0-based) of `table` as COPY text lines; returns the number of
    // rows appended (several for an order's items, else 1).
    int append_row(Table table, std::int64_t index, std::string& out) const;

    // Numeric product attributes, without the text (cheap; used by orders and reviews).
    struct ProductBase {
        std::size_t leaf = 0;
        std::size_t brand = 0;     // index in the top-level category's brands
        std::size_t noun = 0;      // index in the leaf's nouns
        std::int64_t quality = 3;  // 2..5: the mean rating reviewers give
        std::int64_t price_cents = 0;
        std::int32_t stock = 0;
        std::int64_t created_at = 0;
    };
    ProductBase product_base(std::int64_t id) const;

private:
    std::int64_t popular_product(Rng& rng) const;

    SeedOptions options_;
    std::int64_t anchor_;
    std::string password_hash_;
    std::int64_t order_items_ = 0;
    std::uint64_t permutation_stride_ = 1;
    std::uint64_t permutation_offset_ = 0;
    std::uint64_t leaf_stride_ = 1;
    std::vector<std::int64_t> purchase_count_;  // by product id
    std::vector<std::int64_t> rating_sum_;      // by product id
    std::vector<std::int32_t> rating_count_;    // by product id
    std::vector<std::uint64_t> reviewed_;       // product_id * (users + 1) + user_id, sorted
};

// Streams one table (or a range of its units) as COPY text, chunk by chunk.
class TableStream {
public:
    TableStream(std::shared_ptr<const Dataset> data,
                Table table,
                std::int64_t first_unit = 0,
                std::int64_t end_unit = -1);
    // Clears `chunk` and fills it with whole rows until it holds at least `target_bytes` or the
    // range is done. Returns false (chunk empty) when there was nothing left.
    bool fill(std::string& chunk, std::size_t target_bytes = kChunkBytes);
    std::int64_t units_written() const { return next_ - first_; }
    std::int64_t rows_written() const { return rows_; }

private:
    std::shared_ptr<const Dataset> data_;
    Table table_;
    std::int64_t first_;
    std::int64_t next_;
    std::int64_t end_;
    std::int64_t rows_ = 0;
};

// The Argon2id PHC string of kDemoPassword (opslimit 2, memlimit 19 MiB) with a fixed salt
// derived from `seed`, so seeded users are identical across runs. Verifiable with
// crypto_pwhash_str_verify. Takes ~50 ms of CPU; compute it once. Requires sodium_init().
std::string demo_password_hash(std::uint64_t seed);

}  // namespace emporium::seed
