#!/usr/bin/env bash
# Runs a test binary of the e2e suite with Redis on the local Redis Cluster: the cluster suite.
#   tests/support/on_cluster.sh <test binary> [gtest arguments]
# The tests' Redis (EMPORIUM_TEST_REDIS_URL, which every `emporium` process they start is given)
# becomes the cluster's redis+cluster:// URL, and Redlock goes to the profile's independent lock
# masters. PostgreSQL stays the test profile's. Needs `scripts/services.sh start cluster` (the
# Makefile starts it and exports EMPORIUM_CLUSTER_*); a missing variable fails the test.
set -euo pipefail
: "${EMPORIUM_CLUSTER_REDIS_URL:?the cluster suite needs scripts/services.sh start cluster (EMPORIUM_CLUSTER_REDIS_URL)}"
: "${EMPORIUM_CLUSTER_REDIS_LOCK_URLS:?the cluster suite needs scripts/services.sh start cluster (EMPORIUM_CLUSTER_REDIS_LOCK_URLS)}"
export EMPORIUM_TEST_REDIS_URL="$EMPORIUM_CLUSTER_REDIS_URL"
export REDIS_LOCK_URLS="$EMPORIUM_CLUSTER_REDIS_LOCK_URLS"
# Every master has a replica: an enqueue counts once one of them has it (a failover keeps it).
export JOBS_ENQUEUE_REPLICA_ACKS=1
exec "$@"
