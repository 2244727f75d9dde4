// End-to-end: background jobs through the real binaries — `emporium serve`, `emporium worker`,
// `emporium scheduler` — with a real SMTP server (aiosmtpd, Maildir delivery): a paid order's
// confirmation e-mail arrives with the right content and its PDF receipt is served to the owner
// only; unpaid orders are expired by the scheduler through the worker; the admin job API; a worker
// killed with SIGKILL mid-job leaves its jobs to be reclaimed and completed exactly once in effect;
// SIGTERM lets running jobs finish.
#include "app/orders_wiring.hpp"
#include "db/pg.hpp"
#include "e2e/e2e_fixture.hpp"
#include "jobs/jobs_types.hpp"
#include "payments/webhook_signature.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

namespace emporium::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using Res = HttpResponse;
using namespace std::chrono_literals;

std::string pdf_text(const std::string& pdf, const fs::path& dir) {
    const auto path = dir / "receipt.pdf";
    std::ofstream(path, std::ios::binary) << pdf;
    std::string out;
    if (FILE* p = ::popen(("pdftotext -layout '" + path.string() + "' - 2>&1").c_str(), "r")) {
        std::array<char, 4096> buf{};
        while (auto n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
        ::pclose(p);
    }
    return out;
}

class JobsE2E : public ::testing::Test, protected E2EFixture {
protected:
    JobsE2E() : E2EFixture("jobs") {}

    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("emporium-jobs-e2e-" + unique_suffix());
        fs::create_directories(dir_ / "spool");
        smtp_port_ = free_port();
        smtp_ = std::make_unique<Process>(std::vector<std::string>{"/usr/bin/python3",
                                                                   "-m",
                                                                   "aiosmtpd",
                                                                   "-n",
                                                                   "-l",
                                                                   "127.0.0.1:" + std::to_string(smtp_port_),
                                                                   "-c",
                                                                   "aiosmtpd.handlers.Mailbox",
                                                                   (dir_ / "Maildir").string()},
                                          Env{});
        ASSERT_TRUE(eventually([&] { return accepts_connections(smtp_port_); }, 15s)) << "no SMTP server";
    }
    void TearDown() override {
        workers_.clear();
        schedulers_.clear();
        server_.reset();
        smtp_.reset();
        fs::remove_all(dir_);
    }

    Env env(const Env& extra = {}) const {
        Env settings{{"RATE_LIMIT_ENABLED", "false"},
                     {"INVENTORY_STRATEGY", "pessimistic"},
                     {"SHOP_NAME", "E2E Shop"},
                     {"MAIL_FROM", "orders@e2e.test"},
                     {"SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp_port_)},
                     {"SMTP_STARTTLS", "off"},
                     {"MAIL_SPOOL_DIR", (dir_ / "spool").string()},
                     {"OUTBOX_POLL_MS", "200"},
                     {"JOB_RETRY_BASE_MS", "100"},
                     {"JOB_RETRY_CAP_MS", "500"},
                     {"WEBHOOK_SECRET", "whsec_e2e_secret"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        return E2EFixture::env(settings);
    }
    void start_server(const Env& extra = {}) { server_ = std::make_unique<ServerProcess>(env(extra)); }
    Process& start_worker(const Env& extra = {}) {
        workers_.push_back(start_emporium("worker", env(extra)));
        return *workers_.back();
    }
    void start_scheduler(const Env& extra = {}) {
        schedulers_.push_back(start_emporium("scheduler", env(extra)));
    }

    std::pair<std::int64_t, std::string> customer(const std::string& email) {
        return E2EFixture::customer(email, "Cust");
    }
    Res send(bhttp::verb method, const std::string& target, const std::string& token, const std::string& body = "",
             HttpHeaders headers = {}) {
        return authorized_call(server_->port(), method, target, token, body, std::move(headers));
    }
    std::int64_t product(const std::string& name, std::int64_t stock, std::int64_t price) {
        return create_product(
            server_->port(),
            admin_,
            {{"sku", "sku-" + unique_suffix()}, {"name", name}, {"price_cents", price}, {"stock", stock}});
    }
    std::int64_t place(const std::string& token, std::int64_t product_id, int quantity) {
        auto r = send(bhttp::verb::post,
                      "/api/v1/orders",
                      token,
                      order_body(product_id, quantity),
                      {{"Idempotency-Key", unique_suffix()}});
        EXPECT_EQ(r.result_int(), 201U) << r.body();
        return json::parse(r.body()).at("id").as_int64();
    }
    // Pays an order the way the payments service does: a captured payment, then
    // OrdersService::mark_paid (status, the paying payment, ledger, purchase counts and the order.paid
    // outbox event in one transaction).
    void mark_paid(std::int64_t order_id) {
        const auto payment =
            sql("INSERT INTO payments (order_id, status, amount_cents, currency, provider, idempotency_key, "
"captured_at) SELECT id, 'captured', total_cents, currency, 'sandbox', gen_random_uuid()::text, "
"now() FROM orders WHERE id = $1 RETURNING id",
                db::params(order_id));
        core::Config config;
        config.db.url = db_.url;
        config.redis.url = test_redis_url();
        config.inventory.strategy = "pessimistic";
        config.rate_limit.key_prefix = prefix_;
        asio::io_context io;
        app::OrdersStack stack(io.get_executor(), config);
        auto paid = run_coro(io, stack.orders->mark_paid(order_id, payment));
        stack.close();
        ASSERT_TRUE(paid) << paid.error().message;
    }
    std::vector<fs::path> mails() {
        std::vector<fs::path> out;
        const auto dir = dir_ / "Maildir" / "new";
        if (!fs::exists(dir)) return out;
        for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
        return out;
    }
    json::object queue_stats(const std::string& queue) {
        auto r = send(bhttp::verb::get, "/api/v1/admin/jobs", admin_);
        EXPECT_EQ(r.result_int(), 200U) << r.body();
        const auto body = json::parse(r.body());
        for (const auto& q : body.at("queues").as_array()) {
            if (q.at("queue").as_string() == queue) return q.as_object();
        }
        return {};
    }

    fs::path dir_;
    unsigned short smtp_port_ = 0;
    std::unique_ptr<Process> smtp_;
    std::unique_ptr<ServerProcess> server_;
    std::vector<std::unique_ptr<Process>> workers_;
    std::vector<std::unique_ptr<Process>> schedulers_;
};

TEST_F(JobsE2E, APaidOrderGetsItsEmailAndReceiptAndUnpaidOrdersExpire) {
    start_server({{"ORDER_TTL_S", "2"}});
    start_worker();
    start_scheduler({{"SCHEDULE_EXPIRE_ORDERS", "every 1s"}});
    start_scheduler({{"SCHEDULE_EXPIRE_ORDERS", "every 1s"}});  // a second one must not double-fire
    auto [ann_id, ann] = customer("ann@example.com");
    auto [bob_id, bob] = customer("bob@example.com");
    const auto desk = product("Walnut desk", 5, 12'000);
    const auto order = place(ann, desk, 2);
    mark_paid(order);

    ASSERT_TRUE(eventually([&] { return !mails().empty(); })) << "no e-mail arrived";
    auto messages = mails();
    ASSERT_EQ(messages.size(), 1U);
    const auto mail = slurp(messages[0]);
    const auto number = "EMP-" + std::string(6 - std::min<std::size_t>(6, std::to_string(order).size()), '0') +
                        std::to_string(order);
    EXPECT_NE(mail.find("To: ann@example.com"), std::string::npos) << mail;
    EXPECT_NE(mail.find("From: orders@e2e.test"), std::string::npos) << mail;
    EXPECT_NE(mail.find("Subject: Your order " + number), std::string::npos) << mail;
    EXPECT_NE(mail.find("text/plain"), std::string::npos);
    EXPECT_NE(mail.find("text/html"), std::string::npos);
    EXPECT_NE(mail.find("Walnut desk"), std::string::npos);
    EXPECT_NE(mail.find("240.00"), std::string::npos);

    const auto target = "/api/v1/orders/" + std::to_string(order) + "/receipt";
    Res receipt;
    ASSERT_TRUE(eventually([&] {
        receipt = send(bhttp::verb::get, target, ann);
        return receipt.result_int() == 200;
    })) << receipt.body();
    EXPECT_EQ(receipt[bhttp::field::content_type], "application/pdf");
    const auto text = pdf_text(receipt.body(), dir_);
    EXPECT_NE(text.find("E2E Shop"), std::string::npos) << text;
    EXPECT_NE(text.find(number), std::string::npos) << text;
    EXPECT_NE(text.find("Walnut desk"), std::string::npos) << text;
    EXPECT_EQ(send(bhttp::verb::get, target, bob).result_int(), 404U) << "another customer's receipt";
    EXPECT_EQ(send(bhttp::verb::get, target, admin_).result_int(), 200U);
    EXPECT_EQ(send(bhttp::verb::get, target, "").result_int(), 401U);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/orders/abc/receipt", ann).result_int(), 422U);

    // Unpaid: expired by the scheduler (every second) through the worker, stock returned.
    const auto unpaid = place(bob, desk, 1);
    EXPECT_EQ(product_stock(desk), 2);
    ASSERT_TRUE(eventually([&] {
        auto r = send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(unpaid), bob);
        return r.result_int() == 200 && json::parse(r.body()).at("status").as_string() == "expired";
    })) << "the unpaid order was not expired";
    EXPECT_EQ(product_stock(desk), 3);

    // Admin job API; customers are refused.
    auto email = queue_stats("email");
    EXPECT_EQ(email.at("outcomes").as_object().at("succeeded").as_int64(), 1);
    EXPECT_EQ(email.at("dead").as_int64(), 0);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/admin/jobs", ann).result_int(), 403U);
    EXPECT_EQ(send(bhttp::verb::post, "/api/v1/admin/jobs/dead/1-1/retry", admin_).result_int(), 404U);
    EXPECT_EQ(send(bhttp::verb::post, "/api/v1/admin/jobs/dead/nonsense/retry", admin_).result_int(), 422U);
    // Exactly one e-mail, one receipt.
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(mails().size(), 1U);
    EXPECT_EQ(sql("SELECT count(*) FROM emails WHERE order_id = $1 AND status = 'sent'", db::params(order)), 1);
    // Job metrics reach /metrics (refreshed every 5 s).
    ASSERT_TRUE(eventually([&] {
        auto m = send(bhttp::verb::get, "/metrics", "");
        return m.body().find("emporium_jobs_queue_depth{queue=\"email\"") != std::string::npos;
    }, 12s));
}

TEST_F(JobsE2E, AWorkerKilledMidJobLeavesItsJobsToBeReclaimedAndDoneOnce) {
    start_server();
    // Worker A stalls 4 s before each handler; it is killed while holding the jobs.
    auto& a = start_worker({{"WORKER_HANDLER_DELAY_MS", "4000"}, {"JOB_VISIBILITY_TIMEOUT_MS", "1500"}});
    auto [ann_id, ann] = customer("ann@example.com");
    const auto order = place(ann, product("Lamp", 3, 2'500), 1);
    mark_paid(order);
    ASSERT_TRUE(eventually([&] {
        auto e = queue_stats("email");
        auto r = queue_stats("receipt");
        return !e.empty() && e.at("in_progress").as_int64() == 1 && r.at("in_progress").as_int64() == 1;
    })) << "worker A never took the jobs";
    a.signal(SIGKILL);
    a.wait(5s);
    EXPECT_TRUE(mails().empty());

    start_worker({{"JOB_VISIBILITY_TIMEOUT_MS", "1500"}});
    ASSERT_TRUE(eventually([&] { return !mails().empty(); })) << "the reclaimed e-mail job never ran";
    ASSERT_TRUE(eventually([&] {
        return send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order) + "/receipt", ann).result_int() == 200;
    }));
    std::this_thread::sleep_for(2s);  // any duplicate delivery would have happened by now
    EXPECT_EQ(mails().size(), 1U);
    EXPECT_EQ(sql("SELECT attempts::bigint FROM emails WHERE order_id = $1", db::params(order)), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM receipts WHERE order_id = $1", db::params(order)), 1);
    for (const auto* q : {"email", "receipt"}) {
        auto s = queue_stats(q);
        EXPECT_EQ(s.at("in_progress").as_int64(), 0) << q;
        EXPECT_EQ(s.at("pending").as_int64(), 0) << q;
        EXPECT_EQ(s.at("dead").as_int64(), 0) << q;
        EXPECT_EQ(s.at("outcomes").as_object().at("succeeded").as_int64(), 1) << q;
    }
}

TEST_F(JobsE2E, SigtermLetsRunningJobsFinish) {
    start_server();
    auto& worker = start_worker({{"WORKER_HANDLER_DELAY_MS", "1500"}});
    auto [ann_id, ann] = customer("ann@example.com");
    const auto order = place(ann, product("Chair", 3, 4'000), 1);
    mark_paid(order);
    // Both jobs taken (a blocked read returns one stream's entries; the next read takes the other).
    ASSERT_TRUE(eventually([&] {
        return queue_stats("email").at("in_progress").as_int64() == 1 &&
               queue_stats("receipt").at("in_progress").as_int64() == 1;
    }));
    worker.signal(SIGTERM);
    EXPECT_EQ(worker.wait(15s), 0);
    EXPECT_EQ(mails().size(), 1U) << "the running job completed before exit";
    EXPECT_EQ(sql("SELECT count(*) FROM receipts WHERE order_id = $1", db::params(order)), 1);
}

TEST_F(JobsE2E, PayingThroughTheApiCapturesInTheBackgroundAndSendsTheDocuments) {
    start_server();
    start_worker({{"JOB_RETRY_BASE_MS", "50"}, {"JOB_RETRY_CAP_MS", "200"}});
    auto [ann_id, ann] = customer("ann@example.com");
    const auto desk = product("Oak shelf", 5, 9'900);
    const auto order = place(ann, desk, 1);
    const auto pay_target = "/api/v1/orders/" + std::to_string(order) + "/pay";
    const auto status_target = "/api/v1/orders/" + std::to_string(order) + "/payment";

    // Validation first: no key, bad body, not found.
    EXPECT_EQ(send(bhttp::verb::post, pay_target, ann, R"({"payment_method":"tok_ok"})").result_int(), 400U);
    EXPECT_EQ(send(bhttp::verb::post, pay_target, ann, R"({"payment_method":""})", {{"Idempotency-Key", "v1"}}).result_int(), 422U);
    EXPECT_EQ(send(bhttp::verb::post, "/api/v1/orders/999999/pay", ann, R"({"payment_method":"tok_ok"})",
                   {{"Idempotency-Key", "v2"}}).result_int(), 404U);
    EXPECT_EQ(send(bhttp::verb::get, status_target, ann).result_int(), 404U) << "no payment yet";

    // Declined: the order becomes payment_failed and keeps its reservation.
    auto declined = send(bhttp::verb::post, pay_target, ann, R"({"payment_method":"tok_declined"})", {{"Idempotency-Key", "p1"}});
    ASSERT_EQ(declined.result_int(), 202U) << declined.body();
    EXPECT_EQ(declined[bhttp::field::location], status_target);
    ASSERT_TRUE(eventually([&] {
        auto r = send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order), ann);
        return json::parse(r.body()).at("status").as_string() == "payment_failed";
    }));
    auto replay = send(bhttp::verb::post, pay_target, ann, R"({"payment_method":"tok_declined"})", {{"Idempotency-Key", "p1"}});
    EXPECT_EQ(replay.result_int(), 202U);
    EXPECT_EQ(replay["Idempotent-Replayed"], "true");
    EXPECT_EQ(product_stock(desk), 4) << "still reserved";

    auto flaky = send(bhttp::verb::post, pay_target, ann, R"({"payment_method":"tok_flaky_2"})", {{"Idempotency-Key", "p2"}});
    ASSERT_EQ(flaky.result_int(), 202U) << flaky.body();
    json::object payment;
    ASSERT_TRUE(eventually([&] {
        auto r = send(bhttp::verb::get, status_target, ann);
        if (r.result_int() != 200) return false;
        payment = json::parse(r.body()).as_object();
        return payment.at("status").as_string() == "captured";
    })) << json::serialize(payment);
    EXPECT_EQ(payment.at("attempts").as_int64(), 3);
    EXPECT_EQ(payment.at("history").as_array().size(), 2U);
    ASSERT_TRUE(eventually([&] { return !mails().empty(); })) << "paid → confirmation e-mail";
    ASSERT_TRUE(eventually([&] {
        return send(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order) + "/receipt", ann).result_int() == 200;
    }));
    EXPECT_EQ(send(bhttp::verb::post, pay_target, ann, R"({"payment_method":"tok_ok"})", {{"Idempotency-Key", "p3"}}).result_int(),
              409U) << "already paid";

    // Webhooks over HTTP: forged and stale signatures are refused with problem+json.
    const std::string event = R"({"id":"evt_x","type":"payment_intent.succeeded","data":{"object":{"id":"pi_x"}}})";
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto forged = send(bhttp::verb::post, "/webhooks/payments", "", event,
                       {{"Stripe-Signature", payments::sign_webhook("whsec_wrong", now, event)}});
    EXPECT_EQ(forged.result_int(), 400U);
    EXPECT_EQ(forged[bhttp::field::content_type], "application/problem+json");
    auto stale = send(bhttp::verb::post, "/webhooks/payments", "", event,
                      {{"Stripe-Signature", payments::sign_webhook("whsec_e2e_secret", now - 3600, event)}});
    EXPECT_EQ(stale.result_int(), 400U);
    auto ok = send(bhttp::verb::post, "/webhooks/payments", "", event,
                   {{"Stripe-Signature", payments::sign_webhook("whsec_e2e_secret", now, event)}});
    EXPECT_EQ(ok.result_int(), 200U) << ok.body();
    auto dup = send(bhttp::verb::post, "/webhooks/payments", "", event,
                    {{"Stripe-Signature", payments::sign_webhook("whsec_e2e_secret", now, event)}});
    EXPECT_EQ(json::parse(dup.body()).at("duplicate").as_bool(), true);
}

// The issue's double charge through the real processes: we give up on a flaky payment, the customer
// pays again with another method, then the provider's late success for the first one arrives by
// webhook. The money of both was taken: the late one is flagged, shown and listed for the admin.
TEST_F(JobsE2E, ALateSuccessAfterAnotherPaymentPaidIsFlaggedForTheAdmin) {
    start_server({{"JOB_MAX_ATTEMPTS", "3"}});
    start_worker({{"JOB_MAX_ATTEMPTS", "3"}, {"JOB_RETRY_BASE_MS", "50"}, {"JOB_RETRY_CAP_MS", "200"}});
    auto [ann_id, ann] = customer("ann@example.com");
    const auto order = place(ann, product("Lamp", 5, 4'500), 1);
    const auto order_target = "/api/v1/orders/" + std::to_string(order);
    const auto order_status = [&, token = ann] {
        return std::string(
            json::parse(send(bhttp::verb::get, order_target, token).body()).at("status").as_string());
    };

    auto first = send(bhttp::verb::post,
                      order_target + "/pay",
                      ann,
                      R"({"payment_method":"tok_flaky_100"})",
                      {{"Idempotency-Key", "late-1"}});
    ASSERT_EQ(first.result_int(), 202U) << first.body();
    const auto gave_up = json::parse(first.body()).at("payment").at("id").as_int64();
    ASSERT_TRUE(eventually([&] { return order_status() == "payment_failed"; }, 30s)) << "retries exhausted";
    auto second = send(bhttp::verb::post,
                       order_target + "/pay",
                       ann,
                       R"({"payment_method":"tok_ok"})",
                       {{"Idempotency-Key", "late-2"}});
    ASSERT_EQ(second.result_int(), 202U) << second.body();
    const auto paid_by = json::parse(second.body()).at("payment").at("id").as_int64();
    ASSERT_TRUE(eventually([&] { return order_status() == "paid"; }, 30s));

    const auto late = json::serialize(json::object{
        {"id", "evt_late_e2e"},
        {"type", "payment_intent.succeeded"},
        {"data",
         json::object{{"object",
                       json::object{{"id", "pi_late_e2e"},
                                    {"metadata", json::object{{"payment_id", std::to_string(gave_up)}}}}}}}});
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    auto hook = send(bhttp::verb::post,
                     "/webhooks/payments",
                     "",
                     late,
                     {{"Stripe-Signature", payments::sign_webhook("whsec_e2e_secret", now, late)}});
    ASSERT_EQ(hook.result_int(), 200U) << hook.body();
    EXPECT_EQ(json::parse(hook.body()).at("action").as_string(), "captured");

    // The customer's view: the order was paid by the second payment; the first shows its flag.
    auto shown = json::parse(send(bhttp::verb::get, order_target, ann).body()).as_object();
    EXPECT_EQ(shown.at("status").as_string(), "paid");
    EXPECT_EQ(shown.at("paid_payment_id").as_int64(), paid_by);
    auto payments_json =
        json::parse(send(bhttp::verb::get, order_target + "/payment", ann).body()).as_object();
    bool seen = false;
    for (const auto& p : payments_json.at("history").as_array()) {
        if (p.at("id").as_int64() == gave_up) {
            seen = true;
            EXPECT_EQ(p.at("status").as_string(), "captured");
            EXPECT_EQ(p.at("flag_reason").as_string(), "paid_by_other_payment");
            EXPECT_TRUE(p.at("flagged_at").is_string());
        } else {
            EXPECT_TRUE(p.at("flag_reason").is_null()) << json::serialize(p);
        }
    }
    EXPECT_TRUE(seen) << json::serialize(payments_json);

    // The admin's list; customers and anonymous callers get nothing.
    auto listed = send(bhttp::verb::get, "/api/v1/admin/payments/flagged", admin_);
    ASSERT_EQ(listed.result_int(), 200U) << listed.body();
    const auto items = json::parse(listed.body()).at("items").as_array();
    ASSERT_EQ(items.size(), 1U) << listed.body();
    EXPECT_EQ(items[0].at("id").as_int64(), gave_up);
    EXPECT_EQ(items[0].at("order_id").as_int64(), order);
    EXPECT_EQ(items[0].at("amount_cents").as_int64(), 4'500);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/admin/payments/flagged", ann).result_int(), 403U);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/admin/payments/flagged", "").result_int(), 401U);

    // The worker's settle job of the same capture runs too: still one flag, one event, one count.
    ASSERT_TRUE(eventually([&] {
        const auto stats = queue_stats("payment");
        return sql("SELECT count(*) FROM outbox WHERE event_type = 'payment.captured' AND aggregate_id = $1 "
                   "AND published_at IS NOT NULL",
                   db::params(std::to_string(gave_up))) == 1 &&
               stats.at("pending").as_int64() == 0 && stats.at("in_progress").as_int64() == 0;
    }));
    // Whichever settle came first (the API server's, right after the webhook's commit, or the
    // worker's job) flagged it; the log line and the count go with that one flag transaction.
    EXPECT_EQ(sql("SELECT count(*) FROM outbox WHERE event_type = 'payment.flagged' AND aggregate_id = $1",
                  db::params(std::to_string(gave_up))),
              1);
    auto metrics = send(bhttp::verb::get, "/metrics", "").body();
    const std::string series = "emporium_payments_flagged_total{reason=\"paid_by_other_payment\"} ";
    if (const auto at = metrics.find(series); at != std::string::npos) {
        EXPECT_EQ(metrics.substr(at + series.size(), 2), "1\n") << "counted once by the API server";
    }
}

TEST_F(JobsE2E, TheScheduledRebuildFeedsBothRecommendationEndpoints) {
    start_server();
    start_worker();
    auto [ann_id, ann] = customer("ann@example.com");
    auto [bob_id, bob] = customer("bob@example.com");
    const auto kettle = product("Kettle", 50, 3'000);
    const auto teapot = product("Teapot", 50, 2'000);
    const auto cups = product("Cups", 50, 1'500);
    // Bob buys kettle + teapot twice and kettle + cups once; Ann buys a kettle.
    for (int i = 0; i < 2; ++i) {
        auto body = json::serialize(json::object{
            {"items", json::array{json::object{{"product_id", kettle}, {"quantity", 1}}, json::object{{"product_id", teapot}, {"quantity", 1}}}},
            {"shipping_address", json::object{{"city", "Oslo"}}}});
        auto r = send(bhttp::verb::post, "/api/v1/orders", bob, body, {{"Idempotency-Key", unique_suffix()}});
        ASSERT_EQ(r.result_int(), 201U) << r.body();
        mark_paid(json::parse(r.body()).at("id").as_int64());
    }
    auto body = json::serialize(json::object{
        {"items", json::array{json::object{{"product_id", kettle}, {"quantity", 1}}, json::object{{"product_id", cups}, {"quantity", 1}}}},
        {"shipping_address", json::object{{"city", "Oslo"}}}});
    auto r = send(bhttp::verb::post, "/api/v1/orders", bob, body, {{"Idempotency-Key", unique_suffix()}});
    ASSERT_EQ(r.result_int(), 201U);
    mark_paid(json::parse(r.body()).at("id").as_int64());
    mark_paid(place(ann, kettle, 1));

    // The scheduler's rebuild (every second here) publishes the neighbour lists.
    start_scheduler({{"SCHEDULE_RECOMMEND", "every 1s"}});
    const auto target = "/api/v1/products/" + std::to_string(kettle) + "/also-bought?limit=5";
    json::value also;
    ASSERT_TRUE(eventually([&] {
        auto res = send(bhttp::verb::get, target, "");
        if (res.result_int() != 200) return false;
        also = json::parse(res.body());
        return also.at("items").as_array().size() == 2;
    })) << json::serialize(also);
    EXPECT_EQ(also.at("items").at(0).at("id").as_int64(), teapot);
    EXPECT_EQ(also.at("items").at(0).at("score").to_number<double>(), 2.0);
    EXPECT_EQ(also.at("items").at(1).at("id").as_int64(), cups);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/products/999999/also-bought", "").result_int(), 404U);
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/products/1/also-bought?limit=500", "").result_int(), 422U);

    auto recs = send(bhttp::verb::get, "/api/v1/recommendations?limit=2", ann);
    ASSERT_EQ(recs.result_int(), 200U) << recs.body();
    auto parsed = json::parse(recs.body());
    EXPECT_EQ(parsed.at("source").as_string(), "cooccurrence");
    EXPECT_EQ(parsed.at("items").at(0).at("id").as_int64(), teapot) << "what kettle buyers also bought, minus the kettle";
    EXPECT_EQ(send(bhttp::verb::get, "/api/v1/recommendations", "").result_int(), 401U);
}

// /metrics off the public port: the server, the worker and the scheduler each answer it on a
// metrics port of their own, with the bearer token when one is set; the API port answers 404.
TEST_F(JobsE2E, ServerWorkerAndSchedulerServeMetricsOnTheirOwnPortsWithTheToken) {
    const auto api_metrics = free_port();
    const auto worker_metrics = free_port();
    const auto scheduler_metrics = free_port();
    const std::string token = "metrics-token-e2e";
    const auto with = [&](unsigned short port) {
        return Env{{"METRICS_PORT", std::to_string(port)}, {"METRICS_TOKEN", token}};
    };
    start_server(with(api_metrics));
    start_worker(with(worker_metrics));
    start_scheduler(with(scheduler_metrics));
    const std::string bearer_token = "Bearer " + token;
    const auto scrape = [&](unsigned short port, const std::string& authorization) {
        return authorized_call(port, bhttp::verb::get, "/metrics", authorization);
    };

    expect_problem(http_call(server_->port(), bhttp::verb::get, "/metrics"), 404, "not_found", "the API port");
    for (const auto port : {api_metrics, worker_metrics, scheduler_metrics}) {
        EXPECT_EQ(scrape(port, "").result_int(), 401U) << port;
        EXPECT_EQ(scrape(port, "Bearer wrong-token-e2e").result_int(), 401U) << port;
        EXPECT_EQ(scrape(port, "Bearer " + token + "x").result_int(), 401U) << port;
        EXPECT_EQ(http_call(port, bhttp::verb::get, "/healthz").result_int(), 200U) << port;
        EXPECT_EQ(http_call(port, bhttp::verb::get, "/api/v1/products").result_int(), 404U) << port;
        EXPECT_EQ(authorized_call(port, bhttp::verb::post, "/metrics", bearer_token, "{}").result_int(), 405U) << port;
    }

    // Each process's own figures: the server's requests, the worker's jobs, the scheduler's firings.
    const auto [user, buyer] = customer("metrics@example.com");
    (void)user;
    const auto order = place(buyer, product("Metered mug", 5, 900), 1);
    ASSERT_GT(order, 0);
    auto served = scrape(api_metrics, bearer_token);
    ASSERT_EQ(served.result_int(), 200U);
    EXPECT_NE(served.body().find("emporium_http_requests_total{"), std::string::npos);
    EXPECT_NE(served[bhttp::field::content_type].find("text/plain"), std::string::npos);
    EXPECT_TRUE(eventually([&] {
        return scrape(worker_metrics, bearer_token).body().find("emporium_outbox_published_total") != std::string::npos;
    })) << "the worker relayed the order's event";
    EXPECT_TRUE(eventually([&] {
        return scrape(scheduler_metrics, bearer_token).body().find("emporium_scheduler_fired_total{") != std::string::npos;
    })) << "the scheduler fired its entries";
}

// Without a metrics port the API port keeps /metrics, behind the token when one is set.
TEST_F(JobsE2E, WithoutAMetricsPortTheApiPortServesMetricsBehindTheToken) {
    start_server({{"METRICS_TOKEN", "api-port-token"}});
    expect_problem(http_call(server_->port(), bhttp::verb::get, "/metrics"), 401, "", "no token");
    expect_problem(authorized_call(server_->port(), bhttp::verb::get, "/metrics", "Bearer nope"), 401, "", "a wrong token");
    auto ok = authorized_call(server_->port(), bhttp::verb::get, "/metrics", "Bearer api-port-token");
    EXPECT_EQ(ok.result_int(), 200U) << ok.body();
    EXPECT_NE(ok.body().find("emporium_http_requests_total"), std::string::npos);
    // The metrics token is not an access token: scrapes do not count as rejected ones.
    EXPECT_EQ(ok.body().find("rejected_access_token"), std::string::npos) << ok.body();
}

TEST_F(JobsE2E, EveryQueueCanBeNamedInTheDeadLetterFilter) {
    start_server();
    // The webhook queue was missing from the filter's values: its dead letters could be listed
    // only among all the others.
    for (const auto queue : jobs::kQueues) {
        SCOPED_TRACE(queue);
        auto r = send(bhttp::verb::get, "/api/v1/admin/jobs/dead?queue=" + std::string(queue), admin_);
        EXPECT_EQ(r.result_int(), 200U) << r.body();
    }
}

TEST_F(JobsE2E, BadInputToTheNewEndpointsGetsProblemJson) {
    start_server();
    auto [ann_id, ann] = customer("ann@example.com");
    const auto order = place(ann, product("Stool", 5, 1'000), 1);
    const auto base = "/api/v1/orders/" + std::to_string(order);
    struct Case {
        bhttp::verb method;
        std::string target;
        std::string token;
        std::string body;
        HttpHeaders headers;
        unsigned status;
    };
    const std::vector<Case> cases{
        {bhttp::verb::get, "/api/v1/admin/jobs/dead?limit=0", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/jobs/dead?limit=abc", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/jobs/dead?queue=nope", admin_, "", {}, 422},
        {bhttp::verb::post, "/api/v1/admin/jobs/dead/1-x/retry", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/jobs", "", "", {}, 401},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?limit=0", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?limit=101", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?limit=abc", admin_, "", {}, 422},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?cursor=abc", admin_, "", {}, 400},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?cursor=-4", admin_, "", {}, 400},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?cursor=99999999999999999999", admin_, "", {}, 400},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged?cursor=", admin_, "", {}, 400},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged", ann, "", {}, 403},
        {bhttp::verb::get, "/api/v1/admin/payments/flagged", "", "", {}, 401},
        {bhttp::verb::get, "/api/v1/orders/0/receipt", ann, "", {}, 422},
        {bhttp::verb::get, "/api/v1/orders/-1/payment", ann, "", {}, 422},
        {bhttp::verb::get, base + "/payment", ann, "", {}, 404},
        {bhttp::verb::post, base + "/pay", ann, "{not json", {{"Idempotency-Key", "b1"}}, 400},
        {bhttp::verb::post, base + "/pay", ann, "[1,2]", {{"Idempotency-Key", "b2"}}, 400},
        {bhttp::verb::post, base + "/pay", ann, R"({"payment_method":5})", {{"Idempotency-Key", "b3"}}, 422},
        {bhttp::verb::post,
         base + "/pay",
         ann,
         R"({"payment_method":"tok_ok","extra":1})",
         {{"Idempotency-Key", "b4"}},
         422},
        {bhttp::verb::post,
         base + "/pay",
         ann,
         R"({"payment_method":"tok ok"})",
         {{"Idempotency-Key", "b5"}},
         422},
        {bhttp::verb::post,
         base + "/pay",
         ann,
         R"({"payment_method":"tok_ok"})",
         {{"Idempotency-Key", std::string(300, 'k')}},
         400},
        {bhttp::verb::post,
         "/api/v1/orders/1'%20OR%201=1/pay",
         ann,
         R"({"payment_method":"tok_ok"})",
         {{"Idempotency-Key", "b6"}},
         422},
        {bhttp::verb::post, "/webhooks/payments", "", "{}", {}, 400},
        {bhttp::verb::post, "/webhooks/payments", "", "{}", {{"Stripe-Signature", "t=abc,v1=zz"}}, 400},
        {bhttp::verb::get, "/api/v1/products/abc/also-bought", "", "", {}, 422},
        {bhttp::verb::get, "/api/v1/products/1/also-bought?limit=0", "", "", {}, 422},
        {bhttp::verb::get, "/api/v1/recommendations?limit=51", ann, "", {}, 422},
        {bhttp::verb::get, "/api/v1/recommendations?limit=", ann, "", {}, 422},
    };
    for (const auto& c : cases) {
        auto r = send(c.method, c.target, c.token, c.body, c.headers);
        EXPECT_EQ(r.result_int(), c.status) << c.target << " " << c.body << "\n" << r.body();
        EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json") << c.target;
        if (r[bhttp::field::content_type] == "application/problem+json") {
            auto problem = json::parse(r.body()).as_object();
            EXPECT_EQ(problem.at("status").as_int64(), static_cast<std::int64_t>(c.status)) << c.target;
            EXPECT_TRUE(problem.contains("detail")) << c.target;
        }
    }
    // Nothing was paid or charged by any of it.
    EXPECT_EQ(sql("SELECT count(*) FROM payments"), 0);
}

// Every "$ref" in the document points at a defined component.
void collect_refs(const json::value& v, std::vector<std::string>& out) {
    if (v.is_object()) {
        for (const auto& [k, child] : v.get_object()) {
            if (k == "$ref" && child.is_string()) out.emplace_back(child.get_string());
            collect_refs(child, out);
        }
    } else if (v.is_array()) {
        for (const auto& child : v.get_array()) collect_refs(child, out);
    }
}

TEST_F(JobsE2E, TheOpenApiDocumentCoversJobsPaymentsReceiptsAndRecommendations) {
    start_server();
    auto doc = json::parse(send(bhttp::verb::get, "/openapi.json", "").body());
    const auto& paths = doc.at("paths").as_object();
    const std::vector<std::pair<std::string, std::string>> expected{
        {"/api/v1/admin/jobs", "get"},
        {"/api/v1/admin/jobs/dead", "get"},
        {"/api/v1/admin/jobs/dead/{id}/retry", "post"},
        {"/api/v1/orders/{id}/receipt", "get"},
        {"/api/v1/orders/{id}/pay", "post"},
        {"/api/v1/orders/{id}/payment", "get"},
        {"/api/v1/admin/payments/flagged", "get"},
        {"/webhooks/payments", "post"},
        {"/api/v1/products/{id}/also-bought", "get"},
        {"/api/v1/recommendations", "get"}};
    for (const auto& [path, method] : expected) {
        ASSERT_TRUE(paths.contains(path)) << path;
        EXPECT_TRUE(paths.at(path).as_object().contains(method)) << method << " " << path;
    }
    std::vector<std::string> refs;
    collect_refs(doc, refs);
    ASSERT_FALSE(refs.empty());
    const auto& components = doc.at("components").as_object();
    for (const auto& ref : refs) {
        ASSERT_EQ(ref.rfind("#/components/", 0), 0U) << ref;
        const auto rest = ref.substr(std::string("#/components/").size());
        const auto slash = rest.find('/');
        ASSERT_NE(slash, std::string::npos) << ref;
        const auto section = rest.substr(0, slash);
        ASSERT_TRUE(components.contains(section)) << ref;
        EXPECT_TRUE(components.at(section).as_object().contains(rest.substr(slash + 1))) << "dangling " << ref;
    }
}

}  // namespace
}  // namespace emporium::test
