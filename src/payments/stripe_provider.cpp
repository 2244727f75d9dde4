#include "payments/stripe_provider.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>
#include "core/curl_easy.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace emporium::payments {
namespace {

using Kind = ChargeOutcome::Kind;

constexpr std::size_t kMaxResponseBytes = std::size_t{1024} * 1024;
constexpr std::size_t kMaxMessageLength = 500;
constexpr std::size_t kMaxIdempotencyKeyLength = 255;  // Stripe's limit

// libcurl's global set-up (once per process; see core::curl::global_init).
void ensure_curl_initialised() {
    const CURLcode init_result = core::curl::global_init();
    if (init_result != CURLE_OK) {
        throw std::runtime_error(std::string("stripe: curl_global_init failed: ") +
                                 curl_easy_strerror(init_result));
    }
}

using CurlEasyDeleter = core::curl::EasyDeleter;
using CurlListDeleter = core::curl::ListDeleter;

using CurlOptions = core::curl::Options;

// Collects the response body; a body over kMaxResponseBytes aborts the transfer (CURLE_WRITE_ERROR).
std::size_t collect_body(char* data, std::size_t size, std::size_t count, void* user_data) {
    auto* body = static_cast<std::string*>(user_data);
    const std::size_t n = size * count;
    if (body->size() + n > kMaxResponseBytes) return 0;
    body->append(data, n);
    return n;
}

// Visible ASCII only: no spaces, no CR/LF that could end a header early.
bool is_header_token(std::string_view value) {
    return std::all_of(value.begin(), value.end(), [](char c) { return c > ' ' && c < '\x7f'; });
}

std::string ascii_lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// application/x-www-form-urlencoded: unreserved characters as they are, every other byte as %XX.
void append_encoded(std::string& out, std::string_view value) {
    static constexpr std::string_view kHex = "0123456789ABCDEF";
    for (const char c : value) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[byte >> 4U];
            out += kHex[byte & 0x0FU];
        }
    }
}

// `name` is one of our literal field names and goes out as it is (Stripe's `metadata[key]` form).
void append_field(std::string& body, std::string_view name, std::string_view value) {
    if (!body.empty()) body += '&';
    body += name;
    body += '=';
    append_encoded(body, value);
}

std::string form_body(const ChargeRequest& request) {
    std::string body;
    append_field(body, "amount", std::to_string(request.amount_cents));
    append_field(body, "currency", ascii_lower(request.currency));
    append_field(body, "payment_method", request.method_token);
    append_field(body, "confirm", "true");
    append_field(body, "metadata[order_id]", std::to_string(request.order_id));
    append_field(body, "metadata[payment_id]", std::to_string(request.payment_id));
    return body;
}

std::string refund_body(const RefundRequest& request) {
    std::string body;
    append_field(body, "payment_intent", request.payment_reference);
    append_field(body, "amount", std::to_string(request.amount_cents));
    append_field(body, "metadata[refund_id]", std::to_string(request.refund_id));
    append_field(body, "metadata[payment_id]", std::to_string(request.payment_id));
    return body;
}

std::string string_field(const boost::json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    if (value == nullptr || !value->is_string()) return {};
    const auto& text = value->get_string();
    return {text.data(), text.size()};
}

const boost::json::object* object_field(const boost::json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value == nullptr ? nullptr : value->if_object();
}

// "card_declined (insufficient_funds): Your card has insufficient funds." from a Stripe error object.
std::string describe_error(const boost::json::object& error) {
    std::string code = string_field(error, "code");
    if (code.empty()) code = string_field(error, "type");
    const std::string decline_code = string_field(error, "decline_code");
    const std::string message = string_field(error, "message");
    std::string out = code;
    if (!decline_code.empty()) out += " (" + decline_code + ")";
    if (!message.empty()) out += (out.empty() ? "" : ": ") + message;
    return out;
}

ChargeOutcome outcome(Kind kind, std::string reference, std::string message) {
    return ChargeOutcome{kind, std::move(reference), std::move(message)};
}

