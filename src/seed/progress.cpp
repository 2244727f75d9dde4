// The terminal's view of a running seed: pure formatting of a ProgressSnapshot.
#include "seed/seed.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace emporium::seed {

namespace {

// Relative cost of one row of each table (products = 1: the full-text vector of every row is
// computed during its COPY), and a table's index, key and foreign-key rebuild as a share of its
// COPY, from a seed of 1M products, 20k users and 500k orders. Only the ETA uses them.
struct Cost {
    std::string_view table;
    double per_row;
    double index_share;
};
constexpr std::array<Cost, 7> kCosts{{
    {"categories", 0.01, 0.5},
    {"products", 1.0, 0.6},
    {"users", 0.5, 0.25},
    {"orders", 0.2, 0.15},
    {"order_items", 0.02, 0.9},
    {"inventory_movements", 0.03, 0.7},
    {"reviews", 0.06, 1.0},
}};

Cost cost_of(std::string_view table) {
    for (const Cost& c : kCosts) {
        if (c.table == table) return c;
    }
    return Cost{table, 0.2, 0.2};
}

// 1234567 → "1,234,567".
std::string grouped(std::int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return v < 0 ? "-" + out : out;
}

// 75.4 → "1:15", 3725 → "1:02:05".
std::string clock_time(double seconds) {
    const auto s = static_cast<long long>(std::max(0.0, std::round(seconds)));
    std::array<char, 32> buf{};
    if (s >= 3600) {
        std::snprintf(buf.data(), buf.size(), "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    } else {
        std::snprintf(buf.data(), buf.size(), "%lld:%02lld", s / 60, s % 60);
    }
    return buf.data();
}

// 12.34 → "12.3 s", 75.4 → "1:15".
std::string duration(double seconds) {
    if (seconds >= 60) return clock_time(seconds);
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.1f s", seconds);
    return buf.data();
}

std::string pad_left(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}
std::string pad_right(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

}  // namespace

double estimate_seconds_left(const ProgressSnapshot& snapshot) {
    double total = 0;
    double done = 0;
    for (const TableProgress& t : snapshot.tables) {
        const Cost c = cost_of(t.table);
        const double load = static_cast<double>(t.rows_total) * c.per_row;
        const double index = load * c.index_share;
        total += load + index;
        switch (t.phase) {
            case TablePhase::kWaiting:
                break;
            case TablePhase::kLoading:
                done += static_cast<double>(std::min(t.rows_done, t.rows_total)) * c.per_row;
                break;
            case TablePhase::kLoaded:
                done += load;
                break;
            case TablePhase::kIndexing:
                done += load;
                if (t.indexes_total > 0) done += index * t.indexes_done / t.indexes_total;
                break;
            case TablePhase::kDone:
                done += load + index;
                break;
        }
    }
    if (done <= 0 || snapshot.elapsed_seconds <= 0) return total <= 0 ? 0 : -1;
    return std::max(0.0, (total - done) * snapshot.elapsed_seconds / done);
}

std::vector<std::string> format_progress(const ProgressSnapshot& snapshot) {
    std::vector<std::string> lines;
    const bool finished = std::all_of(snapshot.tables.begin(),
                                      snapshot.tables.end(),
                                      [](const TableProgress& t) { return t.phase == TablePhase::kDone; });
    std::string header = "seed: " + clock_time(snapshot.elapsed_seconds);
    if (finished) {
        header += " elapsed, done";
    } else {
        const double left = estimate_seconds_left(snapshot);
        header +=
            left < 0 ? " elapsed, estimating time left" : " elapsed, about " + clock_time(left) + " left";
    }
    lines.push_back(std::move(header));

    std::size_t name_width = 0;
    std::size_t number_width = 0;
    for (const TableProgress& t : snapshot.tables) {
        name_width = std::max(name_width, t.table.size());
        number_width = std::max(number_width, grouped(t.rows_total).size());
    }
    for (const TableProgress& t : snapshot.tables) {
        std::string line = "  " + pad_right(t.table, name_width) + "  " +
                           pad_left(grouped(t.rows_done), number_width) + " / " +
                           pad_left(grouped(t.rows_total), number_width);
        const std::int64_t percent = t.rows_total <= 0
                                         ? (t.phase == TablePhase::kDone ? 100 : 0)
                                         : std::min<std::int64_t>(100, t.rows_done * 100 / t.rows_total);
        line += pad_left(std::to_string(percent) + "%", 6);
        switch (t.phase) {
            case TablePhase::kWaiting:
                line += "  waiting";
                break;
            case TablePhase::kLoading: {
                line += "  loading";
                if (t.load_seconds > 0.5) {
                    const auto rate =
                        static_cast<std::int64_t>(static_cast<double>(t.rows_done) / t.load_seconds);
                    line += ", " + grouped(rate) + " rows/s";
                }
                break;
            }
            case TablePhase::kLoaded:
                line +=
                    "  loaded, " +
                    grouped(t.load_seconds > 0
                                ? static_cast<std::int64_t>(static_cast<double>(t.rows_done) / t.load_seconds)
                                : 0) +
                    " rows/s";
                break;
            case TablePhase::kIndexing:
                line += "  building indexes " + std::to_string(t.indexes_done) + "/" +
                        std::to_string(t.indexes_total);
                break;
            case TablePhase::kDone:
                line += "  done in " + duration(t.total_seconds);
                break;
        }
        lines.push_back(std::move(line));
    }
    return lines;
}

}  // namespace emporium::seed
