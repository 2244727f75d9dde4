#include "http/router.hpp"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

boost::asio::awaitable<Response> noop(RequestContext&) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): never run
    co_return Response{};
}

// Registers a route declared with nothing but its method and path.
void add(Router& r, Verb method, std::string path, Handler handler) {
    Operation op;
    op.method = method;
    op.path = std::move(path);
    r.add(std::make_shared<const Operation>(std::move(op)), std::move(handler));
}

TEST(Router, MatchesLiteralAndParameterSegments) {
    Router r;
    add(r, Verb::get, "/api/v1/products/{id}", noop);
    add(r, Verb::get, "/api/v1/products", noop);
    auto m = r.match(Verb::get, "/api/v1/products/42");
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(m.route->path(), "/api/v1/products/{id}");
    ASSERT_EQ(m.params.size(), 1U);
    EXPECT_EQ(m.params[0].first, "id");
    EXPECT_EQ(m.params[0].second, "42");
    EXPECT_EQ(r.match(Verb::get, "/api/v1/products").route->path(), "/api/v1/products");
}

TEST(Router, LiteralBeatsParameterRegardlessOfOrder) {
    Router r;
    add(r, Verb::get, "/products/{id}", noop);
    add(r, Verb::get, "/products/search", noop);
    EXPECT_EQ(r.match(Verb::get, "/products/search").route->path(), "/products/search");
    EXPECT_EQ(r.match(Verb::get, "/products/7").route->path(), "/products/{id}");
}

TEST(Router, DecodesPercentEncodedParameters) {
    Router r;
    add(r, Verb::get, "/categories/{slug}", noop);
    auto m = r.match(Verb::get, "/categories/home%20%26%20garden");
    ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
    EXPECT_EQ(m.params[0].second, "home & garden");
    EXPECT_EQ(r.match(Verb::get, "/categories/bad%zz").kind, RouteMatch::Kind::kNotFound);
    EXPECT_EQ(r.match(Verb::get, "/categories/trunc%2").kind, RouteMatch::Kind::kNotFound);
}

TEST(Router, UnknownPathIsNotFound) {
    Router r;
    add(r, Verb::get, "/a/{x}", noop);
    EXPECT_EQ(r.match(Verb::get, "/a").kind, RouteMatch::Kind::kNotFound);
    EXPECT_EQ(r.match(Verb::get, "/a/1/2").kind, RouteMatch::Kind::kNotFound);
    EXPECT_EQ(r.match(Verb::get, "/a/").kind, RouteMatch::Kind::kNotFound);  // empty parameter
    EXPECT_EQ(r.match(Verb::get, "").kind, RouteMatch::Kind::kNotFound);
    EXPECT_EQ(r.match(Verb::get, "/b/1").kind, RouteMatch::Kind::kNotFound);
}

TEST(Router, WrongMethodListsAllowedMethods) {
    Router r;
    add(r, Verb::get, "/orders/{id}", noop);
    add(r, Verb::delete_, "/orders/{id}", noop);
    add(r, Verb::post, "/orders", noop);
    auto m = r.match(Verb::put, "/orders/3");
    ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
    ASSERT_EQ(m.allowed.size(), 2U);
    EXPECT_EQ(m.allowed[0], Verb::get);
    EXPECT_EQ(m.allowed[1], Verb::delete_);
}

TEST(Router, RejectsMalformedAndDuplicateTemplates) {
    Router r;
    EXPECT_THROW(add(r, Verb::get, "no-slash", noop), std::invalid_argument);
    EXPECT_THROW(add(r, Verb::get, "/a/{b", noop), std::invalid_argument);
    EXPECT_THROW(add(r, Verb::get, "/a/x{b}", noop), std::invalid_argument);
    add(r, Verb::get, "/a/{b}", noop);
    EXPECT_THROW(add(r, Verb::get, "/a/{b}", noop), std::invalid_argument);
    EXPECT_NO_THROW(add(r, Verb::post, "/a/{b}", noop));
}

TEST(PercentDecode, HandlesEscapesAndRejectsBadOnes) {
    std::string out;
    EXPECT_TRUE(percent_decode("a%2Fb", out));
    EXPECT_EQ(out, "a/b");
    EXPECT_TRUE(percent_decode("%41%62", out));
    EXPECT_EQ(out, "Ab");
    EXPECT_FALSE(percent_decode("%", out));
    EXPECT_FALSE(percent_decode("%4", out));
    EXPECT_FALSE(percent_decode("%g1", out));
}

}  // namespace
}  // namespace emporium::http
