#pragma once
// Password policy and Argon2id hashing (libsodium crypto_pwhash_str); e-mail normalisation is
// core::normalise_email (core/email.hpp). Pure functions; hashing and verification are CPU-heavy
// (tens of milliseconds at the default cost) and must run on the CPU pool, never on an I/O thread.

#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::auth {

inline constexpr std::size_t kMinPasswordLength = 10;   // code points
inline constexpr std::size_t kMaxPasswordLength = 256;  // code points (bounds the hashing input)

// Argon2id cost parameters.
struct PasswordParams {
    std::uint64_t opslimit = 2;
    std::size_t memlimit_bytes = 19'922'944;
};

// The policy: at least 10 and at most 256 code points, not one character repeated, not the e-mail
// address (nor its local part), compared case-insensitively. Returns one message per broken rule
// (empty = acceptable). `normalised_email` may be empty when unknown.
std::vector<std::string> password_policy_violations(std::string_view password,
                                                    std::string_view normalised_email);

// PHC string ($argon2id$v=19$m=…,t=…,p=1$…). Throws core::InfraError when libsodium fails (out of
// memory for the configured memlimit).
std::string hash_password(std::string_view password, PasswordParams params);
// True when `password` matches `hash` (false for a malformed hash too).
bool verify_password(std::string_view hash, std::string_view password);
// True when `hash` was made with other parameters (or another algorithm) than `params`.
bool needs_rehash(std::string_view hash, PasswordParams params);

}  // namespace emporium::auth
