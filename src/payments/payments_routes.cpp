#include "payments/payments_routes.hpp"

#include "core/codec.hpp"
#include "orders/orders_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>

namespace emporium::payments {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;

struct WebhookReceipt {
    bool received = true;
    bool duplicate = false;
    std::string action;
    static constexpr std::array kFields{core::field("action").describe("captured, declined, or ignored: <why>")};
};
BOOST_DESCRIBE_STRUCT(WebhookReceipt, (), (received, duplicate, action))

asio::awaitable<Reply<PaymentAccepted>> pay(std::shared_ptr<PaymentsService> service, In<orders::OrderRef, NoInput, PayRequest> in,
                                            Caller caller) {
    const auto order_id = in.path.id;
    std::string fingerprint = "POST /api/v1/orders/" + std::to_string(order_id) + "/pay\n" + core::codec::encode(in.body);
    auto started = co_await service->request_payment(caller.user(), order_id, caller.idempotency_key,
                                                     std::move(in.body.payment_method), std::move(fingerprint));
    if (!started) co_return started.error();
    if (started->failure) {
        auto res = http::problem_response(caller.version, caller.request_id, *started->failure);
        co_await service->remember_failure(caller.user(), caller.idempotency_key, static_cast<std::int32_t>(res.result_int()), res.body());
        co_return *started->failure;
    }
    auto reply = orders::stored_reply<PaymentAccepted>(*started);
    if (started->status == 202) reply.header("Location", "/api/v1/orders/" + std::to_string(order_id) + "/payment");
    co_return reply;
}

asio::awaitable<Reply<PaymentStatus>> payment(std::shared_ptr<PaymentsService> service, In<orders::OrderRef> in, Caller caller) {
    auto list = co_await service->payments_of(in.path.id, caller.user(), caller.is_admin());
    if (!list) co_return list.error();
    PaymentStatus out;
    static_cast<Payment&>(out) = list->front();
    out.history = std::move(*list);
    co_return out;
}

asio::awaitable<Reply<Refund>> refund(std::shared_ptr<PaymentsService> service,
                                      In<orders::OrderRef, NoInput, NewRefund> in,
                                      Caller caller) {
    const auto order_id = in.path.id;
    std::string fingerprint = "POST /api/v1/orders/" + std::to_string(order_id) + "/refunds\n" + core::codec::encode(in.body);
    auto started = co_await service->request_refund(caller.user(), order_id, caller.idempotency_key, std::move(in.body),
                                                    std::move(fingerprint));
    if (!started) co_return started.error();
    if (started->failure) {
        auto res = http::problem_response(caller.version, caller.request_id, *started->failure);
        co_await service->remember_failure(caller.user(), caller.idempotency_key, static_cast<std::int32_t>(res.result_int()), res.body());
        co_return *started->failure;
    }
    auto reply = orders::stored_reply<Refund>(*started);
    if (started->status == 202) reply.header("Location", "/api/v1/orders/" + std::to_string(order_id) + "/refunds");
    co_return reply;
}

asio::awaitable<Reply<RefundList>> refunds(std::shared_ptr<PaymentsService> service, In<orders::OrderRef> in, Caller caller) {
    co_return co_await service->refunds_of(in.path.id, caller.user(), caller.is_admin());
}

struct ReturnRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("return id")};
};
BOOST_DESCRIBE_STRUCT(ReturnRef, (), (id))

asio::awaitable<Reply<Return>> request_return(std::shared_ptr<PaymentsService> service,
                                              In<orders::OrderRef, NoInput, NewReturn> in,
                                              Caller caller) {
    auto created = co_await service->request_return(caller.user(), in.path.id, std::move(in.body));
    if (!created) co_return created.error();
    Reply<Return> reply(std::move(*created));
    reply.status(http::Status::created);
    co_return reply;
}

asio::awaitable<Reply<ReturnList>> returns(std::shared_ptr<PaymentsService> service, In<orders::OrderRef> in, Caller caller) {
    co_return co_await service->returns_of(in.path.id, caller.user(), caller.is_admin());
}

asio::awaitable<Reply<Return>> receive_return(std::shared_ptr<PaymentsService> service, In<ReturnRef> in,
                                              Caller /*caller*/) {
    co_return co_await service->receive_return(in.path.id);
}

asio::awaitable<Reply<FlaggedPage>> flagged(std::shared_ptr<PaymentsService> service, In<NoInput, http::PageQuery> in,
                                            Caller /*caller*/) {
    co_return co_await service->flagged(in.query.limit, std::move(in.query.cursor));
}

