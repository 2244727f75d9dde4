#include "core/log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace emporium::core::log {
namespace {

spdlog::level::level_enum to_spd(Level l) {
    switch (l) {
        case Level::kTrace: return spdlog::level::trace;
        case Level::kDebug: return spdlog::level::debug;
        case Level::kInfo: return spdlog::level::info;
        case Level::kWarn: return spdlog::level::warn;
        case Level::kError: return spdlog::level::err;
        case Level::kCritical: return spdlog::level::critical;
        case Level::kOff: return spdlog::level::off;
    }
    return spdlog::level::info;
}

void append_json_string(std::string& out, std::string_view s) {
    out += boost::json::serialize(boost::json::value(boost::json::string_view(s.data(), s.size())));
}

}  // namespace

Field::Field(std::string_view k, std::string_view v) : key(k) { append_json_string(json, v); }

Field::Field(std::string_view k, double v) : key(k) {
    json = boost::json::serialize(boost::json::value(v));
}

void init(std::string_view level) {
    auto logger = spdlog::stderr_logger_mt("emporium");
    // The message part (%v) is already a sequence of JSON members.
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

bool enabled(Level level) { return spdlog::default_logger_raw()->should_log(to_spd(level)); }

void write(Level level, std::string_view msg, Fields fields) {
    if (!enabled(level)) return;
    std::string line;
    line.reserve(64 + msg.size());
    line += "\"msg\":";
    append_json_string(line, msg);
    for (const auto& field : fields) {
        line += ',';
        append_json_string(line, field.key);
        line += ':';
        line += field.json;
    }
    spdlog::default_logger_raw()->log(to_spd(level), std::string_view(line));
}

}  // namespace emporium::core::log
