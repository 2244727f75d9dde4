#include "payments/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace emporium::payments {
namespace {

constexpr std::size_t kDigestSize = 32;  // SHA-256
using Digest = std::array<unsigned char, kDigestSize>;

constexpr std::string_view kHexDigits = "0123456789abcdef";

Digest hmac_sha256(std::string_view secret, std::int64_t timestamp, std::string_view body) {
    if (secret.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        throw std::invalid_argument("webhook: secret too long");
    }
    std::string payload = std::to_string(timestamp);
    payload += '.';
    payload += body;
    // Some OpenSSL versions fail on a null key: give HMAC() a real pointer even when it is empty.
    static constexpr unsigned char kEmptyKey = 0;
    const void* key = secret.empty() ? static_cast<const void*>(&kEmptyKey) : secret.data();
    Digest digest{};
    unsigned int size = 0;
    const unsigned char* result = HMAC(EVP_sha256(),
                                       key,
                                       static_cast<int>(secret.size()),
                                       reinterpret_cast<const unsigned char*>(payload.data()),
                                       payload.size(),
                                       digest.data(),
                                       &size);
    if (result == nullptr || size != kDigestSize) {
        throw core::InfraError("webhook: HMAC-SHA256 failed (OpenSSL)");
    }
    return digest;
}

std::string to_hex(const Digest& digest) {
    std::string out;
    out.reserve(digest.size() * 2);
    for (const unsigned char byte : digest) {
        out += kHexDigits[byte >> 4U];
        out += kHexDigits[byte & 0x0FU];
    }
    return out;
}

std::optional<unsigned> hex_value(char c) {
    if (c >= '0' && c <= '9') return static_cast<unsigned>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<unsigned>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<unsigned>(c - 'A' + 10);
    return std::nullopt;
}

// Exactly 64 hex digits (either case) → the 32-byte digest.
std::optional<Digest> decode_digest(std::string_view hex) {
    if (hex.size() != kDigestSize * 2) return std::nullopt;
    Digest digest{};
    for (std::size_t i = 0; i < kDigestSize; ++i) {
        const auto high = hex_value(hex[2 * i]);
        const auto low = hex_value(hex[2 * i + 1]);
        if (!high || !low) return std::nullopt;
        digest[i] = static_cast<unsigned char>((*high << 4U) | *low);
    }
    return digest;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// A non-negative decimal number without sign or spaces.
std::optional<std::int64_t> parse_timestamp(std::string_view text) {
    if (text.empty()) return std::nullopt;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

core::Error unauthorized(std::string message) {
    return core::make_error(core::Errc::kUnauthorized, std::move(message));
}

core::Error malformed(std::string_view reason) {
    return unauthorized("webhook: malformed signature header: " + std::string(reason));
}

struct SignatureHeader {
    std::int64_t timestamp = 0;
    std::vector<Digest> signatures;  // the v1 values
};

core::Result<SignatureHeader> parse_header(std::string_view header) {
    if (trim(header).empty()) return unauthorized("webhook: missing signature header");
    SignatureHeader parsed;
    bool has_timestamp = false;
    while (true) {
        const auto comma = header.find(',');
        const std::string_view item = trim(header.substr(0, comma));
        if (item.empty()) return malformed("empty item");
        const auto equals = item.find('=');
        if (equals == std::string_view::npos) return malformed("an item without '='");
        const std::string_view scheme = item.substr(0, equals);
        const std::string_view value = item.substr(equals + 1);
        if (scheme == "t") {
            if (has_timestamp) return malformed("repeated t");
            const auto timestamp = parse_timestamp(value);
            if (!timestamp) return malformed("t is not a unix timestamp");
            parsed.timestamp = *timestamp;
            has_timestamp = true;
        } else if (scheme == "v1") {
            const auto digest = decode_digest(value);
            if (!digest) return malformed("a v1 signature is not 64 hex digits");
            parsed.signatures.push_back(*digest);
        }
        // Other schemes (v0 test-mode signatures, future versions) are ignored.
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    if (!has_timestamp) return malformed("no t");
    return parsed;
}

}  // namespace

std::string sign_webhook(std::string_view secret, std::int64_t timestamp, std::string_view body) {
    if (timestamp < 0) throw std::invalid_argument("webhook: negative timestamp");
    return "t=" + std::to_string(timestamp) + ",v1=" + to_hex(hmac_sha256(secret, timestamp, body));
}

core::Result<std::int64_t> verify_webhook(std::string_view header,
                                          std::string_view body,
                                          std::string_view secret,
                                          std::chrono::seconds tolerance,
                                          std::int64_t now_seconds) {
    if (secret.empty()) {
        return core::make_error(core::Errc::kInternal, "webhook: no signing secret configured");
    }
    auto parsed = parse_header(header);
    if (!parsed) return parsed.error();
    if (parsed->signatures.empty()) return unauthorized("webhook: no v1 signature in the signature header");

    const Digest expected = hmac_sha256(secret, parsed->timestamp, body);
    bool matched = false;
    for (const Digest& candidate : parsed->signatures) {
        // Equal lengths by construction; CRYPTO_memcmp takes the same time wherever they differ.
        matched = CRYPTO_memcmp(expected.data(), candidate.data(), kDigestSize) == 0 || matched;
    }
    if (!matched) return unauthorized("webhook: signature mismatch");

    // The timestamp is >= 0, so now - timestamp can only overflow downwards.
    const std::int64_t timestamp = parsed->timestamp;
    const std::int64_t limit = std::max<std::int64_t>(tolerance.count(), 0);
    if (now_seconds < std::numeric_limits<std::int64_t>::min() + timestamp ||
        now_seconds - timestamp < -limit) {
        return unauthorized("webhook: timestamp outside the tolerance: it is in the future");
    }
    if (now_seconds - timestamp > limit) {
        return unauthorized("webhook: timestamp outside the tolerance: it is too old");
    }
    return timestamp;
}

}  // namespace emporium::payments
