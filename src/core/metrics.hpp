#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace emporium::core {

// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
// exposition format. Series are created on first use and never removed; hot paths keep the
// returned reference (lookups take a mutex, updates are lock-free atomics).
class Metrics {
public:
    using Labels = std::vector<std::pair<std::string, std::string>>;

    class Counter {
    public:
        void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
        std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

    private:
        std::atomic<std::uint64_t> value_{0};
    };

    class Gauge {
    public:
        void add(std::int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
        void set(std::int64_t n) { value_.store(n, std::memory_order_relaxed); }
        std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

    private:
        std::atomic<std::int64_t> value_{0};
    };

    // Latency histogram in seconds with fixed buckets (1 ms … 10 s).
    class Histogram {
    public:
        static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
        void observe(double seconds);
        std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

    private:
        friend class Metrics;
        std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets_{};
        std::atomic<std::uint64_t> count_{0};
        std::atomic<std::uint64_t> sum_micros_{0};
    };

    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {});

    // Prometheus text format 0.0.4.
    std::string render() const;

    // The process-wide registry.
    static Metrics& global();

private:
    enum class Type { kCounter, kGauge, kHistogram };
    struct Family {
        Type type;
        std::string help;
        std::map<std::string, std::unique_ptr<Counter>> counters;  // key: rendered label set
        std::map<std::string, std::unique_ptr<Gauge>> gauges;
        std::map<std::string, std::unique_ptr<Histogram>> histograms;
    };
    Family& family(const std::string& name, const std::string& help, Type type);

    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;
};

// Renders a label set as {a="x",b="y"} with Prometheus escaping ("" for no labels).
std::string render_labels(const Metrics::Labels& labels);

}  // namespace emporium::core
