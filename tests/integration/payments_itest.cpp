// Payments against the real test PostgreSQL (and Redis for the checkout locks): every sandbox token,
// idempotent pay requests, retries that never charge twice (a fake Stripe gateway counts charges
// and injects 500s, 429s, timeouts and success-then-crash), webhooks (valid, duplicate, bad
// signature, stale), a webhook racing the worker, and captured money that cannot pay its order
// (another payment paid it, or it was cancelled or expired) flagged once; an order whose payment
// is captured but not yet settled neither expires nor is cancelled.
#include "core/metrics.hpp"
#include "e2e/http_client.hpp"
#include "e2e/process.hpp"
#include "integration/redis_support.hpp"
#include "orders/orders_service.hpp"
#include "payments/payments_service.hpp"
#include "payments/sandbox_provider.hpp"
#include "payments/stripe_provider.hpp"
#include "payments/webhook_signature.hpp"
#include "support/pg_fixture.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <memory>

namespace emporium::payments {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

const std::string kWebhookSecret = "whsec_test_0123456789abcdef";

class PaymentsTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::PoolOptions o;
        o.connection.url = db_.url;
        o.max_size = 6;
        pool_ = std::make_unique<db::Pool>(ctx_.get_executor(), o);
        redis_ = std::make_unique<redis::Client>(ctx_.get_executor(), redis::test::shared_server_options());
        prefix_ = "itest:payments:" + test::unique_suffix() + ":";
        auto* r = redis_.get();
        auto* p = pool_.get();
        inventory::InventorySettings inv;
        inv.strategy = inventory::Strategy::kPessimistic;
        auto redlock = std::make_shared<inventory::Redlock>([r] { return std::vector<redis::Client*>{r}; }, inv.lock_ttl,
                                                            inv.lock_retries);
        inventory_ = std::make_shared<inventory::InventoryService>(
            inv, inventory::InventoryStore([p]() -> db::Pool& { return *p; }), [r]() -> redis::Client& { return *r; },
            redis::Keys(prefix_), std::move(redlock), nullptr);
        orders_ = std::make_shared<orders::OrdersService>(orders::OrdersSettings{},
                                                          orders::OrdersStore([p]() -> db::Pool& { return *p; }), inventory_);
        user_ = scalar("INSERT INTO users (email, password_hash, name) VALUES ($1, '$argon2id$x', 'P') RETURNING id",
                       db::params("payer-" + test::unique_suffix() + "@example.com"));
    }
    void TearDown() override {
        run(redis::test::delete_prefix(redis_.get(), prefix_));
        redis_->close();
        pool_->close();
    }
    template <typename T>
    T run(asio::awaitable<T> aw) {
        return test::run_coro(ctx_, std::move(aw), 120s);
    }
    std::int64_t scalar(std::string text, db::Params params = {}) {
        auto r = run(pool_->query_unprepared(std::move(text), std::move(params)));
        return r.empty() || r.is_null(0, 0) ? 0 : r.get<std::int64_t>(0, 0);
    }
    std::string text(std::string sql, db::Params params = {}) {
        auto r = run(pool_->query_unprepared(std::move(sql), std::move(params)));
        return r.empty() || r.is_null(0, 0) ? std::string() : r.get<std::string>(0, 0);
    }
    std::shared_ptr<PaymentsService> service(std::shared_ptr<PaymentProvider> provider, std::string name = "sandbox",
                                             int max_attempts = 4) {
        PaymentsSettings s;
        s.provider = std::move(name);
        s.max_attempts = max_attempts;
        s.refund_max_attempts = max_attempts;
        s.webhook_secret = kWebhookSecret;
        s.webhook_tolerance = 300s;
        return std::make_shared<PaymentsService>(s, PaymentsStore([p = pool_.get()]() -> db::Pool& { return *p; }), orders_,
                                                 std::move(provider));
    }
    // A pending order for 2 units of a fresh product (stock 10 → 8 reserved).
    std::int64_t order() {
        product_ = scalar("INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, 'Lamp', 2500, 10) RETURNING id",
                          db::params("sku-" + test::unique_suffix()));
        scalar("INSERT INTO inventory_movements (product_id, delta, reason) VALUES ($1, 10, 'initial') RETURNING id",
               db::params(product_));
        orders::NewOrder o;
        o.items = {orders::OrderLine{product_, 2}};
        o.shipping_address = json::object{{"city", "Oslo"}};
        const auto key = "order-" + test::unique_suffix();
        auto placed = run(orders_->place_order(user_, key, std::move(o), "fp:" + key));
        EXPECT_TRUE(placed && !placed->failure && placed->status == 201);
        return json::parse(placed->body).at("id").as_int64();
    }
    // POST /pay through the service: returns (status, payment id or 0).
    std::pair<int, std::int64_t> pay(PaymentsService& svc, std::int64_t order_id, const std::string& token,
                                     const std::string& key = "") {
        const auto k = key.empty() ? "pay-" + test::unique_suffix() : key;
        auto r = run(svc.request_payment(user_, order_id, k, token, "POST pay " + token));
        if (!r) return {-1, 0};
        if (r->failure) return {r->failure->code == core::Errc::kConflict ? 409 : 400, 0};
        return {r->status, json::parse(r->body).at("payment").at("id").as_int64()};
    }
    std::string order_status(std::int64_t id) { return text("SELECT status FROM orders WHERE id = $1", db::params(id)); }
    std::string payment_status(std::int64_t id) { return text("SELECT status FROM payments WHERE id = $1", db::params(id)); }
    std::int64_t stock() { return scalar("SELECT coalesce(sum(stock), 0)::bigint FROM product_variants WHERE product_id = $1", db::params(product_)); }
    std::int64_t events(const std::string& type, std::int64_t aggregate) {
        return scalar("SELECT count(*) FROM outbox WHERE event_type = $1 AND aggregate_id = $2",
                      db::params(type, std::to_string(aggregate)));
    }

    test::TestDatabase db_;
    asio::io_context ctx_;
    std::unique_ptr<db::Pool> pool_;
    std::unique_ptr<redis::Client> redis_;
    std::string prefix_;
    std::shared_ptr<inventory::InventoryService> inventory_;
    std::shared_ptr<orders::OrdersService> orders_;
    std::int64_t user_ = 0;
    std::int64_t product_ = 0;
};

