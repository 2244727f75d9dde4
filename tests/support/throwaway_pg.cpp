#include "support/throwaway_pg.hpp"

#include "support/test_env.hpp"

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>

#ifndef EMPORIUM_BINARY
#error "EMPORIUM_BINARY must be defined by the build"
#endif

namespace emporium::test {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

bool running_as_root() {
    return ::geteuid() == 0;
}

// Runs a shell command line (test setup: blocking is fine); throws with its text on failure.
void run(const std::string& command) {
    const int rc = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe, cert-env33-c): test setup
    if (rc != 0) throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + command);
}

std::string as_postgres(const std::string& command) {
    return running_as_root() ? "runuser -u postgres -- " + command : command;
}

// A free TCP port on 127.0.0.1 (bound to port 0, then released).
unsigned short free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(fd, sa, sizeof addr) != 0 || ::getsockname(fd, sa, &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "bind");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace

ThrowawayPostgres::ThrowawayPostgres() {
    std::string pattern = (fs::temp_directory_path() / "emporium-pg-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    base_dir_ = pattern;
    data_dir_ = base_dir_ + "/data";
    if (running_as_root()) run("chown postgres '" + base_dir_ + "'");
    port_ = free_loopback_port();
    std::ostringstream initdb;
    initdb << kPgBin << "/initdb -D '" << data_dir_ << "' -U emporium --auth=trust -E UTF8 --no-locale >'"
           << base_dir_ << "/initdb.log' 2>&1";
    run(as_postgres(initdb.str()));
    {
        std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
        conf << "listen_addresses = '127.0.0.1'\n"
             << "port = " << port_ << "\n"
             << "unix_socket_directories = '" << data_dir_ << "'\n"
             << "max_connections = 100\n"
             << "shared_buffers = 32MB\n"
             << "timezone = 'UTC'\n"
             << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
        if (!conf) throw std::runtime_error("cannot write " + data_dir_ + "/postgresql.conf");
    }
    start();
}

ThrowawayPostgres::~ThrowawayPostgres() {
    try {
        if (running_) stop(false);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ThrowawayPostgres: %s\n", e.what());
    }
    std::error_code ec;
    fs::remove_all(base_dir_, ec);
}

void ThrowawayPostgres::pg_ctl(const std::string& args) const {
    std::ostringstream command;
    command << kPgBin << "/pg_ctl -D '" << data_dir_ << "' " << args << " >/dev/null 2>&1";
    run(as_postgres(command.str()));
}

void ThrowawayPostgres::start() {
    if (running_) return;
    pg_ctl("-l '" + data_dir_ + "/server.log' -w -t 60 start");
    running_ = true;
}

void ThrowawayPostgres::stop(bool fast) {
    if (!running_) return;
    pg_ctl(std::string("-m ") + (fast ? "fast" : "immediate") + " -w -t 60 stop");
    running_ = false;
}

std::string ThrowawayPostgres::url(const std::string& dbname) const {
    return "postgresql://emporium@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

void migrate_database(const std::string& database_url) {
    std::ostringstream command;
    command << "DATABASE_URL='" << database_url << "' MIGRATIONS_DIR='" << source_dir()
            << "/migrations' LOG_LEVEL=warn '" << EMPORIUM_BINARY
            << "' migrate --env-file /nonexistent >/dev/null";
    run(command.str());
}

}  // namespace emporium::test
