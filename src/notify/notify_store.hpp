#pragma once
// SQL of the notify context: the read model of a paid order for its receipt and e-mail (a join of
// orders, order_items, products and users; read-only), the `emails` ledger (one row per order
// and kind) and the `receipts` table.

#include "db/pg.hpp"
#include "notify/receipt_pdf.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <optional>
#include <string>

namespace emporium::notify {

struct OrderDocument {
    ReceiptData receipt;  // shop name and tax are filled in by the service
    std::int64_t user_id = 0;
    std::string status;
};

struct StoredReceipt {
    std::int64_t user_id = 0;
    std::string status;
    std::optional<std::string> pdf;
};

class NotifyStore {
public:
    using PoolRef = std::function<db::Pool&()>;
    explicit NotifyStore(PoolRef pool) : pool_(std::move(pool)) {}

    boost::asio::awaitable<std::optional<OrderDocument>> order_document(std::int64_t order_id);

    // Creates the e-mail row if missing.
    boost::asio::awaitable<void> ensure_email(std::int64_t order_id, std::string kind, std::string recipient, std::string subject);
    // Locks the e-mail row; returns its status ("pending", "sent", "failed") or nullopt.
    boost::asio::awaitable<std::optional<std::string>> lock_email(db::Transaction& tx, std::int64_t order_id, std::string kind);
    boost::asio::awaitable<void> mark_email(db::Transaction& tx,
                                            std::int64_t order_id,
                                            std::string kind,
                                            std::string status,
                                            std::optional<std::string> error);

    boost::asio::awaitable<bool> has_receipt(std::int64_t order_id);
    // Returns false when a receipt already existed (kept as is).
    boost::asio::awaitable<bool> insert_receipt(std::int64_t order_id, std::string pdf);
    // The order's owner and status and, if rendered, its receipt; nullopt when no such order.
    boost::asio::awaitable<std::optional<StoredReceipt>> receipt(std::int64_t order_id);

    db::Pool& pool() { return pool_(); }

private:
    PoolRef pool_;
};

}  // namespace emporium::notify
