#pragma once
// Entity tags of versioned resources: W/"<version>" (and the product's W/"<version>.<stock>"), as
// ETag answers and as If-Match / If-None-Match conditions.

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::http {

// W/"<version>".
std::string weak_etag(std::int64_t version);

// The parts of W/"7", W/"7.120", "7" or 7: a version ≥ 1 and, after a dot, a second number ≥ 0.
struct EntityTag {
    std::int64_t version = 0;
    std::optional<std::int64_t> second;
};
std::optional<EntityTag> parse_entity_tag(std::string_view text);

// The version a conditional write expects: If-Match when sent (a 422 naming If-Match when it is
// not an entity tag), else the body's `version`; 0 when neither (the service answers 428).
core::Result<std::int64_t> expected_version(std::optional<std::int64_t> body_version,
                                            std::optional<std::string_view> if_match);

}  // namespace emporium::http