asio::awaitable<Reply<WebhookReceipt>> webhook(std::shared_ptr<PaymentsService> service,
                                               In<NoInput, NoInput, http::Bytes> in,
                                               Caller caller) {
    std::string signature(caller.header("Stripe-Signature").value_or(""));
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto outcome = co_await service->handle_webhook(std::move(signature), std::move(in.body.data), now);
    if (!outcome) co_return outcome.error();
    co_return WebhookReceipt{true, outcome->duplicate, outcome->action};
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<PaymentsService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("payments", "Paying orders (captured in the background), payment status, provider webhooks");
    api.add({.method = Verb::post,
             .path = "/api/v1/orders/{id}/pay",
             .id = "payOrder",
             .tag = "payments",
             .summary = "Pay an order with a payment method token; the capture runs in the background (202)",
             .description = "Sandbox tokens: tok_ok, tok_declined, tok_flaky_N (N transient failures, then approved), "
                            "tok_slow (times out), tok_invalid. A declined payment leaves the order payment_failed with "
                            "its stock still reserved until it expires; pay again with another method.",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .idempotency_key = true,
             .success = http::Status::accepted,
             .success_description = "payment accepted; poll status_url (Location)",
             .errors = {{404, "no such order (or not yours)"},
                        {409, "order not payable, a payment already in progress, the key in use by a request in progress"},
                        {422, "the key reused with another body"}},
             .response_headers = {{"Location", "the payment's status URL"},
                                  {"Idempotent-Replayed", "true when this answer is a replay"}}},
            pay, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/orders/{id}/payment",
             .id = "getPayment",
             .tag = "payments",
             .summary = "The order's latest payment: status, attempts, last error, and its history",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the latest payment",
             .errors = {{404, "no such order, or no payment yet"}}},
            payment, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/payments/flagged",
             .id = "listFlaggedPayments",
             .tag = "payments",
             .summary = "Captured payments flagged for a refund (second charges, orders cancelled or expired), newest first",
             .description = "Each was logged once at error level and counted in emporium_payments_flagged_total{reason}, "
                            "and refunded automatically once (GET /orders/{id}/refunds shows it, automatic: true).",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "a page",
             .errors = {{400, "malformed cursor"}}},
            flagged, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/orders/{id}/refunds",
             .id = "refundOrder",
             .tag = "payments",
             .summary = "Refund (part of) a paid order (admin): by amount or by order lines; the provider is called in "
                        "the background (202)",
             .description = "Never more than the capture, even under concurrent requests (they queue on the payment). "
                            "A line refund gives back the line's paid share per unit (after its discount, with its tax "
                            "when added); each unit once. The same Idempotency-Key replays the first answer.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .idempotency_key = true,
             .success = http::Status::accepted,
             .success_description = "the refund, pending; GET /orders/{id}/refunds shows its outcome",
             .errors = {{404, "no such order"},
                        {409, "the order has no captured payment, more than what is left to refund, the key in use"},
                        {422, "invalid fields (neither or both of amount_cents and lines), more than the capture, lines "
                              "not in the order or refunded already, the key reused with another body"}},
             .response_headers = {{"Location", "the order's refunds"},
                                  {"Idempotent-Replayed", "true when this answer is a replay"}}},
            refund, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/orders/{id}/refunds",
             .id = "listRefunds",
             .tag = "payments",
             .summary = "The order's refunds, newest first (owner or admin)",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the refunds",
             .errors = {{404, "no such order (or not yours)"}}},
            refunds, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/orders/{id}/returns",
             .id = "requestReturn",
             .tag = "payments",
             .summary = "Ask to send back units of a fulfilled order (its customer), within RETURN_WINDOW_DAYS of "
                        "fulfilment",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "the return, requested; the order becomes return_requested",
             .errors = {{404, "no such order (or not yours)"},
                        {409, "the order is not fulfilled, a return is already open, or the return window closed"},
                        {422, "lines not in the order, more units than are left to return, a variant twice"}}},
            request_return, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/orders/{id}/returns",
             .id = "listReturns",
             .tag = "payments",
             .summary = "The order's returns, newest first (owner or admin)",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the returns",
             .errors = {{404, "no such order (or not yours)"}}},
            returns, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/admin/returns/{id}/receive",
             .id = "receiveReturn",
             .tag = "payments",
             .summary = "Receive a return (admin): its units go back on sale and their paid share is refunded, in one "
                        "step",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "the return, received, with its refund_id (GET /orders/{id}/refunds)",
             .errors = {{404, "no such return"},
                        {409, "received already, or the order's payment cannot be refunded"},
                        {422, "units already refunded another way"}}},
            receive_return, service);
    api.add({.method = Verb::post,
             .path = "/webhooks/payments",
             .id = "paymentWebhook",
             .tag = "payments",
             .summary = "Provider events (payment_intent.succeeded / payment_intent.payment_failed; refund.updated, "
                        "refund.failed, charge.refunded settle refunds)",
             .description = "Signed like Stripe: header Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "
                            "\"<t>.<body>\")>; outside WEBHOOK_TOLERANCE_S the event is rejected; duplicates are ignored.",
             .rate_group = "write",
             .success_description = "received (or a duplicate, ignored)",
             .errors = {{400, "bad or stale signature, malformed event"}, {503, "webhooks not configured"}},
             .request_headers = {{"Stripe-Signature", "t=…,v1=…", true}}},
            webhook, service);
}

}  // namespace emporium::payments
