// End-to-end: the deployment shape. Two `emporium serve` processes behind nginx (configuration
// generated per test under .local/test-nginx-*), one `emporium worker` and two `emporium scheduler`s,
// all sharing one PostgreSQL database and one Redis key prefix.
//
// A shop session goes through nginx only: register, login, browse, search, order, pay, receipt and
// the confirmation e-mail. Most requests are balanced round-robin; the steps that prove "nothing
// depends on in-process state" are pinned to one server with a test-only request header that nginx
// maps to a one-server upstream: a token issued by one server is accepted by the other, refresh
// rotation and reuse detection, Idempotency-Key replays and catalog-cache invalidation all work
// across processes.
//
// Client addresses: the servers believe X-Forwarded-For only from TRUSTED_PROXIES and take the
// right-most address that is not a trusted proxy, so a client cannot pick its own rate-limit bucket
// by sending the header, and auth rate limits hold per client across both servers. The tests play
// several clients by connecting from different 127.x addresses (on Linux the whole of 127.0.0.0/8
// is the loopback interface).
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

namespace emporium::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using Res = HttpResponse;
using Headers = HttpHeaders;
using namespace std::chrono_literals;

const std::string kPinA = "a";  // X-Test-Upstream values: nginx sends the request to that server only
const std::string kPinB = "b";

// One HTTP/1.1 request on a fresh connection from the local address `source`. Header lines are
// added, not replaced, so a name may repeat. Throws boost::system::system_error when unreachable.
Res call(unsigned short port,
         bhttp::verb method,
         const std::string& target,
         const std::string& body = "",
         const Headers& headers = {},
         const std::string& source = "127.0.0.1") {
    asio::io_context io;
    tcp::socket socket(io);
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    // A hung peer fails the test instead of hanging it (blocking reads and writes give up).
    const timeval limit{30, 0};
    for (int option : {SO_RCVTIMEO, SO_SNDTIMEO}) {
        if (::setsockopt(socket.native_handle(), SOL_SOCKET, option, &limit, sizeof limit) != 0) {
            throw std::runtime_error("setsockopt failed");
        }
    }
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "shop.test");
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (const auto& [name, value] : headers) req.insert(name, value);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(socket, req);
    boost::beast::flat_buffer buffer;
    Res res;
    bhttp::read(socket, buffer, res);
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);  // the peer may have closed first: ignore
    return res;
}

std::int64_t price_of(const json::value& product) {
    return product.at("price").at("amount_cents").as_int64();
}

std::string id_text(std::int64_t id) {
    return std::to_string(id);
}

// nginx in front of two servers. Requests are balanced round-robin over both (keep-alive upstream
// connections), or go to one server when they carry `X-Test-Upstream: a|b` (nginx strips that
// header). Each response names the server that answered in X-Upstream, and the access log records
// the upstream, the pin and the status of every request.
class Nginx {
public:
    struct LogLine {
        std::string upstream;  // "127.0.0.1:<port>", "-" when nginx answered itself
        std::string pin;       // "-" when balanced
        int status = 0;
        std::string request;
    };

    Nginx(fs::path dir, unsigned short a, unsigned short b) : dir_(std::move(dir)), port_(free_port()) {
        fs::create_directories(dir_ / "tmp");
        // Started as root, nginx runs its worker as `nobody`, which must be able to write the temp
        // paths (the logs are opened by the master).
        fs::permissions(dir_ / "tmp", fs::perms::all);
        std::ofstream(dir_ / "nginx.conf") << config(a, b);
        process_ = std::make_unique<Process>(std::vector<std::string>{"/usr/sbin/nginx",
                                                                      "-p",
                                                                      dir_.string() + "/",
                                                                      "-c",
                                                                      (dir_ / "nginx.conf").string(),
                                                                      "-e",
                                                                      (dir_ / "error.log").string()},
                                             std::map<std::string, std::string>{});
        eventually([&] { return accepts_connections(port_) || process_->wait(1ms) != -1; }, 15s, 20ms);
        if (!accepts_connections(port_)) {
            stop();
            throw std::runtime_error("nginx did not start: " + slurp(dir_ / "error.log"));
        }
    }
    ~Nginx() { stop(); }
    Nginx(const Nginx&) = delete;
    Nginx& operator=(const Nginx&) = delete;

