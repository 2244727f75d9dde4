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
    Step step;
    step.order_id = order_id;
    step.method_token = std::move(method_token);
    co_return co_await claimed(user_id, std::move(key), std::move(fingerprint), std::move(step));
}

asio::awaitable<core::Result<orders::CheckoutResponse>> PaymentsService::claimed(std::int64_t user_id,
                                                                                 std::string key,
                                                                                 std::string fingerprint,
                                                                                 Step step) {
    auto claim = co_await orders_->claim_request(user_id, key, std::move(fingerprint));
    if (!claim) co_return claim.error();
    if (claim->replay) co_return std::move(*claim->replay);
    std::exception_ptr failure;
    core::Result<orders::CheckoutResponse> result = core::make_error(core::Errc::kInternal, "the request did not start");
    try {
        if (step.kind == Step::Kind::kRefund) {
            result = co_await start_refund(user_id, step.order_id, key, std::move(step.refund));
        } else {
            result = co_await start_payment(user_id, step.order_id, key, std::move(step.method_token));
        }
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

asio::awaitable<core::Result<orders::CheckoutResponse>> PaymentsService::request_refund(std::int64_t admin_id,
                                                                                        std::int64_t order_id,
                                                                                        std::string key,
                                                                                        NewRefund body,
                                                                                        std::string fingerprint) {
    Step step;
    step.kind = Step::Kind::kRefund;
    step.order_id = order_id;
    step.refund = std::move(body);
    co_return co_await claimed(admin_id, std::move(key), std::move(fingerprint), std::move(step));
}

asio::awaitable<core::Result<orders::CheckoutResponse>> PaymentsService::start_refund(std::int64_t admin_id,
                                                                                      std::int64_t order_id,
                                                                                      std::string key,
                                                                                      NewRefund body) {
    // The lock order of everything that touches an order's money: the order, then its payment.
    auto tx = co_await store_.pool().begin();
    auto order = co_await orders_->lock_in(tx, order_id);
    if (!order) co_return core::make_error(core::Errc::kNotFound, "no such order");
    auto refund = co_await refund_in(tx, *order, std::move(body));
    if (!refund) co_return refund.error();
    auto answer = core::codec::encode(*refund);
    co_await orders_->remember_in(tx, admin_id, key, 202, answer);
    co_await tx.commit();
    count("refund_requested");
    core::log::info("refund requested", {{"refund_id", refund->id}, {"order_id", order_id}, {"amount_cents", refund->amount_cents}});
    co_return orders::CheckoutResponse{202, std::move(answer), false, std::nullopt};
}

asio::awaitable<core::Result<Refund>> PaymentsService::refund_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    orders::Order locked,
    NewRefund body) {
    const auto* order = &locked;
    const auto order_id = locked.id;
    if (!order->paid_payment_id) {
        co_return core::make_error(core::Errc::kConflict,
                                   "the order is " + std::string(orders::status_name(order->status)) +
                                       " and has no captured payment to refund");
    }
    auto payment = co_await store_.lock(tx, *order->paid_payment_id);
    if (!payment || payment->status != "captured") {
        co_return core::make_error(core::Errc::kConflict, "the order's payment is not captured");
    }
    const auto refunded = co_await store_.refunded_of(tx, payment->id);
    const std::int64_t left = payment->amount_cents - refunded;

    Refund draft;
    draft.order_id = order_id;
    draft.payment_id = payment->id;
    draft.currency = payment->currency;
    draft.reason = std::move(body.reason);
    draft.provider_key = "emporium-refund-" + core::random_hex_id();
    if (body.amount_cents) {
        draft.amount_cents = *body.amount_cents;
        if (draft.amount_cents > payment->amount_cents) {
            co_return core::make_error(core::Errc::kValidation, "a refund cannot exceed the capture",
                                       {{"amount_cents", "at most " + std::to_string(payment->amount_cents) +
                                                             " (the captured amount)"}});
        }
    } else {
        // Each line's paid share: its amount after its discount, with its tax when the tax was
        // added; unit by unit, so giving back every unit gives back exactly the share.
        const bool tax_added = order->total_cents ==
                               order->subtotal_cents - order->discount_cents + order->shipping_cents + order->tax_cents &&
                               order->tax_cents > 0;
        const auto done = co_await store_.refunded_units(tx, order_id);
        std::vector<core::FieldError> errors;
        for (std::size_t i = 0; i < body.lines.size(); ++i) {
            const auto& want = body.lines[i];
            const auto item = std::find_if(order->items.begin(), order->items.end(),
                                           [&want](const orders::OrderItem& it) { return it.variant_id == want.variant_id; });
            const std::string at = "lines/" + std::to_string(i);
            if (item == order->items.end()) {
                errors.push_back({at + "/variant_id", "the order has no line of variant " + std::to_string(want.variant_id)});
                continue;
            }
            const auto before = done.contains(want.variant_id) ? done.at(want.variant_id) : 0;
            if (before + want.quantity > item->quantity) {
                errors.push_back({at + "/quantity", std::to_string(item->quantity - before) + " of " +
                                                        std::to_string(item->quantity) + " units are left to refund"});
                continue;
            }
            const std::int64_t share = item->unit_price_cents * item->quantity - item->discount_cents +
                                       (tax_added ? item->tax_cents : 0);
            const std::int64_t amount =
                share * (before + want.quantity) / item->quantity - share * before / item->quantity;
            draft.lines.push_back(RefundLine{want.variant_id, want.quantity, amount});
            draft.amount_cents += amount;
        }
        if (!errors.empty()) {
            co_return core::make_error(core::Errc::kValidation, "the refund's lines are invalid", std::move(errors));
        }
        if (draft.amount_cents <= 0) {
            co_return core::make_error(core::Errc::kValidation, "the lines were paid nothing",
                                       {{"lines", "their paid share is 0"}});
        }
    }
    if (draft.amount_cents > left) {
        co_return core::make_error(core::Errc::kConflict,
                                   "only " + std::to_string(left) + " of the " + std::to_string(payment->amount_cents) +
                                       " captured is left to refund",
                                   {{"amount_cents", "at most " + std::to_string(left) + " is left to refund"}});
    }
    auto refund = co_await store_.insert_refund(tx, draft);
    json::value requested = json::object{{"refund_id", refund.id}, {"order_id", order_id}, {"payment_id", payment->id}};
    co_await store_.add_refund_event(tx, refund.id, "refund.requested", std::move(requested));
    co_return refund;
}

asio::awaitable<core::Result<Return>> PaymentsService::request_return(std::int64_t user_id,
                                                                     std::int64_t order_id,
                                                                     NewReturn body) {
    auto tx = co_await store_.pool().begin();
    auto order = co_await orders_->lock_in(tx, order_id);
    if (!order || order->user_id != user_id) co_return core::make_error(core::Errc::kNotFound, "no such order");
    if (!orders::can_transition(order->status, orders::OrderStatus::kReturnRequested)) {
        co_return core::make_error(core::Errc::kConflict,
                                   "the order is " + std::string(orders::status_name(order->status)) +
                                       ": only a fulfilled order can be returned, one return at a time");
    }
    const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (!order->fulfilled_at || *order->fulfilled_at + settings_.return_window < now) {
        co_return core::make_error(core::Errc::kConflict,
                                   "the return window (" + std::to_string(settings_.return_window.count()) +
                                       " days after fulfilment) is closed");
    }
    const auto asked = co_await store_.returned_units(tx, order_id);
    std::vector<core::FieldError> errors;
    for (std::size_t i = 0; i < body.lines.size(); ++i) {
        const auto& want = body.lines[i];
        const std::string at = "lines/" + std::to_string(i);
        const auto item = std::find_if(order->items.begin(), order->items.end(),
                                       [&want](const orders::OrderItem& it) { return it.variant_id == want.variant_id; });
        if (item == order->items.end()) {
            errors.push_back({at + "/variant_id", "the order has no line of variant " + std::to_string(want.variant_id)});
            continue;
        }
        const auto before = asked.contains(want.variant_id) ? asked.at(want.variant_id) : 0;
        if (before + want.quantity > item->quantity) {
            errors.push_back({at + "/quantity", std::to_string(item->quantity - before) + " of " +
                                                    std::to_string(item->quantity) + " units can still be returned"});
        }
    }
    if (!errors.empty()) co_return core::make_error(core::Errc::kValidation, "the return's lines are invalid", std::move(errors));
    Return draft;
    draft.order_id = order_id;
    for (const auto& l : body.lines) draft.lines.push_back(ReturnLine{l.variant_id, l.quantity});
    draft.reason = std::move(body.reason);
    auto created = co_await store_.insert_return(tx, user_id, std::move(draft));
    co_await orders_->move_in(tx, *order, orders::OrderStatus::kReturnRequested);
    co_await tx.commit();
    core::log::info("return requested", {{"return_id", created.id}, {"order_id", order_id}});
    co_return created;
}

asio::awaitable<core::Result<Return>> PaymentsService::receive_return(std::int64_t return_id) {
    auto found = co_await store_.find_return(return_id);
    if (!found) co_return core::make_error(core::Errc::kNotFound, "no such return");
    // The order first (the lock order of its money), then the return.
    auto tx = co_await store_.pool().begin();
    auto order = co_await orders_->lock_in(tx, found->order_id);
    auto locked = co_await store_.lock_return(tx, return_id);
    if (!order || !locked) co_return core::make_error(core::Errc::kNotFound, "no such return");
    if (locked->status != "requested") co_return core::make_error(core::Errc::kConflict, "the return was received already");
    // The units' paid share goes back, except for units refunded already (a refund by lines
    // before the return); with nothing left to refund (no captured payment, the capture given
    // back, a share of 0) the return is received without a refund.
    const auto refunded_units = co_await store_.refunded_units(tx, order->id);
    NewRefund refund_body;
    refund_body.reason = "return " + std::to_string(return_id);
    for (const auto& l : locked->lines) {
        std::int64_t ordered = 0;
        for (const auto& item : order->items) {
            if (item.variant_id == l.variant_id) ordered = item.quantity;
        }
        const auto done = refunded_units.contains(l.variant_id) ? refunded_units.at(l.variant_id) : 0;
        const auto units = std::min<std::int64_t>(l.quantity, ordered - done);
        if (units > 0) refund_body.lines.push_back(RefundLineRequest{l.variant_id, static_cast<std::int32_t>(units)});
    }
    std::optional<Refund> refund;
    if (!refund_body.lines.empty()) {
        auto made = co_await refund_in(tx, *order, std::move(refund_body));
        if (made) {
            refund = std::move(*made);
        } else if (made.error().code != core::Errc::kConflict && made.error().code != core::Errc::kValidation) {
            co_return made.error();
        } else {
            core::log::warn("return received without a refund", {{"return_id", return_id}, {"why", made.error().message}});
        }
    }
    std::vector<inventory::Line> back;
    for (const auto& l : locked->lines) {
        for (const auto& item : order->items) {
            if (item.variant_id == l.variant_id) back.push_back(inventory::Line{l.variant_id, item.product_id, l.quantity});
        }
    }
    co_await orders_->restock_in(tx, order->id, back);
    std::optional<std::int64_t> refund_id;
    if (refund) refund_id = refund->id;
    auto received = co_await store_.receive_return(tx, return_id, refund_id);
    co_await orders_->move_in(tx, *order, orders::OrderStatus::kReturned);
    co_await tx.commit();
    co_await orders_->after_restock(std::move(back));
    core::log::info("return received", {{"return_id", return_id}, {"order_id", order->id}, {"refund_id", refund_id.value_or(0)}});
    co_return received;
}

asio::awaitable<core::Result<ReturnList>> PaymentsService::returns_of(std::int64_t order_id,
                                                                     std::int64_t viewer_id,
                                                                     bool is_admin) {
    auto order = co_await orders_->get_order(order_id, viewer_id, is_admin);
    if (!order) co_return order.error();
    auto items = co_await store_.returns_of_order(order_id);
    co_return ReturnList{std::move(items)};
}

asio::awaitable<core::Result<RefundList>> PaymentsService::refunds_of(std::int64_t order_id,
                                                                     std::int64_t viewer_id,
                                                                     bool is_admin) {
    auto order = co_await orders_->get_order(order_id, viewer_id, is_admin);
    if (!order) co_return order.error();
    auto items = co_await store_.refunds_of_order(order_id);
    co_return RefundList{std::move(items)};
}

asio::awaitable<bool> PaymentsService::finish_refund(std::int64_t refund_id,
                                                     std::string status,
                                                     std::optional<std::string> reference,
                                                     std::optional<std::string> error) {
    auto tx = co_await store_.pool().begin();
    const bool changed = co_await finish_refund_in(tx, refund_id, status, std::move(reference), std::move(error));
    if (!changed) {
        co_await tx.rollback();
        co_return false;
    }
    co_await tx.commit();
    count("refund_" + status);
    co_return true;
}

asio::awaitable<bool> PaymentsService::finish_refund_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::int64_t refund_id,
    std::string status,
    std::optional<std::string> reference,
    std::optional<std::string> error) {
    // The lock order of an order's money: the order, then (its payment, then) the refund.
    auto found = co_await store_.find_refund(refund_id);
    if (!found || found->status != "pending") co_return false;
    co_await orders_->lock_in(tx, found->order_id);
    auto refund = co_await store_.lock_refund(tx, refund_id);
    if (!refund || refund->status != "pending") co_return false;
    co_await store_.set_refund_outcome(tx, refund_id, status, reference, error);
    if (status == "succeeded") co_await orders_->refunded_in(tx, refund->order_id, refund->amount_cents, refund->payment_id);
    json::value event = json::object{{"refund_id", refund_id},
                                     {"order_id", refund->order_id},
                                     {"payment_id", refund->payment_id},
                                     {"amount_cents", refund->amount_cents}};
    co_await store_.add_refund_event(tx, refund_id, "refund." + status, std::move(event));
    core::log::info("refund finished", {{"refund_id", refund_id}, {"order_id", refund->order_id}, {"status", status}});
    co_return true;
}

