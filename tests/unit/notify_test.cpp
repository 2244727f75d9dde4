// Notifications without a network: the MIME message parsed back (CRLF, headers, boundaries,
// encoded-words, header injection, quoted-printable), the confirmation e-mail (HTML escaping,
// deterministic Message-ID), money and tax arithmetic, the PDF receipt read back with poppler's
// pdftotext/pdfinfo, and the spool mailer.
#include "notify/mailer.hpp"
#include "notify/mime.hpp"
#include "notify/order_email.hpp"
#include "notify/receipt_pdf.hpp"
#include "notify/text.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace emporium::notify {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 2024-03-05 14:03:09 UTC, a Tuesday.
constexpr std::chrono::system_clock::time_point kDate =
    std::chrono::sys_days{std::chrono::year{2024} / std::chrono::March / 5} + 14h + 3min + 9s;

// ---- parsing helpers ----------------------------------------------------------------------------

struct Entity {
    std::vector<std::pair<std::string, std::string>> headers;  // unfolded, in order
    std::string body;

    std::string header(std::string_view name) const {
        for (const auto& [key, value] : headers) {
            if (key == name) return value;
        }
        return {};
    }
    int count(std::string_view name) const {
        int n = 0;
        for (const auto& header : headers) n += header.first == name ? 1 : 0;
        return n;
    }
};

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto end = text.find("\r\n", start);
        if (end == std::string::npos) {
            lines.push_back(text.substr(start));
            break;
        }
        lines.push_back(text.substr(start, end - start));
        start = end + 2;
    }
    return lines;
}

Entity parse_entity(const std::string& wire) {
    Entity entity;
    const auto split = wire.find("\r\n\r\n");
    EXPECT_NE(split, std::string::npos) << "no blank line after the headers";
    const std::string head = wire.substr(0, split);
    entity.body = split == std::string::npos ? std::string() : wire.substr(split + 4);
    for (const auto& line : split_lines(head)) {
        if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
            EXPECT_FALSE(entity.headers.empty()) << "continuation line before any header";
            if (!entity.headers.empty()) entity.headers.back().second += line;  // unfold: drop the CRLF only
            continue;
        }
        const auto colon = line.find(':');
        EXPECT_NE(colon, std::string::npos) << "not a header line: " << line;
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        entity.headers.emplace_back(line.substr(0, colon), value);
    }
    return entity;
}

std::string boundary_of(const std::string& content_type) {
    const std::string key = "boundary=\"";
    const auto start = content_type.find(key);
    if (start == std::string::npos) return {};
    const auto end = content_type.find('"', start + key.size());
    return content_type.substr(start + key.size(), end - start - key.size());
}

// The body parts of a multipart body (RFC 2046 §5.1.1); fails the test when the closing
// delimiter is missing.
std::vector<Entity> split_multipart(const std::string& body, const std::string& boundary) {
    const std::string delimiter = "\r\n--" + boundary;
    const std::string text = "\r\n" + body;
    std::vector<Entity> parts;
    auto pos = text.find(delimiter);
    bool closed = false;
    while (pos != std::string::npos) {
        const auto after = pos + delimiter.size();
        if (text.compare(after, 2, "--") == 0) {
            closed = true;
            break;
        }
        EXPECT_EQ(text.compare(after, 2, "\r\n"), 0) << "delimiter not followed by CRLF";
        const auto next = text.find(delimiter, after);
        parts.push_back(parse_entity(
            text.substr(after + 2, next == std::string::npos ? std::string::npos : next - after - 2)));
        pos = next;
    }
    EXPECT_TRUE(closed) << "no close delimiter";
    return parts;
}

std::string base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        int value = -1;
        if (c >= 'A' && c <= 'Z') value = c - 'A';
        if (c >= 'a' && c <= 'z') value = c - 'a' + 26;
        if (c >= '0' && c <= '9') value = c - '0' + 52;
        if (c == '+') value = 62;
        if (c == '/') value = 63;
        if (value < 0) continue;
        buffer = (buffer << 6U) | static_cast<std::uint32_t>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
        }
    }
    return out;
}

// Decodes a header value made only of =?UTF-8?B?…?= words separated by whitespace; returns the
// decoded text of each word.
std::vector<std::string> decode_encoded_words(const std::string& value) {
    std::vector<std::string> words;
    std::size_t pos = 0;
    while (pos < value.size()) {
        if (value[pos] == ' ') {
            ++pos;
            continue;
        }
        EXPECT_EQ(value.compare(pos, 10, "=?UTF-8?B?"), 0) << "not an encoded-word at " << value.substr(pos);
        const auto end = value.find("?=", pos + 10);
        EXPECT_NE(end, std::string::npos);
        if (value.compare(pos, 10, "=?UTF-8?B?") != 0 || end == std::string::npos) break;
        EXPECT_LE(end + 2 - pos, 75U) << "encoded-word longer than 75 characters";
        words.push_back(base64_decode(value.substr(pos + 10, end - pos - 10)));
        pos = end + 2;
    }
    return words;
}

