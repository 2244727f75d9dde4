# The seeder: unit tests of the pure generator, and an integration test that loads small shops
# into fresh migrated databases (needs the test PostgreSQL from `make test`).
emporium_add_test(NAME seed_test
    SOURCES unit/seed_test.cpp
    LIBS emporium_seed LABELS unit)
emporium_add_test(NAME seed_itest
    SOURCES integration/seed_itest.cpp
    LIBS emporium_seed LABELS integration)