TEST_F(PaymentsTest, ApprovedPaymentPaysTheOrderOnce) {
    auto svc = service(std::make_shared<SandboxProvider>(1s));
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    EXPECT_EQ(payment_status(payment), "pending");
    EXPECT_EQ(events("payment.requested", payment), 1);
    ASSERT_TRUE(run(svc->capture(payment, 1)));
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(events("order.paid", id), 1);
    EXPECT_EQ(events("payment.captured", payment), 1);
    // Redelivery of the capture and of the settle job change nothing.
    ASSERT_TRUE(run(svc->capture(payment, 2)));
    ASSERT_TRUE(run(svc->settle(payment)));
    EXPECT_EQ(scalar("SELECT attempts::bigint FROM payments WHERE id = $1", db::params(payment)), 1);
    EXPECT_EQ(events("order.paid", id), 1);
    EXPECT_EQ(scalar("SELECT purchase_count FROM products WHERE id = $1", db::params(product_)), 2);
    // A paid order cannot be paid again.
    EXPECT_EQ(pay(*svc, id, "tok_ok").first, 409);
}

TEST_F(PaymentsTest, DeclineKeepsTheReservationAndAnotherMethodCanPay) {
    auto svc = service(std::make_shared<SandboxProvider>(1s));
    const auto id = order();
    EXPECT_EQ(stock(), 8);
    auto [status, declined] = pay(*svc, id, "tok_declined");
    ASSERT_EQ(status, 202);
    ASSERT_TRUE(run(svc->capture(declined, 1)));
    EXPECT_EQ(payment_status(declined), "declined");
    EXPECT_EQ(text("SELECT last_error FROM payments WHERE id = $1", db::params(declined)), "card_declined");
    EXPECT_EQ(order_status(id), "payment_failed");
    EXPECT_EQ(stock(), 8) << "the reservation is kept";
    EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE id = $1 AND attempts = 1", db::params(declined)), 1)
        << "declines are never retried";

    auto [again, approved] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(again, 202);
    ASSERT_TRUE(run(svc->capture(approved, 1)));
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(stock(), 8);
    auto list = run(svc->payments_of(id, user_, false));
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    EXPECT_EQ(list->front().status, "captured");
    EXPECT_FALSE(run(svc->payments_of(id, user_ + 999, false))) << "not the owner";
    EXPECT_TRUE(run(svc->payments_of(id, user_ + 999, true))) << "admin";
}

TEST_F(PaymentsTest, ADeclinedOrderCanBeCancelledOrExpiresAndReturnsItsStock) {
    auto svc = service(std::make_shared<SandboxProvider>(1s));
    const auto cancelled = order();
    auto [s1, p1] = pay(*svc, cancelled, "tok_declined");
    ASSERT_EQ(s1, 202);
    ASSERT_TRUE(run(svc->capture(p1, 1)));
    ASSERT_EQ(order_status(cancelled), "payment_failed");
    ASSERT_TRUE(run(orders_->cancel(cancelled, user_, false)));
    EXPECT_EQ(stock(), 10);

    const auto expiring = order();
    auto [s2, p2] = pay(*svc, expiring, "tok_declined");
    ASSERT_EQ(s2, 202);
    ASSERT_TRUE(run(svc->capture(p2, 1)));
    scalar("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING id", db::params(expiring));
    EXPECT_EQ(run(orders_->expire_due()), 1);
    EXPECT_EQ(order_status(expiring), "expired");
    EXPECT_EQ(stock(), 10);
    EXPECT_EQ(pay(*svc, expiring, "tok_ok").first, 409) << "an expired order cannot be paid";

    // An order whose capture is in flight is not expired.
    const auto in_flight = order();
    auto [s3, p3] = pay(*svc, in_flight, "tok_ok");
    ASSERT_EQ(s3, 202);
    scalar("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING id", db::params(in_flight));
    EXPECT_EQ(run(orders_->expire_due()), 0);
    ASSERT_TRUE(run(svc->capture(p3, 1)));
    EXPECT_EQ(order_status(in_flight), "paid");
}

