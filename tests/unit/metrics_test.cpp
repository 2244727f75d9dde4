#include "core/metrics.hpp"

#include <gtest/gtest.h>

namespace emporium::core {
namespace {

TEST(Metrics, RendersCountersWithEscapedLabels) {
    Metrics m;
    m.counter("requests_total", "Requests", {{"route", "/a/{id}"}, {"q", "say \"hi\""}}).inc(3);
    auto text = m.render();
    EXPECT_NE(text.find("# TYPE requests_total counter"), std::string::npos);
    EXPECT_NE(text.find("requests_total{route=\"/a/{id}\",q=\"say \\\"hi\\\"\"} 3"), std::string::npos) << text;
}

TEST(Metrics, SameSeriesIsReused) {
    Metrics m;
    m.counter("c", "h", {{"a", "1"}}).inc();
    m.counter("c", "h", {{"a", "1"}}).inc();
    EXPECT_EQ(m.counter("c", "h", {{"a", "1"}}).value(), 2U);
    EXPECT_THROW(m.gauge("c", "h"), std::logic_error);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
    Metrics m;
    auto& h = m.histogram("lat", "latency");
    h.observe(0.0005);
    h.observe(0.003);
    h.observe(20.0);
    auto text = m.render();
    EXPECT_NE(text.find("lat_bucket{le=\"0.001\"} 1"), std::string::npos) << text;
    EXPECT_NE(text.find("lat_bucket{le=\"0.005\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("lat_bucket{le=\"10\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("lat_bucket{le=\"+Inf\"} 3"), std::string::npos) << text;
    EXPECT_NE(text.find("lat_count 3"), std::string::npos) << text;
}

}  // namespace
}  // namespace emporium::core
