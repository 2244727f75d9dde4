#include "notify/receipt_pdf.hpp"

#include "notify/text.hpp"

#include <hpdf.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

namespace emporium::notify {
namespace {

// Layout in PDF points (A4 portrait is 595 x 842). y values are text baselines.
constexpr HPDF_REAL kLeft = 50;
constexpr HPDF_REAL kRight = 545;
constexpr HPDF_REAL kQuantityRight = 350;
constexpr HPDF_REAL kUnitPriceRight = 450;
constexpr HPDF_REAL kNameWidth = 240;
constexpr HPDF_REAL kFirstPageTableTop = 684;
constexpr HPDF_REAL kNextPageTableTop = 766;
constexpr HPDF_REAL kTop = 790;
constexpr HPDF_REAL kBottom = 70;  // lowest row baseline
constexpr HPDF_REAL kFooter = 40;
constexpr HPDF_REAL kRowHeight = 16;
constexpr HPDF_REAL kBodySize = 10;
constexpr std::size_t kMaxTextBytes = 2048;  // longer texts are cut before measuring

// Windows-1252 bytes 0x80–0x9F and the code points they stand for.
constexpr std::array<std::pair<char32_t, unsigned char>, 27> kWindows1252{{
    {0x20AC, 0x80}, {0x201A, 0x82}, {0x0192, 0x83}, {0x201E, 0x84}, {0x2026, 0x85}, {0x2020, 0x86},
    {0x2021, 0x87}, {0x02C6, 0x88}, {0x2030, 0x89}, {0x0160, 0x8A}, {0x2039, 0x8B}, {0x0152, 0x8C},
    {0x017D, 0x8E}, {0x2018, 0x91}, {0x2019, 0x92}, {0x201C, 0x93}, {0x201D, 0x94}, {0x2022, 0x95},
    {0x2013, 0x96}, {0x2014, 0x97}, {0x02DC, 0x98}, {0x2122, 0x99}, {0x0161, 0x9A}, {0x203A, 0x9B},
    {0x0153, 0x9C}, {0x017E, 0x9E}, {0x0178, 0x9F},
}};

// Base letters of U+0100..U+017F (Latin Extended-A), for the ones Windows-1252 lacks.
constexpr std::string_view kLatinExtendedA =
    "AaAaAaCcCcCcCcDd"
    "DdEeEeEeEeEeGgGg"
    "GgGgHhHhIiIiIiIi"
    "IiIiJjKkkLlLlLlL"
    "lLlNnNnNnnNnOoOo"
    "OoOoRrRrRrSsSsSs"
    "SsTtTtTtUuUuUuUu"
    "UuUuWwYyYZzZzZzs";

constexpr char kEllipsis = '\x85';

char win_ansi_char(char32_t cp) {
    if (cp < 0x20) return ' ';
    if (cp < 0x7F || (cp >= 0xA0 && cp <= 0xFF)) return static_cast<char>(cp);
    for (const auto& [code_point, byte] : kWindows1252) {
        if (code_point == cp) return static_cast<char>(byte);
    }
    if (cp >= 0x100 && cp < 0x180) return kLatinExtendedA[cp - 0x100];
    switch (cp) {
        case 0x0218:  // Ș
            return 'S';
        case 0x0219:
            return 's';
        case 0x021A:  // Ț
            return 'T';
        case 0x021B:
            return 't';
        case 0x2010:  // hyphens and the minus sign
        case 0x2011:
        case 0x2012:
        case 0x2212:
            return '-';
        case 0x2009:  // thin and narrow spaces
        case 0x200A:
        case 0x202F:
            return ' ';
        default:
            return '?';
    }
}

std::string calendar_text(std::chrono::system_clock::time_point time) {
    const auto minutes = std::chrono::floor<std::chrono::minutes>(time);
    const auto days = std::chrono::floor<std::chrono::days>(minutes);
    const std::chrono::year_month_day ymd{days};
    const std::chrono::hh_mm_ss hms{minutes - days};
    std::array<char, 48> buffer{};
    std::snprintf(buffer.data(),
                  buffer.size(),
                  "%04d-%02u-%02u %02d:%02d UTC",
                  static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()),
                  static_cast<int>(hms.minutes().count()));
    return buffer.data();
}

struct HaruError {
    HPDF_STATUS error_no = HPDF_OK;
    HPDF_STATUS detail_no = 0;
};

// libharu reports errors through this callback and then returns an error code; the first error is
// kept for the message. No longjmp: every call's result is checked by the caller.
void record_haru_error(HPDF_STATUS error_no, HPDF_STATUS detail_no, void* user_data) {
    auto* error = static_cast<HaruError*>(user_data);
    if (error->error_no == HPDF_OK) {
        error->error_no = error_no;
        error->detail_no = detail_no;
    }
}

// One libharu document. After the first failed call every drawing call is skipped and ok() is
// false; the error is reported once, at the end.
class Document {
public:
    Document() : doc_(HPDF_New(&record_haru_error, &error_)) {
        if (doc_ == nullptr) {
            failed_ = true;
            return;
        }
        regular_ = HPDF_GetFont(doc_, "Helvetica", "WinAnsiEncoding");
        bold_ = HPDF_GetFont(doc_, "Helvetica-Bold", "WinAnsiEncoding");
        if (regular_ == nullptr || bold_ == nullptr) failed_ = true;
        check(HPDF_SetCompressionMode(doc_, HPDF_COMP_ALL));
    }
    ~Document() {
        if (doc_ != nullptr) HPDF_Free(doc_);
    }
    Document(const Document&) = delete;
    Document& operator=(const Document&) = delete;

