// Job encoding, retry arithmetic (exponential backoff with full jitter), retry policy parsing,
// periodic schedules (intervals and cron) and event routing. No I/O.
#include "jobs/jobs_types.hpp"
#include "jobs/outbox_relay.hpp"
#include "jobs/schedule.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

namespace emporium::jobs {
namespace {

using namespace std::chrono_literals;

std::int64_t epoch_ms(int y, unsigned mo, unsigned d, int h, int mi) {
    using namespace std::chrono;
    const sys_days date = year{y} / month{mo} / day{d};
    return duration_cast<milliseconds>((date + hours(h) + minutes(mi)).time_since_epoch()).count();
}

TEST(JobEncoding, RoundTripsEveryField) {
    Job job;
    job.id = "ob7:email.order_confirmation";
    job.type = "email.order_confirmation";
    job.queue = "email";
    job.payload = boost::json::object{{"order_id", 7}, {"note", "ünïcode \"quoted\""}};
    job.attempt = 3;
    job.created_ms = 1'700'000'000'123;
    job.last_error = "smtp 451";
    auto back = decode(encode(job));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->id, job.id);
    EXPECT_EQ(back->type, job.type);
    EXPECT_EQ(back->queue, "email");
    EXPECT_EQ(back->payload, job.payload);
    EXPECT_EQ(back->attempt, 3);
    EXPECT_EQ(back->created_ms, job.created_ms);
    EXPECT_EQ(back->last_error, "smtp 451");
}

TEST(JobEncoding, RejectsGarbageAndUnknownQueues) {
    EXPECT_FALSE(decode("not json"));
    EXPECT_FALSE(decode("[1,2]"));
    EXPECT_FALSE(decode(R"({"id":"a","type":"t"})"));
    EXPECT_FALSE(decode(R"({"id":"a","type":"t","queue":"nope"})"));
    auto ok = decode(R"({"id":"a","type":"t","queue":"default","attempt":-5})");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->attempt, 1);  // clamped
}