TEST_F(PaymentsTest, FlakyTokensRetryThenApproveAndSlowOnesGiveUp) {
    auto svc = service(std::make_shared<SandboxProvider>(100ms), "sandbox", 4);
    const auto id = order();
    auto [status, flaky] = pay(*svc, id, "tok_flaky_2");
    ASSERT_EQ(status, 202);
    auto first = run(svc->capture(flaky, 1));
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().code, core::Errc::kUnavailable);
    EXPECT_FALSE(run(svc->capture(flaky, 2)));
    EXPECT_EQ(payment_status(flaky), "pending");
    EXPECT_NE(text("SELECT last_error FROM payments WHERE id = $1", db::params(flaky)).find("transient"), std::string::npos);
    ASSERT_TRUE(run(svc->capture(flaky, 3)));
    EXPECT_EQ(payment_status(flaky), "captured");
    EXPECT_EQ(scalar("SELECT attempts::bigint FROM payments WHERE id = $1", db::params(flaky)), 3);
    EXPECT_EQ(order_status(id), "paid");

    const auto slow_order = order();
    auto [s2, slow] = pay(*svc, slow_order, "tok_slow");
    ASSERT_EQ(s2, 202);
    for (int delivery = 1; delivery < 4; ++delivery) {
        auto r = run(svc->capture(slow, delivery));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, core::Errc::kUnavailable) << "a timeout is transient";
    }
    auto last = run(svc->capture(slow, 4));
    ASSERT_FALSE(last);
    EXPECT_EQ(last.error().code, core::Errc::kValidation) << "the last delivery gives up (dead letter)";
    EXPECT_EQ(payment_status(slow), "failed");
    EXPECT_EQ(order_status(slow_order), "payment_failed");

    const auto invalid_order = order();
    auto [s3, invalid] = pay(*svc, invalid_order, "tok_invalid");
    ASSERT_EQ(s3, 202);
    ASSERT_TRUE(run(svc->capture(invalid, 1)));
    EXPECT_EQ(payment_status(invalid), "failed");
    EXPECT_EQ(scalar("SELECT attempts::bigint FROM payments WHERE id = $1", db::params(invalid)), 1) << "4xx never retried";
}

TEST_F(PaymentsTest, PayRequestsAreIdempotentAndOnePaymentRunsAtATime) {
    auto svc = service(std::make_shared<SandboxProvider>(1s));
    const auto id = order();
    auto first = run(svc->request_payment(user_, id, "same-key", "tok_ok", "POST pay tok_ok"));
    ASSERT_TRUE(first);
    auto replay = run(svc->request_payment(user_, id, "same-key", "tok_ok", "POST pay tok_ok"));
    ASSERT_TRUE(replay);
    EXPECT_TRUE(replay->replayed);
    EXPECT_EQ(replay->body, first->body);
    auto other_body = run(svc->request_payment(user_, id, "same-key", "tok_declined", "POST pay tok_declined"));
    ASSERT_FALSE(other_body);
    EXPECT_EQ(other_body.error().code, core::Errc::kValidation);
    EXPECT_EQ(pay(*svc, id, "tok_ok").first, 409) << "another key while a payment is pending";
    auto cancel = run(orders_->cancel(id, user_, false));
    ASSERT_FALSE(cancel);
    EXPECT_EQ(cancel.error().code, core::Errc::kConflict) << "no cancel while a capture may still take the money";
    EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE order_id = $1", db::params(id)), 1);
    // Someone else's order is not found.
    const auto other_user = scalar("INSERT INTO users (email, password_hash, name) VALUES ('x-" + test::unique_suffix() +
                                   "@e.com', '$argon2id$x', 'X') RETURNING id");
    auto stranger = run(svc->request_payment(other_user, id, "k2", "tok_ok", "fp"));
    ASSERT_TRUE(stranger);
    ASSERT_TRUE(stranger->failure);
    EXPECT_EQ(stranger->failure->code, core::Errc::kNotFound);
}

// ---- the Stripe-compatible provider against the fake gateway ------------------------------------

