// seed::run: table groups, one transaction each, on up to kLoadConnections connections.
#include "core/cpu_pool.hpp"
#include "core/log.hpp"
#include "seed/dataset.hpp"
#include "seed/seed.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <utility>

namespace emporium::seed {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr std::size_t index_of(Table t) {
    return static_cast<std::size_t>(t);
}

// The tables each table's foreign keys point to (they must be loaded first).
struct TableDeps {
    Table table;
    std::array<std::optional<Table>, 2> after;
};
constexpr std::array<TableDeps, kTableCount> kDeps{{
    {Table::kCategories, {}},
    {Table::kUsers, {}},
    {Table::kOrders, {Table::kUsers, std::nullopt}},
    {Table::kProducts, {Table::kCategories, std::nullopt}},
    {Table::kInventoryMovements, {Table::kProducts, std::nullopt}},
    {Table::kOrderItems, {Table::kOrders, Table::kProducts}},
    {Table::kReviews, {Table::kProducts, Table::kUsers}},
}};

// Each group is loaded in one transaction, its tables in this order. The products and everything
// that references them form one group: its foreign keys can then be dropped and re-added (one
// validating join each) instead of checked row by row, which also locked every referenced product
// row. Free connections take the first group whose first table is ready: the long one first.
constexpr std::size_t kGroupCount = 4;
using Group = std::span<const Table>;
constexpr std::array<Table, 4> kCatalogGroup{
    Table::kProducts, Table::kInventoryMovements, Table::kOrderItems, Table::kReviews};
constexpr std::array<Table, 1> kCategoriesGroup{Table::kCategories};
constexpr std::array<Table, 1> kUsersGroup{Table::kUsers};
constexpr std::array<Table, 1> kOrdersGroup{Table::kOrders};
constexpr std::array<Group, kGroupCount> kGroups{
    Group(kCatalogGroup), Group(kCategoriesGroup), Group(kUsersGroup), Group(kOrdersGroup)};

const TableDeps& deps_of(Table t) {
    return *std::find_if(kDeps.begin(), kDeps.end(), [t](const TableDeps& d) { return d.table == t; });
}

// Shared by the load lanes and the progress ticker. Everything runs on one executor thread, so
// plain members are enough.
struct LoadState {
    explicit LoadState(const asio::any_io_executor& ex) : changed(ex), tick(ex) {
        changed.expires_at(asio::steady_timer::time_point::max());
    }
    std::shared_ptr<const Dataset> data;
    db::ConnectionOptions database;
    Clock::time_point started;
    std::array<TableProgress, kTableCount> progress{};
    std::array<TableTiming, kTableCount> timing{};
    std::array<Clock::time_point, kTableCount> copy_began{};
    std::array<std::int64_t, kTableCount> rows_confirmed{};  // by finished COPY statements
    std::array<std::int64_t, kTableCount> rows_in_flight{};  // by the running one, as last polled
    std::array<std::uint64_t, kTableCount> slices_done{};    // bumps with every finished statement
    std::optional<std::vector<std::string>> name_words;      // Dataset::name_words(), once computed
    std::array<bool, kGroupCount> claimed{};
    std::array<bool, kTableCount> done{};  // committed
    asio::steady_timer changed;            // its waits are cancelled whenever a group commits
    asio::steady_timer tick;               // the progress ticker's sleep
    bool finished = false;
};

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

ProgressSnapshot snapshot(const LoadState& state) {
    ProgressSnapshot s;
    s.elapsed_seconds = seconds_since(state.started);
    for (const TableDeps& d : kDeps) {
        const std::size_t i = index_of(d.table);
        TableProgress t = state.progress[i];
        if (t.phase == TablePhase::kLoading) {
            t.load_seconds = seconds_since(state.copy_began[i]);
            t.rows_done = std::min(t.rows_total, state.rows_confirmed[i] + state.rows_in_flight[i]);
        }
        s.tables.push_back(std::move(t));
    }
    return s;
}

// Whether the tables `t` references are committed, or loaded earlier in the same transaction.
bool ready(const LoadState& state, Table t, Group group) {
    const TableDeps& d = deps_of(t);
    return std::all_of(d.after.begin(), d.after.end(), [&](const std::optional<Table>& a) {
        if (!a || state.done[index_of(*a)]) return true;
        const auto in_group = std::find(group.begin(), group.end(), *a);
        const auto self = std::find(group.begin(), group.end(), t);
        return in_group != group.end() && in_group < self;
    });
}

// The next group a free connection can start; nullopt when none is ready yet; kGroupCount when
// every group has been claimed.
std::optional<std::size_t> next_group(const LoadState& state) {
    bool all_claimed = true;
    for (std::size_t i = 0; i < kGroups.size(); ++i) {
        if (state.claimed[i]) continue;
        all_claimed = false;
        if (ready(state, kGroups[i].front(), kGroups[i])) return i;
    }
    if (all_claimed) return kGroupCount;
    return std::nullopt;
}

// The secondary indexes of a table (those that back no constraint and that no foreign key relies
// on), as ready-to-run statements that the server writes from its own catalog: an index added by
// a later migration is rebuilt just the same.
constexpr db::Statement kSecondaryIndexesSql{
    "seed.secondary_indexes",
    "SELECT format('DROP INDEX %s', i.indexrelid::regclass) AS drop_sql, "
    "pg_get_indexdef(i.indexrelid) AS create_sql, "
    "coalesce(format('COMMENT ON INDEX %s IS %L', i.indexrelid::regclass, "
    "obj_description(i.indexrelid, 'pg_class')), '') AS comment_sql "
    "FROM pg_index i "
    "WHERE i.indrelid = $1::regclass AND i.indisvalid AND i.indisready AND i.indislive "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
    "ORDER BY i.indexrelid"};

// A table's foreign keys, as statements to drop and re-create them (same name, definition and
// comment), with the table each one references.
constexpr db::Statement kForeignKeysSql{
    "seed.foreign_keys",
    "SELECT confrelid::regclass::text AS referenced, "
    "format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS drop_sql, "
    "format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) "
    "AS create_sql, "
    "coalesce(format('COMMENT ON CONSTRAINT %I ON %s IS %L', conname, conrelid::regclass, "
    "obj_description(oid, 'pg_constraint')), '') AS comment_sql "
    "FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY oid"};

// A table's primary key and unique constraints that no foreign key relies on (any that did have
// been dropped first), as statements to drop and re-create them.
constexpr db::Statement kKeysSql{
    "seed.unique_keys",
    "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_sql, "
    "format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, "
    "pg_get_constraintdef(c.oid)) "
    "AS create_sql, "
    "coalesce(format('COMMENT ON CONSTRAINT %I ON %s IS %L', c.conname, c.conrelid::regclass, "
    "obj_description(c.oid, 'pg_constraint')), '') AS comment_sql "
    "FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u') "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid) "
    "ORDER BY c.oid"};

