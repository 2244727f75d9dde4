#pragma once
// `emporium seed`: deterministic demo and benchmark data of any size, loaded with COPY.
//
// Every row is a pure function of (seed, table, row number): the same options always produce the
// same rows, any row can be produced without the others, and nothing is kept in memory except a
// few per-product counters (purchase counts, rating sums) and the list of reviewed
// (product, user) pairs. Timestamps are relative to an anchor, the start of the UTC day of the
// run, so they are identical for runs on the same day.
//
// What is generated (vocabulary.cpp holds the words, catalog.cpp / users.cpp / orders.cpp the rows):
//   categories  11 top-level categories → 47 subcategories → 125 leaves; products are in leaves
//   products    name, category and description agree: each leaf has its own nouns, attributes and
//               phrases ("Norvik Aero Noise-Cancelling Headphones X240" in Electronics › Audio ›
//               Headphones, SKU HPH-0000123), and shares word groups (colours, materials, styles…)
//               with related leaves. Every word list is drawn with Zipf's law, leaves have
//               different sizes, and model codes are nearly unique, so word frequencies span from
//               a large share of the catalog down to a handful of products. Prices are log-normal
//               around a median per leaf; 4 % of products are sold out; created_at spans 1000 days,
//               4 % of it in the last 30 days (the ranking's freshness window), older products
//               rarer the older they are. purchase_count = units in the seeded paid orders;
//               rating_sum / rating_count = the seeded reviews.
//   users       user<N>@example.com, all with one Argon2id hash of kDemoPassword, role customer
//   orders      paid or fulfilled, in the past, 1–5 distinct products each; products come in
//               bundles of 4 (same leaf and brand) that tend to be bought together, and
//               popularity is Zipf-like (log-uniform over a permutation of ids)
//   reviews     every 20th order line on average becomes a verified review (one per user and
//               product), capped at 1 000 000 rows
//   ledger      one 'initial' inventory movement per product with delta = stock, dated at the
//               anchor: the seeded order history predates the ledger's opening balance, so
//               products.stock = Σ inventory_movements.delta holds from the start.
//   variants    every product has its default variant; three in ten (by id, of the first 100 000) get a Size option
//               with 2 to 12 sizes, the other sizes taking equal shares of the stock through the
//               ledger (kSplitIntoSizesSql in loader.cpp, run after the load): 1 to 12 variants.
//
// Loading (loader.cpp): four groups of tables, each in one transaction on its own connection (up
// to kLoadConnections at once, in foreign-key order): categories; users; orders; and the catalog
// (products, inventory_movements, order_items, reviews). A group's transaction locks its tables
// and checks they are empty, drops what PostgreSQL would maintain row by row (foreign keys,
// primary/unique keys no other foreign key needs, secondary indexes), COPYs the rows, 100 000 per
// statement (WITH (FREEZE) when the group could be truncated first), re-creates everything from
// the definitions read from the catalog (so an index added by a later migration is rebuilt too),
// ANALYZEs and commits. A failure rolls the group back: no table is ever left half-loaded or
// without an index. The catalog group also keeps the bulk-load contract of migrations 0006/0008:
// emporium.bulk_load is set, the per-row triggers for category_name, the search vocabulary and
// the rank index's change feed are disabled during the COPY and their work is done once.

#include "db/pg.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::seed {

struct SeedOptions {
    std::int64_t products = 200;
    std::int64_t users = 50;
    std::int64_t orders = 500;
    std::uint64_t seed = 42;
    bool only_if_empty = false;
};

// Time spent on one table.
struct TableTiming {
    std::string table;
    std::int64_t rows = 0;
    double copy_seconds = 0;   // the COPY (row generation included)
    double index_seconds = 0;  // rebuilding its secondary indexes
    double total_seconds = 0;  // its group's whole transaction, BEGIN to COMMIT
};

struct SeedReport {
    std::int64_t categories = 0;
    std::int64_t products = 0;
    std::int64_t users = 0;
    std::int64_t orders = 0;
    std::int64_t order_items = 0;
    std::int64_t reviews = 0;
    std::int64_t inventory_movements = 0;  // as loaded (the sizes add theirs after)
    std::int64_t product_variants = 0;     // after the sizes: 1 to 12 per product
    double sizes_seconds = 0;              // giving three products in ten their sizes
    double prepare_seconds = 0;  // the pre-pass over the orders and the password hash
    double seconds = 0;          // the whole run
    std::vector<TableTiming> tables;
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

// ---- progress -------------------------------------------------------------------------------

// kLoaded: rows sent, the rest of its group (one transaction) still loading.
enum class TablePhase { kWaiting, kLoading, kLoaded, kIndexing, kDone };

struct TableProgress {
    std::string table;
    std::int64_t rows_total = 0;
    std::int64_t rows_done = 0;  // rows sent so far
    TablePhase phase = TablePhase::kWaiting;
    double load_seconds = 0;  // time in the COPY so far (or in total, once past it)
    int indexes_total = 0;
    int indexes_done = 0;
    double total_seconds = 0;  // once done: its group's whole transaction
};

struct ProgressSnapshot {
    double elapsed_seconds = 0;
    std::vector<TableProgress> tables;
};

// Called on the loading thread about four times a second while the tables load, and once more
// when all are done.
using ProgressCallback = std::function<void(const ProgressSnapshot&)>;

// The lines a terminal shows for `snapshot` (no colours, no cursor movement; pure): a header with
// the elapsed time and an estimate of the time left, then one line per table with its rows,
// percentage, rate and phase.
std::vector<std::string> format_progress(const ProgressSnapshot& snapshot);

// Seconds left, estimated from the rows still to send weighted by each table's relative cost;
// negative when nothing has been sent yet (no rate to go by).
double estimate_seconds_left(const ProgressSnapshot& snapshot);

// ---- loading ----------------------------------------------------------------------------------

// Connections open at once while loading (one table each).
inline constexpr int kLoadConnections = 3;

// Loads deterministic demo data with COPY. Same options → identical rows (timestamps are relative
// to the start of the current UTC day).
// - only_if_empty and products already has rows: does nothing, returns skipped = true.
// - otherwise the catalog, users, orders, reviews and ledger tables must be empty: throws
//   SeedError if not (explicit ids are loaded, so rows could collide).
// Opens up to kLoadConnections + 1 connections with `database` (its query_timeout applies to each
// step: one chunk of COPY data, one index build); needs the role that owns the tables. After the
// tables, the identity sequences are moved past the loaded ids. Each group is atomic (see above);
// the run as a whole is not: after a failure, the groups committed so far stay, so recreate the
// database before seeding again. With `progress`, the running COPYs are also polled through
// pg_stat_progress_copy.
// Orders need users and products: with users == 0 or products == 0 no orders are generated.
// CPU work (the pre-pass over the orders, the password hash, generating the rows) runs on the
// calling thread, plus one CPU-pool thread of its own (the names' words): fine for the one-shot
// `seed` command, not for a serving I/O thread.
// Throws db:: errors on database failures.
boost::asio::awaitable<SeedReport> run(db::ConnectionOptions database,
                                       SeedOptions options,
                                       ProgressCallback progress = {});

}  // namespace emporium::seed