    unsigned short port() const { return port_; }
    std::string error_log() const { return slurp(dir_ / "error.log"); }

    std::vector<LogLine> access_log() const {
        std::vector<LogLine> out;
        std::istringstream in(slurp(dir_ / "access.log"));
        for (std::string line; std::getline(in, line);) {
            std::vector<std::string> fields;
            std::istringstream split(line);
            for (std::string f; std::getline(split, f, '|');) fields.push_back(f);
            if (fields.size() != 4) continue;
            out.push_back({fields[0], fields[1], std::stoi(fields[2]), fields[3]});
        }
        return out;
    }

private:
    // SIGTERM is nginx's fast shutdown: the master stops its worker, reaps it and exits. Killing
    // only the master (what the Process destructor does) would leave the worker running.
    void stop() {
        process_->signal(SIGTERM);
        if (process_->wait(10s) != -1) return;
        const auto master = std::to_string(process_->pid());
        std::istringstream children(slurp("/proc/" + master + "/task/" + master + "/children"));
        for (pid_t pid = 0; children >> pid;) ::kill(pid, SIGKILL);
    }  // the Process destructor kills and reaps the master

    std::string config(unsigned short a, unsigned short b) const {
        const auto d = dir_.string();
        const auto server = [](unsigned short p) { return "server 127.0.0.1:" + std::to_string(p) + ";"; };
        std::ostringstream c;
        c << "daemon off;\n"
          << "master_process on;\n"
          << "worker_processes 1;\n"
          << "pid " << d << "/nginx.pid;\n"
          << "error_log " << d << "/error.log warn;\n"
          << "events { worker_connections 256; }\n"
          << "http {\n"
          << "    log_format scaleout '$upstream_addr|$http_x_test_upstream|$status|$request_method $uri';\n"
          << "    access_log " << d << "/access.log scaleout;\n";
        for (const char* kind : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
            c << "    " << kind << "_temp_path " << d << "/tmp/" << kind << ";\n";
        }
        c << "    upstream api { " << server(a) << " " << server(b) << " keepalive 16; }\n"
          << "    upstream api_a { " << server(a) << " keepalive 4; }\n"
          << "    upstream api_b { " << server(b) << " keepalive 4; }\n"
          << "    map $http_x_test_upstream $emporium_pool { default api; a api_a; b api_b; }\n"
          << "    server {\n"
          << "        listen 127.0.0.1:" << port_ << ";\n"
          << "        location / {\n"
          << "            proxy_pass http://$emporium_pool;\n"
          << "            proxy_http_version 1.1;\n"
          << "            proxy_set_header Connection \"\";\n"
          << "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
          << "            proxy_set_header X-Real-IP $remote_addr;\n"
          << "            proxy_set_header X-Test-Upstream \"\";\n"
          << "            add_header X-Upstream $upstream_addr always;\n"
          << "        }\n"
          << "    }\n"
          << "}\n";
        return c.str();
    }

    fs::path dir_;
    unsigned short port_;
    std::unique_ptr<Process> process_;
};

class ScaleOutE2E : public ::testing::Test, protected E2EFixture {
protected:
    ScaleOutE2E() : E2EFixture("scaleout") {}

    void SetUp() override {
        dir_ = fs::path(source_dir()) / ".local" / ("test-nginx-" + unique_suffix());
        fs::create_directories(dir_ / "spool");
    }
    void TearDown() override {
        nginx_.reset();
        schedulers_.clear();
        workers_.clear();
        servers_.clear();
        fs::remove_all(dir_);
    }

