#include "app/recommend_commands.hpp"
#include "recommend/evaluate.hpp"

#include <cerrno>
#include <fstream>
#include <iostream>
#include <new>
#include <system_error>

namespace emporium::app {
namespace {

int fail(const std::string& message) {
    std::cerr << "recommend evaluate: " << message << "\n";
    return 1;
}

}  // namespace

int run_recommend_evaluate(const RecommendEvaluateOptions& options) {
    const auto format = recommend::parse_basket_format(options.format);
    if (!format) return fail("unknown --format '" + options.format + "' (auto, baskets or transactions)");
    if (!(options.test_fraction > 0.0 && options.test_fraction < 1.0)) {
        return fail("--test-fraction must be between 0 and 1 (exclusive)");
    }

    std::ifstream file;
    const bool from_stdin = options.input == "-";
    if (!from_stdin) {
        file.open(options.input, std::ios::binary);
        if (!file) {
            return fail("cannot open " + options.input + ": " + std::generic_category().message(errno));
        }
    }
    std::istream& in = from_stdin ? std::cin : file;
    const std::string name = from_stdin ? "stdin" : options.input;

    try {
        auto read = recommend::read_baskets(in, *format);
        if (!read) return fail(name + ": " + read.error().message);
        if (read->baskets.empty()) return fail(name + ": no baskets in the input");

        recommend::EvaluateOptions eval;
        eval.test_fraction = options.test_fraction;
        eval.seed = options.seed;
        const auto report = recommend::evaluate(read->baskets, eval);

        std::cout << "input: " << name << " (" << recommend::basket_format_name(read->format) << ", "
                  << read->item_names.size() << " distinct items), seed " << options.seed
                  << ", test fraction " << options.test_fraction << "\n"
                  << recommend::format_report(report);
    } catch (const std::bad_alloc&) {
        return fail(name + ": the input does not fit in memory");
    }
    return std::cout.flush() ? 0 : 1;
}

}  // namespace emporium::app
