#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <string>
#include <utility>
#include <vector>

namespace emporium::test {

using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// One blocking HTTP/1.1 request on a fresh loopback connection; a non-empty body is sent as
// application/json. Throws boost::system::system_error when the server is unreachable.
//
// When the environment variable EMPORIUM_CONTRACT_LOG names a directory, every completed exchange
// is also appended as one JSON line to `<dir>/<pid>.jsonl` (one file per process, so parallel test
// binaries never share a file) for the contract test (tests/contract/validate.mjs): the current
// test's name, method, target, request content type and body, status, response content type and
// body. A body that is not UTF-8 text keeps only its size and its first bytes (base64url); a text
// body above 4 MiB keeps only its size. Throws std::runtime_error when the line cannot be written.
HttpResponse http_call(unsigned short port,
                       boost::beast::http::verb method,
                       const std::string& target,
                       const std::string& body = "",
                       const HttpHeaders& headers = {});

}  // namespace emporium::test
