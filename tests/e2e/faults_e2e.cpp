// End-to-end fault tests: the real binaries against PostgreSQL and Redis servers that are stopped,
// restarted or whose clients are SIGKILLed in the middle of the work. Each test owns the server it
// breaks (a throwaway PostgreSQL cluster or redis-server; the shared test servers are never
// touched) and asserts the documented degradation (docs/operations.md, "Redis down" and
// "PostgreSQL failover") plus the invariants: no committed order lost, no partial order, stock +
// units sold = initial stock, `emporium inventory audit` clean, side effects done once.
#include "db/pg.hpp"
#include "e2e/e2e_fixture.hpp"
#include "integration/redis_support.hpp"
#include "support/pg_fixture.hpp"
#include "support/test_env.hpp"
#include "support/throwaway_pg.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using Res = HttpResponse;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The value of one series in a Prometheus text exposition; -1 when absent.
double metric_value(const std::string& text, const std::string& series) {
    const auto at = text.find(series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 1));
}

std::size_t files_with_extension(const fs::path& dir, const std::string& ext) {
    if (!fs::exists(dir)) return 0;
    return static_cast<std::size_t>(std::count_if(
        fs::directory_iterator(dir), fs::directory_iterator{}, [&](const fs::directory_entry& e) {
            return e.path().extension() == ext;
        }));
}

