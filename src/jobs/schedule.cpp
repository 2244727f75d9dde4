#include "jobs/schedule.hpp"

#include <charconv>
#include <vector>

namespace emporium::jobs {

namespace {

core::Error invalid(std::string message) { return core::make_error(core::Errc::kValidation, std::move(message)); }

std::optional<int> number(std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// Sets the bits of one cron field; returns false when malformed or out of [lo, hi].
template <std::size_t N>
bool parse_field(std::string_view field, int lo, int hi, std::bitset<N>& bits, bool& restricted) {
    restricted = field != "*";
    while (!field.empty()) {
        const auto comma = field.find(',');
        auto part = field.substr(0, comma);
        field = comma == std::string_view::npos ? std::string_view{} : field.substr(comma + 1);
        if (part.empty()) return false;
        int step = 1;
        if (const auto slash = part.find('/'); slash != std::string_view::npos) {
            auto s = number(part.substr(slash + 1));
            if (!s || *s < 1) return false;
            step = *s;
            part = part.substr(0, slash);
        }
        int from = lo;
        int to = hi;
        if (part != "*") {
            const auto dash = part.find('-');
            auto a = number(part.substr(0, dash));
            if (!a) return false;
            from = *a;
            to = *a;
            if (dash != std::string_view::npos) {
                auto b = number(part.substr(dash + 1));
                if (!b) return false;
                to = *b;
            } else if (step != 1) {
                to = hi;  // "N/S" means N, N+S, … up to the maximum
            }
        }
        if (from < lo || to > hi || from > to) return false;
        for (int v = from; v <= to; v += step) bits.set(static_cast<std::size_t>(v));
    }
    return true;
}

}  // namespace

Schedule Schedule::every(std::chrono::milliseconds interval) {
    Schedule s;
    s.interval_ = std::max(std::chrono::milliseconds(1), interval);
    s.text_ = "every " + std::to_string(s.interval_.count()) + "ms";
    return s;
}

core::Result<Schedule> Schedule::parse(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    if (text.rfind("every ", 0) == 0 || text.rfind("@every ", 0) == 0) {
        auto spec = text.substr(text.find(' ') + 1);
        std::size_t digits = 0;
        while (digits < spec.size() && spec[digits] >= '0' && spec[digits] <= '9') ++digits;
        auto n = number(spec.substr(0, digits));
        const auto unit = spec.substr(digits);
        std::int64_t ms_per = 0;
        if (unit == "ms") ms_per = 1;
        else if (unit == "s") ms_per = 1'000;
        else if (unit == "m") ms_per = 60'000;
        else if (unit == "h") ms_per = 3'600'000;
        if (!n || *n < 1 || ms_per == 0) {
            return invalid("schedule '" + std::string(text) + "': write 'every N' with a unit ms, s, m or h");
        }
        auto s = every(std::chrono::milliseconds(*n * ms_per));
        s.text_ = std::string(text);
        return s;
    }
    std::vector<std::string_view> fields;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto space = rest.find(' ');
        if (space != 0) fields.push_back(rest.substr(0, space));
        rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    }
    if (fields.size() != 5) {
        return invalid("schedule '" + std::string(text) + "': expected 'every N<unit>' or five cron fields");
    }
    Schedule s;
    s.cron_ = true;
    s.text_ = std::string(text);
    bool restricted = false;
    std::bitset<8> weekdays;
    if (!parse_field(fields[0], 0, 59, s.minutes_, restricted) || !parse_field(fields[1], 0, 23, s.hours_, restricted) ||
        !parse_field(fields[2], 1, 31, s.days_, s.days_restricted_) ||
        !parse_field(fields[3], 1, 12, s.months_, restricted) ||
        !parse_field(fields[4], 0, 7, weekdays, s.weekdays_restricted_)) {
        return invalid("schedule '" + std::string(text) + "': malformed or out-of-range cron field");
    }
    for (std::size_t d = 0; d < 7; ++d) s.weekdays_[d] = weekdays[d];
    if (weekdays[7]) s.weekdays_[0] = true;
    return s;
}

bool Schedule::matches_minute(std::int64_t epoch_minute) const {
    using namespace std::chrono;
    const sys_time<minutes> t{minutes(epoch_minute)};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    const weekday wd{day};
    if (!minutes_[static_cast<std::size_t>(hms.minutes().count())] || !hours_[static_cast<std::size_t>(hms.hours().count())] ||
        !months_[static_cast<unsigned>(ymd.month())]) {
        return false;
    }
    const bool dom = days_[static_cast<unsigned>(ymd.day())];
    const bool dow = weekdays_[wd.c_encoding()];
    if (days_restricted_ && weekdays_restricted_) return dom || dow;
    return dom && dow;
}

std::optional<std::int64_t> Schedule::slot_at(std::int64_t now_ms) const {
    if (!cron_) return now_ms / interval_.count();
    auto minute = now_ms / 60'000;
    for (int i = 0; i < 366 * 24 * 60; ++i, --minute) {
        if (matches_minute(minute)) return minute;
    }
    return std::nullopt;
}

std::int64_t Schedule::slot_start_ms(std::int64_t slot) const {
    return cron_ ? slot * 60'000 : slot * interval_.count();
}

std::chrono::milliseconds Schedule::granularity() const {
    return cron_ ? std::chrono::milliseconds(60'000) : interval_;
}

}  // namespace emporium::jobs
