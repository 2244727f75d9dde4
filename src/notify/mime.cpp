#include "notify/mime.hpp"

#include "notify/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace emporium::notify {
namespace {

constexpr std::size_t kMaxHeaderLine = 78;     // RFC 5322 §2.1.1 SHOULD limit
constexpr std::size_t kMaxQpLine = 76;         // RFC 2045 §6.7 rule 5, including the soft-break '='
constexpr std::size_t kEncodedWordBytes = 39;  // 52 base64 chars: "=?UTF-8?B?" + 52 + "?=" = 64
constexpr std::size_t kMaxAddressBytes = 254;  // RFC 5321 path limit minus the brackets
constexpr std::string_view kHexDigits = "0123456789ABCDEF";

std::uint64_t fnv1a(std::uint64_t hash, std::string_view data) {
    for (const char c : data) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001B3ULL;
    }
    // Separate the fields so ("ab", "c") and ("a", "bc") hash differently.
    hash ^= 0xFFU;
    hash *= 0x100000001B3ULL;
    return hash;
}

std::string hex64(std::uint64_t value) {
    std::string out(16, '0');
    for (std::size_t i = 0; i < 16; ++i) {
        out[15 - i] = kHexDigits[value & 0xFU];
        value >>= 4U;
    }
    return out;
}

std::string base64(std::string_view data) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t n = (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16U) |
                                (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8U) |
                                static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 2]));
        out.push_back(kAlphabet[(n >> 18U) & 0x3FU]);
        out.push_back(kAlphabet[(n >> 12U) & 0x3FU]);
        out.push_back(kAlphabet[(n >> 6U) & 0x3FU]);
        out.push_back(kAlphabet[n & 0x3FU]);
    }
    const std::size_t rest = data.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16U;
        if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8U;
        out.push_back(kAlphabet[(n >> 18U) & 0x3FU]);
        out.push_back(kAlphabet[(n >> 12U) & 0x3FU]);
        out.push_back(rest == 2 ? kAlphabet[(n >> 6U) & 0x3FU] : '=');
        out.push_back('=');
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string render_message_id(const EmailMessage& message) {
    std::string id;
    for (const char c : sanitize_header_value(message.message_id)) {
        if (c != ' ') id.push_back(c);
    }
    if (id.empty()) {
        std::uint64_t hash = 0xCBF29CE484222325ULL;
        hash = fnv1a(hash, message.from);
        hash = fnv1a(hash, message.to);
        hash = fnv1a(hash, message.subject);
        hash = fnv1a(hash, message.text);
        hash = fnv1a(hash, message.html);
        hash = fnv1a(hash, format_rfc5322_date(message.date));
        return "<" + hex64(hash) + "@" + detail::message_id_domain(message.from) + ">";
    }
    if (id.front() != '<') id = "<" + id + ">";
    return id;
}

// Encoded-words of at most kEncodedWordBytes bytes each, never splitting a UTF-8 character.
std::string encoded_words(std::string_view name, const std::string& utf8) {
    std::string out(name);
    out += ":";
    std::size_t pos = 0;
    bool first = true;
    while (pos < utf8.size()) {
        const std::size_t start = pos;
        while (pos < utf8.size()) {
            std::size_t next = pos;
            detail::next_code_point(utf8, next);
            if (next - start > kEncodedWordBytes) break;
            pos = next;
        }
        out += first ? " " : "\r\n ";
        first = false;
        out += "=?UTF-8?B?";
        out += base64(std::string_view(utf8).substr(start, pos - start));
        out += "?=";
    }
    out += "\r\n";
    return out;
}

}  // namespace

bool is_valid_address(std::string_view address) {
    if (address.empty() || address.size() > kMaxAddressBytes) return false;
    const auto at = address.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
    if (address.find('@', at + 1) != std::string_view::npos) return false;
    return std::ranges::none_of(address, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7F ||  // controls, CR, LF, space
               c == '<' || c == '>' || c == ',' || c == '"' || c == '\\' || c == '(' || c == ')';
    });
}

std::string sanitize_header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\t') {
            out.push_back(' ');
        } else if (u >= 0x20 && u != 0x7F) {
            out.push_back(c);
        }
    }
    return out;
}

