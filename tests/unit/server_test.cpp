// The HTTP server in-process on a loopback port: middleware, 415, handler failures, timeouts, drain.
#include "core/error.hpp"
#include "core/runtime.hpp"
#include "http/problem.hpp"
#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace emporium::http {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

asio::awaitable<Response> echo(RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    co_return text_response(ctx, Status::ok, ctx.request.body(), "application/json");
}

asio::awaitable<Response> sleep_for(RequestContext& ctx, std::chrono::milliseconds d) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(asio::use_awaitable);
    co_return text_response(ctx, Status::ok, "slept", "text/plain");
}

// Sleeps past the request budget, then does its "cleanup" after one more await: the server must
// not interrupt it (a cancelled coroutine would throw at that await and skip the cleanup).
asio::awaitable<Response> overrun(
    RequestContext& ctx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                          // awaited by the server
    std::atomic<bool>* cleaned_up) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(2s);
    co_await t.async_wait(asio::use_awaitable);
    t.expires_after(10ms);
    co_await t.async_wait(asio::use_awaitable);
    cleaned_up->store(true);
    co_return text_response(ctx, Status::ok, "late", "text/plain");
}

asio::awaitable<Response> fail_logic(RequestContext&) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    throw std::runtime_error("secret internal detail");
    co_return Response{};
}

asio::awaitable<Response> fail_infra(RequestContext&) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    throw core::InfraError("database down: password=hunter2");
    co_return Response{};
}

asio::awaitable<Response> params(RequestContext& ctx) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    std::string q(ctx.query("q").value_or("-"));
    co_return text_response(ctx, Status::ok, std::string(ctx.param("id")) + "|" + q + "|" + ctx.route, "text/plain");
}

asio::awaitable<MiddlewareResult> blocker(RequestContext& ctx, const Route&) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited by the server
    MiddlewareResult r;
    r.extra_headers.emplace_back("X-Seen-By", "blocker");
    if (!ctx.request["X-Block"].empty()) r.response = problem_response(ctx, core::Errc::kRateLimited, "slow down");
    co_return r;
}

class ServerTest : public ::testing::Test {
protected:
    // A route with a JSON body (415 for other media types).
    void add_route(Verb method, std::string path, Handler handler) {
        Operation op;
        op.method = method;
        op.path = std::move(path);
        op.json_body = true;
        router_.add(std::make_shared<const Operation>(std::move(op)), std::move(handler));
    }

    void SetUp() override {
        add_route(Verb::post, "/echo", echo);
        add_route(Verb::get, "/slow", [](RequestContext& c) { return sleep_for(c, 300ms); });
        add_route(Verb::get, "/hang", [](RequestContext& c) { return sleep_for(c, 3s); });
        add_route(Verb::get, "/overrun", [this](RequestContext& c) { return overrun(c, &cleaned_up_); });
        add_route(Verb::get, "/logic", fail_logic);
        add_route(Verb::get, "/infra", fail_infra);
        add_route(Verb::get, "/items/{id}", params);
        core::HttpConfig cfg;
        cfg.port = 0;
        cfg.request_timeout = 1500ms;
        cfg.idle_timeout = 5s;
        cfg.shutdown_grace = 3s;
        server_ = std::make_unique<Server>(runtime_, cfg, router_);
        server_->use(blocker);
        port_ = server_->start();
        thread_ = std::thread([this] { runtime_.run(); });
    }
    void TearDown() override {
        if (!stopped_) stop();
        thread_.join();
    }
    void stop() {
        stopped_ = true;
        server_->shutdown([this] {
            drained_ = true;
            runtime_.release_work();
            runtime_.stop();
        });
    }

    struct Client {
        asio::io_context io;
        tcp::socket sock{io};
        boost::beast::flat_buffer buf;
        explicit Client(unsigned short port) { sock.connect({asio::ip::make_address("127.0.0.1"), port}); }
        bhttp::response<bhttp::string_body> request(const std::string& raw) {
            asio::write(sock, asio::buffer(raw));
            bhttp::response<bhttp::string_body> res;
            bhttp::read(sock, buf, res);
            return res;
        }
    };

