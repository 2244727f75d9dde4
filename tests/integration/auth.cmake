# Authentication and rate limiting: pure unit tests, service-level integration tests against the
# test PostgreSQL and Redis, and end-to-end tests through the real `emporium` binary.
emporium_add_test(NAME auth_test
    SOURCES unit/auth_jwt_test.cpp unit/auth_password_test.cpp unit/auth_middleware_test.cpp
            unit/ratelimit_policy_test.cpp
    LIBS emporium_auth emporium_ratelimit LABELS unit)
emporium_add_test(NAME auth_itest
    SOURCES integration/auth_service_itest.cpp
    LIBS emporium_auth LABELS integration
    CONCURRENCY "ConcurrentRefreshes")
emporium_add_test(NAME ratelimit_itest
    SOURCES integration/ratelimit_itest.cpp
    LIBS emporium_ratelimit LABELS integration
    CONCURRENCY "UnderConcurrency")
# Starts the real `emporium` binary (serve and create-admin).
emporium_add_test(NAME auth_e2e
    SOURCES e2e/auth_e2e.cpp
    LIBS emporium_e2e_support emporium_auth LABELS e2e
    CONCURRENCY "ConcurrentRefreshes" "UnderConcurrency")
add_dependencies(auth_e2e emporium)
