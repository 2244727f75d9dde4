#pragma once
// Jobs: what a queued unit of work is, how it is encoded in Redis, and the retry arithmetic.

#include "core/error.hpp"

#include <boost/describe/class.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::jobs {

// The queues (one Redis Stream each). A job type belongs to exactly one queue (queue_of).
inline constexpr std::array<std::string_view, 6> kQueues = {"email", "receipt", "payment", "recommend", "webhook", "default"};
inline constexpr std::string_view kConsumerGroup = "workers";

bool is_queue(std::string_view name);

struct Job {
    std::string id;     // unique per effect, e.g. "ob42:email.order_confirmation"
    std::string type;   // handler name, e.g. "email.order_confirmation"
    std::string queue;  // one of kQueues
    boost::json::object payload;
    int attempt = 1;                 // 1 for the first delivery, +1 per retry
    std::int64_t created_ms = 0;     // when the job was first enqueued (epoch ms)
    std::string last_error;          // set on retries and in the dead-letter stream

    // Transient (not encoded): where this delivery came from.
    std::string stream_id;
};
BOOST_DESCRIBE_STRUCT(Job, (), (id, type, queue, payload, attempt, created_ms, last_error))

std::string encode(const Job& job);
// Errors: kValidation when `text` is not an encoded job.
core::Result<Job> decode(std::string_view text);

// Retry behaviour of one job type.
struct RetryPolicy {
    std::chrono::milliseconds base{1'000};
    std::chrono::milliseconds cap{300'000};
    int max_attempts = 8;                    // deliveries in total, including the first
    std::chrono::milliseconds timeout{60'000};  // per delivery
};

// Exponential backoff with full jitter: after failed delivery number `attempt` (1-based) the next
// delivery is due after a uniformly random delay in [0, min(cap, base · 2^(attempt-1))].
std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt);
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng);

// Policies per job type with a default. Parsed from "type=base_ms/cap_ms/max_attempts/timeout_ms"
// entries separated by commas (JOB_RETRY_POLICIES); throws core::ConfigError-like
// std::invalid_argument naming the bad entry.
class RetryPolicies {
public:
    RetryPolicies() = default;
    explicit RetryPolicies(RetryPolicy fallback) : fallback_(fallback) {}
    static RetryPolicies parse(std::string_view text, RetryPolicy fallback);

    const RetryPolicy& of(std::string_view type) const;
    void set(std::string type, RetryPolicy policy) { by_type_[std::move(type)] = policy; }
    const RetryPolicy& fallback() const { return fallback_; }

private:
    RetryPolicy fallback_;
    std::map<std::string, RetryPolicy, std::less<>> by_type_;
};

std::int64_t now_ms();

}  // namespace emporium::jobs
