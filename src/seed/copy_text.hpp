#pragma once
// COPY … FROM STDIN text format: field encoding for the seeder's rows.

#include <cstdint>
#include <string>
#include <string_view>

namespace emporium::seed {

// Appends `s` in COPY text format: backslash, tab, newline and carriage return escaped. A NUL
// byte (which PostgreSQL text cannot hold) throws SeedError.
void append_copy_text(std::string& out, std::string_view s);

// Formats seconds since the Unix epoch as "YYYY-MM-DD HH:MM:SS+00" (timestamptz input).
void append_timestamp(std::string& out, std::int64_t unix_seconds);

void append_int(std::string& out, std::int64_t v);

}  // namespace emporium::seed
