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
    std::size_t body_limit = std::size_t{1024} * 1024;
    std::size_t header_limit = std::size_t{16} * 1024;
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds request_timeout{10'000};
    std::chrono::milliseconds shutdown_grace{10'000};
    std::size_t max_connections = 10'000;
    std::string docs_dir = "node_modules/swagger-ui-dist";
    // The built storefront and admin console (WEB_DIR); empty: the `web` directory beside the
    // executable.
    std::string web_dir;
    std::vector<std::string> trusted_proxies;
    // The operator's port (every long-running process): /metrics and /healthz on a listener of
    // their own. 0: none, and serve answers /metrics on the API port as well.
    std::string metrics_host = "127.0.0.1";
    std::uint16_t metrics_port = 0;
    std::string metrics_token;  // METRICS_TOKEN: /metrics (either port) wants "Bearer <token>"
};

struct DbConfig {
    std::string url = "postgresql://emporium@127.0.0.1:25432/emporium";
    std::size_t pool_size = 16;  // total across all I/O threads
    std::chrono::milliseconds acquire_timeout{2'000};
    std::chrono::milliseconds query_timeout{5'000};
    std::chrono::milliseconds connect_timeout{3'000};
    std::string migrations_dir = "migrations";
    // Read replicas (DATABASE_REPLICA_URLS, comma-separated): catalog and recommendation reads go
    // to them; empty: every statement runs on the primary.
    std::vector<std::string> replica_urls;
    std::size_t replica_pool_size = 2;                 // DB_REPLICA_POOL_SIZE: per replica and I/O thread
    std::chrono::milliseconds replica_max_lag{1'000};  // REPLICA_MAX_LAG_MS
    std::chrono::milliseconds replica_retry{5'000};    // REPLICA_RETRY_MS: back-off after a failure
    std::chrono::milliseconds replica_sample{500};     // REPLICA_SAMPLE_MS: how often lag is sampled
};

struct RedisConfig {
    std::string url = "redis://127.0.0.1:26379/0";
    std::chrono::milliseconds command_timeout{2'000};
    std::chrono::milliseconds connect_timeout{1'000};
};

struct AuthConfig {
    // HS256 key (at least 32 bytes). Empty: `serve` generates a random key per process and warns,
    // so tokens only work on the process that issued them; every process of a deployment must
    // share one secret.
    std::string jwt_secret;
    std::string jwt_issuer = "emporium";
    std::string jwt_audience = "emporium-api";
    std::chrono::seconds access_token_ttl{900};
    std::chrono::seconds refresh_token_ttl{2'592'000};
    // Clock skew tolerated for exp (past) and iat (future).
    std::chrono::seconds jwt_leeway{30};
    // Argon2id cost (libsodium crypto_pwhash_str); defaults: OWASP's 19 MiB, 2 iterations.
    std::size_t argon2_memlimit_bytes = 19'922'944;
    std::uint64_t argon2_opslimit = 2;
    // A consumed refresh token presented again within this window (a concurrent refresh that lost
    // the race) gets 401 without revoking its family; later it counts as reuse (theft).
    std::chrono::milliseconds refresh_reuse_grace{2'000};
};

// One leaky-bucket policy: the bucket holds at most `burst` requests and drains `requests` per
// `period`. Written "N/<period> [burst B] [fail-open|fail-closed]", e.g. "5/60s burst 5".
struct RateLimitPolicy {
    std::int64_t requests = 1;
    std::chrono::milliseconds period{1'000};
    std::int64_t burst = 1;
    // When Redis cannot be asked: let the request through (true) or answer 503 (false).
    bool fail_open = true;
};

// Parses a policy string (see RateLimitPolicy); throws ConfigError naming `key` when malformed.
// `default_fail_open` applies when the string names no failure mode.
RateLimitPolicy parse_rate_limit_policy(const std::string& key,
                                        std::string_view text,
                                        bool default_fail_open);

struct RateLimitConfig {
    bool enabled = true;
    std::string key_prefix = "emporium:";  // buckets are <prefix>rl:<group>:<hash>
    RateLimitPolicy auth{5, std::chrono::milliseconds(60'000), 5, false};
    RateLimitPolicy read{100, std::chrono::milliseconds(1'000), 200, true};
    RateLimitPolicy write{20, std::chrono::milliseconds(1'000), 20, true};
    // Login attempts per account (the e-mail of the body) whatever the client address, so a
    // password guesser spread over many addresses is throttled too. Checked after `auth`.
    RateLimitPolicy login_account{10, std::chrono::milliseconds(60'000), 10, false};
};

struct CacheConfig {
    bool enabled = true;                   // CACHE_ENABLED: cache-aside for catalog reads
    std::string key_prefix = "emporium:";  // CACHE_KEY_PREFIX
    // The in-process layer in front of the Redis product cache (0 = off).
    std::chrono::milliseconds local_ttl{2'000};  // CACHE_LOCAL_TTL_MS
    std::int64_t local_capacity = 100'000;       // CACHE_LOCAL_CAPACITY
};

// Catalog listing at scale (issue 17).
struct CatalogConfig {
    // index: sort=rank served by the in-process rank index; reference: the full-scan query.
    std::string ranking_mode = "index";
    // notify: the rank index catches up when PostgreSQL notifies a change (within about a
    // millisecond of the commit); request: a catch-up query on every listing (exact at the
    // request's instant, at about half the throughput).
    std::string sync = "notify";
    std::chrono::seconds cursor_ttl{900};          // CATALOG_CURSOR_TTL_S: rank cursors stay valid
    std::chrono::seconds changes_retention{3'600};  // CATALOG_CHANGES_RETENTION_S: change feed rows
};

// Checkout and stock (issue #6). `strategy` is one of pessimistic, dual, optimistic, redis.
struct InventoryConfig {
    std::string strategy = "dual";
    std::vector<std::string> lock_urls;  // Redlock masters; empty = REDIS_URL alone
    std::chrono::milliseconds lock_ttl{2'000};
    int lock_retries = 100;        // attempts per product lock, 5..25 ms apart (jittered)
    int optimistic_retries = 64;   // version conflicts tolerated per line before 409
    std::chrono::seconds order_ttl{900};         // unpaid orders expire after this
    int order_batch_max = 64;  // redis strategy: checkouts per group-commit transaction (1 = off)
    std::chrono::seconds idempotency_ttl{86'400};  // Idempotency-Key records are kept this long
    bool cart_holds = true;                       // CART_HOLDS: carts hold stock (off: taken at checkout)
    std::chrono::seconds cart_hold_ttl{900};      // CART_HOLD_TTL_S: a hold lasts this long after activity
    std::chrono::seconds cart_hold_max{7'200};    // CART_HOLD_MAX_S: renewals never reach past this after the hold began
    std::chrono::seconds cart_ttl{2'592'000};     // CART_TTL_S: an open cart expires this long after activity
    std::chrono::seconds cart_retention{2'592'000};  // CART_RETENTION_S: expired/merged carts deleted after this
    bool prices_include_tax = false;  // PRICES_INCLUDE_TAX: catalog prices contain the tax (shown, not added)
};

// Background jobs (issue #7): worker, outbox relay, scheduler.
struct JobsConfig {
    std::string key_prefix = "emporium:";  // streams are <prefix>{q:<queue>}:jobs:stream
    // JOBS_ENQUEUE_REPLICA_ACKS: replicas that must acknowledge an enqueue (WAIT) before the outbox
    // marks its events published; 0 (the default) for a Redis without replicas.
    std::int64_t enqueue_replica_acks = 0;
    std::chrono::milliseconds enqueue_ack_timeout{1'000};
    std::vector<std::string> worker_queues;  // empty = all queues
    int worker_concurrency = 8;
    std::chrono::milliseconds visibility_timeout{60'000};  // unacknowledged this long = reclaimed
    std::chrono::milliseconds drain_timeout{30'000};       // SIGTERM: wait this long for running jobs
    std::chrono::milliseconds handler_delay{0};            // fault-injection tests only
    // Default retry policy; JOB_RETRY_POLICIES overrides per type: "type=base/cap/attempts/timeout,…".
    std::chrono::milliseconds retry_base{1'000};
    std::chrono::milliseconds retry_cap{300'000};
    int max_attempts = 8;
    std::chrono::milliseconds job_timeout{60'000};
    std::string retry_policies;
    std::chrono::milliseconds outbox_poll{1'000};
    std::int64_t outbox_batch = 200;
    std::int64_t outbox_retention_days = 7;
    std::chrono::milliseconds leader_ttl{10'000};
    std::string schedule_expire_orders = "every 60s";
    std::string schedule_expire_carts = "every 30s";  // carts.expire: expired carts and holds released
    std::string schedule_outbox_sweep = "every 30s";
    std::string schedule_promote = "every 1s";
    std::string schedule_recommend = "every 1h";
    std::string schedule_catalog_purge = "every 5m";
    std::chrono::milliseconds webhook_timeout{10'000};  // WEBHOOK_TIMEOUT_MS: one delivery's POST
    std::int64_t webhook_senders = 8;                   // WEBHOOK_SENDERS: POSTs in flight per worker
};

// Recommendations (issue #9). Keys live under CACHE_KEY_PREFIX.
struct RecommendConfig {
    std::int64_t top_k = 50;
    std::string scoring = "count";  // count | cosine | jaccard | lift
    std::int64_t batch_orders = 100'000;
    std::int64_t read_streams = 2;  // connections the rebuild reads on at once
    std::chrono::seconds cache_ttl{60};
};

// E-mail (SMTP when smtp_url is set, else .eml files in spool_dir) and PDF receipts.
struct MailConfig {
    std::string smtp_url;
    std::string smtp_username;
    std::string smtp_password;
    std::string smtp_starttls = "try";  // off | try | required
    bool smtp_verify_peer = true;
    std::chrono::milliseconds smtp_timeout{10'000};
    std::string from = "orders@emporium.local";
    std::string spool_dir = ".local/mail";
    std::string receipt_tax_label;       // e.g. "VAT"; empty = no tax line
    std::int32_t receipt_tax_rate_bps = 0;  // included in prices; 2000 = 20 %
};

// Payments (issue #8).
struct PaymentsConfig {
    std::string provider = "sandbox";  // sandbox | stripe
    std::string stripe_api_key;
    std::string stripe_base_url = "https://api.stripe.com";
    std::chrono::milliseconds timeout{10'000};  // one provider call (the client timeout)
    std::string webhook_secret;                 // empty: POST /webhooks/payments answers 503
    std::chrono::seconds webhook_tolerance{300};
    int return_window_days = 30;  // RETURN_WINDOW_DAYS: returns accepted this long after fulfilment
};

struct Config {
    std::string log_level = "info";
    std::string shop_name = "Emporium Demo Shop";
    HttpConfig http;
    DbConfig db;
    RedisConfig redis;
    AuthConfig auth;
    RateLimitConfig rate_limit;
    CacheConfig cache;
    CatalogConfig catalog;
    InventoryConfig inventory;
    JobsConfig jobs;
    MailConfig mail;
    PaymentsConfig payments;
    RecommendConfig recommend;

    // Reads every variable documented in .env.example; throws ConfigError on invalid values.
    static Config load(const ConfigSource& src);
};

}  // namespace emporium::core
