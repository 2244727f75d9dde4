#include "http/openapi.hpp"

#include <boost/json/array.hpp>
#include "core/json_text.hpp"

namespace emporium::http {

namespace json = boost::json;

OpenApi::OpenApi(std::string title, std::string version) {
    doc_["openapi"] = "3.1.0";
    doc_["info"] = json::object{{"title", std::move(title)},
                                {"version", std::move(version)},
                                {"description", "Emporium e-commerce backend API. Errors are RFC 9457 "
                                                "application/problem+json documents with a stable `code`."}};
    // Relative: the document describes the server that serves it.
    doc_["servers"] = json::array{json::object{{"url", "/"}, {"description", "the server serving this document"}}};
    doc_["paths"] = json::object{};
    doc_["tags"] = json::array{};
    json::object problem{
        {"type", "object"},
        {"required", json::array{"type", "title", "status", "code", "request_id"}},
        {"properties",
         json::object{
             {"type", json::object{{"type", "string"}, {"format", "uri"}}},
             {"title", json::object{{"type", "string"}}},
             {"status", json::object{{"type", "integer"}}},
             {"detail", json::object{{"type", "string"}}},
             {"code", json::object{{"type", "string"}, {"description", "stable machine-readable error code"}}},
             {"request_id", json::object{{"type", "string"}}},
             {"errors",
              json::object{{"type", "array"},
                           {"items", json::object{{"type", "object"},
                                                  {"properties", json::object{{"field", json::object{{"type", "string"}}},
                                                                              {"message", json::object{{"type", "string"}}}}}}}}},
         }}};
    doc_["components"] = json::object{{"schemas", json::object{{"Problem", std::move(problem)}}}};
}

void OpenApi::add_operation(const std::string& path, std::string_view method, json::object operation) {
    auto& paths = doc_["paths"].as_object();
    auto& item = paths[path];
    if (!item.is_object()) item = json::object{};
    item.as_object()[method] = std::move(operation);
}

void OpenApi::add_tag(const std::string& name, const std::string& description) {
    doc_["tags"].as_array().push_back(json::object{{"name", name}, {"description", description}});
}

void OpenApi::add_security_scheme(const std::string& name, json::object scheme) {
    auto& components = doc_["components"].as_object();
    auto& schemes = components["securitySchemes"];
    if (!schemes.is_object()) schemes = json::object{};
    schemes.as_object()[name] = std::move(scheme);
}

json::object OpenApi::document() const {
    json::object doc = doc_;
    auto& components = doc["components"].as_object()["schemas"].as_object();
    for (const auto& [name, schema] : schemas_.components()) components[name] = schema;
    return doc;
}

std::string OpenApi::serialize() const { return core::json_text::serialize(document()); }

json::array OpenApi::bearer_security() { return json::array{json::object{{"bearerAuth", json::array{}}}}; }

}  // namespace emporium::http
