// Text-format conversions between C++ values and PostgreSQL, and the SQLSTATE → exception mapping.
// Everything travels in text format: it is what libpq hands us anyway, it keeps parameters
// debuggable, and the parsers below are strict (whole value consumed, NULL rejected) so a schema
// change that alters a column's type fails loudly instead of silently truncating.

#include "db/pg.hpp"
#include "db/pg_session.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace emporium::db {

namespace {

constexpr std::string_view kDataException = "22000";

const PGresult* as_pg(const std::shared_ptr<void>& res) {
    return static_cast<const PGresult*>(res.get());
}

[[noreturn]] void conversion_error(std::string_view what, std::string_view text) {
    // The offending value is not included: it may be personal data and this message can reach logs.
    throw DbError(
        "pg: cannot convert a " + std::to_string(text.size()) + "-byte value to " + std::string(what),
        std::string(kDataException));
}

template <typename Int>
Int parse_int(std::string_view text, std::string_view what) {
    Int v{};
    const auto* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc{} || ptr != end || text.empty()) conversion_error(what, text);
    return v;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads exactly `n` digits at `pos` (advancing it); -1 when they are not there.
int read_digits(std::string_view s, std::size_t& pos, std::size_t n) {
    if (pos + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
}

// 'YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]'. Without an offset (timestamp without time zone)
// the value is taken as UTC. 'infinity' and BC dates are rejected: no C++ code here expects them.
Timestamp parse_timestamp(std::string_view s) {
    using namespace std::chrono;
    std::size_t pos = 0;
    std::size_t year_digits = 0;
    while (year_digits < s.size() && s[year_digits] >= '0' && s[year_digits] <= '9') ++year_digits;
    if (year_digits < 4) conversion_error("timestamp", s);
    const int y = read_digits(s, pos, year_digits);
    bool ok = y >= 0 && pos < s.size() && s[pos++] == '-';
    const int mo = ok ? read_digits(s, pos, 2) : -1;
    ok = ok && mo >= 0 && pos < s.size() && s[pos++] == '-';
    const int d = ok ? read_digits(s, pos, 2) : -1;
    ok = ok && d >= 0 && pos < s.size() && (s[pos] == ' ' || s[pos] == 'T');
    ++pos;
    const int hh = ok ? read_digits(s, pos, 2) : -1;
    ok = ok && hh >= 0 && pos < s.size() && s[pos++] == ':';
    const int mi = ok ? read_digits(s, pos, 2) : -1;
    ok = ok && mi >= 0 && pos < s.size() && s[pos++] == ':';
    const int ss = ok ? read_digits(s, pos, 2) : -1;
    if (!ok || ss < 0) conversion_error("timestamp", s);
    long micros = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 6) {
                micros = micros * 10 + (s[pos] - '0');
                ++digits;
            }
            ++pos;
        }
        if (digits == 0) conversion_error("timestamp", s);
        for (; digits < 6; ++digits) micros *= 10;
    }
    long offset_seconds = 0;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const long sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        const int oh = read_digits(s, pos, 2);
        int om = 0;
        int os = 0;
        if (oh < 0) conversion_error("timestamp", s);
        if (pos < s.size() && s[pos] == ':') {
            ++pos;
            om = read_digits(s, pos, 2);
            if (pos < s.size() && s[pos] == ':') {
                ++pos;
                os = read_digits(s, pos, 2);
            }
        }
        if (om < 0 || os < 0) conversion_error("timestamp", s);
        offset_seconds = sign * (oh * 3600L + om * 60L + os);
    }
    if (pos != s.size()) conversion_error("timestamp", s);
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || hh > 23 || mi > 59 || ss > 60) conversion_error("timestamp", s);
    const auto local = sys_days{ymd} + hours{hh} + minutes{mi} + seconds{ss} + microseconds{micros};
    return local - seconds{offset_seconds};
}

std::string format_timestamp(Timestamp t) {
    using namespace std::chrono;
    const auto day_point = floor<days>(t);
    const year_month_day ymd{day_point};
    const hh_mm_ss<microseconds> tod{t - day_point};
    const int y = static_cast<int>(ymd.year());
    if (y < 1 || y > 9999) throw std::invalid_argument("db::Param: timestamp outside years 1..9999");
    std::array<char, 48> buf{};
    const int n = std::snprintf(buf.data(),
                                buf.size(),
                                "%04d-%02u-%02u %02d:%02d:%02d.%06ld+00",
                                y,
                                static_cast<unsigned>(ymd.month()),
                                static_cast<unsigned>(ymd.day()),
                                static_cast<int>(tod.hours().count()),
                                static_cast<int>(tod.minutes().count()),
                                static_cast<int>(tod.seconds().count()),
                                static_cast<long>(tod.subseconds().count()));
    return {buf.data(), static_cast<std::size_t>(n)};
}

}  // namespace

