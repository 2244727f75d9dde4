#include "e2e/http_client.hpp"

#include "auth/jwt.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unistd.h>

namespace emporium::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

namespace {

// Bodies up to this size are kept whole; the contract test cannot validate a cut JSON body.
constexpr std::size_t kMaxTextBody = std::size_t{4} * 1024 * 1024;
// How much of a binary body (a PDF receipt) is kept.
constexpr std::size_t kBinaryPrefix = 256;

// True when `s` is well-formed UTF-8 (RFC 3629: shortest form, no surrogates, at most U+10FFFF).
bool is_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto lead = static_cast<unsigned char>(s[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned code = 0;
        unsigned smallest = 0;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
            code = lead & 0x1FU;
            smallest = 0x80;
        } else if ((lead & 0xF0U) == 0xE0) {
            length = 3;
            code = lead & 0x0FU;
            smallest = 0x800;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            code = lead & 0x07U;
            smallest = 0x10000;
        } else {
            return false;
        }
        if (s.size() - i < length) return false;
        for (std::size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(s[i + k]);
            if ((next & 0xC0U) != 0x80) return false;
            code = (code << 6) | (next & 0x3FU);
        }
        if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += length;
    }
    return true;
}

// Stores `body` under `<prefix>_body` when it is text of a keepable size; otherwise its size, why it
// was left out and, for binary bodies, its first bytes under `<prefix>_body_base64url`.
void put_body(json::object& line, const std::string& prefix, std::string_view body) {
    line[prefix + "_body_bytes"] = body.size();
    if (!is_utf8(body)) {
        line[prefix + "_body_omitted"] = "binary";
        line[prefix + "_body_base64url"] = auth::base64url_encode(body.substr(0, kBinaryPrefix));
    } else if (body.size() > kMaxTextBody) {
        line[prefix + "_body_omitted"] = "size";
    } else {
        line[prefix + "_body"] = body;
    }
}

json::value header_or_null(std::string_view value) {
    if (value.empty()) return nullptr;
    return json::string(value);
}

// "Suite.Test" of the running test, the suite's name during SetUpTestSuite, or "".
std::string current_test_name() {
    const auto* unit = ::testing::UnitTest::GetInstance();
    if (const auto* info = unit->current_test_info()) {
        return std::string(info->test_suite_name()) + "." + info->name();
    }
    if (const auto* suite = unit->current_test_suite()) return suite->name();
    return {};
}

// Appends one exchange to EMPORIUM_CONTRACT_LOG/<pid>.jsonl when that variable is set.
void record_exchange(const bhttp::request<bhttp::string_body>& req, const HttpResponse& res) {
    const char* dir =
        std::getenv("EMPORIUM_CONTRACT_LOG");  // NOLINT(concurrency-mt-unsafe): never set by tests
    if (dir == nullptr || *dir == '\0') return;
    json::object line;
    line["test"] = current_test_name();
    line["method"] = req.method_string();
    line["target"] = req.target();
    line["request_content_type"] = header_or_null(req[bhttp::field::content_type]);
    put_body(line, "request", req.body());
    line["status"] = res.result_int();
    line["response_content_type"] = header_or_null(res[bhttp::field::content_type]);
    put_body(line, "response", res.body());
    auto text = json::serialize(line);
    text += '\n';

    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::filesystem::create_directories(dir);
    // The pid is read on every call: a forked child writes its own file.
    auto path = std::string(dir) + "/" + std::to_string(::getpid()) + ".jsonl";
    std::ofstream out(path, std::ios::app | std::ios::binary);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) throw std::runtime_error("http_call: cannot append to " + path);
}

}  // namespace

HttpResponse http_call(unsigned short port,
                       bhttp::verb method,
                       const std::string& target,
                       const std::string& body,
                       const HttpHeaders& headers) {
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "e2e");
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(socket, req);
    boost::beast::flat_buffer buffer;
    HttpResponse res;
    bhttp::read(socket, buffer, res);
    record_exchange(req, res);
    return res;
}

}  // namespace emporium::test