std::string format_rfc5322_date(std::chrono::system_clock::time_point time) {
    static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto seconds = std::chrono::floor<std::chrono::seconds>(time);
    const auto days = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::year_month_day ymd{days};
    const std::chrono::weekday weekday{days};
    const std::chrono::hh_mm_ss hms{seconds - days};
    std::array<char, 64> buffer{};
    std::snprintf(buffer.data(),
                  buffer.size(),
                  "%s, %02u %s %04d %02d:%02d:%02d +0000",
                  kDays.at(weekday.c_encoding()),
                  static_cast<unsigned>(ymd.day()),
                  kMonths.at(static_cast<unsigned>(ymd.month()) - 1),
                  static_cast<int>(ymd.year()),
                  static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buffer.data();
}

std::string render_unstructured_header(std::string_view name, std::string_view value) {
    const std::string clean = sanitize_header_value(value);
    // Split " " + value into chunks that each start at a space: folding happens before a chunk.
    std::vector<std::string_view> chunks;
    const std::string spaced = " " + clean;
    std::size_t start = 0;
    while (start < spaced.size()) {
        std::size_t end = spaced.find_first_not_of(' ', start);
        end = end == std::string::npos ? spaced.size() : spaced.find(' ', end);
        if (end == std::string::npos) end = spaced.size();
        chunks.push_back(std::string_view(spaced).substr(start, end - start));
        start = end;
    }
    bool needs_encoding = !detail::is_ascii(clean) || clean.find("=?") != std::string::npos;
    for (const auto chunk : chunks) {
        if (name.size() + 1 + chunk.size() > kMaxHeaderLine) needs_encoding = true;
    }
    if (needs_encoding) return encoded_words(name, detail::to_valid_utf8(clean));

    std::string out(name);
    out += ":";
    std::size_t line_length = out.size();
    bool line_has_value = false;
    for (const auto chunk : chunks) {
        const bool has_word = chunk.find_first_not_of(' ') != std::string_view::npos;
        if (line_has_value && has_word && line_length + chunk.size() > kMaxHeaderLine) {
            out += "\r\n";
            line_length = 0;
        }
        out += chunk;
        line_length += chunk.size();
        line_has_value = true;
    }
    out += "\r\n";
    return out;
}

std::string quoted_printable_encode(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t line_length = 0;
    const auto append = [&out, &line_length](std::string_view token) {
        if (line_length + token.size() > kMaxQpLine - 1) {
            out += "=\r\n";
            line_length = 0;
        }
        // A leading '.' is escaped too, so no relay can mistake a line for the SMTP terminator.
        if (line_length == 0 && token == ".") token = "=2E";
        out += token;
        line_length += token.size();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            out += "\r\n";
            line_length = 0;
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        const bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
        const bool literal = (u >= 33 && u <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
        if (literal) {
            append(std::string_view(&text[i], 1));
            continue;
        }
        // A well-formed multi-byte UTF-8 character is escaped as one token, so a soft line break
        // never splits it (some clients decode line by line).
        std::size_t length = 1;
        if (u >= 0xC0) {
            std::size_t end = i;
            detail::next_code_point(text, end);
            length = end - i;
        }
        std::string escaped;
        for (std::size_t k = 0; k < length; ++k) {
            const auto byte = static_cast<unsigned char>(text[i + k]);
            escaped += '=';
            escaped += kHexDigits[byte >> 4U];
            escaped += kHexDigits[byte & 0xFU];
        }
        append(escaped);
        i += length - 1;
    }
    return out;
}

std::string quoted_printable_decode(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        const char c = encoded[i];
        if (c != '=') {
            out.push_back(c);
            continue;
        }
        if (encoded.substr(i + 1, 2) == "\r\n") {
            i += 2;
        } else if (encoded.substr(i + 1, 1) == "\n") {
            i += 1;
        } else if (i + 2 < encoded.size() && hex_value(encoded[i + 1]) >= 0 &&
                   hex_value(encoded[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hex_value(encoded[i + 1]) * 16 + hex_value(encoded[i + 2])));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string render_mime(const EmailMessage& message) {
    const std::string text = quoted_printable_encode(message.text);
    const std::string html = quoted_printable_encode(message.html);
    // Quoted-printable output never contains "=_", so this boundary cannot occur inside a part;
    // the hash only makes it differ between messages.
    std::uint64_t hash = 0xCBF29CE484222325ULL;
    hash = fnv1a(hash, text);
    hash = fnv1a(hash, html);
    const std::string boundary = "=_emporium_" + hex64(hash);

    std::string out;
    out.reserve(text.size() + html.size() + 1024);
    out += "Date: " + format_rfc5322_date(message.date) + "\r\n";
    out += "From: " + sanitize_header_value(message.from) + "\r\n";
    out += "To: " + sanitize_header_value(message.to) + "\r\n";
    out += render_unstructured_header("Subject", message.subject);
    out += "Message-ID: " + render_message_id(message) + "\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
    out += "\r\n";
    out += "This is a multi-part message in MIME format.\r\n";
    out += "\r\n--" + boundary + "\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: quoted-printable\r\n";
    out += "\r\n";
    out += text;
    out += "\r\n--" + boundary + "\r\n";
    out += "Content-Type: text/html; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: quoted-printable\r\n";
    out += "\r\n";
    out += html;
    out += "\r\n--" + boundary + "--\r\n";
    return out;
}

}  // namespace emporium::notify
