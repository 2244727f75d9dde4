#include "core/metrics.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>

namespace emporium::core {
namespace {

std::string escape_label(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::string format_double(double v) {
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%g", v);
    return buf.data();
}

// Inserts `extra` (like le="0.5") into a rendered label set.
std::string with_label(const std::string& labels, const std::string& extra) {
    if (labels.empty()) return "{" + extra + "}";
    return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

}  // namespace

std::string render_labels(const Metrics::Labels& labels) {
    if (labels.empty()) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ',';
        first = false;
        out += k;
        out += "=\"";
        out += escape_label(v);
        out += '"';
    }
    out += '}';
    return out;
}

void Metrics::Histogram::observe(double seconds) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        if (seconds <= kBuckets[i]) {
            buckets_[i].fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

Metrics::Family& Metrics::family(const std::string& name, const std::string& help, Type type) {
    auto [it, inserted] = families_.try_emplace(name);
    if (inserted) {
        it->second.type = type;
        it->second.help = help;
    } else if (it->second.type != type) {
        throw std::logic_error("metric " + name + " registered with two types");
    }
    return it->second;
}

Metrics::Counter& Metrics::counter(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::kCounter).counters[render_labels(labels)];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Metrics::Gauge& Metrics::gauge(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::kGauge).gauges[render_labels(labels)];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Metrics::Histogram& Metrics::histogram(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(mutex_);
    auto& slot = family(name, help, Type::kHistogram).histograms[render_labels(labels)];
    if (!slot) slot = std::make_unique<Histogram>();
    return *slot;
}

std::string Metrics::render() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, fam] : families_) {
        out += "# HELP " + name + " " + fam.help + "\n";
        switch (fam.type) {
            case Type::kCounter:
                out += "# TYPE " + name + " counter\n";
                for (const auto& [labels, c] : fam.counters) out += name + labels + " " + std::to_string(c->value()) + "\n";
                break;
            case Type::kGauge:
                out += "# TYPE " + name + " gauge\n";
                for (const auto& [labels, g] : fam.gauges) out += name + labels + " " + std::to_string(g->value()) + "\n";
                break;
            case Type::kHistogram:
                out += "# TYPE " + name + " histogram\n";
                for (const auto& [labels, h] : fam.histograms) {
                    std::uint64_t cumulative = 0;
                    for (std::size_t i = 0; i < Histogram::kBuckets.size(); ++i) {
                        cumulative += h->buckets_[i].load(std::memory_order_relaxed);
                        const auto le = "le=\"" + format_double(Histogram::kBuckets[i]) + "\"";
                        out.append(name).append("_bucket").append(with_label(labels, le));
                        out.append(" ").append(std::to_string(cumulative)).append("\n");
                    }
                    auto count = h->count();
                    out.append(name).append("_bucket").append(with_label(labels, "le=\"+Inf\""));
                    out.append(" ").append(std::to_string(count)).append("\n");
                    out.append(name).append("_sum").append(labels).append(" ");
                    out.append(format_double(
                        static_cast<double>(h->sum_micros_.load(std::memory_order_relaxed)) / 1e6));
                    out.append("\n");
                    out.append(name).append("_count").append(labels).append(" ");
                    out.append(std::to_string(count)).append("\n");
                }
                break;
        }
    }
    return out;
}

Metrics& Metrics::global() {
    static Metrics instance;
    return instance;
}

}  // namespace emporium::core
