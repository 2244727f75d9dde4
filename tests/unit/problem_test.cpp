#include "http/problem.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace emporium::http {
namespace {

TEST(ErrorMapping, EveryCodeHasItsStatus) {
    using core::Errc;
    EXPECT_EQ(status_for(Errc::kValidation), Status::unprocessable_entity);
    EXPECT_EQ(status_for(Errc::kBadRequest), Status::bad_request);
    EXPECT_EQ(status_for(Errc::kNotFound), Status::not_found);
    EXPECT_EQ(status_for(Errc::kMethodNotAllowed), Status::method_not_allowed);
    EXPECT_EQ(status_for(Errc::kConflict), Status::conflict);
    EXPECT_EQ(status_for(Errc::kOutOfStock), Status::conflict);
    EXPECT_EQ(status_for(Errc::kUnauthorized), Status::unauthorized);
    EXPECT_EQ(status_for(Errc::kForbidden), Status::forbidden);
    EXPECT_EQ(status_for(Errc::kRateLimited), Status::too_many_requests);
    EXPECT_EQ(status_for(Errc::kPayloadTooLarge), Status::payload_too_large);
    EXPECT_EQ(status_for(Errc::kHeadersTooLarge), Status::request_header_fields_too_large);
    EXPECT_EQ(status_for(Errc::kUnsupportedMediaType), Status::unsupported_media_type);
    EXPECT_EQ(status_for(Errc::kUnavailable), Status::service_unavailable);
    EXPECT_EQ(status_for(Errc::kInternal), Status::internal_server_error);
}

TEST(ErrorMapping, CodeNamesAreStableSnakeCase) {
    EXPECT_EQ(core::errc_name(core::Errc::kOutOfStock), "out_of_stock");
    EXPECT_EQ(core::errc_name(core::Errc::kValidation), "validation_failed");
    EXPECT_EQ(core::errc_name(core::Errc::kNotFound), "not_found");
    EXPECT_EQ(core::errc_name(core::Errc::kRateLimited), "rate_limited");
}

TEST(ProblemResponse, IsRfc9457WithFieldErrors) {
    auto err = core::make_error(core::Errc::kValidation, "invalid order",
                                {{"items/0/quantity", "must be between 1 and 100"}});
    auto res = problem_response(11, "req-1", err);
    EXPECT_EQ(res.result(), Status::unprocessable_entity);
    EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
    EXPECT_EQ(res["X-Request-Id"], "req-1");
    auto body = boost::json::parse(res.body()).as_object();
    EXPECT_EQ(body.at("status").as_int64(), 422);
    EXPECT_EQ(body.at("code").as_string(), "validation_failed");
    EXPECT_EQ(body.at("detail").as_string(), "invalid order");
    EXPECT_EQ(body.at("request_id").as_string(), "req-1");
    EXPECT_EQ(body.at("title").as_string(), "Unprocessable Entity");
    EXPECT_TRUE(body.at("type").as_string().starts_with("https://"));
    const auto& errors = body.at("errors").as_array();
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].at("field").as_string(), "items/0/quantity");
}

TEST(ProblemResponse, OmitsErrorsWhenThereAreNone) {
    auto res = problem_response(11, "r", core::make_error(core::Errc::kNotFound, "no such product"));
    auto body = boost::json::parse(res.body()).as_object();
    EXPECT_FALSE(body.contains("errors"));
    EXPECT_EQ(res.result_int(), 404U);
}

}  // namespace
}  // namespace emporium::http
