// Redis Cluster failover under load, on the local cluster (scripts/services.sh start cluster; run
// through tests/support/on_cluster.sh, so every `emporium` process here talks to the cluster):
//
//  - A flash sale through three servers with INVENTORY_STRATEGY=redis (the stock mirror lives in
//    the cluster) loses the master of the product's slot half-way (SIGKILL); its replica is
//    promoted. Nothing is oversold (stock + units sold = the stock, the ledger audit balances), no
//    answer is a 500, and afterwards, without restarting anything, the same servers sell again,
//    limit logins on every master and serve the product cache.
//  - Orders paid through the API while the master of the payment queue's slot dies: every order
//    ends paid, exactly once (no job lost, none run twice to a second capture).
//
// Each test brings the killed node back (it rejoins as a replica), so the cluster is whole again.
// A checkout whose variant's slot is on the dead master answers 503 until the replica is promoted
// (a few seconds); the e-mail and payment queues of a promoted master without a replica wait in
// PostgreSQL until the node is back (JOBS_ENQUEUE_REPLICA_ACKS=1).

#include "e2e/e2e_fixture.hpp"
#include "redis/cluster.hpp"
#include "redis/redis.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr int kStock = 50;
constexpr int kCustomers = 20;
constexpr int kOrdersPerCustomer = 25;  // 500 requests

// The masters' slot ranges as the cluster tells them now.
std::vector<redis::detail::SlotRange> masters() {
    asio::io_context io;
    redis::ClientOptions options;
    options.url = required_env("EMPORIUM_CLUSTER_REDIS_URL");
    redis::Client client(io.get_executor(), options);
    auto reply = run_coro(io, client.command(redis::cmd("CLUSTER", "SHARDS")));
    client.close();
    return redis::detail::parse_shards(reply);
}

// The port of the master that owns hash tag `tag` (the part of a key between braces).
unsigned short master_port_of(const std::string& tag) {
    const auto slot = redis::key_slot("{" + tag + "}");
    for (const auto& range : masters()) {
        if (range.first <= slot && slot <= range.last) {
            return static_cast<unsigned short>(std::stoi(range.address.substr(range.address.rfind(':') + 1)));
        }
    }
    return 0;
}

int services(const std::string& args) {
    const auto command = "bash " + required_env("EMPORIUM_CLUSTER_SERVICES") + " " + args + " >/dev/null";
    return std::system(command.c_str());  // NOLINT(cert-env33-c): the project's own script
}

class ClusterFailoverE2E : public ::testing::Test, protected E2EFixture {
protected:
    ClusterFailoverE2E() : E2EFixture("failover") {}

    void TearDown() override {
        if (killed_ != 0) {
            EXPECT_EQ(services("start-node cluster " + std::to_string(killed_)), 0) << "node " << killed_;
        }
        EXPECT_EQ(services("start cluster"), 0) << "the cluster is not whole again";
    }

    // SIGKILLs the master of `tag`'s slot and returns at once (the failover takes a few seconds).
    void kill_master_of(const std::string& tag) {
        killed_ = master_port_of(tag);
        ASSERT_NE(killed_, 0) << "no master for " << tag;
        ASSERT_EQ(services("stop-node cluster " + std::to_string(killed_) + " kill"), 0);
    }
    // Until another node is the (online) master of `tag`'s slot.
    bool promoted(const std::string& tag) {
        return eventually(
            [&] {
                try {
                    auto port = master_port_of(tag);
                    return port != 0 && port != killed_;
                } catch (const std::exception&) {
                    return false;
                }
            },
            30s,
            200ms);
    }

    std::int64_t variant_of(std::int64_t product) {
        return sql("SELECT id FROM product_variants WHERE product_id = $1 ORDER BY id LIMIT 1",
                   db::params(product));
    }
    std::int64_t new_product(unsigned short port, std::int64_t stock) {
        return create_product(port,
                              admin_,
                              {{"sku", "fo-" + unique_suffix()},
                               {"name", "Failover item"},
                               {"price_cents", 1500},
                               {"stock", stock}});
    }

    unsigned short killed_ = 0;
};

