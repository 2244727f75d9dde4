#include "core/codec.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <unordered_map>

namespace emporium::core::codec::detail {

std::string join(const std::string& prefix, std::string_view name) {
    if (prefix.empty()) return std::string(name);
    std::string out = prefix;
    out += '/';
    out += name;
    return out;
}

std::string snake_name(std::string_view enumerator) {
    if (enumerator.size() > 1 && enumerator[0] == 'k' && std::isupper(static_cast<unsigned char>(enumerator[1])) != 0)
        enumerator.remove_prefix(1);
    std::string out;
    for (std::size_t i = 0; i < enumerator.size(); ++i) {
        const auto c = static_cast<unsigned char>(enumerator[i]);
        if (std::isupper(c) != 0) {
            if (i > 0) out += '_';
            out += static_cast<char>(std::tolower(c));
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0U) != 0x80U; }));
}

std::string range_text(std::int64_t lo, std::int64_t hi) {
    if (hi == std::numeric_limits<std::int64_t>::max()) return "at least " + std::to_string(lo);
    if (lo == std::numeric_limits<std::int64_t>::min()) return "at most " + std::to_string(hi);
    return "between " + std::to_string(lo) + " and " + std::to_string(hi);
}

namespace {

// Patterns are compiled once per process (rules are static, so their text lives forever).
const std::regex& compiled(std::string_view pattern) {
    static std::mutex mutex;
    static std::unordered_map<std::string_view, std::unique_ptr<std::regex>> cache;
    const std::scoped_lock lock(mutex);
    auto& slot = cache[pattern];
    if (!slot) slot = std::make_unique<std::regex>(pattern.begin(), pattern.end(), std::regex::ECMAScript);
    return *slot;
}

}  // namespace

std::vector<std::string_view> split_values(std::string_view alternatives) {
    std::vector<std::string_view> out;
    while (!alternatives.empty()) {
        const auto bar = alternatives.find('|');
        out.push_back(alternatives.substr(0, bar));
        if (bar == std::string_view::npos) break;
        alternatives.remove_prefix(bar + 1);
    }
    return out;
}

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

bool check_string(std::string& value, const Field* rule, const std::string& path, Errors& errors) {
    if (rule == nullptr || !rule->keeps_blanks) {
        const auto first = std::find_if_not(value.begin(), value.end(), is_blank);
        value.erase(value.begin(), first);
        while (!value.empty() && is_blank(value.back())) value.pop_back();
    }
    if (value.find('\0') != std::string::npos) {
        errors.push_back({path, "must not contain NUL characters"});
        return false;
    }
    if (rule == nullptr) return true;
    const auto length = utf8_length(value);
    const std::size_t lo = rule->min_length.value_or(0);
    const std::size_t hi = rule->max_length.value_or(SIZE_MAX);
    if (length < lo || length > hi) {
        errors.push_back({path, hi == SIZE_MAX ? "must be at least " + std::to_string(lo) + " characters"
                                               : "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                                                     " characters"});
        return false;
    }
    if (!rule->pattern.empty() && !std::regex_match(value, compiled(rule->pattern))) {
        errors.push_back({path, rule->pattern_message.empty() ? "must match " + std::string(rule->pattern)
                                                              : std::string(rule->pattern_message)});
        return false;
    }
    if (!rule->one_of.empty()) {
        const auto values = split_values(rule->one_of);
        if (std::find(values.begin(), values.end(), value) == values.end()) {
            std::string list;
            for (const auto v : values) list += (list.empty() ? "" : ", ") + std::string(v);
            errors.push_back({path, "must be one of " + list});
            return false;
        }
    }
    return true;
}

void add_rule_keywords(json::object& schema, const Field* rule, std::string_view kind) {
    if (rule == nullptr) return;
    if (!rule->description.empty()) schema["description"] = rule->description;
    if (kind == "number") {
        if (rule->minimum) schema["minimum"] = *rule->minimum;
        if (rule->maximum) schema["maximum"] = *rule->maximum;
    }
    const char* min_key = kind == "string" ? "minLength" : kind == "array" ? "minItems" : kind == "object" ? "minProperties" : nullptr;
    const char* max_key = kind == "string" ? "maxLength" : kind == "array" ? "maxItems" : kind == "object" ? "maxProperties" : nullptr;
    if (min_key != nullptr && rule->min_length && *rule->min_length > 0) schema[min_key] = static_cast<std::int64_t>(*rule->min_length);
    if (max_key != nullptr && rule->max_length) schema[max_key] = static_cast<std::int64_t>(*rule->max_length);
    if (kind == "string" && !rule->pattern.empty()) schema["pattern"] = rule->pattern;
    if (kind == "string" && !rule->format.empty()) schema["format"] = rule->format;
    if (kind == "string" && !rule->one_of.empty()) {
        json::array values;
        for (const auto v : split_values(rule->one_of)) values.emplace_back(v);
        schema["enum"] = std::move(values);
    }
}

std::string type_name(const std::type_info& type) {
    int status = 0;
    const std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status),
                                                          std::free);
    std::string name = status == 0 && demangled ? demangled.get() : type.name();
    if (name.find('<') != std::string::npos)
        throw std::logic_error("the schema of template type " + name + " needs a kSchemaName");
    if (const auto colon = name.rfind("::"); colon != std::string::npos) name.erase(0, colon + 2);
    return name;
}

}  // namespace emporium::core::codec::detail

namespace emporium::core::codec {

bool SchemaSet::claim(const std::string& name, std::type_index type, Direction direction) {
    for (const auto& c : claims_) {
        if (c.name != name) continue;
        if (c.type != type)
            throw std::logic_error("two API types are both called " + name + "; give one a kSchemaName");
        if (c.direction != direction)
            throw std::logic_error("API type " + name + " is used in requests and responses; declare one type for each");
        return false;
    }
    claims_.push_back({name, type, direction});
    return true;
}

}  // namespace emporium::core::codec