TEST(Backoff, CeilingDoublesFromBaseUpToCap) {
    RetryPolicy p{100ms, 1'000ms, 10, 1s};
    EXPECT_EQ(backoff_ceiling(p, 1), 100ms);
    EXPECT_EQ(backoff_ceiling(p, 2), 200ms);
    EXPECT_EQ(backoff_ceiling(p, 3), 400ms);
    EXPECT_EQ(backoff_ceiling(p, 4), 800ms);
    EXPECT_EQ(backoff_ceiling(p, 5), 1'000ms);
    EXPECT_EQ(backoff_ceiling(p, 500), 1'000ms);  // no overflow
    EXPECT_EQ(backoff_ceiling(p, 0), 100ms);
}

TEST(Backoff, FullJitterStaysWithinBoundsAndSpreadsOverTheRange) {
    RetryPolicy p{100ms, 10'000ms, 10, 1s};
    std::mt19937_64 rng(42);
    for (int attempt = 1; attempt <= 8; ++attempt) {
        const auto ceiling = backoff_ceiling(p, attempt);
        std::int64_t low = ceiling.count();
        std::int64_t high = 0;
        double sum = 0;
        constexpr int kSamples = 4'000;
        for (int i = 0; i < kSamples; ++i) {
            const auto d = backoff_delay(p, attempt, rng);
            ASSERT_GE(d.count(), 0);
            ASSERT_LE(d, ceiling);
            low = std::min(low, d.count());
            high = std::max(high, d.count());
            sum += static_cast<double>(d.count());
        }
        // Full jitter: uniform over [0, ceiling], so the mean is about half the ceiling and the
        // samples reach both ends of the range.
        const double mean = sum / kSamples;
        EXPECT_NEAR(mean, static_cast<double>(ceiling.count()) / 2, static_cast<double>(ceiling.count()) * 0.05);
        EXPECT_LT(low, ceiling.count() / 20 + 1);
        EXPECT_GT(high, ceiling.count() * 19 / 20);
    }
}

TEST(RetryPolicies, ParsesPerTypeOverridesAndFallsBack) {
    RetryPolicy fallback{1s, 60s, 5, 30s};
    auto p = RetryPolicies::parse(" payment.capture=500/30000/12/20000 , email.order_confirmation=2000/600000/6/15000", fallback);
    EXPECT_EQ(p.of("payment.capture").base, 500ms);
    EXPECT_EQ(p.of("payment.capture").cap, 30'000ms);
    EXPECT_EQ(p.of("payment.capture").max_attempts, 12);
    EXPECT_EQ(p.of("payment.capture").timeout, 20'000ms);
    EXPECT_EQ(p.of("email.order_confirmation").max_attempts, 6);
    EXPECT_EQ(p.of("receipt.render").max_attempts, 5);
    EXPECT_EQ(p.of("receipt.render").base, 1s);
    EXPECT_NO_THROW(RetryPolicies::parse("", fallback));
}

TEST(RetryPolicies, RejectsMalformedEntries) {
    RetryPolicy fallback;
    EXPECT_THROW(RetryPolicies::parse("x=1/2/3", fallback), std::invalid_argument);
    EXPECT_THROW(RetryPolicies::parse("x=100/50/3/1", fallback), std::invalid_argument);  // cap < base
    EXPECT_THROW(RetryPolicies::parse("x=a/2/3/4", fallback), std::invalid_argument);
    EXPECT_THROW(RetryPolicies::parse("=1/2/3/4", fallback), std::invalid_argument);
    EXPECT_THROW(RetryPolicies::parse("x=1/2/0/4", fallback), std::invalid_argument);
    EXPECT_THROW(RetryPolicies::parse("x", fallback), std::invalid_argument);
}

TEST(Schedule, IntervalsSlotByPeriod) {
    auto s = Schedule::parse("every 30s");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->is_cron());
    EXPECT_EQ(s->slot_at(0), 0);
    EXPECT_EQ(s->slot_at(29'999), 0);
    EXPECT_EQ(s->slot_at(30'000), 1);
    EXPECT_EQ(s->slot_start_ms(3), 90'000);
    EXPECT_EQ(Schedule::parse("every 5m")->granularity(), 300'000ms);
    EXPECT_EQ(Schedule::parse("@every 250ms")->granularity(), 250ms);
    EXPECT_EQ(Schedule::parse("every 2h")->granularity(), 7'200'000ms);
}

TEST(Schedule, RejectsMalformedText) {
    for (const char* bad : {"", "every", "every 0s", "every 5", "every 5d", "every -1s", "* * * *", "* * * * * *",
                            "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8", "*/0 * * * *",
                            "5-2 * * * *", "a * * * *", "1,,2 * * * *"}) {
        EXPECT_FALSE(Schedule::parse(bad)) << bad;
    }
}

TEST(Schedule, CronFindsTheLatestMatchingMinute) {
    auto every5 = Schedule::parse("*/5 * * * *");
    ASSERT_TRUE(every5);
    const auto t = epoch_ms(2026, 11, 26, 10, 7) + 12'345;
    EXPECT_EQ(every5->slot_at(t), epoch_ms(2026, 11, 26, 10, 5) / 60'000);

    auto nightly = Schedule::parse("30 2 * * *");
    ASSERT_TRUE(nightly);
    EXPECT_EQ(nightly->slot_at(epoch_ms(2026, 11, 26, 10, 0)), epoch_ms(2026, 11, 26, 2, 30) / 60'000);
    EXPECT_EQ(nightly->slot_at(epoch_ms(2026, 11, 26, 2, 29)), epoch_ms(2026, 11, 25, 2, 30) / 60'000);

    // 2026-11-26 is a Thursday; "0 9 * * 1-5" at Saturday noon → Friday 09:00.
    auto weekdays = Schedule::parse("0 9 * * 1-5");
    ASSERT_TRUE(weekdays);
    EXPECT_EQ(weekdays->slot_at(epoch_ms(2026, 11, 28, 12, 0)), epoch_ms(2026, 11, 27, 9, 0) / 60'000);
    // Sunday written as 7.
    auto sunday = Schedule::parse("0 0 * * 7");
    ASSERT_TRUE(sunday);
    EXPECT_EQ(sunday->slot_at(epoch_ms(2026, 11, 30, 1, 0)), epoch_ms(2026, 11, 29, 0, 0) / 60'000);
    // Both day fields restricted: either matches (the 1st of the month or any Monday).
    auto either = Schedule::parse("0 0 1 * 1");
    ASSERT_TRUE(either);
    EXPECT_EQ(either->slot_at(epoch_ms(2026, 11, 26, 0, 0)), epoch_ms(2026, 11, 23, 0, 0) / 60'000);
    // Lists and ranges with steps.
    auto list = Schedule::parse("0,20-40/10 * * * *");
    ASSERT_TRUE(list);
    EXPECT_EQ(list->slot_at(epoch_ms(2026, 1, 1, 5, 35)), epoch_ms(2026, 1, 1, 5, 30) / 60'000);
    EXPECT_EQ(list->slot_at(epoch_ms(2026, 1, 1, 5, 19)), epoch_ms(2026, 1, 1, 5, 0) / 60'000);
    EXPECT_EQ(list->slot_start_ms(*list->slot_at(epoch_ms(2026, 1, 1, 5, 45))), epoch_ms(2026, 1, 1, 5, 40));
}

TEST(EventRoutes, MapsEventsToJobsWithStableIds) {
    EventRoutes routes;
    routes.on("order.paid", "email.order_confirmation", "email");
    routes.on("order.paid", "receipt.render", "receipt");
    OutboxEvent e;
    e.id = 41;
    e.event_type = "order.paid";
    e.payload = boost::json::object{{"order_id", 9}};
    e.created_ms = 123;
    auto jobs = routes.jobs_for(e);
    ASSERT_EQ(jobs.size(), 2U);
    EXPECT_EQ(jobs[0].id, "ob41:email.order_confirmation");
    EXPECT_EQ(jobs[0].queue, "email");
    EXPECT_EQ(jobs[1].id, "ob41:receipt.render");
    EXPECT_EQ(jobs[1].payload.at("order_id").as_int64(), 9);
    EXPECT_EQ(jobs[1].payload.at("event_id").as_int64(), 41);
    EXPECT_EQ(jobs[1].created_ms, 123);
    e.event_type = "order.created";
    EXPECT_TRUE(routes.jobs_for(e).empty());
}

}  // namespace
}  // namespace emporium::jobs