    bool ok() const { return !failed_ && error_.error_no == HPDF_OK; }
    HPDF_Doc get() const { return doc_; }
    HPDF_Font regular() const { return regular_; }
    HPDF_Font bold() const { return bold_; }
    std::size_t page_count() const { return pages_.size(); }
    HPDF_Page page(std::size_t index) const { return pages_[index]; }

    void check(HPDF_STATUS status) {
        if (status != HPDF_OK) failed_ = true;
    }

    HPDF_Page add_page() {
        if (!ok()) return nullptr;
        HPDF_Page page = HPDF_AddPage(doc_);
        if (page == nullptr) {
            failed_ = true;
            return nullptr;
        }
        check(HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT));
        pages_.push_back(page);
        return page;
    }

    // Width of `text` (Windows-1252 bytes) in points.
    HPDF_REAL width(HPDF_Font font, HPDF_REAL size, const std::string& text) {
        if (!ok() || text.empty()) return 0;
        const HPDF_TextWidth measured = HPDF_Font_TextWidth(
            font, reinterpret_cast<const HPDF_BYTE*>(text.data()), static_cast<HPDF_UINT>(text.size()));
        if (error_.error_no != HPDF_OK) failed_ = true;
        return static_cast<HPDF_REAL>(measured.width) * size / 1000;
    }

    // `text` cut to at most `max_width` points, ending in "…" when cut.
    std::string fit(HPDF_Font font, HPDF_REAL size, HPDF_REAL max_width, std::string text) {
        if (text.size() > kMaxTextBytes) text.resize(kMaxTextBytes);
        if (width(font, size, text) <= max_width) return text;
        const HPDF_REAL room = max_width - width(font, size, std::string(1, kEllipsis));
        HPDF_REAL used = 0;
        const HPDF_UINT fits = HPDF_Font_MeasureText(font,
                                                     reinterpret_cast<const HPDF_BYTE*>(text.data()),
                                                     static_cast<HPDF_UINT>(text.size()),
                                                     room,
                                                     size,
                                                     0,
                                                     0,
                                                     HPDF_FALSE,
                                                     &used);
        if (error_.error_no != HPDF_OK) failed_ = true;
        text.resize(std::min<std::size_t>(fits, text.size()));
        while (!text.empty() && text.back() == ' ') text.pop_back();
        text.push_back(kEllipsis);
        return text;
    }

    void text(
        HPDF_Page page, HPDF_Font font, HPDF_REAL size, HPDF_REAL x, HPDF_REAL y, const std::string& text) {
        if (!ok()) return;
        check(HPDF_Page_BeginText(page));
        check(HPDF_Page_SetFontAndSize(page, font, size));
        check(HPDF_Page_TextOut(page, x, y, text.c_str()));
        check(HPDF_Page_EndText(page));
    }

    void text_right(
        HPDF_Page page, HPDF_Font font, HPDF_REAL size, HPDF_REAL right, HPDF_REAL y, const std::string& s) {
        text(page, font, size, right - width(font, size, s), y, s);
    }

    void rule(HPDF_Page page, HPDF_REAL from_x, HPDF_REAL to_x, HPDF_REAL y) {
        if (!ok()) return;
        check(HPDF_Page_SetLineWidth(page, 0.5F));
        check(HPDF_Page_MoveTo(page, from_x, y));
        check(HPDF_Page_LineTo(page, to_x, y));
        check(HPDF_Page_Stroke(page));
    }