// The value of one metric series in a /metrics body; -1 when absent.
double metric(const std::string& body, const std::string& series) {
    auto at = body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + series.size() + 2));
}

TEST_F(ClusterFailoverE2E, AFlashSaleLosesTheStockMasterAndNothingIsOversoldOrLost) {
    std::vector<std::unique_ptr<ServerProcess>> servers;
    for (int i = 0; i < 3; ++i) {
        servers.push_back(std::make_unique<ServerProcess>(env({{"RATE_LIMIT_AUTH", "3/60s burst 3"},
                                                               {"RATE_LIMIT_READ", "100000/s burst 100000"},
                                                               {"RATE_LIMIT_WRITE", "100000/s burst 100000"},
                                                               {"INVENTORY_STRATEGY", "redis"},
                                                               {"DB_POOL_SIZE", "8"}})));
    }
    std::vector<unsigned short> ports;
    for (auto& s : servers) ports.push_back(s->port());
    const auto product = new_product(ports[0], kStock);
    const auto tag = "v:" + std::to_string(variant_of(product));
    std::vector<std::string> tokens;
    for (int i = 0; i < kCustomers; ++i)
        tokens.push_back(customer("c" + std::to_string(i) + "@example.com").second);

    SaleTally tally;
    std::vector<std::thread> threads;
    for (int c = 0; c < kCustomers; ++c) {
        threads.emplace_back(shop_flash_sale,
                             ports,
                             tokens[static_cast<std::size_t>(c)],
                             c,
                             kOrdersPerCustomer,
                             product,
                             &tally);
    }
    eventually(
        [&] {
            std::lock_guard lock(tally.mutex);
            return tally.created + tally.conflict + tally.unavailable >= 20;
        },
        20s,
        1ms);
    kill_master_of(tag);
    for (auto& t : threads) t.join();
    ASSERT_TRUE(promoted(tag)) << "no replica took over the slot of " << tag;

    // No oversell, nothing lost: the database is the authority, the ledger balances.
    const auto sold = sql("SELECT coalesce(sum(quantity), 0)::bigint FROM order_items WHERE product_id = $1",
                          db::params(product));
    EXPECT_EQ(product_stock(product) + sold, kStock);
    EXPECT_LE(sold, kStock);
    EXPECT_EQ(sold, tally.created) << "every 201 is an order, every order was answered 201";
    EXPECT_EQ(tally.server_error, 0);
    EXPECT_TRUE(tally.unexpected.empty())
        << tally.unexpected.size() << " unexpected answers, first: " << tally.unexpected.front();
    EXPECT_EQ(tally.unreachable, 0);
    EXPECT_EQ(run_emporium({"inventory", "audit"}, env()), 0);
    std::cout << "flash sale across the failover: " << tally.created << " sold, " << tally.conflict
              << " sold out, " << tally.unavailable << " answered 503\n";

    // The same servers, not restarted, sell what is left (the mirror reloads from the database on
    // the promoted master) and then answer 409.
    const auto left = product_stock(product);
    const auto buyer = customer("late@example.com").second;
    for (std::int64_t i = 0; i < left + 3; ++i) {
        const auto port = ports[static_cast<std::size_t>(i) % ports.size()];
        HttpResponse r;
        ASSERT_TRUE(eventually(
            [&] {
                r = http_call(port,
                              bhttp::verb::post,
                              "/api/v1/orders",
                              order_body(product, 1),
                              {{"Authorization", buyer}, {"Idempotency-Key", "late-" + std::to_string(i)}});
                return r.result_int() != 503;
            },
            20s,
            100ms))
            << "server " << port << " still answers 503 after the failover";
        EXPECT_EQ(r.result_int(), i < left ? 201U : 409U) << r.body();
    }
    EXPECT_EQ(product_stock(product), 0);

    // Login limits hold on every master again: three guesses pass, the fourth is refused, for
    // e-mails whose buckets are spread over the masters.
    for (int e = 0; e < 12; ++e) {
        const auto body =
            R"({"email":"guess)" + std::to_string(e) + R"(@example.com","password":"wrong guess"})";
        std::vector<unsigned> statuses;
        for (int i = 0; i < 4; ++i) {
            statuses.push_back(
                http_call(ports[0], bhttp::verb::post, "/api/v1/auth/login", body).result_int());
        }
        EXPECT_EQ(statuses, (std::vector<unsigned>{401, 401, 401, 429})) << "e-mail " << e;
    }

    // The product cache in Redis serves hits again: one server fills it, another reads it (each
    // server's first read of a product misses its in-process layer and asks Redis).
    const auto path = "/api/v1/products/" + std::to_string(product);
    const std::string hits = R"(emporium_cache_requests_total{cache="product",result="hit"})";
    const auto before = metric(http_call(ports[2], bhttp::verb::get, "/metrics").body(), hits);
    ASSERT_EQ(http_call(ports[1], bhttp::verb::get, path).result_int(), 200U);
    ASSERT_EQ(http_call(ports[2], bhttp::verb::get, path).result_int(), 200U);
    EXPECT_GT(metric(http_call(ports[2], bhttp::verb::get, "/metrics").body(), hits), std::max(before, 0.0))
        << "the second server did not find the product in the Redis cache";
}

