#include "db/migrate.hpp"

#include "core/log.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

namespace emporium::db {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

struct MigrationFile {
    int version = 0;
    std::string name;  // file name, e.g. 0001_init.sql
    std::string sql;
    std::string checksum;
};

constexpr Statement kLock{"migrate.lock", "SELECT pg_advisory_lock($1)"};
constexpr Statement kUnlock{"migrate.unlock", "SELECT pg_advisory_unlock($1)"};
constexpr Statement kApplied{"migrate.applied",
                             "SELECT version, name, checksum FROM schema_migrations ORDER BY version"};
constexpr Statement kRecord{"migrate.record",
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"};
constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

// Reading a handful of small files at startup (the migrate command, test setup) is not I/O-thread
// work worth offloading.
std::vector<MigrationFile> read_migrations(const std::string& dir) {
    static const std::regex pattern(R"(^(\d{4})_[a-z0-9_]+\.sql$)");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw MigrationError("migrations directory " + dir + " does not exist");
    std::vector<MigrationFile> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        std::smatch m;
        if (!entry.is_regular_file() || !std::regex_match(name, m, pattern)) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) throw MigrationError("cannot read migration " + name);
        std::ostringstream text;
        text << in.rdbuf();
        MigrationFile f;
        f.version = std::stoi(m[1].str());
        f.name = name;
        f.sql = std::move(text).str();
        f.checksum = sha256_hex(f.sql);
        files.push_back(std::move(f));
    }
    std::sort(files.begin(), files.end(), [](const MigrationFile& a, const MigrationFile& b) {
        return a.name < b.name;
    });
    for (std::size_t i = 1; i < files.size(); ++i) {
        if (files[i].version == files[i - 1].version) {
            throw MigrationError("migrations " + files[i - 1].name + " and " + files[i].name +
                                 " share a version");
        }
    }
    return files;
}

asio::awaitable<void> rollback_quietly(Connection* conn) {
    if (!conn->is_healthy()) co_return;
    try {
        co_await conn->execute_script("ROLLBACK");
    } catch (const DbError& e) {
        // The original failure is what gets reported; a failed ROLLBACK leaves nothing committed.
        core::log::warn("migration rollback failed", {{"error", e.what()}});
    }
}

asio::awaitable<void> apply_one(
    Connection* conn,
    const MigrationFile& file) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                  // awaited directly
    std::exception_ptr failure;
    std::string server_message;
    try {
        co_await conn->execute_script("BEGIN");
        co_await conn->execute_script(file.sql);
        // Params built outside the co_await: GCC 12 miscompiles braced lists inside co_await
        // expressions ("array used as initializer").
        Params record{file.version, file.name, file.checksum};
        static_cast<void>(co_await conn->query(kRecord, std::move(record)));
        co_await conn->execute_script("COMMIT");
        co_return;
    } catch (const DbError& e) {
        failure = std::current_exception();
        server_message = e.what();
    } catch (const core::TimeoutError& e) {
        failure = std::current_exception();
        server_message = e.what();
    }
    co_await rollback_quietly(conn);
    throw MigrationError("migration " + file.name + " failed and was rolled back: " + server_message);
}

asio::awaitable<MigrateReport> migrate_locked(Connection* conn, std::vector<MigrationFile> files) {
    co_await conn->execute_script(std::string(kCreateTable));
    auto applied = co_await conn->query(kApplied);
    std::map<int, const MigrationFile*> by_version;
    for (const auto& f : files) by_version.emplace(f.version, &f);

    MigrateReport report;
    std::map<int, bool> done;
    for (std::size_t row = 0; row < applied.rows(); ++row) {
        const int version = applied.get<std::int32_t>(row, 0);
        const auto name = applied.get<std::string>(row, 1);
        const auto checksum = applied.get<std::string>(row, 2);
        auto it = by_version.find(version);
        if (it == by_version.end()) {
            throw MigrationError("migration " + name + " is recorded as applied but its file is missing");
        }
        if (it->second->name != name || it->second->checksum != checksum) {
            std::string message = "migration " + it->second->name;
            message += " was changed after being applied (recorded as " + name;
            message += " with checksum " + checksum + ", file has " + it->second->checksum;
            message += "); add a new migration instead of editing an applied one";
            throw MigrationError(message);
        }
        done[version] = true;
        ++report.already_applied;
    }
    for (const auto& f : files) {
        if (done.contains(f.version)) continue;
        co_await apply_one(conn, f);
        core::log::info("migration applied", {{"migration", f.name}});
        report.applied.push_back(f.name);
    }
    co_return report;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    if (crypto_hash_sha256(
            digest.data(),
            reinterpret_cast<const unsigned char*>(
                data.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): byte view for the C API
            data.size()) != 0) {
        throw std::runtime_error("crypto_hash_sha256 failed");
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (unsigned char b : digest) {
        out += kHex[b >> 4U];
        out += kHex[b & 0x0FU];
    }
    return out;
}

asio::awaitable<MigrateReport> migrate(Connection& conn, std::string dir) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    auto files = read_migrations(dir);  // before the lock: bad files fail fast
    // A session-level lock: it survives the per-migration COMMITs and serialises concurrent
    // migrators; the second one waits here and then finds everything applied.
    Params lock_key{kMigrationLockKey};
    static_cast<void>(co_await conn.query(kLock, lock_key));
    std::exception_ptr failure;
    MigrateReport report;
    try {
        report = co_await migrate_locked(&conn, std::move(files));
    } catch (const core::InfraError&) {
        failure = std::current_exception();
    }
    if (conn.is_healthy()) {
        // On a failure the original error matters more than a failed unlock (the lock goes away
        // with the session anyway), so an unlock error is only reported when nothing else failed.
        try {
            static_cast<void>(co_await conn.query(kUnlock, lock_key));
        } catch (const DbError& e) {
            if (!failure) throw;
            core::log::warn("migration unlock failed", {{"error", e.what()}});
        }
    }
    if (failure) std::rethrow_exception(failure);
    co_return report;
}

}  // namespace emporium::db