// The tables whose foreign keys reach this one, directly or through others: TRUNCATE needs them all.
constexpr db::Statement kReferencingSql{
    "seed.referencing_tables",
    "WITH RECURSIVE refs(relid) AS ("
    " SELECT $1::regclass::oid"
    " UNION"
    " SELECT c.conrelid FROM pg_constraint c JOIN refs r ON c.confrelid = r.relid WHERE c.contype = 'f') "
    "SELECT relid::regclass::text AS name FROM refs WHERE relid <> $1::regclass ORDER BY relid"};

// Insert triggers on products whose work the load does once for all rows instead: the load
// disables those present and enabled during its COPY (so no per-row call and no transition table
// either), re-enables them and runs their bulk equivalent (bulk_sql) in the same transaction.
// Every session of the load also sets emporium.bulk_load, which these triggers (and any later one
// that follows the convention) check to skip their work.
struct BulkTrigger {
    std::string_view name;
    std::string_view bulk_sql;
};
constexpr std::array<BulkTrigger, 5> kBulkTriggers{{
    // Copies categories.name into products.category_name: the rows carry it already; the check
    // below makes sure they agree.
    {"products_category_name", ""},
    // Records the words of names for typo correction (migration 0006). Instead of
    // catalog_refresh_search_words(), which splits every product's name again, the load splits the
    // distinct pieces of the names it generated (a few thousand words and model codes) with the
    // same function: see kSearchWordsSql.
    {"products_search_words_insert", ""},
    // Writes the rank index's change feed (migration 0008): one row for product 0 asks every API
    // process to reload its index instead, and the notification wakes their listeners at commit.
    {"products_feed_insert",
     "INSERT INTO catalog_changes (product_id, a_price_cents, a_in_stock, a_visible, a_purchase_count, "
     "a_rating_sum, a_rating_count, a_created_at) VALUES (0, 0, false, false, 0, 0, 0, now()); "
     "SELECT pg_notify('catalog_changes', '')"},
    // Gives each product its default variant (migration 0009): one INSERT … SELECT for all rows,
    // with the product's id, as the migration gives today's products; the ledger and order item
    // rows name that id as their variant. The sequence moves past them, as in the migration.
    {"products_default_variant",
     "INSERT INTO product_variants (id, product_id, sku, stock, version, fence_token, is_default, created_at) "
     "SELECT id, id, sku, stock, version, fence_token, true, created_at FROM products; "
     "SELECT setval(pg_get_serial_sequence('product_variants', 'id'), "
     "greatest((SELECT max(id) FROM products), 1))"},
    // product.created events for webhook subscribers (migration 0019): a load is not a stream of
    // creations, and a million events would flood every endpoint. None are written.
    {"products_webhook_created", ""},
}};