TEST_F(ClusterFailoverE2E, OrdersPaidWhileThePaymentQueuesMasterDiesAreAllPaidOnce) {
    ServerProcess server(env({{"RATE_LIMIT_ENABLED", "false"}}));
    auto worker = start_emporium("worker",
                                 env({{"JOB_RETRY_BASE_MS", "50"},
                                      {"JOB_RETRY_CAP_MS", "500"},
                                      {"JOB_VISIBILITY_TIMEOUT_MS", "2000"}}));
    const auto product = new_product(server.port(), 100);
    const auto buyer = customer("payer@example.com").second;
    constexpr int kOrders = 20;
    std::vector<std::int64_t> orders;
    for (int i = 0; i < kOrders; ++i) {
        auto r = http_call(server.port(),
                           bhttp::verb::post,
                           "/api/v1/orders",
                           order_body(product, 1),
                           {{"Authorization", buyer}, {"Idempotency-Key", "o-" + std::to_string(i)}});
        ASSERT_EQ(r.result_int(), 201U) << r.body();
        orders.push_back(json::parse(r.body()).at("id").as_int64());
    }
    for (int i = 0; i < kOrders; ++i) {
        if (i == kOrders / 4) kill_master_of("q:payment");
        const auto target = "/api/v1/orders/" + std::to_string(orders[static_cast<std::size_t>(i)]) + "/pay";
        HttpResponse r;
        // The same key until it is taken: a 503 while the slot has no master is retried.
        ASSERT_TRUE(eventually(
            [&] {
                r = http_call(server.port(),
                              bhttp::verb::post,
                              target,
                              R"({"payment_method":"tok_ok"})",
                              {{"Authorization", buyer}, {"Idempotency-Key", "pay-" + std::to_string(i)}});
                return r.result_int() != 503;
            },
            30s,
            100ms))
            << "order " << i << " could not be paid";
        EXPECT_EQ(r.result_int(), 202U) << r.body();
    }
    ASSERT_TRUE(promoted("q:payment"));
    // The promoted master has no replica until the failed node is back: with
    // JOBS_ENQUEUE_REPLICA_ACKS=1 its queues' new jobs wait in PostgreSQL meanwhile (never in a
    // Redis that could lose them). The operator restarts the node; it rejoins as a replica.
    ASSERT_EQ(services("start-node cluster " + std::to_string(killed_)), 0);
    killed_ = 0;
    const auto ids = orders;
    EXPECT_TRUE(eventually(
        [&] {
            return sql("SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'paid'",
                       db::params(ids)) == kOrders;
        },
        60s,
        200ms))
        << sql("SELECT count(*) FROM orders WHERE id = ANY($1) AND status = 'paid'", db::params(ids))
        << " of " << kOrders << " orders paid: a payment job was lost";
    EXPECT_EQ(sql("SELECT count(*) FROM payments WHERE order_id = ANY($1) AND status = 'captured'",
                  db::params(ids)),
              kOrders)
        << "an order was captured twice";
}

}  // namespace
}  // namespace emporium::test
