// E-mail normalisation (registration and login) and the rate-limit key built from it.
#include "core/email.hpp"

#include <gtest/gtest.h>

#include <string>

namespace emporium::core {
namespace {

TEST(NormaliseEmail, TrimsAndLowerCases) {
    EXPECT_EQ(normalise_email("  Alice.Smith@Example.COM \t"), "alice.smith@example.com");
    EXPECT_EQ(normalise_email("a+tag@sub.example.org"), "a+tag@sub.example.org");
    EXPECT_EQ(normalise_email("\f\v\r\nbob@example.com\f\v"), "bob@example.com");
    EXPECT_EQ(normalise_email("\xC3\x89mile@example.com"), "\xC3\x89mile@example.com")
        << "non-ASCII kept as is";
}

TEST(NormaliseEmail, RejectsBadShapes) {
    for (const char* bad : {"",
                            "a",
                            "@example.com",
                            "alice@",
                            "alice",
                            "alice@example",
                            "alice@@example.com",
                            "al ice@example.com",
                            "al\fice@example.com",
                            "alice@.com",
                            "alice@example.",
                            "alice@exa..mple.com",
                            "<alice@example.com>",
                            "alice@-example.com"}) {
        EXPECT_FALSE(normalise_email(bad)) << bad;
    }
    std::string long_local(65, 'a');
    long_local.append("@example.com");
    EXPECT_FALSE(normalise_email(long_local)) << "local part over 64";
    std::string long_domain = "a@";
    long_domain.append(250, 'b').append(".com");
    EXPECT_FALSE(normalise_email(long_domain)) << "over 254";
}

TEST(EmailRateKey, EverySpellingLoginAcceptsForOneAddressHasOneKey) {
    const auto key = email_rate_key("victim@example.com");
    ASSERT_TRUE(key);
    EXPECT_EQ(*key, "victim@example.com");
    // The whitespace login trims, whatever the mix, and ASCII case.
    for (const char* spelling : {"\fvictim@example.com",
                                 "\f\fvictim@example.com",
                                 "\vvictim@example.com",
                                 "victim@example.com\v\f",
                                 " \t\r\n\f\vVICTIM@Example.COM\f",
                                 "Victim@EXAMPLE.com"}) {
        EXPECT_EQ(email_rate_key(spelling), key) << spelling;
    }
}

TEST(EmailRateKey, FoldsNonAsciiCaseLikeTheDatabase) {
    // É / é, Σ / σ, and the two capitals that lower-case to ASCII letters.
    EXPECT_EQ(email_rate_key("\xC3\x89MILE@example.com"), email_rate_key("\xC3\xA9mile@example.com"));
    EXPECT_EQ(email_rate_key("\xCE\xA3igma@example.gr"), email_rate_key("\xCF\x83igma@example.gr"));
    EXPECT_EQ(email_rate_key("\xE2\x84\xAAim@example.com"), email_rate_key("kim@example.com"))
        << "Kelvin sign";
    EXPECT_EQ(email_rate_key("\xC4\xB0van@example.com"), email_rate_key("ivan@example.com"))
        << "capital I with dot";
    EXPECT_EQ(email_rate_key("kim@\xE2\x84\xAA.example.com"), email_rate_key("kim@k.example.com"))
        << "in the domain";
    // Different letters stay different keys.
    EXPECT_NE(email_rate_key("\xC3\xA9mile@example.com"), email_rate_key("emile@example.com"));
    EXPECT_NE(email_rate_key("\xC3\xBC@example.de"), email_rate_key("\xC3\xB6@example.de"));
}

TEST(EmailRateKey, RefusesWhatTheNormaliserRefuses) {
    for (const char* bad : {"", "\f", "no-at-sign", "a b@example.com", "a@b", "\f@example.com"}) {
        EXPECT_FALSE(email_rate_key(bad)) << bad;
    }
}

TEST(EmailRateKey, MalformedUtf8StaysByteForByte) {
    // Boost.JSON only hands over valid UTF-8; the key function still must not lose bytes.
    EXPECT_EQ(email_rate_key("a\xFF\xC3@example.com"), "a\xFF\xC3@example.com");
}

TEST(FoldCodePoint, IsIdempotentAndMapsAsciiLikeTheNormaliser) {
    for (char32_t c = 0; c < 0x80; ++c) {
        const char32_t want = c >= U'A' && c <= U'Z' ? c - U'A' + U'a' : c;
        EXPECT_EQ(fold_code_point(c), want);
    }
    for (char32_t c = 0x80; c < 0x110000; ++c) {
        if (c >= 0xD800 && c <= 0xDFFF) continue;
        const auto f = fold_code_point(c);
        ASSERT_EQ(fold_code_point(f), f) << std::hex << static_cast<unsigned>(c);
    }
}

}  // namespace
}  // namespace emporium::core