class GatewayTest : public PaymentsTest {
protected:
    void SetUp() override {
        PaymentsTest::SetUp();
        gateway_ = std::make_unique<test::Process>(
            std::vector<std::string>{"/usr/bin/python3", test::source_dir() + "/tests/support/fake_gateway.py", "--port", "0",
                                     "--secret-key", "sk_test_x", "--slow-seconds", "2"},
            std::map<std::string, std::string>{});
        const auto line = gateway_->wait_for_line("fake gateway listening on", 15s);
        port_ = static_cast<unsigned short>(std::stoi(line.substr(line.rfind(' ') + 1)));
        StripeSettings s;
        s.base_url = "http://127.0.0.1:" + std::to_string(port_);
        s.secret_key = "sk_test_x";
        s.timeout = 1s;
        stripe_ = std::make_shared<StripeProvider>(s, cpu_);
    }
    void TearDown() override {
        gateway_.reset();
        cpu_.join();
        PaymentsTest::TearDown();
    }
    void faults(json::array list) {
        auto r = test::http_call(port_, bhttp::verb::post, "/_control/faults", json::serialize(json::object{{"faults", list}}));
        ASSERT_EQ(r.result_int(), 200U) << r.body();
    }
    std::int64_t charges() {
        auto r = test::http_call(port_, bhttp::verb::get, "/_control/charges");
        return json::parse(r.body()).at("count").as_int64();
    }
    json::array requests() {
        auto r = test::http_call(port_, bhttp::verb::get, "/_control/requests");
        return json::parse(r.body()).as_array();
    }

    core::CpuPool cpu_{2};
    std::unique_ptr<test::Process> gateway_;
    unsigned short port_ = 0;
    std::shared_ptr<StripeProvider> stripe_;
};

TEST_F(GatewayTest, TransientFailuresRetryWithTheSameKeyAndChargeOnce) {
    auto svc = service(stripe_, "stripe", 8);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    faults(json::array{"500", "429", "drop", "timeout"});
    int delivery = 1;
    for (; delivery <= 4; ++delivery) {
        auto r = run(svc->capture(payment, delivery));
        ASSERT_FALSE(r) << "delivery " << delivery;
        EXPECT_EQ(r.error().code, core::Errc::kUnavailable);
        EXPECT_EQ(payment_status(payment), "pending");
    }
    ASSERT_TRUE(run(svc->capture(payment, delivery)));
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(charges(), 1);
    const auto key = text("SELECT idempotency_key FROM payments WHERE id = $1", db::params(payment));
    std::set<std::string> keys;
    int intents = 0;
    for (const auto& req : requests()) {
        if (req.at("path").as_string() != "/v1/payment_intents") continue;
        ++intents;
        keys.insert(std::string(req.at("idempotency_key").as_string()));
    }
    EXPECT_GE(intents, 5);
    EXPECT_EQ(keys, std::set<std::string>{key}) << "every retry carries the payment's key";
    EXPECT_EQ(text("SELECT provider_reference FROM payments WHERE id = $1", db::params(payment)).rfind("pi_", 0), 0U);
}

TEST_F(GatewayTest, ACrashAfterTheProviderChargedIsReconciledWithoutASecondCharge) {
    auto svc = service(stripe_, "stripe", 8);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    // The gateway charges, then the answer is lost (as if we crashed before committing).
    faults(json::array{"500_after_charge", "drop_after_charge"});
    EXPECT_FALSE(run(svc->capture(payment, 1)));
    EXPECT_FALSE(run(svc->capture(payment, 2)));
    EXPECT_EQ(charges(), 1);
    EXPECT_EQ(payment_status(payment), "pending");
    ASSERT_TRUE(run(svc->capture(payment, 3)));  // the redelivery
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(charges(), 1) << "the provider replayed the first charge";
    EXPECT_EQ(order_status(id), "paid");
}

TEST_F(GatewayTest, ConcurrentDeliveriesOfOneCaptureChargeOnce) {
    auto svc = service(stripe_, "stripe", 8);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    std::vector<asio::awaitable<void>> racing;
    auto deliver = [](PaymentsService* s, std::int64_t p, int d) -> asio::awaitable<void> { co_await s->capture(p, d); };
    for (int i = 1; i <= 4; ++i) racing.push_back(deliver(svc.get(), payment, i));
    redis::test::run_all(ctx_, std::move(racing));
    EXPECT_EQ(charges(), 1);
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(events("payment.captured", payment), 1);
    EXPECT_EQ(events("order.paid", id), 1);
}

TEST_F(GatewayTest, DeclinesAreFinal) {
    auto svc = service(stripe_, "stripe", 8);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_declined");
    ASSERT_EQ(status, 202);
    ASSERT_TRUE(run(svc->capture(payment, 1)));
    EXPECT_EQ(payment_status(payment), "declined");
    EXPECT_EQ(order_status(id), "payment_failed");
    EXPECT_EQ(charges(), 0);
}

// ---- webhooks -----------------------------------------------------------------------------------

