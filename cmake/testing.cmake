find_package(GTest REQUIRED)
include(GoogleTest)

# emporium_add_test(NAME name SOURCES a.cpp ... LIBS lib ... LABELS unit|integration|e2e
#                   [PROPERTIES prop value ...])
# PROPERTIES are extra CTest properties for every discovered test, e.g. `PROPERTIES RUN_SERIAL TRUE`
# for tests that disturb shared servers. Give one label only: gtest_discover_tests splits a list
# given through PROPERTIES into separate arguments.
function(emporium_add_test)
    cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS;PROPERTIES" ${ARGN})
    add_executable(${T_NAME} ${T_SOURCES})
    target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} emporium_test_support GTest::gtest GTest::gtest_main
                                            emporium_options)
    gtest_discover_tests(${T_NAME}
        PROPERTIES LABELS "${T_LABELS}" ${T_PROPERTIES}
        DISCOVERY_TIMEOUT 60)
endfunction()
