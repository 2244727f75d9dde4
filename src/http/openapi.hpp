#pragma once

#include "core/codec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace emporium::http {

// The OpenAPI 3.1 document served at /openapi.json. http::Api adds each declared operation and
// the schemas of its types (schemas()); add_schema() is for the few hand-written shapes.
class OpenApi {
public:
    OpenApi(std::string title, std::string version);

    // `method` in lower case (get, post, …); `operation` is an OpenAPI Operation object.
    void add_operation(const std::string& path, std::string_view method, boost::json::object operation);
    void add_schema(const std::string& name, boost::json::object schema);
    void add_tag(const std::string& name, const std::string& description);
    // components.securitySchemes[name] (e.g. bearerAuth), for operations' `security` lists.
    void add_security_scheme(const std::string& name, boost::json::object scheme);

    core::codec::SchemaSet& schemas() { return schemas_; }
    // The whole document, the schemas of the declared types included.
    boost::json::object document() const;
    std::string serialize() const;

    // A `responses` entry referring to the Problem schema.
    static boost::json::object problem_ref(std::string_view description);

    // Building blocks shared by every area's route documentation.
    // {"$ref": "#/components/schemas/<name>"}
    static boost::json::object schema_ref(std::string_view name);
    // A required application/json request body of schema `name`.
    static boost::json::object json_body(std::string_view name);
    // A response with `description` and an application/json body of schema `name`.
    static boost::json::object json_response(std::string_view description, std::string_view name);
    // `security` of an operation that needs a bearer token.
    static boost::json::array bearer_security();
    // A parameter object (`in` is path, query or header).
    static boost::json::object parameter(std::string_view name,
                                         std::string_view in,
                                         boost::json::object schema,
                                         std::string_view description,
                                         bool required = false);
    static boost::json::object integer_schema();  // int64
    static boost::json::object string_schema();

private:
    boost::json::object doc_;
    core::codec::SchemaSet schemas_;
};

}  // namespace emporium::http
