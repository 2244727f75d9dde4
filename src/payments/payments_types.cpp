#include "payments/payments_types.hpp"

#include "core/codec.hpp"
#include "core/json_text.hpp"

namespace emporium::payments {

namespace json = boost::json;

json::object to_json(const Payment& p) {
    return core::json_text::parse_value(core::codec::encode(p)).as_object();
}

core::Result<std::string> parse_pay_request(const json::object& body) {
    auto request = core::codec::decode<PayRequest>(json::value(body), "invalid payment request");
    if (!request) return request.error();
    return std::move(request->payment_method);
}

}  // namespace emporium::payments
