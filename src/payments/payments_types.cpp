#include "payments/payments_types.hpp"

#include "core/codec.hpp"
#include "core/json_text.hpp"

#include <algorithm>

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

namespace {

void check_lines(const std::vector<RefundLineRequest>& lines, std::vector<core::FieldError>& errors) {
    std::vector<std::int64_t> seen;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto id = lines[i].variant_id;
        if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
            errors.push_back({"lines/" + std::to_string(i) + "/variant_id", "names a variant already given"});
        }
        seen.push_back(id);
    }
}

}  // namespace

void check_decoded(NewRefund& body, std::vector<core::FieldError>& errors) {
    if (body.amount_cents.has_value() == !body.lines.empty()) {
        errors.push_back({"amount_cents", "give exactly one of amount_cents and lines"});
    }
    check_lines(body.lines, errors);
}

void check_decoded(NewReturn& body, std::vector<core::FieldError>& errors) { check_lines(body.lines, errors); }

}  // namespace emporium::payments
