#pragma once

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace emporium::core::log {

// Structured JSON-lines logging on top of spdlog: every line is one JSON object
// {"ts":..., "level":..., "msg":..., <fields>}. Never pass secrets as fields.
// One key/value of a log line; the value is kept as its JSON text.
struct Field {
    Field(std::string_view k, std::string_view v);
    Field(std::string_view k, const std::string& v) : Field(k, std::string_view(v)) {}
    Field(std::string_view k, const char* v) : Field(k, std::string_view(v)) {}
    Field(std::string_view k, bool v) : key(k), json(v ? "true" : "false") {}
    Field(std::string_view k, double v);
    template <std::integral T>
    Field(std::string_view k, T v) : key(k), json(std::to_string(v)) {}

    std::string_view key;
    std::string json;
};
using Fields = std::initializer_list<Field>;

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// Configures the global logger (stderr, JSON lines). `level` is one of trace..off.
void init(std::string_view level);
bool enabled(Level level);
void write(Level level, std::string_view msg, Fields fields);

inline void trace(std::string_view msg, Fields fields = {}) { write(Level::kTrace, msg, fields); }
inline void debug(std::string_view msg, Fields fields = {}) { write(Level::kDebug, msg, fields); }
inline void info(std::string_view msg, Fields fields = {}) { write(Level::kInfo, msg, fields); }
inline void warn(std::string_view msg, Fields fields = {}) { write(Level::kWarn, msg, fields); }
inline void error(std::string_view msg, Fields fields = {}) { write(Level::kError, msg, fields); }

}  // namespace emporium::core::log