// The search vocabulary from the names' distinct space-separated pieces ($1, a text[] literal):
// catalog_words() splits a name into the same words as its pieces one by one.
constexpr db::Statement kSearchWordsSql{
    "seed.search_words",
    "INSERT INTO search_words (word) SELECT DISTINCT w FROM unnest($1::text[]) AS piece, "
    "catalog_words(piece, '') AS w ON CONFLICT DO NOTHING"};

// Which of them are there and enabled.
constexpr db::Statement kEnabledTriggersSql{
    "seed.enabled_triggers",
    "SELECT tgname::text AS name FROM pg_trigger WHERE tgrelid = 'products'::regclass AND NOT tgisinternal "
    "AND tgenabled <> 'D' AND tgname = ANY (string_to_array($1, ','))"};

// Rows whose category_name is not what products_category_name would have written.
constexpr std::string_view kCategoryNameMismatchSql =
    "SELECT EXISTS (SELECT 1 FROM products p LEFT JOIN categories c ON c.id = p.category_id "
    "WHERE p.category_name IS DISTINCT FROM coalesce(c.name, ''))";

// The tables of a (comma-separated) list whose pages are not all marked all-visible.
constexpr db::Statement kVisibilityUnsetSql{"seed.visibility_unset",
                                            "SELECT c.oid::regclass::text AS name FROM pg_class c "
                                            "WHERE c.oid = ANY (string_to_array($1, ', ')::regclass[]) AND "
                                            "c.relallvisible < c.relpages ORDER BY c.oid"};

// DDL saved to restore what the transaction dropped.
struct Restore {
    std::string create;
    std::string comment;
};

// The CopySource: generates the next chunk.
struct ChunkSource {
    std::shared_ptr<TableStream> stream;
    bool operator()(std::string& chunk) const { return stream->fill(chunk); }
};

// Rows per COPY statement (a table is loaded by several in its transaction): libpq queues all the
// data a statement is given, so this bounds the client's memory (about 40 MB of products).
constexpr std::int64_t kSliceUnits = 100'000;

std::optional<Table> seeded_table(std::string_view name) {
    for (Table t : kAllTables) {
        if (table_name(t) == name) return t;
    }
    return std::nullopt;
}

// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): load_group() awaits it
asio::awaitable<bool> is_empty(db::Connection& conn, std::string table) {
    const db::QueryResult rows =
        co_await conn.query_unprepared("SELECT EXISTS (SELECT 1 FROM " + table + ")");
    co_return !rows.get<bool>(0, 0);
}

// COPY … (FREEZE) writes the rows frozen and all-visible (no hint-bit rewrite on first read, no
// vacuum needed for index-only scans), but only into a table truncated in the same transaction,
// and TRUNCATE must take along every table whose foreign keys reach it. Done when those tables are
// in the group or are not seeded at all, and are empty (checked under the lock): then nothing is
// lost and no other connection waits. Returns whether the group's tables were truncated.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): load_group() awaits it
asio::awaitable<bool> truncate_for_freeze(db::Connection& conn, Group group) {
    std::vector<std::string> others;
    for (Table t : group) {
        const db::QueryResult referencing = co_await conn.query(kReferencingSql, std::string(table_name(t)));
        for (std::size_t i = 0; i < referencing.rows(); ++i) {
            auto name = referencing.get<std::string>(i, "name");
            const std::optional<Table> seeded = seeded_table(name);
            if (seeded && std::find(group.begin(), group.end(), *seeded) == group.end()) co_return false;
            if (!seeded && std::find(others.begin(), others.end(), name) == others.end()) {
                others.push_back(std::move(name));
            }
        }
    }
    std::string list;
    for (Table t : group) list += (list.empty() ? "" : ", ") + std::string(table_name(t));
    for (const std::string& other : others) {
        co_await conn.execute_script("LOCK TABLE " + other + " IN ACCESS EXCLUSIVE MODE");
        if (!co_await is_empty(conn, other)) co_return false;
        list += ", " + other;
    }
    co_await conn.execute_script("TRUNCATE " + list);
    co_return true;
}

// Drops `table`'s foreign keys that point into the group (`in_group`) or, otherwise, to tables
// already committed; returns how to re-create them. Dropping one locks the table it references.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): load_group() awaits it
asio::awaitable<std::vector<Restore>> drop_foreign_keys(
    db::Connection& conn, std::shared_ptr<LoadState> state, Table table, Group group, bool in_group) {
    std::vector<Restore> saved;
    const db::QueryResult keys = co_await conn.query(kForeignKeysSql, std::string(table_name(table)));
    for (std::size_t i = 0; i < keys.rows(); ++i) {
        const std::optional<Table> referenced = seeded_table(keys.get<std::string>(i, "referenced"));
        if (!referenced) continue;
        const bool to_group = std::find(group.begin(), group.end(), *referenced) != group.end();
        if (to_group != in_group || (!to_group && !state->done[index_of(*referenced)])) continue;
        co_await conn.execute_script(keys.get<std::string>(i, "drop_sql"));
        saved.push_back(
            Restore{keys.get<std::string>(i, "create_sql"), keys.get<std::string>(i, "comment_sql")});
    }
    co_return saved;
}

