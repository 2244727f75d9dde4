# Orders and inventory: unit tests of the state machine, validation and Redlock arithmetic;
# service-level integration tests of every inventory strategy against the test PostgreSQL and
# Redis; the flash sale through three real `emporium serve` processes.
emporium_add_test(NAME orders_test
    SOURCES unit/orders_test.cpp
    LIBS emporium_orders LABELS unit
    CONCURRENCY "^Redlock\\.")
emporium_add_test(NAME orders_itest
    SOURCES integration/orders_service_itest.cpp
    LIBS emporium_orders LABELS integration
    CONCURRENCY "TwoHundredBuyers" "DoNotDeadlock" "IdempotentReplay" "StaleFencingToken" "Redlock"
                "NeitherOversellsNorLosesUnits")
# Starts three real `emporium serve` processes per test.
emporium_add_test(NAME orders_e2e
    SOURCES e2e/orders_e2e.cpp
    LIBS emporium_e2e_support emporium_orders emporium_auth LABELS e2e
    CONCURRENCY "FlashSale" "ServerKilledMidSale")
add_dependencies(orders_e2e emporium)
emporium_add_test(NAME orders_api_e2e
    SOURCES e2e/orders_api_e2e.cpp
    LIBS emporium_e2e_support emporium_orders emporium_auth LABELS e2e)
add_dependencies(orders_api_e2e emporium)
# A checkout running out of its request budget while its product row is locked: 503 at the budget,
# the handler runs on and cleans up (mirror, Redlock keys, Idempotency-Key), for every strategy.
emporium_add_test(NAME request_budget_e2e
    SOURCES e2e/request_budget_e2e.cpp
    LIBS emporium_e2e_support emporium_orders emporium_auth LABELS e2e)
add_dependencies(request_budget_e2e emporium)
