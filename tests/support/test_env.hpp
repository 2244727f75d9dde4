#pragma once

#include <string>

namespace emporium::test {

// Reads a required environment variable set by `make test` (scripts/services.sh). Integration
// tests never skip silently: a missing variable aborts the test binary with a clear message.
std::string required_env(const char* name);

// EMPORIUM_TEST_DATABASE_URL: a superuser URL to the test PostgreSQL's `postgres` database.
std::string test_database_admin_url();
// EMPORIUM_TEST_REDIS_URL: redis://127.0.0.1:PORT (tests use unique key prefixes).
std::string test_redis_url();
// EMPORIUM_CLUSTER_REDIS_URL: redis+cluster://… of the local Redis Cluster (scripts/services.sh
// start cluster), for the tests labelled `cluster`.
std::string cluster_redis_url();
// Absolute path of the repository (for migrations/, the built binary, …).
std::string source_dir();
// A unique id for names (process id + counter + random).
std::string unique_suffix();

}  // namespace emporium::test
