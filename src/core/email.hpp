#pragma once
// E-mail addresses as the shop compares them: one normalisation for registration, login and every
// rate-limit key built from an address, so no spelling reaches an account under another key.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::core {

inline constexpr std::size_t kMaxEmailLength = 254;

// Trims ASCII whitespace (space, \t, \n, \v, \f, \r) and lower-cases ASCII letters; nullopt unless
// the result has the basic shape local@domain.tld (no spaces or control characters, local part
// ≤ 64 bytes, total ≤ 254 bytes). Non-ASCII characters are kept as they are.
std::optional<std::string> normalise_email(std::string_view email);

// The name of an address's rate-limit buckets: normalise_email(), then every code point replaced
// by its Unicode simple lower-case mapping (glibc's towlower in the C.UTF-8 locale, the table
// PostgreSQL's citext uses on a database with a UTF-8 libc locale). Every spelling that the
// database treats as the same address (`É`/`é`, the Kelvin sign U+212A and `k`, surrounding
// \f or \v) gets the same key. nullopt exactly when normalise_email() refuses the address.
// Without the C.UTF-8 locale (not expected on glibc systems), every non-ASCII code point
// outside the two that lower-case to ASCII (U+212A → k, U+0130 → i) is replaced by one marker
// byte: coarser (more addresses share a bucket), never finer.
std::optional<std::string> email_rate_key(std::string_view email);

// The simple lower-case mapping of one code point used by email_rate_key() (exposed for tests).
char32_t fold_code_point(char32_t c);

}  // namespace emporium::core
