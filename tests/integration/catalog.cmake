# Catalog: unit tests of the ranking formula and cursors, service-level integration tests against
# the test PostgreSQL and Redis, query-plan checks on a seeded catalog, and end-to-end tests
# through the real `emporium` binary.
emporium_add_test(NAME catalog_test
    SOURCES unit/catalog_test.cpp unit/rank_index_test.cpp unit/local_cache_test.cpp
    LIBS emporium_catalog LABELS unit)
emporium_add_test(NAME catalog_itest
    SOURCES integration/catalog_service_itest.cpp
    LIBS emporium_catalog LABELS integration
    CONCURRENCY "LoadedOnceUnderConcurrency" "ColdListPageIsLoadedOnce")
# Options and variants: stock, price and ledger per variant, uniqueness, versions, soft delete.
emporium_add_test(NAME variants_itest
    SOURCES integration/variants_itest.cpp
    LIBS emporium_catalog emporium_inventory LABELS integration)
# The rank index against the reference query (property test), facets, the change feed.
emporium_add_test(NAME catalog_rank_itest
    SOURCES integration/catalog_rank_itest.cpp
    LIBS emporium_catalog LABELS integration
    CONCURRENCY "CursorsStayStableWhileSalesHappen")
# Starts the real `emporium` binary.
emporium_add_test(NAME catalog_e2e
    SOURCES e2e/catalog_e2e.cpp
    LIBS emporium_e2e_support emporium_catalog emporium_auth LABELS e2e)
add_dependencies(catalog_e2e emporium)
# Variants through the real binary: admin CRUD, refusals, the detail, an order of a variant.
emporium_add_test(NAME variants_e2e
    SOURCES e2e/variants_e2e.cpp
    LIBS emporium_e2e_support emporium_catalog emporium_auth LABELS e2e)
add_dependencies(variants_e2e emporium)
# EXPLAIN on a seeded catalog: the listing variants use their indexes.
emporium_add_test(NAME catalog_plan_itest
    SOURCES integration/catalog_plan_itest.cpp
    LIBS emporium_catalog emporium_seed LABELS integration)