    core::Result<std::string> save() {
        check(HPDF_SaveToStream(doc_));
        if (!ok()) return failure("save");
        const HPDF_UINT32 size = HPDF_GetStreamSize(doc_);
        std::string bytes(size, '\0');
        HPDF_UINT32 read = size;
        if (size == 0 ||
            HPDF_ReadFromStream(doc_, reinterpret_cast<HPDF_BYTE*>(bytes.data()), &read) != HPDF_OK ||
            read != size) {
            return failure("read stream");
        }
        return bytes;
    }

    core::Error failure(std::string_view step) const {
        std::array<char, 96> buffer{};
        std::snprintf(buffer.data(),
                      buffer.size(),
                      "receipt pdf: libharu failed (%.*s): error 0x%04lX detail %lu",
                      static_cast<int>(step.size()),
                      step.data(),
                      static_cast<unsigned long>(error_.error_no),
                      static_cast<unsigned long>(error_.detail_no));
        return core::make_error(core::Errc::kInternal, buffer.data());
    }

private:
    HaruError error_;  // must outlive doc_, which points to it
    HPDF_Doc doc_ = nullptr;
    HPDF_Font regular_ = nullptr;
    HPDF_Font bold_ = nullptr;
    std::vector<HPDF_Page> pages_;
    bool failed_ = false;
};

class ReceiptRenderer {
public:
    ReceiptRenderer(Document& doc, const ReceiptData& receipt)
        : doc_(doc),
          receipt_(receipt),
          number_(receipt.order_number.empty() ? order_number(receipt.order_id) : receipt.order_number),
          shop_(to_win_ansi(receipt.shop_name)) {}

    void render(std::int64_t subtotal_cents) {
        first_page();
        for (const auto& line : receipt_.lines) {
            if (y_ < kBottom) continue_page(true);
            row(line);
        }
        totals(subtotal_cents);
        footers();
    }

private:
    void first_page() {
        page_ = doc_.add_page();
        doc_.text(page_, doc_.bold(), 18, kLeft, kTop, doc_.fit(doc_.bold(), 18, kRight - kLeft, shop_));
        doc_.text(page_, doc_.bold(), 14, kLeft, kTop - 26, "Receipt");
        doc_.text(page_, doc_.regular(), kBodySize, kLeft, kTop - 50, "Order: " + to_win_ansi(number_));
        doc_.text(page_,
                  doc_.regular(),
                  kBodySize,
                  kLeft,
                  kTop - 64,
                  "Date: " + format_receipt_date(receipt_.date));
        doc_.text(page_,
                  doc_.regular(),
                  kBodySize,
                  kLeft,
                  kTop - 78,
                  doc_.fit(doc_.regular(),
                           kBodySize,
                           kRight - kLeft,
                           "Customer: " + to_win_ansi(receipt_.customer_email)));
        table_header(kFirstPageTableTop);
    }

    void continue_page(bool with_table_header) {
        page_ = doc_.add_page();
        const std::string heading = shop_ + " - Receipt " + to_win_ansi(number_) + " (continued)";
        doc_.text(page_,
                  doc_.bold(),
                  kBodySize,
                  kLeft,
                  kTop,
                  doc_.fit(doc_.bold(), kBodySize, kRight - kLeft, heading));
        if (with_table_header) {
            table_header(kNextPageTableTop);
        } else {
            y_ = kNextPageTableTop;
        }
    }

    void table_header(HPDF_REAL y) {
        doc_.text(page_, doc_.bold(), kBodySize, kLeft, y, "Item");
        doc_.text_right(page_, doc_.bold(), kBodySize, kQuantityRight, y, "Qty");
        doc_.text_right(page_, doc_.bold(), kBodySize, kUnitPriceRight, y, "Unit price");
        doc_.text_right(page_, doc_.bold(), kBodySize, kRight, y, "Amount");
        doc_.rule(page_, kLeft, kRight, y - 5);
        y_ = y - 20;
    }

