#include "core/json_text.hpp"

#include <boost/json/parse.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace emporium::core::json_text {

void write_string(std::string& out, std::string_view s) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;  // start of the pending run of characters that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20U && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                out += "\\u00";
                out += kHex[c >> 4U];
                out += kHex[c & 0xFU];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

void write_integer(std::string& out, std::int64_t v) {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), end);
}

void write_unsigned(std::string& out, std::uint64_t v) {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), end);
}

void write_number(std::string& out, double v, int decimals) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    if (decimals >= 0) {
        const double scale = std::pow(10.0, decimals);
        v = std::round(v * scale) / scale;
    }
    if (v == 0) v = 0;  // -0 prints as 0
    // As JavaScript's Number#toString: plain decimals from 1e-6 to 1e21, exponent form outside.
    const double magnitude = std::fabs(v);
    const auto format = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21) ? std::chars_format::fixed
                                                                                   : std::chars_format::scientific;
    std::array<char, 400> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v, format);
    out.append(buf.data(), end);
}

// NOLINTNEXTLINE(misc-no-recursion): bounded by the parser's nesting limit (32)
void write_value(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; break;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
        case boost::json::kind::int64: write_integer(out, v.get_int64()); break;
        case boost::json::kind::uint64: write_unsigned(out, v.get_uint64()); break;
        case boost::json::kind::double_: write_number(out, v.get_double()); break;
        case boost::json::kind::string: write_string(out, v.get_string()); break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& item : v.get_array()) {
                if (!first) out += ',';
                first = false;
                write_value(out, item);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& member : v.get_object()) {
                if (!first) out += ',';
                first = false;
                write_string(out, member.key());
                out += ':';
                write_value(out, member.value());
            }
            out += '}';
            break;
        }
    }
}

std::string serialize(const boost::json::value& v) {
    std::string out;
    write_value(out, v);
    return out;
}

boost::json::value parse_value(std::string_view text) { return boost::json::parse(text); }

std::string iso8601(Timestamp t) {
    const auto micros = t.time_since_epoch().count();
    auto secs = micros / 1'000'000;
    auto fraction = micros % 1'000'000;
    if (fraction < 0) {
        fraction += 1'000'000;
        --secs;
    }
    const auto time = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&time, &tm);
    std::array<char, 48> buf{};
    const auto n = std::snprintf(buf.data(),
                                 buf.size(),
                                 "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ",
                                 tm.tm_year + 1900,
                                 tm.tm_mon + 1,
                                 tm.tm_mday,
                                 tm.tm_hour,
                                 tm.tm_min,
                                 tm.tm_sec,
                                 static_cast<long long>(fraction));
    return {buf.data(), static_cast<std::size_t>(n)};
}

std::optional<Timestamp> parse_iso8601(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SS[.ffffff]Z
    auto digits = [&](std::size_t at, std::size_t n, int& out) {
        if (at + n > text.size()) return false;
        auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + n, out);
        return ec == std::errc{} && ptr == text.data() + at + n;
    };
    std::tm tm{};
    int fraction = 0;
    const bool shape = text.size() >= 20 && text[4] == '-' && text[7] == '-' && text[10] == 'T' && text[13] == ':' &&
                       text[16] == ':' && text.back() == 'Z';
    if (!shape || !digits(0, 4, tm.tm_year) || !digits(5, 2, tm.tm_mon) || !digits(8, 2, tm.tm_mday) ||
        !digits(11, 2, tm.tm_hour) || !digits(14, 2, tm.tm_min) || !digits(17, 2, tm.tm_sec)) {
        return std::nullopt;
    }
    if (text.size() == 27) {
        if (text[19] != '.' || !digits(20, 6, fraction)) return std::nullopt;
    } else if (text.size() != 20) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const std::time_t secs = timegm(&tm);
    return Timestamp(std::chrono::seconds(secs)) + std::chrono::microseconds(fraction);
}

}  // namespace emporium::core::json_text
