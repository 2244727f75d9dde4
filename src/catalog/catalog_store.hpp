#pragma once
// SQL of the catalog context: categories, products (with their stock ledger rows), reviews and the
// ranked listing. Only parameterised SQL: dynamic listing queries are assembled from fixed
// fragments with $n placeholders, never from input text.

#include "catalog/catalog_types.hpp"
#include "catalog/rank_index.hpp"
#include "core/error.hpp"
#include "db/pg.hpp"
#include "db/replicas.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace emporium::catalog {

// What the listing query needs once the service has validated and resolved the request.
struct ListSpec {
    std::optional<std::string> q;
    TextMode mode = TextMode::kNone;
    std::optional<std::vector<std::int64_t>> category_ids;
    std::optional<std::int64_t> min_price;
    std::optional<std::int64_t> max_price;
    std::optional<bool> in_stock;
    ListSort sort = ListSort::kRank;
    std::int64_t limit = kDefaultPageSize;  // rows to fetch
    std::int64_t max_purchase = 0;          // ranking snapshot
    Timestamp now{};                        // ranking snapshot
    std::optional<ListCursor> after;        // keyset position (exclusive)
};

// The listing statement and its parameters for `spec` (what list_products runs), for tests that
// EXPLAIN it.
struct ListingSql {
    std::string sql;
    db::Params params;
};
ListingSql listing_sql(const ListSpec& spec);

// Every method uses the pool returned by `pools()` on the calling thread (the primary) and throws
// db::DbError subclasses for infrastructure failures.
//
// Read replicas: a store made with a replica provider runs nothing on a replica by itself. The
// service chooses, per request, `on_replica(after)`: a copy whose replica-eligible reads (marked
// "[replica]" below: the request path's product, variant, category, review, listing and text
// reads) go to the thread's db::ReplicaSet, to a replica that has replayed `after`, or to the
// primary. Writes, transactions and the rank index's snapshots always run on the primary.
class CatalogStore {
public:
    using PoolProvider = std::function<db::Pool&()>;
    // The calling thread's replica set; empty provider or null: no replicas.
    using ReplicaProvider = std::function<db::ReplicaSet*()>;

    explicit CatalogStore(PoolProvider pools, ReplicaProvider replicas = {})
        : pools_(std::move(pools)),
          replicas_(std::move(replicas)),
          product_reads_(std::make_shared<std::atomic<std::int64_t>>(0)) {}

    // This store with its [replica] reads on a replica that has replayed `after` (0: any replica
    // in rotation), falling back to the primary. Cheap (a copy of the providers).
    CatalogStore on_replica(db::Lsn after) const {
        CatalogStore copy = *this;
        copy.replica_after_ = after;
        return copy;
    }
    // Whether this thread has read replicas configured.
    bool has_replicas() const {
        auto* set = replicas_ ? replicas_() : nullptr;
        return set != nullptr && !set->empty();
    }
    // The primary's WAL insert position now (db::current_insert_lsn).
    boost::asio::awaitable<db::Lsn> primary_insert_lsn();

    // [replica]
    boost::asio::awaitable<std::vector<Category>> list_categories();
    // [replica]
    boost::asio::awaitable<std::optional<Category>> find_category(std::string slug);
    // Errors: kConflict (slug taken), kValidation (parent_id does not exist).
    boost::asio::awaitable<core::Result<Category>> insert_category(NewCategory input);
    // The ids of the category and all its descendants; nullopt for an unknown slug. [replica]
    boost::asio::awaitable<std::optional<std::vector<std::int64_t>>> category_subtree(std::string slug);

    // Any product, including inactive and soft-deleted ones (the service decides visibility).
    // Its category carries the id only (slug and name empty): the service names it. [replica]
    boost::asio::awaitable<std::optional<Product>> find_product(std::int64_t id);
    // Inserts the product and its 'initial' ledger row in one transaction.
    // Errors: kConflict (sku taken), kValidation (category_id does not exist).
    // Active, not deleted products among `ids` (any order; absent ones are left out); categories
    // by id only, as find_product. [replica]
    boost::asio::awaitable<std::vector<Product>> find_visible_products(std::vector<std::int64_t> ids);
    boost::asio::awaitable<core::Result<Product>> insert_product(NewProduct input);
    // Errors: kNotFound (absent or deleted), kPreconditionFailed (version mismatch), kValidation
    // (category_id does not exist). A stock change writes one 'restock'/'adjustment' ledger row.
    boost::asio::awaitable<core::Result<Product>> update_product(std::int64_t id, ProductPatch patch);
    // Soft delete; false when absent or already deleted.
    boost::asio::awaitable<bool> soft_delete_product(std::int64_t id);

    // ---- options and variants (variant_store.cpp) ----

