# Payment providers: Stripe-style webhook signatures (unit), and the Stripe HTTPS client against a
# fake Stripe-like gateway (tests/support/fake_gateway.py, python3 standard library only, started
# by the test) with injected faults and idempotent retries. Neither needs PostgreSQL or Redis.
emporium_add_test(NAME payments_signature_test
    SOURCES unit/payments_signature_test.cpp
    LIBS emporium_payments_providers LABELS unit)
find_package(CURL 7.85 REQUIRED)  # the test calls the gateway's /_control endpoints with libcurl
emporium_add_test(NAME payments_stripe_itest
    SOURCES integration/payments_stripe_itest.cpp
    LIBS emporium_payments_providers CURL::libcurl LABELS integration)
# The payments service: sandbox tokens, idempotent pay requests, retries that charge once (against
# the fake gateway), webhooks, a webhook racing the worker, and captures that cannot pay their
# order (a second charge, a cancelled or expired order) flagged once.
emporium_add_test(NAME payments_itest
    SOURCES integration/payments_itest.cpp
    LIBS emporium_e2e_support emporium_payments LABELS integration
    CONCURRENCY "ConcurrentDeliveries" "RacingTheWorker" "PaysTheOrderOnce" "SettlingAtOnce")
