#pragma once
// HS256 access tokens (libjwt), with the algorithm pinned: the JOSE header is decoded and checked
// before libjwt sees the token, the signature is verified in constant time, and libjwt's own view
// of the algorithm is checked again afterwards. Pure: no I/O, safe from any thread.

#include "auth/auth_types.hpp"
#include "core/error.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace emporium::auth {

struct JwtSettings {
    std::string secret;  // HS256 key
    std::string issuer;
    std::string audience;
    std::chrono::seconds ttl{900};
    std::chrono::seconds leeway{30};
};

// Tokens longer than this are rejected before any parsing.
inline constexpr std::size_t kMaxTokenLength = 4096;

class JwtCodec {
public:
    using Clock = std::chrono::system_clock;

    // Throws std::invalid_argument for an empty secret.
    explicit JwtCodec(JwtSettings settings);

    // A signed token with sub, role, iat, exp, jti, iss, aud, and sid when `session_id` is not
    // empty. Throws std::runtime_error if libjwt fails (out of memory).
    std::string issue(std::int64_t user_id,
                      Role role,
                      Clock::time_point now,
                      std::string_view session_id = {}) const;

    // Verifies a compact token. Errors: kUnauthorized with a client-safe reason (malformed, wrong
    // algorithm, bad signature, expired, not yet valid, wrong issuer/audience, bad claims).
    core::Result<AccessClaims> verify(std::string_view token, Clock::time_point now) const;

    const JwtSettings& settings() const { return settings_; }

private:
    JwtSettings settings_;
};

// Base64url without padding (RFC 7515 §2).
std::string base64url_encode(std::string_view raw);
// Returns false for characters outside the base64url alphabet or a bad length.
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace emporium::auth