// Disables the kBulkTriggers present and enabled on products; returns them.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): load_group() awaits it
asio::awaitable<std::vector<BulkTrigger>> disable_bulk_triggers(db::Connection& conn) {
    std::string names;
    for (const BulkTrigger& b : kBulkTriggers) names += (names.empty() ? "" : ",") + std::string(b.name);
    const db::QueryResult enabled = co_await conn.query(kEnabledTriggersSql, names);
    std::vector<BulkTrigger> disabled;
    for (std::size_t i = 0; i < enabled.rows(); ++i) {
        const auto name = enabled.get<std::string>(i, "name");
        for (const BulkTrigger& b : kBulkTriggers) {
            if (b.name != name) continue;
            co_await conn.execute_script("ALTER TABLE products DISABLE TRIGGER " + name);
            disabled.push_back(b);
        }
    }
    co_return disabled;
}

// A text[] literal: {"a","b"} with quotes and backslashes escaped.
std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const std::string& item : items) {
        if (out.size() > 1) out.push_back(',');
        out.push_back('"');
        for (const char c : item) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(c);
        }
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

// Re-enables the triggers and does their work for all rows at once.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): load_group() awaits it
asio::awaitable<void> replace_bulk_triggers(db::Connection& conn,
                                            std::shared_ptr<LoadState> state,
                                            std::vector<BulkTrigger> disabled) {
    for (const BulkTrigger& b : disabled) {
        co_await conn.execute_script("ALTER TABLE products ENABLE TRIGGER " + std::string(b.name));
        if (!b.bulk_sql.empty()) co_await conn.execute_script(std::string(b.bulk_sql));
        if (b.name == "products_search_words_insert") {
            // Computed on the CPU pool while the rows loaded; wait if it is not done yet.
            while (!state->name_words) {
                static_cast<void>(co_await state->changed.async_wait(asio::as_tuple(asio::use_awaitable)));
            }
            static_cast<void>(co_await conn.query(kSearchWordsSql, text_array(*state->name_words)));
        }
        if (b.name == "products_category_name") {
            const db::QueryResult mismatch =
                co_await conn.query_unprepared(std::string(kCategoryNameMismatchSql));
            if (mismatch.get<bool>(0, 0)) {
                throw SeedError("seed: generated category names differ from the categories table");
            }
        }
    }
}

// Waits until `table`'s dependencies outside the group are committed.
asio::awaitable<void> wait_ready(std::shared_ptr<LoadState> state, Table table, Group group) {
    while (!ready(*state, table, group)) {
        static_cast<void>(co_await state->changed.async_wait(asio::as_tuple(asio::use_awaitable)));
    }
}

