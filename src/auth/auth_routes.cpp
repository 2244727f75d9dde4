#include "auth/auth_routes.hpp"

#include "http/problem.hpp"

#include <boost/describe/class.hpp>
#include <boost/json/object.hpp>

#include <array>

namespace emporium::auth {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::Caller;
using http::In;
using http::NoInput;
using http::Reply;
using http::RequestContext;

std::string challenge(std::string_view error = {}) {
    std::string out = std::string("Bearer realm=\"") + kRealm + "\"";
    if (!error.empty()) out += ", error=\"" + std::string(error) + "\"";
    return out;
}

// A failed reply; 401s carry the Bearer challenge RFC 7235 requires.
template <class T>
Reply<T> failed(core::Error error, std::string_view challenge_error = {}) {
    const bool unauthorized = error.code == core::Errc::kUnauthorized;
    Reply<T> reply(std::move(error));
    if (unauthorized) reply.header("WWW-Authenticate", challenge(challenge_error));
    return reply;
}

struct RefreshRequest {
    std::string refresh_token;
    static constexpr std::array kFields{core::field("refresh_token").length(1, kMaxFieldLength).verbatim().describe(
        "opaque; single use (rotated by /refresh)")};
};
BOOST_DESCRIBE_STRUCT(RefreshRequest, (), (refresh_token))

struct Tokens {
    std::string access_token;
    std::string token_type = "Bearer";
    std::int64_t expires_in = 0;
    std::string refresh_token;
    std::int64_t refresh_expires_in = 0;
    static constexpr std::array kFields{
        core::field("access_token").describe("JWT (HS256)"),
        core::field("token_type").values("Bearer"),
        core::field("expires_in").describe("access token lifetime, seconds"),
        core::field("refresh_token").describe("opaque; single use (rotated by /refresh)"),
        core::field("refresh_expires_in").describe("refresh token lifetime, seconds")};
    static constexpr std::string_view kSchemaName = "TokenPair";
};
BOOST_DESCRIBE_STRUCT(Tokens, (), (access_token, token_type, expires_in, refresh_token, refresh_expires_in))

struct SignedIn : Tokens {
    User user;
    static constexpr std::string_view kSchemaName = "LoginResponse";
};
BOOST_DESCRIBE_STRUCT(SignedIn, (Tokens), (user))

struct UserRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("user id")};
};
BOOST_DESCRIBE_STRUCT(UserRef, (), (id))

Tokens tokens_of(const TokenPair& t) {
    return Tokens{t.access_token, "Bearer", t.access_expires_in.count(), t.refresh_token, t.refresh_expires_in.count()};
}

// Token responses must not be cached (RFC 6749 §5.1).
template <class T>
Reply<T> no_store(T value) {
    Reply<T> reply(std::move(value));
    reply.header("Cache-Control", "no-store");
    return reply;
}

asio::awaitable<Reply<User>> register_user(std::shared_ptr<AuthService> service, In<NoInput, NoInput, RegisterInput> in,
                                           Caller caller) {
    auto user = co_await service->register_user(std::move(in.body), caller.request_id);
    if (!user) co_return failed<User>(user.error());
    Reply<User> reply(std::move(*user));
    reply.header("Location", "/api/v1/auth/me");
    co_return reply;
}

asio::awaitable<Reply<SignedIn>> login(std::shared_ptr<AuthService> service, In<NoInput, NoInput, Credentials> in,
                                       Caller caller) {
    auto result = co_await service->login(in.body.email, in.body.password, caller.request_id);
    if (!result) co_return failed<SignedIn>(result.error());
    SignedIn out;
    static_cast<Tokens&>(out) = tokens_of(result->tokens);
    out.user = std::move(result->user);
    std::optional<std::int64_t> cart;
    if (auto token = caller.header("X-Cart-Token")) cart = co_await service->after_login(out.user.id, std::string(*token));
    auto reply = no_store(std::move(out));
    if (cart) reply.header("X-Cart-Id", std::to_string(*cart));
    co_return reply;
}

asio::awaitable<Reply<Tokens>> refresh(std::shared_ptr<AuthService> service, In<NoInput, NoInput, RefreshRequest> in,
                                       Caller caller) {
    auto tokens = co_await service->refresh(in.body.refresh_token, caller.request_id);
    if (!tokens) co_return failed<Tokens>(tokens.error(), "invalid_token");
    co_return no_store(tokens_of(*tokens));
}

