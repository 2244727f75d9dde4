// The contract tests' fixture: the real `emporium serve` on a migrated database, its OpenAPI document
// fetched from GET /openapi.json and written, indented, to $EMPORIUM_OPENAPI_OUT for the Node checks
// (tests/contract/contract.cmake).
#include "e2e/http_client.hpp"
#include "e2e/process.hpp"
#include "support/pg_fixture.hpp"
#include "support/test_env.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

namespace emporium::test {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;

// The document indented by two spaces a level, so that the linter's line:column and code frames
// point at one member (the server sends it on one line).
// NOLINTNEXTLINE(misc-no-recursion): depth is bounded by the parser (Boost.JSON: 32 levels)
void write_indented(std::ostream& out, const json::value& value, int depth) {
    const std::string inner(static_cast<std::size_t>(depth + 1) * 2, ' ');
    const std::string outer(static_cast<std::size_t>(depth) * 2, ' ');
    if (const auto* object = value.if_object(); object != nullptr && !object->empty()) {
        out << "{\n";
        bool first = true;
        for (const auto& member : *object) {
            out << (first ? "" : ",\n") << inner << json::serialize(member.key()) << ": ";
            write_indented(out, member.value(), depth + 1);
            first = false;
        }
        out << "\n" << outer << "}";
    } else if (const auto* array = value.if_array(); array != nullptr && !array->empty()) {
        out << "[\n";
        bool first = true;
        for (const auto& element : *array) {
            out << (first ? "" : ",\n") << inner;
            write_indented(out, element, depth + 1);
            first = false;
        }
        out << "\n" << outer << "]";
    } else {
        out << json::serialize(value);
    }
}

TEST(ContractDocument, TheServerServesAnOpenApi31Document) {
    const std::filesystem::path out = required_env("EMPORIUM_OPENAPI_OUT");
    std::filesystem::remove(out);  // a failed fetch never leaves the previous document behind

    ServerProcess server({{"DATABASE_URL", process_test_database_url()}});
    auto res = http_call(server.port(), bhttp::verb::get, "/openapi.json");
    ASSERT_EQ(res.result_int(), 200U) << res.body();

    boost::system::error_code ec;
    auto doc = json::parse(res.body(), ec);
    ASSERT_FALSE(ec) << "not JSON: " << ec.message();
    ASSERT_TRUE(doc.is_object());
    const auto* version = doc.as_object().if_contains("openapi");
    ASSERT_TRUE(version != nullptr && version->is_string());
    EXPECT_TRUE(version->as_string().starts_with("3.1.")) << *version;

    std::filesystem::create_directories(out.parent_path());
    auto partial = out;
    partial += ".part";
    {
        std::ofstream file(partial, std::ios::binary | std::ios::trunc);
        write_indented(file, doc, 0);
        file << '\n';
        file.flush();
        ASSERT_TRUE(file.good()) << "cannot write " << partial;
    }
    std::filesystem::rename(partial, out);
}

}  // namespace
}  // namespace emporium::test