// One group in one transaction: lock its tables and check they are empty; drop their secondary
// indexes and the foreign keys that can be validated at the end; COPY each table (frozen when it
// could be truncated); rebuild indexes and foreign keys from their saved definitions; ANALYZE;
// commit. Throws SeedError when a table has rows (the transaction is rolled back when the
// connection closes).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): lane() awaits it directly
asio::awaitable<void> load_group(db::Connection& conn, std::shared_ptr<LoadState> state, Group group) {
    const auto began = Clock::now();
    co_await conn.execute_script("BEGIN");
    // Index builds sort and the foreign-key checks hash in memory up to these sizes.
    co_await conn.execute_script("SET LOCAL maintenance_work_mem = '512MB'");
    co_await conn.execute_script("SET LOCAL work_mem = '256MB'");
    co_await conn.execute_script("SET LOCAL emporium.bulk_load = 'on'");
    std::string names;
    for (Table t : group) names += (names.empty() ? "" : ", ") + std::string(table_name(t));
    co_await conn.execute_script("LOCK TABLE " + names + " IN ACCESS EXCLUSIVE MODE");
    for (Table t : group) {
        if (!co_await is_empty(conn, std::string(table_name(t)))) {
            throw SeedError("seed: table " + std::string(table_name(t)) +
                            " is not empty; seed a freshly migrated database");
        }
    }
    const bool frozen = co_await truncate_for_freeze(conn, group);

    // Everything that would be maintained row by row is dropped and rebuilt once at the end: the
    // foreign keys inside the group, then the primary and unique keys no other foreign key needs,
    // then the other indexes. The rebuild checks uniqueness and references again.
    std::vector<Restore> foreign_keys;
    for (Table t : group) {
        std::vector<Restore> dropped = co_await drop_foreign_keys(conn, state, t, group, true);
        foreign_keys.insert(foreign_keys.end(), dropped.begin(), dropped.end());
    }
    // Per table: its primary and unique keys first, then its other indexes.
    std::array<std::vector<Restore>, kTableCount> indexes;
    std::size_t key_count = 0;
    for (Table t : group) {
        const std::string name(table_name(t));
        const db::QueryResult unique = co_await conn.query(kKeysSql, name);
        for (std::size_t i = 0; i < unique.rows(); ++i) {
            co_await conn.execute_script(unique.get<std::string>(i, "drop_sql"));
            indexes[index_of(t)].push_back(
                Restore{unique.get<std::string>(i, "create_sql"), unique.get<std::string>(i, "comment_sql")});
            ++key_count;
        }
        const db::QueryResult found = co_await conn.query(kSecondaryIndexesSql, name);
        for (std::size_t i = 0; i < found.rows(); ++i) {
            co_await conn.execute_script(found.get<std::string>(i, "drop_sql"));
            indexes[index_of(t)].push_back(
                Restore{found.get<std::string>(i, "create_sql"), found.get<std::string>(i, "comment_sql")});
        }
        state->progress[index_of(t)].indexes_total = static_cast<int>(indexes[index_of(t)].size());
    }

    for (Table t : group) {
        const std::string name(table_name(t));
        co_await wait_ready(state, t, group);
        // Foreign keys to tables committed by other connections: now that they are done.
        std::vector<Restore> dropped = co_await drop_foreign_keys(conn, state, t, group, false);
        foreign_keys.insert(foreign_keys.end(), dropped.begin(), dropped.end());

        std::vector<BulkTrigger> disabled;
        if (t == Table::kProducts) disabled = co_await disable_bulk_triggers(conn);

        TableProgress& progress = state->progress[index_of(t)];
        TableTiming& timing = state->timing[index_of(t)];
        progress.phase = TablePhase::kLoading;
        const auto copy_began = Clock::now();
        state->copy_began[index_of(t)] = copy_began;
        std::string sql(copy_sql(t));
        if (frozen) sql += " (FREEZE)";
        const std::int64_t units = state->data->units(t);
        std::int64_t copied = 0;
        for (std::int64_t first = 0; first < units; first += kSliceUnits) {
            auto stream =
                std::make_shared<TableStream>(state->data, t, first, std::min(first + kSliceUnits, units));
            db::CopySource source{ChunkSource{std::move(stream)}};
            std::string statement = sql;
            copied += co_await conn.copy_in(std::move(statement), std::move(source));
            state->rows_confirmed[index_of(t)] = copied;
            state->rows_in_flight[index_of(t)] = 0;
            ++state->slices_done[index_of(t)];
        }
        progress.rows_done = copied;
        timing.table = name;
        timing.rows = copied;
        timing.copy_seconds = seconds_since(copy_began);
        progress.load_seconds = timing.copy_seconds;
        progress.phase = TablePhase::kLoaded;

        if (!disabled.empty()) co_await replace_bulk_triggers(conn, state, std::move(disabled));
    }

    const auto keys_began = Clock::now();
    for (Table t : group) {
        TableProgress& progress = state->progress[index_of(t)];
        progress.phase = TablePhase::kIndexing;
        const auto index_began = Clock::now();
        for (const Restore& index : indexes[index_of(t)]) {
            co_await conn.execute_script(index.create);
            if (!index.comment.empty()) co_await conn.execute_script(index.comment);
            ++progress.indexes_done;
        }
        state->timing[index_of(t)].index_seconds = seconds_since(index_began);
    }
    for (const Restore& key : foreign_keys) {
        co_await conn.execute_script(key.create);
        if (!key.comment.empty()) co_await conn.execute_script(key.comment);
    }
    const double keys_seconds = seconds_since(keys_began);
    co_await conn.execute_script("ANALYZE " + names);
    co_await conn.execute_script("COMMIT");
    // Rows written frozen still leave the visibility map unset when COPY had to insert them one by
    // one (a table with BEFORE INSERT triggers, enabled or not): a VACUUM sets it now, reading
    // pages that need no other work, so index-only scans work from the start and autovacuum finds
    // nothing to do in the middle of a benchmark.
    const db::QueryResult unset = co_await conn.query(kVisibilityUnsetSql, names);
    for (std::size_t i = 0; i < unset.rows(); ++i) {
        co_await conn.execute_script("VACUUM " + unset.get<std::string>(i, "name"));
    }

    const double total = seconds_since(began);
    for (Table t : group) {
        state->timing[index_of(t)].total_seconds = total;
        state->progress[index_of(t)].total_seconds = total;
        state->progress[index_of(t)].phase = TablePhase::kDone;
        state->done[index_of(t)] = true;
        const TableTiming& timing = state->timing[index_of(t)];
        core::log::debug("seed table loaded",
                         {{"table", timing.table},
                          {"rows", timing.rows},
                          {"frozen", frozen},
                          {"indexes", state->progress[index_of(t)].indexes_total},
                          {"copy_seconds", timing.copy_seconds},
                          {"index_seconds", timing.index_seconds}});
    }
    core::log::debug("seed group committed",
                     {{"tables", names},
                      {"keys", key_count},
                      {"foreign_keys", foreign_keys.size()},
                      {"key_and_index_seconds", keys_seconds},
                      {"seconds", total}});
}