std::string crlf(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
        if (text[i] == '\n' || text[i] == '\r') {
            out += "\r\n";
        } else {
            out.push_back(text[i]);
        }
    }
    return out;
}

void expect_crlf_only(const std::string& wire) {
    for (std::size_t i = 0; i < wire.size(); ++i) {
        if (wire[i] == '\n') {
            ASSERT_TRUE(i > 0 && wire[i - 1] == '\r') << "bare LF at " << i;
        }
        if (wire[i] == '\r') {
            ASSERT_TRUE(i + 1 < wire.size() && wire[i + 1] == '\n') << "bare CR at " << i;
        }
    }
}

EmailMessage sample_message() {
    EmailMessage message;
    message.from = "shop@emporium.example";
    message.to = "alice@example.com";
    message.subject = "Your order EMP-000123 is confirmed";
    message.text = "Hello Alice,\n\nthanks for your order.\n";
    message.html = "<p>Hello Alice,</p>\n<p>thanks for your order.</p>\n";
    message.message_id = "<order-123-confirmation@emporium.example>";
    message.date = kDate;
    return message;
}

// ---- MIME -----------------------------------------------------------------------------------------

TEST(NotifyMime, RendersMultipartAlternativeWithCrlfAndAllHeaders) {
    const EmailMessage message = sample_message();
    const std::string wire = render_mime(message);
    expect_crlf_only(wire);
    EXPECT_EQ(render_mime(message), wire) << "rendering is deterministic";

    const Entity root = parse_entity(wire);
    EXPECT_EQ(root.header("Date"), "Tue, 05 Mar 2024 14:03:09 +0000");
    EXPECT_EQ(root.header("From"), "shop@emporium.example");
    EXPECT_EQ(root.header("To"), "alice@example.com");
    EXPECT_EQ(root.header("Subject"), "Your order EMP-000123 is confirmed");
    EXPECT_EQ(root.header("Message-ID"), "<order-123-confirmation@emporium.example>");
    EXPECT_EQ(root.header("MIME-Version"), "1.0");
    for (const char* name : {"Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"}) {
        EXPECT_EQ(root.count(name), 1) << name;
    }
    const std::string content_type = root.header("Content-Type");
    EXPECT_EQ(content_type.rfind("multipart/alternative;", 0), 0U) << content_type;
    const std::string boundary = boundary_of(content_type);
    ASSERT_FALSE(boundary.empty());
    EXPECT_LE(boundary.size(), 70U);

    const auto parts = split_multipart(root.body, boundary);
    ASSERT_EQ(parts.size(), 2U);
    EXPECT_EQ(parts[0].header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(parts[1].header("Content-Type"), "text/html; charset=utf-8");
    for (const auto& part : parts) {
        EXPECT_EQ(part.header("Content-Transfer-Encoding"), "quoted-printable");
        EXPECT_EQ(part.body.find(boundary), std::string::npos);
    }
    EXPECT_EQ(quoted_printable_decode(parts[0].body), crlf(message.text));
    EXPECT_EQ(quoted_printable_decode(parts[1].body), crlf(message.html));
    for (const auto& line : split_lines(wire)) EXPECT_LE(line.size(), 78U) << line;
}

TEST(NotifyMime, BoundaryCannotOccurInTheParts) {
    EmailMessage message = sample_message();
    const std::string first_boundary = boundary_of(parse_entity(render_mime(message)).header("Content-Type"));
    ASSERT_EQ(first_boundary.rfind("=_", 0), 0U);
    // Put the previous boundary (and boundary-like text) into the bodies.
    message.text = "--" + first_boundary + "\n--" + first_boundary + "--\n=_emporium_0000000000000000\n";
    message.html = message.text;
    const std::string wire = render_mime(message);
    const Entity root = parse_entity(wire);
    const std::string boundary = boundary_of(root.header("Content-Type"));
    const auto parts = split_multipart(root.body, boundary);
    ASSERT_EQ(parts.size(), 2U);
    for (const auto& part : parts) {
        EXPECT_EQ(part.body.find(boundary), std::string::npos);
        EXPECT_EQ(part.body.find("=_"), std::string::npos);
        EXPECT_EQ(quoted_printable_decode(part.body), crlf(message.text));
    }
}

TEST(NotifyMime, NonAsciiSubjectBecomesEncodedWordsOfWholeCharacters) {
    EmailMessage message = sample_message();
    message.subject = "Grüße aus Köln – Bestellung bestätigt 🎉 ";
    for (int i = 0; i < 4; ++i) message.subject += "Ünïcödé ✓ 日本語のテキスト ";
    const std::string wire = render_mime(message);
    expect_crlf_only(wire);
    for (const auto& line : split_lines(wire)) EXPECT_LE(line.size(), 78U) << line;

    const auto words = decode_encoded_words(parse_entity(wire).header("Subject"));
    ASSERT_GT(words.size(), 3U);
    std::string decoded;
    for (const auto& word : words) {
        EXPECT_EQ(detail::to_valid_utf8(word), word) << "an encoded-word splits a character";
        decoded += word;
    }
    EXPECT_EQ(decoded, message.subject);
}

TEST(NotifyMime, SubjectWithEncodedWordLookalikeIsEncoded) {
    EmailMessage message = sample_message();
    message.subject = "=?UTF-8?B?SGk=?= plain";
    const auto words = decode_encoded_words(parse_entity(render_mime(message)).header("Subject"));
    std::string decoded;
    for (const auto& word : words) decoded += word;
    EXPECT_EQ(decoded, message.subject);
}

TEST(NotifyMime, LongAsciiSubjectIsFoldedAtSpaces) {
    EmailMessage message = sample_message();
    message.subject.clear();
    for (int i = 0; i < 30; ++i) message.subject += "word" + std::to_string(i) + " ";
    message.subject += "end";
    const std::string wire = render_mime(message);
    const auto head = wire.substr(0, wire.find("\r\n\r\n"));
    int subject_lines = 0;
    bool in_subject = false;
    for (const auto& line : split_lines(head)) {
        EXPECT_LE(line.size(), 78U);
        if (line.rfind("Subject:", 0) == 0) {
            in_subject = true;
        } else if (line[0] != ' ') {
            in_subject = false;
        }
        if (in_subject) ++subject_lines;
    }
    EXPECT_GT(subject_lines, 1);
    EXPECT_EQ(parse_entity(wire).header("Subject"), message.subject);
}

TEST(NotifyMime, HeaderInjectionIsStripped) {
    EmailMessage message = sample_message();
    message.subject = "Hello\r\nBcc: victim@example.com\r\n\r\nbody";
    message.to = "alice@example.com\r\nBcc: other@example.com";
    message.from = "shop@emporium.example\nX-Evil: 1";
    message.message_id = "<id@x>\r\nX-Evil: 2";
    const std::string wire = render_mime(message);
    expect_crlf_only(wire);
    const Entity root = parse_entity(wire);
    EXPECT_EQ(root.count("Bcc"), 0);
    EXPECT_EQ(root.count("X-Evil"), 0);
    EXPECT_EQ(root.header("Subject"),
              "HelloBcc: victim@example.com"
              "body");
    EXPECT_EQ(root.header("To"), "alice@example.comBcc: other@example.com");
    EXPECT_EQ(sanitize_header_value("a\tb\x01\x7F"
                                    "c\r\n"),
              "a bc");
    for (const auto& [name, value] : root.headers) {
        EXPECT_EQ(value.find('\r'), std::string::npos) << name;
        EXPECT_EQ(value.find('\n'), std::string::npos) << name;
    }
}

TEST(NotifyMime, QuotedPrintableRoundTripsLongLinesAndUtf8) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich = ";
    text += "\nshort line with trailing spaces   \n\ttabbed\t\n.leading dot\n..two dots\n";
    text += "=_ and =3D and = at end=\n";
    text += std::string("bytes \x01\x7F\xFF end") + "\r\nwindows line\rold mac line\n";
    text += std::string(200, 'x') + "\n" + std::string(75, 'y') + "." + "\n";
    text += "日本語のテキスト🎉";

    const std::string encoded = quoted_printable_encode(text);
    expect_crlf_only(encoded);
    EXPECT_EQ(encoded.find("=_"), std::string::npos);
    for (const auto& line : split_lines(encoded)) {
        EXPECT_LE(line.size(), 76U) << line;
        EXPECT_FALSE(!line.empty() && (line.back() == ' ' || line.back() == '\t'))
            << "trailing whitespace: " << line;
        EXPECT_FALSE(!line.empty() && line[0] == '.') << "line starts with a dot: " << line;
        for (const char c : line) {
            const auto u = static_cast<unsigned char>(c);
            EXPECT_TRUE((u >= 0x20 && u < 0x7F) || c == '\t') << "unencoded byte " << int{u};
        }
    }
    EXPECT_EQ(quoted_printable_decode(encoded), crlf(text));
    EXPECT_EQ(quoted_printable_encode(""), "");
    EXPECT_EQ(quoted_printable_encode("a=b"), "a=3Db");
    EXPECT_EQ(quoted_printable_encode("é"), "=C3=A9");
}

