#pragma once
// RFC 5322 / MIME rendering of the e-mails Emporium sends: a multipart/alternative message with a
// text/plain and a text/html part, both UTF-8 and quoted-printable, CRLF line endings throughout.

#include <chrono>
#include <string>
#include <string_view>

namespace emporium::notify {

struct EmailMessage {
    std::string from;        // bare address, e.g. shop@example.com
    std::string to;          // bare address
    std::string subject;     // UTF-8; encoded as RFC 2047 encoded-words when not plain ASCII
    std::string text;        // text/plain body, UTF-8, LF or CRLF line endings
    std::string html;        // text/html body, UTF-8
    std::string message_id;  // "<id@domain>" (brackets added when missing); empty: derived from the content
    std::chrono::system_clock::time_point date;
};

// Minimal syntax check of a bare address: exactly one '@' with a non-empty local part and domain,
// at most 254 bytes, no whitespace, control characters, '<', '>', ',' or quotes. It does not
// prove the mailbox exists.
bool is_valid_address(std::string_view address);

// The message as sent on the wire (and written to .eml files): headers Date (UTC), From, To,
// Subject, Message-ID, MIME-Version, Content-Type; then both parts. Header values are stripped of
// CR, LF and other control characters, so no value can start a new header. Addresses are not
// validated here (the mailers do that before rendering). Deterministic: the same message renders
// to the same bytes.
std::string render_mime(const EmailMessage& message);

// Building blocks, public for tests and for callers that need them on their own.

// `value` with CR, LF and every other C0 control character or DEL removed (tab becomes a space).
std::string sanitize_header_value(std::string_view value);

// "Tue, 05 Mar 2024 14:03:00 +0000" (RFC 5322 date-time, always UTC, seconds truncated).
std::string format_rfc5322_date(std::chrono::system_clock::time_point time);

// One complete unstructured header field ("Subject: …\r\n"), sanitised and folded so no line
// exceeds 78 characters. Values that are not plain ASCII, contain "=?" or have a word too long to
// fold become RFC 2047 "=?UTF-8?B?…?=" encoded-words, each holding whole UTF-8 characters
// (malformed UTF-8 is replaced by U+FFFD).
std::string render_unstructured_header(std::string_view name, std::string_view value);

// Quoted-printable (RFC 2045 §6.7). Line breaks (LF, CRLF or a lone CR) become CRLF hard breaks;
// encoded lines are at most 76 characters (soft breaks "=" CRLF); trailing spaces and tabs on a
// line are encoded. The output never contains the two characters "=_", which is why MIME
// boundaries starting with "=_" cannot collide with a part.
std::string quoted_printable_encode(std::string_view text);
// The inverse: soft breaks removed, =XX decoded, CRLF kept. Malformed escapes are kept verbatim.
std::string quoted_printable_decode(std::string_view encoded);

}  // namespace emporium::notify