// ---- errors ---------------------------------------------------------------------------------------

namespace detail {

std::exception_ptr make_db_error(const std::string& message, std::string sqlstate, std::string constraint) {
    if (sqlstate == "40001" || sqlstate == "40P01") {
        return std::make_exception_ptr(
            RetryableDbError(message, std::move(sqlstate), std::move(constraint)));
    }
    if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" ||
        sqlstate == "57P03") {
        return std::make_exception_ptr(ConnectionLostError(message, std::move(sqlstate)));
    }
    // We only ever cancel statements through statement_timeout (set a little below query_timeout),
    // so a cancellation is the server-side half of our own timeout.
    if (sqlstate == "57014") return std::make_exception_ptr(QueryTimeoutError(message));
    return std::make_exception_ptr(DbError(message, std::move(sqlstate), std::move(constraint)));
}

std::exception_ptr error_from_result(const PGresult* res, const PGconn* conn, std::string_view statement) {
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char* constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    std::string text = primary != nullptr ? primary : PQresultErrorMessage(res);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::string sqlstate = state != nullptr ? state : "";
    std::string message = "pg: " + std::string(statement) + ": " + text;
    if (!sqlstate.empty()) message += " (SQLSTATE " + sqlstate + ")";
    // A client-side error with the connection gone (EOF, reset) carries no SQLSTATE.
    if (sqlstate.empty() && conn != nullptr && PQstatus(conn) == CONNECTION_BAD) {
        return std::make_exception_ptr(ConnectionLostError(message, ""));
    }
    if (sqlstate.empty()) {
        // libpq rejected something locally on a healthy connection (e.g. bad parameter count).
        return std::make_exception_ptr(DbError(message, ""));
    }
    return make_db_error(message, std::move(sqlstate), constraint != nullptr ? constraint : "");
}

QueryResult make_result(PgResultPtr res) {
    PGresult* raw = res.release();
    return QueryResult(
        std::shared_ptr<void>(static_cast<void*>(raw), [](void* p) { PQclear(static_cast<PGresult*>(p)); }));
}

}  // namespace detail

void throw_db_error(const std::string& message, std::string sqlstate, std::string constraint) {
    std::rethrow_exception(
        detail::make_db_error(message, std::move(sqlstate), std::move(constraint)));
}

// ---- parameters -----------------------------------------------------------------------------------

Param::Param(double v) {
    if (std::isnan(v)) {
        value_ = "NaN";
    } else if (std::isinf(v)) {
        value_ = v > 0 ? "Infinity" : "-Infinity";
    } else {
        // Shortest representation that round-trips exactly.
        std::array<char, 64> buf{};
        auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
        if (ec != std::errc{}) throw std::invalid_argument("db::Param: cannot format double");
        value_ = std::string(buf.data(), ptr);
    }
}

Param::Param(Timestamp v) : value_(format_timestamp(v)) {}

Param::Param(const std::vector<std::int64_t>& v) {
    std::string out = "{";
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i != 0) out += ',';
        out += std::to_string(v[i]);
    }
    out += '}';
    value_ = std::move(out);
}

Param::Param(const boost::json::value& v) : value_(boost::json::serialize(v)) {}

Param Param::bytea(std::string_view raw) {
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(2 + raw.size() * 2);
    out += "\\x";
    for (char c : raw) {
        const auto b = static_cast<unsigned char>(c);
        out += kHex[b >> 4U];
        out += kHex[b & 0x0FU];
    }
    return {std::move(out)};
}

// ---- results --------------------------------------------------------------------------------------

QueryResult::QueryResult(std::shared_ptr<void> pg_result) : res_(std::move(pg_result)) {}

std::size_t QueryResult::rows() const {
    return res_ ? static_cast<std::size_t>(PQntuples(as_pg(res_))) : 0;
}

std::size_t QueryResult::columns() const {
    return res_ ? static_cast<std::size_t>(PQnfields(as_pg(res_))) : 0;
}

std::int64_t QueryResult::affected() const {
    if (!res_) return 0;
    // PQcmdTuples takes a non-const pointer for historical reasons; it does not modify the result.
    const char* n = PQcmdTuples(
        const_cast<PGresult*>(as_pg(res_)));  // NOLINT(cppcoreguidelines-pro-type-const-cast): libpq API
    if (n == nullptr || *n == '\0') return 0;
    return parse_int<std::int64_t>(n, "affected row count");
}

