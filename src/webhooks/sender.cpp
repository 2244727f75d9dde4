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
    lines.emplace_back("Expect:");
    for (const auto& line : lines) {
        curl_slist* extended = curl_slist_append(headers.get(), line.c_str());
        if (extended == nullptr) {
            result.error = "curl_slist_append failed";
            return finish(std::move(result));
        }
        static_cast<void>(headers.release());
        headers.reset(extended);
    }
    Collected collected;
    std::array<char, CURL_ERROR_SIZE> error_text{};
    core::curl::Options options(handle.get());
    options.set(CURLOPT_ERRORBUFFER, error_text.data());
    options.set(CURLOPT_URL, url.c_str());
    options.set(CURLOPT_PROTOCOLS_STR, "http,https");
    options.set(CURLOPT_NOSIGNAL, 1L);
    options.set(CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout.count()));
    options.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout.count()));
    options.set(CURLOPT_FOLLOWLOCATION, 0L);
    options.set(CURLOPT_USERAGENT, "emporium-webhooks");
    options.set(CURLOPT_HTTPHEADER, headers.get());
    options.set(CURLOPT_POST, 1L);
    options.set(CURLOPT_POSTFIELDS, body.c_str());
    options.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    options.set(CURLOPT_WRITEFUNCTION, &collect);
    options.set(CURLOPT_WRITEDATA, static_cast<void*>(&collected));
    if (options.result() != CURLE_OK) {
        result.error = std::string("curl option rejected: ") + curl_easy_strerror(options.result());
        return finish(std::move(result));
    }
    const CURLcode code = curl_easy_perform(handle.get());
    result.excerpt = std::move(collected.excerpt);
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
