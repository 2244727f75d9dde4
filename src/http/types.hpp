#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emporium::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Verb = bhttp::verb;
using Status = bhttp::status;

// Everything a handler knows about the request it is serving. Owned by the connection's
// coroutine and alive for the whole handler call.
struct RequestContext {
    Request& request;
    std::string request_id;
    std::string client_ip;
    std::string route;  // the matched route template, e.g. /api/v1/products/{id}
    std::vector<std::pair<std::string, std::string>> path_params;
    std::vector<std::pair<std::string, std::string>> query_params;  // decoded, in order
    std::chrono::steady_clock::time_point deadline;
    // Set by authentication middleware (later issues); empty when anonymous.
    std::optional<std::int64_t> user_id;
    std::string user_role;
    // Read-your-writes: the WAL position (db::Lsn) a read for this client must see; 0 when any
    // replica will do. Set by the read-your-writes middleware (only with read replicas).
    std::uint64_t read_after = 0;

    // Decoded path parameter `{name}`; empty if absent.
    std::string_view param(std::string_view name) const;
    // First value of query parameter `name`.
    std::optional<std::string_view> query(std::string_view name) const;
};

using Handler = std::function<boost::asio::awaitable<Response>(RequestContext&)>;

// A whole decimal integer in [1, max] (path ids, limits); nullopt for anything else.
std::optional<std::int64_t> parse_positive_int(std::string_view text,
                                               std::int64_t max = std::numeric_limits<std::int64_t>::max());

// Response helpers. Every response carries the request id.
Response text_response(const RequestContext& ctx, Status status, std::string body, std::string_view content_type);

}  // namespace emporium::http
