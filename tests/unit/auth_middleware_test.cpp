// The authentication middleware against in-memory requests: 401 vs 403, WWW-Authenticate, and what
// it records in the RequestContext. No database: verifying a token never touches the store.
#include "auth/auth_routes.hpp"
#include "support/run_coro.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <stdexcept>

namespace emporium::auth {
namespace {

using namespace std::chrono_literals;

db::Pool& no_pool() {
    throw std::logic_error("the middleware must not touch the database");
}

AuthSettings cheap_settings() {
    AuthSettings s;
    s.jwt = JwtSettings{"0123456789abcdef0123456789abcdef-middleware", "emporium", "emporium-api", 900s, 30s};
    s.password = PasswordParams{1, 8192};
    return s;
}

class AuthMiddlewareTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_GE(sodium_init(), 0); }

    // Runs the middleware for a route with `access` and an optional Authorization header.
    http::MiddlewareResult run(http::Access access, const std::string& authorization) {
        request_ = http::Request{http::Verb::get, "/api/v1/x", 11};
        if (!authorization.empty()) request_.set(http::bhttp::field::authorization, authorization);
        ctx_ =
            std::make_unique<http::RequestContext>(http::RequestContext{request_,
                                                                        "rid-1",
                                                                        "127.0.0.1",
                                                                        "/api/v1/x",
                                                                        {},
                                                                        {},
                                                                        std::chrono::steady_clock::now() + 5s,
                                                                        std::nullopt,
                                                                        {}});
        operation_->access = access;
        return test::run_coro(middleware_(*ctx_, route_));
    }

    core::CpuPool cpu_{1};
    std::shared_ptr<AuthService> service_ = std::make_shared<AuthService>(
        cheap_settings(), AuthStore([]() -> db::Pool& { return no_pool(); }), cpu_);
    http::Middleware middleware_ = make_auth_middleware(service_);
    http::Request request_;
    std::unique_ptr<http::RequestContext> ctx_;
    std::shared_ptr<http::Operation> operation_ = std::make_shared<http::Operation>(http::Operation{.path = "/api/v1/x"});
    http::Route route_{{}, {}, operation_};
};

TEST_F(AuthMiddlewareTest, PublicRoutePassesAnonymously) {
    auto r = run(http::Access::kPublic, "");
    EXPECT_FALSE(r.response);
    EXPECT_FALSE(ctx_->user_id);
}

TEST_F(AuthMiddlewareTest, ValidTokenSetsUserAndRole) {
    auto r = run(http::Access::kAuthenticated, "Bearer " + service_->issue_access_token(7, Role::kCustomer));
    EXPECT_FALSE(r.response);
    EXPECT_EQ(ctx_->user_id, 7);
    EXPECT_EQ(ctx_->user_role, "customer");
    // The scheme is case-insensitive (RFC 7235).
    r = run(http::Access::kPublic, "bearer " + service_->issue_access_token(8, Role::kAdmin));
    EXPECT_FALSE(r.response);
    EXPECT_EQ(ctx_->user_id, 8);
    EXPECT_EQ(ctx_->user_role, "admin");
}

TEST_F(AuthMiddlewareTest, BadTokenOnAPublicRouteIsIgnored) {
    auto r = run(http::Access::kPublic, "Bearer not.a.token");
    EXPECT_FALSE(r.response);
    EXPECT_FALSE(ctx_->user_id);
}

TEST_F(AuthMiddlewareTest, MissingTokenIs401WithPlainChallenge) {
    auto r = run(http::Access::kAuthenticated, "");
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->result(), http::Status::unauthorized);
    EXPECT_EQ((*r.response)[http::bhttp::field::www_authenticate], "Bearer realm=\"emporium\"");
    EXPECT_EQ((*r.response)[http::bhttp::field::content_type], "application/problem+json");
    EXPECT_NE(r.response->body().find("\"code\":\"unauthorized\""), std::string::npos);
}

TEST_F(AuthMiddlewareTest, BadTokenIs401WithInvalidTokenError) {
    const std::vector<std::string> headers = {
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer " + service_->issue_access_token(7, Role::kCustomer) + "x"};
    for (const auto& header : headers) {
        auto r = run(http::Access::kAuthenticated, header);
        ASSERT_TRUE(r.response) << header;
        EXPECT_EQ(r.response->result(), http::Status::unauthorized) << header;
        EXPECT_EQ((*r.response)[http::bhttp::field::www_authenticate],
                  "Bearer realm=\"emporium\", error=\"invalid_token\"")
            << header;
        EXPECT_FALSE(ctx_->user_id);
    }
}

TEST_F(AuthMiddlewareTest, AdminRouteIs403ForCustomersAnd401ForAnonymous) {
    auto r = run(http::Access::kAdmin, "Bearer " + service_->issue_access_token(7, Role::kCustomer));
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->result(), http::Status::forbidden);
    EXPECT_NE(r.response->body().find("\"code\":\"forbidden\""), std::string::npos);
    r = run(http::Access::kAdmin, "");
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->result(), http::Status::unauthorized);
    r = run(http::Access::kAdmin, "Bearer " + service_->issue_access_token(1, Role::kAdmin));
    EXPECT_FALSE(r.response);
}

TEST_F(AuthMiddlewareTest, TokenSignedWithAnotherSecretIsRejected) {
    auto other_settings = cheap_settings();
    other_settings.jwt.secret = "another-secret-another-secret-another-secret";
    AuthService other(other_settings, AuthStore([]() -> db::Pool& { return no_pool(); }), cpu_);
    auto r = run(http::Access::kAuthenticated, "Bearer " + other.issue_access_token(7, Role::kAdmin));
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->result(), http::Status::unauthorized);
}

TEST(BearerUserResolver, ReturnsTheUserOfAValidTokenOnly) {
    ASSERT_GE(sodium_init(), 0);
    core::CpuPool cpu(1);
    auto service = std::make_shared<AuthService>(
        cheap_settings(), AuthStore([]() -> db::Pool& { return no_pool(); }), cpu);
    auto resolve = bearer_user_resolver(service);
    http::Request req{http::Verb::post, "/x", 11};
    http::RequestContext ctx{req, "r", "127.0.0.1", "/x", {}, {}, {}, std::nullopt, {}};
    EXPECT_FALSE(resolve(ctx));
    req.set(http::bhttp::field::authorization, "Bearer " + service->issue_access_token(99, Role::kCustomer));
    EXPECT_EQ(resolve(ctx), 99);
    req.set(http::bhttp::field::authorization, "Bearer forged.token.here");
    EXPECT_FALSE(resolve(ctx));
}

}  // namespace
}  // namespace emporium::auth