std::string event(const std::string& id, const std::string& type, std::int64_t payment_id, const std::string& intent) {
    return json::serialize(json::object{
        {"id", id},
        {"type", type},
        {"data", json::object{{"object", json::object{{"id", intent}, {"metadata", json::object{{"payment_id", std::to_string(payment_id)}}}}}}}});
}

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Charges like the sandbox; every refund is accepted and left pending at the provider.
class PendingRefunds final : public PaymentProvider {
public:
    std::string name() const override { return "sandbox"; }
    asio::awaitable<ChargeOutcome> charge(ChargeRequest request) override { co_return co_await charges_.charge(std::move(request)); }
    asio::awaitable<RefundOutcome> refund(RefundRequest request) override {
        co_return RefundOutcome{RefundOutcome::Kind::kPending, "re_pending_" + std::to_string(request.refund_id), "pending"};
    }

private:
    SandboxProvider charges_{100ms};
};

TEST_F(PaymentsTest, ARefundLeftPendingAtTheProviderStaysPendingUntilItsWebhook) {
    auto svc = service(std::make_shared<PendingRefunds>(), "sandbox", 3);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    ASSERT_TRUE(run(svc->capture(payment, 1)));
    ASSERT_EQ(order_status(id), "paid");
    NewRefund body;
    body.amount_cents = 500;
    auto requested = run(svc->request_refund(user_, id, "refund-pending", std::move(body), "POST refund 500"));
    ASSERT_TRUE(requested && !requested->failure) << (requested ? requested->failure->message : requested.error().message);
    const auto refund_id = scalar("SELECT id FROM refunds WHERE order_id = $1", db::params(id));
    EXPECT_FALSE(run(svc->execute_refund(refund_id, 1)));  // asked again later
    EXPECT_FALSE(run(svc->execute_refund(refund_id, 2)));
    EXPECT_TRUE(run(svc->execute_refund(refund_id, 3)));  // the last delivery ends the job, not the refund
    EXPECT_EQ(text("SELECT status FROM refunds WHERE id = $1", db::params(refund_id)), "pending")
        << "money that may have gone back is never offered for a second refund";
    // The provider's webhook settles it, once.
    const auto body_text = json::serialize(json::object{
        {"id", "evt_refund_pending"},
        {"type", "refund.updated"},
        {"data", json::object{{"object", json::object{{"id", "re_pending_" + std::to_string(refund_id)},
                                                      {"status", "succeeded"},
                                                      {"metadata", json::object{{"refund_id", std::to_string(refund_id)}}}}}}}});
    auto applied = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), body_text), body_text, now_s()));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->action, "refund succeeded");
    EXPECT_EQ(text("SELECT status FROM refunds WHERE id = $1", db::params(refund_id)), "succeeded");
    EXPECT_EQ(scalar("SELECT refunded_cents FROM orders WHERE id = $1", db::params(id)), 500);
    auto again = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), body_text), body_text, now_s()));
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->duplicate);
    EXPECT_EQ(scalar("SELECT refunded_cents FROM orders WHERE id = $1", db::params(id)), 500);
}

TEST_F(PaymentsTest, WebhooksAreVerifiedAppliedOnceAndRejectedWhenForgedOrStale) {
    auto svc = service(nullptr, "stripe");
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "pm_card_visa");
    ASSERT_EQ(status, 202);
    const auto body = event("evt_1", "payment_intent.succeeded", payment, "pi_webhook_1");

    auto forged = run(svc->handle_webhook(sign_webhook("whsec_wrong", now_s(), body), body, now_s()));
    ASSERT_FALSE(forged);
    EXPECT_EQ(forged.error().code, core::Errc::kBadRequest);
    auto tampered = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), body), body + " ", now_s()));
    EXPECT_FALSE(tampered);
    auto stale = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s() - 301, body), body, now_s()));
    EXPECT_FALSE(stale) << "outside the tolerance window";
    EXPECT_FALSE(run(svc->handle_webhook("", body, now_s())));
    EXPECT_EQ(payment_status(payment), "pending");

    auto applied = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), body), body, now_s()));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_FALSE(applied->duplicate);
    EXPECT_EQ(applied->action, "captured");
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(text("SELECT provider_reference FROM payments WHERE id = $1", db::params(payment)), "pi_webhook_1");

    // The same event again (a replay, even freshly signed) is ignored.
    auto replayed = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), body), body, now_s()));
    ASSERT_TRUE(replayed);
    EXPECT_TRUE(replayed->duplicate);
    EXPECT_EQ(events("payment.captured", payment), 1);
    EXPECT_EQ(events("order.paid", id), 1);

    // A payment we gave up on but the provider captured after all is reconciled by its webhook.
    const auto late_order = order();
    auto [s2, late] = pay(*svc, late_order, "pm_card_visa");
    ASSERT_EQ(s2, 202);
    scalar("UPDATE payments SET status = 'failed', last_error = 'gave up' WHERE id = $1 RETURNING id", db::params(late));
    ASSERT_TRUE(run(svc->settle(late)));
    EXPECT_EQ(order_status(late_order), "payment_failed");
    const auto late_body = event("evt_late", "payment_intent.succeeded", late, "pi_late");
    auto reconciled = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), late_body), late_body, now_s()));
    ASSERT_TRUE(reconciled);
    EXPECT_EQ(reconciled->action, "captured");
    EXPECT_EQ(payment_status(late), "captured");
    EXPECT_EQ(order_status(late_order), "paid");

    auto garbage = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), "[1]"), "[1]", now_s()));
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().code, core::Errc::kBadRequest);
}

