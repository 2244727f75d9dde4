#pragma once

#include "http/types.hpp"

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

// Options of one route, read by the server's middleware.
struct RouteOptions {
    // Rate-limit policy group (auth, read, write, ...); empty = the default for the method.
    std::string group;
    // POST/PUT/PATCH bodies must be JSON (else 415).
    bool json_body = true;
    Access access = Access::kPublic;
};

struct Route {
    Verb method;
    std::string path;  // template: /api/v1/products/{id}
    std::vector<std::string> segments;
    Handler handler;
    RouteOptions options;
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
    void add(Verb method, std::string path, Handler handler, RouteOptions options = {});

    // `path` is the request target's path, still percent-encoded; parameters are returned decoded.
    RouteMatch match(Verb method, std::string_view path) const;

    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
};

// Percent-decodes one path segment; returns false for malformed escapes.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace emporium::http
