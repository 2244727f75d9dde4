// One declaration per API type: decoding (every field error, with paths), encoding (numbers as
// JavaScript prints them, snake_case enums, omitted nulls) and the JSON Schema, all from a
// described struct and its rules.
#include "core/codec.hpp"
#include "core/json_text.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <array>
#include <map>

namespace emporium::core::codec {
namespace {

namespace json = boost::json;

enum class Colour { kDeepRed, kBlue };
BOOST_DESCRIBE_ENUM(Colour, kDeepRed, kBlue)

struct Line {
    std::int64_t product_id = 0;
    std::int32_t quantity = 0;
    static constexpr std::array kFields{field("product_id").at_least(1), field("quantity").range(1, 100)};
};
BOOST_DESCRIBE_STRUCT(Line, (), (product_id, quantity))

struct Request {
    std::string name;
    std::string password;
    std::string note = "none";
    std::optional<std::int64_t> parent_id;
    Colour colour = Colour::kBlue;
    std::vector<Line> lines;
    json::object extra;
    bool gift = false;
    static constexpr std::array kFields{
        field("name").length(1, 5),
        field("password").length(2, 10).verbatim(),
        field("note").length(0, 20).optional().match("[a-z ]*", "must be lower-case letters"),
        field("parent_id").at_least(1),
        field("colour").optional(),
        field("lines").length(1, 2),
        field("extra").length(1, 3),
        field("gift").optional()};
};
BOOST_DESCRIBE_STRUCT(Request, (), (name, password, note, parent_id, colour, lines, extra, gift))

bool has(const Error& e, const std::string& field) {
    for (const auto& d : e.details)
        if (d.field == field) return true;
    return false;
}

std::string message(const Error& e, const std::string& field) {
    for (const auto& d : e.details)
        if (d.field == field) return d.message;
    return "";
}

TEST(CodecDecode, ReadsAValidObjectAndKeepsDefaults) {
    auto r = decode<Request>(json::parse(
        R"({"name":"  Ann ","password":" pw ","lines":[{"product_id":3,"quantity":2}],"extra":{"a":1},"colour":"deep_red"})"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->name, "Ann");           // trimmed
    EXPECT_EQ(r->password, " pw ");      // verbatim
    EXPECT_EQ(r->note, "none");          // optional: the default stays
    EXPECT_FALSE(r->parent_id);
    EXPECT_EQ(r->colour, Colour::kDeepRed);
    ASSERT_EQ(r->lines.size(), 1U);
    EXPECT_EQ(r->lines[0].quantity, 2);
}

TEST(CodecDecode, ReportsEveryFieldErrorWithItsPath) {
    auto r = decode<Request>(json::parse(
        R"({"name":"toolong","password":1,"note":"UPPER","parent_id":0,"colour":"green",
            "lines":[{"product_id":0,"quantity":101},{"quantity":"x","size":3}],"extra":{},"gift":"yes","unknown":1})"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kValidation);
    for (const auto* f : {"name", "password", "note", "parent_id", "colour", "lines/0/product_id", "lines/0/quantity",
                          "lines/1/product_id", "lines/1/quantity", "lines/1/size", "extra", "gift", "unknown"}) {
        EXPECT_TRUE(has(r.error(), f)) << f;
    }
    EXPECT_EQ(message(r.error(), "note"), "must be lower-case letters");
    EXPECT_EQ(message(r.error(), "colour"), "must be one of deep_red, blue");
    EXPECT_EQ(message(r.error(), "lines/1/product_id"), "is required");
    EXPECT_EQ(message(r.error(), "unknown"), "is not a known field");
    EXPECT_EQ(message(r.error(), "lines/0/quantity"), "must be between 1 and 100");
}

TEST(CodecDecode, NullIsAbsentAndRequiredMembersAreNamed) {
    auto r = decode<Request>(json::parse(R"({"name":null,"parent_id":null})"));
    ASSERT_FALSE(r);
    EXPECT_EQ(message(r.error(), "name"), "is required");
    EXPECT_EQ(message(r.error(), "password"), "is required");
    EXPECT_FALSE(has(r.error(), "parent_id"));
    EXPECT_FALSE(has(r.error(), "note"));
}

TEST(CodecDecode, IntegersOutsideTheirTypeAreRefused) {
    auto r = decode<Line>(json::parse(R"({"product_id":18446744073709551615,"quantity":4294967296})"));
    ASSERT_FALSE(r);
    EXPECT_TRUE(has(r.error(), "product_id"));
    EXPECT_TRUE(has(r.error(), "quantity"));
    EXPECT_FALSE(decode<Line>(json::parse(R"({"product_id":1.5,"quantity":1})")));
}

struct Query {
    std::int64_t limit = 20;
    std::optional<bool> in_stock;
    std::optional<std::vector<Colour>> colours;
    static constexpr std::array kFields{field("limit").range(1, 100).optional()};
};
BOOST_DESCRIBE_STRUCT(Query, (), (limit, in_stock, colours))

TEST(CodecParams, TextParametersAreTypedAndChecked) {
    Query q;
    Errors errors;
    read_params({{"limit", "7"}, {"in_stock", "true"}, {"colours", "blue,deep_red"}, {"other", "x"}}, q, errors);
    ASSERT_TRUE(errors.empty());
    EXPECT_EQ(q.limit, 7);
    EXPECT_EQ(q.in_stock, true);
    ASSERT_TRUE(q.colours);
    EXPECT_EQ(q.colours->size(), 2U);

    Query bad;
    read_params({{"limit", "0"}, {"in_stock", "yes"}, {"colours", "blue,"}}, bad, errors);
    ASSERT_EQ(errors.size(), 3U);
    EXPECT_EQ(errors[0].message, "must be an integer between 1 and 100");
    EXPECT_EQ(errors[2].message, "must be a comma-separated list of: deep_red, blue");
}

struct Out {
    double ratio = 0;
    double average = 0;
    std::optional<std::string> maybe;
    std::optional<std::int64_t> hidden;
    Colour colour = Colour::kDeepRed;
    std::map<std::string, std::int64_t> counts;
    json_text::Timestamp at{};
    static constexpr std::array kFields{field("average").rounded(2), field("hidden").omitted_when_null()};
};
BOOST_DESCRIBE_STRUCT(Out, (), (ratio, average, maybe, hidden, colour, counts, at))

TEST(CodecEncode, NumbersEnumsNullsAndTimesAsClientsExpect) {
    Out o;
    o.ratio = 0.1 + 0.2;
    o.average = 30.0 / 11.0;
    o.counts = {{"a\"b", 2}};
    o.at = json_text::Timestamp(std::chrono::seconds(1'700'000'000)) + std::chrono::microseconds(5);
    EXPECT_EQ(encode(o),
              R"({"ratio":0.30000000000000004,"average":2.73,"maybe":null,"colour":"deep_red","counts":{"a\"b":2},)"
              R"("at":"2023-11-14T22:13:20.000005Z"})");
    o.hidden = 4;
    o.ratio = 1e21;
    o.average = 3;
    const auto text = encode(o);
    EXPECT_NE(text.find(R"("ratio":1e+21,"average":3,"maybe":null,"hidden":4)"), std::string::npos) << text;
}

TEST(CodecEncode, WrittenJsonParsesBack) {
    Request r;
    r.name = std::string("q\"\\\n\x01\xc3\xa9", 7);
    r.extra = json::object{{"x", 2.5}, {"y", json::array{1, "two", nullptr}}};
    const auto text = encode(r);
    auto back = json::parse(text);
    EXPECT_EQ(back.at("name").as_string(), r.name);
    EXPECT_EQ(json_text::serialize(back.at("extra")), R"({"x":2.5,"y":[1,"two",null]})");
}

TEST(CodecSchema, RequestAndResponseSchemasFollowTheDeclaration) {
    SchemaSet set;
    EXPECT_EQ(set.schema<Request>(Direction::kRequest).at("$ref").as_string(), "#/components/schemas/Request");
    set.schema<Out>(Direction::kResponse);
    const auto& request = set.components().at("Request").as_object();
    EXPECT_EQ(json_text::serialize(request.at("required")), R"(["name","password","lines","extra"])");
    EXPECT_FALSE(request.at("additionalProperties").as_bool());
    const auto& props = request.at("properties").as_object();
    EXPECT_EQ(props.at("name").at("maxLength").as_int64(), 5);
    EXPECT_EQ(props.at("note").at("pattern").as_string(), "[a-z ]*");
    EXPECT_EQ(props.at("note").at("default").as_string(), "none");
    EXPECT_EQ(json_text::serialize(props.at("parent_id").at("type")), R"(["integer","null"])");
    EXPECT_EQ(json_text::serialize(props.at("colour").at("enum")), R"(["deep_red","blue"])");
    EXPECT_EQ(props.at("lines").at("maxItems").as_int64(), 2);
    EXPECT_EQ(props.at("lines").at("items").at("$ref").as_string(), "#/components/schemas/Line");
    EXPECT_EQ(set.components().at("Line").at("properties").at("quantity").at("maximum").as_int64(), 100);
    const auto& out = set.components().at("Out").as_object();
    // Responses: every member is present except those left out when null.
    EXPECT_EQ(json_text::serialize(out.at("required")), R"(["ratio","average","maybe","colour","counts","at"])");
    EXPECT_EQ(out.at("properties").at("at").at("format").as_string(), "date-time");
    EXPECT_EQ(out.at("properties").at("counts").at("additionalProperties").at("type").as_string(), "integer");
}

struct Named {
    std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Named, (), (id))
namespace other {
struct Named {
    std::string id;
};
BOOST_DESCRIBE_STRUCT(Named, (), (id))
}  // namespace other

TEST(CodecSchema, TwoTypesOfOneNameAreAStartupError) {
    SchemaSet set;
    set.schema<Named>(Direction::kResponse);
    EXPECT_THROW(set.schema<other::Named>(Direction::kResponse), std::logic_error);
    EXPECT_THROW(set.schema<Named>(Direction::kRequest), std::logic_error);
}

}  // namespace
}  // namespace emporium::core::codec
