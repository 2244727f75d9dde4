#pragma once
// When a periodic entry is due: a fixed interval ("every 30s", "every 5m", "every 2h") or a
// five-field cron expression in UTC ("*/5 * * * *": minute hour day-of-month month day-of-week,
// with *, N, A-B, */S, A-B/S and comma lists; day-of-week 0-7 with 0 and 7 = Sunday; when both
// day fields are restricted either may match, as in cron).

#include "core/error.hpp"

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace emporium::jobs {

class Schedule {
public:
    // Errors: kValidation naming the problem.
    static core::Result<Schedule> parse(std::string_view text);
    static Schedule every(std::chrono::milliseconds interval);

    // The period containing `now_ms` (epoch ms), as a number that grows by at least one per
    // period: for an interval floor(now / interval); for cron the epoch minute of the latest
    // matching minute at or before now. std::nullopt when cron has not matched in the last year.
    std::optional<std::int64_t> slot_at(std::int64_t now_ms) const;
    // Epoch ms at which `slot` began.
    std::int64_t slot_start_ms(std::int64_t slot) const;
    // The interval, or one minute for cron (how long a period lasts at least).
    std::chrono::milliseconds granularity() const;
    bool is_cron() const { return cron_; }
    const std::string& text() const { return text_; }

private:
    bool matches_minute(std::int64_t epoch_minute) const;

    std::string text_;
    bool cron_ = false;
    std::chrono::milliseconds interval_{60'000};
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;    // 1..31
    std::bitset<13> months_;  // 1..12
    std::bitset<7> weekdays_; // 0..6, Sunday = 0
    bool days_restricted_ = false;
    bool weekdays_restricted_ = false;
};

}  // namespace emporium::jobs
