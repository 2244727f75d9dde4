// Access-token verification (auth::JwtCodec::verify) with a fixed key and clock, and base64url.
// The first input byte picks
//   0: the rest is a compact token, verified as the auth middleware verifies bearer tokens;
//   1: the rest is "<JOSE header JSON>\n<claims JSON>", encoded and signed with the key, so the
//      fuzzer reaches the algorithm pinning, libjwt and the claim checks behind the signature;
//   2: the rest goes through base64url decode and encode.
// Invariants: only a correctly signed HS256 token with valid claims verifies, and what it yields
// is consistent (positive subject, exp > iat, not expired at the fixed clock); a token issued by
// the codec always verifies; base64url round-trips both ways.

#include "auth/jwt.hpp"

#include <sodium.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using namespace emporium;

constexpr std::string_view kSecret = "fuzz-secret-0123456789abcdef0123456789";
constexpr std::int64_t kNow = 1'700'000'000;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

const auth::JwtCodec& codec() {
    static const auth::JwtCodec instance(auth::JwtSettings{std::string(kSecret),
                                                           "emporium",
                                                           "emporium-api",
                                                           std::chrono::seconds(900),
                                                           std::chrono::seconds(30)});
    return instance;
}

auth::JwtCodec::Clock::time_point now() {
    return auth::JwtCodec::Clock::time_point(std::chrono::seconds(kNow));
}

void check_claims(const core::Result<auth::AccessClaims>& r) {
    if (!r) {
        check(r.error().code == core::Errc::kUnauthorized, "rejected tokens are kUnauthorized");
        return;
    }
    check(r->user_id > 0, "the subject is positive");
    check(r->expires_at > r->issued_at, "exp > iat");
    check(r->expires_at > kNow - 30, "not expired at the clock");
    check(!r->jti.empty(), "tokens have an id");
}

std::string sign(std::string_view signing_input) {
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> tag{};
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(
        &state, reinterpret_cast<const unsigned char*>(kSecret.data()), kSecret.size());
    crypto_auth_hmacsha256_update(
        &state, reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
    crypto_auth_hmacsha256_final(&state, tag.data());
    return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(tag.data()), tag.size()));
}

void fuzz_signed(std::string_view input) {
    const auto newline = input.find('\n');
    if (newline == std::string_view::npos) return;
    std::string token = auth::base64url_encode(input.substr(0, newline));
    token += '.';
    token += auth::base64url_encode(input.substr(newline + 1));
    const auto signature = sign(token);
    token += '.';
    token += signature;
    check_claims(codec().verify(token, now()));
}

void fuzz_base64(std::string_view input) {
    const auto encoded = auth::base64url_encode(input);
    std::string decoded;
    check(auth::base64url_decode(encoded, decoded) && decoded == input, "encode then decode is the identity");
    if (auth::base64url_decode(input, decoded)) {
        check(auth::base64url_encode(decoded) == input, "decode accepts only canonical text");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool initialised = [] {
        check(sodium_init() >= 0, "libsodium initialises");
        // A token the codec issues verifies (and exercises libjwt's encoder once).
        auto issued = codec().issue(42, auth::Role::kCustomer, now());
        auto claims = codec().verify(issued, now());
        check(claims && claims->user_id == 42, "an issued token verifies");
        return true;
    }();
    (void)initialised;
    if (size == 0) return 0;
    // The selector is a digit in the seed corpora: '0' picks the first case.
    const auto selector = static_cast<unsigned>(static_cast<std::uint8_t>(data[0] - '0'));
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);  // NOLINT: bytes
    switch (selector % 3) {
        case 0:
            check_claims(codec().verify(rest, now()));
            break;
        case 1:
            fuzz_signed(rest);
            break;
        default:
            fuzz_base64(rest);
            break;
    }
    return 0;
}
