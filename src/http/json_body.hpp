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

// Reads typed fields out of a JSON object and collects every problem as a field error, so a
// client learns about all invalid fields at once. `error()` is a kValidation error (422).
class FieldReader {
public:
    explicit FieldReader(const boost::json::object& object, std::string prefix = "") : object_(object), prefix_(std::move(prefix)) {}

    // A string of [min_len, max_len] Unicode code points (after trimming when `trim`).
    std::optional<std::string> string(std::string_view field, bool required, std::size_t min_len, std::size_t max_len,
                                      bool trim = true);
    std::optional<std::int64_t> integer(std::string_view field, bool required, std::int64_t min, std::int64_t max);
    std::optional<bool> boolean(std::string_view field, bool required);
    // Reports unknown members (typos should not be silently ignored).
    void reject_unknown(std::initializer_list<std::string_view> known);
    void fail(std::string_view field, std::string message);

    bool ok() const { return errors_.empty(); }
    const std::vector<core::FieldError>& errors() const { return errors_; }
    core::Error error(std::string message = "the request has invalid fields") const;

private:
    std::string path(std::string_view field) const { return prefix_ + std::string(field); }
    const boost::json::object& object_;
    std::string prefix_;
    std::vector<core::FieldError> errors_;
};

// Number of Unicode code points in valid UTF-8 text (Boost.JSON guarantees validity).
std::size_t utf8_length(std::string_view s);

}  // namespace emporium::http
