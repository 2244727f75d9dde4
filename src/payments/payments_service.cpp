#include "payments/payments_service.hpp"

#include "core/codec.hpp"

#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "payments/webhook_signature.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace emporium::payments {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

void count(std::string_view outcome) {
    core::Metrics::global()
        .counter("emporium_payments_total", "Payment attempts by outcome", {{"outcome", std::string(outcome)}})
        .inc();
}

std::string status_url(std::int64_t order_id) { return "/api/v1/orders/" + std::to_string(order_id) + "/payment"; }

std::string event_for(std::string_view status) {
    if (status == "captured") return "payment.captured";
    if (status == "declined") return "payment.declined";
    return "payment.failed";
}

// A positive decimal id written as text, nothing around it.
std::optional<std::int64_t> positive_id(std::string_view s) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || id <= 0) return std::nullopt;
    return id;
}

std::optional<std::int64_t> as_id(const json::value* v) {
    if (v == nullptr) return std::nullopt;
    if (v->is_int64() && v->get_int64() > 0) return v->get_int64();
    if (v->is_string()) return positive_id(v->get_string());
    return std::nullopt;
}

}  // namespace

PaymentsService::PaymentsService(PaymentsSettings settings,
                                 PaymentsStore store,
                                 std::shared_ptr<orders::OrdersService> orders,
                                 std::shared_ptr<PaymentProvider> provider)
    : settings_(std::move(settings)),
      store_(std::move(store)),
      orders_(std::move(orders)),
      provider_(std::move(provider)) {}