asio::awaitable<core::Result<void>> PaymentsService::execute_refund(std::int64_t refund_id, int delivery) {
    if (!provider_) co_return core::make_error(core::Errc::kUnavailable, "no payment provider in this process");
    auto refund = co_await store_.find_refund(refund_id);
    if (!refund) co_return core::make_error(core::Errc::kNotFound, "no refund " + std::to_string(refund_id));
    if (refund->status != "pending") co_return core::Result<void>{};
    auto attempt = co_await store_.begin_refund_attempt(refund_id);
    if (!attempt) co_return core::Result<void>{};
    auto payment = co_await store_.find(refund->payment_id);
    RefundRequest request;
    request.refund_id = refund_id;
    request.payment_id = refund->payment_id;
    request.idempotency_key = refund->provider_key;
    request.payment_reference = payment ? payment->provider_reference.value_or("") : "";
    request.amount_cents = refund->amount_cents;
    request.currency = refund->currency;
    request.attempt = *attempt;
    auto outcome = co_await provider_->refund(request);
    switch (outcome.kind) {
        case RefundOutcome::Kind::kApproved:
            co_await finish_refund(refund_id, "succeeded", outcome.provider_reference, std::nullopt);
            break;
        case RefundOutcome::Kind::kDeclined:
        case RefundOutcome::Kind::kRejected: {
            const std::string why = "refused by the provider: " + outcome.message;
            co_await finish_refund(refund_id, "failed", std::nullopt, why);
        } break;
        case RefundOutcome::Kind::kPending:
            // The provider accepted it and will report the outcome (webhook); retries with the
            // same key ask again. Never failed here: money that may have gone back is not offered
            // for refund a second time.
            co_await store_.record_refund_error(refund_id, outcome.message);
            if (delivery < settings_.refund_max_attempts) {
                co_return core::make_error(core::Errc::kUnavailable, "payment provider: " + outcome.message);
            }
            core::log::warn("refund left pending at the provider; its webhook will settle it",
                            {{"refund_id", refund_id}, {"attempts", *attempt}});
            break;
        case RefundOutcome::Kind::kTransient:
            co_await store_.record_refund_error(refund_id, outcome.message);
            if (delivery < settings_.refund_max_attempts) {
                co_return core::make_error(core::Errc::kUnavailable, "payment provider: " + outcome.message);
            }
            {
                const std::string why = "gave up after " + std::to_string(*attempt) + " attempts: " + outcome.message;
                co_await finish_refund(refund_id, "failed", std::nullopt, why);
            }
            co_return core::make_error(core::Errc::kValidation,
                                       "refund " + std::to_string(refund_id) + " failed: " + outcome.message);
    }
    co_return core::Result<void>{};
}

