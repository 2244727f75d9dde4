emporium_add_test(NAME core_test
    SOURCES unit/config_test.cpp unit/metrics_test.cpp unit/email_test.cpp unit/codec_test.cpp unit/group_commit_test.cpp
    LIBS emporium_core LABELS unit)
emporium_add_test(NAME http_test
    SOURCES unit/router_test.cpp unit/problem_test.cpp unit/server_helpers_test.cpp unit/server_test.cpp
            unit/json_body_test.cpp
    LIBS emporium_http LABELS unit
    CONCURRENCY "ShutdownFinishesInFlight" "RequestBudget")
emporium_add_test(NAME pricing_test
    SOURCES unit/pricing_test.cpp
    LIBS emporium_pricing LABELS unit)
emporium_add_test(NAME webhooks_test
    SOURCES unit/webhooks_test.cpp
    LIBS emporium_webhooks LABELS unit)
# The monitoring files in deploy/: Prometheus rules checked and unit-tested with promtool (unpacked
# by scripts/deps.sh), Grafana dashboards parsed, every metric they name recorded by the code.
add_test(NAME monitoring_rules COMMAND bash ${PROJECT_SOURCE_DIR}/tests/support/check_monitoring.sh)
set_tests_properties(monitoring_rules PROPERTIES LABELS unit TIMEOUT 120)
emporium_add_test(NAME redis_cluster_test
    SOURCES unit/redis_cluster_test.cpp
    LIBS emporium_redis LABELS unit)
# Every key a Lua script in src/ touches comes from KEYS (Redis Cluster routes scripts by them).
emporium_add_test(NAME lua_keys_test
    SOURCES unit/lua_keys_test.cpp
    LABELS unit)