// A 2xx answer: a PaymentIntent.
ChargeOutcome classify_payment_intent(long status_code, const boost::json::value& document) {
    const std::string prefix = "stripe: HTTP " + std::to_string(status_code);
    const auto* intent = document.if_object();
    if (intent == nullptr) {
        return outcome(Kind::kTransient, {}, prefix + " with a body that is not a JSON object");
    }
    const std::string id = string_field(*intent, "id");
    const std::string status = string_field(*intent, "status");
    if (status.empty()) {
        return outcome(Kind::kTransient, id, prefix + " with a payment intent without a status");
    }

    if (status == "succeeded") {
        if (id.empty()) {
            return outcome(Kind::kTransient, {}, prefix + " with a succeeded payment intent without an id");
        }
        return outcome(Kind::kApproved, id, {});
    }
    if (status == "requires_payment_method") {
        std::string message = "stripe: payment declined (requires_payment_method)";
        if (const auto* error = object_field(*intent, "last_payment_error")) {
            if (auto detail = describe_error(*error); !detail.empty()) message += ": " + detail;
        }
        return outcome(Kind::kDeclined, id, std::move(message));
    }
    if (status == "canceled") {
        std::string message = "stripe: payment intent canceled";
        if (auto reason = string_field(*intent, "cancellation_reason"); !reason.empty()) {
            message += " (" + reason + ")";
        }
        return outcome(Kind::kDeclined, id, std::move(message));
    }
    if (status == "processing") {
        return outcome(Kind::kTransient, id, "stripe: payment intent " + id + " is still processing");
    }
    if (status == "requires_action") {
        return outcome(Kind::kTransient,
                       id,
                       "stripe: payment intent " + id +
                           " requires customer action (requires_action), which a server-side charge cannot "
                           "complete");
    }
    return outcome(
        Kind::kTransient, id, "stripe: payment intent " + id + " has unexpected status '" + status + "'");
}

// A 2xx answer to POST /v1/refunds: a Refund ("succeeded"; "pending" settles later, reported by a
// webhook or by a retry with the same key; "failed" / "canceled" are final).
ChargeOutcome classify_refund(long status_code, const boost::json::value& document) {
    const std::string prefix = "stripe: HTTP " + std::to_string(status_code);
    const auto* refund = document.if_object();
    if (refund == nullptr) return outcome(Kind::kTransient, {}, prefix + " with a body that is not a JSON object");
    const std::string id = string_field(*refund, "id");
    const std::string status = string_field(*refund, "status");
    if (status == "succeeded" && !id.empty()) return outcome(Kind::kApproved, id, {});
    if (status == "failed" || status == "canceled") {
        std::string message = "stripe: refund " + id + " " + status;
        if (auto reason = string_field(*refund, "failure_reason"); !reason.empty()) message += " (" + reason + ")";
        return outcome(Kind::kRejected, id, std::move(message));
    }
    if (status == "pending" || status == "requires_action") {
        return outcome(Kind::kPending, id, "stripe: refund " + id + " is " + status);
    }
    return outcome(Kind::kTransient, id, "stripe: refund " + id + " is " + (status.empty() ? "without a status" : status));
}

using Classifier = ChargeOutcome (*)(long, const boost::json::value&);

ChargeOutcome classify_reply(long status_code, std::string_view body, Classifier classify_success) {
    boost::system::error_code ec;
    const boost::json::value document = boost::json::parse(body, ec);
    if (status_code >= 200 && status_code < 300) {
        if (ec) {
            return outcome(
                Kind::kTransient,
                {},
                "stripe: HTTP " + std::to_string(status_code) + " with malformed JSON: " + ec.message());
        }
        return classify_success(status_code, document);
    }

    std::string message = "stripe: HTTP " + std::to_string(status_code);
    std::string reference;
    const boost::json::object* error = nullptr;
    if (!ec && document.is_object()) error = object_field(document.get_object(), "error");
    if (error != nullptr) {
        if (auto detail = describe_error(*error); !detail.empty()) message += ": " + detail;
        if (const auto* intent = object_field(*error, "payment_intent")) {
            reference = string_field(*intent, "id");
        }
    }

    if (status_code == 402) return outcome(Kind::kDeclined, std::move(reference), std::move(message));
    // 409: the first request with this idempotency key is still being processed; a retry gets its
    // answer. 1xx and 3xx (redirects are not followed) are not an answer either.
    const bool retryable =
        status_code == 409 || status_code == 429 || status_code >= 500 || status_code < 400;
    return outcome(retryable ? Kind::kTransient : Kind::kRejected, std::move(reference), std::move(message));
}

// The request never got an HTTP answer.
ChargeOutcome no_answer(CURLcode code, const char* error_text) {
    std::string message = "stripe: no answer: ";
    if (code == CURLE_WRITE_ERROR) {
        message += "response larger than " + std::to_string(kMaxResponseBytes) + " bytes";
    } else {
        message += curl_easy_strerror(code);
        if (error_text[0] != '\0') message += std::string(" (") + error_text + ")";
    }
    return outcome(Kind::kTransient, {}, std::move(message));
}

