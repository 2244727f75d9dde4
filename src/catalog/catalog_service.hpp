#pragma once
// Business rules of the catalog: categories, products (admin writes with optimistic concurrency
// and a stock ledger), reviews, and the ranked, searchable listing with opaque keyset cursors.
// Reads of products and listing pages go through the Redis cache (CatalogCache); every product
// write invalidates it. No HTTP and no SQL here.
//
// Cursor format: base64url(JSON) with s (sort), m (text mode: "", "fts", "trgm"), f (hash of the
// filters), k (last sort key as text), i (last id), p (max purchase count snapshot) and t (the
// "now" snapshot, µs): later pages rank with the snapshot of the first page, so pages stay
// consistent while purchase counts and ages move.

#include "catalog/catalog_cache.hpp"
#include "catalog/catalog_store.hpp"
#include "catalog/catalog_types.hpp"
#include "core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
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
class CatalogService {
public:
    // Told, after the commit, that the catalog changed a product's stock (a product created, an
    // admin's update that set `stock`), so stock kept elsewhere (the inventory's Redis mirror)
    // follows the database. Must not throw.
    using StockListener = std::function<boost::asio::awaitable<void>(std::int64_t product_id)>;

    CatalogService(CatalogStore store, CatalogCache cache);

    // Registers the stock listener (the composition root, before serving; not thread-safe).
    void on_stock_change(StockListener listener) { stock_listener_ = std::move(listener); }

    boost::asio::awaitable<std::vector<Category>> list_categories();
    // Errors: kNotFound.
    boost::asio::awaitable<core::Result<Category>> get_category(std::string slug);
    // Errors: kValidation (slug shape, unknown parent), kConflict (slug taken).
    boost::asio::awaitable<core::Result<Category>> create_category(NewCategory input);

    // Public view unless `include_hidden` (admins): inactive and deleted products are kNotFound.
    boost::asio::awaitable<core::Result<Product>> get_product(std::int64_t id, bool include_hidden = false);
    // Errors: kValidation (field errors), kConflict (sku taken).
    // The visible (active, not deleted) products among `ids`, in the order of `ids` (recommendations).
    boost::asio::awaitable<std::vector<Product>> get_visible_products(std::vector<std::int64_t> ids);
    boost::asio::awaitable<core::Result<Product>> create_product(NewProduct input);
    // Errors: kValidation, kNotFound, kPreconditionFailed (stale version).
    boost::asio::awaitable<core::Result<Product>> update_product(std::int64_t id, ProductPatch patch);
    // Soft delete. Errors: kNotFound.
    boost::asio::awaitable<core::Result<void>> delete_product(std::int64_t id);

    // Errors: kValidation, kNotFound, kConflict (already reviewed).
    boost::asio::awaitable<core::Result<Review>> add_review(std::int64_t product_id,
                                                            std::int64_t user_id,
                                                            NewReview input);
    // Newest first. Errors: kNotFound (product not visible), kBadRequest (bad cursor).
    boost::asio::awaitable<core::Result<ReviewPage>> list_reviews(std::int64_t product_id,
                                                                  std::int64_t limit,
                                                                  std::optional<std::string> cursor);

    // Errors: kValidation (relevance without q, min_price > max_price, limit out of range),
    // kBadRequest (cursor malformed or from another sort / filter), kNotFound (unknown category).
    boost::asio::awaitable<core::Result<ProductPage>> list_products(ListQuery query);

    // Drops the cached copies of a product and the cached listing pages. For other contexts that
    // change products.stock or purchase_count (checkout, order expiry), after their commit.
    boost::asio::awaitable<void> invalidate_product(std::int64_t id);

    CatalogStore& store() { return store_; }

private:
    boost::asio::awaitable<std::optional<ProductPage>> load_page(ListQuery query,
                                                                 std::optional<ListCursor> cursor);

    CatalogStore store_;
    CatalogCache cache_;
    StockListener stock_listener_;
};

}  // namespace emporium::catalog
