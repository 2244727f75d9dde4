#include "jobs/jobs_types.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace emporium::jobs {

namespace json = boost::json;

bool is_queue(std::string_view name) {
    return std::find(kQueues.begin(), kQueues.end(), name) != kQueues.end();
}

std::string encode(const Job& job) {
    json::object o{{"id", job.id},
                   {"type", job.type},
                   {"queue", job.queue},
                   {"payload", job.payload},
                   {"attempt", job.attempt},
                   {"created_ms", job.created_ms}};
    if (!job.last_error.empty()) o["last_error"] = job.last_error;
    return json::serialize(o);
}

core::Result<Job> decode(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return core::make_error(core::Errc::kValidation, "job is not a JSON object");
    const auto& o = v.get_object();
    Job job;
    auto str = [&](std::string_view key, std::string& out) {
        const auto* p = o.if_contains(key);
        if (p == nullptr || !p->is_string()) return false;
        out = std::string(p->get_string());
        return true;
    };
    if (!str("id", job.id) || !str("type", job.type) || !str("queue", job.queue) || !is_queue(job.queue)) {
        return core::make_error(core::Errc::kValidation, "job lacks id, type or a known queue");
    }
    if (const auto* p = o.if_contains("payload"); p != nullptr && p->is_object()) job.payload = p->get_object();
    if (const auto* p = o.if_contains("attempt"); p != nullptr && p->is_int64()) {
        job.attempt = static_cast<int>(std::clamp<std::int64_t>(p->get_int64(), 1, 1'000'000));
    }
    if (const auto* p = o.if_contains("created_ms"); p != nullptr && p->is_int64()) job.created_ms = p->get_int64();
    str("last_error", job.last_error);
    return job;
}

std::chrono::milliseconds backoff_ceiling(const RetryPolicy& policy, int attempt) {
    const auto base = std::max<std::int64_t>(1, policy.base.count());
    const auto cap = std::max<std::int64_t>(base, policy.cap.count());
    const int doublings = std::clamp(attempt - 1, 0, 62);
    // base · 2^doublings, saturating at cap without overflow.
    std::int64_t ceiling = base;
    for (int i = 0; i < doublings && ceiling < cap; ++i) ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    return std::chrono::milliseconds(std::min(ceiling, cap));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int attempt, std::mt19937_64& rng) {
    std::uniform_int_distribution<std::int64_t> pick(0, backoff_ceiling(policy, attempt).count());
    return std::chrono::milliseconds(pick(rng));
}

namespace {

std::int64_t parse_number(std::string_view text, std::string_view entry) {
    std::int64_t v = 0;
    const auto* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec != std::errc() || p != end || v < 0) {
        throw std::invalid_argument("bad number '" + std::string(text) + "' in retry policy '" + std::string(entry) + "'");
    }
    return v;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

RetryPolicies RetryPolicies::parse(std::string_view text, RetryPolicy fallback) {
    RetryPolicies out(fallback);
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto entry = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (entry.empty()) continue;
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            throw std::invalid_argument("retry policy '" + std::string(entry) + "' is not type=base/cap/attempts/timeout");
        }
        std::vector<std::int64_t> fields;
        auto rest = entry.substr(eq + 1);
        while (true) {
            const auto slash = rest.find('/');
            fields.push_back(parse_number(trim(rest.substr(0, slash)), entry));
            if (slash == std::string_view::npos) break;
            rest = rest.substr(slash + 1);
        }
        if (fields.size() != 4 || fields[0] < 1 || fields[1] < fields[0] || fields[2] < 1 || fields[3] < 1) {
            throw std::invalid_argument("retry policy '" + std::string(entry) +
                                        "' needs base_ms ≥ 1, cap_ms ≥ base, attempts ≥ 1, timeout_ms ≥ 1");
        }
        RetryPolicy p{std::chrono::milliseconds(fields[0]), std::chrono::milliseconds(fields[1]),
                      static_cast<int>(std::min<std::int64_t>(fields[2], 1'000)), std::chrono::milliseconds(fields[3])};
        out.set(std::string(trim(entry.substr(0, eq))), p);
    }
    return out;
}

const RetryPolicy& RetryPolicies::of(std::string_view type) const {
    auto it = by_type_.find(type);
    return it == by_type_.end() ? fallback_ : it->second;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace emporium::jobs
