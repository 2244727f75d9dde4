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
