#include "auth/auth_service.hpp"

#include "core/email.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"

#include <sodium.h>

#include <array>

namespace emporium::auth {

namespace {

namespace asio = boost::asio;

constexpr std::size_t kMaxNameLength = 200;

core::Metrics::Counter& login_counter(const std::string& outcome) {
    return core::Metrics::global().counter(
        "emporium_auth_logins_total", "Login attempts by outcome", {{"outcome", outcome}});
}

core::Metrics::Counter& refresh_counter(const std::string& outcome) {
    return core::Metrics::global().counter(
        "emporium_auth_refreshes_total", "Refresh-token rotations by outcome", {{"outcome", outcome}});
}

core::Metrics::Counter& security_counter(const std::string& kind) {
    return core::Metrics::global().counter(
        "emporium_auth_security_events_total", "Security-relevant authentication events", {{"kind", kind}});
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0U) != 0x80U ? 1 : 0;
    return n;
}

// CPU-pool jobs as named function objects. GCC 12 destroys a capturing lambda that is a temporary
// inside a co_await expression twice, so jobs are built, and their awaitables created, before the
// co_await.
struct HashJob {
    std::string password;
    PasswordParams params;
    std::string operator()() const { return hash_password(password, params); }
};

struct VerifyJob {
    std::string hash;
    std::string password;
    bool operator()() const { return verify_password(hash, password); }
};

core::Error invalid_credentials() {
    return core::make_error(core::Errc::kUnauthorized, "invalid e-mail or password");
}

core::Error invalid_refresh_token() {
    return core::make_error(core::Errc::kUnauthorized, "the refresh token is invalid, expired or revoked");
}

}  // namespace

AuthSettings AuthSettings::from_config(const core::AuthConfig& config) {
    AuthSettings s;
    s.jwt.secret = config.jwt_secret;
    s.jwt.issuer = config.jwt_issuer;
    s.jwt.audience = config.jwt_audience;
    s.jwt.ttl = config.access_token_ttl;
    s.jwt.leeway = config.jwt_leeway;
    s.refresh_ttl = config.refresh_token_ttl;
    s.refresh_reuse_grace = config.refresh_reuse_grace;
    s.password.opslimit = config.argon2_opslimit;
    s.password.memlimit_bytes = config.argon2_memlimit_bytes;
    return s;
}

std::string refresh_token_hash(std::string_view token) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(),
                       reinterpret_cast<const unsigned char*>(token.data()),
                       token.size());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): C API
    return {reinterpret_cast<const char*>(digest.data()),
            digest.size()};  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): bytes
}

AuthService::AuthService(AuthSettings settings, AuthStore store, core::CpuPool& cpu)
    : settings_(std::move(settings)),
      store_(std::move(store)),
      cpu_(cpu),
      jwt_(settings_.jwt),
      dummy_hash_(hash_password(core::random_hex_id(), settings_.password)) {}

asio::awaitable<core::Result<User>> AuthService::register_user(RegisterInput input, std::string request_id) {
    co_return co_await create_user(std::move(input), Role::kCustomer, std::move(request_id));
}

asio::awaitable<core::Result<User>> AuthService::create_admin(RegisterInput input) {
    co_return co_await create_user(std::move(input), Role::kAdmin, {});
}

asio::awaitable<core::Result<User>> AuthService::create_user(RegisterInput input,
                                                             Role role,
                                                             std::string request_id) {
    std::vector<core::FieldError> errors;
    auto email = core::normalise_email(input.email);
    if (!email) errors.push_back({"email", "must be a valid e-mail address"});
    const auto name = trim(input.name);
    const auto name_length = utf8_length(name);
    if (name_length < 1 || name_length > kMaxNameLength)
        errors.push_back({"name", "must be between 1 and " + std::to_string(kMaxNameLength) + " characters"});
    for (auto& message : password_policy_violations(input.password, email.value_or("")))
        errors.push_back({"password", std::move(message)});
    if (!errors.empty())
        co_return core::make_error(
            core::Errc::kValidation, "the request has invalid fields", std::move(errors));

    auto hashing = core::run_on_cpu(cpu_, HashJob{std::move(input.password), settings_.password});
    auto hash = co_await std::move(hashing);
    auto user = co_await store_.insert_user(*email, std::move(hash), std::string(name), role);
    if (user) {
        core::log::info("user registered",
                        {{"request_id", request_id}, {"user_id", user->id}, {"role", role_name(role)}});
    }
    co_return user;
}

asio::awaitable<core::Result<LoginResult>> AuthService::login(std::string email,
                                                              std::string password,
                                                              std::string request_id) {
    // Unknown and malformed e-mails verify against the dummy hash: same work, same error.
    auto normalised = core::normalise_email(email);
    std::optional<StoredUser> stored;
    if (normalised) stored = co_await store_.find_user_by_email(*normalised);
    std::string hash = stored ? stored->password_hash : dummy_hash_;
    auto verifying = core::run_on_cpu(cpu_, VerifyJob{hash, password});
    const bool matches = co_await std::move(verifying);
    if (!stored || !matches) {
        login_counter("invalid_credentials").inc();
        core::log::info("login failed", {{"request_id", request_id}, {"known_user", stored.has_value()}});
        co_return invalid_credentials();
    }
    if (needs_rehash(hash, settings_.password)) {
        auto rehashing = core::run_on_cpu(cpu_, HashJob{std::move(password), settings_.password});
        auto upgraded = co_await std::move(rehashing);
        bool replaced =
            co_await store_.replace_password_hash(stored->user.id, std::move(hash), std::move(upgraded));
        core::log::info("password hash upgraded",
                        {{"request_id", request_id}, {"user_id", stored->user.id}, {"replaced", replaced}});
        if (replaced) login_counter("success_rehashed").inc();
    }
    login_counter("success").inc();
    auto tokens = co_await issue_tokens(stored->user.id, stored->user.role);
    core::log::info("login", {{"request_id", request_id}, {"user_id", stored->user.id}});
    LoginResult result{std::move(stored->user), std::move(tokens)};
    co_return result;
}