std::string_view QueryResult::command() const {
    if (!res_) return {};
    const char* tag = PQcmdStatus(
        const_cast<PGresult*>(as_pg(res_)));  // NOLINT(cppcoreguidelines-pro-type-const-cast): libpq API
    return tag != nullptr ? std::string_view(tag) : std::string_view();
}

int QueryResult::column(std::string_view name) const {
    const int n = res_ ? PQfnumber(as_pg(res_), std::string(name).c_str()) : -1;
    if (n < 0)
        throw DbError("pg: result has no column '" + std::string(name) + "'", std::string(kDataException));
    return n;
}

bool QueryResult::is_null(std::size_t row, int col) const {
    if (row >= rows() || col < 0 || static_cast<std::size_t>(col) >= columns()) {
        throw std::out_of_range("db::QueryResult: row or column out of range");
    }
    return PQgetisnull(as_pg(res_), static_cast<int>(row), col) != 0;
}

std::string_view QueryResult::text(std::size_t row, int col) const {
    if (is_null(row, col)) {
        throw DbError("pg: column " + std::to_string(col) + " is NULL (use get_optional)",
                      std::string(kDataException));
    }
    const auto r = static_cast<int>(row);
    return {PQgetvalue(as_pg(res_), r, col), static_cast<std::size_t>(PQgetlength(as_pg(res_), r, col))};
}

template <>
bool QueryResult::get<bool>(std::size_t row, int col) const {
    const auto t = text(row, col);
    if (t == "t") return true;
    if (t == "f") return false;
    conversion_error("bool", t);
}

template <>
std::int32_t QueryResult::get<std::int32_t>(std::size_t row, int col) const {
    return parse_int<std::int32_t>(text(row, col), "int32");
}

template <>
std::int64_t QueryResult::get<std::int64_t>(std::size_t row, int col) const {
    return parse_int<std::int64_t>(text(row, col), "int64");
}

template <>
double QueryResult::get<double>(std::size_t row, int col) const {
    const auto t = text(row, col);
    if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (t == "Infinity") return std::numeric_limits<double>::infinity();
    if (t == "-Infinity") return -std::numeric_limits<double>::infinity();
    double v = 0;
    const auto* end = t.data() + t.size();
    auto [ptr, ec] = std::from_chars(t.data(), end, v);
    if (ec != std::errc{} || ptr != end || t.empty()) conversion_error("double", t);
    return v;
}

template <>
std::string QueryResult::get<std::string>(std::size_t row, int col) const {
    return std::string(text(row, col));
}

template <>
Timestamp QueryResult::get<Timestamp>(std::size_t row, int col) const {
    return parse_timestamp(text(row, col));
}

template <>
std::vector<std::int64_t> QueryResult::get<std::vector<std::int64_t>>(std::size_t row, int col) const {
    const auto t = text(row, col);
    // Only one-dimensional arrays with the default lower bound: '{1,2,3}' or '{}'.
    if (t.size() < 2 || t.front() != '{' || t.back() != '}') conversion_error("bigint[]", t);
    std::vector<std::int64_t> out;
    std::string_view body = t.substr(1, t.size() - 2);
    if (body.empty()) return out;
    while (true) {
        const auto comma = body.find(',');
        const auto item = body.substr(0, comma);
        if (item == "NULL") throw DbError("pg: bigint[] contains NULL", std::string(kDataException));
        out.push_back(parse_int<std::int64_t>(item, "bigint[] element"));
        if (comma == std::string_view::npos) break;
        body.remove_prefix(comma + 1);
    }
    return out;
}

template <>
boost::json::value QueryResult::get<boost::json::value>(std::size_t row, int col) const {
    const auto t = text(row, col);
    boost::system::error_code ec;
    auto v = boost::json::parse(t, ec);
    if (ec) conversion_error("json", t);
    return v;
}

template <>
Bytea QueryResult::get<Bytea>(std::size_t row, int col) const {
    const auto t = text(row, col);
    // Sessions use the default bytea_output = hex.
    if (t.size() < 2 || t[0] != '\\' || t[1] != 'x' || t.size() % 2 != 0) conversion_error("bytea", t);
    Bytea out;
    out.bytes.reserve((t.size() - 2) / 2);
    for (std::size_t i = 2; i < t.size(); i += 2) {
        const int hi = hex_value(t[i]);
        const int lo = hex_value(t[i + 1]);
        if (hi < 0 || lo < 0) conversion_error("bytea", t);
        out.bytes.push_back(static_cast<char>((hi << 4) | lo));
    }
    return out;
}

}  // namespace emporium::db
