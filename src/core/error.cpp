#include "core/error.hpp"

namespace emporium::core {

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::kValidation: return "validation_failed";
        case Errc::kBadRequest: return "bad_request";
        case Errc::kNotFound: return "not_found";
        case Errc::kMethodNotAllowed: return "method_not_allowed";
        case Errc::kConflict: return "conflict";
        case Errc::kOutOfStock: return "out_of_stock";
        case Errc::kCartChanged: return "cart_changed";
        case Errc::kPromotionUnavailable: return "promotion_unavailable";
        case Errc::kUnauthorized: return "unauthorized";
        case Errc::kForbidden: return "forbidden";
        case Errc::kRateLimited: return "rate_limited";
        case Errc::kPayloadTooLarge: return "payload_too_large";
        case Errc::kHeadersTooLarge: return "headers_too_large";
        case Errc::kUnsupportedMediaType: return "unsupported_media_type";
        case Errc::kPreconditionFailed: return "precondition_failed";
        case Errc::kPreconditionRequired: return "precondition_required";
        case Errc::kUnavailable: return "unavailable";
        case Errc::kInternal: return "internal_error";
    }
    return "internal_error";
}

void throw_exception_from_error(const Error& e, const boost::source_location& /*loc*/) {
    throw std::logic_error("unexpected error result: " + std::string(errc_name(e.code)) + ": " + e.message);
}

}  // namespace emporium::core
