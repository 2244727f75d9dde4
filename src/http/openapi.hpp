#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace emporium::http {

// The OpenAPI 3.1 document served at /openapi.json. Each area documents its own routes with
// add_operation() when it registers them; shared schemas go to add_schema().
class OpenApi {
public:
    OpenApi(std::string title, std::string version);

    // `method` in lower case (get, post, …); `operation` is an OpenAPI Operation object.
    void add_operation(const std::string& path, std::string_view method, boost::json::object operation);
    void add_schema(const std::string& name, boost::json::object schema);
    void add_tag(const std::string& name, const std::string& description);
    // components.securitySchemes[name] (e.g. bearerAuth), for operations' `security` lists.
    void add_security_scheme(const std::string& name, boost::json::object scheme);

    const boost::json::object& document() const { return doc_; }
    std::string serialize() const;

    // A `responses` entry referring to the Problem schema.
    static boost::json::object problem_ref(std::string_view description);

private:
    boost::json::object doc_;
};

}  // namespace emporium::http
