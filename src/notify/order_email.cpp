#include "notify/order_email.hpp"

#include "notify/text.hpp"

namespace emporium::notify {
namespace {

// `text` on one line: control characters (CR, LF, tab…) become spaces.
std::string one_line(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7F ? ' ' : c);
    }
    return out;
}

bool is_http_url(std::string_view url) {
    return url.starts_with("https://") || url.starts_with("http://");
}

std::string receipt_url(std::string_view base_url, std::int64_t order_id) {
    while (base_url.ends_with('/')) base_url.remove_suffix(1);
    return one_line(base_url) + "/api/v1/orders/" + std::to_string(order_id) + "/receipt";
}

std::int64_t subtotal_of(const ReceiptData& order) {
    std::int64_t subtotal = 0;
    for (const auto& line : order.lines) subtotal += line.line_total_cents;
    return subtotal;
}

std::string text_body(const ReceiptData& order,
                      const std::string& number,
                      const std::string& shop,
                      const std::optional<std::string>& link) {
    std::string out;
    out += "Hello,\n\n";
    out += "thank you for your order at " + shop + ". Your order " + number + " is confirmed.\n\n";
    out += "Order: " + number + "\n";
    out += "Date: " + format_receipt_date(order.date) + "\n\n";
    for (const auto& line : order.lines) {
        out += "  " + std::to_string(line.quantity) + " x " + one_line(line.name) + " @ " +
               format_money(line.unit_price_cents, order.currency) + " = " +
               format_money(line.line_total_cents, order.currency) + "\n";
    }
    out += "\n";
    for (const auto& row : total_rows(order, subtotal_of(order))) {
        out += one_line(row.label) + ": " + format_money(row.cents, order.currency) + "\n";
    }
    out += "Total: " + format_money(order.total_cents, order.currency) + "\n";
    if (auto tax = tax_summary(order)) out += one_line(*tax) + "\n";
    if (link) out += "\nYour receipt (PDF): " + *link + "\n";
    out += "\n" + shop + "\n";
    return out;
}

std::string html_body(const ReceiptData& order,
                      const std::string& number,
                      const std::string& shop,
                      const std::optional<std::string>& link) {
    const std::string e_shop = html_escape(shop);
    const std::string e_number = html_escape(number);
    std::string out;
    out += "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<title>Order " + e_number + " confirmed</title>\n</head>\n";
    out += "<body style=\"font-family: Helvetica, Arial, sans-serif; color: #222;\">\n";
    out += "<h1 style=\"font-size: 20px;\">" + e_shop + "</h1>\n";
    out += "<p>Thank you for your order. Your order <strong>" + e_number + "</strong> is confirmed.</p>\n";
    out += "<p>Date: " + html_escape(format_receipt_date(order.date)) + "</p>\n";
    out += "<table style=\"border-collapse: collapse;\" cellpadding=\"4\">\n";
    out +=
        "<thead><tr><th align=\"left\">Item</th><th align=\"right\">Qty</th>"
        "<th align=\"right\">Unit price</th><th align=\"right\">Amount</th></tr></thead>\n<tbody>\n";
    for (const auto& line : order.lines) {
        out += "<tr><td>" + html_escape(one_line(line.name)) + "</td><td align=\"right\">" +
               std::to_string(line.quantity) + "</td><td align=\"right\">" +
               html_escape(format_money(line.unit_price_cents, order.currency)) +
               "</td><td align=\"right\">" +
               html_escape(format_money(line.line_total_cents, order.currency)) + "</td></tr>\n";
    }
    out += "</tbody>\n<tfoot>\n";
    for (const auto& row : total_rows(order, subtotal_of(order))) {
        out += R"(<tr><td colspan="3" align="right">)" + html_escape(one_line(row.label)) + R"(</td><td align="right">)" +
               html_escape(format_money(row.cents, order.currency)) + "</td></tr>\n";
    }
    out += "<tr><th colspan=\"3\" align=\"right\">Total</th><th align=\"right\">" +
           html_escape(format_money(order.total_cents, order.currency)) + "</th></tr>\n";
    if (auto tax = tax_summary(order)) {
        out += R"(<tr><td colspan="4" align="right">)" + html_escape(one_line(*tax)) + "</td></tr>\n";
    }
    out += "</tfoot>\n</table>\n";
    if (link) {
        out += "<p><a href=\"" + html_escape(*link) + "\">Download your receipt (PDF)</a></p>\n";
    }
    out += "<p>" + e_shop + "</p>\n</body>\n</html>\n";
    return out;
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

std::string confirmation_message_id(std::int64_t order_id, std::string_view from) {
    return "<order-" + std::to_string(order_id) + "-confirmation@" + detail::message_id_domain(from) + ">";
}

EmailMessage order_confirmation_email(const ReceiptData& order,
                                      std::string_view from,
                                      std::string_view base_url_or_empty) {
    const std::string number =
        one_line(order.order_number.empty() ? order_number(order.order_id) : order.order_number);
    const std::string shop = one_line(order.shop_name);
    std::optional<std::string> link;
    if (is_http_url(base_url_or_empty)) link = receipt_url(base_url_or_empty, order.order_id);

    EmailMessage message;
    message.from = std::string(from);
    message.to = order.customer_email;
    message.subject = "Your order " + number + " at " + shop + " is confirmed";
    message.text = text_body(order, number, shop, link);
    message.html = html_body(order, number, shop, link);
    message.message_id = confirmation_message_id(order.order_id, from);
    message.date = order.date;
    return message;
}

}  // namespace emporium::notify
