#pragma once
// Plain types of the authentication context: users, roles, token claims and token pairs.

#include "core/fields.hpp"

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::auth {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

enum class Role {
    kCustomer,
    kAdmin,
};
BOOST_DESCRIBE_ENUM(Role, kCustomer, kAdmin)

// "customer" / "admin": stored in users.role and in the `role` claim.
std::string_view role_name(Role role) noexcept;
std::optional<Role> parse_role(std::string_view name) noexcept;

struct User {
    std::int64_t id = 0;
    std::string email;  // normalised (trimmed, lower case)
    std::string name;
    Role role = Role::kCustomer;
    Timestamp created_at{};
};
BOOST_DESCRIBE_STRUCT(User, (), (id, email, name, role, created_at))

// What a verified access token says.
struct AccessClaims {
    std::int64_t user_id = 0;
    Role role = Role::kCustomer;
    std::string jti;
    // `sid`: the refresh-token family (the session) the token was minted for; empty for tokens
    // minted outside a session (tools, tests), which cannot be revoked before they expire.
    std::string session_id;
    std::int64_t issued_at = 0;   // unix seconds
    std::int64_t expires_at = 0;  // unix seconds
};

// Returned by login and refresh. The refresh token is opaque (only its SHA-256 is stored).
struct TokenPair {
    std::string access_token;
    std::chrono::seconds access_expires_in{0};
    std::string refresh_token;
    std::chrono::seconds refresh_expires_in{0};
};

// The longest e-mail, password or name the API reads (the service applies its own rules after).
inline constexpr std::size_t kMaxFieldLength = 4096;

struct RegisterInput {
    std::string email;
    std::string password;
    std::string name;
    static constexpr std::array kFields{
        core::field("email").length(1, kMaxFieldLength).with_format("email").describe("trimmed and lower-cased; unique"),
        core::field("password")
            .length(0, kMaxFieldLength)
            .verbatim()
            .describe("at least 10 characters, not one repeated character, not the e-mail address"),
        core::field("name").length(0, kMaxFieldLength).describe("1 to 200 characters")};
    static constexpr std::string_view kSchemaName = "RegisterRequest";
};
BOOST_DESCRIBE_STRUCT(RegisterInput, (), (email, password, name))

struct LoginResult {
    User user;
    TokenPair tokens;
};

}  // namespace emporium::auth
