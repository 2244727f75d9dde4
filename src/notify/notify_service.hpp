#pragma once
// The order documents: the confirmation e-mail and the PDF receipt of a paid order (job handlers,
// idempotent: one e-mail row and one receipt per order however often a job is delivered), and
// serving the receipt to its owner or an admin.

#include "core/cpu_pool.hpp"
#include "core/error.hpp"
#include "notify/mailer.hpp"
#include "notify/notify_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace emporium::notify {

struct NotifySettings {
    std::string shop_name = "Emporium";
    std::string from = "orders@emporium.local";
    std::optional<std::string> tax_label;
    std::int32_t tax_rate_bps = 0;
};

class NotifyService {
public:
    NotifyService(NotifySettings settings, NotifyStore store, std::shared_ptr<Mailer> mailer, core::CpuPool& cpu);

    // Sends the order-confirmation e-mail once. Errors: kNotFound (no such order), kConflict
    // (the order is not paid), kValidation (permanent send failure), kUnavailable (retry).
    boost::asio::awaitable<core::Result<void>> send_order_confirmation(std::int64_t order_id);
    // Renders and stores the receipt once. Errors: kNotFound, kConflict (not paid), kInternal.
    boost::asio::awaitable<core::Result<void>> render_receipt(std::int64_t order_id);
    // The PDF for the owner or an admin. Errors: kNotFound (no such order, not the viewer's, or
    // not rendered yet).
    boost::asio::awaitable<core::Result<std::string>> receipt_pdf(std::int64_t order_id,
                                                                  std::int64_t viewer_id,
                                                                  bool is_admin);

    static constexpr std::string_view kConfirmationKind = "order_confirmation";

private:
    boost::asio::awaitable<core::Result<OrderDocument>> paid_order(std::int64_t order_id);

    NotifySettings settings_;
    NotifyStore store_;
    std::shared_ptr<Mailer> mailer_;
    core::CpuPool& cpu_;
};

}  // namespace emporium::notify
