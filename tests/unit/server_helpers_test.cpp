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

}  // namespace
}  // namespace emporium::http
