#pragma once

#include "core/error.hpp"
#include "http/types.hpp"

#include <string_view>

namespace emporium::http {

// The HTTP status for an expected error code (the one place this mapping lives).
Status status_for(core::Errc code);

// An RFC 9457 `application/problem+json` response: type, title, status, detail, code,
// request_id and, for validation failures, errors[] with field paths.
Response problem_response(const RequestContext& ctx, const core::Error& error);
Response problem_response(const RequestContext& ctx, core::Errc code, std::string message);
// For responses produced before a RequestContext exists (parse errors, limits).
Response problem_response(unsigned version, std::string_view request_id, const core::Error& error);

}  // namespace emporium::http
