#pragma once
// RAII helpers around libcurl's easy interface, shared by the SMTP mailer and the payment provider.
// Header-only: only libraries that link libcurl include it.

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace emporium::core::curl {

// curl_global_init is not thread-safe; a function-local static runs it exactly once, and it is
// never undone (its users live as long as the process). Returns its result on every call.
inline CURLcode global_init() {
    static const CURLcode kResult = curl_global_init(CURL_GLOBAL_DEFAULT);
    return kResult;
}

struct EasyDeleter {
    void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct ListDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using EasyHandle = std::unique_ptr<CURL, EasyDeleter>;
using HeaderList = std::unique_ptr<curl_slist, ListDeleter>;

// Sets options one after another and remembers the first failure.
class Options {
public:
    explicit Options(CURL* handle) : handle_(handle) {}

    template <typename T>
    void set(CURLoption option, T value) {
        if (result_ == CURLE_OK) result_ = curl_easy_setopt(handle_, option, value);
    }
    CURLcode result() const { return result_; }

private:
    CURL* handle_;
    CURLcode result_ = CURLE_OK;
};

// Appends `lines` ("Name: value") to `list`. False when libcurl could not allocate; the list is
// then as it was (still owned).
inline bool append_headers(HeaderList& list, const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
        curl_slist* extended = curl_slist_append(list.get(), line.c_str());
        if (extended == nullptr) return false;
        static_cast<void>(list.release());  // the head may be new; the old nodes are part of it
        list.reset(extended);
    }
    return true;
}

// A POST of `body` to `url` over http or https, redirects not followed, no signals, the answer's
// body given to `write` with `write_data`. Every pointer must outlive the transfer.
struct Post {
    const std::string* url = nullptr;
    const std::string* body = nullptr;
    curl_slist* headers = nullptr;
    std::chrono::milliseconds timeout{10'000};
    std::chrono::milliseconds connect_timeout{3'000};
    bool verify_peer = true;
    const char* user_agent = "emporium";
    char* error_buffer = nullptr;  // CURL_ERROR_SIZE bytes
    curl_write_callback write = nullptr;
    void* write_data = nullptr;
};

inline void set_post(Options& options, const Post& post) {
    options.set(CURLOPT_ERRORBUFFER, post.error_buffer);
    options.set(CURLOPT_URL, post.url->c_str());
    options.set(CURLOPT_PROTOCOLS_STR, "http,https");
    options.set(CURLOPT_NOSIGNAL, 1L);
    options.set(CURLOPT_TIMEOUT_MS, static_cast<long>(post.timeout.count()));
    options.set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(post.connect_timeout.count()));
    options.set(CURLOPT_SSL_VERIFYPEER, post.verify_peer ? 1L : 0L);
    options.set(CURLOPT_SSL_VERIFYHOST, post.verify_peer ? 2L : 0L);
    options.set(CURLOPT_FOLLOWLOCATION, 0L);
    options.set(CURLOPT_USERAGENT, post.user_agent);
    options.set(CURLOPT_HTTPHEADER, post.headers);
    options.set(CURLOPT_POST, 1L);
    options.set(CURLOPT_POSTFIELDS, post.body->c_str());
    options.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body->size()));
    options.set(CURLOPT_WRITEFUNCTION, post.write);
    options.set(CURLOPT_WRITEDATA, post.write_data);
}

}  // namespace emporium::core::curl
