#pragma once
// Business rules of the catalog: categories, products (admin writes with optimistic concurrency
// and a stock ledger), reviews, and the ranked, searchable listing with opaque keyset cursors.
// Reads of products and listing pages go through the Redis cache (CatalogCache); every product
// write invalidates it. No HTTP and no SQL here.
//
// Cursor format: base64url(JSON) with s (sort), m (text mode: "", "fts", "trgm"), f (hash of the
// filters), k (last sort key as text), i (last id), p (max purchase count snapshot), t (the
// "now" snapshot, µs) and, for sort=rank served by the rank index, x (the database snapshot the
// first page was ranked as of): later pages rank as of the first page, so pages neither repeat
// nor skip products while purchase counts, ratings and ages move.

#include "catalog/catalog_cache.hpp"
#include "catalog/catalog_store.hpp"
#include "catalog/catalog_types.hpp"
#include "catalog/local_cache.hpp"
#include "catalog/rank_feed.hpp"
#include "core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace emporium::catalog {

// Encodes / decodes listing cursors (exposed for tests). decode returns nullopt for anything
// that is not a cursor this service produced.
std::string encode_cursor(const ListCursor& cursor);
std::optional<ListCursor> decode_cursor(std::string_view text);

// Methods are coroutines for the I/O thread that calls them (its database pool and Redis
// client). Infrastructure failures of PostgreSQL propagate as InfraError subclasses; Redis
// failures only bypass the cache.
struct CatalogSettings {
    // Facet counts are exact up to this many matching products, estimated above.
    std::size_t facets_exact_limit = 10'000;
    // A text query matching at most this many products is ranked by enumerating its matches;
    // above, the rank order is scanned and the text checked block by block.
    std::size_t text_enumerate_limit = 20'000;
};

class CatalogService {
public:
    // Told, after the commit, that the catalog changed a product's stock (a product created, an
    // admin's update that set `stock`), so stock kept elsewhere (the inventory's Redis mirror)
    // follows the database. Must not throw.
    using StockListener = std::function<boost::asio::awaitable<void>(std::int64_t product_id)>;

    // `feed` (optional): the in-process rank index; without one, sort=rank runs the reference
    // query (a full scan). The feed must be maintained (RankFeed::maintain) by the owner.
    // `local` (optional): the in-process layer in front of the Redis product cache.
    CatalogService(CatalogStore store,
                   CatalogCache cache,
                   std::shared_ptr<RankFeed> feed = nullptr,
                   CatalogSettings settings = {},
                   std::shared_ptr<LocalProductCache> local = nullptr);

    // Registers the stock listener (the composition root, before serving; not thread-safe).
    void on_stock_change(StockListener listener) { stock_listener_ = std::move(listener); }

    // Reads marked "(replica)" take the caller's read-your-writes position (`after`, a db::Lsn;
    // 0: none) and may be served by a read replica that has replayed it (CatalogStore::on_replica);
    // admin reads (`include_hidden`) and everything that writes use the primary.

    // (replica)
    boost::asio::awaitable<std::vector<Category>> list_categories(db::Lsn after = 0);
    // Errors: kNotFound. (replica)
    boost::asio::awaitable<core::Result<Category>> get_category(std::string slug, db::Lsn after = 0);
    // Errors: kValidation (slug shape, unknown parent), kConflict (slug taken).
    boost::asio::awaitable<core::Result<Category>> create_category(NewCategory input);

    // Public view unless `include_hidden` (admins): inactive and deleted products are kNotFound.
    // (replica, unless include_hidden)
    boost::asio::awaitable<core::Result<Product>> get_product(std::int64_t id,
                                                              bool include_hidden = false,
                                                              db::Lsn after = 0);
    // Errors: kValidation (field errors), kConflict (sku taken).
    // The visible (active, not deleted) products among `ids`, in the order of `ids` (recommendations).
    // (replica)
    boost::asio::awaitable<std::vector<Product>> get_visible_products(std::vector<std::int64_t> ids,
                                                                      db::Lsn after = 0);
    boost::asio::awaitable<core::Result<Product>> create_product(NewProduct input);
    // Errors: kValidation, kNotFound, kPreconditionFailed (stale version).
    boost::asio::awaitable<core::Result<Product>> update_product(std::int64_t id, ProductPatch patch);
    // Soft delete. Errors: kNotFound.
    boost::asio::awaitable<core::Result<void>> delete_product(std::int64_t id);

    // ---- options and variants ----

