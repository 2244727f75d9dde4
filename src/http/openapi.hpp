#pragma once

#include "core/codec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace emporium::http {

// The OpenAPI 3.1 document served at /openapi.json. http::Api adds each declared operation and
// the schemas of its types (schemas()); the Problem schema is the one written by hand.
class OpenApi {
public:
    OpenApi(std::string title, std::string version);

    // `method` in lower case (get, post, …); `operation` is an OpenAPI Operation object.
    void add_operation(const std::string& path, std::string_view method, boost::json::object operation);
    void add_tag(const std::string& name, const std::string& description);
    // components.securitySchemes[name] (e.g. bearerAuth), for operations' `security` lists.
    void add_security_scheme(const std::string& name, boost::json::object scheme);

    core::codec::SchemaSet& schemas() { return schemas_; }
    // The whole document, the schemas of the declared types included.
    boost::json::object document() const;
    std::string serialize() const;

    // `security` of an operation that needs a bearer token.
    static boost::json::array bearer_security();

private:
    boost::json::object doc_;
    core::codec::SchemaSet schemas_;
};

}  // namespace emporium::http
