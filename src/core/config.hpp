#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::core {

// Thrown for invalid configuration; main() logs the message and exits non-zero.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses the contents of a `.env` file: `KEY=value` lines, `#` comments, optional `export `,
// single- or double-quoted values. Throws ConfigError naming the line for malformed input.
std::map<std::string, std::string> parse_dotenv(std::string_view text);

// A source of configuration values: the environment first, then an optional `.env` file.
class ConfigSource {
public:
    using Lookup = std::function<std::optional<std::string>(const std::string&)>;

    explicit ConfigSource(Lookup lookup) : lookup_(std::move(lookup)) {}

    // Environment variables override values from `dotenv_path` (missing file = no values).
    static ConfigSource from_environment(const std::string& dotenv_path = ".env");
    static ConfigSource from_map(std::map<std::string, std::string> values);

    std::optional<std::string> get(const std::string& key) const { return lookup_(key); }
    std::string get_string(const std::string& key, std::string fallback) const;
    std::int64_t get_int(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
    bool get_bool(const std::string& key, bool fallback) const;
    std::chrono::milliseconds get_ms(const std::string& key, std::int64_t fallback_ms) const;

private:
    Lookup lookup_;
};

struct HttpConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    unsigned threads = 0;  // 0 = one per core
    std::size_t body_limit = 1024 * 1024;
    std::size_t header_limit = 16 * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds shutdown_grace{10'000};
    std::size_t max_connections = 10'000;
    std::string docs_dir = "node_modules/swagger-ui-dist";
    std::vector<std::string> trusted_proxies;
};

struct DbConfig {
    std::string url = "postgresql://emporium@127.0.0.1:55432/emporium";
    std::size_t pool_size = 16;  // total across all I/O threads
    std::chrono::milliseconds acquire_timeout{2'000};
    std::chrono::milliseconds query_timeout{5'000};
    std::chrono::milliseconds connect_timeout{3'000};
    std::string migrations_dir = "migrations";
};

struct RedisConfig {
    std::string url = "redis://127.0.0.1:56379/0";
    std::chrono::milliseconds command_timeout{2'000};
    std::chrono::milliseconds connect_timeout{1'000};
};

struct Config {
    std::string log_level = "info";
    std::string shop_name = "Emporium Demo Shop";
    HttpConfig http;
    DbConfig db;
    RedisConfig redis;

    // Reads every variable documented in .env.example; throws ConfigError on invalid values.
    static Config load(const ConfigSource& source);
};

}  // namespace emporium::core
