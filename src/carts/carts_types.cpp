#include "carts/carts_types.hpp"

#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "orders/orders_service.hpp"

namespace emporium::carts {

void check_decoded(NewCartLine& line, std::vector<core::FieldError>& errors) {
    if (!line.product_id && !line.variant_id) errors.push_back({"variant_id", "a variant_id or a product_id is required"});
}

void check_decoded(CartCheckout& body, std::vector<core::FieldError>& errors) {
    constexpr std::size_t kMaxAddressBytes = 4096;
    if (core::json_text::serialize(body.shipping_address).size() > kMaxAddressBytes)
        errors.push_back({"shipping_address", "must be at most " + std::to_string(kMaxAddressBytes) + " bytes"});
}

std::string new_token() {
    static constexpr std::string_view kHex = "0123456789abcdef";
    const std::string raw = core::random_bytes(32);
    std::string out;
    out.reserve(raw.size() * 2);
    for (const char c : raw) {
        const auto byte = static_cast<unsigned char>(c);
        out.push_back(kHex[byte >> 4U]);
        out.push_back(kHex[byte & 0x0FU]);
    }
    return out;
}

std::string token_digest(std::string_view token) { return orders::sha256(token); }

}  // namespace emporium::carts
