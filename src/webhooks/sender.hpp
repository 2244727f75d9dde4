#pragma once
// POSTs one webhook delivery with libcurl on a thread pool of its own, so a slow receiver holds a
// sender thread, never an I/O thread or the CPU pool.

#include "core/cpu_pool.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::webhooks {

struct SenderSettings {
    std::chrono::milliseconds timeout{10'000};        // the whole request
    std::chrono::milliseconds connect_timeout{3'000};
    std::size_t threads = 8;
};

struct SendResult {
    std::optional<std::int32_t> status_code;  // nullopt: no HTTP answer
    std::string error;                        // why there was no answer
    std::string excerpt;                      // the first kExcerptBytes of the answer's body
    std::int32_t duration_ms = 0;
    static constexpr std::size_t kExcerptBytes = 512;
};

// `raw` (the start of an answer, cut anywhere) as text PostgreSQL takes: valid UTF-8 kept, each
// invalid byte replaced by U+FFFD, NUL bytes dropped, a sequence cut off at the end dropped.
std::string text_excerpt(std::string_view raw);

class Sender {
public:
    explicit Sender(SenderSettings settings);
    ~Sender();
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    // POST `body` (application/json) to `url` with the extra `headers` ("Name: value"). Never
    // throws for the receiver's problems: they are in the result. Redirects are not followed.
    boost::asio::awaitable<SendResult> post(std::string url, std::string body, std::vector<std::string> headers);

private:
    SenderSettings settings_;
    core::CpuPool threads_;
};

}  // namespace emporium::webhooks
