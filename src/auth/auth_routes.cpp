#include "auth/auth_routes.hpp"

#include "http/json_body.hpp"
#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <charconv>
#include <ctime>

namespace emporium::auth {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using http::RequestContext;
using http::Response;
using http::Status;

constexpr std::size_t kMaxFieldLength = 4096;

std::string challenge(std::string_view error = {}, std::string_view description = {}) {
    std::string out = std::string("Bearer realm=\"") + kRealm + "\"";
    if (!error.empty()) out += ", error=\"" + std::string(error) + "\"";
    if (!description.empty()) out += ", error_description=\"" + std::string(description) + "\"";
    return out;
}

// A problem response; 401s carry the Bearer challenge RFC 7235 requires.
Response error_response(const RequestContext& ctx,
                        const core::Error& error,
                        std::string_view challenge_error = {}) {
    auto res = http::problem_response(ctx, error);
    if (error.code == core::Errc::kUnauthorized)
        res.set(http::bhttp::field::www_authenticate, challenge(challenge_error));
    return res;
}

std::string iso8601(Timestamp t) {
    const std::time_t secs =
        std::chrono::system_clock::to_time_t(std::chrono::time_point_cast<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 32> buf{};
    const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

json::object user_json(const User& u) {
    return json::object{{"id", u.id},
                        {"email", u.email},
                        {"name", u.name},
                        {"role", role_name(u.role)},
                        {"created_at", iso8601(u.created_at)}};
}

json::object tokens_json(const TokenPair& t) {
    return json::object{{"access_token", t.access_token},
                        {"token_type", "Bearer"},
                        {"expires_in", t.access_expires_in.count()},
                        {"refresh_token", t.refresh_token},
                        {"refresh_expires_in", t.refresh_expires_in.count()}};
}

// Token responses must not be cached (RFC 6749 §5.1).
Response no_store(Response res) {
    res.set(http::bhttp::field::cache_control, "no-store");
    return res;
}

Response no_content(const RequestContext& ctx) {
    Response res{Status::no_content, ctx.request.version()};
    res.set("X-Request-Id", ctx.request_id);
    return res;
}

}  // namespace

core::Result<RegisterInput> parse_register_body(const json::object& body) {
    http::FieldReader reader(body);
    auto email = reader.string("email", true, 1, kMaxFieldLength);
    auto password = reader.string("password", true, 0, kMaxFieldLength, false);
    auto name = reader.string("name", true, 0, kMaxFieldLength);
    reader.reject_unknown({"email", "password", "name"});
    if (!reader.ok()) return reader.error();
    return RegisterInput{std::move(*email), std::move(*password), std::move(*name)};
}

core::Result<Credentials> parse_login_body(const json::object& body) {
    http::FieldReader reader(body);
    auto email = reader.string("email", true, 1, kMaxFieldLength);
    auto password = reader.string("password", true, 1, kMaxFieldLength, false);
    reader.reject_unknown({"email", "password"});
    if (!reader.ok()) return reader.error();
    return Credentials{std::move(*email), std::move(*password)};
}

core::Result<std::string> parse_refresh_body(const json::object& body) {
    http::FieldReader reader(body);
    auto token = reader.string("refresh_token", true, 1, kMaxFieldLength, false);
    reader.reject_unknown({"refresh_token"});
    if (!reader.ok()) return reader.error();
    return std::move(*token);
}

namespace {

asio::awaitable<Response> handle_register(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                            // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return error_response(ctx, body.error());
    auto input = parse_register_body(*body);  // not a temporary in co_await (GCC 12)
    if (!input) co_return error_response(ctx, input.error());
    auto user = co_await service->register_user(std::move(*input), ctx.request_id);
    if (!user) co_return error_response(ctx, user.error());
    auto res = http::json_response(ctx, Status::created, user_json(*user));
    res.set(http::bhttp::field::location, "/api/v1/auth/me");
    co_return res;
}

asio::awaitable<Response> handle_login(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                         // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return error_response(ctx, body.error());
    auto credentials = parse_login_body(*body);
    if (!credentials) co_return error_response(ctx, credentials.error());
    auto result = co_await service->login(credentials->email, credentials->password, ctx.request_id);
    if (!result) co_return error_response(ctx, result.error());
    auto out = tokens_json(result->tokens);
    out["user"] = user_json(result->user);
    co_return no_store(http::json_response(ctx, Status::ok, out));
}

asio::awaitable<Response> handle_refresh(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                           // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return error_response(ctx, body.error());
    auto token = parse_refresh_body(*body);
    if (!token) co_return error_response(ctx, token.error());
    auto tokens = co_await service->refresh(*token, ctx.request_id);
    if (!tokens) co_return error_response(ctx, tokens.error(), "invalid_token");
    co_return no_store(http::json_response(ctx, Status::ok, tokens_json(*tokens)));
}

asio::awaitable<Response> handle_logout(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                          // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    auto body = http::parse_json_object(ctx.request);
    if (!body) co_return error_response(ctx, body.error());
    auto token = parse_refresh_body(*body);
    if (!token) co_return error_response(ctx, token.error());
    co_await service->logout(*token, ctx.request_id);
    co_return no_content(ctx);
}

asio::awaitable<Response>
handle_logout_all(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                    // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    co_await service->logout_all(ctx.user_id.value_or(0), ctx.request_id);
    co_return no_content(ctx);
}

asio::awaitable<Response> handle_me(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): the
                                      // server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    auto user = co_await service->me(ctx.user_id.value_or(0));
    if (!user) co_return error_response(ctx, user.error(), "invalid_token");
    co_return http::json_response(ctx, Status::ok, user_json(*user));
}

asio::awaitable<Response> handle_get_user(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                            // the server awaits handlers directly
    std::shared_ptr<AuthService> service,
    RequestContext& ctx) {
    const auto text = ctx.param("id");
    std::int64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || ptr != text.data() + text.size() || id <= 0) {
        co_return error_response(
            ctx,
            core::make_error(
                core::Errc::kValidation, "the user id is invalid", {{"id", "must be a positive integer"}}));
    }
    auto user = co_await service->find_user(id);
    if (!user) co_return error_response(ctx, user.error());
    co_return http::json_response(ctx, Status::ok, user_json(*user));
}

using HandlerFn = asio::awaitable<Response> (*)(std::shared_ptr<AuthService>, RequestContext&);

struct Bound {
    HandlerFn fn;
    std::shared_ptr<AuthService> service;
    asio::awaitable<Response> operator()(RequestContext& ctx) const { return fn(service, ctx); }
};

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
    const auto access = route.options.access;
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

// ---- OpenAPI ----

json::object rate_limit_headers() {
    auto integer = [](std::string_view d) {
        return json::object{{"description", d}, {"schema", json::object{{"type", "integer"}}}};
    };
    return json::object{{"Retry-After", integer("seconds until a request will be admitted")},
                        {"RateLimit-Limit", integer("bucket capacity")},
                        {"RateLimit-Remaining", integer("requests left right now")},
                        {"RateLimit-Reset", integer("seconds until the bucket is empty")}};
}

json::object too_many() {
    auto r = http::OpenApi::problem_ref("rate limited (leaky bucket; see the RateLimit-* headers)");
    r["headers"] = rate_limit_headers();
    return r;
}

json::object unauthorized_doc(std::string_view description) {
    auto r = http::OpenApi::problem_ref(description);
    r["headers"] =
        json::object{{"WWW-Authenticate",
                      json::object{{"description", "Bearer challenge (realm=\"emporium\", error=...)"},
                                   {"schema", json::object{{"type", "string"}}}}}};
    return r;
}

void document(http::OpenApi& api) {
    api.add_tag("auth", "Accounts, sessions (JWT access tokens + rotating refresh tokens)");
    api.add_security_scheme("bearerAuth",
                            json::object{{"type", "http"},
                                         {"scheme", "bearer"},
                                         {"bearerFormat", "JWT"},
                                         {"description",
                                          "HS256 access token from /api/v1/auth/login or /refresh. "
                                          "Valid until `exp` unless its session is revoked first: "
                                          "after logout, logout-all or refresh-token reuse it is "
                                          "rejected with 401 at once."}});
    auto str = [](std::int64_t min_len, std::int64_t max_len) {
        return json::object{{"type", "string"}, {"minLength", min_len}, {"maxLength", max_len}};
    };
    auto email = json::object{{"type", "string"},
                              {"format", "email"},
                              {"maxLength", 254},
                              {"description", "trimmed and lower-cased; unique"}};
    api.add_schema("RegisterRequest",
                   json::object{{"type", "object"},
                                {"additionalProperties", false},
                                {"required", json::array{"email", "password", "name"}},
                                {"properties",
                                 json::object{{"email", email},
                                              {"password",
                                               json::object{{"type", "string"},
                                                            {"minLength", 10},
                                                            {"maxLength", 256},
                                                            {"description",
                                                             "at least 10 characters, not one repeated "
                                                             "character, not the e-mail address"}}},
                                              {"name", str(1, 200)}}}});
    api.add_schema("LoginRequest",
                   json::object{{"type", "object"},
                                {"additionalProperties", false},
                                {"required", json::array{"email", "password"}},
                                {"properties", json::object{{"email", email}, {"password", str(1, 4096)}}}});
    api.add_schema("RefreshRequest",
                   json::object{{"type", "object"},
                                {"additionalProperties", false},
                                {"required", json::array{"refresh_token"}},
                                {"properties", json::object{{"refresh_token", str(1, 4096)}}}});
    api.add_schema(
        "User",
        json::object{
            {"type", "object"},
            {"required", json::array{"id", "email", "name", "role", "created_at"}},
            {"properties",
             json::object{
                 {"id", json::object{{"type", "integer"}, {"format", "int64"}}},
                 {"email", json::object{{"type", "string"}}},
                 {"name", json::object{{"type", "string"}}},
                 {"role", json::object{{"type", "string"}, {"enum", json::array{"customer", "admin"}}}},
                 {"created_at", json::object{{"type", "string"}, {"format", "date-time"}}}}}});
    json::object token_props{
        {"access_token", json::object{{"type", "string"}, {"description", "JWT (HS256)"}}},
        {"token_type", json::object{{"type", "string"}, {"enum", json::array{"Bearer"}}}},
        {"expires_in", json::object{{"type", "integer"}, {"description", "access token lifetime, seconds"}}},
        {"refresh_token",
         json::object{{"type", "string"}, {"description", "opaque; single use (rotated by /refresh)"}}},
        {"refresh_expires_in", json::object{{"type", "integer"}, {"description", "seconds"}}}};
    json::array token_required{
        "access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"};
    api.add_schema(
        "TokenPair",
        json::object{{"type", "object"}, {"required", token_required}, {"properties", token_props}});
    auto login_props = token_props;
    login_props["user"] = http::OpenApi::schema_ref("User");
    auto login_required = token_required;
    login_required.push_back("user");
    api.add_schema(
        "LoginResponse",
        json::object{{"type", "object"}, {"required", login_required}, {"properties", login_props}});

    const std::string base = "/api/v1/auth";
    api.add_operation(
        base + "/register",
        "post",
        json::object{{"tags", json::array{"auth"}},
                     {"summary", "Create a customer account"},
                     {"operationId", "register"},
                     {"requestBody", http::OpenApi::json_body("RegisterRequest")},
                     {"responses",
                      json::object{{"201", http::OpenApi::json_response("account created", "User")},
                                   {"400", http::OpenApi::problem_ref("body is not a JSON object")},
                                   {"409", http::OpenApi::problem_ref("e-mail already registered")},
                                   {"422", http::OpenApi::problem_ref("invalid fields (errors[])")},
                                   {"429", too_many()}}}});
    api.add_operation(base + "/login",
                      "post",
                      json::object{{"tags", json::array{"auth"}},
                                   {"summary", "Exchange e-mail and password for a token pair"},
                                   {"description",
                                    "Attempts are limited per client address + e-mail (RATE_LIMIT_AUTH) and per "
                                    "account from all addresses together (RATE_LIMIT_LOGIN_ACCOUNT); both answer "
                                    "429 with Retry-After. The access token names its session (`sid`) and is "
                                    "rejected once that session is revoked."},
                                   {"operationId", "login"},
                                   {"requestBody", http::OpenApi::json_body("LoginRequest")},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("signed in", "LoginResponse")},
                                                 {"401", unauthorized_doc("invalid e-mail or password")},
                                                 {"422", http::OpenApi::problem_ref("missing fields")},
                                                 {"429", too_many()},
                                                 {"503",
                                                  http::OpenApi::problem_ref("rate limiter unavailable "
                                                                             "(auth fails closed)")}}}});
    api.add_operation(
        base + "/refresh",
        "post",
        json::object{{"tags", json::array{"auth"}},
                     {"summary", "Rotate a refresh token"},
                     {"description",
                      "Consumes the refresh token and returns a new pair. Presenting a consumed token "
                      "again revokes its whole family (all sessions descended from that login)."},
                     {"operationId", "refresh"},
                     {"requestBody", http::OpenApi::json_body("RefreshRequest")},
                     {"responses",
                      json::object{{"200", http::OpenApi::json_response("new token pair", "TokenPair")},
                                   {"401", unauthorized_doc("invalid, expired, revoked or reused token")},
                                   {"422", http::OpenApi::problem_ref("missing fields")},
                                   {"429", too_many()}}}});
    api.add_operation(
        base + "/logout",
        "post",
        json::object{{"tags", json::array{"auth"}},
                     {"summary", "Revoke the session (refresh-token family) of a refresh token"},
                     {"operationId", "logout"},
                     {"requestBody", http::OpenApi::json_body("RefreshRequest")},
                     {"responses",
                      json::object{{"204", json::object{{"description", "revoked (or unknown)"}}},
                                   {"422", http::OpenApi::problem_ref("missing fields")},
                                   {"429", too_many()}}}});
    api.add_operation(base + "/logout-all",
                      "post",
                      json::object{{"tags", json::array{"auth"}},
                                   {"summary", "Revoke every session of the signed-in user"},
                                   {"operationId", "logoutAll"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"responses",
                                    json::object{{"204", json::object{{"description", "revoked"}}},
                                                 {"401", unauthorized_doc("missing or invalid token")},
                                                 {"429", too_many()}}}});
    api.add_operation(base + "/me",
                      "get",
                      json::object{{"tags", json::array{"auth"}},
                                   {"summary", "The signed-in user"},
                                   {"operationId", "me"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("the user", "User")},
                                                 {"401", unauthorized_doc("missing or invalid token")},
                                                 {"429", too_many()}}}});
    api.add_operation(base + "/users/{id}",
                      "get",
                      json::object{{"tags", json::array{"auth"}},
                                   {"summary", "A user account (admin only)"},
                                   {"operationId", "getUser"},
                                   {"security", http::OpenApi::bearer_security()},
                                   {"parameters",
                                    json::array{json::object{{"name", "id"},
                                                             {"in", "path"},
                                                             {"required", true},
                                                             {"schema", json::object{{"type", "integer"}}}}}},
                                   {"responses",
                                    json::object{{"200", http::OpenApi::json_response("the user", "User")},
                                                 {"401", unauthorized_doc("missing or invalid token")},
                                                 {"403", http::OpenApi::problem_ref("not an admin")},
                                                 {"404", http::OpenApi::problem_ref("no such user")},
                                                 {"422", http::OpenApi::problem_ref("invalid id")},
                                                 {"429", too_many()}}}});
}

}  // namespace

void register_routes(http::Router& router, http::OpenApi& openapi, std::shared_ptr<AuthService> service) {
    using http::Access;
    using http::Verb;
    const std::string base = "/api/v1/auth";
    const http::RouteOptions auth_group{"auth", true, Access::kPublic};
    router.add(Verb::post, base + "/register", Bound{handle_register, service}, auth_group);
    router.add(Verb::post, base + "/login", Bound{handle_login, service}, auth_group);
    router.add(Verb::post, base + "/refresh", Bound{handle_refresh, service}, auth_group);
    router.add(Verb::post, base + "/logout", Bound{handle_logout, service}, auth_group);
    router.add(Verb::post,
               base + "/logout-all",
               Bound{handle_logout_all, service},
               {"write", true, Access::kAuthenticated});
    router.add(Verb::get, base + "/me", Bound{handle_me, service}, {"read", true, Access::kAuthenticated});
    router.add(
        Verb::get, base + "/users/{id}", Bound{handle_get_user, service}, {"read", true, Access::kAdmin});
    document(openapi);
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
