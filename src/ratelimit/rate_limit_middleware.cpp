#include "ratelimit/rate_limit_middleware.hpp"

#include "core/email.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "http/json_body.hpp"
#include "http/problem.hpp"

#include <algorithm>
#include <atomic>

namespace emporium::ratelimit {

namespace {

namespace asio = boost::asio;

core::Metrics::Counter& decisions(const std::string& group, const std::string& decision) {
    return core::Metrics::global().counter("emporium_rate_limit_decisions_total",
                                           "Rate-limit decisions",
                                           {{"group", group}, {"decision", decision}});
}

// The counters of one group, looked up once (the registry lookup takes a mutex).
struct GroupCounters {
    explicit GroupCounters(const std::string& group)
        : allowed(decisions(group, "allowed")),
          limited(decisions(group, "limited")),
          fail_open(decisions(group, "fail_open")),
          fail_closed(decisions(group, "fail_closed")) {}
    core::Metrics::Counter& allowed;
    core::Metrics::Counter& limited;
    core::Metrics::Counter& fail_open;
    core::Metrics::Counter& fail_closed;
};

struct State {
    std::shared_ptr<RateLimiter> limiter;
    core::RateLimitConfig config;
    UserResolver resolve_user;
    GroupCounters auth_counters{"auth"};
    GroupCounters read_counters{"read"};
    GroupCounters write_counters{"write"};
    GroupCounters login_account_counters{"login_account"};