// One connection: loads groups one after the other as their dependencies complete.
asio::awaitable<void> lane(std::shared_ptr<LoadState> state) {
    std::unique_ptr<db::Connection> conn;
    for (;;) {
        const std::optional<std::size_t> next = next_group(*state);
        if (next && *next == kGroupCount) break;
        if (!next) {
            // Woken (operation_aborted) when another lane commits a group.
            static_cast<void>(co_await state->changed.async_wait(asio::as_tuple(asio::use_awaitable)));
            continue;
        }
        state->claimed[*next] = true;
        if (!conn)
            conn = co_await db::Connection::connect(co_await asio::this_coro::executor, state->database);
        co_await load_group(*conn, state, kGroups[*next]);
        state->changed.cancel();
    }
    if (conn) conn->close();
}

// Splits every product name on the CPU pool (another core) while the lanes load.
struct NameWords {
    std::shared_ptr<const Dataset> data;
    std::vector<std::string> operator()() const { return data->name_words(); }
};

asio::awaitable<void> collect_name_words(std::shared_ptr<LoadState> state, core::CpuPool* cpu) {
    NameWords task{state->data};
    std::vector<std::string> words = co_await core::run_on_cpu(*cpu, std::move(task));
    state->name_words = std::move(words);
    state->changed.cancel();
}

asio::awaitable<void> all_lanes(std::shared_ptr<LoadState> state) {
    using namespace boost::asio::experimental::awaitable_operators;
    static_assert(kLoadConnections == 3, "the && below starts kLoadConnections lanes");
    co_await (lane(state) && lane(state) && lane(state));
    state->finished = true;
    state->tick.cancel();
}

// Rows the running COPY statements have processed so far, per table (PostgreSQL's own count).
constexpr std::string_view kCopyProgressSql =
    "SELECT c.relname AS table_name, p.tuples_processed AS rows FROM pg_stat_progress_copy p "
    "JOIN pg_class c ON c.oid = p.relid WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = "
    "current_database())";

// Polls the running COPYs through `control` (a connection of its own) and reports a snapshot
// about four times a second until the lanes finish. `control` outlives the call (run() awaits it).
asio::awaitable<void> ticker(std::shared_ptr<LoadState> state,
                             db::Connection* control,
                             ProgressCallback progress) {
    while (!state->finished) {
        const std::array<std::uint64_t, kTableCount> slices = state->slices_done;
        const db::QueryResult copying = co_await control->query_unprepared(std::string(kCopyProgressSql));
        for (std::size_t i = 0; i < copying.rows(); ++i) {
            const std::optional<Table> t = seeded_table(copying.get<std::string>(i, "table_name"));
            // A count of a statement that has finished meanwhile is already in rows_confirmed.
            if (!t || state->slices_done[index_of(*t)] != slices[index_of(*t)]) continue;
            if (state->progress[index_of(*t)].phase != TablePhase::kLoading) continue;
            state->rows_in_flight[index_of(*t)] = copying.get<std::int64_t>(i, "rows");
        }
        progress(snapshot(*state));
        state->tick.expires_after(std::chrono::milliseconds(250));
        static_cast<void>(co_await state->tick.async_wait(asio::as_tuple(asio::use_awaitable)));
    }
    progress(snapshot(*state));
}

constexpr std::string_view kStateSql =
    "SELECT EXISTS (SELECT 1 FROM products) AS has_products, "
    "EXISTS (SELECT 1 FROM categories) OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM orders) "
    "OR EXISTS (SELECT 1 FROM reviews) OR EXISTS (SELECT 1 FROM inventory_movements) AS has_other";

// After COPY with explicit ids, move each identity sequence past the largest id.
constexpr std::string_view kResetSequencesSql =
    "SELECT setval(pg_get_serial_sequence('categories', 'id'), coalesce((SELECT max(id) FROM categories), 0) "
    "+ 1, false), "
    "setval(pg_get_serial_sequence('users', 'id'), coalesce((SELECT max(id) FROM users), 0) + 1, false), "
    "setval(pg_get_serial_sequence('products', 'id'), coalesce((SELECT max(id) FROM products), 0) + 1, "
    "false), "
    "setval(pg_get_serial_sequence('orders', 'id'), coalesce((SELECT max(id) FROM orders), 0) + 1, false), "
    "setval(pg_get_serial_sequence('reviews', 'id'), coalesce((SELECT max(id) FROM reviews), 0) + 1, false), "
    "setval(pg_get_serial_sequence('inventory_movements', 'id'), "
    "coalesce((SELECT max(id) FROM inventory_movements), 0) + 1, false)";