// Each test brings the PostgreSQL and Redis it breaks, so this fixture uses the e2e helpers rather
// than E2EFixture's shared database and Redis.
class FaultsE2E : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("emporium-faults-e2e-" + unique_suffix());
        fs::create_directories(dir_ / "spool");
        admin_ = tokens_.admin();
    }
    void TearDown() override {
        // Clients of the servers first, then the servers.
        workers_.clear();
        servers_.clear();
        gateway_.reset();
        redis_.reset();
        database_.reset();
        pg_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string redis_url() const { return "redis://127.0.0.1:" + std::to_string(redis_->port()); }

    // The environment of every `emporium` process of a test: `database_url_`, the private Redis.
    Env env(const Env& extra = {}) const {
        Env settings{{"RATE_LIMIT_ENABLED", "false"},
                     {"MAIL_SPOOL_DIR", (dir_ / "spool").string()},
                     {"SMTP_URL", ""},
                     {"OUTBOX_POLL_MS", "200"},
                     {"JOB_RETRY_BASE_MS", "100"},
                     {"JOB_RETRY_CAP_MS", "500"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        return emporium_env(database_url_, redis_url(), "", settings);
    }
    ServerProcess& start_server(const Env& extra = {}) {
        servers_.push_back(std::make_unique<ServerProcess>(env(extra)));
        return *servers_.back();
    }
    Process& start_worker(const Env& extra = {}, const std::vector<std::string>& args = {}) {
        workers_.push_back(start_emporium("worker", env(extra), args));
        return *workers_.back();
    }

    db::QueryResult query(const std::string& text, db::Params params = {}) const {
        return sql_query(database_url_, text, std::move(params));
    }
    std::int64_t sql(const std::string& text, db::Params params = {}) const {
        return sql_int(database_url_, text, std::move(params));
    }
    std::int64_t product_stock(std::int64_t product_id) const { return test::product_stock(database_url_, product_id); }
    std::pair<std::int64_t, std::string> customer(const std::string& name) {
        const auto id = insert_user(database_url_, name + "@example.com", name);
        return {id, tokens_.bearer(id, auth::Role::kCustomer)};
    }
    std::int64_t create_product(unsigned short port, const std::string& name, std::int64_t stock) {
        return test::create_product(
            port,
            admin_,
            {{"sku", "sku-" + unique_suffix()}, {"name", name}, {"price_cents", 1'250}, {"stock", stock}});
    }
    Res place(unsigned short port,
              const std::string& token,
              std::int64_t product,
              const std::string& key) const {
        return authorized_call(port,
                               bhttp::verb::post,
                               "/api/v1/orders",
                               token,
                               order_body(product, 1),
                               {{"Idempotency-Key", key}});
    }
    Res pay(unsigned short port, const std::string& token, std::int64_t order, const std::string& key) const {
        return authorized_call(port,
                               bhttp::verb::post,
                               "/api/v1/orders/" + std::to_string(order) + "/pay",
                               token,
                               R"({"payment_method":"tok_ok"})",
                               {{"Idempotency-Key", key}});
    }
    std::string order_status(std::int64_t order) const {
        auto r = query("SELECT status FROM orders WHERE id = $1", db::params(order));
        return r.rows() == 0 ? "" : r.get<std::string>(0, 0);
    }
    int audit() const {
        return run_emporium(
            {"inventory", "audit"},
            {{"DATABASE_URL", database_url_}, {"REDIS_URL", redis_url()}, {"LOG_LEVEL", "warn"}});
    }
    // stock + units sold (all orders, whatever their state, minus what was given back) = initial,
    // and no order is partial: each has its items, their `order_reserved` ledger rows and its
    // `order.created` outbox event; no reservation without an order.
    void expect_consistent(std::int64_t product, std::int64_t initial) const {
        const auto stock = product_stock(product);
        const auto held =
            sql("SELECT coalesce(sum(i.quantity), 0)::bigint FROM order_items i JOIN orders o ON o.id = "
                "i.order_id "
                "WHERE i.product_id = $1 AND o.status IN ('pending_payment', 'paid', 'fulfilled')",
                db::params(product));
        EXPECT_GE(stock, 0);
        EXPECT_EQ(stock + held, initial) << "stock " << stock << ", held by live orders " << held;
        EXPECT_EQ(sql("SELECT count(*) FROM orders o WHERE NOT EXISTS "
                      "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)"),
                  0)
            << "orders without items";
        EXPECT_EQ(
            sql("SELECT count(*) FROM order_items i WHERE NOT EXISTS (SELECT 1 FROM inventory_movements m "
                "WHERE m.order_id = i.order_id AND m.product_id = i.product_id "
                "AND m.reason = 'order_reserved' AND m.delta = -i.quantity)"),
            0)
            << "order items without their ledger row";
        EXPECT_EQ(
            sql("SELECT count(*) FROM inventory_movements m WHERE m.reason = 'order_reserved' AND NOT EXISTS "
                "(SELECT 1 FROM order_items i WHERE i.order_id = m.order_id AND i.product_id = "
                "m.product_id)"),
            0)
            << "reservations without an order item";
        EXPECT_EQ(
            sql("SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM outbox e WHERE e.aggregate_type = "
                "'order' AND e.aggregate_id = o.id::text AND e.event_type = 'order.created') <> 1"),
            0)
            << "orders without exactly one order.created event";
        EXPECT_EQ(audit(), 0) << "emporium inventory audit";
    }

    fs::path dir_;
    std::unique_ptr<ThrowawayPostgres> pg_;
    std::unique_ptr<redis::test::ThrowawayRedis> redis_;
    std::unique_ptr<TestDatabase> database_;
    std::unique_ptr<Process> gateway_;
    std::string database_url_;
    std::vector<std::unique_ptr<ServerProcess>> servers_;
    std::vector<std::unique_ptr<Process>> workers_;
    Tokens tokens_;
    std::string admin_;
};

// ---- PostgreSQL restarted during load ------------------------------------------------------------

struct Sample {
    Clock::time_point start;
    Clock::time_point end;
    bool is_post = false;
    unsigned status = 0;  // 0: the connection failed
    std::int64_t order_id = 0;
    bool problem_json = false;
    bool retry_after = false;
};

struct Samples {
    std::mutex mutex;
    std::vector<Sample> items;
    void add(Sample s) {
        std::lock_guard lock(mutex);
        items.push_back(s);
    }
};

// One client: GET the product, POST an order (a new Idempotency-Key each time), until told to stop.
void load_client(unsigned short port,
                 std::string token,
                 std::int64_t product,
                 int client,
                 const std::atomic<bool>* stop,
                 Samples* out) {
    for (int i = 0; !stop->load(); ++i) {
        for (const bool is_post : {false, true}) {
            Sample s;
            s.is_post = is_post;
            s.start = Clock::now();
            try {
                auto r = is_post ? http_call(port,
                                             bhttp::verb::post,
                                             "/api/v1/orders",
                                             order_body(product, 1),
                                             {{"Authorization", token},
                                              {"Idempotency-Key",
                                               "load-" + std::to_string(client) + "-" + std::to_string(i)}})
                                 : http_call(
                                       port, bhttp::verb::get, "/api/v1/products/" + std::to_string(product));
                s.status = r.result_int();
                s.problem_json = is_problem(r);
                s.retry_after = r.find(bhttp::field::retry_after) != r.end();
                if (s.status == 201) s.order_id = json::parse(r.body()).at("id").as_int64();
            } catch (const boost::system::system_error&) {
                s.status = 0;
            }
            s.end = Clock::now();
            out->add(s);
        }
        std::this_thread::sleep_for(20ms);
    }
}

TEST_F(FaultsE2E, PostgresRestartDuringLoadFailsFastWith503AndRecoversWithoutARestart) {
    pg_ = std::make_unique<ThrowawayPostgres>();
    database_url_ = pg_->url();
    migrate_database(database_url_);
    redis_ = std::make_unique<redis::test::ThrowawayRedis>();
    redis_->start();
    constexpr std::int64_t kInitial = 100'000;
    auto& server = start_server({{"INVENTORY_STRATEGY", "pessimistic"},
                                 {"DB_POOL_SIZE", "4"},
                                 {"DB_ACQUIRE_TIMEOUT_MS", "1000"},
                                 {"DB_CONNECT_TIMEOUT_MS", "1000"},
                                 {"DB_QUERY_TIMEOUT_MS", "1000"}});
    start_worker({{"DB_CONNECT_TIMEOUT_MS", "1000"}});
    const auto product = create_product(server.port(), "Steady seller", kInitial);
    auto [payer_id, payer] = customer("payer");

    constexpr int kClients = 4;
    std::vector<std::string> tokens;
    for (int c = 0; c < kClients; ++c) tokens.push_back(customer("load" + std::to_string(c)).second);
    std::atomic<bool> stop{false};
    Samples samples;
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
        clients.emplace_back(
            load_client, server.port(), tokens[static_cast<std::size_t>(c)], product, c, &stop, &samples);
    }
    std::this_thread::sleep_for(1s);
    pg_->stop(true);  // pg_ctl stop -m fast: clients disconnected, open transactions rolled back
    const auto down = Clock::now();
    std::this_thread::sleep_for(2s);
    const auto restarting = Clock::now();
    pg_->start();
    const auto up = Clock::now();
    // Recovery: an order placed after the restart succeeds, without restarting `emporium serve`.
    const bool recovered = eventually(
        [&] {
            std::lock_guard lock(samples.mutex);
            return std::any_of(samples.items.begin(), samples.items.end(), [&](const Sample& s) {
                return s.is_post && s.status == 201 && s.start > up;
            });
        },
        10s);
    const auto recovered_at = Clock::now();
    std::this_thread::sleep_for(1500ms);
    stop = true;
    for (auto& t : clients) t.join();
    ASSERT_TRUE(recovered) << "no order succeeded within 10 s of PostgreSQL coming back";

    std::set<std::int64_t> created;
    int during_outage = 0;
    int failed_during_outage = 0;
    auto slowest = Clock::duration::zero();
    for (const auto& s : samples.items) {
        EXPECT_NE(s.status, 0U) << "the server must answer, not drop connections";
        EXPECT_TRUE(s.status == 200 || s.status == 201 || s.status == 503) << s.status;
        slowest = std::max(slowest, s.end - s.start);
        if (s.status == 503) {
            EXPECT_TRUE(s.problem_json) << "503 must be application/problem+json";
            EXPECT_TRUE(s.retry_after) << "503 must carry Retry-After";
        }
        if (s.status == 201) created.insert(s.order_id);
        // Requests entirely inside the outage: writes cannot succeed (reads may come from the cache).
        if (s.start > down && s.end < restarting) {
            ++during_outage;
            if (s.status == 503) ++failed_during_outage;
            if (s.is_post) {
                EXPECT_EQ(s.status, 503U) << "an order was accepted while PostgreSQL was down";
            }
        }
        // Once recovered (with a second of slack for connections that were mid-handshake), all succeed.
        if (s.start > recovered_at + 1s) {
            EXPECT_LT(s.status, 300U) << "failure well after the recovery";
        }
    }
    EXPECT_GT(during_outage, 10) << "the clients kept sending during the outage";
    EXPECT_GT(failed_during_outage, 0);
    EXPECT_LT(slowest, 2s) << "slowest answer "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count() << " ms";
    ASSERT_FALSE(created.empty());

    // Every order the clients were told about is there, with its item; nothing else is half-done.
    std::string ids;
    for (auto id : created) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    EXPECT_EQ(
        sql("SELECT count(*) FROM orders o WHERE o.id = ANY(('{' || $1 || '}')::bigint[]) AND EXISTS "
            "(SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.product_id = $2 AND i.quantity = 1)",
            db::params(ids, product)),
        static_cast<std::int64_t>(created.size()));
    EXPECT_GE(sql("SELECT count(*) FROM orders"), static_cast<std::int64_t>(created.size()));
    EXPECT_EQ(http_call(server.port(), bhttp::verb::get, "/readyz").result_int(), 200U);

    // The worker lived through the restart too: an order paid now is captured and mailed once.
    auto placed = place(server.port(), payer, product, "after-restart");
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json::parse(placed.body()).at("id").as_int64();
    ASSERT_EQ(pay(server.port(), payer, order, "pay-after-restart").result_int(), 202U);
    EXPECT_TRUE(eventually([&] { return order_status(order) == "paid"; }, 20s))
        << "the worker did not recover";
    EXPECT_TRUE(eventually([&] { return files_with_extension(dir_ / "spool", ".eml") == 1; }, 20s));
    expect_consistent(product, kInitial);
}

// ---- Redis restarted -----------------------------------------------------------------------------

TEST_F(FaultsE2E, RedisRestartDegradesAsDocumentedNeverOversellsAndJobsResume) {
    database_ = std::make_unique<TestDatabase>();
    database_url_ = database_->url;
    // Persistence as docs/operations.md asks for production (append-only file).
    fs::create_directories(dir_ / "redis");
    redis_ = std::make_unique<redis::test::ThrowawayRedis>(std::vector<std::string>{
        "--appendonly", "yes", "--appendfsync", "everysec", "--dir", (dir_ / "redis").string()});
    redis_->start();
    const std::map<std::string, std::string> common{{"RATE_LIMIT_ENABLED", "true"},
                                                    {"REDIS_TIMEOUT_MS", "500"},
                                                    {"REDIS_CONNECT_TIMEOUT_MS", "300"},
                                                    {"LOCK_RETRIES", "20"},
                                                    {"LOCK_TTL_MS", "2000"}};
    auto dual_env = common;
    dual_env["INVENTORY_STRATEGY"] = "dual";
    auto mirror_env = common;
    mirror_env["INVENTORY_STRATEGY"] = "redis";
    const auto dual = start_server(dual_env).port();
    const auto mirror = start_server(mirror_env).port();
    start_worker();
    constexpr std::int64_t kStock = 4;
    const auto locked_item = create_product(dual, "Locked item", kStock);
    const auto mirrored_item = create_product(mirror, "Mirrored item", kStock);
    auto [ann_id, ann] = customer("ann");
    auto [bob_id, bob] = customer("bob");

    // Before the outage: one order on each server, the first paid, its e-mail sent.
    auto first = place(dual, ann, locked_item, "before-1");
    ASSERT_EQ(first.result_int(), 201U) << first.body();
    const auto first_id = json::parse(first.body()).at("id").as_int64();
    ASSERT_EQ(place(mirror, ann, mirrored_item, "before-2").result_int(), 201U);
    auto unpaid = place(dual, bob, locked_item, "before-3");
    ASSERT_EQ(unpaid.result_int(), 201U);
    const auto unpaid_id = json::parse(unpaid.body()).at("id").as_int64();
    ASSERT_EQ(pay(dual, ann, first_id, "pay-1").result_int(), 202U);
    ASSERT_TRUE(eventually([&] { return files_with_extension(dir_ / "spool", ".eml") == 1; }))
        << "first e-mail";
    EXPECT_EQ(order_status(first_id), "paid");

    redis_->stop();
    const auto product_path = "/api/v1/products/" + std::to_string(locked_item);
    // Catalog reads are served from PostgreSQL; the read rate limit fails open.
    for (int i = 0; i < 3; ++i) {
        auto r = http_call(dual, bhttp::verb::get, product_path);
        ASSERT_EQ(r.result_int(), 200U) << r.body();
        EXPECT_EQ(json::parse(r.body()).at("stock").as_int64(), kStock - 2);
    }
    EXPECT_EQ(http_call(dual, bhttp::verb::get, "/api/v1/products?limit=5").result_int(), 200U);
    // The auth limiter fails closed.
    auto login = http_call(dual,
                           bhttp::verb::post,
                           "/api/v1/auth/login",
                           R"({"email":"nobody@example.com","password":"wrong password"})");
    EXPECT_EQ(login.result_int(), 503U) << login.body();
    EXPECT_EQ(problem_code(login), "unavailable");
    auto ready = http_call(dual, bhttp::verb::get, "/readyz");
    EXPECT_EQ(ready.result_int(), 503U);
    EXPECT_NE(ready.body().find("redis"), std::string::npos) << ready.body();
    // Checkout: `dual` cannot take its locks → 409 conflict; `redis` cannot reserve → 503. Neither
    // sells anything, and both answer quickly. New keys per attempt: a 409 is stored under its key.
    for (int i = 0; i < 3; ++i) {
        const auto start = Clock::now();
        auto d = place(dual, bob, locked_item, "outage-dual-" + std::to_string(i));
        EXPECT_LT(Clock::now() - start, 5s);
        EXPECT_EQ(d.result_int(), 409U) << d.body();
        EXPECT_EQ(problem_code(d), "conflict") << d.body();
        auto m = place(mirror, bob, mirrored_item, "outage-redis-" + std::to_string(i));
        EXPECT_EQ(m.result_int(), 503U) << m.body();
        EXPECT_TRUE(is_problem(m));
    }
    // Paying still records the payment; its capture waits for Redis.
    auto paid_in_outage = pay(dual, bob, unpaid_id, "pay-2");
    EXPECT_EQ(paid_in_outage.result_int(), 202U) << paid_in_outage.body();
    const auto metrics = http_call(dual, bhttp::verb::get, "/metrics").body();
    EXPECT_GE(
        metric_value(metrics, R"(emporium_rate_limit_decisions_total{group="read",decision="fail_open"})"),
        3);
    EXPECT_GE(
        metric_value(metrics, R"(emporium_rate_limit_decisions_total{group="write",decision="fail_open"})"),
        3);
    EXPECT_EQ(
        metric_value(metrics, R"(emporium_rate_limit_decisions_total{group="auth",decision="fail_closed"})"),
        1);
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(order_status(unpaid_id), "pending_payment");
    EXPECT_EQ(product_stock(locked_item), kStock - 2);
    EXPECT_EQ(product_stock(mirrored_item), kStock - 1);

    redis_->start();  // same port, same append-only file
    // Everything comes back without restarting any process.
    for (const auto port : {dual, mirror}) {
        EXPECT_TRUE(eventually(
            [&] { return http_call(port, bhttp::verb::get, "/readyz").result_int() == 200; }, 10s));
    }
    EXPECT_TRUE(eventually([&] { return order_status(unpaid_id) == "paid"; }, 20s)) << "the capture resumed";
    EXPECT_TRUE(eventually([&] { return files_with_extension(dir_ / "spool", ".eml") == 2; }, 20s))
        << "the order paid during the outage got its e-mail";
    // The login limiter is back too: a wrong password is a 401 again. Eventually: each I/O thread
    // has its own Redis connection, and the one a login lands on may still be in its reconnect
    // back-off when /readyz (answered on another thread) already says ready.
    HttpResponse relogin;
    EXPECT_TRUE(eventually(
        [&] {
            relogin = http_call(dual,
                                bhttp::verb::post,
                                "/api/v1/auth/login",
                                R"({"email":"nobody@example.com","password":"wrong password"})");
            return relogin.result_int() == 401U;
        },
        10s))
        << relogin.result_int() << " " << relogin.body();

    // Sell out both products through both servers: exactly the stock left, never more.
    std::vector<std::string> buyer_tokens;
    for (int b = 0; b < 8; ++b) buyer_tokens.push_back(customer("buyer" + std::to_string(b)).second);
    std::map<std::string, int> outcomes;
    std::mutex mutex;
    std::vector<std::thread> buyers;
    for (int b = 0; b < 8; ++b) {
        buyers.emplace_back([&, b] {
            const auto port = b % 2 == 0 ? dual : mirror;
            const auto product = b % 2 == 0 ? locked_item : mirrored_item;
            int status = 0;
            for (int attempt = 0; attempt < 20; ++attempt) {  // busy locks answer 409 conflict: retry
                auto r = place(port,
                               buyer_tokens[static_cast<std::size_t>(b)],
                               product,
                               "after-" + std::to_string(b) + "-" + std::to_string(attempt));
                status = static_cast<int>(r.result_int());
                if (status != 409 || problem_code(r) != "conflict") break;
                std::this_thread::sleep_for(50ms);
            }
            std::lock_guard lock(mutex);
            ++outcomes[(b % 2 == 0 ? "dual " : "redis ") + std::to_string(status)];
        });
    }
    for (auto& t : buyers) t.join();
    EXPECT_EQ(outcomes["dual 201"], kStock - 2) << "dual sells what is left";
    EXPECT_EQ(outcomes["dual 409"], 4 - (kStock - 2));
    EXPECT_EQ(outcomes["redis 201"], kStock - 1) << "redis sells what is left";
    EXPECT_EQ(outcomes["redis 409"], 4 - (kStock - 1));
    EXPECT_EQ(product_stock(locked_item), 0);
    EXPECT_EQ(product_stock(mirrored_item), 0);
    expect_consistent(locked_item, kStock);
    expect_consistent(mirrored_item, kStock);
    // Each paid order's e-mail exactly once.
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(files_with_extension(dir_ / "spool", ".eml"), 2U);
    EXPECT_EQ(sql("SELECT count(*) FROM emails WHERE status = 'sent'"), 2);
}

TEST_F(FaultsE2E, RedisBackWithoutItsDataRefusesSafelyAndTheRunbookRecoversTheLostJobs) {
    database_ = std::make_unique<TestDatabase>();
    database_url_ = database_->url;
    redis_ = std::make_unique<redis::test::ThrowawayRedis>();  // no persistence: restarts empty
    redis_->start();
    const auto dual = start_server({{"INVENTORY_STRATEGY", "dual"}, {"LOCK_RETRIES", "20"}}).port();
    const auto mirror = start_server({{"INVENTORY_STRATEGY", "redis"}}).port();
    // The relay only: events reach their streams, and the payment job waits there.
    start_worker({}, {"--queues", "default"});
    constexpr std::int64_t kStock = 6;
    const auto locked_item = create_product(dual, "Locked item", kStock);
    const auto mirrored_item = create_product(mirror, "Mirrored item", kStock);
    std::vector<std::string> tokens;
    for (int b = 0; b < 8; ++b) tokens.push_back(customer("buyer" + std::to_string(b)).second);
    const auto before_loss = query("SELECT now()::text").get<std::string>(0, 0);
    auto placed = place(dual, tokens[0], locked_item, "before-1");
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json::parse(placed.body()).at("id").as_int64();
    ASSERT_EQ(place(dual, tokens[1], locked_item, "before-2").result_int(), 201U);
    ASSERT_EQ(place(mirror, tokens[2], mirrored_item, "before-3").result_int(), 201U);
    ASSERT_EQ(pay(dual, tokens[0], order, "pay-1").result_int(), 202U);
    ASSERT_TRUE(eventually([&] {
        return sql("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0;
    })) << "the relay did not publish";
    const auto fence = sql("SELECT fence_token FROM product_variants WHERE product_id = $1 AND is_default", db::params(locked_item));
    ASSERT_GE(fence, 2);

    redis_->stop();
    redis_->start();  // empty: the queued payment job and the fencing counters are gone
    start_worker();   // a worker for every queue now
    for (const auto port : {dual, mirror}) {
        ASSERT_TRUE(eventually(
            [&] { return http_call(port, bhttp::verb::get, "/readyz").result_int() == 200; }, 10s));
    }
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(order_status(order), "pending_payment") << "the lost job cannot have run";

    // `dual`: the counter restarts below the database's token, so the first checkouts of a product
    // sold before answer 409 conflict (never a sale under a stale token); each attempt raises the
    // counter, and the product catches up by itself.
    int refused = 0;
    unsigned status = 0;
    for (int attempt = 0; attempt <= fence + 1; ++attempt) {
        auto r = place(dual, tokens[3], locked_item, "after-dual-" + std::to_string(attempt));
        status = r.result_int();
        if (status != 409) break;
        EXPECT_EQ(problem_code(r), "conflict") << r.body();
        ++refused;
    }
    EXPECT_EQ(status, 201U);
    EXPECT_GE(refused, 1) << "a stale fencing counter must refuse, not sell";
    // `redis`: the mirror is reloaded from PostgreSQL on first use; sell the rest out exactly.
    std::atomic<int> sold{0};
    std::atomic<int> out_of_stock{0};
    std::vector<std::thread> buyers;
    for (int b = 0; b < 8; ++b) {
        buyers.emplace_back([&, b] {
            auto r = place(mirror,
                           tokens[static_cast<std::size_t>(b)],
                           mirrored_item,
                           "after-redis-" + std::to_string(b));
            if (r.result_int() == 201) ++sold;
            if (r.result_int() == 409 && problem_code(r) == "out_of_stock") ++out_of_stock;
        });
    }
    for (auto& t : buyers) t.join();
    EXPECT_EQ(sold.load(), kStock - 1);
    EXPECT_EQ(out_of_stock.load(), 8 - (kStock - 1));

    // The runbook: re-publish what was published since before the loss; handlers are idempotent.
    sql("UPDATE outbox SET published_at = NULL WHERE published_at >= $1::timestamptz",
        db::params(before_loss));
    EXPECT_TRUE(eventually([&] { return order_status(order) == "paid"; }, 20s))
        << "the re-published capture ran";
    EXPECT_TRUE(eventually([&] { return files_with_extension(dir_ / "spool", ".eml") == 1; }, 20s));
    std::this_thread::sleep_for(1s);
    EXPECT_EQ(files_with_extension(dir_ / "spool", ".eml"), 1U);
    EXPECT_EQ(sql("SELECT count(*) FROM payments WHERE order_id = $1", db::params(order)), 1);
    expect_consistent(locked_item, kStock);
    expect_consistent(mirrored_item, kStock);
}

// ---- a server SIGKILLed mid-checkout ---------------------------------------------------------------

TEST_F(FaultsE2E, ServerKilledMidCheckoutLeavesNoPartialOrderAndRetriesAgree) {
    database_ = std::make_unique<TestDatabase>();
    database_url_ = database_->url;
    redis_ = std::make_unique<redis::test::ThrowawayRedis>();
    redis_->start();
    const std::map<std::string, std::string> settings{{"INVENTORY_STRATEGY", "dual"},
                                                      {"LOCK_RETRIES", "2000"},
                                                      {"LOCK_TTL_MS", "1000"},
                                                      {"DB_POOL_SIZE", "8"}};
    auto* first = &start_server(settings);
    constexpr std::int64_t kStock = 60;
    constexpr int kBuyers = 12;
    constexpr int kOrdersEach = 10;  // 120 requests for 60 units
    const auto product = create_product(first->port(), "Contested item", kStock);
    std::vector<std::string> tokens;
    for (int b = 0; b < kBuyers; ++b) tokens.push_back(customer("buyer" + std::to_string(b)).second);

    // First answer per key: status and body (0 when the server died before answering).
    struct Answer {
        unsigned status = 0;
        std::string body;
    };
    std::mutex mutex;
    std::map<std::string, Answer> first_answers;
    std::atomic<int> answered{0};
    std::vector<std::thread> threads;
    for (int b = 0; b < kBuyers; ++b) {
        threads.emplace_back([&, b] {
            for (int i = 0; i < kOrdersEach; ++i) {
                const auto key = "k-" + std::to_string(b) + "-" + std::to_string(i);
                Answer a;
                try {
                    auto r = place(first->port(), tokens[static_cast<std::size_t>(b)], product, key);
                    a = {r.result_int(), r.body()};
                    ++answered;
                } catch (const boost::system::system_error&) {
                    a.status = 0;
                }
                std::lock_guard lock(mutex);
                first_answers[key] = a;
            }
        });
    }
    const auto give_up = Clock::now() + 30s;
    while (answered.load() < 20 && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    first->process().signal(SIGKILL);
    EXPECT_EQ(first->process().wait(5s), 128 + SIGKILL);
    for (auto& t : threads) t.join();

    int unanswered = 0;
    for (const auto& [key, a] : first_answers) {
        if (a.status == 0) {
            ++unanswered;
        } else {
            EXPECT_TRUE(a.status == 201 || a.status == 409) << a.status << " " << a.body;
        }
    }
    EXPECT_GT(unanswered, 0) << "the kill happened after the sale";
    // Before any retry: the database holds only whole orders.
    expect_consistent(product, kStock);

    // Every client retries every request, same key and body, against a new server.
    auto& second = start_server(settings);
    std::set<std::int64_t> final_orders;
    for (int b = 0; b < kBuyers; ++b) {
        for (int i = 0; i < kOrdersEach; ++i) {
            const auto key = "k-" + std::to_string(b) + "-" + std::to_string(i);
            const auto& before = first_answers[key];
            auto r = place(second.port(), tokens[static_cast<std::size_t>(b)], product, key);
            if (before.status != 0) {
                // An answered key replays its answer byte for byte.
                EXPECT_EQ(r.result_int(), before.status) << key << " " << r.body();
                EXPECT_EQ(r.body(), before.body) << key;
                EXPECT_EQ(r["Idempotent-Replayed"], "true") << key;
            } else {
                // Unanswered: committed (replayed), run now, or reported in progress (the dead
                // server's claim on the key, refused until it is 60 s old) — never a 5xx.
                EXPECT_TRUE(r.result_int() == 201 || r.result_int() == 409) << key << " " << r.body();
            }
            if (r.result_int() == 201) final_orders.insert(json::parse(r.body()).at("id").as_int64());
        }
    }
    // One order per key at most, each answered 201 to its key, and each order belongs to a key.
    EXPECT_EQ(sql("SELECT count(*) FROM orders WHERE idempotency_key IS NULL"), 0);
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), static_cast<std::int64_t>(final_orders.size()))
        << "an order exists whose key did not answer 201 (in progress for a committed order?)";
    EXPECT_LE(static_cast<std::int64_t>(final_orders.size()), kStock);
    expect_consistent(product, kStock);
}

// ---- a worker SIGKILLed mid-job ----------------------------------------------------------------------

TEST_F(FaultsE2E, WorkerKilledDuringAPaymentCaptureChargesOnceAndMailsOnce) {
    database_ = std::make_unique<TestDatabase>();
    database_url_ = database_->url;
    redis_ = std::make_unique<redis::test::ThrowawayRedis>();
    redis_->start();
    // The gateway holds the first capture request 4 s (then processes it: the charge happens).
    gateway_ =
        std::make_unique<Process>(std::vector<std::string>{"/usr/bin/python3",
                                                           source_dir() + "/tests/support/fake_gateway.py",
                                                           "--port",
                                                           "0",
                                                           "--secret-key",
                                                           "sk_test_faults",
                                                           "--slow-seconds",
                                                           "4"},
                                  std::map<std::string, std::string>{});
    const auto line = gateway_->wait_for_line("fake gateway listening on", 15s);
    const auto gateway_port = static_cast<unsigned short>(std::stoi(line.substr(line.rfind(' ') + 1)));
    auto control =
        http_call(gateway_port, bhttp::verb::post, "/_control/faults", R"({"faults":["timeout"]})");
    ASSERT_EQ(control.result_int(), 200U) << control.body();
    const std::map<std::string, std::string> payment{
        {"PAYMENT_PROVIDER", "stripe"},
        {"STRIPE_API_KEY", "sk_test_faults"},
        {"STRIPE_BASE_URL", "http://127.0.0.1:" + std::to_string(gateway_port)},
        {"PAYMENT_TIMEOUT_MS", "10000"},
        {"JOB_VISIBILITY_TIMEOUT_MS", "1500"},
        {"INVENTORY_STRATEGY", "pessimistic"}};
    const auto port = start_server(payment).port();
    auto& a = start_worker(payment);
    const auto product = create_product(port, "Espresso machine", 3);
    auto [ann_id, ann] = customer("ann");
    auto placed = place(port, ann, product, "order-1");
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json::parse(placed.body()).at("id").as_int64();
    ASSERT_EQ(pay(port, ann, order, "pay-1").result_int(), 202U);

    auto gateway_requests = [&] {
        return json::parse(http_call(gateway_port, bhttp::verb::get, "/_control/requests").body()).as_array();
    };
    // Worker A is inside the capture call when it dies.
    ASSERT_TRUE(eventually([&] {
        auto requests = gateway_requests();
        return requests.size() == 1 && !requests[0].at("done").as_bool();
    })) << "worker A never called the gateway";
    a.signal(SIGKILL);
    EXPECT_EQ(a.wait(5s), 128 + SIGKILL);
    EXPECT_EQ(order_status(order), "pending_payment");

    start_worker(payment);  // worker B reclaims the job after the visibility timeout
    ASSERT_TRUE(eventually([&] { return order_status(order) == "paid"; }, 30s))
        << "worker B did not finish the capture";
    ASSERT_TRUE(eventually([&] { return files_with_extension(dir_ / "spool", ".eml") == 1; }, 20s));
    std::this_thread::sleep_for(2s);  // a duplicate would have happened by now

    auto charges = json::parse(http_call(gateway_port, bhttp::verb::get, "/_control/charges").body());
    EXPECT_EQ(charges.at("count").as_int64(), 1) << json::serialize(charges);
    std::set<std::string> keys;
    for (const auto& r : gateway_requests()) keys.insert(std::string(r.at("idempotency_key").as_string()));
    EXPECT_EQ(keys.size(), 1U) << "every attempt of the capture used the same provider Idempotency-Key";
    EXPECT_GE(gateway_requests().size(), 2U) << "worker B called the gateway again";
    EXPECT_EQ(
        sql("SELECT count(*) FROM payments WHERE order_id = $1 AND status = 'captured'", db::params(order)),
        1);
    EXPECT_EQ(sql("SELECT count(*) FROM payments WHERE order_id = $1", db::params(order)), 1);
    EXPECT_EQ(files_with_extension(dir_ / "spool", ".eml"), 1U);
    EXPECT_EQ(sql("SELECT count(*) FROM emails WHERE order_id = $1", db::params(order)), 1);
    expect_consistent(product, 3);
}

}  // namespace
}  // namespace emporium::test
