#include "notify/notify_routes.hpp"

#include "orders/orders_routes.hpp"

namespace emporium::notify {

namespace {

namespace asio = boost::asio;

asio::awaitable<http::Reply<http::Bytes>> receipt(std::shared_ptr<NotifyService> service, http::In<orders::OrderRef> in,
                                                  http::Caller caller) {
    auto pdf = co_await service->receipt_pdf(in.path.id, caller.user(), caller.is_admin());
    if (!pdf) co_return pdf.error();
    http::Bytes bytes;
    bytes.data = std::move(*pdf);
    bytes.content_type = "application/pdf";
    http::Reply<http::Bytes> reply(std::move(bytes));
    std::string disposition = "inline; filename=\"receipt-";
    disposition += std::to_string(in.path.id);
    disposition += ".pdf\"";
    reply.header("Content-Disposition", std::move(disposition));
    reply.header("Cache-Control", "private, no-store");
    co_return reply;
}

}  // namespace

void register_routes(http::Api& api, std::shared_ptr<NotifyService> service) {
    api.add({.method = http::Verb::get,
             .path = "/api/v1/orders/{id}/receipt",
             .id = "getReceipt",
             .tag = "orders",
             .summary = "The PDF receipt of a paid order (owner or admin); rendered by a background job after payment",
             .access = http::Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the receipt",
             .media_type = "application/pdf",
             .errors = {{404, "no such order (or not yours), or no receipt yet"}},
             .response_headers = {{"Content-Disposition", "inline; filename=\"receipt-<id>.pdf\""}}},
            receipt, std::move(service));
}

}  // namespace emporium::notify
