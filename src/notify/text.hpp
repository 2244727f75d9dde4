#pragma once
// Small text helpers shared by the MIME, e-mail and PDF renderers (internal to emporium_notify).

#include <cstddef>
#include <string>
#include <string_view>

namespace emporium::notify::detail {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the UTF-8 sequence starting at `pos` and advances `pos` past it. A malformed sequence
// (stray continuation byte, overlong form, surrogate, value above U+10FFFF, truncated input)
// consumes exactly one byte and yields U+FFFD, so every input makes progress.
// Precondition: pos < text.size().
char32_t next_code_point(std::string_view text, std::size_t& pos);

// Appends the UTF-8 encoding of `cp` (U+FFFD for surrogates and values above U+10FFFF).
void append_utf8(std::string& out, char32_t cp);

// `text` with every malformed UTF-8 sequence replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

// Whether every byte is 7-bit ASCII.
bool is_ascii(std::string_view text);

// The domain of a bare address (after the last '@'), reduced to the characters valid in a
// Message-ID ([A-Za-z0-9.-]); "localhost" when nothing is left.
std::string message_id_domain(std::string_view address);

}  // namespace emporium::notify::detail
