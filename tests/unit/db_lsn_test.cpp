// db::Lsn: PostgreSQL's "X/Y" text form of a WAL position, both ways.

#include "db/replicas.hpp"

#include <gtest/gtest.h>

namespace emporium::db {
namespace {

TEST(Lsn, ParsesPostgresText) {
    EXPECT_EQ(parse_lsn("0/0"), Lsn{0});
    EXPECT_EQ(parse_lsn("0/5000060"), Lsn{0x5000060});
    EXPECT_EQ(parse_lsn("16/B374D848"), (Lsn{0x16} << 32U) | 0xB374D848U);
    EXPECT_EQ(parse_lsn("16/b374d848"), (Lsn{0x16} << 32U) | 0xB374D848U);
    EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), ~Lsn{0});
}

TEST(Lsn, RejectsAnythingElse) {
    for (const char* bad :
         {"", "/", "0/", "/0", "16", "16/B374D848/1", "1G/0", "0/123456789", "-1/0", " 0/1", "0/1 "}) {
        EXPECT_FALSE(parse_lsn(bad).has_value()) << bad;
    }
}

TEST(Lsn, FormatsAsPostgresDoes) {
    EXPECT_EQ(format_lsn(0), "0/0");
    EXPECT_EQ(format_lsn(0x5000060), "0/5000060");
    EXPECT_EQ(format_lsn((Lsn{0x16} << 32U) | 0xB374D848U), "16/B374D848");
    for (Lsn v : {Lsn{1}, Lsn{0xABCDEF0123}, ~Lsn{0}}) EXPECT_EQ(parse_lsn(format_lsn(v)), v);
}

// Positions order as numbers: "9/0" is before "10/0" although it sorts after it as text.
TEST(Lsn, OrdersNumerically) {
    EXPECT_LT(*parse_lsn("9/FFFFFFFF"), *parse_lsn("10/0"));
    EXPECT_LT(*parse_lsn("0/FFFFFF"), *parse_lsn("0/1000000"));
}

}  // namespace
}  // namespace emporium::db
