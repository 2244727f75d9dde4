#pragma once
// The HTTP side of rate limiting: picks the route group's policy and the client's key, asks the
// RateLimiter, and answers 429 problem+json with Retry-After and RateLimit-Limit/Remaining/Reset.
//
// Groups: a route's RouteOptions::group when it is "auth", "read" or "write", otherwise "read" for
// GET/HEAD and "write" for other methods. Keys: auth = client IP + the `email` of the JSON body
// (read with http::parse_json_object, keyed by core::email_rate_key: login's normalisation,
// folded as far as the database compares addresses; every address the normaliser refuses shares
// one "refused" key per client IP); read = client IP; write = the user (from the bearer token,
// resolved by `resolve_user`) or the client IP when anonymous. POST /api/v1/auth/login is also
// counted per account (group "login_account", key = the e-mail key alone, policy
// RATE_LIMIT_LOGIN_ACCOUNT) once the auth bucket admitted it, so guesses from many addresses are
// throttled; a refused address has no account bucket (it cannot log into any account). Only
// /api/ routes are limited (health checks, metrics and docs are not). The client IP is
// RequestContext::client_ip, which the server takes from X-Forwarded-For only for
// TRUSTED_PROXIES.
//
// When Redis cannot be asked, the policy's failure mode decides: fail open (let the request
// through) or fail closed (503). Both are counted in emporium_rate_limit_decisions_total
// {decision="fail_open"|"fail_closed"} and logged (at most once per 10 s per process).

#include "core/config.hpp"
#include "http/server.hpp"
#include "ratelimit/rate_limiter.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace emporium::ratelimit {

// Returns the authenticated user of a request, or nullopt (must not throw, must not block).
using UserResolver = std::function<std::optional<std::int64_t>(const http::RequestContext&)>;

// The route group of a route ("auth", "read" or "write").
std::string route_group(const http::Route& route);

// The middleware; `limiter` must be usable from every I/O thread (its client provider returns the
// calling thread's client). With `config.enabled == false` it lets everything through.
http::Middleware make_rate_limit_middleware(std::shared_ptr<RateLimiter> limiter,
                                            core::RateLimitConfig config,
                                            UserResolver resolve_user);

}  // namespace emporium::ratelimit
