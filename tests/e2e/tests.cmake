# Support shared by the end-to-end tests: starting the real binary, a blocking HTTP client.
add_library(emporium_e2e_support ${EMPORIUM_LIBRARY_TYPE} e2e/process.cpp e2e/http_client.cpp e2e/e2e_fixture.cpp)
target_link_libraries(emporium_e2e_support PUBLIC emporium_test_support PRIVATE emporium_options)

# Starts the real `emporium` binary and talks HTTP to it.
emporium_add_test(NAME http_e2e
    SOURCES e2e/http_e2e.cpp
    LIBS emporium_e2e_support emporium_http LABELS e2e)
add_dependencies(http_e2e emporium)

# Faults: PostgreSQL and Redis restarted under load, a server and a worker SIGKILLed mid-work.
# Each test starts its own PostgreSQL cluster or redis-server to break (never the shared ones).
emporium_add_test(NAME faults_e2e
    SOURCES e2e/faults_e2e.cpp
    LIBS emporium_e2e_support emporium_lib LABELS e2e)
add_dependencies(faults_e2e emporium)

# Hostile clients (slowloris, slow bodies, connection floods, hostile JSON, SQL metacharacters).
# Serial: the floods and their timing bounds must not compete with other tests for the 2 cores.
emporium_add_test(NAME hostile_e2e
    SOURCES e2e/hostile_e2e.cpp
    LIBS emporium_e2e_support emporium_http emporium_auth LABELS e2e
    PROPERTIES RUN_SERIAL TRUE)
add_dependencies(hostile_e2e emporium)

# Authentication abuse (per-account throttling, IDOR, admin routes, token revocation).
emporium_add_test(NAME abuse_e2e
    SOURCES e2e/abuse_e2e.cpp
    LIBS emporium_e2e_support emporium_auth LABELS e2e)
add_dependencies(abuse_e2e emporium)

# Carts with stock holds, per INVENTORY_STRATEGY: tokens, holds, bad input, flags, merge, checkout.
# The flash sales (500 shoppers, three servers) run alone: two at once took four times as long.
# The sanitizer suite runs the sale with one server killed under the redis strategy only.
emporium_add_test(NAME carts_e2e
    SOURCES e2e/carts_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e
    SERIAL "CartsE2E\\.FlashSale"
    HEAVY "CartsE2E\\.FlashSaleAcrossThreeServersWithOneKilled.*/(pessimistic|optimistic|dual)( |$)")
add_dependencies(carts_e2e emporium)

