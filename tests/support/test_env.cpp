#include "support/test_env.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <unistd.h>

#ifndef EMPORIUM_SOURCE_DIR
#error "EMPORIUM_SOURCE_DIR must be defined by the build"
#endif

namespace emporium::test {

std::string required_env(const char* name) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): test setup
    if (v == nullptr || *v == '\0') {
        std::fprintf(stderr,
                     "FATAL: %s is not set. Run the tests with `make test`, which starts PostgreSQL and Redis "
                     "(scripts/services.sh) and exports it.\n",
                     name);
        std::abort();
    }
    return v;
}

std::string test_database_admin_url() { return required_env("EMPORIUM_TEST_DATABASE_URL"); }
std::string test_redis_url() { return required_env("EMPORIUM_TEST_REDIS_URL"); }
std::string cluster_redis_url() { return required_env("EMPORIUM_CLUSTER_REDIS_URL"); }
std::string cluster_database_url() {
    return required_env("EMPORIUM_CLUSTER_DATABASE_URL");
}
std::vector<std::string> cluster_replica_urls() {
    std::vector<std::string> out;
    const auto all = required_env("EMPORIUM_CLUSTER_REPLICA_URLS");
    std::size_t at = 0;
    while (at <= all.size()) {
        const auto comma = all.find(',', at);
        auto item = all.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
        if (!item.empty()) out.push_back(std::move(item));
        if (comma == std::string::npos) break;
        at = comma + 1;
    }
    return out;
}
std::string cluster_services() {
    return required_env("EMPORIUM_CLUSTER_SERVICES");
}
std::string source_dir() { return EMPORIUM_SOURCE_DIR; }

std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    static const unsigned salt = std::random_device{}();
    return std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" + std::to_string(salt % 100000);
}

}  // namespace emporium::test
