# Every third-party dependency is found here, with its minimum version. The Debian packages that
# provide them are pinned in scripts/deps.sh.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(spdlog 1.10 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(PostgreSQL 15 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis>=0.14)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt>=1.10)
find_package(OpenSSL 3 REQUIRED)

# Settings shared by every target that uses Boost.Asio.
add_library(emporium_boost INTERFACE)
target_link_libraries(emporium_boost INTERFACE Boost::headers Boost::json Boost::url Threads::Threads)
target_compile_definitions(emporium_boost INTERFACE
    BOOST_ASIO_NO_DEPRECATED
    BOOST_ASIO_DISABLE_BOOST_COROUTINE)

# Common options for project targets: warnings, sanitizers.
add_library(emporium_options INTERFACE)
target_link_libraries(emporium_options INTERFACE emporium_warnings emporium_sanitizers)
