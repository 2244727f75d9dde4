#pragma once
// Typed routes: a route is declared once (http::Operation) with a handler whose input and output
// are described types (core/codec.hpp). http::Api registers it with the router, decodes the
// input before the handler runs (400/422 problem responses listing every field), encodes the
// output, and writes the OpenAPI operation (parameters, body, responses and their schemas) from
// the same declaration.
//
//   asio::awaitable<http::Reply<Order>> get_order(std::shared_ptr<OrdersService> s,
//                                                 http::In<OrderPath> in, http::Caller caller);
//   api.add({.method = Verb::get, .path = "/api/v1/orders/{id}", .id = "getOrder", ...},
//           get_order, service);

#include "core/codec.hpp"
#include "core/error.hpp"
#include "http/openapi.hpp"
#include "http/problem.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/describe/class.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emporium::http {

// No path, query or body input.
struct NoInput {};
BOOST_DESCRIBE_STRUCT(NoInput, (), ())

// An empty response (204 and the like).
struct NoContent {};

// A response body that is not JSON (PDF, text), or a request body kept byte for byte (a
// signed webhook): `content_type` is the response's; requests fill `data` only.
struct Bytes {
    std::string data;
    std::string content_type;
};

// ?limit=&cursor= of the keyset-paginated lists.
struct PageQuery {
    std::int64_t limit = 20;
    std::optional<std::string> cursor;
    static constexpr std::array kFields{core::field("limit").range(1, 100).optional().describe("page size, default 20"),
                                        core::field("cursor").describe("next_cursor of the previous page")};
};
BOOST_DESCRIBE_STRUCT(PageQuery, (), (limit, cursor))

template <class Path = NoInput, class Query = NoInput, class Body = NoInput>
struct In {
    Path path{};
    Query query{};
    Body body{};
};

// What a handler may know about its caller and request, by value (handlers are coroutines).
struct Caller {
    std::optional<std::int64_t> user_id;  // set by the authentication middleware
    std::string role;
    std::string request_id;
    std::string client_ip;
    std::string idempotency_key;  // operations with idempotency_key
    // The operation's declared request headers that the request carries.
    std::vector<std::pair<std::string, std::string>> headers;
    unsigned version = 11;
    // Read-your-writes (RequestContext::read_after): pass to replica-eligible reads; 0 = none.
    std::uint64_t read_after = 0;

    std::int64_t user() const { return user_id.value_or(0); }
    bool is_admin() const { return role == "admin"; }
    std::optional<std::string_view> header(std::string_view name) const;
};

// Out of line: inlined into handler coroutines, GCC 12 reports a false -Warray-bounds.
void add_header(std::vector<std::pair<std::string, std::string>>& headers, std::string_view name, std::string value);

