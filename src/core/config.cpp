#include "core/config.hpp"

#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

namespace emporium::core {
namespace {

std::string_view trim(std::string_view s) {
    const auto* ws = " \t\r";
    auto b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

bool valid_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return !(key[0] >= '0' && key[0] <= '9');
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto comma = s.find(',');
        auto item = trim(s.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        auto b = s.find_first_not_of(" \t");
        if (b == std::string_view::npos) break;
        s.remove_prefix(b);
        auto e = s.find_first_of(" \t");
        out.push_back(s.substr(0, e));
        if (e == std::string_view::npos) break;
        s.remove_prefix(e);
    }
    return out;
}

bool parse_positive(std::string_view s, std::int64_t& out) {
    if (s.empty()) return false;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && ptr == s.data() + s.size() && out > 0;
}

// "s", "60s", "500ms", "1m", "min", "1h" → milliseconds; 0 when malformed.
std::int64_t parse_period_ms(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    std::int64_t count = 1;
    if (digits > 0 && !parse_positive(s.substr(0, digits), count)) return 0;
    auto unit = s.substr(digits);
    std::int64_t unit_ms = 0;
    if (unit == "ms")
        unit_ms = 1;
    else if (unit == "s")
        unit_ms = 1'000;
    else if (unit == "m" || unit == "min")
        unit_ms = 60'000;
    else if (unit == "h")
        unit_ms = 3'600'000;
    if (unit_ms == 0 || count > std::int64_t{24} * 3'600'000 / unit_ms) return 0;
    return count * unit_ms;
}

}  // namespace

RateLimitPolicy parse_rate_limit_policy(const std::string& key,
                                        std::string_view text,
                                        bool default_fail_open) {
    auto fail = [&key, text]() {
        return ConfigError(key +
                           ": expected \"N/<period> [burst B] [fail-open|fail-closed]\" such as "
                           "\"5/60s burst 5\", got '" +
                           std::string(text) + "'");
    };
    auto words = split_words(text);
    if (words.empty()) throw fail();
    RateLimitPolicy p;
    p.fail_open = default_fail_open;
    auto slash = words[0].find('/');
    if (slash == std::string_view::npos || !parse_positive(words[0].substr(0, slash), p.requests))
        throw fail();
    auto period_ms = parse_period_ms(words[0].substr(slash + 1));
    if (period_ms == 0) throw fail();
    p.period = std::chrono::milliseconds(period_ms);
    p.burst = p.requests;
    for (std::size_t i = 1; i < words.size(); ++i) {
        if (words[i] == "burst" && i + 1 < words.size()) {
            if (!parse_positive(words[++i], p.burst)) throw fail();
        } else if (words[i] == "fail-open") {
            p.fail_open = true;
        } else if (words[i] == "fail-closed") {
            p.fail_open = false;
        } else {
            throw fail();
        }
    }
    if (p.requests > 1'000'000 || p.burst > 1'000'000) throw fail();
    return p;
}

std::map<std::string, std::string> parse_dotenv(std::string_view text) {
    std::map<std::string, std::string> out;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        auto line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        if (line.starts_with("export ")) line = trim(line.substr(7));
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            throw ConfigError(".env line " + std::to_string(line_no) + ": expected KEY=value");
        auto key = trim(line.substr(0, eq));
        if (!valid_key(key))
            throw ConfigError(".env line " + std::to_string(line_no) + ": invalid variable name '" +
                              std::string(key) + "'");
        auto value = trim(line.substr(eq + 1));
        if (!value.empty() && (value.front() == '"' || value.front() == '\'')) {
            char q = value.front();
            auto close = value.find(q, 1);
            if (close == std::string_view::npos)
                throw ConfigError(".env line " + std::to_string(line_no) + ": unterminated quote");
            value = value.substr(1, close - 1);
        } else {
            auto hash = value.find(" #");
            if (hash != std::string_view::npos) value = trim(value.substr(0, hash));
        }
        out[std::string(key)] = std::string(value);
    }
    return out;
}

ConfigSource ConfigSource::from_environment(const std::string& dotenv_path) {
    std::map<std::string, std::string> file_values;
    std::ifstream in(dotenv_path);
    if (in) {
        std::stringstream ss;
        ss << in.rdbuf();
        file_values = parse_dotenv(ss.str());
    }
    return ConfigSource([file_values = std::move(file_values)](const std::string& key) -> std::optional<std::string> {
        if (const char* v = std::getenv(key.c_str())) return std::string(v);  // NOLINT(concurrency-mt-unsafe): read at startup
        auto it = file_values.find(key);
        if (it != file_values.end()) return it->second;
        return std::nullopt;
    });
}