    void row(const ReceiptLine& line) {
        doc_.text(page_,
                  doc_.regular(),
                  kBodySize,
                  kLeft,
                  y_,
                  doc_.fit(doc_.regular(), kBodySize, kNameWidth, to_win_ansi(line.name)));
        doc_.text_right(page_, doc_.regular(), kBodySize, kQuantityRight, y_, std::to_string(line.quantity));
        doc_.text_right(page_, doc_.regular(), kBodySize, kUnitPriceRight, y_, money(line.unit_price_cents));
        doc_.text_right(page_, doc_.regular(), kBodySize, kRight, y_, money(line.line_total_cents));
        y_ -= kRowHeight;
    }

    void totals(std::int64_t subtotal_cents) {
        const std::optional<std::string> tax = tax_summary(receipt_);
        const auto rows = total_rows(receipt_, subtotal_cents);
        const HPDF_REAL needed = 8 + kRowHeight * static_cast<HPDF_REAL>(rows.size() + (tax ? 2 : 1));
        if (y_ - needed + kRowHeight < kBottom) continue_page(false);
        doc_.rule(page_, kLeft, kRight, y_ + kRowHeight - 6);
        y_ -= 4;
        for (const auto& row : rows) {
            doc_.text_right(page_, doc_.regular(), kBodySize, kUnitPriceRight, y_, to_win_ansi(row.label));
            doc_.text_right(page_, doc_.regular(), kBodySize, kRight, y_, money(row.cents));
            y_ -= kRowHeight;
        }
        doc_.text_right(page_, doc_.bold(), kBodySize + 1, kUnitPriceRight, y_, "Total");
        doc_.text_right(page_, doc_.bold(), kBodySize + 1, kRight, y_, money(receipt_.total_cents));
        y_ -= kRowHeight;
        if (tax) {
            doc_.text_right(page_,
                            doc_.regular(),
                            kBodySize,
                            kRight,
                            y_,
                            doc_.fit(doc_.regular(), kBodySize, kRight - kLeft, to_win_ansi(*tax)));
        }
    }

    void footers() {
        const std::size_t count = doc_.page_count();
        for (std::size_t i = 0; i < count; ++i) {
            const std::string text = "Page " + std::to_string(i + 1) + " of " + std::to_string(count);
            doc_.text_right(doc_.page(i), doc_.regular(), 8, kRight, kFooter, text);
        }
    }

    std::string money(std::int64_t cents) const {
        return to_win_ansi(format_money(cents, receipt_.currency));
    }

    Document& doc_;
    const ReceiptData& receipt_;
    std::string number_;
    std::string shop_;
    HPDF_Page page_ = nullptr;
    HPDF_REAL y_ = 0;
};

}  // namespace

std::string format_money(std::int64_t cents, std::string_view currency) {
    // The magnitude as unsigned, so INT64_MIN has one too.
    const std::uint64_t magnitude =
        cents < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
    std::string out = cents < 0 ? "-" : "";
    out += std::to_string(magnitude / 100);
    out += '.';
    const std::uint64_t fraction = magnitude % 100;
    out += static_cast<char>('0' + fraction / 10);
    out += static_cast<char>('0' + fraction % 10);
    if (!currency.empty()) {
        out += ' ';
        out += currency;
    }
    return out;
}

std::string order_number(std::int64_t order_id) {
    std::array<char, 32> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "EMP-%06lld", static_cast<long long>(order_id));
    return buffer.data();
}

std::int64_t included_tax_cents(std::int64_t total_cents, std::int32_t rate_bps) {
    if (rate_bps <= 0 || total_cents == 0) return 0;
    const auto rate = static_cast<std::uint64_t>(rate_bps);
    const std::uint64_t divisor = 10'000 + rate;
    const std::uint64_t magnitude = total_cents < 0
                                        ? std::uint64_t{0} - static_cast<std::uint64_t>(total_cents)
                                        : static_cast<std::uint64_t>(total_cents);
    // magnitude * rate / divisor without overflow: split magnitude = q * divisor + r.
    const std::uint64_t q = magnitude / divisor;
    const std::uint64_t r = magnitude % divisor;
    std::uint64_t tax = q * rate + (r * rate) / divisor;
    if (2 * ((r * rate) % divisor) >= divisor) ++tax;
    const auto signed_tax = static_cast<std::int64_t>(tax);  // tax < magnitude, so it fits
    return total_cents < 0 ? -signed_tax : signed_tax;
}

std::string format_rate_bps(std::int32_t rate_bps) {
    const bool negative = rate_bps < 0;
    const auto magnitude =
        negative ? -static_cast<std::int64_t>(rate_bps) : static_cast<std::int64_t>(rate_bps);
    std::string out = negative ? "-" : "";
    out += std::to_string(magnitude / 100);
    const std::int64_t fraction = magnitude % 100;
    if (fraction != 0) {
        out += '.';
        out += static_cast<char>('0' + fraction / 10);
        if (fraction % 10 != 0) out += static_cast<char>('0' + fraction % 10);
    }
    out += '%';
    return out;
}