asio::awaitable<std::string> PaymentsService::apply_refund_event_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    json::object refund) {
    std::optional<std::int64_t> refund_id;
    if (const auto* meta = refund.if_contains("metadata"); meta != nullptr && meta->is_object()) {
        refund_id = as_id(meta->get_object().if_contains("refund_id"));
    }
    std::optional<std::string> reference;
    if (const auto* id = refund.if_contains("id"); id != nullptr && id->is_string()) reference = std::string(id->get_string());
    if (!refund_id && reference) refund_id = co_await store_.refund_by_reference(*reference);
    if (!refund_id) co_return "ignored: unknown refund";
    std::string status;
    if (const auto* s = refund.if_contains("status"); s != nullptr && s->is_string()) status = std::string(s->get_string());
    bool changed = false;
    if (status == "succeeded") {
        changed = co_await finish_refund_in(tx, *refund_id, "succeeded", reference, std::nullopt);
    } else if (status == "failed" || status == "canceled") {
        changed = co_await finish_refund_in(tx, *refund_id, "failed", std::nullopt, "the provider reports the refund " + status);
    } else {
        co_return "ignored: refund " + (status.empty() ? std::string("without a status") : status);
    }
    if (!changed) co_return "ignored: refund already settled";
    co_return "refund " + std::string(status == "succeeded" ? "succeeded" : "failed");
}

