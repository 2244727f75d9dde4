# Redis client integration tests: need the test Redis from `make test` (EMPORIUM_TEST_REDIS_URL).
# redis_restart_itest also starts private redis-server processes (it stops and restarts them).
emporium_add_test(NAME redis_client_itest
    SOURCES integration/redis_client_itest.cpp
    LIBS emporium_redis LABELS integration
    CONCURRENCY "ConcurrentCommands" "Pipeline" "TimeoutFailsOtherInFlightCommands")
emporium_add_test(NAME redis_dump_itest
    SOURCES integration/redis_dump_itest.cpp
    LIBS emporium_redis LABELS integration)
emporium_add_test(NAME redis_restart_itest
    SOURCES integration/redis_restart_itest.cpp
    LIBS emporium_redis LABELS integration)
emporium_add_test(NAME redis_subscriber_itest
    SOURCES integration/redis_subscriber_itest.cpp
    LIBS emporium_redis LABELS integration)
# Needs the local Redis Cluster (scripts/services.sh start cluster; EMPORIUM_CLUSTER_REDIS_URL).
# It moves slots between masters and back, so it runs alone.
emporium_add_test(NAME redis_cluster_itest
    SOURCES integration/redis_cluster_itest.cpp
    LIBS emporium_redis LABELS integration cluster)