ConfigSource ConfigSource::from_map(std::map<std::string, std::string> values) {
    return ConfigSource([values = std::move(values)](const std::string& key) -> std::optional<std::string> {
        auto it = values.find(key);
        if (it != values.end()) return it->second;
        return std::nullopt;
    });
}

std::string ConfigSource::get_string(const std::string& key, std::string fallback) const {
    auto v = get(key);
    return v && !v->empty() ? *v : std::move(fallback);
}

std::int64_t ConfigSource::get_int(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
    auto v = get(key);
    if (!v || v->empty()) return fallback;
    std::int64_t out = 0;
    const std::string_view text = *v;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(first, last, out);
    if (ec != std::errc{} || ptr != last)
        throw ConfigError(key + ": expected an integer, got '" + *v + "'");
    if (out < min || out > max)
        throw ConfigError(key + ": " + *v + " is out of range [" + std::to_string(min) + ", " +
                          std::to_string(max) + "]");
    return out;
}

bool ConfigSource::get_bool(const std::string& key, bool fallback) const {
    auto v = get(key);
    if (!v || v->empty()) return fallback;
    if (*v == "1" || *v == "true" || *v == "yes" || *v == "on") return true;
    if (*v == "0" || *v == "false" || *v == "no" || *v == "off") return false;
    throw ConfigError(key + ": expected true/false, got '" + *v + "'");
}

std::chrono::milliseconds ConfigSource::get_ms(const std::string& key, std::int64_t fallback_ms) const {
    return std::chrono::milliseconds(get_int(key, fallback_ms, 1, std::int64_t{24} * 3600 * 1000));
}

namespace {

// "<n>", "<n>s", "<n>m" or "<n>h", in seconds within [min, max].
std::chrono::seconds duration_seconds(const std::string& key, const std::string& text, std::int64_t min,
                                      std::int64_t max) {
    std::int64_t unit = 1;
    std::string_view digits = text;
    if (!digits.empty() && (digits.back() == 's' || digits.back() == 'm' || digits.back() == 'h')) {
        unit = digits.back() == 'h' ? 3'600 : digits.back() == 'm' ? 60 : 1;
        digits.remove_suffix(1);
    }
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc{} || ptr != digits.data() + digits.size()) {
        throw ConfigError(key + ": expected a duration such as 900, 900s, 15m or 1h, got '" + text + "'");
    }
    if (n < min / unit || n > max / unit || n * unit < min) {
        throw ConfigError(key + ": " + text + " is out of range [" + std::to_string(min) + "s, " + std::to_string(max) +
                          "s]");
    }
    return std::chrono::seconds(n * unit);
}

}  // namespace

