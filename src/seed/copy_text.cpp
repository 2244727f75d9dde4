#include "seed/copy_text.hpp"

#include "seed/seed.hpp"

#include <array>
#include <charconv>
#include <chrono>

namespace emporium::seed {

void append_copy_text(std::string& out, std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const char* escape = nullptr;
        switch (c) {
            case '\\':
                escape = "\\\\";
                break;
            case '\t':
                escape = "\\t";
                break;
            case '\n':
                escape = "\\n";
                break;
            case '\r':
                escape = "\\r";
                break;
            case '\0':
                throw SeedError("seed: NUL byte in text value");
            default:
                continue;
        }
        out.append(s.substr(start, i - start));
        out.append(escape);
        start = i + 1;
    }
    out.append(s.substr(start));
}

void append_int(std::string& out, std::int64_t v) {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    (void)ec;  // 24 chars always fit an int64
    out.append(buf.data(), end);
}

namespace {

void append_two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10U));
    out.push_back(static_cast<char>('0' + v % 10U));
}

}  // namespace

void append_timestamp(std::string& out, std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_seconds t{seconds{unix_seconds}};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const auto secs = static_cast<unsigned>((t - day).count());
    append_int(out, static_cast<int>(ymd.year()));
    out.push_back('-');
    append_two(out, static_cast<unsigned>(ymd.month()));
    out.push_back('-');
    append_two(out, static_cast<unsigned>(ymd.day()));
    out.push_back(' ');
    append_two(out, secs / 3600U);
    out.push_back(':');
    append_two(out, secs / 60U % 60U);
    out.push_back(':');
    append_two(out, secs % 60U);
    out.append("+00");
}

}  // namespace emporium::seed
