// Password policy and Argon2id hashing (with cheap parameters).
#include "auth/password.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

namespace emporium::auth {
namespace {

// The cheapest parameters libsodium accepts: fast tests, same code path.
constexpr PasswordParams kCheap{1, 8192};
constexpr PasswordParams kCheapStronger{2, 16384};

TEST(PasswordPolicy, AcceptsAReasonablePassword) {
    EXPECT_TRUE(password_policy_violations("correct horse battery", "alice@example.com").empty());
    EXPECT_TRUE(password_policy_violations("aaaaaaaaab", "").empty()) << "10 characters, not all the same";
}

TEST(PasswordPolicy, RequiresTenCodePoints) {
    auto v = password_policy_violations("short1234", "alice@example.com");
    ASSERT_EQ(v.size(), 1U);
    EXPECT_NE(v[0].find("at least 10"), std::string::npos);
    // Ten multi-byte characters are ten characters, not thirty bytes too many.
    EXPECT_TRUE(password_policy_violations("ÄÖÜäöüßéèê", "").empty());
    EXPECT_FALSE(password_policy_violations("ÄÖÜäöüßéè", "").empty());
}

TEST(PasswordPolicy, RejectsOneRepeatedCharacter) {
    auto v = password_policy_violations("aaaaaaaaaaaa", "");
    ASSERT_EQ(v.size(), 1U);
    EXPECT_NE(v[0].find("repeated"), std::string::npos);
    EXPECT_FALSE(password_policy_violations("éééééééééééé", "").empty());
}

TEST(PasswordPolicy, RejectsTheEmailAddressInAnyCase) {
    auto v = password_policy_violations("Alice.Long@Example.com", "alice.long@example.com");
    ASSERT_EQ(v.size(), 1U);
    EXPECT_NE(v[0].find("e-mail"), std::string::npos);
    EXPECT_FALSE(password_policy_violations("alicelonger", "alicelonger@example.com").empty())
        << "local part";
}

TEST(PasswordPolicy, ReportsEveryBrokenRule) {
    EXPECT_EQ(password_policy_violations("aaaa", "").size(), 2U);
    EXPECT_EQ(password_policy_violations(std::string(300, 'x'), "").size(), 2U);
}

class PasswordHashTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_GE(sodium_init(), 0); }
};

TEST_F(PasswordHashTest, HashesAreArgon2idAndVerify) {
    auto hash = hash_password("correct horse battery", kCheap);
    EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
    EXPECT_NE(hash.find("m=8,t=1"), std::string::npos) << hash;
    EXPECT_TRUE(verify_password(hash, "correct horse battery"));
    EXPECT_FALSE(verify_password(hash, "correct horse batterY"));
    EXPECT_NE(hash_password("correct horse battery", kCheap), hash) << "salted";
}

TEST_F(PasswordHashTest, MalformedHashesNeverVerify) {
    EXPECT_FALSE(verify_password("", "x"));
    EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
    EXPECT_FALSE(verify_password(std::string(500, '$'), "x"));
}

TEST_F(PasswordHashTest, NeedsRehashWhenParametersChange) {
    auto hash = hash_password("correct horse battery", kCheap);
    EXPECT_FALSE(needs_rehash(hash, kCheap));
    EXPECT_TRUE(needs_rehash(hash, kCheapStronger));
    EXPECT_TRUE(needs_rehash("$2b$10$bcrypthashfromelsewhere", kCheap));
}

TEST_F(PasswordHashTest, DefaultParametersAreOwaspArgon2id) {
    PasswordParams defaults;
    EXPECT_EQ(defaults.memlimit_bytes, 19U * 1024U * 1024U);
    EXPECT_EQ(defaults.opslimit, 2U);
    auto hash = hash_password("correct horse battery", defaults);
    EXPECT_NE(hash.find("$argon2id$v=19$m=19456,t=2,p=1$"), std::string::npos) << hash;
    EXPECT_TRUE(verify_password(hash, "correct horse battery"));
}

}  // namespace
}  // namespace emporium::auth
