#include "notify/notify_service.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "notify/order_email.hpp"

namespace emporium::notify {

namespace asio = boost::asio;

namespace {

bool is_paid(std::string_view status) { return status == "paid" || status == "fulfilled"; }

}  // namespace

NotifyService::NotifyService(NotifySettings settings, NotifyStore store, std::shared_ptr<Mailer> mailer, core::CpuPool& cpu)
    : settings_(std::move(settings)), store_(std::move(store)), mailer_(std::move(mailer)), cpu_(cpu) {}

asio::awaitable<core::Result<OrderDocument>> NotifyService::paid_order(std::int64_t order_id) {
    auto doc = co_await store_.order_document(order_id);
    if (!doc) co_return core::make_error(core::Errc::kNotFound, "no order " + std::to_string(order_id));
    if (!is_paid(doc->status)) {
        co_return core::make_error(core::Errc::kConflict,
                                   "order " + std::to_string(order_id) + " is " + doc->status + ", not paid");
    }
    doc->receipt.shop_name = settings_.shop_name;
    doc->receipt.tax_label = settings_.tax_label;
    doc->receipt.tax_rate_bps = settings_.tax_rate_bps;
    co_return std::move(*doc);
}

asio::awaitable<core::Result<void>> NotifyService::send_order_confirmation(std::int64_t order_id) {
    auto doc = co_await paid_order(order_id);
    if (!doc) co_return doc.error();
    const std::string kind(kConfirmationKind);
    auto message = order_confirmation_email(doc->receipt, settings_.from, "");
    co_await store_.ensure_email(order_id, kind, message.to, message.subject);
    // The row lock serialises concurrent deliveries of the same job: the second one waits, then
    // sees "sent" and does nothing.
    auto tx = co_await store_.pool().begin();
    auto status = co_await store_.lock_email(tx, order_id, kind);
    if (status && *status != "pending") {
        co_await tx.commit();
        core::log::info("e-mail already handled", {{"order_id", order_id}, {"status", *status}});
        co_return core::Result<void>{};
    }
    const std::string stem = "order-" + std::to_string(order_id) + "-confirmation";
    auto mailer = mailer_;
    auto send = [mailer, message, stem] { return mailer->send(message, stem); };
    auto sent = co_await core::run_on_cpu(cpu_, send);
    if (sent) {
        co_await store_.mark_email(tx, order_id, kind, "sent", std::nullopt);
        co_await tx.commit();
        core::Metrics::global().counter("emporium_emails_sent_total", "Order e-mails sent").inc();
        core::log::info("e-mail sent", {{"order_id", order_id}, {"kind", kind}, {"via", mailer_->describe()}});
        co_return core::Result<void>{};
    }
    const bool transient = is_transient(sent.error());
    co_await store_.mark_email(tx, order_id, kind, transient ? "pending" : "failed", sent.error().message);
    co_await tx.commit();
    if (transient) co_return core::make_error(core::Errc::kUnavailable, sent.error().message);
    co_return core::make_error(core::Errc::kValidation, sent.error().message);
}

asio::awaitable<core::Result<void>> NotifyService::render_receipt(std::int64_t order_id) {
    if (co_await store_.has_receipt(order_id)) co_return core::Result<void>{};
    auto doc = co_await paid_order(order_id);
    if (!doc) co_return doc.error();
    const auto data = doc->receipt;
    auto render = [data] { return render_receipt_pdf(data); };
    auto pdf = co_await core::run_on_cpu(cpu_, render);
    if (!pdf) co_return pdf.error();
    const auto size = pdf->size();
    const bool inserted = co_await store_.insert_receipt(order_id, std::move(*pdf));
    if (inserted) {
        core::Metrics::global().counter("emporium_receipts_rendered_total", "PDF receipts stored").inc();
        core::log::info("receipt stored", {{"order_id", order_id}, {"bytes", size}});
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<std::string>> NotifyService::receipt_pdf(std::int64_t order_id,
                                                                      std::int64_t viewer_id,
                                                                      bool is_admin) {
    auto stored = co_await store_.receipt(order_id);
    if (!stored || (!is_admin && stored->user_id != viewer_id)) {
        co_return core::make_error(core::Errc::kNotFound, "no such order");
    }
    if (!stored->pdf) {
        co_return core::make_error(core::Errc::kNotFound,
                                   is_paid(stored->status) ? "the receipt is being prepared; try again in a moment"
                                                           : "the order is " + stored->status + "; receipts exist for paid orders");
    }
    co_return std::move(*stored->pdf);
}

}  // namespace emporium::notify
