# Contract tests (docs/testing.md, "Contract tests (OpenAPI)"): the OpenAPI document the server
# serves at /openapi.json, checked by Redocly's linter, by a typed TypeScript client compiled against
# types generated from it, and against every exchange the e2e tests sent through `test::http_call`.
# Included last from tests/CMakeLists.txt, once every e2e target is known.
#
#   contract_log_reset  (fixture contract_log) empties the exchange log; every e2e test requires it
#   contract_openapi    (fixture contract_doc) starts `emporium serve`, saves /openapi.json
#   contract_lint       @redocly/cli lint with tests/contract/redocly.yaml
#   contract_types      openapi-typescript, then tests/contract/client.ts compiled with --strict
#   web_types           the same for the storefront and the admin console (web/tsconfig.json)
#   contract_e2e        tests/contract/validate.mjs on the log, after every e2e test
set(EMPORIUM_CONTRACT_DIR ${CMAKE_BINARY_DIR}/contract)
set(contract_src ${CMAKE_CURRENT_LIST_DIR})
set(contract_log ${EMPORIUM_CONTRACT_DIR}/log)
set(contract_doc ${EMPORIUM_CONTRACT_DIR}/openapi.json)
set(contract_modules ${PROJECT_SOURCE_DIR}/node_modules)

# The Node checks fail (never skip) without Node.js; scripts/deps.sh installs it and node_modules.
find_program(EMPORIUM_NODE node)
if(EMPORIUM_NODE)
    set(contract_node ${EMPORIUM_NODE})
else()
    set(contract_node sh -c "echo 'node not found: run scripts/deps.sh' >&2 && false" node)
endif()

add_executable(contract_fetch_openapi contract/fetch_openapi.cpp)
emporium_strip_test_debug(contract_fetch_openapi)
target_link_libraries(contract_fetch_openapi PRIVATE emporium_e2e_support GTest::gtest GTest::gtest_main
                                                     emporium_options)
add_dependencies(contract_fetch_openapi emporium)

# Labelled e2e, not contract: `ctest -L contract` checks the log of the last e2e run, never empties it.
add_test(NAME contract_log_reset COMMAND ${CMAKE_COMMAND} -E rm -rf ${contract_log})
set_tests_properties(contract_log_reset PROPERTIES LABELS e2e FIXTURES_SETUP contract_log)

add_test(NAME contract_openapi COMMAND contract_fetch_openapi)
set_tests_properties(contract_openapi PROPERTIES
    LABELS contract
    FIXTURES_SETUP contract_doc
    ENVIRONMENT "EMPORIUM_OPENAPI_OUT=${contract_doc}")

add_test(NAME contract_lint
    COMMAND ${contract_node} ${contract_modules}/@redocly/cli/bin/cli.js lint
            --config ${contract_src}/redocly.yaml --format codeframe ${contract_doc})
set_tests_properties(contract_lint PROPERTIES
    LABELS contract
    FIXTURES_REQUIRED contract_doc
    # No telemetry and no update check: the checks stay offline.
    ENVIRONMENT
        "REDOCLY_TELEMETRY=off;REDOCLY_SUPPRESS_UPDATE_NOTICE=true;REDOCLY_SUPPRESS_NOTIFICATIONS=true")

add_test(NAME contract_types
    COMMAND ${contract_node} ${contract_src}/typecheck.mjs
            --doc ${contract_doc} --out ${EMPORIUM_CONTRACT_DIR}/openapi.d.ts)
# Heavy (TypeScript compiles, the same whatever the C++ build): not rerun by `make test-asan`.
set_tests_properties(contract_types PROPERTIES LABELS "contract;heavy" FIXTURES_REQUIRED contract_doc)

# The storefront and the admin console (web/), compiled with --strict against the same generated
# types: an API change that breaks a page's calls fails here, not in a shopper's browser.
add_test(NAME web_types
    COMMAND ${contract_node} ${contract_src}/typecheck.mjs
            --doc ${contract_doc} --out ${EMPORIUM_CONTRACT_DIR}/web/openapi.d.ts --project ${PROJECT_SOURCE_DIR}/web)
set_tests_properties(web_types PROPERTIES LABELS "contract;heavy" FIXTURES_REQUIRED contract_doc)

# The e2e tests exist only once gtest_discover_tests has listed them, at test time: this script runs
# after their CTest include files (later in TEST_INCLUDE_FILES of this directory) and walks the
# `<target>_TESTS` lists. Each e2e test records into the log. contract_e2e is declared here too:
# include files run before the tests declared by add_test() above exist, and it must name every e2e
# test in DEPENDS (which orders without requiring: a failed e2e test does not hide the report).
get_property(contract_e2e_targets GLOBAL PROPERTY EMPORIUM_E2E_TEST_TARGETS)
set(script "set(contract_e2e_tests contract_log_reset)\n")
foreach(target IN LISTS contract_e2e_targets)
    string(APPEND script
        "foreach(t IN LISTS ${target}_TESTS)\n"
        "    set_tests_properties(\"\${t}\" PROPERTIES\n"
        "        ENVIRONMENT_MODIFICATION [==[EMPORIUM_CONTRACT_LOG=set:${contract_log}]==]\n"
        "        FIXTURES_REQUIRED contract_log)\n"
        "    list(APPEND contract_e2e_tests \"\${t}\")\n"
        "endforeach()\n")
endforeach()
set(command "")
foreach(arg IN LISTS contract_node ITEMS ${contract_src}/validate.mjs
        --doc ${contract_doc} --log ${contract_log} --report ${EMPORIUM_CONTRACT_DIR}/report.json)
    string(APPEND command " [==[${arg}]==]")
endforeach()
string(APPEND script
    "add_test(contract_e2e${command})\n"
    "set_tests_properties(contract_e2e PROPERTIES LABELS contract FIXTURES_REQUIRED contract_doc\n"
    "    DEPENDS \"\${contract_e2e_tests}\")\n")
set(contract_include ${CMAKE_CURRENT_BINARY_DIR}/contract_e2e_log.cmake)
file(WRITE ${contract_include} "${script}")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${contract_include})
