#pragma once
// Sending e-mail: over SMTP with libcurl, or, when no SMTP server is configured, by writing .eml
// files to a spool folder (development and tests). Blocking: call from the CPU pool, never from an
// I/O thread.

#include "core/error.hpp"
#include "notify/mime.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace emporium::notify {

struct MailSettings {
    std::string smtp_url;  // empty = spool; e.g. smtp://host:587 or smtps://host:465
    std::string username;  // optional AUTH (both empty = no AUTH)
    std::string password;
    // STARTTLS on smtp:// URLs (smtps:// is always TLS): kOff never upgrades, kTry upgrades when the
    // server offers it (credentials may then travel in clear text), kRequired fails when it doesn't.
    enum class Tls { kOff, kTry, kRequired } starttls = Tls::kTry;
    bool verify_peer = true;                    // verify the server certificate and host name
    std::chrono::milliseconds timeout{10'000};  // whole transaction, and connect
    std::string spool_dir = ".local/mail";
};

// Error policy of Mailer::send, which is what the job runner keys its retry decision on:
// - Errc::kUnavailable: transient, retry later with backoff. Connection refused or reset, DNS
//   failure, timeout, TLS handshake failure, an SMTP 4xx reply, a spool write that failed (disk
//   full, permissions being fixed…).
// - Errc::kValidation: permanent, the message can never be sent as it is: malformed from/to
//   address or file stem.
// - Errc::kInternal: permanent: the server rejected the message with an SMTP 5xx reply (unknown
//   recipient, message too large, authentication refused), STARTTLS required but not offered,
//   certificate verification failed, or libcurl could not be set up.
// Messages name the SMTP reply code and libcurl's error text; they never contain the password.
class Mailer {
public:
    virtual ~Mailer() = default;
    // Sends `msg`. `file_stem` names the spool file (<spool_dir>/<file_stem>.eml) and appears in
    // error messages; it must match [A-Za-z0-9._-]+ and not start with '.' for every mailer, so
    // switching transports never turns a valid job into a failing one. Thread-safe.
    virtual core::Result<void> send(const EmailMessage& msg, const std::string& file_stem) = 0;
    // One line for logs, without credentials ("smtp smtp://host:587 starttls=try auth=yes").
    virtual std::string describe() const = 0;
};

// An SMTP mailer when settings.smtp_url is set, else a spool mailer. Throws std::invalid_argument
// for settings that can never work (a URL that is not smtp:// or smtps://, a non-positive
// timeout, an empty spool_dir): a configuration error to report once at startup.
std::unique_ptr<Mailer> make_mailer(const MailSettings& settings);

// Whether a send error is worth retrying (see the policy above).
bool is_transient(const core::Error& error);

// Whether `stem` is a safe spool file stem: 1–200 characters from [A-Za-z0-9._-], not starting
// with '.' (so never "." or "..", and never one of the mailer's hidden temporary files).
bool is_valid_file_stem(std::string_view stem);

}  // namespace emporium::notify
