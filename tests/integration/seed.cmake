# The seeder: unit tests of the pure generator, and integration tests that load shops into fresh
# migrated databases (needs the test PostgreSQL from `make test`) and run `emporium seed` itself.
emporium_add_test(NAME seed_test
    SOURCES unit/seed_test.cpp
    LIBS emporium_seed LABELS unit)
emporium_add_test(NAME seed_itest
    SOURCES integration/seed_itest.cpp
    LIBS emporium_seed LABELS integration)
add_dependencies(seed_itest emporium)
