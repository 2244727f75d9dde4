# Address + undefined behaviour sanitizers for the `asan` preset.
add_library(emporium_sanitizers INTERFACE)
if(EMPORIUM_SANITIZE)
    target_compile_options(emporium_sanitizers INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(emporium_sanitizers INTERFACE -fsanitize=address,undefined)
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
