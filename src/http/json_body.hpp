#pragma once

#include "core/error.hpp"
#include "http/types.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::http {

// Parses the request body as a JSON object (nesting depth ≤ 32, valid UTF-8, numbers within the
// range of a double, no member name twice in one object).
// Errors: kBadRequest when the body is empty, not JSON, not an object, has a number out of range
// or a duplicate name.
core::Result<boost::json::object> parse_json_object(const Request& request);

// Number of Unicode code points in valid UTF-8 text (Boost.JSON guarantees validity).
std::size_t utf8_length(std::string_view s);

}  // namespace emporium::http
