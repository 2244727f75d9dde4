#pragma once
// A private PostgreSQL 15 cluster for tests that stop, restart or crash the database server
// (doing that to the shared test server would break the tests running in parallel).

#include <string>

namespace emporium::test {

// initdb into a fresh temporary directory (owned by the `postgres` user when running as root,
// since PostgreSQL refuses to run as root), on a free loopback port, with test settings (no
// fsync). The constructor initialises and starts the cluster; the destructor stops it
// (immediate mode) and removes the directory. Blocking: use from test code only, never from
// inside an io_context.
class ThrowawayPostgres {
public:
    ThrowawayPostgres();
    ~ThrowawayPostgres();  // NOLINT(bugprone-exception-escape): cleanup only logs
    ThrowawayPostgres(const ThrowawayPostgres&) = delete;
    ThrowawayPostgres& operator=(const ThrowawayPostgres&) = delete;

    // Starts the server and waits until it accepts connections. Throws std::runtime_error.
    void start();
    // Stops the server: `fast` disconnects clients and rolls back open transactions (what an
    // operator's restart does); otherwise `immediate` (like a crash: recovery on next start).
    void stop(bool fast = true);
    bool is_running() const { return running_; }

    unsigned short port() const { return port_; }
    // postgresql://emporium@127.0.0.1:<port>/<dbname> (superuser `emporium`, trust auth).
    std::string url(const std::string& dbname = "postgres") const;
    const std::string& data_dir() const { return data_dir_; }

private:
    void pg_ctl(const std::string& args) const;

    std::string base_dir_;
    std::string data_dir_;
    unsigned short port_ = 0;
    bool running_ = false;
};

// Runs `emporium migrate` with the repository's migrations/ against `database_url`; throws std::runtime_error
// when it fails.
void migrate_database(const std::string& database_url);

}  // namespace emporium::test
