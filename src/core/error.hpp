#pragma once

#include <boost/system/result.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::core {

// Expected outcomes a caller can act on. The snake_case names (errc_name) are part of the public
// API: clients and dashboards match on them, so never rename one.
enum class Errc {
    kValidation,           // malformed or semantically invalid input (400/422)
    kBadRequest,           // syntactically broken request (400)
    kNotFound,             // 404
    kMethodNotAllowed,     // 405
    kConflict,             // 409: unique violation, version mismatch, illegal state transition
    kOutOfStock,           // 409
    kCartChanged,          // 409: the cart is not what the customer saw (prices, lines, total)
    kPromotionUnavailable, // 409: a promotion code that does not apply (used up, limit, conditions)
    kUnauthorized,         // 401
    kForbidden,            // 403
    kRateLimited,          // 429
    kPayloadTooLarge,      // 413
    kHeadersTooLarge,      // 431
    kUnsupportedMediaType, // 415
    kPreconditionFailed,   // 412
    kPreconditionRequired, // 428: a conditional write without If-Match
    kUnavailable,          // 503: a dependency is down
    kInternal,             // 500
};

std::string_view errc_name(Errc code) noexcept;

// One field-level problem, `field` is a JSON-pointer-like path such as "items/0/quantity".
struct FieldError {
    std::string field;
    std::string message;
};

struct Error {
    Errc code = Errc::kInternal;
    std::string message;             // safe to show to clients
    std::vector<FieldError> details; // field errors for validation failures
};

template <typename T>
using Result = boost::system::result<T, Error>;

inline Error make_error(Errc code, std::string message, std::vector<FieldError> details = {}) {
    return Error{code, std::move(message), std::move(details)};
}

// Infrastructure failures (a dependency is down, a timeout, a serialization conflict). Thrown, not
// returned; the HTTP layer turns them into 503 (or 500) without leaking `what()` to clients.
class InfraError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class TimeoutError : public InfraError {
public:
    using InfraError::InfraError;
};

}  // namespace emporium::core

// Errors carried by boost::system::result must be convertible to an exception for .value().
namespace emporium::core {
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);
}
