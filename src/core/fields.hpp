#pragma once
// The constraints and documentation of the members of a described API type, declared beside the
// type. From the type's Boost.Describe description and these rules, the HTTP layer decodes
// requests (every field error reported), encodes responses and writes the OpenAPI schema
// (src/http/codec.hpp). This header has no dependencies, so domain `*_types.hpp` may use it.
//
//   struct NewReview {
//       std::int64_t rating = 0;
//       std::string title;
//       static constexpr std::array kFields{core::field("rating").range(1, 5),
//                                           core::field("title").length(0, 200).optional()};
//   };
//   BOOST_DESCRIBE_STRUCT(NewReview, (), (rating, title))
//
// Optional static members of a described type, all read by the codec when present:
//   kFields            std::array<core::Field, N>: rules by member name (checked at compile time)
//   kSchemaName        the OpenAPI component name (default: the unqualified C++ type name)
//   kSchemaDescription the component's description
//   kAllowUnknown      true: unknown members of a request object are ignored, not refused

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace emporium::core {

struct Field {
    std::string_view name;
    std::string_view description;
    // Integers and numbers: inclusive bounds.
    std::optional<std::int64_t> minimum;
    std::optional<std::int64_t> maximum;
    // Strings: Unicode code points; arrays: items; free-form objects: members.
    std::optional<std::size_t> min_length;
    std::optional<std::size_t> max_length;
    std::string_view pattern;  // ECMAScript regular expression the whole string must match
    std::string_view pattern_message;  // the field error when it does not ("must be …")
    std::string_view one_of;   // strings: the allowed values, separated by '|'
    std::string_view format;   // OpenAPI format: email, date-time, uri, ...
    int decimals = -1;         // numbers are written rounded to this many decimals
    bool is_optional = false;  // a request may leave it out (the member keeps its default)
    bool keeps_blanks = false; // strings: surrounding blanks are part of the value (passwords)
    bool omit_null = false;    // responses: an empty std::optional is left out, not written as null

    constexpr Field describe(std::string_view text) const { auto f = *this; f.description = text; return f; }
    constexpr Field range(std::int64_t lo, std::int64_t hi) const { auto f = *this; f.minimum = lo; f.maximum = hi; return f; }
    constexpr Field at_least(std::int64_t lo) const { auto f = *this; f.minimum = lo; return f; }
    constexpr Field at_most(std::int64_t hi) const { auto f = *this; f.maximum = hi; return f; }
    constexpr Field length(std::size_t lo, std::size_t hi) const {
        auto f = *this;
        f.min_length = lo;
        f.max_length = hi;
        return f;
    }
    constexpr Field match(std::string_view regex, std::string_view message) const {
        auto f = *this;
        f.pattern = regex;
        f.pattern_message = message;
        return f;
    }
    constexpr Field values(std::string_view alternatives) const { auto f = *this; f.one_of = alternatives; return f; }
    constexpr Field with_format(std::string_view text) const { auto f = *this; f.format = text; return f; }
    constexpr Field rounded(int places) const { auto f = *this; f.decimals = places; return f; }
    constexpr Field optional() const { auto f = *this; f.is_optional = true; return f; }
    constexpr Field verbatim() const { auto f = *this; f.keeps_blanks = true; return f; }
    constexpr Field omitted_when_null() const { auto f = *this; f.omit_null = true; return f; }
};

constexpr Field field(std::string_view name) {
    Field f;
    f.name = name;
    return f;
}

}  // namespace emporium::core