// A handler's answer: a value of the declared output type, or an error (a problem response), with
// an optional status other than the operation's success status and extra headers.
template <class T>
class Reply {
public:
    Reply(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor): co_return value;
    Reply(core::Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
    Reply(core::Result<T> result) {  // NOLINT(google-explicit-constructor)
        if (result) {
            value_ = std::move(*result);
        } else {
            error_ = std::move(result.error());
        }
    }
    // A body already encoded elsewhere (a replayed idempotent answer): sent as it is.
    static Reply encoded(unsigned status, std::string body, std::string_view content_type) {
        Reply r{core::Error{}};
        r.error_.reset();
        r.status_ = static_cast<Status>(status);
        r.body_.emplace(std::move(body));
        r.content_type_ = content_type;
        return r;
    }

    Reply& status(Status s) {
        status_ = s;
        return *this;
    }
    Reply& header(std::string_view name, std::string value) {
        add_header(headers_, name, std::move(value));
        return *this;
    }

    const std::optional<T>& value() const { return value_; }
    std::optional<T>& value() { return value_; }
    const std::optional<core::Error>& error() const { return error_; }
    std::optional<Status> status() const { return status_; }
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
    const std::optional<std::string>& body() const { return body_; }
    const std::string& content_type() const { return content_type_; }

private:
    std::optional<T> value_;
    std::optional<core::Error> error_;
    std::optional<Status> status_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::optional<std::string> body_;
    std::string content_type_;
};

namespace detail {

template <class T>
inline constexpr bool kHasMembers = boost::mp11::mp_size<core::codec::Members<T>>::value > 0;

// What the input and output types add to an operation's documentation.
struct Shape {
    boost::json::array parameters;
    std::optional<boost::json::object> body_schema;  // a JSON request body
    bool raw_body = false;                            // a Bytes request body
    bool has_fields = false;                          // any path, query or body member (→ 422)
    std::optional<boost::json::object> output_schema;  // a JSON response body
    bool bytes_output = false;                         // a Bytes response body
};

template <class P>
void add_parameters(boost::json::array& out, std::string_view in, core::codec::SchemaSet& schemas) {
    boost::mp11::mp_for_each<core::codec::Members<P>>([&](auto d) {
        using M = std::remove_cvref_t<decltype(std::declval<P&>().*d.pointer)>;
        const auto* rule = core::codec::rule_of<P>(d.name);
        const bool optional = core::codec::detail::IsOptional<M>::value || (rule != nullptr && rule->is_optional);
        boost::json::object p{{"name", d.name}, {"in", in}, {"required", in == "path" || !optional}};
        auto schema = schemas.schema<M>(core::codec::Direction::kRequest, rule);
        if (auto* desc = schema.if_contains("description")) {
            p["description"] = *desc;
            schema.erase("description");
        }
        if constexpr (core::codec::detail::IsVector<M>::value) {
            p["style"] = "form";
            p["explode"] = false;
        }
        p["schema"] = std::move(schema);
        out.push_back(std::move(p));
    });
}

template <class P, class Q, class B, class O>
Shape shape_of(core::codec::SchemaSet& schemas) {
    Shape s;
    add_parameters<P>(s.parameters, "path", schemas);
    add_parameters<Q>(s.parameters, "query", schemas);
    s.has_fields = kHasMembers<P> || kHasMembers<Q>;
    if constexpr (std::is_same_v<B, Bytes>) {
        s.raw_body = true;
    } else if constexpr (!std::is_same_v<B, NoInput>) {
        s.body_schema = schemas.schema<B>(core::codec::Direction::kRequest);
        s.has_fields = true;
    }
    if constexpr (std::is_same_v<O, Bytes>) {
        s.bytes_output = true;
    } else if constexpr (!std::is_same_v<O, NoContent>) {
        s.output_schema = schemas.schema<O>(core::codec::Direction::kResponse);
    }
    return s;
}

// The OpenAPI Operation object of a declaration.
boost::json::object operation_object(const Operation& op, Shape shape);

Caller caller_of(const RequestContext& ctx, const Operation& op);
// Path and query parameters and the Idempotency-Key header; nullopt when all are valid.
template <class P, class Q>
std::optional<core::Error> decode_parameters(const RequestContext& ctx, P& path, Q& query);
std::optional<core::Error> check_idempotency_key(const RequestContext& ctx, Caller& caller);
// Parses the body as a JSON object (400 when it is not one).
core::Result<boost::json::value> body_value(const RequestContext& ctx);
std::string_view body_text(const RequestContext& ctx);

template <class P, class Q>
std::optional<core::Error> decode_parameters(const RequestContext& ctx, P& path, Q& query) {
    core::codec::Errors errors;
    core::codec::read_params(ctx.path_params, path, errors);
    if (!errors.empty())
        return core::make_error(core::Errc::kValidation, "the request path has invalid parameters", std::move(errors));
    core::codec::read_params(ctx.query_params, query, errors);
    if (!errors.empty())
        return core::make_error(core::Errc::kValidation, "the request has invalid query parameters", std::move(errors));
    return std::nullopt;
}

Response respond_error(const Caller& caller, const core::Error& error,
                       const std::vector<std::pair<std::string, std::string>>& headers);
Response respond_body(const Caller& caller, Status status, std::string body, std::string_view content_type,
                      const std::vector<std::pair<std::string, std::string>>& headers);

template <class O>
Response respond(const Caller& caller, const Operation& op, Reply<O>& reply) {
    if (reply.error()) return respond_error(caller, *reply.error(), reply.headers());
    const Status status = reply.status().value_or(op.success);
    if (reply.body()) return respond_body(caller, status, *reply.body(), reply.content_type(), reply.headers());
    if constexpr (std::is_same_v<O, NoContent>) {
        return respond_body(caller, status, {}, {}, reply.headers());
    } else if constexpr (std::is_same_v<O, Bytes>) {
        auto& bytes = *reply.value();
        return respond_body(caller, status, std::move(bytes.data), bytes.content_type, reply.headers());
    } else {
        return respond_body(caller, status, core::codec::encode(*reply.value()), "application/json", reply.headers());
    }
}

boost::asio::awaitable<Response> ready(Response response);

template <class S, class P, class Q, class B, class O>
using HandlerFn = boost::asio::awaitable<Reply<O>> (*)(std::shared_ptr<S>, In<P, Q, B>, Caller);

template <class S, class P, class Q, class B, class O>
boost::asio::awaitable<Response> run(HandlerFn<S, P, Q, B, O> fn,
                                     std::shared_ptr<S> state,
                                     In<P, Q, B> in,
                                     Caller caller,
                                     std::shared_ptr<const Operation> op) {
    auto task = fn(std::move(state), std::move(in), caller);
    auto reply = co_await std::move(task);
    co_return respond(caller, *op, reply);
}

}  // namespace detail

// Registers declared routes with a router and documents them in an OpenAPI document.
class Api {
public:
    Api(Router& router, OpenApi& openapi) : router_(router), openapi_(openapi) {}

    template <class S, class P, class Q, class B, class O>
    void add(Operation op, detail::HandlerFn<S, P, Q, B, O> fn, std::shared_ptr<S> state) {
        op.json_body = !std::is_same_v<B, NoInput> && !std::is_same_v<B, Bytes>;
        if (!op.hidden) openapi_.add_operation(op.path, method_name(op.method), detail::operation_object(op, detail::shape_of<P, Q, B, O>(openapi_.schemas())));
        auto operation = std::make_shared<const Operation>(std::move(op));
        router_.add(operation, [operation, fn, state](RequestContext& ctx) -> boost::asio::awaitable<Response> {
            In<P, Q, B> in;
            Caller caller = detail::caller_of(ctx, *operation);
            auto error = detail::decode_parameters(ctx, in.path, in.query);
            if (!error && operation->idempotency_key) error = detail::check_idempotency_key(ctx, caller);
            if (!error) {
                if constexpr (std::is_same_v<B, Bytes>) {
                    in.body.data = std::string(detail::body_text(ctx));
                } else if constexpr (!std::is_same_v<B, NoInput>) {
                    auto value = detail::body_value(ctx);
                    if (!value) {
                        error = value.error();
                    } else if (auto body = core::codec::decode<B>(*value)) {
                        in.body = std::move(*body);
                    } else {
                        error = body.error();
                    }
                }
            }
            if (error) return detail::ready(detail::respond_error(caller, *error, {}));
            return detail::run<S, P, Q, B, O>(fn, state, std::move(in), std::move(caller), operation);
        });
    }

    OpenApi& openapi() { return openapi_; }

private:
    static std::string_view method_name(Verb method);
    Router& router_;
    OpenApi& openapi_;
};

}  // namespace emporium::http
