#include "http/json_body.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

TEST(ClientIp, IgnoresForwardedForFromUntrustedPeers) {
    EXPECT_EQ(Server::client_ip("203.0.113.9", "1.2.3.4", {}), "203.0.113.9");
    EXPECT_EQ(Server::client_ip("203.0.113.9", "1.2.3.4", {"127.0.0.1"}), "203.0.113.9");
}

TEST(ClientIp, TakesRightmostUntrustedHopBehindTrustedProxy) {
    std::vector<std::string> trusted = {"127.0.0.1", "10.0.0.2"};
    EXPECT_EQ(Server::client_ip("127.0.0.1", "1.2.3.4", trusted), "1.2.3.4");
    // A client-supplied (spoofed) left-most entry is not believed.
    EXPECT_EQ(Server::client_ip("127.0.0.1", "6.6.6.6, 1.2.3.4", trusted), "1.2.3.4");
    EXPECT_EQ(Server::client_ip("127.0.0.1", "1.2.3.4, 10.0.0.2", trusted), "1.2.3.4");
    EXPECT_EQ(Server::client_ip("127.0.0.1", "", trusted), "127.0.0.1");
    EXPECT_EQ(Server::client_ip("127.0.0.1", " , ", trusted), "127.0.0.1");
}

TEST(StaticFiles, ContentTypesByExtension) {
    EXPECT_EQ(content_type_for("swagger-ui.css"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("swagger-ui-bundle.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("favicon-32x32.png"), "image/png");
    EXPECT_EQ(content_type_for("x.js.map"), "application/json");
    EXPECT_EQ(content_type_for("LICENSE"), "application/octet-stream");
}

TEST(StaticFiles, LookupIsExactNoTraversal) {
    StaticFiles files;
    files.put("a.js", "text/javascript", "x");
    EXPECT_NE(files.find("a.js"), nullptr);
    EXPECT_EQ(files.find("../a.js"), nullptr);
    EXPECT_EQ(files.find("A.js"), nullptr);
}

// Found by the json fuzz target: 1e400 parsed as infinity and was written back as `Infinity`,
// which PostgreSQL refuses as jsonb (a shipping address answered 5xx instead of 400).
TEST(JsonBody, RejectsNumbersOutOfRange) {
    Request req;
    req.body() = R"({"shipping_address":{"line1":"x","n":1e400}})";
    auto parsed = parse_json_object(req);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, core::Errc::kBadRequest);
    req.body() = R"({"a":[-1e999]})";
    EXPECT_FALSE(parse_json_object(req));
    req.body() = R"({"a":1.5e300,"b":[1,{"c":-2.5}]})";
    EXPECT_TRUE(parse_json_object(req));
}

}  // namespace
}  // namespace emporium::http