// ---- captured money that cannot pay its order: flagged, never silent -----------------------------

std::uint64_t flagged_count(const std::string& reason) {
    return core::Metrics::global()
        .counter("emporium_payments_flagged_total", "", {{"reason", reason}})
        .value();
}

// The reproduction: give up on a flaky payment, pay with another method, then the provider
// reports the first one captured after all. Both charged the customer.
TEST_F(PaymentsTest, ALateSuccessAfterAnotherPaymentPaidTheOrderIsFlaggedForARefund) {
    auto svc = service(std::make_shared<SandboxProvider>(100ms), "sandbox", 4);
    const auto id = order();
    auto [s1, gave_up] = pay(*svc, id, "tok_flaky_100");
    ASSERT_EQ(s1, 202);
    for (int delivery = 1; delivery <= 4; ++delivery) EXPECT_FALSE(run(svc->capture(gave_up, delivery)));
    ASSERT_EQ(payment_status(gave_up), "failed");
    ASSERT_EQ(order_status(id), "payment_failed");
    auto [s2, paid_by] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(s2, 202);
    ASSERT_TRUE(run(svc->capture(paid_by, 1)));
    ASSERT_EQ(order_status(id), "paid");
    EXPECT_EQ(scalar("SELECT paid_payment_id FROM orders WHERE id = $1", db::params(id)), paid_by);

    const auto before = flagged_count("paid_by_other_payment");
    const auto late = event("evt_late_2", "payment_intent.succeeded", gave_up, "pi_late_2");
    auto applied = run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), late), late, now_s()));
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->action, "captured") << "the provider is the truth: the money was taken";
    EXPECT_EQ(payment_status(gave_up), "captured");
    EXPECT_EQ(text("SELECT flag_reason FROM payments WHERE id = $1", db::params(gave_up)),
              "paid_by_other_payment");
    EXPECT_EQ(
        scalar("SELECT count(*) FROM payments WHERE id = $1 AND flagged_at IS NOT NULL", db::params(gave_up)),
        1);
    EXPECT_EQ(flagged_count("paid_by_other_payment"), before + 1);
    EXPECT_EQ(events("payment.flagged", gave_up), 1);
    EXPECT_EQ(scalar("SELECT (payload->>'paid_by_payment_id')::bigint FROM outbox WHERE event_type = "
                     "'payment.flagged' "
                     "AND aggregate_id = $1",
                     db::params(std::to_string(gave_up))),
              paid_by);
    // The order stays paid by the payment that paid it; the one that paid is not flagged.
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(scalar("SELECT paid_payment_id FROM orders WHERE id = $1", db::params(id)), paid_by);
    EXPECT_EQ(
        scalar("SELECT count(*) FROM payments WHERE id = $1 AND flagged_at IS NULL", db::params(paid_by)), 1);

    // Redeliveries of either settle (the worker's job after the webhook's inline settle) change
    // nothing: no second flag, log line or count.
    ASSERT_TRUE(run(svc->settle(gave_up)));
    ASSERT_TRUE(run(svc->settle(gave_up)));
    ASSERT_TRUE(run(svc->settle(paid_by)));
    EXPECT_EQ(flagged_count("paid_by_other_payment"), before + 1);
    EXPECT_EQ(events("payment.flagged", gave_up), 1);
    EXPECT_EQ(events("payment.flagged", paid_by), 0);
    EXPECT_EQ(events("order.paid", id), 1);

    // The second charge goes back by itself, once: one automatic refund of the whole payment.
    EXPECT_EQ(scalar("SELECT count(*) FROM refunds WHERE payment_id = $1 AND automatic AND amount_cents = "
                     "(SELECT amount_cents FROM payments WHERE id = $1)",
                     db::params(gave_up)),
              1);
    EXPECT_EQ(scalar("SELECT count(*) FROM refunds WHERE payment_id = $1", db::params(paid_by)), 0);
    const auto refund_id = scalar("SELECT id FROM refunds WHERE payment_id = $1", db::params(gave_up));
    ASSERT_TRUE(run(svc->execute_refund(refund_id, 1)));
    ASSERT_TRUE(run(svc->execute_refund(refund_id, 2)));  // a redelivered job changes nothing
    EXPECT_EQ(text("SELECT status FROM refunds WHERE id = $1", db::params(refund_id)), "succeeded");
    EXPECT_EQ(scalar("SELECT attempts FROM refunds WHERE id = $1", db::params(refund_id)), 1);
    EXPECT_EQ(scalar("SELECT count(*) FROM outbox WHERE event_type = 'refund.succeeded' AND aggregate_id = $1",
                     db::params(std::to_string(refund_id))),
              1);
    EXPECT_EQ(scalar("SELECT refunded_cents FROM orders WHERE id = $1", db::params(id)), 0)
        << "the payment that paid the order was not refunded";

    // Shown on the order's payments and in the admin's list.
    auto list = run(svc->payments_of(id, user_, false));
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    const auto shown = to_json(list->back());
    EXPECT_EQ(shown.at("id").as_int64(), gave_up);
    EXPECT_EQ(shown.at("flag_reason"), "paid_by_other_payment");
    EXPECT_TRUE(shown.at("flagged_at").is_string());
    EXPECT_TRUE(to_json(list->front()).at("flag_reason").is_null());
    auto page = run(svc->flagged(20, std::nullopt));
    ASSERT_TRUE(page);
    ASSERT_EQ(page->items.size(), 1U);
    EXPECT_EQ(page->items.front().id, gave_up);
    EXPECT_FALSE(page->next_cursor);
}