asio::awaitable<WebhookOutcome> PaymentsService::handle_refund_webhook(std::string event_id,
                                                                      std::string event_type,
                                                                      json::object object) {
    // refund.* carries a Refund; charge.refunded a Charge with its refunds in refunds.data.
    std::vector<json::object> refunds;
    if (event_type == "charge.refunded") {
        if (const auto* list = object.if_contains("refunds"); list != nullptr && list->is_object()) {
            if (const auto* data = list->get_object().if_contains("data"); data != nullptr && data->is_array()) {
                for (const auto& r : data->get_array()) {
                    if (r.is_object()) refunds.push_back(r.get_object());
                }
            }
        }
    } else {
        refunds.push_back(std::move(object));
    }
    // The event is recorded in the transaction that applies it: a failure leaves it unrecorded,
    // so the provider's redelivery applies it.
    WebhookOutcome outcome;
    auto tx = co_await store_.pool().begin();
    const bool fresh = co_await store_.record_webhook(tx, settings_.provider, event_id, event_type, std::nullopt);
    if (!fresh) {
        co_await tx.rollback();
        count("webhook_duplicate");
        outcome.duplicate = true;
        outcome.action = "ignored: duplicate event";
        co_return outcome;
    }
    std::vector<std::string> finished;
    for (auto& r : refunds) {
        auto action = co_await apply_refund_event_in(tx, std::move(r));
        if (action.starts_with("refund ")) finished.push_back(action.substr(7));
        outcome.action += (outcome.action.empty() ? "" : "; ") + action;
    }
    if (outcome.action.empty()) outcome.action = "ignored: no refund in the event";
    co_await tx.commit();
    for (const auto& status : finished) count("refund_" + status);
    count("webhook_applied");
    core::log::info("refund webhook", {{"event_id", event_id}, {"type", event_type}, {"action", outcome.action}});
    co_return outcome;
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
        case ChargeOutcome::Kind::kPending:  // charges are never left to a later outcome: retried
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
    // The flag, its payment.flagged outbox event and the automatic refund (with its
    // refund.requested event) commit together.
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
    // The money goes back by itself, once (the flag is set once; a unique index makes the
    // automatic refund one per payment as well).
    Refund automatic;
    automatic.order_id = payment.order_id;
    automatic.payment_id = payment.id;
    automatic.amount_cents = payment.amount_cents;
    automatic.currency = payment.currency;
    automatic.reason = "automatic: " + why;
    automatic.automatic = true;
    automatic.provider_key = "emporium-refund-" + core::random_hex_id();
    if (automatic.amount_cents > 0) {
        auto refund = co_await store_.insert_refund(tx, automatic);
        json::value requested = json::object{{"refund_id", refund.id}, {"order_id", payment.order_id}, {"payment_id", payment.id}};
        co_await store_.add_refund_event(tx, refund.id, "refund.requested", std::move(requested));
    }
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
    if (event_type.starts_with("refund.") || event_type == "charge.refunded") {
        json::object refund_object = *object;
        auto handled = co_await handle_refund_webhook(event_id, event_type, std::move(refund_object));
        co_return handled;
    }

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
