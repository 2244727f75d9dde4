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
HttpResponse http_call(unsigned short port,
                       boost::beast::http::verb method,
                       const std::string& target,
                       const std::string& body = "",
                       const HttpHeaders& headers = {});

}  // namespace emporium::test
