#pragma once

#include "core/config.hpp"
#include "seed/seed.hpp"

#include <string>

namespace emporium::app {

using SeedOptions = seed::SeedOptions;

std::string version();

// `emporium serve`: the HTTP API until SIGTERM/SIGINT; returns the process exit code.
int run_serve(const core::Config& config);
// `emporium migrate`: applies pending migrations from MIGRATIONS_DIR.
int run_migrate(const core::Config& config);
// `emporium seed`: deterministic demo data.
int run_seed(const core::Config& config, const SeedOptions& options);

}  // namespace emporium::app