    core::Runtime runtime_{2};
    Router router_;
    std::unique_ptr<Server> server_;
    unsigned short port_ = 0;
    std::thread thread_;
    bool stopped_ = false;
    std::atomic<bool> drained_{false};
    std::atomic<bool> cleaned_up_{false};
};

TEST_F(ServerTest, JsonBodyRequiresJsonContentType) {
    Client c(port_);
    auto ok = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_EQ(ok.result_int(), 200U);
    EXPECT_EQ(ok.body(), "{}");
    auto bad = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_EQ(bad.result_int(), 415U);
    EXPECT_EQ(bad[bhttp::field::content_type], "application/problem+json");
    auto missing = c.request("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    EXPECT_EQ(missing.result_int(), 415U);
}

TEST_F(ServerTest, MiddlewareCanShortCircuitAndAddHeaders) {
    Client c(port_);
    auto blocked = c.request("GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Block: 1\r\n\r\n");
    EXPECT_EQ(blocked.result_int(), 429U);
    EXPECT_EQ(blocked["X-Seen-By"], "blocker");
    auto passed = c.request("GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(passed.result_int(), 200U);
    EXPECT_EQ(passed["X-Seen-By"], "blocker");
}

TEST_F(ServerTest, PathAndQueryParametersAreDecoded) {
    Client c(port_);
    auto r = c.request("GET /items/a%2Fb?q=red%20shoes&x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.body(), "a/b|red shoes|/items/{id}");
}

TEST_F(ServerTest, ExceptionsBecome500Or503WithoutLeakingDetails) {
    Client c(port_);
    auto logic = c.request("GET /logic HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(logic.result_int(), 500U);
    EXPECT_EQ(logic.body().find("secret"), std::string::npos);
    auto infra = c.request("GET /infra HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(infra.result_int(), 503U);
    EXPECT_EQ(infra.body().find("hunter2"), std::string::npos);
    EXPECT_EQ(infra[bhttp::field::retry_after], "1");
    // Same connection still works.
    EXPECT_EQ(c.request("GET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n").result_int(), 200U);
}

TEST_F(ServerTest, RequestBudgetCutsOffSlowHandlers) {
    Client c(port_);
    auto started = std::chrono::steady_clock::now();
    auto r = c.request("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.result_int(), 503U);
    EXPECT_LT(took, 2500ms);  // below the handler's 3 s: the budget (1.5 s) applied
    EXPECT_EQ(r[bhttp::field::retry_after], "1");
}

TEST_F(ServerTest, AHandlerPastItsBudgetIsNotInterruptedSoItsCleanupRuns) {
    Client c(port_);
    auto started = std::chrono::steady_clock::now();
    auto r = c.request("GET /overrun HTTP/1.1\r\nHost: x\r\n\r\n");
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(r.result_int(), 503U);
    EXPECT_LT(took, 2s);           // answered at the budget (1.5 s), not when the handler returns
    EXPECT_FALSE(r.keep_alive());  // the connection closes once the handler is done
    EXPECT_FALSE(cleaned_up_.load());
    // The connection stays open (and counted) while the handler runs on.
    EXPECT_EQ(server_->active_connections(), 1U);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!cleaned_up_.load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(cleaned_up_.load()) << "the handler was interrupted before its cleanup";
    while (server_->active_connections() != 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(server_->active_connections(), 0U);
    // Nothing more comes on this connection: the server closed its side after the 503.
    boost::system::error_code ec;
    bhttp::response<bhttp::string_body> more;
    bhttp::read(c.sock, c.buf, more, ec);
    EXPECT_TRUE(ec == bhttp::error::end_of_stream || ec == asio::error::eof) << ec.message();
}

TEST_F(ServerTest, ShutdownFinishesInFlightRequestsThenDrains) {
    auto in_flight = std::async(std::launch::async, [this] {
        Client c(port_);
        return c.request("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    // Wait until the request is being handled.
    for (int i = 0; i < 200 && server_->active_connections() == 0; ++i) std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(50ms);
    stop();
    auto res = in_flight.get();
    EXPECT_EQ(res.result_int(), 200U);
    EXPECT_EQ(res.body(), "slept");
    EXPECT_FALSE(res.keep_alive());  // the server closes after the last response
    thread_.join();
    thread_ = std::thread([] {});
    EXPECT_TRUE(drained_.load());
    // No longer accepting.
    asio::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace emporium::http
