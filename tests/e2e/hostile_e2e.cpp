// End-to-end: hostile HTTP clients against the real `emporium serve` binary. Slowloris (headers
// trickled) and slow bodies are cut by the header and request timeouts while a normal client keeps
// getting fast answers; thousands of idle connections keep the server's memory bounded; the
// connection cap answers 503 problem+json; hostile JSON bodies (invalid UTF-8, huge or fractional
// numbers, negative quantities, 10 000-deep nesting, duplicate names, wrong types, non-objects) get
// 400/422 problem+json on every main write endpoint; SQL metacharacters in every text field and
// query parameter are stored verbatim or rejected with 4xx, never 5xx.
// Oversized headers/bodies (431/413) and malformed framing are covered by http_e2e.
#include "e2e/e2e_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Res = HttpResponse;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- raw sockets (the attackers) ----

// A blocking loopback TCP connection; closes on destruction.
class RawConnection {
public:
    explicit RawConnection(unsigned short port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {  // NOLINT: POSIX API
            const std::string why = std::strerror(errno);
            ::close(fd_);
            throw std::runtime_error("connect: " + why);
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~RawConnection() {
        if (fd_ >= 0) ::close(fd_);
    }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    int fd() const { return fd_; }
    // Sends everything; false once the peer has gone.
    bool send_all(std::string_view data) const {
        while (!data.empty()) {
            auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // True when the server has closed the connection (EOF or reset) without waiting.
    bool closed_by_peer() const {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        char buf[4096];
        auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    // Everything the server sends until it closes (or `timeout` passes).
    std::string read_until_close(std::chrono::milliseconds timeout) const {
        std::string out;
        const auto deadline = Clock::now() + timeout;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return out;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            char buf[4096];
            auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return out;
            out.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
};

// Resident memory of a process in KiB (VmRSS of /proc/<pid>/status).
long rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

// Raises this process's open-file limit to at least `wanted` (up to the hard limit); returns it.
rlim_t raise_fd_limit(rlim_t wanted) {
    rlimit lim{};
    ::getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < wanted) {
        lim.rlim_cur = std::min(wanted, lim.rlim_max);
        ::setrlimit(RLIMIT_NOFILE, &lim);
        ::getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

// Latencies of a normal client calling /healthz in a loop while an attack runs.
class Bystander {
public:
    explicit Bystander(unsigned short port) : thread_([this, port] { run(port); }) {}
    ~Bystander() { stop(); }
    Bystander(const Bystander&) = delete;
    Bystander& operator=(const Bystander&) = delete;
    void stop() {
        stop_.store(true);
        if (thread_.joinable()) thread_.join();
    }
    int requests() const { return requests_; }
    int failures() const { return failures_; }
    std::chrono::milliseconds worst() const { return worst_; }

private:
    void run(unsigned short port) {
        while (!stop_.load()) {
            const auto t0 = Clock::now();
            try {
                auto r = http_call(port, bhttp::verb::get, "/healthz");
                if (r.result_int() != 200) ++failures_;
            } catch (const std::exception&) {
                ++failures_;
            }
            worst_ = std::max(worst_, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0));
            ++requests_;
            std::this_thread::sleep_for(20ms);
        }
    }
    std::atomic<bool> stop_{false};
    int requests_ = 0;
    int failures_ = 0;
    std::chrono::milliseconds worst_{0};
    std::thread thread_;
};

std::string url_encode(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

class HostileE2E : public ::testing::Test, protected E2EFixture {
protected:
    HostileE2E() : E2EFixture("hostile") {}

    void start(const Env& extra = {}) {
        Env settings = {{"RATE_LIMIT_ENABLED", "false"}, {"INVENTORY_STRATEGY", "pessimistic"}};
        for (const auto& [k, v] : extra) settings[k] = v;
        server_ = std::make_unique<ServerProcess>(env(settings));
    }
    unsigned short port() const { return server_->port(); }
    Res call(bhttp::verb method,
             const std::string& target,
             const std::string& body = "",
             const std::string& token = "",
             HttpHeaders headers = {}) {
        return authorized_call(port(), method, target, token, body, std::move(headers));
    }
    // A customer registered and signed in through the API; returns "Bearer <access token>".
    std::string customer(const std::string& email, const std::string& name = "Customer") {
        return register_and_sign_in(port(), email, name);
    }
    std::int64_t product(const std::string& sku, const std::string& name = "Plain item") {
        return create_product(
            port(), admin_, {{"sku", sku}, {"name", name}, {"price_cents", 1000}, {"stock", 100}});
    }
    // 400 or 422 problem+json with a code and a detail; returns the problem.
    static json::object expect_client_error(const Res& r, const std::string& what) {
        EXPECT_TRUE(r.result_int() == 400 || r.result_int() == 422) << what << ": " << r.result_int() << " " << r.body();
        EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json") << what;
        if (!is_problem(r)) return {};
        auto p = json_object(r);
        EXPECT_FALSE(p.at("detail").as_string().empty()) << what;
        EXPECT_TRUE(p.at("code") == "bad_request" || p.at("code") == "validation_failed") << what << ": " << r.body();
        EXPECT_EQ(p.at("status").as_int64(), r.result_int()) << what;
        return p;
    }

    std::unique_ptr<ServerProcess> server_;
};

// Trickles `prefix` then `byte` forever (one byte per `every`) on `count` connections until the
// server has cut every one or `limit` passed; returns how long each connection lived.
std::vector<std::chrono::milliseconds> trickle(unsigned short port,
                                               int count,
                                               const std::string& prefix,
                                               const std::string& slow_text,
                                               std::chrono::milliseconds every,
                                               std::chrono::milliseconds limit) {
    std::vector<std::unique_ptr<RawConnection>> conns;
    std::vector<Clock::time_point> opened;
    std::vector<std::optional<std::chrono::milliseconds>> lived(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        conns.push_back(std::make_unique<RawConnection>(port));
        opened.push_back(Clock::now());
        if (!prefix.empty()) conns.back()->send_all(prefix);
    }
    std::size_t pos = 0;
    int open = count;
    const auto deadline = Clock::now() + limit;
    while (open > 0 && Clock::now() < deadline) {
        const char c = slow_text[pos++ % slow_text.size()];
        for (std::size_t i = 0; i < conns.size(); ++i) {
            if (lived[i]) continue;
            const bool gone = conns[i]->closed_by_peer() || !conns[i]->send_all(std::string_view(&c, 1));
            if (gone) {
                lived[i] = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - opened[i]);
                --open;
            }
        }
        std::this_thread::sleep_for(every);
    }
    std::vector<std::chrono::milliseconds> out;
    for (auto& l : lived) out.push_back(l.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(limit) + 1ms));
    return out;
}

TEST_F(HostileE2E, SlowlorisHeadersAreCutAtTheHeaderTimeoutWhileOthersAreServed) {
    start({{"HTTP_HEADER_TIMEOUT_MS", "1000"}, {"HTTP_IDLE_TIMEOUT_MS", "5000"}});
    Bystander normal(port());
    // The first byte starts the header clock; then one byte per 100 ms never completes a header.
    auto lived = trickle(port(), 300, "G", "ET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 100ms, 10s);
    normal.stop();
    const auto longest = *std::max_element(lived.begin(), lived.end());
    const auto shortest = *std::min_element(lived.begin(), lived.end());
    EXPECT_LE(longest, 3500ms) << "every trickling connection is cut shortly after HTTP_HEADER_TIMEOUT_MS";
    EXPECT_GE(shortest, 800ms) << "and not before";
    EXPECT_GE(normal.requests(), 10);
    EXPECT_EQ(normal.failures(), 0);
    EXPECT_LT(normal.worst(), 1000ms) << "a normal client keeps getting fast answers during the attack";
    EXPECT_EQ(http_call(port(), bhttp::verb::get, "/healthz").result_int(), 200U);
}

TEST_F(HostileE2E, SlowBodiesAreCutAtTheRequestTimeoutWhileOthersAreServed) {
    start({{"HTTP_REQUEST_TIMEOUT_MS", "1500"}});
    Bystander normal(port());
    const std::string head =
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: e2e\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n";
    auto lived = trickle(port(), 200, head, "{\"email\":\"slow@example.com\",\"password\":\"aaaaaaaa", 100ms, 10s);
    normal.stop();
    const auto longest = *std::max_element(lived.begin(), lived.end());
    const auto shortest = *std::min_element(lived.begin(), lived.end());
    EXPECT_LE(longest, 4000ms) << "every slow body is cut shortly after HTTP_REQUEST_TIMEOUT_MS";
    EXPECT_GE(shortest, 1300ms) << "and not before";
    EXPECT_GE(normal.requests(), 10);
    EXPECT_EQ(normal.failures(), 0);
    EXPECT_LT(normal.worst(), 1000ms);
}

// Bound documented in docs/operations.md (HTTP_MAX_CONNECTIONS): an idle connection costs about
// 10 KiB; the test allows 40 KiB each so allocator noise cannot fail it, which still catches a
// per-connection leak or a buffer sized by the body limit (1 MiB).
TEST_F(HostileE2E, ThousandsOfIdleConnectionsKeepMemoryBoundedAndOthersServed) {
    constexpr int kConnections = 2500;
    ASSERT_GE(raise_fd_limit(kConnections + 512), static_cast<rlim_t>(kConnections + 256));
    start({{"HTTP_IDLE_TIMEOUT_MS", "30000"}});
    for (int i = 0; i < 20; ++i) ASSERT_EQ(http_call(port(), bhttp::verb::get, "/healthz").result_int(), 200U);
    const long before = rss_kib(server_->process().pid());
    ASSERT_GT(before, 0);

    std::vector<std::unique_ptr<RawConnection>> idle;
    const auto t0 = Clock::now();
    for (int i = 0; i < kConnections; ++i) idle.push_back(std::make_unique<RawConnection>(port()));
    // Connections are accepted in order: once this one is answered, every idle one is open.
    const auto t1 = Clock::now();
    auto r = http_call(port(), bhttp::verb::get, "/healthz");
    const auto served_in = Clock::now() - t1;
    EXPECT_EQ(r.result_int(), 200U);
    EXPECT_LT(served_in, 1000ms) << "a normal client is served while " << kConnections << " idle connections are open";
    const long during = rss_kib(server_->process().pid());
    const long growth = during - before;
    RecordProperty("rss_before_kib", std::to_string(before));
    RecordProperty("rss_with_idle_kib", std::to_string(during));
    EXPECT_LT(growth, kConnections * 40L) << "RSS grew by " << growth << " KiB for " << kConnections << " connections";
    // The absolute cap is for a normal build: AddressSanitizer's shadow memory alone puts the idle
    // server near 220 MiB, near 500 MiB in the shared-library -O0 `dev` build (the growth per
    // connection above is what is checked there).
#if defined(__SANITIZE_ADDRESS__)
    constexpr long kRssCapKib = 768L * 1024;
#else
    constexpr long kRssCapKib = 256L * 1024;
#endif
    EXPECT_LT(during, kRssCapKib) << "RSS " << during << " KiB";
    std::cout << "rss before " << before << " KiB, with " << kConnections << " idle connections " << during
              << " KiB (" << (growth * 1024 / kConnections) << " bytes each); opened in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count() << " ms\n";

    // Every one of them is still a working HTTP connection.
    ASSERT_TRUE(idle.back()->send_all("GET /healthz HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n"));
    EXPECT_NE(idle.back()->read_until_close(5s).find("HTTP/1.1 200"), std::string::npos);
    idle.clear();
    EXPECT_EQ(http_call(port(), bhttp::verb::get, "/healthz").result_int(), 200U);
}

TEST_F(HostileE2E, ConnectionsBeyondTheCapGetAQuick503ProblemAndClose) {
    constexpr int kCap = 40;
    start({{"HTTP_MAX_CONNECTIONS", std::to_string(kCap)}, {"HTTP_IDLE_TIMEOUT_MS", "30000"}});
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < kCap; ++i) idle.push_back(std::make_unique<RawConnection>(port()));

    // Accepts are sequential, so the connections above are counted before this one is seen.
    for (int i = 0; i < 5; ++i) {
        RawConnection extra(port());
        const auto t0 = Clock::now();
        const auto text = extra.read_until_close(5s);
        EXPECT_LT(Clock::now() - t0, 1000ms) << "refused at once, not after a timeout";
        ASSERT_EQ(text.rfind("HTTP/1.1 503", 0), 0U) << text;
        EXPECT_NE(text.find("Content-Type: application/problem+json"), std::string::npos) << text;
        EXPECT_NE(text.find("Retry-After: 1"), std::string::npos) << text;
        EXPECT_NE(text.find("Connection: close"), std::string::npos) << text;
        auto body = json::parse(text.substr(text.find("\r\n\r\n") + 4)).as_object();
        EXPECT_EQ(body.at("status").as_int64(), 503);
        EXPECT_EQ(body.at("code"), "unavailable");
    }
    auto metrics = [&] {
        // The idle connections hold every slot: free one for the scrape.
        idle.pop_back();
        for (auto deadline = Clock::now() + 5s; Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
            try {
                auto m = http_call(port(), bhttp::verb::get, "/metrics");
                if (m.result_int() == 200) return m.body();
            } catch (const std::exception&) {
            }
        }
        return std::string();
    }();
    const std::string metric = "\nemporium_http_connections_refused_total ";
    const auto at = metrics.find(metric);
    ASSERT_NE(at, std::string::npos) << metrics;
    EXPECT_GE(std::stol(metrics.substr(at + metric.size())), 5L) << "refusals are counted";

    // Slots are given back when connections close.
    idle.clear();
    bool served = false;
    for (auto deadline = Clock::now() + 5s; !served && Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
        try {
            served = http_call(port(), bhttp::verb::get, "/healthz").result_int() == 200;
        } catch (const std::exception&) {
        }
    }
    EXPECT_TRUE(served);
    // All the slots, not just one: kCap - 1 idle connections and one request fit again (once the
    // server has seen every earlier connection close).
    for (int i = 0; i < kCap - 1; ++i) idle.push_back(std::make_unique<RawConnection>(port()));
    served = false;
    for (auto deadline = Clock::now() + 5s; !served && Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
        try {
            served = http_call(port(), bhttp::verb::get, "/healthz").result_int() == 200;
        } catch (const std::exception&) {
        }
    }
    EXPECT_TRUE(served);
}

// ---- hostile JSON on every main write endpoint ----

struct Endpoint {
    std::string name;
    bhttp::verb method;
    std::string target;
    std::string token;
    HttpHeaders headers;
    std::string valid_body;        // a body this endpoint accepts (shape reference)
    std::string integer_field;     // a field that must be an integer ("" = none)
    std::string string_field;      // a field that must be a string
};

std::string nested(int depth) {
    std::string s = "{\"a\":";
    s.append(static_cast<std::size_t>(depth), '[');
    s.append(static_cast<std::size_t>(depth), ']');
    s += "}";
    return s;
}

// `valid` with the member `field` replaced by the raw JSON text `raw` (a shallow textual edit:
// the reference bodies are flat objects with a known member order).
std::string with_member(const std::string& valid, const std::string& field, const std::string& raw) {
    auto obj = json::parse(valid).as_object();
    std::string out = "{";
    bool first = true;
    bool replaced = false;
    for (const auto& [k, v] : obj) {
        if (!first) out += ",";
        first = false;
        out += json::serialize(json::string(k)) + ":";
        if (k == field) {
            out += raw;
            replaced = true;
        } else {
            out += json::serialize(v);
        }
    }
    if (!replaced) out += std::string(first ? "" : ",") + json::serialize(json::string(field)) + ":" + raw;
    return out + "}";
}

TEST_F(HostileE2E, HostileJsonBodiesGet400Or422ProblemJsonOnEveryWriteEndpoint) {
    start();
    const auto alice = customer("alice@example.com");
    const auto p = product("json-1");
    auto order = call(bhttp::verb::post,
                      "/api/v1/orders",
                      json::serialize(json::object{{"items", json::array{json::object{{"product_id", p}, {"quantity", 1}}}},
                                                   {"shipping_address", json::object{{"line1", "1 Main St"}, {"city", "Oslo"}}}}),
                      alice,
                      {{"Idempotency-Key", "json-order-1"}});
    ASSERT_EQ(order.result_int(), 201U) << order.body();
    const auto order_id = json_object(order).at("id").as_int64();
    const auto pid = std::to_string(p);

    int key = 0;
    auto fresh_key = [&key] { return HttpHeaders{{"Idempotency-Key", "hostile-" + std::to_string(++key)}}; };
    std::vector<Endpoint> endpoints = {
        {"register", bhttp::verb::post, "/api/v1/auth/register", "", {},
         R"({"email":"new@example.com","password":"correct horse battery","name":"New"})", "", "name"},
        {"login", bhttp::verb::post, "/api/v1/auth/login", "", {},
         R"({"email":"alice@example.com","password":"correct horse battery"})", "", "password"},
        {"product create", bhttp::verb::post, "/api/v1/products", admin_, {},
         R"({"sku":"json-2","name":"Thing","price_cents":100,"stock":5})", "price_cents", "name"},
        {"product update", bhttp::verb::patch, "/api/v1/products/" + pid, admin_, {{"If-Match", "W/\"1\""}},
         R"({"name":"Renamed","price_cents":200})", "price_cents", "name"},
        {"review", bhttp::verb::post, "/api/v1/products/" + pid + "/reviews", alice, {},
         R"({"rating":4,"title":"Nice","body":"Good"})", "rating", "title"},
        {"order create", bhttp::verb::post, "/api/v1/orders", alice, {},
         R"({"items":[{"product_id":)" + pid + R"(,"quantity":1}],"shipping_address":{"line1":"1 Main St","city":"Oslo"}})",
         "", ""},
        {"payment", bhttp::verb::post, "/api/v1/orders/" + std::to_string(order_id) + "/pay", alice, {},
         R"({"payment_method":"tok_ok"})", "", "payment_method"},
    };
    for (const auto& e : endpoints) {
        auto send = [&](const std::string& body, const std::string& what) {
            auto headers = e.headers;
            for (auto& h : fresh_key()) headers.push_back(h);
            auto r = call(e.method, e.target, body, e.token, headers);
            return std::pair{r, e.name + " / " + what};
        };
        auto expect_400 = [&](const std::string& body, const std::string& what, const std::string& detail_has = "") {
            auto [r, label] = send(body, what);
            auto problem = expect_client_error(r, label);
            EXPECT_EQ(r.result_int(), 400U) << label << ": " << r.body();
            if (!detail_has.empty() && problem.contains("detail")) {
                EXPECT_NE(std::string(problem.at("detail").as_string()).find(detail_has), std::string::npos)
                    << label << ": " << r.body();
            }
        };
        auto expect_4xx = [&](const std::string& body, const std::string& what) {
            auto [r, label] = send(body, what);
            expect_client_error(r, label);
        };

        // Not valid JSON text, or not an object.
        expect_400("{\"name\":\"\xff\xfe\"}", "invalid UTF-8", "not valid JSON");
        expect_400("{\"name\":\"\xc3\x28\"}", "truncated UTF-8 sequence", "not valid JSON");
        expect_400("{\"name\":\"\xed\xa0\x80\"}", "UTF-8 surrogate", "not valid JSON");
        expect_400(nested(10'000), "10 000 levels of nesting", "not valid JSON");
        expect_400(nested(33), "33 levels of nesting", "not valid JSON");
        expect_400("[" + e.valid_body + "]", "top-level array", "must be a JSON object");
        expect_400("\"text\"", "top-level string", "must be a JSON object");
        expect_400("42", "top-level number", "must be a JSON object");
        expect_400("null", "top-level null", "must be a JSON object");
        expect_400(e.valid_body + "{}", "two documents", "not valid JSON");
        expect_400(e.valid_body.substr(0, e.valid_body.size() - 1), "truncated", "not valid JSON");

        // Duplicate member names, also spelled differently and nested.
        const auto reference = json::parse(e.valid_body).as_object();
        const auto& first = *reference.begin();
        const auto first_member = json::serialize(json::string(first.key())) + ":" + json::serialize(first.value());
        expect_400("{" + first_member + "," + e.valid_body.substr(1),
                   "duplicate top-level name",
                   "duplicate member name: \"" + std::string(first.key()) + "\"");
        expect_400(R"({"x":1,"\u0078":2})", "duplicate name spelled with an escape", "duplicate member name: \"x\"");
        expect_400(R"({"x":{"y":1,"y":2}})", "duplicate nested name", "duplicate member name: \"y\"");

        // Wrong types and numbers that are not the integers a field needs.
        if (!e.string_field.empty()) {
            for (const std::string raw : {"123", "true", "{}", "[]", "\"\\u0000\""}) {
                expect_4xx(with_member(e.valid_body, e.string_field, raw), e.string_field + " = " + raw);
            }
        }
        if (!e.integer_field.empty()) {
            for (const std::string raw : {"1e400", "99999999999999999999", "-99999999999999999999", "-1", "1.5",
                                          "\"12\"", "1e3", "null", "[1]"}) {
                auto [r, label] = send(with_member(e.valid_body, e.integer_field, raw), e.integer_field + " = " + raw);
                if (raw == "null" && e.name == "product update") {
                    // PATCH: null means "leave unchanged" for optional members; anything but 5xx is fine.
                    EXPECT_LT(r.result_int(), 500U) << label;
                    continue;
                }
                auto problem = expect_client_error(r, label);
                // A number beyond the range of a double makes the whole body malformed (400);
                // the others are well-formed JSON with a bad field (422).
                EXPECT_EQ(r.result_int(), raw == "1e400" ? 400U : 422U) << label << ": " << r.body();
                if (problem.contains("errors")) {
                    bool names_field = false;
                    for (const auto& fe : problem.at("errors").as_array())
                        names_field |= fe.at("field").as_string() == e.integer_field;
                    EXPECT_TRUE(names_field) << label << ": " << r.body();
                }
            }
        }
    }

    // Quantities: negative, zero, huge, fractional → 422 naming the line's quantity.
    for (const std::string q : {"-1", "0", "-99999999999999999999", "99999999999999999999", "1.5", "1000001", "\"1\""}) {
        auto body = R"({"items":[{"product_id":)" + pid + R"(,"quantity":)" + q +
                    R"(}],"shipping_address":{"line1":"1 Main St","city":"Oslo"}})";
        auto r = call(bhttp::verb::post, "/api/v1/orders", body, alice, fresh_key());
        auto problem = expect_client_error(r, "quantity " + q);
        EXPECT_EQ(r.result_int(), 422U) << q << ": " << r.body();
        ASSERT_TRUE(problem.contains("errors")) << r.body();
        EXPECT_NE(json::serialize(problem.at("errors")).find("quantity"), std::string::npos) << r.body();
    }
    for (const std::string id : {"-5", "0", "1.5", "99999999999999999999"}) {
        auto body = R"({"items":[{"product_id":)" + id + R"(,"quantity":1}],"shipping_address":{"line1":"1 Main St","city":"Oslo"}})";
        auto r = call(bhttp::verb::post, "/api/v1/orders", body, alice, fresh_key());
        expect_client_error(r, "product_id " + id);
    }
    // Negative stock and price on a product.
    for (const auto& [field, raw] : std::vector<std::pair<std::string, std::string>>{{"stock", "-1"}, {"price_cents", "-1"}}) {
        auto r = call(bhttp::verb::post, "/api/v1/products",
                      with_member(R"({"sku":"neg-1","name":"Thing","price_cents":100,"stock":5})", field, raw), admin_);
        EXPECT_EQ(r.result_int(), 422U) << field << ": " << r.body();
    }

    // Nothing hostile got in, and the server is still healthy.
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM products"), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM users"), 1);
    EXPECT_EQ(http_call(port(), bhttp::verb::get, "/healthz").result_int(), 200U);
}

// ---- SQL metacharacters ----

const std::vector<std::string> kNasty = {
    "O'Brien",
    "Robert'); DROP TABLE products; --",
    "\"double\" quotes",
    "semi;colon -- comment",
    "/* block */ comment",
    "back\\slash \\' \\\\",
    "100% _under_ %%",
    "$1 $2 ::text",
    "' OR '1'='1",
    "unicode \xe2\x80\x94 \xf0\x9f\x98\x80 caf\xc3\xa9",
};

TEST_F(HostileE2E, SqlMetacharactersInTextFieldsAreStoredVerbatim) {
    start();
    int n = 0;
    for (const auto& nasty : kNasty) {
        ++n;
        SCOPED_TRACE(nasty);
        // Registration name, read back through /me.
        const std::string email = "user" + std::to_string(n) + "@example.com";
        auto token = customer(email, nasty);
        auto me = call(bhttp::verb::get, "/api/v1/auth/me", "", token);
        ASSERT_EQ(me.result_int(), 200U) << me.body();
        EXPECT_EQ(json_object(me).at("name").as_string(), nasty);

        // Product name and description, read back by id.
        json::object body{{"sku", "sku-" + std::to_string(n)}, {"name", nasty}, {"description", nasty},
                          {"price_cents", 100}, {"stock", 10}};
        auto created = call(bhttp::verb::post, "/api/v1/products", json::serialize(body), admin_);
        ASSERT_EQ(created.result_int(), 201U) << created.body();
        const auto id = json_object(created).at("id").as_int64();
        auto got = call(bhttp::verb::get, "/api/v1/products/" + std::to_string(id));
        ASSERT_EQ(got.result_int(), 200U) << got.body();
        EXPECT_EQ(json_object(got).at("name").as_string(), nasty);
        EXPECT_EQ(json_object(got).at("description").as_string(), nasty);

        // Review title and body.
        auto review = call(bhttp::verb::post,
                           "/api/v1/products/" + std::to_string(id) + "/reviews",
                           json::serialize(json::object{{"rating", 5}, {"title", nasty}, {"body", nasty}}),
                           token);
        ASSERT_EQ(review.result_int(), 201U) << review.body();
        auto reviews = call(bhttp::verb::get, "/api/v1/products/" + std::to_string(id) + "/reviews");
        ASSERT_EQ(reviews.result_int(), 200U);
        EXPECT_NE(reviews.body().find(json::serialize(json::string(nasty))), std::string::npos) << reviews.body();

        // Shipping address of an order, read back.
        json::object order{{"items", json::array{json::object{{"product_id", id}, {"quantity", 1}}}},
                           {"shipping_address", json::object{{"line1", nasty}, {"city", nasty}}}};
        auto placed = call(bhttp::verb::post, "/api/v1/orders", json::serialize(order), token,
                           {{"Idempotency-Key", "k" + std::to_string(n)}});
        ASSERT_EQ(placed.result_int(), 201U) << placed.body();
        auto order_id = json_object(placed).at("id").as_int64();
        auto fetched = call(bhttp::verb::get, "/api/v1/orders/" + std::to_string(order_id), "", token);
        ASSERT_EQ(fetched.result_int(), 200U);
        const auto fetched_order = json_object(fetched);
        const auto& address = fetched_order.at("shipping_address").as_object();
        EXPECT_EQ(address.at("line1").as_string(), nasty);
        EXPECT_EQ(address.at("city").as_string(), nasty);
    }
    // NUL is refused in text fields (PostgreSQL text cannot hold it), with 422 naming the field.
    auto r = call(bhttp::verb::post, "/api/v1/products",
                  R"({"sku":"nul-1","name":"a\u0000b","price_cents":100,"stock":1})", admin_);
    EXPECT_EQ(r.result_int(), 422U) << r.body();
    EXPECT_NE(r.body().find("\"field\":\"name\""), std::string::npos) << r.body();

    // The database is intact: every table still there, exactly the rows we made.
    EXPECT_EQ(sql("SELECT count(*) FROM products"), static_cast<std::int64_t>(kNasty.size()));
    EXPECT_EQ(sql("SELECT count(*) FROM users"), static_cast<std::int64_t>(kNasty.size()));
    EXPECT_EQ(sql("SELECT count(*) FROM reviews"), static_cast<std::int64_t>(kNasty.size()));
    EXPECT_EQ(sql("SELECT count(*) FROM orders"), static_cast<std::int64_t>(kNasty.size()));
}

TEST_F(HostileE2E, SqlMetacharactersInQueryParametersAreHarmless) {
    start();
    const auto token = customer("q@example.com");
    const auto p = product("q-1", "Searchable kettle");
    std::vector<std::string> values = kNasty;
    values.emplace_back(std::string("nul\0byte", 8));
    values.emplace_back("%");
    values.emplace_back("_");
    values.emplace_back("\\");
    values.emplace_back("");
    values.emplace_back(std::string(3000, '\''));
    const std::vector<std::string> targets = {
        "/api/v1/products?q=",
        "/api/v1/products?category=",
        "/api/v1/products?sort=",
        "/api/v1/products?cursor=",
        "/api/v1/products?limit=",
        "/api/v1/products?min_price=",
        "/api/v1/products?max_price=",
        "/api/v1/products/" + std::to_string(p) + "/reviews?cursor=",
        "/api/v1/products/" + std::to_string(p) + "/reviews?limit=",
        "/api/v1/categories/",
        "/api/v1/orders?cursor=",
        "/api/v1/orders?limit=",
    };
    int checked = 0;
    for (const auto& target : targets) {
        for (const auto& v : values) {
            auto r = call(bhttp::verb::get, target + url_encode(v), "", token);
            ++checked;
            EXPECT_LT(r.result_int(), 500U) << target << url_encode(v) << ": " << r.body();
            if (r.result_int() >= 400) {
                EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json") << target << url_encode(v);
            }
        }
    }
    EXPECT_EQ(checked, static_cast<int>(targets.size() * values.size()));
    // A search with metacharacters finds nothing instead of everything.
    auto all = call(bhttp::verb::get, "/api/v1/products?q=" + url_encode("' OR '1'='1"));
    ASSERT_EQ(all.result_int(), 200U);
    EXPECT_EQ(all.body().find("Searchable kettle"), std::string::npos) << all.body();
    // The catalogue and the tables are intact.
    auto found = call(bhttp::verb::get, "/api/v1/products?q=kettle");
    ASSERT_EQ(found.result_int(), 200U);
    EXPECT_NE(found.body().find("Searchable kettle"), std::string::npos) << found.body();
    EXPECT_EQ(sql("SELECT count(*) FROM products"), 1);
    EXPECT_EQ(sql("SELECT count(*) FROM users"), 1);
}

}  // namespace
}  // namespace emporium::test