asio::awaitable<core::Result<orders::CheckoutResponse>> PaymentsService::request_payment(std::int64_t user_id,
                                                                                         std::int64_t order_id,
                                                                                         std::string key,
                                                                                         std::string method_token,
                                                                                         std::string fingerprint) {
    auto claim = co_await orders_->claim_request(user_id, key, std::move(fingerprint));
    if (!claim) co_return claim.error();
    if (claim->replay) co_return std::move(*claim->replay);
    std::exception_ptr failure;
    core::Result<orders::CheckoutResponse> result = core::make_error(core::Errc::kInternal, "payment did not start");
    try {
        result = co_await start_payment(user_id, order_id, key, std::move(method_token));
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    if (failure) {
        co_await orders_->release_request(user_id, key);
        std::rethrow_exception(failure);
    }
    if (!result) {
        orders::CheckoutResponse failed;
        failed.failure = result.error();
        co_return failed;
    }
    co_return result;
}

asio::awaitable<core::Result<orders::CheckoutResponse>> PaymentsService::start_payment(std::int64_t user_id,
                                                                                       std::int64_t order_id,
                                                                                       std::string key,
                                                                                       std::string method_token) {
    auto tx = co_await store_.pool().begin();
    auto order = co_await orders_->lock_in(tx, order_id);
    if (!order || order->user_id != user_id) {
        co_await tx.rollback();
        co_return core::make_error(core::Errc::kNotFound, "no such order");
    }
    const auto status = order->status;
    if (status != orders::OrderStatus::kPendingPayment && status != orders::OrderStatus::kPaymentFailed) {
        co_await tx.rollback();
        co_return core::make_error(core::Errc::kConflict,
                                   "the order is " + std::string(orders::status_name(status)) + " and cannot be paid");
    }
    const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (order->expires_at && *order->expires_at <= now) {
        co_await tx.rollback();
        co_return core::make_error(core::Errc::kConflict, "the order has expired; its stock is no longer reserved");
    }
    Payment draft;
    draft.order_id = order_id;
    draft.amount_cents = order->total_cents;
    draft.currency = order->currency;
    draft.provider = settings_.provider;
    draft.idempotency_key = "emporium-pay-" + core::random_hex_id();
    draft.method_token = method_token;
    bool busy = false;
    std::optional<Payment> payment;
    try {
        payment = co_await store_.insert(tx, draft);
    } catch (const db::DbError& e) {
        if (!e.is_unique_violation() || e.constraint() != "payments_one_pending_per_order") throw;
        busy = true;
    }
    if (busy) {
        co_return core::make_error(core::Errc::kConflict,
                                   "a payment for this order is already in progress; see " + status_url(order_id));
    }
    json::value requested = json::object{{"payment_id", payment->id}, {"order_id", order_id}};
    co_await store_.add_event(tx, payment->id, "payment.requested", std::move(requested));
    auto body = core::codec::encode(PaymentAccepted{*payment, status_url(order_id)});
    co_await orders_->remember_in(tx, user_id, key, 202, body);
    co_await tx.commit();
    count("requested");
    core::log::info("payment requested", {{"payment_id", payment->id}, {"order_id", order_id}, {"provider", settings_.provider}});
    co_return orders::CheckoutResponse{202, std::move(body), false, std::nullopt};
}

asio::awaitable<void> PaymentsService::remember_failure(std::int64_t user_id,
                                                        std::string key,
                                                        std::int32_t status,
                                                        std::string body) {
    co_await orders_->remember_failure(user_id, std::move(key), status, std::move(body));
}

asio::awaitable<core::Result<std::vector<Payment>>> PaymentsService::payments_of(std::int64_t order_id,
                                                                                 std::int64_t viewer_id,
                                                                                 bool is_admin) {
    auto order = co_await orders_->get_order(order_id, viewer_id, is_admin);
    if (!order) co_return order.error();
    auto list = co_await store_.for_order(order_id);
    if (list.empty()) co_return core::make_error(core::Errc::kNotFound, "this order has no payment yet");
    co_return list;
}

asio::awaitable<bool> PaymentsService::finish(std::int64_t payment_id,
                                              std::string status,
                                              std::optional<std::string> reference,
                                              std::optional<std::string> error) {
    auto tx = co_await store_.pool().begin();
    auto payment = co_await store_.lock(tx, payment_id);
    if (!payment || payment->status != "pending") {
        co_await tx.rollback();
        co_return false;
    }
    co_await store_.set_outcome(tx, payment_id, status, reference, error);
    json::value event = json::object{{"payment_id", payment_id}, {"order_id", payment->order_id}};
    co_await store_.add_event(tx, payment_id, event_for(status), std::move(event));
    co_await tx.commit();
    count(status);
    core::log::info("payment finished", {{"payment_id", payment_id}, {"order_id", payment->order_id}, {"status", status}});
    co_return true;
}

asio::awaitable<core::Result<void>> PaymentsService::capture(std::int64_t payment_id, int delivery) {
    if (!provider_) co_return core::make_error(core::Errc::kUnavailable, "no payment provider in this process");
    auto payment = co_await store_.find(payment_id);
    if (!payment) co_return core::make_error(core::Errc::kNotFound, "no payment " + std::to_string(payment_id));
    if (payment->status != "pending") co_return co_await settle(payment_id);
    auto attempt = co_await store_.begin_attempt(payment_id);
    if (!attempt) co_return co_await settle(payment_id);

    ChargeRequest request;
    request.payment_id = payment_id;
    request.order_id = payment->order_id;
    request.idempotency_key = payment->idempotency_key;
    request.amount_cents = payment->amount_cents;
    request.currency = payment->currency;
    request.method_token = payment->method_token;
    request.attempt = *attempt;
    auto outcome = co_await provider_->charge(request);
    switch (outcome.kind) {
        case ChargeOutcome::Kind::kApproved:
            co_await finish(payment_id, "captured", outcome.provider_reference, std::nullopt);
            break;
        case ChargeOutcome::Kind::kDeclined:
            co_await finish(payment_id, "declined", std::nullopt, outcome.message);
            break;
        case ChargeOutcome::Kind::kRejected:
        {
            const std::string why = "rejected by the provider: " + outcome.message;
            co_await finish(payment_id, "failed", std::nullopt, why);
        }
            break;
        case ChargeOutcome::Kind::kTransient:
            co_await store_.record_error(payment_id, outcome.message);
            count("transient");
            if (delivery < settings_.max_attempts) {
                co_return core::make_error(core::Errc::kUnavailable, "payment provider: " + outcome.message);
            }
        {
            const std::string why = "gave up after " + std::to_string(*attempt) + " attempts: " + outcome.message;
            co_await finish(payment_id, "failed", std::nullopt, why);
        }
            co_await settle(payment_id);
            co_return core::make_error(core::Errc::kValidation,
                                       "payment " + std::to_string(payment_id) + " failed: " + outcome.message);
    }
    co_return co_await settle(payment_id);
}

asio::awaitable<core::Result<void>> PaymentsService::settle(std::int64_t payment_id) {
    auto payment = co_await store_.find(payment_id);
    if (!payment) co_return core::make_error(core::Errc::kNotFound, "no payment " + std::to_string(payment_id));
    if (payment->status == "captured") {
        auto applied = co_await orders_->mark_paid(payment->order_id, payment_id);
        if (!applied) co_return applied.error();
        using Kind = orders::PaymentApplied::Kind;
        switch (applied->kind) {
            case Kind::kPaid:
            case Kind::kAlreadyPaidByIt:
                break;  // a redelivery of this payment's settle changes nothing
            case Kind::kPaidByAnother:
                co_await flag(*payment, std::string(kFlagPaidByOtherPayment), applied->order.paid_payment_id);
                break;
            case Kind::kNotPayable: {
                const bool cancelled = applied->order.status == orders::OrderStatus::kCancelled;
                co_await flag(
                    *payment, std::string(cancelled ? kFlagOrderCancelled : kFlagOrderExpired), std::nullopt);
            } break;
        }
    } else if (payment->status == "declined" || payment->status == "failed") {
        // Conflict = the order is already paid (another attempt), payment_failed, cancelled or expired.
        auto failed = co_await orders_->mark_payment_failed(payment->order_id);
        if (!failed && failed.error().code == core::Errc::kNotFound) co_return failed.error();
    }
    co_return core::Result<void>{};
}

asio::awaitable<void> PaymentsService::flag(Payment payment,
                                            std::string reason,
                                            std::optional<std::int64_t> paid_by) {
    // The flag and its payment.flagged outbox event commit together; the event is where automatic
    // refunds will start (a job routed from it). Until then an operator refunds by hand from the
    // admin list (GET /api/v1/admin/payments/flagged, docs/operations.md).
    auto tx = co_await store_.pool().begin();
    const std::string why = std::move(reason);
    if (!co_await store_.flag(tx, payment.id, why)) {
        co_await tx.rollback();  // flagged before (a redelivery) or no longer captured
        co_return;
    }
    json::object event{{"payment_id", payment.id},
                       {"order_id", payment.order_id},
                       {"reason", why},
                       {"amount_cents", payment.amount_cents},
                       {"currency", payment.currency}};
    event["paid_by_payment_id"] = paid_by ? json::value(*paid_by) : json::value(nullptr);
    json::value payload(std::move(event));
    co_await store_.add_event(tx, payment.id, "payment.flagged", std::move(payload));
    co_await tx.commit();
    core::Metrics::global()
        .counter("emporium_payments_flagged_total",
                 "Captured payments flagged for a refund (a second charge, or an order that could no longer "
                 "be paid)",
                 {{"reason", why}})
        .inc();
    core::log::error("captured payment flagged for a refund",
                     {{"payment_id", payment.id},
                      {"order_id", payment.order_id},
                      {"reason", why},
                      {"amount_cents", payment.amount_cents},
                      {"currency", payment.currency},
                      {"paid_by_payment_id", paid_by.value_or(0)}});
}

asio::awaitable<core::Result<FlaggedPage>> PaymentsService::flagged(std::int64_t limit,
                                                                    std::optional<std::string> cursor) {
    std::optional<std::int64_t> before;
    if (cursor) {
        before = positive_id(*cursor);
        if (!before) co_return core::make_error(core::Errc::kBadRequest, "the cursor is malformed");
    }
    auto items = co_await store_.flagged(limit + 1, before);
    FlaggedPage page;
    if (static_cast<std::int64_t>(items.size()) > limit) {
        items.pop_back();
        page.next_cursor = std::to_string(items.back().id);
    }
    page.items = std::move(items);
    co_return page;
}

asio::awaitable<core::Result<WebhookOutcome>> PaymentsService::handle_webhook(std::string signature_header,
                                                                              std::string body,
                                                                              std::int64_t now_seconds) {
    if (settings_.webhook_secret.empty()) {
        co_return core::make_error(core::Errc::kUnavailable, "payment webhooks are not configured (WEBHOOK_SECRET)");
    }
    auto verified = verify_webhook(signature_header, body, settings_.webhook_secret, settings_.webhook_tolerance, now_seconds);
    if (!verified) {
        count("webhook_rejected");
        core::log::warn("payment webhook rejected", {{"reason", verified.error().message}});
        co_return core::make_error(core::Errc::kBadRequest, verified.error().message);
    }
    boost::system::error_code ec;
    auto doc = json::parse(body, ec);
    const json::object* event = (!ec && doc.is_object()) ? &doc.get_object() : nullptr;
    const auto* id = event != nullptr ? event->if_contains("id") : nullptr;
    const auto* type = event != nullptr ? event->if_contains("type") : nullptr;
    const auto* data = event != nullptr ? event->if_contains("data") : nullptr;
    const json::object* object = nullptr;
    if (data != nullptr && data->is_object()) {
        if (const auto* o = data->get_object().if_contains("object"); o != nullptr && o->is_object()) object = &o->get_object();
    }
    if (id == nullptr || !id->is_string() || id->get_string().empty() || id->get_string().size() > 255 ||
        type == nullptr || !type->is_string() || object == nullptr) {
        co_return core::make_error(core::Errc::kBadRequest, "the event needs an id, a type and data.object");
    }
    const std::string event_id(id->get_string());
    const std::string event_type(type->get_string());

    std::optional<std::int64_t> payment_id;
    if (const auto* meta = object->if_contains("metadata"); meta != nullptr && meta->is_object()) {
        payment_id = as_id(meta->get_object().if_contains("payment_id"));
    }
    std::optional<std::string> reference;
    if (const auto* ref = object->if_contains("id"); ref != nullptr && ref->is_string()) reference = std::string(ref->get_string());
    if (!payment_id && reference) payment_id = co_await store_.by_reference(settings_.provider, *reference);

    std::string target;
    std::optional<std::string> error;
    if (event_type == "payment_intent.succeeded") {
        target = "captured";
    } else if (event_type == "payment_intent.payment_failed") {
        target = "declined";
        error = "declined";
        if (const auto* last = object->if_contains("last_payment_error"); last != nullptr && last->is_object()) {
            if (const auto* m = last->get_object().if_contains("message"); m != nullptr && m->is_string()) {
                error = std::string(m->get_string());
            }
        }
    }

    WebhookOutcome outcome;
    auto tx = co_await store_.pool().begin();
    std::optional<Payment> payment;
    if (payment_id) payment = co_await store_.lock(tx, *payment_id);
    std::optional<std::int64_t> known;
    if (payment) known = payment->id;
    if (!co_await store_.record_webhook(tx, settings_.provider, event_id, event_type, known)) {
        co_await tx.rollback();
        count("webhook_duplicate");
        outcome.duplicate = true;
        outcome.action = "ignored: duplicate event";
        co_return outcome;
    }
    bool changed = false;
    if (target.empty()) {
        outcome.action = "ignored: event type not handled";
    } else if (!payment) {
        outcome.action = "ignored: unknown payment";
    } else if (payment->status != "pending" && !(target == "captured" && payment->status == "failed")) {
        // A payment we gave up on ("failed": retries exhausted while the provider was still
        // processing) that the provider reports captured was charged after all: the provider
        // is the truth, so it becomes captured and the order is paid (or flagged for a refund).
        outcome.action = "ignored: payment already " + payment->status;
    } else {
        std::optional<std::string> captured_reference;
        if (target == "captured") captured_reference = reference;
        co_await store_.set_outcome(tx, payment->id, target, captured_reference, error);
        json::value applied = json::object{{"payment_id", payment->id}, {"order_id", payment->order_id}};
        co_await store_.add_event(tx, payment->id, event_for(target), std::move(applied));
        outcome.action = target;
        changed = true;
    }
    co_await tx.commit();
    count("webhook_applied");
    core::log::info("payment webhook", {{"event_id", event_id}, {"type", event_type}, {"action", outcome.action}});
    if (changed) {
        count(target);
        co_await settle(payment->id);
    }
    co_return outcome;
}

}  // namespace emporium::payments
