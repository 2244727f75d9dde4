#include "auth/jwt.hpp"

#include "core/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <jwt.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace emporium::auth {

namespace {

namespace json = boost::json;

struct JwtDeleter {
    void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

struct CharDeleter {
    void operator()(char* p) const {
        std::free(p);
    }  // NOLINT(cppcoreguidelines-no-malloc): libjwt allocates with malloc
};

core::Error invalid(std::string reason) {
    return core::make_error(core::Errc::kUnauthorized, std::move(reason));
}

bool is_base64url(std::string_view s) {
    return std::ranges::all_of(s, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
    });
}

std::optional<json::object> decode_json_segment(std::string_view segment) {
    std::string raw;
    if (!base64url_decode(segment, raw)) return std::nullopt;
    boost::system::error_code ec;
    auto value = json::parse(raw, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return std::move(value.as_object());
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
    crypto_auth_hmacsha256_state state;
    std::array<unsigned char, crypto_auth_hmacsha256_BYTES> tag{};
    crypto_auth_hmacsha256_init(&state,
                                reinterpret_cast<const unsigned char*>(key.data()),
                                key.size());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
    crypto_auth_hmacsha256_update(
        &state,
        reinterpret_cast<const unsigned char*>(message.data()),
        message.size());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
    crypto_auth_hmacsha256_final(&state, tag.data());
    return {reinterpret_cast<const char*>(tag.data()),
            tag.size()};  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): bytes
}

std::optional<std::int64_t> int_claim(const json::object& claims, std::string_view name) {
    const auto* it = claims.find(name);
    if (it == claims.end()) return std::nullopt;
    if (it->value().is_int64()) return it->value().as_int64();
    return std::nullopt;
}

std::optional<std::string_view> string_claim(const json::object& claims, std::string_view name) {
    const auto* it = claims.find(name);
    if (it == claims.end() || !it->value().is_string()) return std::nullopt;
    return std::string_view(it->value().as_string());
}

bool audience_matches(const json::object& claims, std::string_view audience) {
    const auto* it = claims.find("aud");
    if (it == claims.end()) return false;
    if (it->value().is_string()) return it->value().as_string() == audience;
    if (it->value().is_array()) {
        for (const auto& a : it->value().as_array()) {
            if (a.is_string() && a.as_string() == audience) return true;
        }
    }
    return false;
}

}  // namespace

std::string base64url_encode(std::string_view raw) {
    const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_ENCODED_LEN(raw.size(), variant), '\0');
    sodium_bin2base64(out.data(),
                      out.size(),
                      reinterpret_cast<const unsigned char*>(raw.data()),
                      raw.size(),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
                      variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    // libsodium 1.0.18 decodes some bytes outside the alphabet (those >= 0x80) as if they were
    // base64 digits, so the alphabet is checked here first.
    if (!is_base64url(text)) return false;
    out.assign(text.size(), '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                          out.size(),
                          text.data(),
                          text.size(),
                          nullptr,  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
                          &len,
                          &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != text.data() + text.size()) {
        return false;
    }
    out.resize(len);
    return true;
}

JwtCodec::JwtCodec(JwtSettings settings) : settings_(std::move(settings)) {
    if (settings_.secret.empty()) throw std::invalid_argument("JwtCodec: empty secret");
}

std::string JwtCodec::issue(std::int64_t user_id,
                            Role role,
                            Clock::time_point now,
                            std::string_view session_id) const {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) throw std::runtime_error("jwt_new failed");
    JwtPtr token(raw);
    const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto exp = iat + settings_.ttl.count();
    const auto sub = std::to_string(user_id);
    const auto jti = core::random_hex_id();
    int rc = jwt_set_alg(
        token.get(),
        JWT_ALG_HS256,
        reinterpret_cast<const unsigned char*>(
            settings_.secret.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
        static_cast<int>(settings_.secret.size()));
    rc = rc != 0 ? rc : jwt_add_grant(token.get(), "sub", sub.c_str());
    rc = rc != 0 ? rc : jwt_add_grant(token.get(), "role", std::string(role_name(role)).c_str());
    rc = rc != 0 ? rc : jwt_add_grant(token.get(), "jti", jti.c_str());
    rc = rc != 0 ? rc : jwt_add_grant(token.get(), "iss", settings_.issuer.c_str());
    rc = rc != 0 ? rc : jwt_add_grant(token.get(), "aud", settings_.audience.c_str());
    rc = rc != 0 ? rc : jwt_add_grant_int(token.get(), "iat", static_cast<long>(iat));
    rc = rc != 0 ? rc : jwt_add_grant_int(token.get(), "exp", static_cast<long>(exp));
    if (!session_id.empty()) rc = rc != 0 ? rc : jwt_add_grant(token.get(), "sid", std::string(session_id).c_str());
    if (rc != 0) throw std::runtime_error("libjwt: building the token failed");
    std::unique_ptr<char, CharDeleter> encoded(jwt_encode_str(token.get()));
    if (!encoded) throw std::runtime_error("libjwt: encoding the token failed");
    return {encoded.get()};
}

