#pragma once
// RAII helpers around libcurl's easy interface, shared by the SMTP mailer and the payment provider.
// Header-only: only libraries that link libcurl include it.

#include <curl/curl.h>

#include <memory>

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

}  // namespace emporium::core::curl