    // The product's active, undeleted variants (`include_hidden`, admins: all but deleted ones),
    // read from the database (live stock). Errors: kNotFound (product absent, or hidden from the caller).
    // (replica, unless include_hidden)
    boost::asio::awaitable<core::Result<VariantList>> list_variants(std::int64_t product_id,
                                                                    bool include_hidden,
                                                                    db::Lsn after = 0);
    // Errors: kNotFound (absent, deleted, or hidden from the caller). (replica, unless include_hidden)
    boost::asio::awaitable<core::Result<Variant>> get_variant(std::int64_t id,
                                                              bool include_hidden,
                                                              db::Lsn after = 0);
    // Errors: kNotFound (product), kValidation (other options than the product's), kConflict (sku
    // taken, combination exists).
    boost::asio::awaitable<core::Result<Variant>> create_variant(std::int64_t product_id, VariantInput input);
    // Errors: kPreconditionRequired (no version), kNotFound, kPreconditionFailed (stale version),
    // kConflict (sku taken, stock below held).
    boost::asio::awaitable<core::Result<Variant>> update_variant(std::int64_t id, VariantPatch patch);
    // Soft delete. Errors: kNotFound, kConflict (the default variant).
    boost::asio::awaitable<core::Result<void>> delete_variant(std::int64_t id);

    // Errors: kValidation, kNotFound, kConflict (already reviewed).
    boost::asio::awaitable<core::Result<Review>> add_review(std::int64_t product_id,
                                                            std::int64_t user_id,
                                                            NewReview input);
    // Newest first. Errors: kNotFound (product not visible), kBadRequest (bad cursor). (replica)
    boost::asio::awaitable<core::Result<ReviewPage>> list_reviews(std::int64_t product_id,
                                                                  std::int64_t limit,
                                                                  std::optional<std::string> cursor,
                                                                  db::Lsn after = 0);

    // Errors: kValidation (relevance without q, min_price > max_price, limit out of range),
    // kBadRequest (cursor malformed or from another sort / filter), kNotFound (unknown category).
    // (replica)
    boost::asio::awaitable<core::Result<ProductPage>> list_products(ListQuery query, db::Lsn after = 0);

    // Drops the cached copies of a product and the cached listing pages. For other contexts that
    // change products.stock or purchase_count (checkout, order expiry), after their commit. With
    // read replicas it first raises the cache's write position to the primary's current one, so
    // that no cache fill can store what a replica read before this write (catalog_cache.hpp).
    boost::asio::awaitable<void> invalidate_product(std::int64_t id);

    CatalogStore& store() { return store_; }

    // The categories, cached in this process for a few seconds (facets, category filters).
    boost::asio::awaitable<std::shared_ptr<const std::vector<Category>>> categories(bool refresh = false);

private:
    struct Resolved;
    // Fills the slug and name of each product's category (reads return its id only).
    boost::asio::awaitable<void> name_categories(std::vector<Product>& products);
    // `reads`: the store the reads go through (store_, or store_.on_replica(after)).
    boost::asio::awaitable<std::optional<Product>> find_named_product(std::int64_t id, CatalogStore reads);
    // Sets the detail's options, active variants and price range.
    boost::asio::awaitable<void> add_variants(Product& product, CatalogStore reads);
    std::shared_ptr<const std::vector<Category>> categories_by_id();  // as categories(), by id
    // The position a read whose result may be cached must have replayed: `after`, raised to the
    // cache's write position when there are replicas.
    boost::asio::awaitable<db::Lsn> fill_after(db::Lsn after);
    boost::asio::awaitable<core::Result<ProductPage>> load_page(ListQuery query,
                                                                std::optional<ListCursor> cursor,
                                                                CatalogStore reads);
    boost::asio::awaitable<ProductPage> reference_page(const ListQuery& query,
                                                       const std::optional<ListCursor>& cursor,
                                                       const Resolved& resolved,
                                                       CatalogStore& reads);
    boost::asio::awaitable<core::Result<ProductPage>> rank_page(const ListQuery& query,
                                                                const std::optional<ListCursor>& cursor,
                                                                const Resolved& resolved,
                                                                CatalogStore& reads);
    boost::asio::awaitable<Facets> facets(const ListQuery& query,
                                          const Resolved& resolved,
                                          CatalogStore& reads);
    // Whether any product's text matches q (cheap for common and for rare texts alike).
    boost::asio::awaitable<bool> text_has_matches(std::string q, CatalogStore reads);
    static constexpr std::int64_t kMatchProbeRows = 200;
    // `q` with its unknown words replaced by their nearest vocabulary words, when `q` matches no
    // product at all and a replacement exists; nullopt otherwise.
    boost::asio::awaitable<std::optional<std::string>> corrected_query(std::string q, CatalogStore reads);

    CatalogStore store_;
    CatalogCache cache_;
    std::shared_ptr<RankFeed> feed_;
    CatalogSettings settings_;
    std::shared_ptr<LocalProductCache> local_;
    std::mutex categories_mutex_;
    std::shared_ptr<const std::vector<Category>> categories_;
    std::shared_ptr<const std::vector<Category>> categories_by_id_;
    std::chrono::steady_clock::time_point categories_loaded_{};
    StockListener stock_listener_;
    // Typo corrections per word, for 30 s (catalog_service.cpp).
    class CorrectionCache;
    std::shared_ptr<CorrectionCache> corrections_;
};

}  // namespace emporium::catalog