// Gives three products in ten (chosen by their id) of the first 100 000 a Size option with 2 to 12
// sizes, so the shop has products with 1 to 12 variants (about 16 s for the 30 000 products and
// 180 000 sizes of a large catalog on two cores: a million-product load stays within its budget). The default variant becomes the smallest size; each other
// size is a new variant that takes an equal share of the product's stock, moved out of the default
// variant through the ledger (an 'adjustment' on the default, an 'initial' row per size), so every
// variant's ledger still sums to its stock and products.stock (the sum) does not change. Sizes 45
// and up cost 10% more (a price override); the products' price range follows. One transaction,
// after the load: the variants' triggers are skipped (emporium.bulk_load), their work done here.
constexpr std::string_view kSplitIntoSizesSql = R"sql(
BEGIN;
SET LOCAL emporium.bulk_load = 'on';
-- Moving units between variants of one product leaves its total; updated_at stays the seeded one.
ALTER TABLE product_variants DISABLE TRIGGER product_variants_follow_stock;
ALTER TABLE products DISABLE TRIGGER products_touch;
-- One row per size of each sized product (joins only: no per-row subquery, so it stays linear).
CREATE TEMP TABLE seed_sizes ON COMMIT DROP AS
    SELECT p.id, p.sku, p.price_cents, p.created_at, s.pos, (41 - k / 2 + s.pos - 1)::text AS size,
           CASE WHEN s.pos = 1 THEN 0 ELSE v.stock / k END AS share, k
      FROM (SELECT id, sku, price_cents, created_at, 2 + (id * 40503) % 11 AS k FROM products
             WHERE id <= 100000 AND (id * 2654435761) % 10 < 3) p
      JOIN product_variants v ON v.id = p.id AND v.is_default
     CROSS JOIN LATERAL generate_series(1, p.k) AS s(pos);
CREATE TEMP TABLE seed_moved ON COMMIT DROP AS
    SELECT id, sum(share)::integer AS moved FROM seed_sizes GROUP BY id;
ANALYZE seed_sizes;
ANALYZE seed_moved;
INSERT INTO product_options (product_id, name, position)
    SELECT id, 'Size', 1 FROM seed_moved ORDER BY id;
INSERT INTO product_option_values (option_id, value, position)
    SELECT o.id, s.size, s.pos FROM seed_sizes s JOIN product_options o ON o.product_id = s.id ORDER BY s.id, s.pos;
CREATE TEMP TABLE seed_values ON COMMIT DROP AS
    SELECT s.*, o.id AS option_id, ov.id AS value_id, m.moved
      FROM seed_sizes s
      JOIN seed_moved m ON m.id = s.id
      JOIN product_options o ON o.product_id = s.id
      JOIN product_option_values ov ON ov.option_id = o.id AND ov.value = s.size;
ANALYZE seed_values;
UPDATE product_variants v SET option_key = s.value_id::text, position = 1, stock = v.stock - s.moved
  FROM seed_values s WHERE s.pos = 1 AND v.id = s.id;
INSERT INTO product_variants (product_id, sku, option_key, price_cents, stock, position, created_at)
    SELECT id, sku || '-' || size, value_id::text,
           CASE WHEN size::int >= 45 THEN price_cents + price_cents / 10 END, share, pos, created_at
      FROM seed_values WHERE pos > 1 ORDER BY id, pos;
CREATE TEMP TABLE seed_variant_ids ON COMMIT DROP AS
    SELECT s.id, s.pos, s.share, s.moved, s.option_id, s.value_id, v.id AS variant_id
      FROM seed_values s JOIN product_variants v ON v.product_id = s.id AND v.option_key = s.value_id::text;
ANALYZE seed_variant_ids;
INSERT INTO product_variant_values (variant_id, option_id, value_id)
    SELECT variant_id, option_id, value_id FROM seed_variant_ids;
INSERT INTO inventory_movements (product_id, variant_id, delta, reason, note, created_at)
    SELECT s.id, s.variant_id, CASE WHEN s.pos = 1 THEN -s.moved ELSE s.share END,
           CASE WHEN s.pos = 1 THEN 'adjustment' ELSE 'initial' END, 'seed: stock split across sizes', m.created_at
      FROM seed_variant_ids s
      JOIN inventory_movements m ON m.variant_id = s.id AND m.reason = 'initial'
     WHERE s.pos > 1 OR s.moved > 0
     ORDER BY s.id, s.pos;
UPDATE products p SET price_min_cents = b.lo, price_max_cents = b.hi
  FROM (SELECT DISTINCT id, price_cents FROM seed_sizes WHERE k >= 6) s
 CROSS JOIN LATERAL variants_price_bounds(s.id, s.price_cents) b
 WHERE p.id = s.id;
