#include "auth/password.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

namespace emporium::auth {

namespace {

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

// Splits UTF-8 text into its code points' byte sequences (invalid bytes count as one each).
std::vector<std::string_view> code_points(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t n = 1;
        while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0U) == 0x80U) ++n;
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

std::vector<std::string> password_policy_violations(std::string_view password,
                                                    std::string_view normalised_email) {
    std::vector<std::string> out;
    const auto cps = code_points(password);
    if (cps.size() < kMinPasswordLength)
        out.emplace_back("must be at least " + std::to_string(kMinPasswordLength) + " characters long");
    if (cps.size() > kMaxPasswordLength)
        out.emplace_back("must be at most " + std::to_string(kMaxPasswordLength) + " characters long");
    if (!cps.empty() &&
        std::all_of(cps.begin(), cps.end(), [&](std::string_view cp) { return cp == cps.front(); }))
        out.emplace_back("must not consist of a single repeated character");
    if (!normalised_email.empty()) {
        const auto pw = lower(password);
        const auto local = normalised_email.substr(0, normalised_email.find('@'));
        if (pw == normalised_email || pw == local) out.emplace_back("must not be the e-mail address");
    }
    return out;
}

std::string hash_password(std::string_view password, PasswordParams params) {
    std::array<char, crypto_pwhash_STRBYTES> out{};
    if (crypto_pwhash_str_alg(out.data(),
                              password.data(),
                              password.size(),
                              params.opslimit,
                              params.memlimit_bytes,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw core::InfraError("password hashing failed (out of memory?)");
    }
    return {out.data()};
}

bool verify_password(std::string_view hash, std::string_view password) {
    if (hash.size() >= crypto_pwhash_STRBYTES) return false;
    std::array<char, crypto_pwhash_STRBYTES> str{};
    std::copy(hash.begin(), hash.end(), str.begin());
    return crypto_pwhash_str_verify(str.data(), password.data(), password.size()) == 0;
}

bool needs_rehash(std::string_view hash, PasswordParams params) {
    if (hash.size() >= crypto_pwhash_STRBYTES || !hash.starts_with("$argon2id$")) return true;
    std::array<char, crypto_pwhash_STRBYTES> str{};
    std::copy(hash.begin(), hash.end(), str.begin());
    return crypto_pwhash_str_needs_rehash(str.data(), params.opslimit, params.memlimit_bytes) != 0;
}

}  // namespace emporium::auth
