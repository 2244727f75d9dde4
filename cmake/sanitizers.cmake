# Sanitizers for the `asan` and `tsan` presets. EMPORIUM_SANITIZE is OFF, ON or address (address +
# undefined behaviour, any UB report is fatal) or thread (ThreadSanitizer; it cannot be combined with
# AddressSanitizer). The same flags go to compile and link lines of every Emporium target.
set(EMPORIUM_SANITIZE_VALUES OFF ON address thread)
set_property(CACHE EMPORIUM_SANITIZE PROPERTY STRINGS ${EMPORIUM_SANITIZE_VALUES})
if(NOT EMPORIUM_SANITIZE IN_LIST EMPORIUM_SANITIZE_VALUES)
    message(FATAL_ERROR "EMPORIUM_SANITIZE must be one of ${EMPORIUM_SANITIZE_VALUES}, not '${EMPORIUM_SANITIZE}'")
endif()

add_library(emporium_sanitizers INTERFACE)
if(EMPORIUM_SANITIZE STREQUAL "thread")
    set(EMPORIUM_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(EMPORIUM_SANITIZE)
    set(EMPORIUM_SANITIZER_FLAGS
        -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
endif()
if(EMPORIUM_SANITIZER_FLAGS)
    target_compile_options(emporium_sanitizers INTERFACE ${EMPORIUM_SANITIZER_FLAGS})
    target_link_options(emporium_sanitizers INTERFACE ${EMPORIUM_SANITIZER_FLAGS})
endif()

# The `fuzz` preset: every project library is instrumented for libFuzzer's coverage feedback and
# the address + undefined sanitizers; only the fuzz targets link the libFuzzer driver
# (-fsanitize=fuzzer, see tests/fuzz/CMakeLists.txt).
if(EMPORIUM_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "EMPORIUM_FUZZ needs clang (libFuzzer); use `cmake --preset fuzz`")
    endif()
    # clang 14 cannot emit UBSan's `function` check for coroutine frames ("Cannot represent a
    # difference across sections"); that check only covers calls through mistyped function pointers.
    target_compile_options(emporium_sanitizers INTERFACE
        -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-omit-frame-pointer
        -fno-sanitize-recover=undefined)
    target_link_options(emporium_sanitizers INTERFACE -fsanitize=address,undefined -fno-sanitize=function)
endif()
