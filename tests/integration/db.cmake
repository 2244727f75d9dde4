# The migration script splitter and progress text (no server).
emporium_add_test(NAME db_test
    SOURCES unit/migrate_split_test.cpp
            unit/db_lsn_test.cpp
    LIBS emporium_db LABELS unit)

# PostgreSQL client, pool, COPY and migrations against the real test server.
emporium_add_test(NAME db_itest
    SOURCES integration/db_types_itest.cpp
            integration/db_pool_itest.cpp
            integration/db_errors_itest.cpp
            integration/db_copy_itest.cpp
    LIBS emporium_db LABELS integration
    CONCURRENCY "^DbPipeline\\." "^DbPool\\.")

emporium_add_test(NAME db_migrate_itest
    SOURCES integration/db_migrate_itest.cpp
    LIBS emporium_db LABELS integration
    CONCURRENCY "ConcurrentMigrators" "ConcurrentIndexBuild" "SecondMigratorWaits")

# Restarts the shared test PostgreSQL: must not run alongside anything else (RUN_SERIAL).
emporium_add_test(NAME db_restart_itest
    SOURCES integration/db_restart_itest.cpp
    LIBS emporium_db LABELS integration
    PROPERTIES RUN_SERIAL TRUE)

# Read replicas (db::ReplicaSet) against the local cluster (scripts/services.sh start cluster;
# EMPORIUM_CLUSTER_DATABASE_URL, EMPORIUM_CLUSTER_REPLICA_URLS). It pauses replay on a replica and
# stops one, so it runs alone.
emporium_add_test(NAME db_replicas_itest
    SOURCES integration/db_replicas_itest.cpp
    LIBS emporium_db LABELS integration
    PROPERTIES RUN_SERIAL TRUE)
# The second label after discovery (two labels through LABELS would be split into arguments).
emporium_add_test_label(db_replicas_itest cluster integration ".*")

# GCC 12 reports a false -Wmismatched-new-delete for Asio's coroutine frames (awaitable_frame_base
# has a matching class-level operator new/delete pair) depending on inlining decisions across a
# translation unit (GCC PR 109224-like); it is fixed in later GCC versions.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    foreach(t db_test db_itest db_migrate_itest db_restart_itest db_replicas_itest)
        target_compile_options(${t} PRIVATE -Wno-mismatched-new-delete)
    endforeach()
endif()