TEST_F(PaymentsTest, ACaptureForACancelledOrExpiredOrderIsFlaggedForARefund) {
    auto svc = service(nullptr, "stripe");
    // The customer cancels after we gave up on the payment; the provider captured it after all.
    const auto cancelled = order();
    auto [s1, p1] = pay(*svc, cancelled, "pm_card_visa");
    ASSERT_EQ(s1, 202);
    scalar("UPDATE payments SET status = 'failed', last_error = 'gave up' WHERE id = $1 RETURNING id",
           db::params(p1));
    ASSERT_TRUE(run(svc->settle(p1)));
    ASSERT_TRUE(run(orders_->cancel(cancelled, user_, false)));
    const auto cancelled_before = flagged_count("order_cancelled");
    const auto e1 = event("evt_after_cancel", "payment_intent.succeeded", p1, "pi_after_cancel");
    ASSERT_TRUE(run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), e1), e1, now_s())));
    EXPECT_EQ(payment_status(p1), "captured");
    EXPECT_EQ(order_status(cancelled), "cancelled");
    EXPECT_EQ(text("SELECT flag_reason FROM payments WHERE id = $1", db::params(p1)), "order_cancelled");
    EXPECT_EQ(flagged_count("order_cancelled"), cancelled_before + 1);

    // Same after expiry.
    const auto expired = order();
    auto [s2, p2] = pay(*svc, expired, "pm_card_visa");
    ASSERT_EQ(s2, 202);
    scalar("UPDATE payments SET status = 'failed', last_error = 'gave up' WHERE id = $1 RETURNING id",
           db::params(p2));
    ASSERT_TRUE(run(svc->settle(p2)));
    scalar("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING id",
           db::params(expired));
    ASSERT_EQ(run(orders_->expire_due()), 1);
    const auto expired_before = flagged_count("order_expired");
    const auto e2 = event("evt_after_expiry", "payment_intent.succeeded", p2, "pi_after_expiry");
    ASSERT_TRUE(run(svc->handle_webhook(sign_webhook(kWebhookSecret, now_s(), e2), e2, now_s())));
    EXPECT_EQ(order_status(expired), "expired");
    EXPECT_EQ(text("SELECT flag_reason FROM payments WHERE id = $1", db::params(p2)), "order_expired");
    EXPECT_EQ(flagged_count("order_expired"), expired_before + 1);
    ASSERT_TRUE(run(svc->settle(p2)));
    EXPECT_EQ(flagged_count("order_expired"), expired_before + 1) << "once";

    // The admin's list, newest first, one per page here.
    auto first = run(svc->flagged(1, std::nullopt));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->items.size(), 1U);
    EXPECT_EQ(first->items.front().id, p2);
    ASSERT_TRUE(first->next_cursor);
    auto second = run(svc->flagged(1, first->next_cursor));
    ASSERT_TRUE(second);
    ASSERT_EQ(second->items.size(), 1U);
    EXPECT_EQ(second->items.front().id, p1);
    EXPECT_FALSE(second->next_cursor);
    for (const char* bad : {"", "abc", "0", "-3", "12x", "99999999999999999999"}) {
        auto r = run(svc->flagged(10, std::string(bad)));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, core::Errc::kBadRequest) << bad;
    }
}

