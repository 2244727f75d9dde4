#include "http/json_body.hpp"

#include <gtest/gtest.h>

namespace emporium::http {
namespace {

core::Result<boost::json::object> parse(std::string body) {
    Request req{Verb::post, "/", 11};
    req.body() = std::move(body);
    return parse_json_object(req);
}

void expect_duplicate(const std::string& body, const std::string& detail) {
    auto r = parse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, core::Errc::kBadRequest) << body;
    EXPECT_EQ(r.error().message, detail) << body;
}

TEST(ParseJsonObject, RejectsAMemberNameGivenTwiceInOneObject) {
    expect_duplicate(R"({"a":1,"a":2})", "the body has a duplicate member name: \"a\"");
    expect_duplicate(R"({"a":{"b":[1,{"c":2}]},"a":3})", "the body has a duplicate member name: \"a\"");
    expect_duplicate(R"({"x":{"y":1,"z":[],"y":2}})", "the body has a duplicate member name: \"y\"");
    expect_duplicate(R"({"list":[{"k":1,"k":1}]})", "the body has a duplicate member name: \"k\"");
    expect_duplicate(R"({"a":1,"\u0061":2})", "the body has a duplicate member name: \"a\"");
    expect_duplicate(R"({ "a" : 1 , "a" : 2 })", "the body has a duplicate member name: \"a\"");
    expect_duplicate("{\"" + std::string(100, 'n') + "\":1,\"" + std::string(100, 'n') + "\":2}",
                     "the body has a duplicate member name");
}

TEST(ParseJsonObject, AcceptsEqualNamesInDifferentObjectsAndNamesInsideStrings) {
    for (const std::string body : {R"({"a":1,"b":{"a":2}})",
                                   R"({"items":[{"id":1},{"id":2}],"id":3})",
                                   R"({"a":"x,\"a\":1","b":"{\"b\":2}"})",
                                   R"({"a":"\\","b":"\\\"","c":["a","a"]})",
                                   R"({"a":[],"b":{},"c":[{}],"d":""})"}) {
        auto r = parse(body);
        EXPECT_TRUE(r) << body << ": " << (r ? "" : r.error().message);
    }
}

}  // namespace
}  // namespace emporium::http
