#include "webhooks/sender.hpp"

#include "core/curl_easy.hpp"

#include <curl/curl.h>

#include <array>
#include <stdexcept>

namespace emporium::webhooks {

namespace {

struct Collected {
    std::string excerpt;
};

// Keeps the first kExcerptBytes and reads (and drops) the rest, so a long answer still completes.
std::size_t collect(char* data, std::size_t size, std::size_t count, void* user_data) {
    auto* out = static_cast<Collected*>(user_data);
    const std::size_t n = size * count;
    if (out->excerpt.size() < SendResult::kExcerptBytes) {
        out->excerpt.append(data, std::min(n, SendResult::kExcerptBytes - out->excerpt.size()));
    }
    return n;
}

// The length of the valid UTF-8 sequence at the start of `s`: 0 when it is invalid, -1 when it is
// a valid beginning cut off by the end of `s`.
int sequence_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = b(0);
    int n = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (int i = 1; i < n; ++i) {
        if (static_cast<std::size_t>(i) >= s.size()) return -1;
        const unsigned char c = b(static_cast<std::size_t>(i));
        if (c < (i == 1 ? lo : 0x80) || c > (i == 1 ? hi : 0xBF)) return 0;
    }
    return n;
}

SendResult send(const SenderSettings& settings,
                const std::string& url,
                const std::string& body,
                const std::vector<std::string>& extra) {
    SendResult result;
    const auto started = std::chrono::steady_clock::now();
    const auto finish = [&](SendResult r) {
        r.duration_ms = static_cast<std::int32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
        return r;
    };
    const core::curl::EasyHandle handle(curl_easy_init());
    if (!handle) {
        result.error = "curl_easy_init failed";
        return finish(std::move(result));
    }
    core::curl::HeaderList headers;
    std::vector<std::string> lines = extra;
    lines.emplace_back("Content-Type: application/json");
    lines.emplace_back("Expect:");  // no waiting for a 100-continue
    if (!core::curl::append_headers(headers, lines)) {
        result.error = "curl_slist_append failed";
        return finish(std::move(result));
    }
    Collected collected;
    std::array<char, CURL_ERROR_SIZE> error_text{};
    core::curl::Options options(handle.get());
    core::curl::set_post(options, core::curl::Post{&url, &body, headers.get(), settings.timeout,
                                                   settings.connect_timeout, true, "emporium-webhooks",
                                                   error_text.data(), &collect, static_cast<void*>(&collected)});
    if (options.result() != CURLE_OK) {
        result.error = std::string("curl option rejected: ") + curl_easy_strerror(options.result());
        return finish(std::move(result));
    }
    const CURLcode code = curl_easy_perform(handle.get());
    result.excerpt = text_excerpt(collected.excerpt);
    if (code != CURLE_OK) {
        result.error = error_text[0] != '\0' ? std::string(error_text.data()) : std::string(curl_easy_strerror(code));
        return finish(std::move(result));
    }
    long status = 0;
    if (curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status == 0) {
        result.error = "no HTTP status in the answer";
        return finish(std::move(result));
    }
    result.status_code = static_cast<std::int32_t>(status);
    return finish(std::move(result));
}

}  // namespace

std::string text_excerpt(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    while (!raw.empty()) {
        const int n = sequence_length(raw);
        if (n < 0) break;  // cut off by the excerpt's end
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            raw.remove_prefix(1);
            continue;
        }
        if (raw[0] != '\0') out.append(raw.substr(0, static_cast<std::size_t>(n)));
        raw.remove_prefix(static_cast<std::size_t>(n));
    }
    return out;
}

Sender::Sender(SenderSettings settings) : settings_(settings), threads_(std::max<std::size_t>(1, settings.threads)) {
    if (core::curl::global_init() != CURLE_OK) throw std::runtime_error("webhooks: curl_global_init failed");
}

Sender::~Sender() { threads_.join(); }

boost::asio::awaitable<SendResult> Sender::post(std::string url, std::string body, std::vector<std::string> headers) {
    auto work = [settings = settings_, url = std::move(url), body = std::move(body), headers = std::move(headers)] {
        return send(settings, url, body, headers);
    };
    co_return co_await core::run_on_cpu(threads_, std::move(work));
}

}  // namespace emporium::webhooks
