#pragma once
// JSON text written directly into a string: the response encoder's primitives. Numbers are
// written as JavaScript prints them (the shortest text that reads back to the same double:
// 2.73, 0.5, 12), never in exponent form for ordinary magnitudes.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <optional>
#include <string_view>

namespace emporium::core::json_text {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// A quoted, escaped string (the input is valid UTF-8; control characters become \u00XX).
void write_string(std::string& out, std::string_view s);
void write_integer(std::string& out, std::int64_t v);
void write_unsigned(std::string& out, std::uint64_t v);
// `decimals` ≥ 0 rounds half away from zero to that many places first. NaN and ±∞ are null.
void write_number(std::string& out, double v, int decimals = -1);
// Any JSON value (objects keep their member order), with numbers as above.
void write_value(std::string& out, const boost::json::value& v);
std::string serialize(const boost::json::value& v);
// Parses JSON text written by this code (throws boost::system::system_error on bad input).
boost::json::value parse_value(std::string_view text);

// RFC 3339 in UTC with microseconds: 2026-12-03T20:51:36.123456Z.
std::string iso8601(Timestamp t);
// Reads what iso8601 writes, and the same without the fraction; nullopt for anything else.
std::optional<Timestamp> parse_iso8601(std::string_view text);

}  // namespace emporium::core::json_text
