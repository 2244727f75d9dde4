#pragma once
// Business rules of authentication: registration (policy, Argon2id), login (constant-shape failure,
// hash upgrade), rotating refresh tokens with reuse detection, logout, access-token verification.
// No HTTP and no SQL here.
//
// Access tokens are JWTs that name their session (`sid`, the refresh-token family). Revoking a
// family (logout, logout-all, refresh-token reuse) stops new access tokens from being minted AND
// makes the ones already issued for it invalid: the auth middleware asks `session_revoked` on
// every authenticated request (one indexed lookup on the primary, no cache, so a revocation is
// effective at once on every server). When the database cannot answer, the request fails with 503
// (fail closed): a revoked token is never accepted because of an outage.

#include "auth/auth_store.hpp"
#include "auth/auth_types.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "core/config.hpp"
#include "core/cpu_pool.hpp"
#include "core/error.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace emporium::auth {

struct AuthSettings {
    JwtSettings jwt;
    std::chrono::seconds refresh_ttl{2'592'000};
    std::chrono::milliseconds refresh_reuse_grace{2'000};
    PasswordParams password;

    // From AUTH configuration; `jwt_secret` must already be non-empty.
    static AuthSettings from_config(const core::AuthConfig& config);
};

// Opaque refresh tokens are this long (base64url of 32 random bytes); longer input is rejected
// before any lookup.
inline constexpr std::size_t kMaxRefreshTokenLength = 128;

// SHA-256 of a refresh token as stored in refresh_tokens.token_hash (32 raw bytes).
std::string refresh_token_hash(std::string_view token);

// Methods are coroutines for the I/O thread that calls them (they use that thread's database
// pool); password hashing and verification are sent to the CPU pool. `request_id` only labels log
// lines. Infrastructure failures propagate as InfraError subclasses.
class AuthService {
public:
    // Computes the dummy hash used to give unknown e-mails the same login cost (blocks for one
    // hash: call at startup). `cpu` must outlive the service.
    AuthService(AuthSettings settings, AuthStore store, core::CpuPool& cpu);

    // Errors: kValidation (field errors for email, password, name), kConflict (e-mail taken).
    boost::asio::awaitable<core::Result<User>> register_user(RegisterInput input,
                                                             std::string request_id = {});
    // The same rules, role admin; only reachable from `emporium create-admin`.
    boost::asio::awaitable<core::Result<User>> create_admin(RegisterInput input);
    // Errors: kUnauthorized (the same error for an unknown e-mail and a wrong password).
    boost::asio::awaitable<core::Result<LoginResult>> login(std::string email,
                                                            std::string password,
                                                            std::string request_id = {});
    // Consumes the refresh token and returns a new pair. Errors: kUnauthorized (unknown, expired,
    // revoked, already used; reuse after the grace window also revokes the family).
    boost::asio::awaitable<core::Result<TokenPair>> refresh(std::string refresh_token,
                                                            std::string request_id = {});
    // Revokes the family of the token (unknown tokens are ignored: logout is idempotent).
    boost::asio::awaitable<void> logout(std::string refresh_token, std::string request_id = {});
    // Revokes every refresh family of the user.
    boost::asio::awaitable<void> logout_all(std::int64_t user_id, std::string request_id = {});
    // Errors: kUnauthorized when the account no longer exists.
    boost::asio::awaitable<core::Result<User>> me(std::int64_t user_id);
    // Errors: kNotFound.
    boost::asio::awaitable<core::Result<User>> find_user(std::int64_t user_id);

    // True when the session (refresh family) an access token was minted for has been revoked;
    // false for an empty id (a token minted outside a session). Throws InfraError subclasses.
    boost::asio::awaitable<bool> session_revoked(std::string session_id);
    // Verifies an access token (pure, any thread). Errors: kUnauthorized with the reason. A
    // rejection is counted as a security event unless `record_rejection` is false.
    core::Result<AccessClaims> verify_access_token(std::string_view token,
                                                   bool record_rejection = true) const;
    // A signed access token for the user (for tests and tools).
    std::string issue_access_token(std::int64_t user_id, Role role) const;

    const AuthSettings& settings() const { return settings_; }

    // What else happens when a customer signs in with a guest cart's token (the carts context
    // merges that cart into theirs; auth does not know carts): returns the customer's cart id, or
    // nullopt. Registered by the composition root.
    using LoginListener =
        std::function<boost::asio::awaitable<std::optional<std::int64_t>>(std::int64_t user_id, std::string cart_token)>;
    void on_login(LoginListener listener) { login_listener_ = std::move(listener); }
    // After a successful login with `cart_token`: runs the listener at best effort (a failure is
    // logged; the sign-in stands).
    boost::asio::awaitable<std::optional<std::int64_t>> after_login(std::int64_t user_id, std::string cart_token);

private:
    boost::asio::awaitable<core::Result<User>> create_user(RegisterInput input,
                                                           Role role,
                                                           std::string request_id);
    boost::asio::awaitable<TokenPair> issue_tokens(std::int64_t user_id, Role role);

    AuthSettings settings_;
    AuthStore store_;
    core::CpuPool& cpu_;
    JwtCodec jwt_;
    std::string dummy_hash_;
    LoginListener login_listener_;
};

}  // namespace emporium::auth