// Whatever the provider sent back, the secret key never reaches a message, and messages stay short
// (they end up in payments.last_error).
ChargeOutcome sanitise(ChargeOutcome result, const std::string& secret_key) {
    static constexpr std::string_view kRedacted = "[redacted]";
    std::string& message = result.message;
    if (!secret_key.empty()) {
        for (auto at = message.find(secret_key); at != std::string::npos;
             at = message.find(secret_key, at + kRedacted.size())) {
            message.replace(at, secret_key.size(), kRedacted);
        }
    }
    if (message.size() > kMaxMessageLength) {
        // Cut at a UTF-8 character boundary: the text must stay valid for PostgreSQL.
        std::size_t cut = kMaxMessageLength - 3;
        while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0U) == 0x80U) --cut;
        message.resize(cut);
        message += "...";
    }
    return result;
}

// One form POST to `path` with the idempotency key; the 2xx answer is read by `classify_success`.
ChargeOutcome send_form(const StripeSettings& settings,
                        const std::string& path,
                        const std::string& key,
                        const std::string& body,
                        Classifier classify_success) {
    if (key.empty() || key.size() > kMaxIdempotencyKeyLength || !is_header_token(key)) {
        // Never charge without a usable key: a retry could charge twice.
        return outcome(Kind::kRejected,
                       {},
                       "stripe: the idempotency key must be 1-255 visible ASCII characters; not sent");
    }

    const std::unique_ptr<CURL, CurlEasyDeleter> handle(curl_easy_init());
    if (!handle) return outcome(Kind::kTransient, {}, "stripe: curl_easy_init failed; not sent");

    // "Expect:" keeps libcurl from waiting for a 100-continue.
    core::curl::HeaderList headers;
    if (!core::curl::append_headers(headers,
                                    {"Authorization: Bearer " + settings.secret_key, "Idempotency-Key: " + key,
                                     "Content-Type: application/x-www-form-urlencoded", "Accept: application/json",
                                     "Expect:"})) {
        return outcome(Kind::kTransient, {}, "stripe: curl_slist_append failed; not sent");
    }

    const std::string url = settings.base_url + path;
    std::string response;
    std::array<char, CURL_ERROR_SIZE> error_text{};

    CurlOptions options(handle.get());
    core::curl::set_post(options, core::curl::Post{&url, &body, headers.get(), settings.timeout,
                                                   settings.connect_timeout, settings.verify_peer, "emporium",
                                                   error_text.data(), &collect_body, static_cast<void*>(&response)});
    if (options.result() != CURLE_OK) {
        return outcome(Kind::kTransient,
                       {},
                       std::string("stripe: curl option rejected: ") + curl_easy_strerror(options.result()) +
                           "; not sent");
    }

    const CURLcode code = curl_easy_perform(handle.get());
    if (code != CURLE_OK) return no_answer(code, error_text.data());
    long status_code = 0;
    if (curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status_code) != CURLE_OK ||
        status_code == 0) {
        return outcome(Kind::kTransient, {}, "stripe: no HTTP status in the answer");
    }
    return classify_reply(status_code, response, classify_success);
}

}  // namespace

StripeProvider::StripeProvider(StripeSettings settings, core::CpuPool& cpu)
    : settings_(std::move(settings)), cpu_(cpu) {
    if (!boost::algorithm::istarts_with(settings_.base_url, "https://") &&
        !boost::algorithm::istarts_with(settings_.base_url, "http://")) {
        throw std::invalid_argument("stripe: base URL must start with https:// or http://: " +
                                    settings_.base_url);
    }
    while (settings_.base_url.back() == '/') settings_.base_url.pop_back();
    if (settings_.base_url.find("://") == std::string::npos) {
        throw std::invalid_argument("stripe: base URL has no host: " + settings_.base_url);
    }
    if (settings_.secret_key.empty()) throw std::invalid_argument("stripe: the secret key is empty");
    if (!is_header_token(settings_.secret_key)) {
        throw std::invalid_argument("stripe: the secret key contains spaces or control characters");
    }
    if (settings_.timeout.count() <= 0 || settings_.connect_timeout.count() <= 0) {
        throw std::invalid_argument("stripe: timeouts must be positive");
    }
    ensure_curl_initialised();
}

boost::asio::awaitable<ChargeOutcome> StripeProvider::charge(ChargeRequest request) {
    // The blocking request runs on the CPU pool with its own copies, so nothing it touches depends
    // on this coroutine frame.
    auto work = [settings = settings_, key = request.idempotency_key, body = form_body(request)] {
        return sanitise(send_form(settings, "/v1/payment_intents", key, body, &classify_payment_intent),
                        settings.secret_key);
    };
    co_return co_await core::run_on_cpu(cpu_, std::move(work));
}

boost::asio::awaitable<RefundOutcome> StripeProvider::refund(RefundRequest request) {
    auto work = [settings = settings_, key = request.idempotency_key, body = refund_body(request)] {
        return sanitise(send_form(settings, "/v1/refunds", key, body, &classify_refund), settings.secret_key);
    };
    co_return co_await core::run_on_cpu(cpu_, std::move(work));
}

}  // namespace emporium::payments