TEST(NotifyMime, QuotedPrintableSoftBreaksKeepUtf8CharactersWhole) {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "é日🎉";
    const std::string encoded = quoted_printable_encode(text);
    const auto lines = split_lines(encoded);
    ASSERT_GT(lines.size(), 5U);
    for (const auto& line : lines) {
        EXPECT_LE(line.size(), 76U);
        const std::string decoded =
            quoted_printable_decode(line.back() == '=' ? line.substr(0, line.size() - 1) : line);
        EXPECT_EQ(detail::to_valid_utf8(decoded), decoded) << line;
    }
    EXPECT_EQ(quoted_printable_decode(encoded), text);
}

TEST(NotifyMime, AddressValidation) {
    EXPECT_TRUE(is_valid_address("alice@example.com"));
    EXPECT_TRUE(is_valid_address("a.b+tag@sub.example.co.uk"));
    EXPECT_FALSE(is_valid_address(""));
    EXPECT_FALSE(is_valid_address("alice"));
    EXPECT_FALSE(is_valid_address("@example.com"));
    EXPECT_FALSE(is_valid_address("alice@"));
    EXPECT_FALSE(is_valid_address("a@b@c"));
    EXPECT_FALSE(is_valid_address("alice @example.com"));
    EXPECT_FALSE(is_valid_address("alice@example.com\r\nBcc: x@y"));
    EXPECT_FALSE(is_valid_address("alice@example.com\n"));
    EXPECT_FALSE(is_valid_address("<alice@example.com>"));
    EXPECT_FALSE(is_valid_address("Alice <alice@example.com>"));
    EXPECT_FALSE(is_valid_address("a,b@example.com"));
    EXPECT_FALSE(is_valid_address(std::string(250, 'a') + "@example.com"));
}

