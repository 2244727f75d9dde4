#pragma once
// Offline recommendation commands: they read files, not the database, so they take no core::Config.

#include <cstdint>
#include <string>

namespace emporium::app {

struct RecommendEvaluateOptions {
    std::string input;            // basket file path, or "-" for stdin
    std::string format = "auto";  // auto | baskets | transactions
    double test_fraction = 0.2;   // share of baskets held out, in (0, 1)
    std::uint64_t seed = 42;      // same seed, same split
};

// `emporium recommend evaluate --input FILE`: splits the baskets of FILE into train and test,
// hides one item per test basket and prints HitRate@5/@10 and MRR of every scoring mode and of the
// popularity baseline to stdout. Exit code 0, or 1 (with a message on stderr) when the input cannot
// be read, is malformed, holds no baskets, or an option is out of range.
int run_recommend_evaluate(const RecommendEvaluateOptions& options);

}  // namespace emporium::app