core::Result<AccessClaims> JwtCodec::verify(std::string_view token, Clock::time_point now) const {
    if (token.empty() || token.size() > kMaxTokenLength) return invalid("the access token is malformed");
    const auto dot1 = token.find('.');
    const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return invalid("the access token is malformed");
    const auto header_b64 = token.substr(0, dot1);
    const auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto signature_b64 = token.substr(dot2 + 1);
    if (header_b64.empty() || payload_b64.empty() || !is_base64url(header_b64) ||
        !is_base64url(payload_b64) || !is_base64url(signature_b64))
        return invalid("the access token is malformed");

    // 1. Pin the algorithm from the header we parse ourselves, before libjwt looks at the token.
    auto header = decode_json_segment(header_b64);
    if (!header) return invalid("the access token is malformed");
    auto* alg = header->find("alg");
    if (alg == header->end() || !alg->value().is_string() || alg->value().as_string() != "HS256")
        return invalid("the access token's algorithm is not accepted");
    if (header->contains("crit")) return invalid("the access token's algorithm is not accepted");

    // 2. Constant-time signature check (libsodium), independent of libjwt's comparison.
    std::string signature;
    if (!base64url_decode(signature_b64, signature) || signature.size() != crypto_auth_hmacsha256_BYTES)
        return invalid("the access token's signature is invalid");
    const auto expected = hmac_sha256(settings_.secret, token.substr(0, dot2));
    if (sodium_memcmp(expected.data(), signature.data(), expected.size()) != 0)
        return invalid("the access token's signature is invalid");

    // 3. libjwt decodes and verifies again; its algorithm must agree.
    const std::string token_text(token);
    jwt_t* raw = nullptr;
    int rc = jwt_decode(
        &raw,
        token_text.c_str(),
        reinterpret_cast<const unsigned char*>(
            settings_.secret.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
        static_cast<int>(settings_.secret.size()));
    JwtPtr decoded(raw);
    if (rc != 0 || !decoded) return invalid("the access token's signature is invalid");
    if (jwt_get_alg(decoded.get()) != JWT_ALG_HS256)
        return invalid("the access token's algorithm is not accepted");

    // 4. Claims, with exact types.
    auto claims = decode_json_segment(payload_b64);
    if (!claims) return invalid("the access token is malformed");
    auto iss = string_claim(*claims, "iss");
    if (!iss || *iss != settings_.issuer) return invalid("the access token has the wrong issuer");
    if (!audience_matches(*claims, settings_.audience))
        return invalid("the access token has the wrong audience");
    auto iat = int_claim(*claims, "iat");
    auto exp = int_claim(*claims, "exp");
    if (!iat || !exp || *exp <= *iat) return invalid("the access token has invalid time claims");
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const auto leeway = settings_.leeway.count();
    if (*exp <= now_s - leeway) return invalid("the access token has expired");
    if (*iat > now_s + leeway) return invalid("the access token was issued in the future");
    auto* nbf = claims->find("nbf");
    if (nbf != claims->end() && (!nbf->value().is_int64() || nbf->value().as_int64() > now_s + leeway))
        return invalid("the access token is not valid yet");

    AccessClaims out;
    auto sub = string_claim(*claims, "sub");
    if (!sub || sub->empty()) return invalid("the access token has no subject");
    auto [ptr, ec] = std::from_chars(sub->data(), sub->data() + sub->size(), out.user_id);
    if (ec != std::errc{} || ptr != sub->data() + sub->size() || out.user_id <= 0)
        return invalid("the access token has an invalid subject");
    auto role = string_claim(*claims, "role");
    auto parsed_role = role ? parse_role(*role) : std::nullopt;
    if (!parsed_role) return invalid("the access token has an invalid role");
    out.role = *parsed_role;
    auto jti = string_claim(*claims, "jti");
    if (!jti || jti->empty()) return invalid("the access token has no id");
    out.jti = std::string(*jti);
    if (claims->contains("sid")) {
        auto sid = string_claim(*claims, "sid");
        if (!sid || sid->empty() || sid->size() > 64) return invalid("the access token has an invalid session");
        out.session_id = std::string(*sid);
    }
    out.issued_at = *iat;
    out.expires_at = *exp;
    return out;
}

}  // namespace emporium::auth
