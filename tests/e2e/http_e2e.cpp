// End-to-end: the real `emporium serve` binary on a free port, spoken to over TCP.
#include "e2e/e2e_fixture.hpp"
#include "support/pg_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

namespace emporium::test {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Res = HttpResponse;

// A blocking HTTP/1.1 connection that can send raw bytes (pipelining, malformed input).
class Conn {
public:
    explicit Conn(unsigned short port) : socket_(io_) {
        socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }
    void send(const std::string& raw) { asio::write(socket_, asio::buffer(raw)); }
    Res read() {
        Res res;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        bhttp::read(socket_, buffer_, parser);
        return parser.release();
    }
    Res read_head_response() {
        bhttp::response_parser<bhttp::string_body> parser;
        parser.skip(true);  // HEAD: headers only
        bhttp::read(socket_, buffer_, parser);
        return parser.release();
    }
    // True when the server closed the connection.
    bool closed_by_peer() {
        boost::system::error_code ec;
        char c;
        socket_.read_some(asio::buffer(&c, 1), ec);
        return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
    Res get(const std::string& target, const std::string& extra_headers = "") {
        send("GET " + target + " HTTP/1.1\r\nHost: t\r\n" + extra_headers + "\r\n");
        return read();
    }

private:
    asio::io_context io_;
    tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

class HttpE2E : public ::testing::Test {
protected:
    // A migrated database: the server is ready once its rank index has loaded the catalog.
    static void SetUpTestSuite() {
        server_ = new ServerProcess({{"HTTP_BODY_LIMIT", "4096"},
                                     {"HTTP_HEADER_LIMIT", "2048"},
                                     {"DATABASE_URL", test::process_test_database_url()}});
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static unsigned short port() { return server_->port(); }
    static ServerProcess* server_;
};
ServerProcess* HttpE2E::server_ = nullptr;

TEST_F(HttpE2E, HealthzAnswersJson) {
    Conn c(port());
    auto r = c.get("/healthz");
    EXPECT_EQ(r.result_int(), 200U);
    EXPECT_EQ(r[bhttp::field::content_type], "application/json");
    EXPECT_EQ(json_object(r).at("status").as_string(), "ok");
    EXPECT_EQ(r["X-Request-Id"].size(), 32U);
}

TEST_F(HttpE2E, EchoesAValidIncomingRequestId) {
    Conn c(port());
    auto r = c.get("/healthz", "X-Request-Id: abc-123\r\n");
    EXPECT_EQ(r["X-Request-Id"], "abc-123");
    auto bad = c.get("/healthz", "X-Request-Id: has spaces<script>\r\n");
    EXPECT_NE(bad["X-Request-Id"], "has spaces<script>");
}

TEST_F(HttpE2E, KeepAliveServesManyRequestsOnOneConnection) {
    Conn c(port());
    for (int i = 0; i < 20; ++i) {
        auto r = c.get("/healthz");
        ASSERT_EQ(r.result_int(), 200U) << i;
        EXPECT_TRUE(r.keep_alive());
    }
}

TEST_F(HttpE2E, PipelinedRequestsAreAnsweredInOrder) {
    Conn c(port());
    c.send(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: first\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: t\r\nX-Request-Id: second\r\n\r\n"
        "GET /openapi.json HTTP/1.1\r\nHost: t\r\nX-Request-Id: third\r\n\r\n");
    auto a = c.read();
    auto b = c.read();
    auto d = c.read();
    EXPECT_EQ(a.result_int(), 200U);
    EXPECT_EQ(a["X-Request-Id"], "first");
    EXPECT_EQ(b.result_int(), 404U);
    EXPECT_EQ(b["X-Request-Id"], "second");
    EXPECT_EQ(d.result_int(), 200U);
    EXPECT_EQ(d["X-Request-Id"], "third");
}

TEST_F(HttpE2E, UnknownPathIs404ProblemJson) {
    Conn c(port());
    auto r = c.get("/api/v1/does-not-exist");
    EXPECT_EQ(r.result_int(), 404U);
    EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
    auto body = json_object(r);
    EXPECT_EQ(body.at("code").as_string(), "not_found");
    EXPECT_EQ(body.at("status").as_int64(), 404);
    EXPECT_EQ(body.at("request_id").as_string(), r["X-Request-Id"]);
}

TEST_F(HttpE2E, WrongMethodIs405WithAllow) {
    Conn c(port());
    c.send("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 405U);
    EXPECT_EQ(r[bhttp::field::allow], "GET, HEAD");
    EXPECT_EQ(json_object(r).at("code").as_string(), "method_not_allowed");
    // The connection stays usable after an application-level error.
    EXPECT_EQ(c.get("/healthz").result_int(), 200U);
}

TEST_F(HttpE2E, HeadReturnsHeadersWithoutBody) {
    Conn c(port());
    c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    auto r = c.read_head_response();
    EXPECT_EQ(r.result_int(), 200U);
    EXPECT_EQ(r[bhttp::field::content_length], "15");  // {"status":"ok"}
    EXPECT_EQ(c.get("/healthz").body(), R"({"status":"ok"})");
}

TEST_F(HttpE2E, OversizedBodyIs413AndConnectionCloses) {
    Conn c(port());
    std::string body(5000, 'x');
    c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body);
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 413U);
    EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
    EXPECT_EQ(json_object(r).at("code").as_string(), "payload_too_large");
}

TEST_F(HttpE2E, ChunkedBodyOverLimitIs413) {
    Conn c(port());
    std::string chunk(3000, 'y');
    c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nBB8\r\n" + chunk + "\r\nBB8\r\n" + chunk +
           "\r\n0\r\n\r\n");
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 413U);
}

TEST_F(HttpE2E, OversizedHeadersAre431) {
    Conn c(port());
    c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(4000, 'h') + "\r\n\r\n");
    auto r = c.read();
    EXPECT_EQ(r.result_int(), 431U);
    EXPECT_EQ(json_object(r).at("code").as_string(), "headers_too_large");
}