asio::awaitable<TokenPair> AuthService::issue_tokens(std::int64_t user_id, Role role) {
    TokenPair pair;
    pair.refresh_token = base64url_encode(core::random_bytes(32));
    pair.refresh_expires_in = settings_.refresh_ttl;
    auto family = co_await store_.insert_refresh_token(
        user_id, refresh_token_hash(pair.refresh_token), settings_.refresh_ttl);
    pair.access_token = jwt_.issue(user_id, role, JwtCodec::Clock::now(), family);
    pair.access_expires_in = settings_.jwt.ttl;
    co_return pair;
}

asio::awaitable<core::Result<TokenPair>> AuthService::refresh(std::string refresh_token,
                                                              std::string request_id) {
    if (refresh_token.empty() || refresh_token.size() > kMaxRefreshTokenLength) {
        refresh_counter("invalid").inc();
        co_return invalid_refresh_token();
    }
    TokenPair pair;
    pair.refresh_token = base64url_encode(core::random_bytes(32));
    pair.refresh_expires_in = settings_.refresh_ttl;
    auto outcome = co_await store_.rotate_refresh_token(refresh_token_hash(refresh_token),
                                                        refresh_token_hash(pair.refresh_token),
                                                        settings_.refresh_ttl,
                                                        settings_.refresh_reuse_grace);
    using Kind = RotateOutcome::Kind;
    switch (outcome.kind) {
        case Kind::kRotated:
            refresh_counter("rotated").inc();
            pair.access_token =
                jwt_.issue(outcome.user_id, outcome.role, JwtCodec::Clock::now(), outcome.family_id);
            pair.access_expires_in = settings_.jwt.ttl;
            co_return pair;
        case Kind::kRaceLost:
            // A concurrent refresh of the same token won moments ago: no new tokens, no revocation.
            refresh_counter("race_lost").inc();
            core::log::info("refresh lost a concurrent race",
                            {{"request_id", request_id}, {"user_id", outcome.user_id}});
            co_return core::make_error(core::Errc::kUnauthorized, "the refresh token has already been used");
        case Kind::kReuse:
            refresh_counter("reuse").inc();
            security_counter("refresh_token_reuse").inc();
            core::log::warn("security event: refresh token reuse, family revoked",
                            {{"request_id", request_id},
                             {"event", "refresh_token_reuse"},
                             {"user_id", outcome.user_id},
                             {"family_id", outcome.family_id},
                             {"revoked_tokens", outcome.revoked_tokens}});
            co_return core::make_error(
                core::Errc::kUnauthorized,
                "the refresh token has already been used; the session has been revoked");
        case Kind::kUnknown:
        case Kind::kExpired:
        case Kind::kRevoked:
            break;
    }
    refresh_counter("invalid").inc();
    co_return invalid_refresh_token();
}

asio::awaitable<void> AuthService::logout(std::string refresh_token, std::string request_id) {
    if (refresh_token.empty() || refresh_token.size() > kMaxRefreshTokenLength) co_return;
    auto revoked = co_await store_.revoke_family_of(refresh_token_hash(refresh_token));
    core::log::info("logout", {{"request_id", request_id}, {"revoked_tokens", revoked}});
}

asio::awaitable<void> AuthService::logout_all(std::int64_t user_id, std::string request_id) {
    auto revoked = co_await store_.revoke_user_tokens(user_id);
    core::log::info("logout of every session",
                    {{"request_id", request_id}, {"user_id", user_id}, {"revoked_tokens", revoked}});
}

asio::awaitable<core::Result<User>> AuthService::me(std::int64_t user_id) {
    auto user = co_await store_.find_user_by_id(user_id);
    if (!user) co_return core::make_error(core::Errc::kUnauthorized, "the account no longer exists");
    co_return std::move(*user);
}

asio::awaitable<core::Result<User>> AuthService::find_user(std::int64_t user_id) {
    auto user = co_await store_.find_user_by_id(user_id);
    if (!user)
        co_return core::make_error(core::Errc::kNotFound, "no user with id " + std::to_string(user_id));
    co_return std::move(*user);
}

core::Result<AccessClaims> AuthService::verify_access_token(std::string_view token,
                                                            bool record_rejection) const {
    auto claims = jwt_.verify(token, JwtCodec::Clock::now());
    if (!claims && record_rejection) security_counter("rejected_access_token").inc();
    return claims;
}

asio::awaitable<bool> AuthService::session_revoked(std::string session_id) {
    if (session_id.empty()) co_return false;
    const bool revoked = co_await store_.family_revoked(std::move(session_id));
    if (revoked) security_counter("revoked_session_access_token").inc();
    co_return revoked;
}

std::string AuthService::issue_access_token(std::int64_t user_id, Role role) const {
    return jwt_.issue(user_id, role, JwtCodec::Clock::now());
}

asio::awaitable<std::optional<std::int64_t>> AuthService::after_login(std::int64_t user_id, std::string cart_token) {
    if (!login_listener_ || cart_token.empty()) co_return std::nullopt;
    try {
        co_return co_await login_listener_(user_id, std::move(cart_token));
    } catch (const std::exception& e) {
        core::log::error("the guest cart was not merged at sign-in", {{"user_id", user_id}, {"error", e.what()}});
    }
    co_return std::nullopt;
}

}  // namespace emporium::auth