    const GroupCounters& counters(const std::string& group) const {
        if (group == "login_account") return login_account_counters;
        return group == "auth" ? auth_counters : group == "read" ? read_counters : write_counters;
    }
};

// At most one "limiter unavailable" line per 10 s per process and failure mode: Redis being down
// must not flood the logs.
bool should_log_failure(bool fail_open) {
    static std::atomic<std::int64_t> last_open_ms{0};
    static std::atomic<std::int64_t> last_closed_ms{0};
    auto& last_ms = fail_open ? last_open_ms : last_closed_ms;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    auto last = last_ms.load(std::memory_order_relaxed);
    return now - last >= 10'000 && last_ms.compare_exchange_strong(last, now, std::memory_order_relaxed);
}

std::string seconds_up(std::chrono::milliseconds ms) {
    return std::to_string((ms.count() + 999) / 1000);
}

// The address a request body names, as the key of its buckets.
struct BodyEmail {
    enum class Kind {
        kNone,     // no address (refresh, logout, or a body the handler refuses as a whole)
        kRefused,  // an `email` the normaliser refuses: no account can match it
        kKey,      // core::email_rate_key of the address
    };
    Kind kind = Kind::kNone;
    std::string key;
};

// Reads the body with the handlers' own parser (so a body they refuse, e.g. with a duplicate
// `email`, names no address here either) and keys the address with the normalisation login uses,
// folded as far as the database compares addresses.
BodyEmail body_email(const http::Request& request) {
    if (request.body().empty()) return {};
    auto body = http::parse_json_object(request);
    if (!body) return {};
    const auto* email = body->if_contains("email");
    if (email == nullptr || email->is_null()) return {};
    if (!email->is_string()) return {BodyEmail::Kind::kRefused, {}};
    auto key = core::email_rate_key(email->get_string());
    if (!key) return {BodyEmail::Kind::kRefused, {}};
    return {BodyEmail::Kind::kKey, std::move(*key)};
}

// The answer when Redis could not be asked under `policy`: nothing (fail open) or 503.
void on_limiter_failure(const State& state,
                        const core::RateLimitPolicy& policy,
                        const std::string& group,
                        const http::RequestContext& ctx,
                        const core::InfraError& e,
                        http::MiddlewareResult& result) {
    const bool open = policy.fail_open;
    (open ? state.counters(group).fail_open : state.counters(group).fail_closed).inc();
    if (should_log_failure(open)) {
        core::log::warn(open ? "rate limiter unavailable: failing open" : "rate limiter unavailable: failing closed",
                        {{"request_id", ctx.request_id}, {"group", group}, {"error", e.what()}});
    }
    if (!open) {
        result.response =
            http::problem_response(ctx, core::Errc::kUnavailable, "rate limiting is unavailable; try again shortly");
    }
}

// RateLimit-* headers of `d` (replacing earlier ones), and the 429 when it was denied.
void apply_decision(const State& state,
                    const std::string& group,
                    const http::RequestContext& ctx,
                    const Decision& d,
                    std::string_view what,
                    http::MiddlewareResult& result) {
    result.extra_headers.clear();
    result.extra_headers.emplace_back("RateLimit-Limit", std::to_string(d.limit));
    result.extra_headers.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
    result.extra_headers.emplace_back("RateLimit-Reset", seconds_up(d.reset));
    if (d.allowed) {
        state.counters(group).allowed.inc();
        return;
    }
    state.counters(group).limited.inc();
    result.response = http::problem_response(
        ctx, core::Errc::kRateLimited, std::string(what) + "; retry after " + seconds_up(d.retry_after) + " s");
    result.extra_headers.emplace_back("Retry-After", seconds_up(std::max(d.retry_after, std::chrono::milliseconds(1))));
}

constexpr std::string_view kLoginPath = "/api/v1/auth/login";

asio::awaitable<http::MiddlewareResult>
limit_request(  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                // the server awaits the middleware directly
    std::shared_ptr<const State> state,
    http::RequestContext& ctx,
    const http::Route& route) {
    http::MiddlewareResult result;
    if (!state->config.enabled || !route.path().starts_with("/api/")) co_return result;

    const auto group = route_group(route);
    const auto& cfg = state->config;
    const core::RateLimitPolicy& policy = group == "auth" ? cfg.auth : group == "read" ? cfg.read : cfg.write;
    std::string identity = "ip:" + ctx.client_ip;
    BodyEmail email;
    if (group == "auth") {
        email = body_email(ctx.request);
        // Every refused spelling of one client shares one bucket ('<' never occurs in a key).
        if (email.kind == BodyEmail::Kind::kKey) identity += "|email:" + email.key;
        if (email.kind == BodyEmail::Kind::kRefused) identity += "|email:<refused>";
    } else if (group == "write" && state->resolve_user) {
        if (auto user = state->resolve_user(ctx)) identity = "user:" + std::to_string(*user);
    }

    Decision d;
    bool asked = false;
    try {
        d = co_await state->limiter->check(policy, group, std::move(identity));
        asked = true;
    } catch (const core::InfraError& e) {
        on_limiter_failure(*state, policy, group, ctx, e, result);
    }
    if (!asked) co_return result;
    apply_decision(*state, group, ctx, d, "too many requests", result);
    // A refused address cannot log into any account: the per-account bucket is not involved.
    if (result.response || email.kind != BodyEmail::Kind::kKey || route.path() != kLoginPath) co_return result;

    // Per account, whatever the address: guesses spread over many clients (or many forwarded
    // addresses) still drain one bucket. Its headers are only shown when it is the one that says no.
    const std::string account_group = "login_account";
    const std::string account = "email:" + email.key;
    Decision a;
    bool account_asked = false;
    try {
        a = co_await state->limiter->check(cfg.login_account, account_group, account);
        account_asked = true;
    } catch (const core::InfraError& e) {
        on_limiter_failure(*state, cfg.login_account, account_group, ctx, e, result);
    }
    if (!account_asked) co_return result;
    if (a.allowed) {
        state->counters(account_group).allowed.inc();
    } else {
        apply_decision(*state, account_group, ctx, a, "too many login attempts for this account", result);
    }
    co_return result;
}

struct RateLimitMiddleware {
    std::shared_ptr<const State> state;
    asio::awaitable<http::MiddlewareResult> operator()(http::RequestContext& ctx,
                                                       const http::Route& route) const {
        return limit_request(state, ctx, route);
    }
};

}  // namespace

std::string route_group(const http::Route& route) {
    const auto& g = route.operation->rate_group;
    if (g == "auth" || g == "read" || g == "write") return g;
    return route.method() == http::Verb::get || route.method() == http::Verb::head ? "read" : "write";
}

http::Middleware make_rate_limit_middleware(std::shared_ptr<RateLimiter> limiter,
                                            core::RateLimitConfig config,
                                            UserResolver resolve_user) {
    auto state =
        std::make_shared<const State>(State{std::move(limiter), std::move(config), std::move(resolve_user)});
    return RateLimitMiddleware{std::move(state)};
}

}  // namespace emporium::ratelimit
