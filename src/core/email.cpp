#include "core/email.hpp"

#include <algorithm>
#include <array>
#include <locale.h>  // NOLINT(modernize-deprecated-headers): newlocale is POSIX, not in <clocale>
#include <optional>
#include <wctype.h>  // NOLINT(modernize-deprecated-headers): towlower_l is POSIX, not in <cwctype>

namespace emporium::core {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// The C.UTF-8 character-type locale, loaded once (never freed: it lives as long as the process);
// null when the system has none.
locale_t utf8_ctype() {
    static const locale_t kLocale = [] {
        locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
        if (l == static_cast<locale_t>(nullptr))
            l = newlocale(LC_CTYPE_MASK, "C.utf8", static_cast<locale_t>(nullptr));
        return l;
    }();
    return kLocale;
}

constexpr char32_t kMarker = 0xFFFD;  // stands for every non-ASCII code point without C.UTF-8

// Decodes one UTF-8 sequence at `s[i]`; returns the code point and advances `i`, or nullopt (and
// advances by one byte) for a malformed sequence.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t cp = 0;
    if (lead < 0x80U) {
        ++i;
        return lead;
    }
    if ((lead & 0xE0U) == 0xC0U) {
        n = 1;
        cp = lead & 0x1FU;
    } else if ((lead & 0xF0U) == 0xE0U) {
        n = 2;
        cp = lead & 0x0FU;
    } else if ((lead & 0xF8U) == 0xF0U) {
        n = 3;
        cp = lead & 0x07U;
    } else {
        ++i;
        return std::nullopt;
    }
    if (i + n >= s.size()) {
        ++i;
        return std::nullopt;
    }
    for (std::size_t k = 1; k <= n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0U) != 0x80U) {
            ++i;
            return std::nullopt;
        }
        cp = (cp << 6U) | (b & 0x3FU);
    }
    static constexpr std::array<char32_t, 4> kMin{0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return std::nullopt;
    }
    i += n + 1;
    return cp;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0U | (cp >> 6U)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0U | (cp >> 12U)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else {
        out.push_back(static_cast<char>(0xF0U | (cp >> 18U)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
        out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    }
}

}  // namespace

std::optional<std::string> normalise_email(std::string_view email) {
    while (!email.empty() && is_space(email.front())) email.remove_prefix(1);
    while (!email.empty() && is_space(email.back())) email.remove_suffix(1);
    if (email.size() < 3 || email.size() > kMaxEmailLength) return std::nullopt;
    for (char c : email) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20U || u == 0x7FU || c == '<' || c == '>' || c == '(' || c == ')' || c == ',' ||
            c == ';' || c == '\\' || c == '"')
            return std::nullopt;
    }
    const auto at = email.find('@');
    if (at == std::string_view::npos || at == 0 || at > 64 ||
        email.find('@', at + 1) != std::string_view::npos)
        return std::nullopt;
    const auto domain = email.substr(at + 1);
    const auto dot = domain.rfind('.');
    if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size() ||
        domain.front() == '-' || domain.find("..") != std::string_view::npos)
        return std::nullopt;
    std::string out(email);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

char32_t fold_code_point(char32_t c) {
    if (c < 0x80) return static_cast<char32_t>(ascii_lower(static_cast<char>(c)));
    if (auto* const l = utf8_ctype(); l != static_cast<locale_t>(nullptr)) {
        return static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), l));
    }
    if (c == 0x212A) return U'k';  // KELVIN SIGN
    if (c == 0x0130) return U'i';  // LATIN CAPITAL LETTER I WITH DOT ABOVE
    return kMarker;
}

std::optional<std::string> email_rate_key(std::string_view email) {
    auto normalised = normalise_email(email);
    if (!normalised) return std::nullopt;
    const std::string_view s = *normalised;
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t start = i;
        if (auto cp = next_code_point(s, i)) {
            append_utf8(out, fold_code_point(*cp));
        } else {
            out.append(s.substr(start, i - start));  // a malformed byte stays itself
        }
    }
    return out;
}

}  // namespace emporium::core
