#pragma once
// The PDF receipt of an order (A4, built-in Helvetica, rendered in memory with libharu), and the
// money / order-number formatting shared with the confirmation e-mail.

#include "core/error.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::notify {

inline constexpr std::size_t kMaxReceiptLines = 10'000;
inline constexpr std::int32_t kMaxTaxRateBps = 100'000;  // 1000 %

struct ReceiptLine {
    std::string name;  // UTF-8, any length
    std::int32_t quantity = 0;
    std::int64_t unit_price_cents = 0;
    std::int64_t line_total_cents = 0;
};

struct ReceiptData {
    std::string shop_name;
    std::int64_t order_id = 0;
    std::string order_number;  // e.g. "EMP-000123"; empty: order_number(order_id)
    std::chrono::system_clock::time_point date;
    std::string customer_email;
    std::string currency = "USD";
    std::vector<ReceiptLine> lines;
    std::int64_t total_cents = 0;
    // The order's parts (orders since the money migration; 0 for older ones).
    std::int64_t discount_cents = 0;
    std::int64_t shipping_cents = 0;
    std::int64_t tax_cents = 0;  // added to the total, or contained in it when prices include tax
    bool has_shipping = false;   // a shipping option was chosen (shown even when free)
    std::optional<std::string> tax_label;  // e.g. "VAT"
    // Tax included in the prices: tax = total * rate / (10000 + rate), rounded half-up.
    std::int32_t tax_rate_bps = 0;
};

// The receipt as PDF bytes (starting with "%PDF-"): shop name, "Receipt", order number, date
// (YYYY-MM-DD HH:MM UTC), customer e-mail, a table of the lines (name, quantity, unit price, line
// total) flowing over as many pages as needed, subtotal (sum of the lines), total and, when
// tax_label is set and the rate is positive, "incl. <label> <rate>%: <amount>". Text outside
// Windows-1252 is transliterated or replaced by '?'; names too wide for their column end in "…".
// Errors: kValidation (more than kMaxReceiptLines lines, tax rate outside [0, kMaxTaxRateBps],
// line totals overflowing), kInternal (libharu failed; the message carries its error code).
// Blocking CPU work: run it on the CPU pool.
core::Result<std::string> render_receipt_pdf(const ReceiptData& receipt);

// "12.34 USD", "-0.05 EUR", "1234567.00 USD": two decimals (minor units are cents), no grouping;
// just the number when `currency` is empty.
std::string format_money(std::int64_t cents, std::string_view currency);

// "EMP-000123": the id zero-padded to at least six digits.
std::string order_number(std::int64_t order_id);

// Tax contained in a tax-inclusive amount: total * rate / (10000 + rate), rounded half away from
// zero; 0 when rate_bps <= 0.
std::int64_t included_tax_cents(std::int64_t total_cents, std::int32_t rate_bps);

// "19%", "7.5%", "8.25%".
std::string format_rate_bps(std::int32_t rate_bps);

// "incl. VAT 19%: 3.19 USD", or nothing when there is no tax label or the rate is not positive.
// An order that recorded its own tax shows that instead: "incl. VAT: 3.19 USD" when the prices
// contained it (nothing when it was added: it has a row of its own).
std::optional<std::string> tax_summary(const ReceiptData& receipt);

// The rows between the lines and the total: "Subtotal", then "Discount" (negative), "Shipping"
// and "Tax" (added tax only) when the order has them, in that order.
struct TotalRow {
    std::string label;
    std::int64_t cents = 0;
};
std::vector<TotalRow> total_rows(const ReceiptData& receipt, std::int64_t subtotal_cents);
// Whether the order's tax is contained in its amounts (total = subtotal − discount + shipping).
bool tax_included(const ReceiptData& receipt, std::int64_t subtotal_cents);

// "2024-03-05 14:03 UTC".
std::string format_receipt_date(std::chrono::system_clock::time_point time);

// UTF-8 to Windows-1252 (the WinAnsiEncoding of the built-in PDF fonts): Latin-1 and the
// Windows-1252 punctuation map directly, accented Latin Extended-A letters lose their accent
// ("Ł" → "L"), control characters become spaces, anything else becomes '?'.
std::string to_win_ansi(std::string_view utf8);

}  // namespace emporium::notify
