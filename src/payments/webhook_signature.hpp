#pragma once
// Stripe-style webhook signatures. The signature header is a comma-separated list of
// `scheme=value` items: `t=<unix seconds>` once, and one or more `v1=<hex HMAC-SHA256>` computed
// with the endpoint secret over "<t>.<raw body>". Several v1 items may be present while a secret
// is being rotated; any one of them may match. Other schemes (v0=…) are ignored.
// Pure functions, thread-safe, no I/O.

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace emporium::payments {

// The header value for `body` sent at `timestamp` (unix seconds): "t=<timestamp>,v1=<64 lower-case
// hex digits>". Throws std::invalid_argument for a negative timestamp, core::InfraError if OpenSSL
// fails.
std::string sign_webhook(std::string_view secret, std::int64_t timestamp, std::string_view body);

// Checks `header` against the raw request `body` and `secret`. Returns the signed timestamp.
// Errors, all Errc::kUnauthorized, with a message for each cause (never the expected signature):
// - missing or malformed header: empty, an item without '=', `t` missing, repeated or not a
//   decimal number, a v1 value that is not exactly 64 hex digits;
// - no v1 signature in the header;
// - signature mismatch: no v1 value equals the HMAC of "<t>.<body>" under `secret` (compared in
//   constant time);
// - timestamp outside the tolerance: |now_seconds - t| > tolerance, stale or from the future
//   (checked after the signature, so it is only reported for authentic but replayed or
//   clock-skewed deliveries).
// An empty `secret` fails every header with Errc::kInternal (a configuration error). Throws
// core::InfraError if OpenSSL fails.
core::Result<std::int64_t> verify_webhook(std::string_view header,
                                          std::string_view body,
                                          std::string_view secret,
                                          std::chrono::seconds tolerance,
                                          std::int64_t now_seconds);

}  // namespace emporium::payments