asio::awaitable<Reply<http::NoContent>> logout(std::shared_ptr<AuthService> service,
                                               In<NoInput, NoInput, RefreshRequest> in,
                                               Caller caller) {
    co_await service->logout(in.body.refresh_token, caller.request_id);
    co_return http::NoContent{};
}

asio::awaitable<Reply<http::NoContent>> logout_all(std::shared_ptr<AuthService> service, In<> /*in*/, Caller caller) {
    co_await service->logout_all(caller.user(), caller.request_id);
    co_return http::NoContent{};
}

asio::awaitable<Reply<User>> me(std::shared_ptr<AuthService> service, In<> /*in*/, Caller caller) {
    auto user = co_await service->me(caller.user());
    if (!user) co_return failed<User>(user.error(), "invalid_token");
    co_return std::move(*user);
}

asio::awaitable<Reply<User>> get_user(std::shared_ptr<AuthService> service, In<UserRef> in, Caller /*caller*/) {
    auto user = co_await service->find_user(in.path.id);
    if (!user) co_return failed<User>(user.error());
    co_return std::move(*user);
}

// ---- the authentication middleware ----

std::optional<std::string_view> bearer_token(const http::Request& request, bool& malformed) {
    malformed = false;
    auto it = request.find(http::bhttp::field::authorization);
    if (it == request.end()) return std::nullopt;
    std::string_view value = it->value();
    constexpr std::string_view kScheme = "bearer ";
    if (value.size() <= kScheme.size()) {
        malformed = true;
        return std::nullopt;
    }
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        char c = value[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kScheme[i]) {
            malformed = true;
            return std::nullopt;
        }
    }
    value.remove_prefix(kScheme.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) {
        malformed = true;
        return std::nullopt;
    }
    return value;
}

http::MiddlewareResult unauthorized(const RequestContext& ctx, std::string message, bool token_presented) {
    http::MiddlewareResult r;
    r.response = http::problem_response(ctx, core::Errc::kUnauthorized, std::move(message));
    r.response->set(http::bhttp::field::www_authenticate,
                    token_presented ? challenge("invalid_token") : challenge());
    return r;
}

asio::awaitable<http::MiddlewareResult>
authenticate(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
               // the server awaits the middleware directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx,
    const http::Route& route) {
    const auto access = route.operation->access;
    // The system routes (/healthz, /readyz, /metrics, /openapi.json, /docs) know no users: their
    // Authorization header, if any, is /metrics' own token (METRICS_TOKEN), not an access token,
    // and must not count as a rejected one.
    if (route.operation->rate_group == "system") co_return http::MiddlewareResult{};
    bool malformed = false;
    auto token = bearer_token(ctx.request, malformed);
    if (token) {
        auto claims = service->verify_access_token(*token);
        if (claims && !claims->session_id.empty()) {
            // Signature and expiry are fine; the session may still have been revoked since.
            const bool revoked = co_await service->session_revoked(claims->session_id);
            if (revoked) claims = core::make_error(core::Errc::kUnauthorized, "the session has been revoked");
        }
        if (claims) {
            ctx.user_id = claims->user_id;
            ctx.user_role = std::string(role_name(claims->role));
        } else if (access != http::Access::kPublic) {
            co_return unauthorized(ctx, claims.error().message, true);
        }
    } else if (access != http::Access::kPublic) {
        co_return malformed ? unauthorized(ctx, "the Authorization header must be 'Bearer <token>'", true)
                            : unauthorized(ctx, "this resource requires a bearer token", false);
    }
    if (access == http::Access::kAdmin && ctx.user_role != role_name(Role::kAdmin)) {
        http::MiddlewareResult r;
        r.response =
            http::problem_response(ctx, core::Errc::kForbidden, "this resource requires the admin role");
        r.response->set(http::bhttp::field::www_authenticate, challenge("insufficient_scope"));
        co_return r;
    }
    co_return http::MiddlewareResult{};
}

struct AuthMiddleware {
    std::shared_ptr<AuthService> service;
    asio::awaitable<http::MiddlewareResult> operator()(RequestContext& ctx, const http::Route& route) const {
        return authenticate(service, ctx, route);
    }
};

}  // namespace

core::Result<RegisterInput> parse_register_body(const json::object& body) {
    return core::codec::decode<RegisterInput>(json::value(body));
}

core::Result<Credentials> parse_login_body(const json::object& body) {
    return core::codec::decode<Credentials>(json::value(body));
}

