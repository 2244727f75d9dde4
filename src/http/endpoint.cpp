#include "http/endpoint.hpp"

#include "http/json_body.hpp"

#include <algorithm>
#include <map>

namespace emporium::http {

namespace json = boost::json;

std::optional<std::string_view> Caller::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

void add_header(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name, std::string value) {
    headers.emplace_back(std::string(name), std::move(value));
}

std::string_view Api::method_name(Verb method) {
    switch (method) {
        case Verb::get: return "get";
        case Verb::post: return "post";
        case Verb::put: return "put";
        case Verb::patch: return "patch";
        case Verb::delete_: return "delete";
        default: throw std::invalid_argument("no OpenAPI name for this method");
    }
}

namespace detail {

namespace {

constexpr std::size_t kMaxKeyLength = 255;

// Statuses every operation of a kind can answer, beside the ones its declaration lists.
std::map<unsigned, std::string> implied_errors(const Operation& op, const Shape& shape) {
    std::map<unsigned, std::string> out;
    if (shape.body_schema) out[400] = "the body is not a JSON object";
    if (op.idempotency_key) out[400] += std::string(out[400].empty() ? "" : "; ") + "no valid Idempotency-Key header";
    if (shape.has_fields) out[422] = "invalid fields (every one is listed in errors[])";
    if (op.access != Access::kPublic) out[401] = "no valid bearer token";
    if (op.access == Access::kAdmin) out[403] = "not an admin";
    if (shape.body_schema || shape.raw_body) out[413] = "the body is too large";
    if (shape.body_schema) out[415] = "the body is not application/json";
    if (op.path.starts_with("/api/")) out[429] = "rate limited (Retry-After says when to retry)";
    out[500] = "internal error";
    out[503] = "a backing service is unavailable or the request ran out of time (Retry-After)";
    return out;
}

json::object problem(unsigned status, const std::string& description) {
    json::object out{
        {"description", description},
        {"content",
         json::object{{"application/problem+json",
                       json::object{{"schema", json::object{{"$ref", "#/components/schemas/Problem"}}}}}}}};
    auto header = [](std::string_view text, std::string_view type) {
        return json::object{{"description", text}, {"schema", json::object{{"type", type}}}};
    };
    if (status == 401) {
        out["headers"] = json::object{
            {"WWW-Authenticate", header("Bearer challenge (realm=\"emporium\", error=...)", "string")}};
    } else if (status == 429) {
        out["headers"] = json::object{{"Retry-After", header("seconds until a request will be admitted", "integer")},
                                      {"RateLimit-Limit", header("bucket capacity", "integer")},
                                      {"RateLimit-Remaining", header("requests left right now", "integer")},
                                      {"RateLimit-Reset", header("seconds until the bucket is empty", "integer")}};
    } else if (status == 503) {
        out["headers"] = json::object{{"Retry-After", header("seconds to wait before retrying", "integer")}};
    }
    return out;
}

json::object header_object(const HeaderDoc& h) {
    return json::object{{"description", h.description}, {"schema", json::object{{"type", "string"}}}};
}

}  // namespace

json::object operation_object(const Operation& op, Shape shape) {
    json::object o;
    if (!op.tag.empty()) o["tags"] = json::array{json::value(op.tag)};
    o["summary"] = op.summary;
    if (!op.description.empty()) o["description"] = op.description;
    o["operationId"] = op.id;
    // Public operations say so (an empty list), so no operation's security is left unstated.
    o["security"] = op.access != Access::kPublic ? OpenApi::bearer_security() : json::array{};
    auto parameters = std::move(shape.parameters);
    if (op.idempotency_key) {
        parameters.push_back(json::object{
            {"name", "Idempotency-Key"},
            {"in", "header"},
            {"required", true},
            {"description", "the same key and body replay the first answer for 24 h; the same key with another body is 422"},
            {"schema", json::object{{"type", "string"}, {"minLength", 1}, {"maxLength", kMaxKeyLength}}}});
    }
    for (const auto& h : op.request_headers) {
        // OpenAPI ignores a header parameter named Authorization (security schemes describe it);
        // the operation's description says when it is wanted.
        if (h.name == "Authorization") continue;
        parameters.push_back(json::object{{"name", h.name},
                                          {"in", "header"},
                                          {"required", h.required},
                                          {"description", h.description},
                                          {"schema", json::object{{"type", "string"}}}});
    }
    if (!parameters.empty()) o["parameters"] = std::move(parameters);
    if (shape.body_schema) {
        o["requestBody"] = json::object{
            {"required", true},
            {"content", json::object{{"application/json", json::object{{"schema", *shape.body_schema}}}}}};
    } else if (shape.raw_body) {
        o["requestBody"] = json::object{
            {"required", true},
            {"content", json::object{{"application/json", json::object{{"schema", json::object{{"type", "object"}}}}}}}};
    }
    json::object responses;
    json::object success{{"description", op.success_description}};
    if (shape.output_schema) {
        success["content"] = json::object{{op.media_type, json::object{{"schema", *shape.output_schema}}}};
    } else if (shape.bytes_output) {
        json::object schema{{"type", op.media_type.starts_with("application/json") ? "object" : "string"}};
        success["content"] = json::object{{op.media_type, json::object{{"schema", std::move(schema)}}}};
    }
    if (!op.response_headers.empty()) {
        json::object headers;
        for (const auto& h : op.response_headers) headers[h.name] = header_object(h);
        success["headers"] = std::move(headers);
    }
    responses[std::to_string(static_cast<unsigned>(op.success))] = std::move(success);
    auto errors = implied_errors(op, shape);
    for (const auto& e : op.errors) {
        auto& text = errors[e.status];
        text = text.empty() ? e.description : std::string(e.description).append("; ").append(text);
    }
    const json::object success_doc = responses[std::to_string(static_cast<unsigned>(op.success))].as_object();
    for (const auto& [status, description] : errors) {
        if (status >= 200 && status < 300) {
            // Another success (e.g. 200 for a resource that existed already): the success's body.
            json::object other = success_doc;
            other["description"] = description;
            responses[std::to_string(status)] = std::move(other);
            continue;
        }
        // Other statuses below 400 (304, 303) have no body.
        responses[std::to_string(status)] = status < 400 ? json::object{{"description", description}} : problem(status, description);
    }
    o["responses"] = std::move(responses);
    return o;
}

Caller caller_of(const RequestContext& ctx, const Operation& op) {
    Caller c;
    c.user_id = ctx.user_id;
    c.role = ctx.user_role;
    c.request_id = ctx.request_id;
    c.client_ip = ctx.client_ip;
    c.version = ctx.request.version();
    c.read_after = ctx.read_after;
    for (const auto& h : op.request_headers) {
        auto it = ctx.request.find(h.name);
        if (it != ctx.request.end()) c.headers.emplace_back(h.name, std::string(it->value()));
    }
    return c;
}

std::optional<core::Error> check_idempotency_key(const RequestContext& ctx, Caller& caller) {
    auto header = ctx.request.find("Idempotency-Key");
    if (header == ctx.request.end() || header->value().empty() || header->value().size() > kMaxKeyLength) {
        return core::make_error(core::Errc::kBadRequest,
                                "the Idempotency-Key header is required",
                                {{"Idempotency-Key", "must be 1 to 255 characters"}});
    }
    caller.idempotency_key = std::string(header->value());
    return std::nullopt;
}

core::Result<json::value> body_value(const RequestContext& ctx) {
    auto object = parse_json_object(ctx.request);
    if (!object) return object.error();
    return json::value(std::move(*object));
}

std::string_view body_text(const RequestContext& ctx) { return ctx.request.body(); }

Response respond_error(const Caller& caller, const core::Error& error,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
    auto res = problem_response(caller.version, caller.request_id, error);
    for (const auto& [k, v] : headers) res.set(k, v);
    return res;
}

Response respond_body(const Caller& caller, Status status, std::string body, std::string_view content_type,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
    Response res{status, caller.version};
    if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
    res.set("X-Request-Id", caller.request_id);
    for (const auto& [k, v] : headers) res.set(k, v);
    res.body() = std::move(body);
    return res;
}

boost::asio::awaitable<Response> ready(Response response) { co_return response; }

}  // namespace detail

}  // namespace emporium::http