bool tax_included(const ReceiptData& receipt, std::int64_t subtotal_cents) {
    return receipt.tax_cents > 0 &&
           receipt.total_cents == subtotal_cents - receipt.discount_cents + receipt.shipping_cents;
}

std::vector<TotalRow> total_rows(const ReceiptData& receipt, std::int64_t subtotal_cents) {
    std::vector<TotalRow> rows{{"Subtotal", subtotal_cents}};
    if (receipt.discount_cents > 0) rows.push_back({"Discount", -receipt.discount_cents});
    if (receipt.has_shipping || receipt.shipping_cents > 0) rows.push_back({"Shipping", receipt.shipping_cents});
    if (receipt.tax_cents > 0 && !tax_included(receipt, subtotal_cents)) {
        rows.push_back({receipt.tax_label.value_or("Tax"), receipt.tax_cents});
    }
    return rows;
}

std::optional<std::string> tax_summary(const ReceiptData& receipt) {
    if (receipt.tax_cents > 0) {
        std::int64_t subtotal = 0;
        for (const auto& line : receipt.lines) subtotal += line.line_total_cents;
        if (!tax_included(receipt, subtotal)) return std::nullopt;
        return "incl. " + receipt.tax_label.value_or("tax") + ": " + format_money(receipt.tax_cents, receipt.currency);
    }
    if (!receipt.tax_label || receipt.tax_rate_bps <= 0) return std::nullopt;
    return "incl. " + *receipt.tax_label + " " + format_rate_bps(receipt.tax_rate_bps) + ": " +
           format_money(included_tax_cents(receipt.total_cents, receipt.tax_rate_bps), receipt.currency);
}

std::string format_receipt_date(std::chrono::system_clock::time_point time) {
    return calendar_text(time);
}

std::string to_win_ansi(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size());
    std::size_t pos = 0;
    while (pos < utf8.size()) out.push_back(win_ansi_char(detail::next_code_point(utf8, pos)));
    return out;
}

core::Result<std::string> render_receipt_pdf(const ReceiptData& receipt) {
    if (receipt.lines.size() > kMaxReceiptLines) {
        return core::make_error(core::Errc::kValidation,
                                "receipt has more than " + std::to_string(kMaxReceiptLines) + " lines");
    }
    if (receipt.tax_rate_bps < 0 || receipt.tax_rate_bps > kMaxTaxRateBps) {
        return core::make_error(core::Errc::kValidation, "receipt tax rate out of range");
    }
    std::int64_t subtotal_cents = 0;
    for (const auto& line : receipt.lines) {
        if (__builtin_add_overflow(subtotal_cents, line.line_total_cents, &subtotal_cents)) {
            return core::make_error(core::Errc::kValidation, "receipt line totals overflow");
        }
    }

    Document doc;
    if (!doc.ok()) return doc.failure("create document");
    const std::string title =
        "Receipt " +
        to_win_ansi(receipt.order_number.empty() ? order_number(receipt.order_id) : receipt.order_number);
    doc.check(HPDF_SetInfoAttr(doc.get(), HPDF_INFO_TITLE, title.c_str()));
    doc.check(HPDF_SetInfoAttr(doc.get(), HPDF_INFO_CREATOR, "Emporium"));
    {
        const auto seconds = std::chrono::floor<std::chrono::seconds>(receipt.date);
        const auto days = std::chrono::floor<std::chrono::days>(seconds);
        const std::chrono::year_month_day ymd{days};
        const std::chrono::hh_mm_ss hms{seconds - days};
        HPDF_Date created{};
        created.year = static_cast<int>(ymd.year());
        created.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
        created.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
        created.hour = static_cast<int>(hms.hours().count());
        created.minutes = static_cast<int>(hms.minutes().count());
        created.seconds = static_cast<int>(hms.seconds().count());
        created.ind = 'Z';
        doc.check(HPDF_SetInfoDateAttr(doc.get(), HPDF_INFO_CREATION_DATE, created));
    }

    ReceiptRenderer renderer(doc, receipt);
    renderer.render(subtotal_cents);
    if (!doc.ok()) return doc.failure("render");
    return doc.save();
}

}  // namespace emporium::notify