TEST(NotifyMime, MessageIdGetsBracketsOrIsDerived) {
    EmailMessage message = sample_message();
    message.message_id = "abc@x.example";
    EXPECT_EQ(parse_entity(render_mime(message)).header("Message-ID"), "<abc@x.example>");
    message.message_id.clear();
    const std::string derived = parse_entity(render_mime(message)).header("Message-ID");
    EXPECT_EQ(derived.front(), '<');
    EXPECT_NE(derived.find("@emporium.example>"), std::string::npos) << derived;
    EXPECT_EQ(parse_entity(render_mime(message)).header("Message-ID"), derived);
}

TEST(NotifyMime, DateIsRfc5322Utc) {
    EXPECT_EQ(format_rfc5322_date(kDate), "Tue, 05 Mar 2024 14:03:09 +0000");
    EXPECT_EQ(format_rfc5322_date(std::chrono::system_clock::time_point{}),
              "Thu, 01 Jan 1970 00:00:00 +0000");
    EXPECT_EQ(format_rfc5322_date(std::chrono::sys_days{std::chrono::year{2023} / 12 / 31} + 23h + 59min +
                                  59s + 999ms),
              "Sun, 31 Dec 2023 23:59:59 +0000");
}

// ---- confirmation e-mail ------------------------------------------------------------------------

ReceiptData sample_receipt() {
    ReceiptData receipt;
    receipt.shop_name = "Emporium Test Shop";
    receipt.order_id = 123;
    receipt.order_number = order_number(123);
    receipt.date = kDate;
    receipt.customer_email = "alice@example.com";
    receipt.currency = "USD";
    receipt.lines = {
        {"Espresso Beans 1kg", 2, 1999, 3998},
        {"Café Crème Filter", 1, 1952, 1952},
    };
    receipt.total_cents = 5950;
    receipt.tax_label = "VAT";
    receipt.tax_rate_bps = 1900;
    return receipt;
}

TEST(NotifyOrderEmail, SubjectBodiesAndDeterministicMessageId) {
    const ReceiptData order = sample_receipt();
    const EmailMessage message =
        order_confirmation_email(order, "shop@emporium.example", "https://shop.example/");
    EXPECT_EQ(message.subject, "Your order EMP-000123 at Emporium Test Shop is confirmed");
    EXPECT_EQ(message.from, "shop@emporium.example");
    EXPECT_EQ(message.to, "alice@example.com");
    EXPECT_EQ(message.message_id, "<order-123-confirmation@emporium.example>");
    EXPECT_EQ(message.date, kDate);
    for (const std::string* body : {&message.text, &message.html}) {
        EXPECT_NE(body->find("Espresso Beans 1kg"), std::string::npos);
        EXPECT_NE(body->find("Café Crème Filter"), std::string::npos);
        EXPECT_NE(body->find("39.98 USD"), std::string::npos);
        EXPECT_NE(body->find("59.50 USD"), std::string::npos);
        EXPECT_NE(body->find("incl. VAT 19%: 9.50 USD"), std::string::npos);
        EXPECT_NE(body->find("https://shop.example/api/v1/orders/123/receipt"), std::string::npos);
    }
    EXPECT_NE(message.text.find("2 x Espresso Beans 1kg @ 19.99 USD = 39.98 USD"), std::string::npos);
    // The same order renders the same message (a redelivered job is recognisable).
    EXPECT_EQ(render_mime(order_confirmation_email(order, "shop@emporium.example", "https://shop.example/")),
              render_mime(message));

    const EmailMessage without_link = order_confirmation_email(order, "shop@emporium.example", "");
    EXPECT_EQ(without_link.text.find("/receipt"), std::string::npos);
    EXPECT_EQ(without_link.html.find("href"), std::string::npos);
    const EmailMessage bad_scheme =
        order_confirmation_email(order, "shop@emporium.example", "javascript:alert(1)");
    EXPECT_EQ(bad_scheme.html.find("javascript"), std::string::npos);
}