Config Config::load(const ConfigSource& src) {
    Config c;
    c.log_level = src.get_string("LOG_LEVEL", c.log_level);
    static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end())
        throw ConfigError("LOG_LEVEL: expected one of trace|debug|info|warn|error|critical|off, got '" +
                          c.log_level + "'");
    c.shop_name = src.get_string("SHOP_NAME", c.shop_name);

    auto& h = c.http;
    h.host = src.get_string("HTTP_HOST", h.host);
    h.port = static_cast<std::uint16_t>(src.get_int("HTTP_PORT", h.port, 0, 65535));
    h.threads = static_cast<unsigned>(src.get_int("HTTP_THREADS", 0, 0, 256));
    if (h.threads == 0) h.threads = std::max(1U, std::thread::hardware_concurrency());
    h.body_limit =
        static_cast<std::size_t>(src.get_int("HTTP_BODY_LIMIT", std::int64_t{1024} * 1024, 1024, 1LL << 30));
    h.header_limit =
        static_cast<std::size_t>(src.get_int("HTTP_HEADER_LIMIT", std::int64_t{16} * 1024, 1024, 1LL << 20));
    h.header_timeout = src.get_ms("HTTP_HEADER_TIMEOUT_MS", 10'000);
    h.idle_timeout = src.get_ms("HTTP_IDLE_TIMEOUT_MS", 60'000);
    h.request_timeout = src.get_ms("HTTP_REQUEST_TIMEOUT_MS", 10'000);
    h.shutdown_grace = src.get_ms("HTTP_SHUTDOWN_GRACE_MS", 10'000);
    h.max_connections = static_cast<std::size_t>(src.get_int("HTTP_MAX_CONNECTIONS", 10'000, 1, 1'000'000));
    h.docs_dir = src.get_string("DOCS_DIR", h.docs_dir);
    h.web_dir = src.get_string("WEB_DIR", h.web_dir);
    h.trusted_proxies = split_list(src.get_string("TRUSTED_PROXIES", ""));
    h.metrics_host = src.get_string("METRICS_HOST", h.metrics_host);
    h.metrics_port = static_cast<std::uint16_t>(src.get_int("METRICS_PORT", 0, 0, 65535));
    h.metrics_token = src.get_string("METRICS_TOKEN", "");

    auto& d = c.db;
    d.url = src.get_string("DATABASE_URL", d.url);
    d.pool_size = static_cast<std::size_t>(src.get_int("DB_POOL_SIZE", 16, 1, 1000));
    d.acquire_timeout = src.get_ms("DB_ACQUIRE_TIMEOUT_MS", 2'000);
    d.query_timeout = src.get_ms("DB_QUERY_TIMEOUT_MS", 5'000);
    d.connect_timeout = src.get_ms("DB_CONNECT_TIMEOUT_MS", 3'000);
    d.migrations_dir = src.get_string("MIGRATIONS_DIR", d.migrations_dir);
    d.replica_urls = split_list(src.get_string("DATABASE_REPLICA_URLS", ""));
    for (const auto& u : d.replica_urls) {
        if (!u.starts_with("postgresql://") && !u.starts_with("postgres://"))
            throw ConfigError("DATABASE_REPLICA_URLS: expected postgresql://user@host:port/dbname,...");
    }
    d.replica_pool_size = static_cast<std::size_t>(src.get_int("DB_REPLICA_POOL_SIZE", 2, 1, 100));
    d.replica_max_lag = std::chrono::milliseconds(src.get_int("REPLICA_MAX_LAG_MS", 1'000, 1, 3'600'000));
    d.replica_retry = std::chrono::milliseconds(src.get_int("REPLICA_RETRY_MS", 5'000, 10, 3'600'000));
    d.replica_sample = std::chrono::milliseconds(src.get_int("REPLICA_SAMPLE_MS", 500, 10, 60'000));

    auto& r = c.redis;
    r.url = src.get_string("REDIS_URL", r.url);
    r.command_timeout = src.get_ms("REDIS_TIMEOUT_MS", 2'000);
    r.connect_timeout = src.get_ms("REDIS_CONNECT_TIMEOUT_MS", 1'000);
    auto& a = c.auth;
    a.jwt_secret = src.get_string("JWT_SECRET", "");
    if (!a.jwt_secret.empty() && a.jwt_secret.size() < 32)
        throw ConfigError("JWT_SECRET: must be at least 32 bytes (HS256 needs a 256-bit key)");
    a.jwt_issuer = src.get_string("JWT_ISSUER", a.jwt_issuer);
    a.jwt_audience = src.get_string("JWT_AUDIENCE", a.jwt_audience);
    a.access_token_ttl = std::chrono::seconds(src.get_int("ACCESS_TOKEN_TTL_S", 900, 1, 86'400));
    a.refresh_token_ttl = std::chrono::seconds(src.get_int("REFRESH_TOKEN_TTL_S", 2'592'000, 1, 31'536'000));
    a.jwt_leeway = std::chrono::seconds(src.get_int("JWT_LEEWAY_S", 30, 0, 300));
    a.argon2_memlimit_bytes =
        static_cast<std::size_t>(src.get_int("ARGON2_MEMLIMIT_BYTES",
                                             19'922'944,
                                             static_cast<std::int64_t>(crypto_pwhash_MEMLIMIT_MIN),
                                             1LL << 32));
    a.argon2_opslimit = static_cast<std::uint64_t>(
        src.get_int("ARGON2_OPSLIMIT", 2, static_cast<std::int64_t>(crypto_pwhash_OPSLIMIT_MIN), 32));
    a.refresh_reuse_grace =
        std::chrono::milliseconds(src.get_int("REFRESH_REUSE_GRACE_MS", 2'000, 0, 60'000));

    auto& rl = c.rate_limit;
    rl.enabled = src.get_bool("RATE_LIMIT_ENABLED", rl.enabled);
    rl.key_prefix = src.get_string("RATE_LIMIT_KEY_PREFIX", rl.key_prefix);
    if (auto v = src.get("RATE_LIMIT_AUTH"); v && !v->empty())
        rl.auth = parse_rate_limit_policy("RATE_LIMIT_AUTH", *v, false);
    if (auto v = src.get("RATE_LIMIT_READ"); v && !v->empty())
        rl.read = parse_rate_limit_policy("RATE_LIMIT_READ", *v, true);
    if (auto v = src.get("RATE_LIMIT_WRITE"); v && !v->empty())
        rl.write = parse_rate_limit_policy("RATE_LIMIT_WRITE", *v, true);
    if (auto v = src.get("RATE_LIMIT_LOGIN_ACCOUNT"); v && !v->empty())
        rl.login_account = parse_rate_limit_policy("RATE_LIMIT_LOGIN_ACCOUNT", *v, false);

    auto& inv = c.inventory;
    inv.strategy = src.get_string("INVENTORY_STRATEGY", inv.strategy);
    if (inv.strategy != "pessimistic" && inv.strategy != "dual" && inv.strategy != "optimistic" &&
        inv.strategy != "redis")
        throw ConfigError("INVENTORY_STRATEGY: expected one of pessimistic|dual|optimistic|redis, got '" +
                          inv.strategy + "'");
    inv.lock_urls = split_list(src.get_string("REDIS_LOCK_URLS", ""));
    for (const auto& u : inv.lock_urls) {
        if (!u.starts_with("redis://")) throw ConfigError("REDIS_LOCK_URLS: expected redis://host:port[/db],...");
    }
    inv.lock_ttl = std::chrono::milliseconds(src.get_int("LOCK_TTL_MS", 2'000, 10, 60'000));
    inv.lock_retries = static_cast<int>(src.get_int("LOCK_RETRIES", 100, 1, 10'000));
    inv.optimistic_retries = static_cast<int>(src.get_int("OPTIMISTIC_RETRIES", 64, 1, 10'000));
    inv.order_ttl = std::chrono::seconds(src.get_int("ORDER_TTL_S", 900, 1, 31'536'000));
    inv.order_batch_max = static_cast<int>(src.get_int("ORDER_BATCH_MAX", 64, 1, 1'000));
    inv.idempotency_ttl = std::chrono::seconds(src.get_int("IDEMPOTENCY_TTL_S", 86'400, 1, 31'536'000));
    inv.cart_holds = src.get_bool("CART_HOLDS", inv.cart_holds);
    inv.prices_include_tax = src.get_bool("PRICES_INCLUDE_TAX", inv.prices_include_tax);
    inv.cart_hold_ttl = std::chrono::seconds(src.get_int("CART_HOLD_TTL_S", 900, 1, 86'400));
    // The same setting as a duration ("15m", "900s", "900"), under the name shop operators know it by.
    if (auto ttl = src.get("CART_HOLD_TTL"); ttl && !ttl->empty()) {
        if (auto seconds = src.get("CART_HOLD_TTL_S"); seconds && !seconds->empty()) {
            throw ConfigError("CART_HOLD_TTL and CART_HOLD_TTL_S are the same setting: set one of them");
        }
        inv.cart_hold_ttl = duration_seconds("CART_HOLD_TTL", *ttl, 1, 86'400);
    }
    inv.cart_hold_max = std::chrono::seconds(src.get_int("CART_HOLD_MAX_S", 7'200, 1, 604'800));
    inv.cart_ttl = std::chrono::seconds(src.get_int("CART_TTL_S", 2'592'000, 60, 31'536'000));
    inv.cart_retention = std::chrono::seconds(src.get_int("CART_RETENTION_S", 2'592'000, 0, 315'360'000));

    if (!r.url.starts_with("redis://") && !r.url.starts_with("redis+cluster://"))
        throw ConfigError("REDIS_URL: expected redis://host:port[/db] or redis+cluster://host:port,host:port");
    if (!d.url.starts_with("postgresql://") && !d.url.starts_with("postgres://"))
        throw ConfigError("DATABASE_URL: expected postgresql://user@host:port/dbname");
    c.cache.enabled = src.get_bool("CACHE_ENABLED", true);
    c.cache.key_prefix = src.get_string("CACHE_KEY_PREFIX", c.cache.key_prefix);
    c.cache.local_ttl = std::chrono::milliseconds(src.get_int("CACHE_LOCAL_TTL_MS", 2'000, 0, 600'000));
    c.cache.local_capacity = src.get_int("CACHE_LOCAL_CAPACITY", 100'000, 1, 100'000'000);
    c.catalog.ranking_mode = src.get_string("RANKING_MODE", c.catalog.ranking_mode);
    if (c.catalog.ranking_mode != "index" && c.catalog.ranking_mode != "reference")
        throw ConfigError("RANKING_MODE: expected index or reference");
    c.catalog.sync = src.get_string("CATALOG_SYNC", c.catalog.sync);
    if (c.catalog.sync != "notify" && c.catalog.sync != "request")
        throw ConfigError("CATALOG_SYNC: expected notify or request");
    c.catalog.cursor_ttl = std::chrono::seconds(src.get_int("CATALOG_CURSOR_TTL_S", 900, 60, 86'400));
    c.catalog.changes_retention =
        std::chrono::seconds(src.get_int("CATALOG_CHANGES_RETENTION_S", 3'600, 60, std::int64_t{7} * 86'400));
    if (c.catalog.changes_retention < c.catalog.cursor_ttl + std::chrono::minutes(5))
        throw ConfigError("CATALOG_CHANGES_RETENTION_S must be at least CATALOG_CURSOR_TTL_S + 300");

    auto& j = c.jobs;
    j.key_prefix = src.get_string("JOBS_KEY_PREFIX", j.key_prefix);
    j.worker_queues = split_list(src.get_string("WORKER_QUEUES", ""));
    j.enqueue_replica_acks = src.get_int("JOBS_ENQUEUE_REPLICA_ACKS", 0, 0, 16);
    j.enqueue_ack_timeout = std::chrono::milliseconds(src.get_int("JOBS_ENQUEUE_ACK_TIMEOUT_MS", 1'000, 1, 60'000));
    static const std::vector<std::string> kQueueNames = {"email", "receipt", "payment", "recommend", "webhook", "default"};
    for (const auto& q : j.worker_queues) {
        if (std::find(kQueueNames.begin(), kQueueNames.end(), q) == kQueueNames.end())
            throw ConfigError("WORKER_QUEUES: unknown queue '" + q + "' (email, receipt, payment, recommend, webhook, default)");
    }
    j.worker_concurrency = static_cast<int>(src.get_int("WORKER_CONCURRENCY", j.worker_concurrency, 1, 1'024));
    j.visibility_timeout = std::chrono::milliseconds(src.get_int("JOB_VISIBILITY_TIMEOUT_MS", 60'000, 100, 86'400'000));
    j.drain_timeout = std::chrono::milliseconds(src.get_int("WORKER_DRAIN_MS", 30'000, 0, 3'600'000));
    j.handler_delay = std::chrono::milliseconds(src.get_int("WORKER_HANDLER_DELAY_MS", 0, 0, 3'600'000));
    j.retry_base = std::chrono::milliseconds(src.get_int("JOB_RETRY_BASE_MS", 1'000, 1, 86'400'000));
    j.retry_cap = std::chrono::milliseconds(src.get_int("JOB_RETRY_CAP_MS", 300'000, 1, 86'400'000));
    if (j.retry_cap < j.retry_base) throw ConfigError("JOB_RETRY_CAP_MS must be at least JOB_RETRY_BASE_MS");
    j.max_attempts = static_cast<int>(src.get_int("JOB_MAX_ATTEMPTS", 8, 1, 1'000));
    j.job_timeout = std::chrono::milliseconds(src.get_int("JOB_TIMEOUT_MS", 60'000, 10, 86'400'000));
    j.retry_policies = src.get_string("JOB_RETRY_POLICIES", "");
    j.outbox_poll = std::chrono::milliseconds(src.get_int("OUTBOX_POLL_MS", 1'000, 10, 600'000));
    j.outbox_batch = src.get_int("OUTBOX_BATCH", 200, 1, 10'000);
    j.outbox_retention_days = src.get_int("OUTBOX_RETENTION_DAYS", 7, 1, 3'650);
    j.webhook_timeout = std::chrono::milliseconds(src.get_int("WEBHOOK_TIMEOUT_MS", 10'000, 100, 120'000));
    j.webhook_senders = src.get_int("WEBHOOK_SENDERS", 8, 1, 256);
    j.leader_ttl = std::chrono::milliseconds(src.get_int("SCHEDULER_LEADER_TTL_MS", 10'000, 500, 600'000));
    j.schedule_expire_orders = src.get_string("SCHEDULE_EXPIRE_ORDERS", j.schedule_expire_orders);
    j.schedule_expire_carts = src.get_string("SCHEDULE_EXPIRE_CARTS", j.schedule_expire_carts);
    j.schedule_outbox_sweep = src.get_string("SCHEDULE_OUTBOX_SWEEP", j.schedule_outbox_sweep);
    j.schedule_promote = src.get_string("SCHEDULE_PROMOTE", j.schedule_promote);
    j.schedule_recommend = src.get_string("SCHEDULE_RECOMMEND", j.schedule_recommend);
    j.schedule_catalog_purge = src.get_string("SCHEDULE_CATALOG_PURGE", j.schedule_catalog_purge);

    auto& rec = c.recommend;
    rec.top_k = src.get_int("RECOMMEND_TOP_K", rec.top_k, 1, 1'000);
    rec.scoring = src.get_string("RECOMMEND_SCORING", rec.scoring);
    if (rec.scoring != "count" && rec.scoring != "cosine" && rec.scoring != "jaccard" && rec.scoring != "lift")
        throw ConfigError("RECOMMEND_SCORING: expected count|cosine|jaccard|lift, got '" + rec.scoring + "'");
    rec.batch_orders = src.get_int("RECOMMEND_BATCH_ORDERS", rec.batch_orders, 100, 10'000'000);
    rec.read_streams = src.get_int("RECOMMEND_READ_STREAMS", rec.read_streams, 1, 16);
    // Each stream holds a pooled connection for the whole read: at least one connection stays
    // free for the worker's other jobs (with a pool of one, the rebuild reads on that one).
    rec.read_streams = std::min<std::int64_t>(rec.read_streams,
                                              std::max<std::int64_t>(1, static_cast<std::int64_t>(c.db.pool_size) - 1));
    rec.cache_ttl = std::chrono::seconds(src.get_int("RECOMMEND_CACHE_TTL_S", 60, 1, 86'400));

    auto& m = c.mail;
    m.smtp_url = src.get_string("SMTP_URL", "");
    if (!m.smtp_url.empty() && !m.smtp_url.starts_with("smtp://") && !m.smtp_url.starts_with("smtps://"))
        throw ConfigError("SMTP_URL: expected smtp://host:port or smtps://host:port");
    m.smtp_username = src.get_string("SMTP_USERNAME", "");
    m.smtp_password = src.get_string("SMTP_PASSWORD", "");
    m.smtp_starttls = src.get_string("SMTP_STARTTLS", m.smtp_starttls);
    if (m.smtp_starttls != "off" && m.smtp_starttls != "try" && m.smtp_starttls != "required")
        throw ConfigError("SMTP_STARTTLS: expected off|try|required, got '" + m.smtp_starttls + "'");
    m.smtp_verify_peer = src.get_bool("SMTP_VERIFY_PEER", true);
    m.smtp_timeout = std::chrono::milliseconds(src.get_int("SMTP_TIMEOUT_MS", 10'000, 100, 600'000));
    m.from = src.get_string("MAIL_FROM", m.from);
    m.spool_dir = src.get_string("MAIL_SPOOL_DIR", m.spool_dir);
    m.receipt_tax_label = src.get_string("RECEIPT_TAX_LABEL", "");
    m.receipt_tax_rate_bps = static_cast<std::int32_t>(src.get_int("RECEIPT_TAX_RATE_BPS", 0, 0, 10'000));

    auto& pay = c.payments;
    pay.provider = src.get_string("PAYMENT_PROVIDER", pay.provider);
    pay.return_window_days = static_cast<int>(src.get_int("RETURN_WINDOW_DAYS", 30, 0, 3'650));
    if (pay.provider != "sandbox" && pay.provider != "stripe")
        throw ConfigError("PAYMENT_PROVIDER: expected sandbox|stripe, got '" + pay.provider + "'");
    pay.stripe_api_key = src.get_string("STRIPE_API_KEY", "");
    pay.stripe_base_url = src.get_string("STRIPE_BASE_URL", pay.stripe_base_url);
    if (!pay.stripe_base_url.starts_with("https://") && !pay.stripe_base_url.starts_with("http://"))
        throw ConfigError("STRIPE_BASE_URL: expected an http(s):// URL");
    if (pay.provider == "stripe" && pay.stripe_api_key.empty())
        throw ConfigError("STRIPE_API_KEY is required when PAYMENT_PROVIDER=stripe");
    pay.timeout = std::chrono::milliseconds(src.get_int("PAYMENT_TIMEOUT_MS", 10'000, 100, 600'000));
    pay.webhook_secret = src.get_string("WEBHOOK_SECRET", "");
    pay.webhook_tolerance = std::chrono::seconds(src.get_int("WEBHOOK_TOLERANCE_S", 300, 1, 86'400));
    return c;
}

}  // namespace emporium::core