    // Every variant of the product (inactive and deleted ones too), by position; empty for an
    // unknown product. [replica]
    boost::asio::awaitable<std::vector<Variant>> variants_of(std::int64_t product_id);
    struct FoundVariant {
        Variant variant;
        bool product_visible = false;  // its product is active and not deleted
    };
    // [replica]
    boost::asio::awaitable<std::optional<FoundVariant>> find_variant(std::int64_t id);
    // Inserts the variant, the options and values it names that the product lacks, and its
    // 'initial' ledger row, in one transaction. Errors: kNotFound (no product, or deleted),
    // kValidation (the product has other options), kConflict (sku taken, combination exists).
    boost::asio::awaitable<core::Result<Variant>> insert_variant(std::int64_t product_id, VariantInput input);
    // Errors: kNotFound (absent or deleted), kPreconditionFailed (version), kConflict (sku taken,
    // stock below held). A stock change writes one 'restock'/'adjustment' ledger row.
    boost::asio::awaitable<core::Result<Variant>> update_variant(std::int64_t id, VariantPatch patch);
    // Soft delete; its unheld stock leaves through an 'adjustment' row. Errors: kNotFound,
    // kConflict (the default variant).
    struct VariantRemoval {
        std::int64_t product_id = 0;
        bool stock_changed = false;
    };
    boost::asio::awaitable<core::Result<VariantRemoval>> delete_variant(std::int64_t id);

    // Errors: kNotFound (no visible product), kConflict (one review per user and product).
    boost::asio::awaitable<core::Result<Review>> insert_review(std::int64_t product_id,
                                                               std::int64_t user_id,
                                                               NewReview input);
    // Newest first, after (created_at, id) when given. [replica]
    boost::asio::awaitable<std::vector<Review>> list_reviews(
        std::int64_t product_id, std::int64_t limit, std::optional<std::pair<Timestamp, std::int64_t>> after);

    // max(purchase_count) over active products (0 when none). [replica]
    boost::asio::awaitable<std::int64_t> max_purchase_count();
    // [replica]
    boost::asio::awaitable<std::vector<ListedProduct>> list_products(ListSpec spec);
    // Counts per category and price band (index into facet_price_bands()) of the products `spec`
    // matches (its sort, limit and cursor are ignored): exact, by a scan of the matches. [replica]
    struct FacetRow {
        std::int64_t category_id = 0;
        std::size_t band = 0;
        std::int64_t count = 0;
    };
    boost::asio::awaitable<std::vector<FacetRow>> facet_counts(ListSpec spec);

    // ---- the rank index's feed (catalog_changes) and the text predicate ----

    // Every product's listing inputs and the changes of the last `history_micros`, all as of one
    // snapshot (a REPEATABLE READ transaction).
    struct RankBaseline {
        std::string snapshot;  // pg_snapshot text
        std::int64_t now_micros = 0;
        std::vector<std::pair<std::int64_t, RankInputs>> products;
        std::vector<ProductText> texts;
        std::vector<RankChange> history;
    };
    boost::asio::awaitable<RankBaseline> load_rank_baseline(std::int64_t history_micros);
    // The changes committed since `snapshot` (not visible in it, visible now) and the snapshot of
    // "now". `reload` when a bulk load asked every index to load again.
    struct RankCatchUp {
        std::string snapshot;
        std::vector<RankChange> changes;
        bool reload = false;
    };
    boost::asio::awaitable<RankCatchUp> rank_changes_since(std::string snapshot, std::uint64_t xmin);
    // Deletes change rows older than `retention_micros`; returns how many.
    boost::asio::awaitable<std::int64_t> purge_rank_changes(std::int64_t retention_micros);
    // Asks every rank index to load again (after a bulk load that bypassed the triggers).
    boost::asio::awaitable<void> request_rank_reload();

    // Ids of products (any visibility) matching text `q` as `predicate` says, at most `limit`. [replica]
    boost::asio::awaitable<std::vector<std::int64_t>> text_matches(std::string q,
                                                                   TextPredicate predicate,
                                                                   std::int64_t limit);
    // Those of `ids` matching. [replica]
    boost::asio::awaitable<std::vector<std::int64_t>> text_matches_among(std::string q,
                                                                         TextPredicate predicate,
                                                                         std::vector<std::int64_t> ids);
    // websearch_to_tsquery('english', q) as text: what the rank index evaluates in process. [replica]
    boost::asio::awaitable<std::string> tsquery_text(std::string q);
    // For each word (lower-case, no spaces): whether the search vocabulary has it, and its nearest
    // vocabulary word by trigram word similarity (>= 0.3), if any.
    struct WordCorrection {
        std::string word;
        bool known = false;
        std::optional<std::string> nearest;
    };
    boost::asio::awaitable<std::vector<WordCorrection>> correct_words(std::vector<std::string> words);

    // Product reads (find_product + list_products) made so far, for cache tests.
    std::int64_t product_reads() const { return product_reads_->load(); }
    // Typo-correction lookups made so far (tests).
    std::int64_t word_lookups() const { return word_lookups_->load(); }

private:
    // A [replica] read: on the replica set when this is an on_replica() copy, else the primary.
    boost::asio::awaitable<db::QueryResult> read(db::Statement stmt, db::Params params = {});
    template <typename... Args>
    requires db::detail::ParamList<Args...> boost::asio::awaitable<db::QueryResult> read(db::Statement stmt,
                                                                                         Args&&... args) {
        return read(stmt, db::params(std::forward<Args>(args)...));
    }
    boost::asio::awaitable<db::QueryResult> read_unprepared(std::string sql, db::Params params);

    PoolProvider pools_;
    ReplicaProvider replicas_;
    std::optional<db::Lsn> replica_after_;  // set in on_replica() copies
    std::shared_ptr<std::atomic<std::int64_t>> product_reads_;
    std::shared_ptr<std::atomic<std::int64_t>> word_lookups_ = std::make_shared<std::atomic<std::int64_t>>(0);
};

}  // namespace emporium::catalog