# Every operation of /openapi.json made to answer its documented error statuses (413, 415, 400, 422,
# 404, 401, 429, 503), so the contract test sees each of them.
emporium_add_test(NAME contract_sweep_e2e
    SOURCES e2e/contract_sweep_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(contract_sweep_e2e emporium)

# Promotions administered by admins: create, read, list, change with If-Match, delete, bad input.
emporium_add_test(NAME promotions_e2e
    SOURCES e2e/promotions_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(promotions_e2e emporium)

# Promotions applied: 1 000 concurrent redemptions of a 100-use code over three servers (per
# strategy, each alone), a per-customer limit, cart codes, release on cancel and expiry, bad codes.
emporium_add_test(NAME redemptions_e2e
    SOURCES e2e/redemptions_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e
    SERIAL "RedemptionsE2E\\.AHundred"
    HEAVY "RedemptionsE2E\\.AHundred.*/(optimistic|dual)( |$)")
add_dependencies(redemptions_e2e emporium)

# Shipping options and tax rates: admin routes and bad input, a cart's shipping and tax per line,
# the order's parts, the rules once rates exist, prices that include tax.
emporium_add_test(NAME shipping_e2e
    SOURCES e2e/shipping_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(shipping_e2e emporium)

# Refunds through the server and the worker (sandbox provider): by lines and amount, retries with
# the refund's key, replays, 20 concurrent partial refunds, a webhook settling one, bad input.
emporium_add_test(NAME refunds_e2e
    SOURCES e2e/refunds_e2e.cpp
    LIBS emporium_e2e_support emporium_payments LABELS e2e)
add_dependencies(refunds_e2e emporium)

# Webhooks out through the server, worker and scheduler to a receiver that fails, hangs and answers
# late (tests/support/fake_webhook_receiver.py checks the signatures itself): at least once, signed;
# 4xx stops retries, 429 does not; dead after the last attempt; replay; product and low-stock
# events; the admin routes and bad input.
emporium_add_test(NAME webhooks_e2e
    SOURCES e2e/webhooks_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(webhooks_e2e emporium)

# The admin console's and the storefront's server side: the pages and assets (CSP, caching), every
# customer's orders, a variant's ledger, the audit, the recommendations' rebuild from the API.
emporium_add_test(NAME console_e2e
    SOURCES e2e/console_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e)
add_dependencies(console_e2e emporium)

# Chromium (Debian's) driven by playwright-core through the storefront and the console
# (tests/browser/*.mjs); `ctest -L browser` runs them alone. Serial: a browser and the shop's three
# processes would compete with other tests for the two cores and make the page timings meaningless.
# Heavy: they test the pages; the server paths they take are the e2e suites' (not under sanitizers).
emporium_add_test(NAME browser_e2e
    SOURCES e2e/browser_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e
    PROPERTIES RUN_SERIAL TRUE)
emporium_add_test_label(browser_e2e browser "e2e;heavy" "BrowserE2E")
add_dependencies(browser_e2e emporium)

# The cluster suite: scenarios of the suites above run again with Redis on the local Redis
# Cluster (tests/support/on_cluster.sh): auth, rate limits, catalog and its cache, a flash sale
# through three servers per Redis-backed strategy, a cart's holds, jobs and the recommendations'
# rebuild. Labels e2e + cluster; one at a time, like every test of the cluster.
function(emporium_add_cluster_run target filter)
    add_test(NAME cluster.${target}
             COMMAND bash ${PROJECT_SOURCE_DIR}/tests/support/on_cluster.sh $<TARGET_FILE:${target}>
                     --gtest_filter=${filter})
    set_tests_properties(cluster.${target} PROPERTIES
        LABELS "e2e;cluster" RESOURCE_LOCK emporium_cluster TIMEOUT 900)
endfunction()
emporium_add_cluster_run(auth_e2e
    "AuthE2E.RegisterLoginAndMe:AuthE2E.RefreshRotatesAndReuseRevokesTheFamily:AuthE2E.AuthRateLimitAdmitsExactlyTheBurstUnderConcurrency")
emporium_add_cluster_run(abuse_e2e "AbuseE2E.PasswordGuessingFromManyAddressesIsThrottledPerAccount")
emporium_add_cluster_run(catalog_e2e "CatalogE2E.*")
emporium_add_cluster_run(orders_e2e "*FlashSaleThroughThreeServersSellsExactlyTheStock/dual:*FlashSaleThroughThreeServersSellsExactlyTheStock/redis")
emporium_add_cluster_run(carts_e2e "*GuestCartHoldsMergesAndChecksOutOnce/redis")
emporium_add_cluster_run(jobs_e2e
    "JobsE2E.APaidOrderGetsItsEmailAndReceiptAndUnpaidOrdersExpire:JobsE2E.AWorkerKilledMidJobLeavesItsJobsToBeReclaimedAndDoneOnce:JobsE2E.TheScheduledRebuildFeedsBothRecommendationEndpoints")
# Failover on the cluster: a master SIGKILLed mid flash sale and mid payments (its replica is
# promoted). Only through on_cluster.sh: its servers must talk to the cluster.
add_executable(cluster_failover_e2e e2e/cluster_failover_e2e.cpp)
emporium_strip_test_debug(cluster_failover_e2e)
target_link_libraries(cluster_failover_e2e PRIVATE emporium_e2e_support emporium_redis emporium_test_support
                                                   GTest::gtest GTest::gtest_main emporium_options)
add_dependencies(cluster_failover_e2e emporium)
emporium_add_cluster_run(cluster_failover_e2e "*")
# Read replicas on the local cluster (scripts/services.sh start cluster): read-your-writes and the
# cache's fill position with replay paused on one replica. Alone: it pauses a shared replica.
emporium_add_test(NAME replicas_e2e
    SOURCES e2e/replicas_e2e.cpp
    LIBS emporium_e2e_support LABELS e2e
    PROPERTIES RUN_SERIAL TRUE)
emporium_add_test_label(replicas_e2e cluster e2e ".*")
add_dependencies(replicas_e2e emporium)
