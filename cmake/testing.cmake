find_package(GTest REQUIRED)
include(GoogleTest)

# emporium_add_test(NAME name SOURCES a.cpp ... LIBS lib ... LABELS unit|integration|e2e
#                   [PROPERTIES prop value ...] [CONCURRENCY regex ...])
# PROPERTIES are extra CTest properties for every discovered test, e.g. `PROPERTIES RUN_SERIAL TRUE`
# for tests that disturb shared servers. Give one label only: gtest_discover_tests splits a list
# given through PROPERTIES into separate arguments.
# CONCURRENCY: discovered tests whose CTest name (Suite.Test, or Prefix/Suite.Test/param) matches one
# of these regular expressions also get the label `concurrency`; `make test-long` runs them under
# ThreadSanitizer.
# SERIAL: discovered tests whose CTest name matches one of these regular expressions run alone
# (RUN_SERIAL), for a test that loads both cores by itself.
# HEAVY: discovered tests whose CTest name matches one of these regular expressions also get the
# label `heavy`: long runs whose code paths lighter tests already cover (the same flash sale under a
# third and fourth inventory strategy, say). `make test` runs them; `make test-asan` leaves them out
# (-LE heavy), the sanitizers adding nothing there that the lighter tests do not find. (The CTest
# name of a parameterised test ends in "  # GetParam() = …": match the parameter with `( |$)`.)
# LABELS cluster: the test uses the servers of `scripts/services.sh start cluster` (the Makefile
# starts them when the build has such tests); these tests share one cluster and some of them stop
# its nodes, so they run one at a time (RESOURCE_LOCK emporium_cluster), beside the other tests.
# EMPORIUM_STRIP_TEST_DEBUG (the `asan` preset): the test binaries are linked without debug sections
# (-Wl,--strip-debug; the `emporium` binary and the libraries keep theirs). Each statically linked,
# instrumented test binary carried about 400 MB of debug information, 30 GB in all, and CI ran out of
# disk. A sanitizer report from test code then names functions without lines; the `dev` preset
# keeps them.
option(EMPORIUM_STRIP_TEST_DEBUG "Link the test binaries without debug sections" OFF)
function(emporium_strip_test_debug target)
    if(EMPORIUM_STRIP_TEST_DEBUG)
        target_link_options(${target} PRIVATE -Wl,--strip-debug)
    endif()
endfunction()

function(emporium_add_test)
    cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS;PROPERTIES;CONCURRENCY;SERIAL;HEAVY" ${ARGN})
    # gtest_discover_tests passes its PROPERTIES on unquoted, so a list value (two labels) would be
    # split into property names: the cluster label and the lock are set by an include file instead.
    set(cluster_labels "")
    if("cluster" IN_LIST T_LABELS)
        set(cluster_labels "${T_LABELS}")
        list(REMOVE_ITEM T_LABELS cluster)
    endif()
    add_executable(${T_NAME} ${T_SOURCES})
    emporium_strip_test_debug(${T_NAME})
    target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} emporium_test_support GTest::gtest GTest::gtest_main
                                            emporium_options)
    gtest_discover_tests(${T_NAME}
        PROPERTIES LABELS "${T_LABELS}" ${T_PROPERTIES}
        DISCOVERY_TIMEOUT 60)
    if(cluster_labels)
        emporium_add_test_properties(${T_NAME} cluster "LABELS \"${cluster_labels}\" RESOURCE_LOCK emporium_cluster" ".*")
    endif()
    if(T_CONCURRENCY)
        emporium_add_test_label(${T_NAME} concurrency "${T_LABELS}" ${T_CONCURRENCY})
    endif()
    if(T_SERIAL)
        emporium_add_test_properties(${T_NAME} serial "RUN_SERIAL TRUE" ${T_SERIAL})
    endif()
    if(T_HEAVY)
        emporium_add_test_label(${T_NAME} heavy "${T_LABELS}" ${T_HEAVY})
    endif()
    # The contract test (tests/contract/contract.cmake) records what every e2e binary sends.
    if("e2e" IN_LIST T_LABELS)
        set_property(GLOBAL APPEND PROPERTY EMPORIUM_E2E_TEST_TARGETS ${T_NAME})
    endif()
endfunction()

# Sets `properties` (a string such as "RUN_SERIAL TRUE") on the discovered tests of `target` whose
# names match one of the regular expressions (see emporium_add_test_label below for how); `tag`
# names the include file.
function(emporium_add_test_properties target tag properties)
    set(script "foreach(t IN LISTS ${target}_TESTS)\n")
    foreach(regex ${ARGN})
        string(APPEND script "    if(t MATCHES [==[${regex}]==])\n"
                             "        set_tests_properties(\"\${t}\" PROPERTIES ${properties})\n"
                             "    endif()\n")
    endforeach()
    string(APPEND script "endforeach()\n")
    set(file "${CMAKE_CURRENT_BINARY_DIR}/${target}_${tag}_properties.cmake")
    file(WRITE "${file}" "${script}")
    set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${file}")
endfunction()

# Adds `label` to the discovered tests of `target` whose names match one of the regular expressions.
# The test names exist only at test time, so this writes a CTest include file that runs after the one
# of gtest_discover_tests (same directory, later in TEST_INCLUDE_FILES) and walks the `<target>_TESTS`
# list that gtest_discover_tests defines. A target that is not built defines no list: nothing happens.
function(emporium_add_test_label target label base_labels)
    emporium_add_test_properties(${target} ${label} "LABELS \"${base_labels};${label}\"" ${ARGN})
endfunction()