// Two captures of one order settling at the same moment (say the worker's and a webhook's): the
// order's row lock lets exactly one pay it; the other is the second charge.
TEST_F(PaymentsTest, TwoCapturesSettlingAtOnceExactlyOnePaysTheOtherIsFlagged) {
    auto svc = service(nullptr, "stripe");
    for (int round = 0; round < 5; ++round) {
        const auto id = order();
        auto [s1, a] = pay(*svc, id, "pm_card_visa");
        ASSERT_EQ(s1, 202);
        scalar("UPDATE payments SET status = 'failed' WHERE id = $1 RETURNING id", db::params(a));
        auto [s2, b] = pay(*svc, id, "pm_card_visa");
        ASSERT_EQ(s2, 202);
        scalar(
            "UPDATE payments SET status = 'captured', captured_at = now() WHERE order_id = $1 RETURNING id",
            db::params(id));
        auto settle_one = [](PaymentsService* s, std::int64_t p) -> asio::awaitable<void> {
            auto r = co_await s->settle(p);
            if (!r) throw std::runtime_error(r.error().message);
        };
        std::vector<asio::awaitable<void>> racing;
        racing.push_back(settle_one(svc.get(), round % 2 == 0 ? a : b));
        racing.push_back(settle_one(svc.get(), round % 2 == 0 ? b : a));
        redis::test::run_all(ctx_, std::move(racing));
        EXPECT_EQ(order_status(id), "paid");
        const auto winner = scalar("SELECT paid_payment_id FROM orders WHERE id = $1", db::params(id));
        ASSERT_TRUE(winner == a || winner == b) << winner;
        const auto loser = winner == a ? b : a;
        EXPECT_EQ(text("SELECT flag_reason FROM payments WHERE id = $1", db::params(loser)),
                  "paid_by_other_payment");
        EXPECT_EQ(
            scalar("SELECT count(*) FROM payments WHERE id = $1 AND flagged_at IS NULL", db::params(winner)),
            1);
        EXPECT_EQ(events("order.paid", id), 1);
        EXPECT_EQ(events("payment.flagged", loser), 1);
    }
}

// Expiry vs pay: lock_due_orders reads the payments on its statement's snapshot. A payment that is
// captured but whose settle has not run yet (the worker died in between; the settle job comes
// later) must keep the order from expiring, and from being cancelled: it is about to pay it.
TEST_F(PaymentsTest, AnOrderWithACapturedButUnsettledPaymentIsNeitherExpiredNorCancelled) {
    auto svc = service(std::make_shared<SandboxProvider>(1s));
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    scalar(
        "UPDATE payments SET status = 'captured', captured_at = now(), provider_reference = 'sbx_1' WHERE id "
        "= $1 "
        "RETURNING id",
        db::params(payment));
    scalar("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = $1 RETURNING id",
           db::params(id));
    EXPECT_EQ(run(orders_->expire_due()), 0);
    EXPECT_EQ(order_status(id), "pending_payment");
    EXPECT_EQ(stock(), 8) << "still reserved";
    auto cancel = run(orders_->cancel(id, user_, false));
    ASSERT_FALSE(cancel);
    EXPECT_EQ(cancel.error().code, core::Errc::kConflict);
    // The settle job arrives: the order is paid, nothing is flagged.
    ASSERT_TRUE(run(svc->settle(payment)));
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE order_id = $1 AND flagged_at IS NOT NULL",
                     db::params(id)),
              0);
    EXPECT_EQ(stock(), 8);
}

TEST_F(GatewayTest, AWebhookRacingTheWorkerEndsInOneState) {
    auto svc = service(stripe_, "stripe", 8);
    const auto id = order();
    auto [status, payment] = pay(*svc, id, "tok_ok");
    ASSERT_EQ(status, 202);
    // The worker's call is slow; the provider's webhook arrives meanwhile.
    faults(json::array{"timeout"});
    const auto body = event("evt_race", "payment_intent.succeeded", payment, "pi_race");
    std::vector<asio::awaitable<void>> racing;
    auto worker = [](PaymentsService* s, std::int64_t p) -> asio::awaitable<void> {
        auto r = co_await s->capture(p, 1);
        static_cast<void>(r);
        auto again = co_await s->capture(p, 2);  // the redelivery after the timeout
        static_cast<void>(again);
    };
    auto webhook = [](PaymentsService* s, std::string b, std::string sig) -> asio::awaitable<void> {
        auto r = co_await s->handle_webhook(std::move(sig), std::move(b), now_s());
        if (!r) throw std::runtime_error(r.error().message);
    };
    racing.push_back(worker(svc.get(), payment));
    racing.push_back(webhook(svc.get(), body, sign_webhook(kWebhookSecret, now_s(), body)));
    redis::test::run_all(ctx_, std::move(racing));
    EXPECT_EQ(payment_status(payment), "captured");
    EXPECT_EQ(order_status(id), "paid");
    EXPECT_EQ(events("payment.captured", payment), 1) << "exactly one transition";
    EXPECT_EQ(events("order.paid", id), 1);
    EXPECT_LE(charges(), 1);
}

}  // namespace
}  // namespace emporium::payments
