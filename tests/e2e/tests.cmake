# Starts the real `emporium` binary and talks HTTP to it.
emporium_add_test(NAME http_e2e
    SOURCES e2e/http_e2e.cpp e2e/process.cpp
    LIBS emporium_http LABELS e2e)
add_dependencies(http_e2e emporium)