// An order with its money parts: 5950 − 595 discount + 490 shipping + 1461 added tax = 7306.
ReceiptData priced_receipt() {
    ReceiptData receipt = sample_receipt();
    receipt.discount_cents = 595;
    receipt.shipping_cents = 490;
    receipt.tax_cents = 1461;
    receipt.has_shipping = true;
    receipt.total_cents = 5950 - 595 + 490 + 1461;
    receipt.tax_label = "VAT";
    return receipt;
}

TEST(NotifyOrderEmail, TheOrdersDiscountShippingAndTaxAreShown) {
    const EmailMessage message = order_confirmation_email(priced_receipt(), "shop@emporium.example", "");
    for (const std::string* body : {&message.text, &message.html}) {
        for (const char* expected : {"Subtotal", "59.50 USD", "Discount", "-5.95 USD", "Shipping", "4.90 USD", "VAT",
                                     "14.61 USD", "73.06 USD"}) {
            EXPECT_NE(body->find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << *body;
        }
        EXPECT_EQ(body->find("incl."), std::string::npos) << "added tax is a row, not an inclusion note";
    }
    EXPECT_NE(message.text.find("Discount: -5.95 USD\nShipping: 4.90 USD\nVAT: 14.61 USD\nTotal: 73.06 USD"),
              std::string::npos)
        << message.text;
    // Prices that contained the tax: no tax row, the contained amount noted.
    ReceiptData included = priced_receipt();
    included.total_cents = 5950 - 595 + 490;
    const EmailMessage inclusive = order_confirmation_email(included, "shop@emporium.example", "");
    EXPECT_NE(inclusive.text.find("incl. VAT: 14.61 USD"), std::string::npos) << inclusive.text;
    EXPECT_EQ(inclusive.text.find("VAT: 14.61 USD\nTotal"), std::string::npos) << inclusive.text;
}

TEST(NotifyOrderEmail, EveryInterpolatedValueIsHtmlEscaped) {
    ReceiptData order = sample_receipt();
    order.shop_name = "Bob's <Tools> & \"Co\"";
    order.lines[0].name = "<script>alert('x')</script>";
    order.tax_label = "<b>VAT</b>";
    order.currency = "<i>";
    order.order_number = "EMP-<1>";
    const EmailMessage message =
        order_confirmation_email(order, "shop@emporium.example", "https://shop.example/?a=1&b=\"2\"");
    EXPECT_EQ(message.html.find("<script>"), std::string::npos);
    EXPECT_EQ(message.html.find("<Tools>"), std::string::npos);
    EXPECT_EQ(message.html.find("<b>VAT"), std::string::npos);
    EXPECT_EQ(message.html.find("<i>"), std::string::npos);
    EXPECT_EQ(message.html.find("<1>"), std::string::npos);
    EXPECT_EQ(message.html.find("b=\"2\""), std::string::npos);
    EXPECT_NE(message.html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(message.html.find("Bob&#39;s &lt;Tools&gt; &amp; &quot;Co&quot;"), std::string::npos);
    EXPECT_NE(message.html.find("a=1&amp;b=&quot;2&quot;"), std::string::npos);
    // The plain-text part and the subject carry the raw text.
    EXPECT_NE(message.text.find("<script>alert('x')</script>"), std::string::npos);
    EXPECT_EQ(message.subject, "Your order EMP-<1> at Bob's <Tools> & \"Co\" is confirmed");
    EXPECT_EQ(html_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

TEST(NotifyOrderEmail, MessageIdDomainComesFromTheSender) {
    EXPECT_EQ(confirmation_message_id(7, "orders@shop.example.com"),
              "<order-7-confirmation@shop.example.com>");
    EXPECT_EQ(confirmation_message_id(7, "no-at-sign"), "<order-7-confirmation@localhost>");
    EXPECT_EQ(confirmation_message_id(7, "a@ev>il\r\n.com"), "<order-7-confirmation@evil.com>");
}

// ---- money, tax, transliteration ----------------------------------------------------------------

TEST(NotifyMoney, FormatsCentsWithCurrency) {
    EXPECT_EQ(format_money(1234, "USD"), "12.34 USD");
    EXPECT_EQ(format_money(0, "USD"), "0.00 USD");
    EXPECT_EQ(format_money(5, "EUR"), "0.05 EUR");
    EXPECT_EQ(format_money(-5, "EUR"), "-0.05 EUR");
    EXPECT_EQ(format_money(-1234, "USD"), "-12.34 USD");
    EXPECT_EQ(format_money(123456789, ""), "1234567.89");
    EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::min(), "USD"), "-92233720368547758.08 USD");
    EXPECT_EQ(format_money(std::numeric_limits<std::int64_t>::max(), "USD"), "92233720368547758.07 USD");
    EXPECT_EQ(order_number(123), "EMP-000123");
    EXPECT_EQ(order_number(1), "EMP-000001");
    EXPECT_EQ(order_number(12345678), "EMP-12345678");
}

TEST(NotifyMoney, IncludedTaxRoundsHalfUp) {
    EXPECT_EQ(included_tax_cents(11900, 1900), 1900);
    EXPECT_EQ(included_tax_cents(5950, 1900), 950);
    EXPECT_EQ(included_tax_cents(1000, 1900), 160);  // 159.66
    EXPECT_EQ(included_tax_cents(1, 10000), 1);      // 0.5 rounds up
    EXPECT_EQ(included_tax_cents(3, 10000), 2);      // 1.5 rounds up
    EXPECT_EQ(included_tax_cents(-3, 10000), -2);
    EXPECT_EQ(included_tax_cents(1000, 0), 0);
    EXPECT_EQ(included_tax_cents(1000, -5), 0);
    EXPECT_EQ(included_tax_cents(std::numeric_limits<std::int64_t>::max(), kMaxTaxRateBps),
              INT64_C(8384883669867978006));  // (2^63 - 1) * 10 / 11, without overflow
    EXPECT_EQ(format_rate_bps(1900), "19%");
    EXPECT_EQ(format_rate_bps(750), "7.5%");
    EXPECT_EQ(format_rate_bps(825), "8.25%");
    EXPECT_EQ(format_rate_bps(5), "0.05%");
    ReceiptData receipt = sample_receipt();
    EXPECT_EQ(tax_summary(receipt), "incl. VAT 19%: 9.50 USD");
    receipt.tax_rate_bps = 0;
    EXPECT_FALSE(tax_summary(receipt));
    receipt.tax_rate_bps = 1900;
    receipt.tax_label.reset();
    EXPECT_FALSE(tax_summary(receipt));
}

TEST(NotifyText, TransliteratesToWindows1252) {
    EXPECT_EQ(to_win_ansi("Plain ASCII 123"), "Plain ASCII 123");
    EXPECT_EQ(to_win_ansi("Café Crème"), "Caf\xE9 Cr\xE8me");
    EXPECT_EQ(to_win_ansi("Łódź Şişli Ţară"),
              "L\xF3"
              "dz Sisli Tara");
    EXPECT_EQ(to_win_ansi("€5 – “ok”…"),
              "\x80"
              "5 \x96 \x93ok\x94\x85");
    EXPECT_EQ(to_win_ansi("日本🎉"), "???");
    EXPECT_EQ(to_win_ansi("bad\xFF\xC3"), "bad??");
    EXPECT_EQ(to_win_ansi("tab\tnew\nline"), "tab new line");
}

// ---- PDF receipt --------------------------------------------------------------------------------

class TempDir {
public:
    TempDir() : path_(fs::temp_directory_path() / ("emporium-notify-test-" + test::unique_suffix())) {
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

bool has_program(const std::string& name) {
    // NOLINTNEXTLINE(concurrency-mt-unsafe): called from the test thread only
    return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command and returns its standard output; throws when it fails.
std::string run(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
    std::string output;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
    if (::pclose(pipe) != 0) throw std::runtime_error("command failed: " + command);
    return output;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    ASSERT_TRUE(out.good());
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

int pdf_pages(const fs::path& pdf) {
    const std::string info = run("pdfinfo '" + pdf.string() + "'");
    const auto pos = info.find("Pages:");
    if (pos == std::string::npos) return -1;
    return std::stoi(info.substr(pos + 6));
}

TEST(NotifyReceiptPdf, ContainsTheOrderAndTheTaxLine) {
    ReceiptData receipt = sample_receipt();
    const std::string long_name =
        "Extraordinarily long product name that keeps going and going " + std::string(100, 'z') + " TAILMARK";
    receipt.lines.push_back({long_name, 1, 0, 0});
    receipt.lines.push_back({"日本茶 Sencha", 1, 0, 0});
    const auto pdf = render_receipt_pdf(receipt);
    ASSERT_TRUE(pdf) << pdf.error().message;
    ASSERT_EQ(pdf->rfind("%PDF-", 0), 0U);
    if (!has_program("pdftotext")) GTEST_SKIP() << "pdftotext (poppler-utils) not installed";

    const TempDir dir;
    const fs::path file = dir.path() / "receipt.pdf";
    write_file(file, *pdf);
    const std::string text = run("pdftotext '" + file.string() + "' -");
    for (const char* expected : {"Emporium Test Shop",
                                 "Receipt",
                                 "EMP-000123",
                                 "2024-03-05 14:03 UTC",
                                 "alice@example.com",
                                 "Espresso Beans 1kg",
                                 "Café Crème Filter",
                                 "19.99 USD",
                                 "39.98 USD",
                                 "59.50 USD",
                                 "incl. VAT 19%: 9.50 USD",
                                 "??? Sencha",
                                 "Subtotal",
                                 "Total",
                                 "Page 1 of 1"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << text;
    }
    EXPECT_NE(text.find("Extraordinarily long product name"), std::string::npos);
    EXPECT_EQ(text.find("TAILMARK"), std::string::npos) << "long names are truncated";
    EXPECT_NE(text.find("…"), std::string::npos) << "truncation ends in an ellipsis";
    EXPECT_EQ(pdf_pages(file), 1);
}

TEST(NotifyReceiptPdf, ShowsTheOrdersDiscountShippingAndTax) {
    const auto pdf = render_receipt_pdf(priced_receipt());
    ASSERT_TRUE(pdf) << pdf.error().message;
    if (!has_program("pdftotext")) GTEST_SKIP() << "pdftotext (poppler-utils) not installed";
    const TempDir dir;
    write_file(dir.path() / "priced.pdf", *pdf);
    const std::string text = run("pdftotext '" + (dir.path() / "priced.pdf").string() + "' -");
    for (const char* expected : {"Subtotal", "Discount", "-5.95 USD", "Shipping", "4.90 USD", "VAT", "14.61 USD", "73.06 USD"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing '" << expected << "' in:\n" << text;
    }
}

TEST(NotifyReceiptPdf, NoTaxLineWithoutLabelOrRate) {
    if (!has_program("pdftotext")) GTEST_SKIP() << "pdftotext (poppler-utils) not installed";
    const TempDir dir;
    ReceiptData receipt = sample_receipt();
    receipt.tax_label.reset();
    auto pdf = render_receipt_pdf(receipt);
    ASSERT_TRUE(pdf) << pdf.error().message;
    write_file(dir.path() / "a.pdf", *pdf);
    EXPECT_EQ(run("pdftotext '" + (dir.path() / "a.pdf").string() + "' -").find("incl."), std::string::npos);

    receipt = sample_receipt();
    receipt.tax_rate_bps = 0;
    pdf = render_receipt_pdf(receipt);
    ASSERT_TRUE(pdf) << pdf.error().message;
    write_file(dir.path() / "b.pdf", *pdf);
    EXPECT_EQ(run("pdftotext '" + (dir.path() / "b.pdf").string() + "' -").find("incl."), std::string::npos);
}

TEST(NotifyReceiptPdf, ManyLinesFlowOntoFurtherPages) {
    ReceiptData receipt = sample_receipt();
    receipt.lines.clear();
    std::int64_t total = 0;
    for (int i = 1; i <= 120; ++i) {
        receipt.lines.push_back({"Line item " + std::to_string(i), 1, 100 + i, 100 + i});
        total += 100 + i;
    }
    receipt.total_cents = total;
    const auto pdf = render_receipt_pdf(receipt);
    ASSERT_TRUE(pdf) << pdf.error().message;
    ASSERT_EQ(pdf->rfind("%PDF-", 0), 0U);
    if (!has_program("pdftotext") || !has_program("pdfinfo")) GTEST_SKIP() << "poppler-utils not installed";

    const TempDir dir;
    const fs::path file = dir.path() / "long.pdf";
    write_file(file, *pdf);
    const int pages = pdf_pages(file);
    EXPECT_GE(pages, 2);
    const std::string text = run("pdftotext '" + file.string() + "' -");
    for (const auto& expected : {std::string("Line item 1\n"),
                                 std::string("Line item 60"),
                                 std::string("Line item 120"),
                                 format_money(total, "USD"),
                                 std::string("(continued)"),
                                 "Page " + std::to_string(pages) + " of " + std::to_string(pages)}) {
        EXPECT_NE(text.find(expected), std::string::npos) << "missing '" << expected << "'";
    }
}

TEST(NotifyReceiptPdf, RejectsInvalidInput) {
    ReceiptData receipt = sample_receipt();
    receipt.tax_rate_bps = -1;
    auto pdf = render_receipt_pdf(receipt);
    ASSERT_FALSE(pdf);
    EXPECT_EQ(pdf.error().code, core::Errc::kValidation);

    receipt = sample_receipt();
    receipt.lines.resize(kMaxReceiptLines + 1);
    pdf = render_receipt_pdf(receipt);
    ASSERT_FALSE(pdf);
    EXPECT_EQ(pdf.error().code, core::Errc::kValidation);

    receipt = sample_receipt();
    receipt.lines = {{"a", 1, 1, std::numeric_limits<std::int64_t>::max()}, {"b", 1, 1, 1}};
    pdf = render_receipt_pdf(receipt);
    ASSERT_FALSE(pdf);
    EXPECT_EQ(pdf.error().code, core::Errc::kValidation);

    receipt = sample_receipt();
    receipt.lines.clear();
    receipt.shop_name.clear();
    pdf = render_receipt_pdf(receipt);
    ASSERT_TRUE(pdf) << "an empty receipt still renders";
}

// ---- mailers --------------------------------------------------------------------------------------

std::vector<std::string> directory_entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST(NotifySpoolMailer, WritesOneFilePerStemAtomically) {
    const TempDir dir;
    MailSettings settings;
    settings.spool_dir = (dir.path() / "nested" / "mail").string();
    const auto mailer = make_mailer(settings);
    EXPECT_EQ(mailer->describe(), "spool " + settings.spool_dir);

    EmailMessage message = sample_message();
    ASSERT_TRUE(mailer->send(message, "order-123-confirmation"));
    message.subject = "second rendering";
    ASSERT_TRUE(mailer->send(message, "order-123-confirmation"));
    EXPECT_EQ(directory_entries(settings.spool_dir), std::vector<std::string>{"order-123-confirmation.eml"});
    EXPECT_EQ(read_file(fs::path(settings.spool_dir) / "order-123-confirmation.eml"), render_mime(message));

    ASSERT_TRUE(mailer->send(message, "order-124_confirmation.v2"));
    EXPECT_EQ(directory_entries(settings.spool_dir),
              (std::vector<std::string>{"order-123-confirmation.eml", "order-124_confirmation.v2.eml"}));
}

TEST(NotifySpoolMailer, RejectsUnsafeStemsAndBadAddresses) {
    const TempDir dir;
    MailSettings settings;
    settings.spool_dir = (dir.path() / "mail").string();
    const auto mailer = make_mailer(settings);
    for (const std::string& stem : std::vector<std::string>{"../x",
                                                            "a/b",
                                                            "/etc/passwd",
                                                            "",
                                                            ".",
                                                            "..",
                                                            ".hidden",
                                                            "x y",
                                                            "x\ny",
                                                            "é",
                                                            std::string(201, 'a')}) {
        const auto result = mailer->send(sample_message(), stem);
        ASSERT_FALSE(result) << stem;
        EXPECT_EQ(result.error().code, core::Errc::kValidation) << stem;
        EXPECT_FALSE(is_transient(result.error()));
    }
    EXPECT_FALSE(fs::exists(dir.path() / "x.eml"));
    EXPECT_FALSE(fs::exists(settings.spool_dir)) << "nothing was written";

    EmailMessage message = sample_message();
    message.to = "alice@example.com\r\nBcc: x@y.z";
    auto result = mailer->send(message, "bad-to");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kValidation);
    message = sample_message();
    message.from = "not an address";
    result = mailer->send(message, "bad-from");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kValidation);
}

TEST(NotifySpoolMailer, UnwritableSpoolIsTransient) {
    const TempDir dir;
    write_file(dir.path() / "file", "not a directory");
    MailSettings settings;
    settings.spool_dir = (dir.path() / "file" / "mail").string();
    const auto result = make_mailer(settings)->send(sample_message(), "stem");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kUnavailable);
    EXPECT_TRUE(is_transient(result.error()));
}

TEST(NotifyMailer, SettingsAreCheckedAndCredentialsNeverDescribed) {
    MailSettings settings;
    settings.smtp_url = "http://mail.example.com";
    EXPECT_THROW(make_mailer(settings), std::invalid_argument);
    settings.smtp_url = "smtp://user:s3cret@mail.example.com:587";
    settings.timeout = 0ms;
    EXPECT_THROW(make_mailer(settings), std::invalid_argument);
    settings.timeout = 5s;
    settings.username = "user";
    settings.password = "hunter2";
    settings.starttls = MailSettings::Tls::kRequired;
    const auto mailer = make_mailer(settings);
    const std::string description = mailer->describe();
    EXPECT_EQ(description, "smtp smtp://mail.example.com:587 starttls=required auth=yes");
    settings.smtp_url.clear();
    settings.spool_dir.clear();
    EXPECT_THROW(make_mailer(settings), std::invalid_argument);

    // The SMTP mailer validates the envelope before connecting anywhere.
    EmailMessage message = sample_message();
    message.to = "bad";
    const auto result = mailer->send(message, "stem");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, core::Errc::kValidation);
    EXPECT_FALSE(mailer->send(sample_message(), "../escape"));
}

}  // namespace
}  // namespace emporium::notify
