// The statement splitter of no-transaction migrations and the progress line, without a database.

#include "db/migrate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace emporium::db {
namespace {

std::vector<std::string> texts(std::string_view sql) {
    std::vector<std::string> out;
    for (const auto& s : split_sql_statements(sql)) out.push_back(s.text);
    return out;
}

std::string split_error(std::string_view sql) {
    try {
        split_sql_statements(sql);
    } catch (const MigrationError& e) {
        return e.what();
    }
    return "(no MigrationError)";
}

TEST(SplitSqlStatements, SplitsAtTopLevelSemicolonsAndKeepsLines) {
    const auto statements =
        split_sql_statements("CREATE TABLE a (id int);\n\n  INSERT INTO a VALUES (1) ;\nSELECT 1");
    ASSERT_EQ(statements.size(), 3U);
    EXPECT_EQ(statements[0].text, "CREATE TABLE a (id int)");
    EXPECT_EQ(statements[0].line, 1);
    EXPECT_EQ(statements[1].text, "INSERT INTO a VALUES (1)");
    EXPECT_EQ(statements[1].line, 3);
    EXPECT_EQ(statements[2].text, "SELECT 1");  // the last one needs no semicolon
    EXPECT_EQ(statements[2].line, 4);
}

TEST(SplitSqlStatements, SemicolonsInsideQuotesAndCommentsDoNotSplit) {
    EXPECT_EQ(texts("SELECT 'a;b', 'it''s;'; SELECT 2"),
              (std::vector<std::string>{"SELECT 'a;b', 'it''s;'", "SELECT 2"}));
    EXPECT_EQ(texts(R"(SELECT E'\';', 1; SELECT 2)"),
              (std::vector<std::string>{R"(SELECT E'\';', 1)", "SELECT 2"}));
    // Without E a backslash is an ordinary character (standard_conforming_strings).
    EXPECT_EQ(texts(R"(SELECT '\'; SELECT 2)"), (std::vector<std::string>{R"(SELECT '\')", "SELECT 2"}));
    EXPECT_EQ(texts(R"(SELECT 1 AS "x;""y"; SELECT 2)"),
              (std::vector<std::string>{R"(SELECT 1 AS "x;""y")", "SELECT 2"}));
    // Comments inside a statement stay; around it they are dropped.
    EXPECT_EQ(texts("SELECT 1 -- not here; nor here\n; SELECT 2"),
              (std::vector<std::string>{"SELECT 1", "SELECT 2"}));
    EXPECT_EQ(texts("SELECT -- one; two\n 1; SELECT 2"),
              (std::vector<std::string>{"SELECT -- one; two\n 1", "SELECT 2"}));
    EXPECT_EQ(texts("SELECT /* a; /* nested; */ still; */ 1; SELECT 2"),
              (std::vector<std::string>{"SELECT /* a; /* nested; */ still; */ 1", "SELECT 2"}));
}

TEST(SplitSqlStatements, DollarQuotedBodiesStayWhole) {
    const std::string function =
        "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$\n"
        "BEGIN\n"
        "    PERFORM 1; RAISE NOTICE $$it's; fine$$;\n"
        "    RETURN 1;\n"
        "END;\n"
        "$fn$";
    const auto statements = split_sql_statements(function + ";\nDO $$ BEGIN PERFORM f(); END $$;\n");
    ASSERT_EQ(statements.size(), 2U);
    EXPECT_EQ(statements[0].text, function);
    EXPECT_EQ(statements[1].text, "DO $$ BEGIN PERFORM f(); END $$");
    EXPECT_EQ(statements[1].line, 7);
    // $1 is a parameter and a$b an identifier, not the start of a dollar quote.
    EXPECT_EQ(texts("PREPARE p AS SELECT $1; SELECT a$b FROM t; SELECT 3"),
              (std::vector<std::string>{"PREPARE p AS SELECT $1", "SELECT a$b FROM t", "SELECT 3"}));
}

TEST(SplitSqlStatements, CommentOnlyAndEmptyStatementsAreDropped) {
    EXPECT_EQ(texts("-- emporium: no-transaction\n-- just words;\n;;\n/* ; */\nSELECT 1;\n-- trailing\n"),
              (std::vector<std::string>{"SELECT 1"}));
    EXPECT_TRUE(texts("").empty());
    EXPECT_TRUE(texts("  -- nothing\n").empty());
}

TEST(SplitSqlStatements, UnterminatedConstructsAreErrorsNamingTheirLine) {
    EXPECT_NE(split_error("SELECT 1;\nSELECT 'open;\n").find("line 2: unterminated quoted string"),
              std::string::npos);
    EXPECT_NE(split_error("SELECT 1;\n\nDO $x$ BEGIN END $y$;")
                  .find("line 3: unterminated dollar-quoted string $x$"),
              std::string::npos);
    EXPECT_NE(split_error("SELECT \"open").find("line 1: unterminated quoted identifier"), std::string::npos);
    EXPECT_NE(split_error("/* /* */ SELECT 1;").find("line 1: unterminated /* comment"), std::string::npos);
}

TEST(IndexBuildProgressText, DescribesPhaseShareAndTime) {
    IndexBuildProgress p;
    p.migration = "0006_search.sql";
    p.index = "products_search_rum_idx";
    p.table = "products";
    p.phase = "building index: scanning table";
    p.blocks_total = 2000;
    p.blocks_done = 500;
    p.elapsed = std::chrono::milliseconds(12'400);
    ASSERT_TRUE(p.phase_fraction().has_value());
    EXPECT_DOUBLE_EQ(*p.phase_fraction(), 0.25);
    EXPECT_EQ(describe(p),
              "0006_search.sql: products_search_rum_idx on products: building index: scanning table 25% "
              "(500/2000 blocks), 12 s");

    // A waiting phase is measured by the sessions waited for, not by the blocks of the last scan.
    p.phase = "waiting for old snapshots";
    p.lockers_total = 4;
    p.lockers_done = 1;
    p.current_locker_pid = 4242;
    p.elapsed = std::chrono::milliseconds(1'500);
    EXPECT_DOUBLE_EQ(*p.phase_fraction(), 0.25);
    EXPECT_EQ(describe(p),
              "0006_search.sql: products_search_rum_idx on products: waiting for old snapshots 25% "
              "(1/4 sessions, waiting for pid 4242), 1.5 s");

    p.phase = "building index: sorting live tuples";
    p.blocks_total = 0;
    p.tuples_total = 0;
    EXPECT_FALSE(p.phase_fraction().has_value());
    EXPECT_EQ(
        describe(p),
        "0006_search.sql: products_search_rum_idx on products: building index: sorting live tuples, 1.5 s");

    p.finished = true;
    p.elapsed = std::chrono::milliseconds(95'000);
    EXPECT_EQ(describe(p), "0006_search.sql: products_search_rum_idx on products: finished after 95 s");
    p.failed = true;
    EXPECT_EQ(describe(p), "0006_search.sql: products_search_rum_idx on products: failed after 95 s");
}

}  // namespace
}  // namespace emporium::db
