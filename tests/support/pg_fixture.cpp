#include "support/pg_fixture.hpp"

#include "db/migrate.hpp"
#include "db/pg.hpp"
#include "support/run_coro.hpp"
#include "support/test_env.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace emporium::test {

namespace {

// Serialises template builds across parallel test processes (any constant unlike the migrator's).
constexpr long long kTemplateLockKey = 0x656d705f74706c00;  // "emp_tpl\0"

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using AdminConn = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using AdminResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Test setup may block: blocking libpq keeps the harness small.
AdminConn admin_connect(const std::string& url) {
    AdminConn conn(PQconnectdb(url.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error(std::string("pg_fixture: cannot connect: ") +
                                 (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    }
    return conn;
}

AdminResult exec(PGconn* conn, const std::string& sql) {
    AdminResult res(PQexec(conn, sql.c_str()));
    const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error("pg_fixture: `" + sql + "` failed: " + PQerrorMessage(conn));
    }
    return res;
}

std::string quote_ident(PGconn* conn, const std::string& name) {
    char* q = PQescapeIdentifier(conn, name.c_str(), name.size());
    if (q == nullptr) throw std::runtime_error(std::string("pg_fixture: ") + PQerrorMessage(conn));
    std::string out(q);
    PQfreemem(q);
    return out;
}

bool database_exists(PGconn* conn, const std::string& name) {
    const char* values[] = {name.c_str()};
    AdminResult res(PQexecParams(
        conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, nullptr, values, nullptr, nullptr, 0));
    if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
        throw std::runtime_error(std::string("pg_fixture: pg_database lookup failed: ") +
                                 PQerrorMessage(conn));
    }
    return PQntuples(res.get()) > 0;
}

// Hash over the names and contents of everything in the directory, in name order.
std::string migrations_hash(const std::string& dir) {
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(dir)) {
        for (const auto& e : std::filesystem::directory_iterator(dir)) {
            if (e.is_regular_file()) paths.push_back(e.path());
        }
    }
    std::sort(paths.begin(), paths.end());
    std::string all;
    for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        all += p.filename().string();
        all += '\0';
        all += text.str();
        all += '\0';
    }
    return db::sha256_hex(all).substr(0, 12);
}

boost::asio::awaitable<void> migrate_database(std::string url, std::string dir) {
    db::ConnectionOptions options;
    options.url = std::move(url);
    options.pipeline = false;
    options.query_timeout = std::chrono::seconds(60);
    auto conn = co_await db::Connection::connect(co_await boost::asio::this_coro::executor, options);
    static_cast<void>(co_await db::migrate(*conn, std::move(dir)));
}

void ensure_template(PGconn* admin,
                     const std::string& admin_url,
                     const std::string& dir,
                     const std::string& tpl) {
    exec(admin, "SELECT pg_advisory_lock(" + std::to_string(kTemplateLockKey) + ")");
    try {
        if (!database_exists(admin, tpl)) {
            // Built under a temporary name and renamed when complete, so a crash mid-build never
            // leaves a half-migrated template under the real name.
            const std::string building = tpl + "_building";
            exec(admin, "DROP DATABASE IF EXISTS " + quote_ident(admin, building) + " WITH (FORCE)");
            exec(admin, "CREATE DATABASE " + quote_ident(admin, building));
            run_coro(migrate_database(database_url(admin_url, building), dir), std::chrono::seconds(120));
            exec(admin,
                 "ALTER DATABASE " + quote_ident(admin, building) + " RENAME TO " + quote_ident(admin, tpl));
        }
    } catch (const std::exception&) {
        exec(admin, "SELECT pg_advisory_unlock(" + std::to_string(kTemplateLockKey) + ")");
        throw;
    }
    exec(admin, "SELECT pg_advisory_unlock(" + std::to_string(kTemplateLockKey) + ")");
}

std::string create_from_template(const std::string& tpl) {
    const std::string admin_url = test_database_admin_url();
    auto admin = admin_connect(admin_url);
    const std::string name = "test_" + unique_suffix();
    const std::string tpl_clause = tpl.empty() ? "" : " TEMPLATE " + quote_ident(admin.get(), tpl);
    exec(admin.get(), "CREATE DATABASE " + quote_ident(admin.get(), name) + tpl_clause);
    return database_url(admin_url, name);
}

}  // namespace

std::string database_url(const std::string& url, const std::string& dbname) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw std::runtime_error("pg_fixture: not a URL: " + url);
    boost::urls::url u = *parsed;
    u.set_path("/" + dbname);
    return std::string(u.buffer());
}

std::string create_test_database(const std::string& migrations_dir) {
    const std::string admin_url = test_database_admin_url();
    const std::string tpl = "emporium_tpl_" + migrations_hash(migrations_dir);
    {
        auto admin = admin_connect(admin_url);
        ensure_template(admin.get(), admin_url, migrations_dir, tpl);
    }
    return create_from_template(tpl);
}

std::string create_test_database() {
    return create_test_database(source_dir() + "/migrations");
}

std::string create_empty_database() {
    return create_from_template("");
}

void drop_test_database(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) throw std::runtime_error("pg_fixture: not a URL: " + url);
    std::string name(parsed->path());
    if (!name.empty() && name.front() == '/') name.erase(0, 1);
    if (name.rfind("test_", 0) != 0) throw std::runtime_error("pg_fixture: refusing to drop " + name);
    auto admin = admin_connect(test_database_admin_url());
    exec(admin.get(), "DROP DATABASE IF EXISTS " + quote_ident(admin.get(), name) + " WITH (FORCE)");
}

TestDatabase::TestDatabase() : url(create_test_database()) {}

TestDatabase::~TestDatabase() {
    try {
        drop_test_database(url);
    } catch (const std::exception& e) {
        // A leftover test database is harmless; a throwing destructor is not.
        std::fprintf(stderr, "pg_fixture: %s\n", e.what());
    }
}

const std::string& process_test_database_url() {
    static const TestDatabase db;
    return db.url;
}

}  // namespace emporium::test
