#pragma once

#include <string>
#include <vector>

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
// EMPORIUM_CLUSTER_DATABASE_URL: a superuser URL to the cluster's PostgreSQL primary (its
// `postgres` database); EMPORIUM_CLUSTER_REPLICA_URLS: the same database on its two streaming
// replicas (comma-separated in the variable).
std::string cluster_database_url();
std::vector<std::string> cluster_replica_urls();
// EMPORIUM_CLUSTER_SERVICES: the services.sh that runs the cluster (stop-node / start-node).
std::string cluster_services();
// Absolute path of the repository (for migrations/, the built binary, …).
std::string source_dir();
// A unique id for names (process id + counter + random).
std::string unique_suffix();

}  // namespace emporium::test
