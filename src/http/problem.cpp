#include "http/problem.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include "core/json_text.hpp"

#include <string>

namespace emporium::http {

Status status_for(core::Errc code) {
    using core::Errc;
    switch (code) {
        case Errc::kValidation: return Status::unprocessable_entity;
        case Errc::kBadRequest: return Status::bad_request;
        case Errc::kNotFound: return Status::not_found;
        case Errc::kMethodNotAllowed: return Status::method_not_allowed;
        case Errc::kConflict:
        case Errc::kOutOfStock:
        case Errc::kCartChanged: return Status::conflict;
        case Errc::kPromotionUnavailable: return Status::conflict;
        case Errc::kUnauthorized: return Status::unauthorized;
        case Errc::kForbidden: return Status::forbidden;
        case Errc::kRateLimited: return Status::too_many_requests;
        case Errc::kPayloadTooLarge: return Status::payload_too_large;
        case Errc::kHeadersTooLarge: return Status::request_header_fields_too_large;
        case Errc::kUnsupportedMediaType: return Status::unsupported_media_type;
        case Errc::kPreconditionFailed: return Status::precondition_failed;
        case Errc::kPreconditionRequired: return Status::precondition_required;
        case Errc::kUnavailable: return Status::service_unavailable;
        case Errc::kInternal: return Status::internal_server_error;
    }
    return Status::internal_server_error;
}

Response problem_response(unsigned version, std::string_view request_id, const core::Error& error) {
    auto status = status_for(error.code);
    auto code = core::errc_name(error.code);
    boost::json::object body;
    body["type"] = "https://emporium.dev/problems/" + std::string(code);
    body["title"] = std::string(bhttp::obsolete_reason(status));
    body["status"] = static_cast<int>(status);
    body["detail"] = error.message;
    body["code"] = code;
    body["request_id"] = request_id;
    if (!error.details.empty()) {
        boost::json::array errors;
        for (const auto& f : error.details) errors.push_back(boost::json::object{{"field", f.field}, {"message", f.message}});
        body["errors"] = std::move(errors);
    }
    Response res{status, version};
    res.set(bhttp::field::content_type, "application/problem+json");
    res.set("X-Request-Id", request_id);
    // Every 503 says when to come back (the document promises it); a caller may set a later time.
    if (status == Status::service_unavailable) res.set(bhttp::field::retry_after, "1");
    res.body() = core::json_text::serialize(body);
    return res;
}

Response problem_response(const RequestContext& ctx, const core::Error& error) {
    return problem_response(ctx.request.version(), ctx.request_id, error);
}

Response problem_response(const RequestContext& ctx, core::Errc code, std::string message) {
    return problem_response(ctx, core::make_error(code, std::move(message)));
}

}  // namespace emporium::http
