#pragma once
// The order confirmation e-mail (plain text and HTML), built from the same data as the receipt.

#include "notify/mime.hpp"
#include "notify/receipt_pdf.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace emporium::notify {

// The confirmation of `order`, from `from` to order.customer_email. Subject "Your order <number>
// at <shop> is confirmed"; both bodies list every line (quantity, name, unit price, amount), the
// total and the tax summary. Every interpolated value is HTML-escaped in the HTML part. When
// `base_url_or_empty` is an http(s) URL (the public base of the API, e.g.
// "https://shop.example.com"), both bodies link to <base>/api/v1/orders/<id>/receipt.
// Deterministic: the Message-ID is confirmation_message_id(order.order_id, from) and the Date is the
// order's date, so a redelivered job renders the same message and the duplicate is recognisable.
EmailMessage order_confirmation_email(const ReceiptData& order,
                                      std::string_view from,
                                      std::string_view base_url_or_empty);

// "<order-<id>-confirmation@<domain of from>>".
std::string confirmation_message_id(std::int64_t order_id, std::string_view from);

// `text` with &, <, >, " and ' replaced by entities (safe in element content and quoted attributes).
std::string html_escape(std::string_view text);

}  // namespace emporium::notify