core::Result<std::string> parse_refresh_body(const json::object& body) {
    auto request = core::codec::decode<RefreshRequest>(json::value(body));
    if (!request) return request.error();
    return std::move(request->refresh_token);
}

void register_routes(http::Api& api, const std::shared_ptr<AuthService>& service) {
    using http::Access;
    using http::Verb;
    auto& openapi = api.openapi();
    openapi.add_tag("auth", "Accounts, sessions (JWT access tokens + rotating refresh tokens)");
    openapi.add_security_scheme("bearerAuth",
                                json::object{{"type", "http"},
                                             {"scheme", "bearer"},
                                             {"bearerFormat", "JWT"},
                                             {"description",
                                              "HS256 access token from /api/v1/auth/login or /refresh. Valid until `exp` "
                                              "unless its session is revoked first: after logout, logout-all or "
                                              "refresh-token reuse it is rejected with 401 at once."}});
    const std::string base = "/api/v1/auth";
    api.add({.method = Verb::post,
             .path = base + "/register",
             .id = "register",
             .tag = "auth",
             .summary = "Create a customer account",
             .rate_group = "auth",
             .success = http::Status::created,
             .success_description = "account created",
             .errors = {{409, "e-mail already registered"}},
             .response_headers = {{"Location", "/api/v1/auth/me"}}},
            register_user, service);
    api.add({.method = Verb::post,
             .path = base + "/login",
             .id = "login",
             .tag = "auth",
             .summary = "Exchange e-mail and password for a token pair",
             .description = "Attempts are limited per client address + e-mail (RATE_LIMIT_AUTH) and per account from all "
                            "addresses together (RATE_LIMIT_LOGIN_ACCOUNT); both answer 429 with Retry-After. The access "
                            "token names its session (`sid`) and is rejected once that session is revoked.",
             .rate_group = "auth",
             .success_description = "signed in",
             .errors = {{401, "invalid e-mail or password"}, {503, "rate limiter unavailable (auth fails closed)"}},
             .request_headers = {{"X-Cart-Token", "a guest cart's token: the cart is merged into the customer's cart"}},
             .response_headers = {{"X-Cart-Id", "the customer's cart, when a guest cart was merged into it"}}},
            login, service);
    api.add({.method = Verb::post,
             .path = base + "/refresh",
             .id = "refresh",
             .tag = "auth",
             .summary = "Rotate a refresh token",
             .description = "Consumes the refresh token and returns a new pair. Presenting a consumed token again "
                            "revokes its whole family (all sessions descended from that login).",
             .rate_group = "auth",
             .success_description = "new token pair",
             .errors = {{401, "invalid, expired, revoked or reused token"}}},
            refresh, service);
    api.add({.method = Verb::post,
             .path = base + "/logout",
             .id = "logout",
             .tag = "auth",
             .summary = "Revoke the session (refresh-token family) of a refresh token",
             .rate_group = "auth",
             .success = http::Status::no_content,
             .success_description = "revoked (or unknown)"},
            logout, service);
    api.add({.method = Verb::post,
             .path = base + "/logout-all",
             .id = "logoutAll",
             .tag = "auth",
             .summary = "Revoke every session of the signed-in user",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .success = http::Status::no_content,
             .success_description = "revoked"},
            logout_all, service);
    api.add({.method = Verb::get,
             .path = base + "/me",
             .id = "me",
             .tag = "auth",
             .summary = "The signed-in user",
             .access = Access::kAuthenticated,
             .rate_group = "read",
             .success_description = "the user"},
            me, service);
    api.add({.method = Verb::get,
             .path = base + "/users/{id}",
             .id = "getUser",
             .tag = "auth",
             .summary = "A user account (admin only)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the user",
             .errors = {{404, "no such user"}}},
            get_user, service);
}

http::Middleware make_auth_middleware(std::shared_ptr<AuthService> service) {
    return AuthMiddleware{std::move(service)};
}

std::function<std::optional<std::int64_t>(const http::RequestContext&)> bearer_user_resolver(
    std::shared_ptr<const AuthService> service) {
    return [service = std::move(service)](const http::RequestContext& ctx) -> std::optional<std::int64_t> {
        bool malformed = false;
        auto token = bearer_token(ctx.request, malformed);
        if (!token) return std::nullopt;
        auto claims = service->verify_access_token(*token, false);  // the auth middleware counts rejections
        if (!claims) return std::nullopt;
        return claims->user_id;
    };
}

}  // namespace emporium::auth
