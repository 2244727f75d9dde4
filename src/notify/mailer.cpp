#include "notify/mailer.hpp"

#include "core/curl_easy.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace emporium::notify {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxStemLength = 200;

std::string_view tls_name(MailSettings::Tls tls) {
    switch (tls) {
        case MailSettings::Tls::kOff:
            return "off";
        case MailSettings::Tls::kTry:
            return "try";
        case MailSettings::Tls::kRequired:
            return "required";
    }
    return "unknown";
}

// The URL without a user:password@ part, for logs.
std::string redact_url(std::string_view url) {
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::string(url);
    const auto authority = scheme_end + 3;
    auto authority_end = url.find_first_of("/?#", authority);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    const auto at = url.substr(authority, authority_end - authority).rfind('@');
    if (at == std::string_view::npos) return std::string(url);
    return std::string(url.substr(0, authority)) + std::string(url.substr(authority + at + 1));
}

core::Result<void> check_envelope(const EmailMessage& msg, const std::string& file_stem) {
    if (!is_valid_file_stem(file_stem)) {
        return core::make_error(core::Errc::kValidation, "invalid mail file stem '" + file_stem + "'");
    }
    if (!is_valid_address(msg.from)) {
        return core::make_error(core::Errc::kValidation, "mail " + file_stem + ": invalid sender address");
    }
    if (!is_valid_address(msg.to)) {
        return core::make_error(core::Errc::kValidation, "mail " + file_stem + ": invalid recipient address");
    }
    return {};
}

// ---- SMTP -------------------------------------------------------------------------------------

// libcurl's global set-up (once per process; see core::curl::global_init).
core::Result<void> ensure_curl_initialised() {
    const CURLcode init_result = core::curl::global_init();
    if (init_result != CURLE_OK) {
        return core::make_error(core::Errc::kInternal,
                                std::string("curl_global_init failed: ") + curl_easy_strerror(init_result));
    }
    return {};
}

using CurlEasyDeleter = core::curl::EasyDeleter;
using CurlListDeleter = core::curl::ListDeleter;

struct Payload {
    std::string_view data;
    std::size_t offset = 0;
};

std::size_t read_payload(char* buffer, std::size_t size, std::size_t count, void* user_data) {
    auto* payload = static_cast<Payload*>(user_data);
    const std::size_t n = std::min(size * count, payload->data.size() - payload->offset);
    std::copy_n(payload->data.data() + payload->offset, n, buffer);
    payload->offset += n;
    return n;
}

// Failures of the connection or the TLS setup that retrying cannot fix.
bool is_permanent_curl_error(CURLcode code) {
    switch (code) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_NOT_BUILT_IN:
        case CURLE_LOGIN_DENIED:
        case CURLE_USE_SSL_FAILED:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_BAD_FUNCTION_ARGUMENT:
        case CURLE_UNKNOWN_OPTION:
        case CURLE_FUNCTION_NOT_FOUND:
            return true;
        default:
            return false;
    }
}

using CurlOptions = core::curl::Options;

class SmtpMailer final : public Mailer {
public:
    explicit SmtpMailer(MailSettings settings) : settings_(std::move(settings)) {}

    core::Result<void> send(const EmailMessage& msg, const std::string& file_stem) override {
        if (auto ok = check_envelope(msg, file_stem); !ok) return ok;
        if (auto ok = ensure_curl_initialised(); !ok) return ok;

        const std::unique_ptr<CURL, CurlEasyDeleter> handle(curl_easy_init());
        if (!handle) {
            return core::make_error(core::Errc::kUnavailable,
                                    "mail " + file_stem + ": curl_easy_init failed");
        }
        const std::string mail_from = "<" + msg.from + ">";
        const std::unique_ptr<curl_slist, CurlListDeleter> recipients(
            curl_slist_append(nullptr, ("<" + msg.to + ">").c_str()));
        if (!recipients) {
            return core::make_error(core::Errc::kUnavailable,
                                    "mail " + file_stem + ": curl_slist_append failed");
        }
        const std::string wire = render_mime(msg);
        Payload payload{wire, 0};
        std::array<char, CURL_ERROR_SIZE> error_text{};

        const auto timeout_ms = static_cast<long>(settings_.timeout.count());
        CurlOptions options(handle.get());
        options.set(CURLOPT_ERRORBUFFER, error_text.data());
        options.set(CURLOPT_URL, settings_.smtp_url.c_str());
        options.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        options.set(CURLOPT_NOSIGNAL, 1L);
        options.set(CURLOPT_TIMEOUT_MS, timeout_ms);
        options.set(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        options.set(CURLOPT_USE_SSL, use_ssl());
        options.set(CURLOPT_SSL_VERIFYPEER, settings_.verify_peer ? 1L : 0L);
        options.set(CURLOPT_SSL_VERIFYHOST, settings_.verify_peer ? 2L : 0L);
        if (!settings_.username.empty() || !settings_.password.empty()) {
            options.set(CURLOPT_USERNAME, settings_.username.c_str());
            options.set(CURLOPT_PASSWORD, settings_.password.c_str());
        }
        options.set(CURLOPT_MAIL_FROM, mail_from.c_str());
        options.set(CURLOPT_MAIL_RCPT, recipients.get());
        options.set(CURLOPT_UPLOAD, 1L);
        options.set(CURLOPT_READFUNCTION, &read_payload);
        options.set(CURLOPT_READDATA, static_cast<void*>(&payload));
        // Lets libcurl announce SIZE= in MAIL FROM, so an oversized message is refused up front.
        options.set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(wire.size()));
        if (options.result() != CURLE_OK) {
            return core::make_error(
                core::Errc::kInternal,
                "mail " + file_stem + ": curl option rejected: " + curl_easy_strerror(options.result()));
        }

        const CURLcode code = curl_easy_perform(handle.get());
        if (code == CURLE_OK) return {};

        long reply = 0;
        if (curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &reply) != CURLE_OK) reply = 0;
        std::string message = "smtp send of " + file_stem + " failed: " + curl_easy_strerror(code);
        if (error_text[0] != '\0') message += std::string(" (") + error_text.data() + ")";
        if (reply >= 400) message += ", smtp reply " + std::to_string(reply);
        // A 5xx reply is final, a 4xx reply is worth a retry whatever libcurl made of it; without
        // a failing reply the libcurl code decides.
        const bool permanent =
            (reply >= 500 && reply < 600) || (reply < 400 && is_permanent_curl_error(code));
        return core::make_error(permanent ? core::Errc::kInternal : core::Errc::kUnavailable,
                                std::move(message));
    }

    std::string describe() const override {
        std::string out = "smtp " + redact_url(settings_.smtp_url);
        out += " starttls=" + std::string(tls_name(settings_.starttls));
        out += settings_.username.empty() ? " auth=no" : " auth=yes";
        if (!settings_.verify_peer) out += " verify_peer=no";
        return out;
    }