    // The same settings for every process: one database, one Redis prefix, one JWT secret.
    Env env(const Env& extra) const {
        Env settings{{"TRUSTED_PROXIES", "127.0.0.1"},
                     {"INVENTORY_STRATEGY", "dual"},
                     {"REFRESH_REUSE_GRACE_MS", "0"},
                     {"SHOP_NAME", "Scale-out Shop"},
                     {"MAIL_FROM", "orders@shop.test"},
                     {"SMTP_URL", ""},
                     {"MAIL_SPOOL_DIR", (dir_ / "spool").string()},
                     {"OUTBOX_POLL_MS", "200"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        return E2EFixture::env(settings);
    }
    // Two servers behind nginx; with `jobs`, also one worker and two schedulers.
    void start_cluster(const Env& extra, bool jobs) {
        for (int i = 0; i < 2; ++i) servers_.push_back(std::make_unique<ServerProcess>(env(extra)));
        nginx_ = std::make_unique<Nginx>(dir_ / "nginx", servers_[0]->port(), servers_[1]->port());
        if (!jobs) return;
        workers_.push_back(start_emporium("worker", env(extra)));
        for (int i = 0; i < 2; ++i) schedulers_.push_back(start_emporium("scheduler", env(extra)));
    }
    // nginx's name of a server: "127.0.0.1:<port>".
    std::string upstream(const std::string& pin) const {
        return "127.0.0.1:" + std::to_string(servers_.at(pin == kPinA ? 0 : 1)->port());
    }

    // A request through nginx; `pin` (kPinA, kPinB) picks the server, empty = round-robin.
    Res through(bhttp::verb method,
                const std::string& target,
                const std::string& token = "",
                const std::string& body = "",
                Headers headers = {},
                const std::string& pin = "") {
        if (!token.empty()) headers.emplace_back("Authorization", token);
        if (!pin.empty()) headers.emplace_back("X-Test-Upstream", pin);
        auto res = call(nginx_->port(), method, target, body, headers);
        if (!pin.empty()) {
            EXPECT_EQ(res["X-Upstream"], upstream(pin)) << "nginx ignored the pin";
        }
        return res;
    }
    Res refresh(const std::string& refresh_token, const std::string& pin) {
        return through(bhttp::verb::post,
                       "/api/v1/auth/refresh",
                       "",
                       json::serialize(json::object{{"refresh_token", refresh_token}}),
                       {},
                       pin);
    }
    std::int64_t create_product(const std::string& name,
                                const std::string& description,
                                std::int64_t price,
                                std::int64_t stock) {
        return test::create_product(nginx_->port(),
                                    admin_,
                                    {{"sku", "sku-" + unique_suffix()},
                                     {"name", name},
                                     {"description", description},
                                     {"price_cents", price},
                                     {"stock", stock}});
    }
    std::vector<fs::path> mails() const {
        std::vector<fs::path> out;
        for (const auto& e : fs::directory_iterator(dir_ / "spool")) {
            const auto name = e.path().filename().string();
            if (!name.starts_with(".") && e.path().extension() == ".eml") out.push_back(e.path());
        }
        return out;
    }
    // A failed login of `email` (no such account), from the client address `source`, through nginx
    // (`server_port` 0) or straight to a server, claiming each of `forwarded_for` in its own
    // X-Forwarded-For line.
    Res login_attempt(const std::string& source,
                      const std::vector<std::string>& forwarded_for,
                      unsigned short server_port = 0,
                      const std::string& email = "mallory@example.com") {
        Headers headers;
        for (const auto& f : forwarded_for) headers.emplace_back("X-Forwarded-For", f);
        return call(server_port == 0 ? nginx_->port() : server_port,
                    bhttp::verb::post,
                    "/api/v1/auth/login",
                    json::serialize(json::object{{"email", email}, {"password", "not the password"}}),
                    headers,
                    source);
    }
    static void expect_attempt(const Res& r, const std::string& remaining, const std::string& what) {
        EXPECT_EQ(r.result_int(), 401U) << what << ": " << r.body();
        EXPECT_EQ(r["RateLimit-Remaining"], remaining) << what;
    }
    static void expect_limited(const Res& r, const std::string& what) {
        EXPECT_EQ(r.result_int(), 429U) << what << ": " << r.body();
        EXPECT_EQ(r["RateLimit-Remaining"], "0") << what;
        EXPECT_FALSE(r["Retry-After"].empty()) << what;
        if (r[bhttp::field::content_type] == "application/problem+json") {
            EXPECT_EQ(json_object(r).at("code").as_string(), "rate_limited") << what;
        } else {
            ADD_FAILURE() << what << ": not problem+json: " << r[bhttp::field::content_type];
        }
    }

    fs::path dir_;
    std::vector<std::unique_ptr<ServerProcess>> servers_;
    std::vector<std::unique_ptr<Process>> workers_;
    std::vector<std::unique_ptr<Process>> schedulers_;
    std::unique_ptr<Nginx> nginx_;
};

TEST_F(ScaleOutE2E, AShopSessionThroughNginxNeedsNoInProcessState) {
    start_cluster({}, true);
    const std::string email = "ada@example.com";

    // The catalog, seeded by an admin whose token is signed with the shared secret.
    const auto lamp = create_product("Walnut desk lamp", "Warm light for late evenings", 4'500, 10);
    const auto shelf = create_product("Oak bookshelf", "Five shelves of solid oak", 18'900, 3);
    const auto cushion = create_product("Linen cushion", "Stone-washed linen cover", 2'900, 20);
    ASSERT_FALSE(HasFailure());

    // Register on A, log in on B; B's access token is accepted by A.
    auto reg =
        through(bhttp::verb::post,
                "/api/v1/auth/register",
                "",
                json::serialize(json::object{{"email", email}, {"password", kE2EPassword}, {"name", "Ada"}}),
                {},
                kPinA);
    ASSERT_EQ(reg.result_int(), 201U) << reg.body();
    auto login = through(bhttp::verb::post,
                         "/api/v1/auth/login",
                         "",
                         json::serialize(json::object{{"email", email}, {"password", kE2EPassword}}),
                         {},
                         kPinB);
    ASSERT_EQ(login.result_int(), 200U) << login.body();
    const auto first_tokens = json_object(login);
    const std::string first_refresh(first_tokens.at("refresh_token").as_string());
    std::string bearer = "Bearer " + std::string(first_tokens.at("access_token").as_string());
    auto me = through(bhttp::verb::get, "/api/v1/auth/me", bearer, "", {}, kPinA);
    ASSERT_EQ(me.result_int(), 200U) << me.body();
    EXPECT_EQ(json_object(me).at("email").as_string(), email);

    // Refresh rotation across processes: B issued the pair, A rotates it, B rotates the new one.
    auto second = refresh(first_refresh, kPinA);
    ASSERT_EQ(second.result_int(), 200U) << second.body();
    const std::string second_refresh(json_object(second).at("refresh_token").as_string());
    auto third = refresh(second_refresh, kPinB);
    ASSERT_EQ(third.result_int(), 200U) << third.body();
    const std::string third_refresh(json_object(third).at("refresh_token").as_string());
    bearer = "Bearer " + std::string(json_object(third).at("access_token").as_string());

    // Browse and search, balanced over both servers.
    auto page = through(bhttp::verb::get, "/api/v1/products?limit=5");
    ASSERT_EQ(page.result_int(), 200U) << page.body();
    std::set<std::int64_t> listed;
    const auto page_body = json_object(page);
    for (const auto& item : page_body.at("items").as_array()) listed.insert(item.at("id").as_int64());
    EXPECT_EQ(listed, (std::set<std::int64_t>{lamp, shelf, cushion}));
    auto detail = through(bhttp::verb::get, "/api/v1/products/" + id_text(shelf));
    ASSERT_EQ(detail.result_int(), 200U) << detail.body();
    EXPECT_EQ(json_object(detail).at("name").as_string(), "Oak bookshelf");
    EXPECT_EQ(price_of(json_object(detail)), 18'900);
    const std::string etag(detail[bhttp::field::etag]);
    ASSERT_FALSE(etag.empty());
    auto found = through(bhttp::verb::get, "/api/v1/products?q=bookshelf");
    ASSERT_EQ(found.result_int(), 200U) << found.body();
    ASSERT_EQ(json_object(found).at("items").as_array().size(), 1U) << found.body();
    EXPECT_EQ(json_object(found).at("items").at(0).at("id").as_int64(), shelf);

    // The shared cache (warmed by the reads above) is invalidated for both: a price change made on
    // A is what B serves, for the product and for the search page.
    auto patched = through(bhttp::verb::patch,
                           "/api/v1/products/" + id_text(shelf),
                           admin_,
                           json::serialize(json::object{{"price_cents", 17'900}}),
                           {{"If-Match", etag}},
                           kPinA);
    ASSERT_EQ(patched.result_int(), 200U) << patched.body();
    auto reread = through(bhttp::verb::get, "/api/v1/products/" + id_text(shelf), "", "", {}, kPinB);
    EXPECT_EQ(price_of(json_object(reread)), 17'900);
    EXPECT_NE(reread[bhttp::field::etag], etag);
    auto researched = through(bhttp::verb::get, "/api/v1/products?q=bookshelf", "", "", {}, kPinB);
    EXPECT_EQ(price_of(json_object(researched).at("items").at(0)), 17'900);

    // Order on A; the same request replayed on B gets the same answer and takes stock once.
    const auto order_body = json::serialize(
        json::object{{"items",
                      json::array{json::object{{"product_id", shelf}, {"quantity", 2}},
                                  json::object{{"product_id", lamp}, {"quantity", 1}}}},
                     {"shipping_address", json::object{{"line1", "1 Main St"}, {"city", "Oslo"}}}});
    const Headers order_key{{"Idempotency-Key", "order-" + unique_suffix()}};
    auto placed = through(bhttp::verb::post, "/api/v1/orders", bearer, order_body, order_key, kPinA);
    ASSERT_EQ(placed.result_int(), 201U) << placed.body();
    const auto order = json_object(placed);
    const auto order_id = order.at("id").as_int64();
    EXPECT_EQ(order.at("status").as_string(), "pending_payment");
    EXPECT_EQ(order.at("total_cents").as_int64(), 2 * 17'900 + 4'500);
    auto replayed = through(bhttp::verb::post, "/api/v1/orders", bearer, order_body, order_key, kPinB);
    EXPECT_EQ(replayed.result_int(), 201U);
    EXPECT_EQ(replayed["Idempotent-Replayed"], "true");
    EXPECT_EQ(replayed.body(), placed.body());
    for (const auto& pin : {kPinA, kPinB}) {
        auto p = through(bhttp::verb::get, "/api/v1/products/" + id_text(shelf), "", "", {}, pin);
        EXPECT_EQ(json_object(p).at("stock").as_int64(), 1) << "stock seen by " << pin;
    }

    // Pay on B, replay on A; the worker captures, then sends the e-mail and renders the receipt.
    const auto order_path = "/api/v1/orders/" + id_text(order_id);
    const std::string pay_body = R"({"payment_method":"tok_ok"})";
    const Headers pay_key{{"Idempotency-Key", "pay-" + unique_suffix()}};
    auto pay = through(bhttp::verb::post, order_path + "/pay", bearer, pay_body, pay_key, kPinB);
    ASSERT_EQ(pay.result_int(), 202U) << pay.body();
    EXPECT_EQ(pay[bhttp::field::location], order_path + "/payment");
    auto pay_again = through(bhttp::verb::post, order_path + "/pay", bearer, pay_body, pay_key, kPinA);
    EXPECT_EQ(pay_again.result_int(), 202U) << pay_again.body();
    EXPECT_EQ(pay_again["Idempotent-Replayed"], "true");

    std::string last;
    ASSERT_TRUE(eventually([&] {
        auto r = through(bhttp::verb::get, order_path + "/payment", bearer);
        last = r.body();
        return r.result_int() == 200 && json_object(r).at("status").as_string() == "captured";
    })) << "payment never captured: "
        << last;
    ASSERT_TRUE(eventually([&] {
        auto r = through(bhttp::verb::get, order_path, bearer);
        last = r.body();
        return r.result_int() == 200 && json_object(r).at("status").as_string() == "paid";
    })) << "order never paid: "
        << last;
    Res receipt;
    ASSERT_TRUE(eventually([&] {
        receipt = through(bhttp::verb::get, order_path + "/receipt", bearer);
        return receipt.result_int() == 200;
    })) << "no receipt: "
        << receipt.body();
    EXPECT_EQ(receipt[bhttp::field::content_type], "application/pdf");
    EXPECT_TRUE(receipt.body().starts_with("%PDF-"));
    ASSERT_TRUE(eventually([&] { return !mails().empty(); })) << "no confirmation e-mail in the spool";
    const auto mail = slurp(mails().front());
    EXPECT_NE(mail.find("To: " + email), std::string::npos) << mail;
    EXPECT_NE(mail.find("Oak bookshelf"), std::string::npos) << mail;

    // Both servers list the paid order.
    for (const auto& pin : {kPinA, kPinB}) {
        auto mine = through(bhttp::verb::get, "/api/v1/orders", bearer, "", {}, pin);
        ASSERT_EQ(mine.result_int(), 200U) << mine.body();
        const auto listing = json_object(mine);
        const auto& items = listing.at("items").as_array();
        ASSERT_EQ(items.size(), 1U) << mine.body();
        EXPECT_EQ(items.at(0).at("id").as_int64(), order_id);
        EXPECT_EQ(items.at(0).at("status").as_string(), "paid");
    }

    // Reuse detection across processes: the first refresh token, presented again on A, revokes the
    // family, so B refuses the newest one.
    EXPECT_EQ(refresh(first_refresh, kPinA).result_int(), 401U);
    EXPECT_EQ(refresh(third_refresh, kPinB).result_int(), 401U) << "the family is revoked everywhere";

    // One e-mail however many schedulers run; every background process is still up.
    std::this_thread::sleep_for(1s);  // a duplicate delivery would have been written by now
    EXPECT_EQ(mails().size(), 1U);
    for (const auto* group : {&workers_, &schedulers_}) {
        for (const auto& p : *group) EXPECT_EQ(p->wait(50ms), -1) << "process " << p->pid() << " exited";
    }

    // The balanced requests reached both servers, and nginx never failed to reach one.
    std::set<std::string> balanced;
    std::vector<Nginx::LogLine> log;
    ASSERT_TRUE(eventually(
        [&] {
            log = nginx_->access_log();
            balanced.clear();
            for (const auto& line : log) {
                if (line.pin == "-") balanced.insert(line.upstream);
            }
            return balanced.size() == 2;
        },
        5s))
        << nginx_->error_log();
    EXPECT_EQ(balanced, (std::set<std::string>{upstream(kPinA), upstream(kPinB)}));
    for (const auto& line : log) {
        EXPECT_LT(line.status, 500) << line.request << " via " << line.upstream;
        EXPECT_NE(line.upstream, "-") << line.request;
    }
}

TEST_F(ScaleOutE2E, ClientAddressesComeFromTheTrustedProxyAndLimitsHoldAcrossServers) {
    // Auth is limited per client address and e-mail: 3 attempts per minute here.
    start_cluster({{"RATE_LIMIT_AUTH", "3/60s burst 3"}}, false);

    // A client at 127.0.0.2 forges a new X-Forwarded-For for each attempt. nginx appends the address
    // it sees, and the servers take the right-most address that is not a trusted proxy: the
    // forgeries do not buy new buckets, and the bucket is shared by both servers.
    std::set<std::string> served_by;
    const std::vector<std::vector<std::string>> forged{
        {"203.0.113.1"}, {"203.0.113.2"}, {"198.51.100.7, 203.0.113.3"}};
    for (std::size_t i = 0; i < forged.size(); ++i) {
        auto r = login_attempt("127.0.0.2", forged[i]);
        expect_attempt(r, std::to_string(2 - i), "forged attempt " + std::to_string(i + 1));
        served_by.insert(std::string(r["X-Upstream"]));
    }
    EXPECT_EQ(served_by.size(), 2U) << "both servers counted into one bucket";
    expect_limited(login_attempt("127.0.0.2", {"203.0.113.4"}), "fourth attempt, yet another forgery");
    expect_limited(login_attempt("127.0.0.2", {"203.0.113.5", "203.0.113.6"}), "two forged header lines");
    expect_limited(login_attempt("127.0.0.2", {}), "no header");

    // Other clients behind the same proxy keep their own buckets, also when they claim the limited
    // client's address.
    expect_attempt(login_attempt("127.0.0.3", {}), "2", "another client");
    expect_attempt(login_attempt("127.0.0.4", {"127.0.0.2"}), "2", "a client claiming 127.0.0.2");
    // The limit is per address and e-mail: the limited client may still try another account.
    expect_attempt(login_attempt("127.0.0.2", {}, 0, "someone@example.com"), "2", "another e-mail");

    // Straight to a server from an address that is not a trusted proxy, X-Forwarded-For is ignored:
    // claiming the limited address does not reach its bucket, and forging does not escape one's own.
    const auto a = servers_[0]->port();
    const auto b = servers_[1]->port();
    expect_attempt(login_attempt("127.0.0.5", {"127.0.0.2"}, a), "2", "untrusted peer claiming 127.0.0.2");
    expect_attempt(login_attempt("127.0.0.5", {"203.0.113.7"}, b), "1", "untrusted peer, forgery 1");
    expect_attempt(login_attempt("127.0.0.5", {"203.0.113.8"}, a), "0", "untrusted peer, forgery 2");
    expect_limited(login_attempt("127.0.0.5", {"203.0.113.9"}, b), "untrusted peer, forgery 3");
    // From the trusted proxy's address the same header is believed.
    expect_limited(login_attempt("127.0.0.1", {"127.0.0.2"}, a), "trusted peer forwarding for 127.0.0.2");
    expect_attempt(
        login_attempt("127.0.0.1", {"127.0.0.6"}, b), "2", "trusted peer forwarding for 127.0.0.6");
    // A proxy may add its own X-Forwarded-For line after the client's instead of appending to it
    // (HAProxy's `option forwardfor` does). The lines are one list: the client's line buys nothing.
    expect_limited(login_attempt("127.0.0.1", {"203.0.113.10", "127.0.0.2"}, a),
                   "trusted peer adding its own line for 127.0.0.2");
    expect_attempt(login_attempt("127.0.0.1", {"127.0.0.2", "127.0.0.7"}, b),
                   "2",
                   "trusted peer adding its own line for 127.0.0.7");
}

TEST_F(ScaleOutE2E, BehindAProxyThatIsNotTrustedEveryoneIsTheProxy) {
    // TRUSTED_PROXIES names another address: nginx's X-Forwarded-For is ignored, every client
    // counts as nginx (one shared bucket); only the configured proxy's header is believed.
    start_cluster({{"RATE_LIMIT_AUTH", "2/60s burst 2"}, {"TRUSTED_PROXIES", "127.0.0.9"}}, false);
    expect_attempt(login_attempt("127.0.0.2", {}), "1", "first client");
    expect_attempt(login_attempt("127.0.0.3", {"203.0.113.1"}), "0", "second client, same bucket");
    expect_limited(login_attempt("127.0.0.4", {"203.0.113.2"}), "third client, same bucket");
    expect_limited(login_attempt("127.0.0.1", {"203.0.113.3"}, servers_[0]->port()),
                   "nginx's address, direct");
    expect_attempt(login_attempt("127.0.0.9", {"127.0.0.2"}, servers_[1]->port()), "1", "the trusted proxy");
}

}  // namespace
}  // namespace emporium::test
