#pragma once

#include <boost/json/value.hpp>

#include <initializer_list>
#include <string_view>
#include <utility>

namespace emporium::core::log {

// Structured JSON-lines logging on top of spdlog: every line is one JSON object
// {"ts":..., "level":..., "msg":..., <fields>}. Never pass secrets as fields.
using Fields = std::initializer_list<std::pair<std::string_view, boost::json::value>>;

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
