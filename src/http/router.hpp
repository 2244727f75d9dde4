#pragma once

#include "http/types.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::http {

// Who may call a route; enforced by the authentication middleware.
enum class Access {
    kPublic,         // anyone; a valid bearer token is still read if present
    kAuthenticated,  // any signed-in user (401 without a valid token)
    kAdmin,          // role admin (401 without a token, 403 for other roles)
};

// A documented status other than the success one: 409 "out_of_stock", 304 "not modified", ...
struct ErrorDoc {
    unsigned status = 0;
    std::string description;
};

// A request header a handler reads (handed over in Caller::headers), or a response header it
// sets; both are documented.
struct HeaderDoc {
    std::string name;
    std::string description;
    bool required = false;
};

// The one declaration of a route: the router, the middleware (authentication, rate limits, body
// media type) and the OpenAPI operation all read it. Routes declare it with http::Api
// (http/endpoint.hpp), which also fills in what the handler's input and output types imply.
struct Operation {
    Verb method = Verb::get;
    std::string path{};  // template: /api/v1/products/{id}
    std::string id{};    // OpenAPI operationId
    std::string tag{};
    std::string summary{};
    std::string description{};
    Access access = Access::kPublic;
    // Rate-limit policy group (auth, read, write); empty = by method (read for GET, else write).
    std::string rate_group{};
    // The Idempotency-Key header is required (400 without); the handler gets it in Caller.
    bool idempotency_key = false;
    // Its reads may be served by read replicas (DATABASE_REPLICA_URLS): a signed-in caller's
    // read-your-writes position is looked up for it (RequestContext::read_after). A signed-in
    // caller's other requests get the largest position, so that a read that was not declared here
    // goes to the primary.
    bool replica_reads = false;
    Status success = Status::ok;
    std::string success_description = "OK";
    // The success body's media type (application/json unless the output is http::Bytes).
    std::string media_type = "application/json";
    // Statuses besides `success`: errors, 304/303 (no body), or another 2xx (documented with the
    // success's body).
    std::vector<ErrorDoc> errors{};
    std::vector<HeaderDoc> request_headers{};
    std::vector<HeaderDoc> response_headers{};
    // Set by http::Api from the input type: the body is JSON (else 415), or raw bytes.
    bool json_body = false;
    // Documentation only (system routes): kept out of the OpenAPI document.
    bool hidden = false;
};

struct Route {
    std::vector<std::string> segments;
    Handler handler;
    std::shared_ptr<const Operation> operation;

    Verb method() const { return operation->method; }
    const std::string& path() const { return operation->path; }
};

struct RouteMatch {
    enum class Kind { kFound, kNotFound, kMethodNotAllowed };
    Kind kind = Kind::kNotFound;
    const Route* route = nullptr;
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<Verb> allowed;  // for kMethodNotAllowed
};

// Method + path-template router. Literal segments win over `{param}` segments, so
// /products/search and /products/{id} can coexist. Registration happens before the server
// starts; matching is read-only and thread-safe.
class Router {
public:
    // Throws std::invalid_argument for a malformed template or a duplicate (method, template).
    void add(std::shared_ptr<const Operation> operation, Handler handler);

    // `path` is the request target's path, still percent-encoded; parameters are returned decoded.
    RouteMatch match(Verb method, std::string_view path) const;

    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

// Percent-decodes one path segment; returns false for malformed escapes.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace emporium::http
