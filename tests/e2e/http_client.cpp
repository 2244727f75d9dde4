#include "e2e/http_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace emporium::test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

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
    return res;
}

}  // namespace emporium::test
