#pragma once
// HTTP adapters of the authentication context: the /api/v1/auth routes (each declared once), the bearer-token middleware that enforces Operation::access, and the resolver the
// rate limiter uses to key writes per user.

#include "auth/auth_service.hpp"
#include "http/endpoint.hpp"
#include "http/server.hpp"

#include <boost/describe/class.hpp>
#include <boost/json/object.hpp>

#include <array>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace emporium::auth {

inline constexpr const char* kRealm = "emporium";

// POST /register, /login, /refresh, /logout, /logout-all; GET /me; GET /users/{id} (admin), all
// under /api/v1/auth. The service must outlive the router.
void register_routes(http::Api& api, const std::shared_ptr<AuthService>& service);

// The body decoders of those routes (public for tests and fuzzing): the declared types' decoders,
// which refuse unknown members and return kValidation with every field error at once.
struct Credentials {
    std::string email;
    std::string password;
    static constexpr std::array kFields{core::field("email").length(1, kMaxFieldLength).with_format("email"),
                                        core::field("password").length(1, kMaxFieldLength).verbatim()};
    static constexpr std::string_view kSchemaName = "LoginRequest";
};
BOOST_DESCRIBE_STRUCT(Credentials, (), (email, password))
// POST /register
core::Result<RegisterInput> parse_register_body(const boost::json::object& body);
// POST /login
core::Result<Credentials> parse_login_body(const boost::json::object& body);
// {refresh_token} of POST /refresh and POST /logout.
core::Result<std::string> parse_refresh_body(const boost::json::object& body);

// Reads `Authorization: Bearer <jwt>`; on success sets RequestContext::user_id and user_role.
// Enforces the route's access: kAuthenticated/kAdmin without a token → 401 with
// `WWW-Authenticate: Bearer realm="emporium"`; with a bad token → 401 adding error="invalid_token";
// kAdmin with another role → 403 (error="insufficient_scope"). On kPublic routes a bad token is
// ignored (the request proceeds anonymously).
// A token whose session (`sid`) was revoked is treated as invalid (checked in the database on
// every request that carries one; a database failure propagates, so the server answers 503).
http::Middleware make_auth_middleware(std::shared_ptr<AuthService> service);

// The user id of a request's valid bearer token, or nullopt (for per-user rate limiting, which
// runs before the authentication middleware).
std::function<std::optional<std::int64_t>(const http::RequestContext&)> bearer_user_resolver(
    std::shared_ptr<const AuthService> service);

}  // namespace emporium::auth
