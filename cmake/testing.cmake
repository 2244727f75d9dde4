find_package(GTest REQUIRED)
include(GoogleTest)

# emporium_add_test(NAME name SOURCES a.cpp ... LIBS lib ... LABELS unit|integration|e2e)
function(emporium_add_test)
    cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(${T_NAME} ${T_SOURCES})
    target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} emporium_test_support GTest::gtest GTest::gtest_main
                                            emporium_options)
    gtest_discover_tests(${T_NAME}
        PROPERTIES LABELS "${T_LABELS}"
        DISCOVERY_TIMEOUT 60)
endfunction()
