# Warnings for every Emporium target come from this INTERFACE target.
add_library(emporium_warnings INTERFACE)
target_compile_options(emporium_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor
    -Wold-style-cast -Woverloaded-virtual)
if(EMPORIUM_WERROR)
    target_compile_options(emporium_warnings INTERFACE -Werror)
endif()
# GCC 12 reports false -Wmismatched-new-delete on Boost.Asio coroutine frames at -O2.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(emporium_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