ALTER TABLE product_variants ENABLE TRIGGER product_variants_follow_stock;
ALTER TABLE products ENABLE TRIGGER products_touch;
COMMIT;
)sql";

std::int64_t anchor_now() {
    using namespace std::chrono;
    return floor<days>(system_clock::now()).time_since_epoch() / seconds{1};
}

}  // namespace

asio::awaitable<SeedReport> run(db::ConnectionOptions database,
                                SeedOptions options,
                                ProgressCallback progress) {
    using namespace boost::asio::experimental::awaitable_operators;
    const auto started = Clock::now();
    SeedReport report;
    auto ex = co_await asio::this_coro::executor;

    auto control = co_await db::Connection::connect(ex, database);
    const db::QueryResult existing = co_await control->query_unprepared(std::string(kStateSql));
    const bool has_products = existing.get<bool>(0, "has_products");
    if (has_products && options.only_if_empty) {
        core::log::info("seed skipped: products already present");
        control->close();
        report.skipped = true;
        report.seconds = seconds_since(started);
        co_return report;
    }
    if (has_products || existing.get<bool>(0, "has_other")) {
        control->close();
        throw SeedError(
            "seed: the database already has catalog, user or order rows; seed an empty (freshly migrated) "
            "database, or pass --if-empty to skip when products exist");
    }

    // CPU work on the caller's thread (~50 ms hash + one pass over the orders): acceptable for
    // the one-shot `seed` command, which runs nothing else.
    auto state = std::make_shared<LoadState>(ex);
    state->data = std::make_shared<const Dataset>(options, anchor_now(), demo_password_hash(options.seed));
    state->database = database;
    report.prepare_seconds = seconds_since(started);
    state->started = started;
    for (Table t : kAllTables) {
        TableProgress& p = state->progress[index_of(t)];
        p.table = table_name(t);
        p.rows_total = state->data->rows(t);
    }

    core::CpuPool cpu(1);
    if (progress) {
        co_await (all_lanes(state) && collect_name_words(state, &cpu) &&
                  ticker(state, control.get(), std::move(progress)));
    } else {
        co_await (all_lanes(state) && collect_name_words(state, &cpu));
    }
    cpu.join();

    const auto rows = [&state](Table t) { return state->timing[index_of(t)].rows; };
    report.categories = rows(Table::kCategories);
    report.products = rows(Table::kProducts);
    report.users = rows(Table::kUsers);
    report.orders = rows(Table::kOrders);
    report.order_items = rows(Table::kOrderItems);
    report.reviews = rows(Table::kReviews);
    report.inventory_movements = rows(Table::kInventoryMovements);
    for (const TableDeps& d : kDeps) report.tables.push_back(state->timing[index_of(d.table)]);

    co_await control->query_unprepared(std::string(kResetSequencesSql));
    const auto sized_started = Clock::now();
    co_await control->execute_script(std::string(kSplitIntoSizesSql));
    // The sizes' tables get their statistics (their pages are left to autovacuum).
    co_await control->execute_script(
        "ANALYZE products, inventory_movements, product_variants, product_options, product_option_values, "
        "product_variant_values");
    const db::QueryResult variants =
        co_await control->query_unprepared("SELECT count(*) AS n FROM product_variants");
    report.product_variants = variants.get<std::int64_t>(0, "n");
    report.sizes_seconds = seconds_since(sized_started);
    control->close();

    report.seconds = seconds_since(started);
    const auto& timing = state->timing;
    const auto copy = [&timing](Table t) { return timing[index_of(t)].copy_seconds; };
    core::log::info("seed loaded",
                    {{"seed", options.seed},
                     {"categories", report.categories},
                     {"products", report.products},
                     {"users", report.users},
                     {"orders", report.orders},
                     {"order_items", report.order_items},
                     {"reviews", report.reviews},
                     {"inventory_movements", report.inventory_movements},
                     {"product_variants", report.product_variants},
                     {"sizes_seconds", report.sizes_seconds},
                     {"prepare_seconds", report.prepare_seconds},
                     {"products_copy_seconds", copy(Table::kProducts)},
                     {"products_index_seconds", timing[index_of(Table::kProducts)].index_seconds},
                     {"inventory_movements_copy_seconds", copy(Table::kInventoryMovements)},
                     {"order_items_copy_seconds", copy(Table::kOrderItems)},
                     {"reviews_copy_seconds", copy(Table::kReviews)},
                     {"users_copy_seconds", copy(Table::kUsers)},
                     {"orders_copy_seconds", copy(Table::kOrders)},
                     {"catalog_group_seconds", timing[index_of(Table::kProducts)].total_seconds},
                     {"orders_group_seconds", timing[index_of(Table::kOrders)].total_seconds},
                     {"seconds", report.seconds}});
    co_return report;
}

}  // namespace emporium::seed
