# Address + undefined behaviour sanitizers for the `asan` preset.
add_library(emporium_sanitizers INTERFACE)
if(EMPORIUM_SANITIZE)
    target_compile_options(emporium_sanitizers INTERFACE
        -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
    target_link_options(emporium_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