private:
    long use_ssl() const {
        switch (settings_.starttls) {
            case MailSettings::Tls::kOff:
                return static_cast<long>(CURLUSESSL_NONE);
            case MailSettings::Tls::kTry:
                return static_cast<long>(CURLUSESSL_TRY);
            case MailSettings::Tls::kRequired:
                return static_cast<long>(CURLUSESSL_ALL);
        }
        return static_cast<long>(CURLUSESSL_ALL);
    }

    MailSettings settings_;
};

// ---- spool ------------------------------------------------------------------------------------

class UniqueFd {
public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) ::close(fd_);
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const { return fd_; }
    // Closes now and reports the result (close can report a delayed write error).
    int close() { return ::close(std::exchange(fd_, -1)); }

private:
    int fd_;
};

std::string errno_text(int error) {
    return std::generic_category().message(error);
}

class SpoolMailer final : public Mailer {
public:
    explicit SpoolMailer(std::string dir) : dir_(std::move(dir)) {}

    core::Result<void> send(const EmailMessage& msg, const std::string& file_stem) override {
        if (auto ok = check_envelope(msg, file_stem); !ok) return ok;
        const std::string wire = render_mime(msg);

        std::error_code ec;
        fs::create_directories(dir_, ec);
        if (ec) return failure("create " + dir_.string(), ec.value());

        const fs::path final_path = dir_ / (file_stem + ".eml");
        const fs::path temp_path = dir_ / ("." + file_stem + ".eml." + std::to_string(::getpid()) + "." +
                                           std::to_string(counter_.fetch_add(1)) + ".tmp");
        if (auto ok = write_synced(temp_path, wire); !ok) {
            ::unlink(temp_path.c_str());
            return ok;
        }
        if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
            const int error = errno;
            ::unlink(temp_path.c_str());
            return failure("rename to " + final_path.string(), error);
        }
        return sync_directory();
    }

    std::string describe() const override { return "spool " + dir_.string(); }

private:
    static core::Error failure(const std::string& what, int error) {
        return core::make_error(core::Errc::kUnavailable, "mail spool: " + what + ": " + errno_text(error));
    }

    static core::Result<void> write_synced(const fs::path& path, std::string_view data) {
        UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640));
        if (fd.get() < 0) {
            const int error = errno;
            return failure("open " + path.string(), error);
        }
        while (!data.empty()) {
            const ssize_t written = ::write(fd.get(), data.data(), data.size());
            if (written < 0) {
                const int error = errno;
                if (error == EINTR) continue;
                return failure("write " + path.string(), error);
            }
            data.remove_prefix(static_cast<std::size_t>(written));
        }
        if (::fsync(fd.get()) != 0) {
            const int error = errno;
            return failure("fsync " + path.string(), error);
        }
        if (fd.close() != 0) {
            const int error = errno;
            return failure("close " + path.string(), error);
        }
        return {};
    }

    // Makes the rename durable.
    core::Result<void> sync_directory() const {
        UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
            const int error = errno;
            return failure("sync directory " + dir_.string(), error);
        }
        return {};
    }

    fs::path dir_;
    std::atomic<std::uint64_t> counter_{0};
};

}  // namespace

bool is_valid_file_stem(std::string_view stem) {
    if (stem.empty() || stem.size() > kMaxStemLength || stem.front() == '.') return false;
    return std::all_of(stem.begin(), stem.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
    });
}

bool is_transient(const core::Error& error) {
    return error.code == core::Errc::kUnavailable;
}

std::unique_ptr<Mailer> make_mailer(const MailSettings& settings) {
    if (settings.smtp_url.empty()) {
        if (settings.spool_dir.empty()) throw std::invalid_argument("mail: spool_dir must not be empty");
        return std::make_unique<SpoolMailer>(settings.spool_dir);
    }
    if (!boost::algorithm::istarts_with(settings.smtp_url, "smtp://") &&
        !boost::algorithm::istarts_with(settings.smtp_url, "smtps://")) {
        throw std::invalid_argument("mail: SMTP URL must start with smtp:// or smtps://: " +
                                    redact_url(settings.smtp_url));
    }
    if (settings.timeout.count() <= 0) throw std::invalid_argument("mail: timeout must be positive");
    return std::make_unique<SmtpMailer>(settings);
}

}  // namespace emporium::notify