TEST_F(HttpE2E, MalformedRequestIs400AndServerSurvives) {
    {
        Conn c(port());
        c.send("THIS IS NOT HTTP\r\n\r\n");
        auto r = c.read();
        EXPECT_EQ(r.result_int(), 400U);
        EXPECT_EQ(json_object(r).at("code").as_string(), "bad_request");
        EXPECT_TRUE(c.closed_by_peer());
    }
    {
        Conn c(port());
        c.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n");
        EXPECT_EQ(c.read().result_int(), 400U);
    }
    {
        Conn c(port());
        c.send("GET /hea\x01lthz HTTP/1.1\r\nHost: t\r\n\r\n");
        EXPECT_EQ(c.read().result_int(), 400U);
    }
    Conn fresh(port());
    EXPECT_EQ(fresh.get("/healthz").result_int(), 200U);
}

TEST_F(HttpE2E, OpenApiDocumentIsServed) {
    Conn c(port());
    auto r = c.get("/openapi.json");
    ASSERT_EQ(r.result_int(), 200U);
    auto doc = json_object(r);
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    EXPECT_TRUE(doc.at("paths").as_object().contains("/healthz"));
    EXPECT_TRUE(doc.at("components").at("schemas").as_object().contains("Problem"));
}

TEST_F(HttpE2E, SwaggerUiIsServedWithContentTypes) {
    Conn c(port());
    auto redirect = c.get("/docs");
    EXPECT_EQ(redirect.result_int(), 301U);
    EXPECT_EQ(redirect[bhttp::field::location], "/docs/");
    auto index = c.get("/docs/");
    ASSERT_EQ(index.result_int(), 200U);
    EXPECT_EQ(index[bhttp::field::content_type], "text/html; charset=utf-8");
    EXPECT_NE(index.body().find("swagger-ui-bundle.js"), std::string::npos);
    auto js = c.get("/docs/swagger-ui-bundle.js");
    ASSERT_EQ(js.result_int(), 200U) << "swagger-ui-dist must be installed by scripts/deps.sh";
    EXPECT_EQ(js[bhttp::field::content_type], "text/javascript; charset=utf-8");
    EXPECT_GT(js.body().size(), 100000U);
    auto css = c.get("/docs/swagger-ui.css");
    EXPECT_EQ(css[bhttp::field::content_type], "text/css; charset=utf-8");
    auto init = c.get("/docs/swagger-initializer.js");
    EXPECT_NE(init.body().find("/openapi.json"), std::string::npos);
    EXPECT_EQ(c.get("/docs/..%2F..%2Fetc%2Fpasswd").result_int(), 404U);
}

TEST_F(HttpE2E, MetricsCountRequestsByRouteTemplate) {
    Conn c(port());
    c.get("/healthz");
    auto r = c.get("/metrics");
    ASSERT_EQ(r.result_int(), 200U);
    EXPECT_NE(r[bhttp::field::content_type].find("text/plain"), std::string::npos);
    EXPECT_NE(r.body().find("emporium_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
              std::string::npos)
        << r.body().substr(0, 2000);
    EXPECT_NE(r.body().find("emporium_http_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(HttpE2E, ReadyzChecksPostgresRedisAndTheRankIndex) {
    Conn c(port());
    // The rank index loads in the background after the server starts listening; until then the
    // server is alive but not ready.
    Res r;
    eventually(
        [&] {
            r = c.get("/readyz");
            return r.result_int() == 200;
        },
        std::chrono::seconds(5));
    ASSERT_EQ(r.result_int(), 200U) << r.body();
    auto body = json_object(r);
    EXPECT_EQ(body.at("checks").at("postgres").as_string(), "ok");
    EXPECT_EQ(body.at("checks").at("redis").as_string(), "ok");
    EXPECT_EQ(body.at("checks").at("rank_index").as_string(), "ok");
}

TEST(HttpE2EStandalone, ReadyzIs503WhenDependenciesAreDown) {
    // Ports nothing listens on.
    ServerProcess server({{"DATABASE_URL", "postgresql://emporium@127.0.0.1:1/postgres"},
                          {"REDIS_URL", "redis://127.0.0.1:1/0"},
                          {"DB_CONNECT_TIMEOUT_MS", "500"},
                          {"REDIS_CONNECT_TIMEOUT_MS", "500"}});
    Conn c(server.port());
    auto r = c.get("/readyz");
    EXPECT_EQ(r.result_int(), 503U);
    EXPECT_EQ(r[bhttp::field::content_type], "application/problem+json");
    EXPECT_NE(r.body().find("postgres"), std::string::npos);
    EXPECT_EQ(c.get("/healthz").result_int(), 200U);  // alive, just not ready
}

TEST(HttpE2EStandalone, SigtermDrainsAndExitsZero) {
    ServerProcess server;
    Conn idle(server.port());
    EXPECT_EQ(idle.get("/healthz").result_int(), 200U);  // keep-alive connection left open
    server.process().signal(SIGTERM);
    EXPECT_EQ(server.process().wait(std::chrono::seconds(10)), 0);
    EXPECT_TRUE(idle.closed_by_peer());
}

TEST(HttpE2EStandalone, BadConfigurationExitsNonZeroWithMessage) {
    Process p({EMPORIUM_BINARY, "serve", "--env-file", "/nonexistent"}, {{"HTTP_PORT", "not-a-port"}});
    EXPECT_EQ(p.wait(std::chrono::seconds(10)), 2);
}

}  // namespace
}  // namespace emporium::test
