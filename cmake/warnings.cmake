# Warnings for every Emporium target come from this INTERFACE target.
add_library(emporium_warnings INTERFACE)
target_compile_options(emporium_warnings INTERFACE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wnon-virtual-dtor
    -Wold-style-cast -Woverloaded-virtual)
if(EMPORIUM_WERROR)
    target_compile_options(emporium_warnings INTERFACE -Werror)
endif()
