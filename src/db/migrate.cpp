#include "db/migrate.hpp"

#include "core/log.hpp"
#include "core/spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>

namespace emporium::db {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);

// ---- lexing ---------------------------------------------------------------------------------------
// Just enough of PostgreSQL's lexical structure to find statement boundaries and to read the head
// of a CREATE INDEX statement.

enum class TokenKind { kWord, kQuotedIdentifier, kString, kNumber, kSymbol };

struct Token {
    TokenKind kind = TokenKind::kSymbol;
    std::string value;  // words lowercased (as PostgreSQL folds them), quoted identifiers unescaped
};

struct LexedStatement {
    SqlStatement statement;
    std::vector<Token> tokens;
};

bool is_ident_start(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u >= 0x80;
}

bool is_ident_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return is_ident_start(c) || (u >= '0' && u <= '9') || u == '$';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

class Lexer {
public:
    explicit Lexer(std::string_view sql) : sql_(sql) {}

    std::vector<LexedStatement> run() {
        std::vector<LexedStatement> out;
        LexedStatement current;
        std::size_t start = 0;  // offset of the current statement's first token
        std::size_t end = 0;    // offset just past its last token
        while (true) {
            skip_space_and_comments();
            if (pos_ >= sql_.size()) break;
            if (sql_[pos_] == ';') {
                ++pos_;
                finish(out, current, start, end);
                continue;
            }
            const std::size_t token_start = pos_;
            const int token_line = line_;
            Token t = next_token();
            if (current.tokens.empty()) {
                start = token_start;
                current.statement.line = token_line;
            }
            current.tokens.push_back(std::move(t));
            end = pos_;
        }
        finish(out, current, start, end);
        return out;
    }

private:
    void finish(std::vector<LexedStatement>& out,
                LexedStatement& current,
                std::size_t start,
                std::size_t end) {
        if (current.tokens.empty()) return;
        current.statement.text = std::string(sql_.substr(start, end - start));
        out.push_back(std::move(current));
        current = LexedStatement{};
    }

    [[noreturn]] static void fail(const std::string& what, int line) {
        throw MigrationError("line " + std::to_string(line) + ": " + what);
    }

    void advance() {
        if (sql_[pos_] == '\n') ++line_;
        ++pos_;
    }

    bool at(std::string_view s) const { return sql_.substr(pos_, s.size()) == s; }

    void skip_space_and_comments() {
        while (pos_ < sql_.size()) {
            const char c = sql_[pos_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                advance();
            } else if (at("--")) {
                while (pos_ < sql_.size() && sql_[pos_] != '\n') advance();
            } else if (at("/*")) {
                skip_block_comment();
            } else {
                return;
            }
        }
    }

    void skip_block_comment() {
        const int opened = line_;
        int depth = 0;
        while (pos_ < sql_.size()) {
            if (at("/*")) {
                ++depth;
                pos_ += 2;
            } else if (at("*/")) {
                --depth;
                pos_ += 2;
                if (depth == 0) return;
            } else {
                advance();
            }
        }
        fail("unterminated /* comment", opened);
    }

    // '…' with '' as an escaped quote; with `backslashes` (E'…') a backslash escapes any character.
    void skip_string(bool backslashes) {
        const int opened = line_;
        advance();  // the opening quote
        while (pos_ < sql_.size()) {
            const char c = sql_[pos_];
            if (backslashes && c == '\\' && pos_ + 1 < sql_.size()) {
                advance();
                advance();
            } else if (c == '\'') {
                advance();
                if (pos_ < sql_.size() && sql_[pos_] == '\'') {
                    advance();
                    continue;
                }
                return;
            } else {
                advance();
            }
        }
        fail("unterminated quoted string", opened);
    }

    std::string read_quoted_identifier() {
        const int opened = line_;
        advance();
        std::string value;
        while (pos_ < sql_.size()) {
            const char c = sql_[pos_];
            advance();
            if (c == '"') {
                if (pos_ < sql_.size() && sql_[pos_] == '"') {
                    value += '"';
                    advance();
                    continue;
                }
                return value;
            }
            value += c;
        }
        fail("unterminated quoted identifier", opened);
    }

    // At a '$': the length of a dollar-quote delimiter ($$ or $tag$) starting here, or 0.
    std::size_t dollar_delimiter_length() const {
        std::size_t i = pos_ + 1;
        if (i < sql_.size() && is_ident_start(sql_[i])) {
            while (i < sql_.size() && is_ident_char(sql_[i]) && sql_[i] != '$') ++i;
        }
        if (i < sql_.size() && sql_[i] == '$') return i + 1 - pos_;
        return 0;
    }

    void skip_dollar_quoted(std::size_t delimiter_length) {
        const int opened = line_;
        const std::string delimiter(sql_.substr(pos_, delimiter_length));
        for (std::size_t i = 0; i < delimiter_length; ++i) advance();
        while (pos_ < sql_.size()) {
            if (at(delimiter)) {
                for (std::size_t i = 0; i < delimiter_length; ++i) advance();
                return;
            }
            advance();
        }
        fail("unterminated dollar-quoted string " + delimiter, opened);
    }

    Token next_token() {
        const char c = sql_[pos_];
        if (c == '\'') {
            skip_string(false);
            return Token{TokenKind::kString, {}};
        }
        if (c == '"') return Token{TokenKind::kQuotedIdentifier, read_quoted_identifier()};
        if (c == '$') {
            if (const auto n = dollar_delimiter_length(); n > 0) {
                skip_dollar_quoted(n);
                return Token{TokenKind::kString, {}};
            }
            advance();  // a parameter ($1) or an operator character
            return Token{TokenKind::kSymbol, "$"};
        }
        if ((c == 'e' || c == 'E') && pos_ + 1 < sql_.size() && sql_[pos_ + 1] == '\'') {
            advance();
            skip_string(true);
            return Token{TokenKind::kString, {}};
        }
        if (is_ident_start(c)) {
            std::string word;
            while (pos_ < sql_.size() && is_ident_char(sql_[pos_])) {
                word += ascii_lower(sql_[pos_]);
                advance();
            }
            return Token{TokenKind::kWord, std::move(word)};
        }
        if (is_digit(c)) {
            std::string number;
            while (pos_ < sql_.size() && (is_ident_char(sql_[pos_]) || sql_[pos_] == '.') &&
                   sql_[pos_] != '$') {
                number += sql_[pos_];
                advance();
            }
            return Token{TokenKind::kNumber, std::move(number)};
        }
        advance();
        return Token{TokenKind::kSymbol, std::string(1, c)};
    }

    std::string_view sql_;
    std::size_t pos_ = 0;
    int line_ = 1;
};

// ---- migration files ------------------------------------------------------------------------------

// The table and name of the index a CREATE INDEX statement builds.
struct IndexTarget {
    std::string name;   // as stored in pg_class.relname (before truncation to 63 bytes)
    std::string table;  // as written, quoted where it was quoted: input for to_regclass()
};

struct Step {
    std::string sql;
    int line = 0;
    std::optional<IndexTarget> index;  // set for CREATE INDEX
};

struct MigrationFile {
    int version = 0;
    std::string name;  // file name, e.g. 0001_init.sql
    std::string sql;
    std::string checksum;
    bool transactional = true;
    std::vector<Step> steps;  // no-transaction migrations only
};

constexpr Statement kTryLock{"migrate.try_lock", "SELECT pg_try_advisory_lock($1)"};
constexpr Statement kUnlock{"migrate.unlock", "SELECT pg_advisory_unlock($1)"};
constexpr Statement kApplied{"migrate.applied",
                             "SELECT version, name, checksum FROM schema_migrations ORDER BY version"};
constexpr Statement kRecord{"migrate.record",
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"};
constexpr Statement kBackendPid{"migrate.backend_pid", "SELECT pg_backend_pid()"};
// The index of that name on that table (its regclass text is quoted and, outside the search
// path, schema-qualified). ::name truncates like the server does for identifiers.
constexpr Statement kIndexState{"migrate.index_state",
                                "SELECT ix.indexrelid::regclass::text, ix.indisvalid"
                                "  FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid"
                                " WHERE c.relname = $1::name AND ix.indrelid = to_regclass($2)"};
constexpr Statement kProgress{
    "migrate.progress",
    "SELECT p.command, p.phase,"
    "       CASE WHEN p.index_relid = 0 THEN '' ELSE p.index_relid::regclass::text END,"
    "       p.relid::regclass::text, p.lockers_total, p.lockers_done, p.current_locker_pid,"
    "       p.blocks_total, p.blocks_done, p.tuples_total, p.tuples_done"
    "  FROM pg_stat_progress_create_index p WHERE p.pid = $1"};
constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

bool is_word(const std::vector<Token>& tokens, std::size_t i, std::string_view word) {
    return i < tokens.size() && tokens[i].kind == TokenKind::kWord && tokens[i].value == word;
}

bool is_name(const std::vector<Token>& tokens, std::size_t i) {
    return i < tokens.size() &&
           (tokens[i].kind == TokenKind::kWord || tokens[i].kind == TokenKind::kQuotedIdentifier);
}

std::string quoted_for_regclass(const Token& t) {
    if (t.kind == TokenKind::kWord) return t.value;
    std::string out = "\"";
    for (char c : t.value) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

// CREATE [UNIQUE] INDEX [CONCURRENTLY] [IF NOT EXISTS] [name] ON [ONLY] table …: std::nullopt if
// the statement is not a CREATE INDEX; throws (with `where`) if it is one that a no-transaction
// migration cannot re-run safely.
std::optional<IndexTarget> index_target(const std::vector<Token>& t, const std::string& where) {
    std::size_t i = 0;
    if (!is_word(t, i++, "create")) return std::nullopt;
    if (is_word(t, i, "unique")) ++i;
    if (!is_word(t, i++, "index")) return std::nullopt;
    if (is_word(t, i, "concurrently")) ++i;
    const bool if_not_exists = is_word(t, i, "if") && is_word(t, i + 1, "not") && is_word(t, i + 2, "exists");
    if (!if_not_exists) {
        throw MigrationError(where +
                             ": CREATE INDEX in a no-transaction migration needs IF NOT EXISTS and an "
                             "index name, so that running the file again skips or repairs the index");
    }
    i += 3;
    if (!is_name(t, i) || !is_word(t, i + 1, "on")) {
        throw MigrationError(where + ": cannot read the index name and table of this CREATE INDEX");
    }
    IndexTarget target;
    target.name = t[i].value;
    i += 2;
    if (is_word(t, i, "only")) ++i;
    if (!is_name(t, i)) throw MigrationError(where + ": cannot read the table of this CREATE INDEX");
    target.table = quoted_for_regclass(t[i++]);
    while (i + 1 < t.size() && t[i].kind == TokenKind::kSymbol && t[i].value == "." && is_name(t, i + 1)) {
        target.table += "." + quoted_for_regclass(t[i + 1]);
        i += 2;
    }
    return target;
}

// Checks a no-transaction migration's statements and builds its steps.
std::vector<Step> plan_steps(const MigrationFile& file) {
    std::vector<LexedStatement> statements;
    try {
        statements = Lexer(file.sql).run();
    } catch (const MigrationError& e) {
        throw MigrationError("migration " + file.name + ", " + e.what());
    }
    std::vector<Step> steps;
    for (auto& s : statements) {
        const std::string where = "migration " + file.name + ", line " + std::to_string(s.statement.line);
        const auto& t = s.tokens;
        static constexpr std::array<std::string_view, 8> kTransactionControl = {
            "begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release"};
        if (t.front().kind == TokenKind::kWord &&
            std::find(kTransactionControl.begin(), kTransactionControl.end(), t.front().value) !=
                kTransactionControl.end()) {
            throw MigrationError(
                where + ": transaction control (" + t.front().value +
                ") has no place in a no-transaction migration: each statement commits "
                "on its own; use a transactional migration for statements that belong together");
        }
        for (std::size_t i = 0; i + 1 < t.size(); ++i) {
            if (is_word(t, i, "begin") && is_word(t, i + 1, "atomic")) {
                throw MigrationError(where +
                                     ": BEGIN ATOMIC bodies cannot be split into statements here; "
                                     "create such a function in a transactional migration");
            }
        }
        Step step;
        step.line = s.statement.line;
        step.index = index_target(t, where);
        step.sql = std::move(s.statement.text);
        steps.push_back(std::move(step));
    }
    return steps;
}

// Reads the mode from the first line: the marker, or anything that is not an "-- emporium:" line.
bool is_transactional(const MigrationFile& f) {
    std::string_view first(f.sql);
    first = first.substr(0, first.find('\n'));
    while (!first.empty() && (first.back() == '\r' || first.back() == ' ' || first.back() == '\t')) {
        first.remove_suffix(1);
    }
    if (first == kNoTransactionMarker) return false;
    if (first.starts_with("-- emporium:")) {
        throw MigrationError("migration " + f.name + ": unknown directive `" + std::string(first) +
                             "` (the only one is `" + std::string(kNoTransactionMarker) + "`)");
    }
    return true;
}

// Reading a handful of small files at startup (the migrate command, test setup) is not I/O-thread
// work worth offloading.
std::vector<MigrationFile> read_migrations(const std::string& dir) {
    static const std::regex kPattern(R"(^(\d{4})_[a-z0-9_]+\.sql$)");
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw MigrationError("migrations directory " + dir + " does not exist");
    std::vector<MigrationFile> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        std::smatch m;
        if (!entry.is_regular_file() || !std::regex_match(name, m, kPattern)) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        if (!in) throw MigrationError("cannot read migration " + name);
        std::ostringstream text;
        text << in.rdbuf();
        MigrationFile f;
        f.version = std::stoi(m[1].str());
        f.name = name;
        f.sql = std::move(text).str();
        f.checksum = sha256_hex(f.sql);
        f.transactional = is_transactional(f);
        if (!f.transactional) f.steps = plan_steps(f);
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

// ---- progress -------------------------------------------------------------------------------------

// The monitoring side of one run: a second connection and what it needs to report.
struct Monitor {
    std::unique_ptr<Connection> conn;
    std::int32_t migrator_pid = 0;
    std::chrono::milliseconds interval{5'000};
    std::chrono::milliseconds log_interval{5'000};
    std::function<void(const IndexBuildProgress&)> on_progress;
    SteadyClock::time_point last_log{};
    bool failed = false;  // after a failure of the monitoring connection: no more reports

    void report(const IndexBuildProgress& p) const {
        if (on_progress) {
            on_progress(p);
        } else if (p.log_due) {
            log_index_build_progress(p);
        }
    }
};

// One statement being watched. The watcher sets `finished` (and cancels `done`) when it exits.
struct Watch {
    explicit Watch(const asio::any_io_executor& ex) : wake(ex), done(ex) {}
    asio::steady_timer wake;
    asio::steady_timer done;
    SteadyClock::time_point started = SteadyClock::now();
    bool stop = false;
    bool finished = false;
    std::optional<IndexBuildProgress> last;
};

struct WatchFinished {
    explicit WatchFinished(std::shared_ptr<Watch> w) : watch(std::move(w)) {}
    std::shared_ptr<Watch> watch;
    WatchFinished(const WatchFinished&) = delete;
    WatchFinished& operator=(const WatchFinished&) = delete;
    ~WatchFinished() {
        watch->finished = true;
        try {
            watch->done.cancel();
        } catch (const boost::system::system_error& e) {
            // Cannot happen for a timer of a live io_context; the waiter would then wait forever,
            // so say so.
            core::log::error("migration progress watcher could not wake its statement",
                             {{"error", e.what()}});
        }
    }
};

IndexBuildProgress progress_from(const QueryResult& r, std::string migration) {
    IndexBuildProgress p;
    p.migration = std::move(migration);
    // Columns other than pid are NULL for a session of another role (not the case here: the
    // monitor logs in as the migrator does); NULLs read as empty / 0.
    p.command = r.get_optional<std::string>(0, 0).value_or("");
    p.phase = r.get_optional<std::string>(0, 1).value_or("");
    p.index = r.get_optional<std::string>(0, 2).value_or("");
    p.table = r.get_optional<std::string>(0, 3).value_or("");
    p.lockers_total = r.get_optional<std::int64_t>(0, 4).value_or(0);
    p.lockers_done = r.get_optional<std::int64_t>(0, 5).value_or(0);
    p.current_locker_pid = r.get_optional<std::int64_t>(0, 6).value_or(0);
    p.blocks_total = r.get_optional<std::int64_t>(0, 7).value_or(0);
    p.blocks_done = r.get_optional<std::int64_t>(0, 8).value_or(0);
    p.tuples_total = r.get_optional<std::int64_t>(0, 9).value_or(0);
    p.tuples_done = r.get_optional<std::int64_t>(0, 10).value_or(0);
    return p;
}

// Spawned next to a statement; polls the migrator's row of pg_stat_progress_create_index until
// told to stop. Never throws for database trouble: progress is not worth failing a migration for.
asio::awaitable<void> watch_builds(std::shared_ptr<Monitor> monitor,
                                   std::shared_ptr<Watch> watch,
                                   std::string migration) {
    const WatchFinished finished{watch};
    while (!watch->stop) {
        watch->wake.expires_after(monitor->interval);
        co_await watch->wake.async_wait(kAwaitTuple);
        if (watch->stop) break;
        QueryResult rows;
        try {
            rows = co_await monitor->conn->query(kProgress, monitor->migrator_pid);
        } catch (const DbError& e) {
            core::log::warn("index build progress unavailable",
                            {{"migration", migration}, {"error", e.what()}});
            monitor->failed = true;
            break;
        } catch (const core::TimeoutError& e) {
            core::log::warn("index build progress unavailable",
                            {{"migration", migration}, {"error", e.what()}});
            monitor->failed = true;
            break;
        }
        if (rows.empty()) continue;
        auto p = progress_from(rows, migration);
        const auto now = SteadyClock::now();
        p.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - watch->started);
        p.log_due = monitor->last_log == SteadyClock::time_point{} ||
                    now - monitor->last_log >= monitor->log_interval;
        if (p.log_due) monitor->last_log = now;
        watch->last = p;
        monitor->report(p);
    }
}

// Runs `sql` as a script while a watcher reports the index builds it does.
asio::awaitable<void> run_watched(Connection* conn,
                                  std::shared_ptr<Monitor> monitor,
                                  std::string sql,
                                  std::string migration) {
    if (!monitor || monitor->failed) {
        co_await conn->execute_script(std::move(sql));
        co_return;
    }
    auto watch = std::make_shared<Watch>(co_await asio::this_coro::executor);
    core::spawn_tracked(
        co_await asio::this_coro::executor, watch_builds(monitor, watch, migration), "migrate.progress");
    std::exception_ptr failure;
    try {
        co_await conn->execute_script(std::move(sql));
    } catch (...) {  // rethrown below, once the watcher has stopped
        failure = std::current_exception();
    }
    watch->stop = true;
    watch->wake.cancel();
    if (!watch->finished) {
        watch->done.expires_at(SteadyClock::time_point::max());
        co_await watch->done.async_wait(kAwaitTuple);
    }
    if (watch->last) {
        auto p = *watch->last;
        p.finished = true;
        p.failed = failure != nullptr;
        p.log_due = true;
        p.elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - watch->started);
        monitor->report(p);
    }
    if (failure) std::rethrow_exception(failure);
}

// Pointers: the caller awaits this directly and owns both.
asio::awaitable<std::shared_ptr<Monitor>> open_monitor(Connection* conn, const MigrateOptions* options) {
    if (!options->monitor) co_return nullptr;
    auto monitor = std::make_shared<Monitor>();
    monitor->interval = options->progress_interval;
    monitor->log_interval = options->log_interval;
    monitor->on_progress = options->on_progress;
    const auto pid = co_await conn->query(kBackendPid);
    monitor->migrator_pid = pid.get<std::int32_t>(0, 0);
    try {
        monitor->conn = co_await Connection::connect(co_await asio::this_coro::executor, *options->monitor);
    } catch (const DbError& e) {
        core::log::warn("index build progress unavailable", {{"error", e.what()}});
        co_return nullptr;
    } catch (const core::TimeoutError& e) {
        core::log::warn("index build progress unavailable", {{"error", e.what()}});
        co_return nullptr;
    }
    co_return monitor;
}

// ---- applying -------------------------------------------------------------------------------------

asio::awaitable<void> rollback_quietly(Connection* conn) {
    if (!conn->is_healthy()) co_return;
    try {
        co_await conn->execute_script("ROLLBACK");
    } catch (const DbError& e) {
        // The original failure is what gets reported; a failed ROLLBACK leaves nothing committed.
        core::log::warn("migration rollback failed", {{"error", e.what()}});
    }
}

// What the server said, plus a hint for the mistake everyone makes once.
std::string failure_text(const std::exception& e) {
    std::string text = e.what();
    const auto* db = dynamic_cast<const DbError*>(&e);
    if (db != nullptr && db->sqlstate() == "25001") {
        text +=
            " (a statement that cannot run in a transaction block, such as CREATE INDEX CONCURRENTLY, "
            "needs a migration whose first line is `" +
            std::string(kNoTransactionMarker) + "`)";
    }
    return text;
}

asio::awaitable<void> apply_transactional(
    Connection* conn,
    std::shared_ptr<Monitor> monitor,
    const MigrationFile& file) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                  // awaited directly
    std::string server_message;
    try {
        co_await conn->execute_script("BEGIN");
        co_await run_watched(conn, monitor, file.sql, file.name);
        // Params built outside the co_await: GCC 12 miscompiles braced lists inside co_await
        // expressions ("array used as initializer").
        Params record{file.version, file.name, file.checksum};
        static_cast<void>(co_await conn->query(kRecord, std::move(record)));
        co_await conn->execute_script("COMMIT");
        co_return;
    } catch (const DbError& e) {
        server_message = failure_text(e);
    } catch (const core::TimeoutError& e) {
        server_message = e.what();
    }
    co_await rollback_quietly(conn);
    throw MigrationError("migration " + file.name + " failed and was rolled back: " + server_message);
}

// Before a CREATE INDEX of a no-transaction migration: an invalid index of that name on that
// table is what a failed or interrupted build left behind. IF NOT EXISTS would skip it (it exists),
// so it is dropped, without blocking writes either, and the statement builds it again.
asio::awaitable<void> drop_invalid_index(Connection* conn, std::string migration, IndexTarget target) {
    auto state = co_await conn->query(kIndexState, target.name, target.table);
    if (state.empty() || state.get<bool>(0, 1)) co_return;
    const auto index = state.get<std::string>(0, 0);
    core::log::warn("dropping an invalid index left by an earlier failed build",
                    {{"migration", migration}, {"index", index}});
    // DDL takes no parameters; `index` is the server's own quoted regclass text of an existing index.
    co_await conn->execute_script("DROP INDEX CONCURRENTLY IF EXISTS " + index);
}

asio::awaitable<void> apply_statements(
    Connection* conn,
    std::shared_ptr<Monitor> monitor,
    const MigrationFile& file) {  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters):
                                  // awaited directly
    const std::size_t total = file.steps.size();
    for (std::size_t i = 0; i < total; ++i) {
        const auto& step = file.steps[i];
        const auto started = SteadyClock::now();
        std::optional<std::string> server_message;
        try {
            if (step.index) co_await drop_invalid_index(conn, file.name, *step.index);
            co_await run_watched(conn, monitor, step.sql, file.name);
        } catch (const DbError& e) {
            server_message = failure_text(e);
        } catch (const core::TimeoutError& e) {
            server_message = e.what();
        }
        if (server_message) {
            std::string message = "migration " + file.name + " failed at statement " + std::to_string(i + 1);
            message += " of " + std::to_string(total) + " (line " + std::to_string(step.line) + "): ";
            message += *server_message;
            message += "; it runs without a transaction: the statements before it stay applied, the ";
            message += "migration is not recorded, and the next run starts it over (an index left invalid ";
            message += "is dropped and built again)";
            throw MigrationError(message);
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
        core::log::info("migration statement applied",
                        {{"migration", file.name},
                         {"statement", i + 1},
                         {"of", total},
                         {"line", step.line},
                         {"elapsed_ms", elapsed.count()}});
    }
    // A statement may have SET something for the session; the next migration starts clean (RESET
    // goes back to the connection's own settings, including its statement_timeout).
    co_await conn->execute_script("RESET ALL");
    Params record{file.version, file.name, file.checksum};
    static_cast<void>(co_await conn->query(kRecord, std::move(record)));
}

asio::awaitable<MigrateReport> migrate_locked(Connection* conn,
                                              const MigrateOptions* options,
                                              std::vector<MigrationFile> files) {
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
    std::shared_ptr<Monitor> monitor;
    bool monitor_opened = false;
    for (const auto& f : files) {
        if (done.contains(f.version)) continue;
        if (!monitor_opened) {
            monitor = co_await open_monitor(conn, options);
            monitor_opened = true;
        }
        if (f.transactional) {
            co_await apply_transactional(conn, monitor, f);
        } else {
            co_await apply_statements(conn, monitor, f);
        }
        core::log::info("migration applied", {{"migration", f.name}, {"transactional", f.transactional}});
        report.applied.push_back(f.name);
    }
    co_return report;
}

// Takes the session advisory lock, polling (see MigrateOptions::lock_poll).
asio::awaitable<void> acquire_lock(Connection* conn, const MigrateOptions* options) {
    const auto deadline = SteadyClock::now() + options->lock_wait;
    bool said = false;
    asio::steady_timer nap(co_await asio::this_coro::executor);
    while (true) {
        const auto r = co_await conn->query(kTryLock, kMigrationLockKey);
        if (r.get<bool>(0, 0)) co_return;
        if (SteadyClock::now() >= deadline) {
            const auto waited = std::chrono::duration_cast<std::chrono::seconds>(options->lock_wait);
            throw MigrationError("another migrator has held the migration lock for more than " +
                                 std::to_string(waited.count()) + " s; try again when it has finished");
        }
        if (!said) {
            core::log::info("waiting for another migrator to finish");
            said = true;
        }
        nap.expires_after(
            std::min(options->lock_poll,
                     std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()) +
                         std::chrono::milliseconds(1)));
        co_await nap.async_wait(kAwaitTuple);
    }
}

std::string seconds_text(std::chrono::milliseconds ms) {
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(ms < std::chrono::seconds(10) ? 1 : 0);
    out << static_cast<double>(ms.count()) / 1000.0 << " s";
    return out.str();
}

}  // namespace

std::optional<double> IndexBuildProgress::phase_fraction() const {
    const auto share = [](std::int64_t done, std::int64_t total) -> std::optional<double> {
        if (total <= 0) return std::nullopt;
        return std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    };
    // The counters of an earlier phase stay set: a waiting phase is measured by lockers only.
    if (phase.starts_with("waiting")) return share(lockers_done, lockers_total);
    if (blocks_total > 0) return share(blocks_done, blocks_total);
    return share(tuples_done, tuples_total);
}

std::string describe(const IndexBuildProgress& p) {
    std::string out = p.migration + ": ";
    out += p.index.empty() ? std::string("index") : p.index;
    if (!p.table.empty()) out += " on " + p.table;
    if (p.finished) {
        out += (p.failed ? ": failed after " : ": finished after ") + seconds_text(p.elapsed);
        return out;
    }
    out += ": " + (p.phase.empty() ? std::string("starting") : p.phase);
    if (const auto f = p.phase_fraction()) {
        out += " " + std::to_string(static_cast<int>(std::floor(*f * 100.0))) + "%";
        if (p.phase.starts_with("waiting")) {
            out +=
                " (" + std::to_string(p.lockers_done) + "/" + std::to_string(p.lockers_total) + " sessions";
            if (p.current_locker_pid != 0) out += ", waiting for pid " + std::to_string(p.current_locker_pid);
            out += ")";
        } else if (p.blocks_total > 0) {
            out += " (" + std::to_string(p.blocks_done) + "/" + std::to_string(p.blocks_total) + " blocks)";
        } else {
            out += " (" + std::to_string(p.tuples_done) + "/" + std::to_string(p.tuples_total) + " tuples)";
        }
    }
    out += ", " + seconds_text(p.elapsed);
    return out;
}

void log_index_build_progress(const IndexBuildProgress& p) {
    if (p.finished) {
        // The phase figures of the last look would only mislead here.
        core::log::write(p.failed ? core::log::Level::kWarn : core::log::Level::kInfo,
                         p.failed ? "index build failed" : "index build finished",
                         {{"migration", p.migration},
                          {"index", p.index},
                          {"table", p.table},
                          {"command", p.command},
                          {"elapsed_ms", p.elapsed.count()}});
        return;
    }
    const auto fraction = p.phase_fraction();
    core::log::info(
        "index build progress",
        {{"migration", p.migration},
         {"index", p.index},
         {"table", p.table},
         {"command", p.command},
         {"phase", p.phase},
         {"phase_percent", fraction ? static_cast<std::int64_t>(std::floor(*fraction * 100.0)) : -1},
         {"blocks_done", p.blocks_done},
         {"blocks_total", p.blocks_total},
         {"tuples_done", p.tuples_done},
         {"tuples_total", p.tuples_total},
         {"lockers_done", p.lockers_done},
         {"lockers_total", p.lockers_total},
         {"waiting_for_pid", p.current_locker_pid},
         {"elapsed_ms", p.elapsed.count()}});
}

std::vector<SqlStatement> split_sql_statements(std::string_view sql) {
    auto lexed = Lexer(sql).run();
    std::vector<SqlStatement> out;
    out.reserve(lexed.size());
    for (auto& s : lexed) out.push_back(std::move(s.statement));
    return out;
}

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
    return migrate(conn, std::move(dir), MigrateOptions{});
}

asio::awaitable<MigrateReport> migrate(Connection& conn, std::string dir, MigrateOptions options) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
    auto files = read_migrations(dir);  // before the lock: bad files fail fast
    // A session-level lock: it survives the per-migration COMMITs and serialises concurrent
    // migrators; the second one waits here and then finds everything applied.
    co_await acquire_lock(&conn, &options);
    std::exception_ptr failure;
    MigrateReport report;
    try {
        report = co_await migrate_locked(&conn, &options, std::move(files));
    } catch (const core::InfraError&) {
        failure = std::current_exception();
    }
    if (conn.is_healthy()) {
        // On a failure the original error matters more than a failed unlock (the lock goes away
        // with the session anyway), so an unlock error is only reported when nothing else failed.
        try {
            static_cast<void>(co_await conn.query(kUnlock, kMigrationLockKey));
        } catch (const DbError& e) {
            if (!failure) throw;
            core::log::warn("migration unlock failed", {{"error", e.what()}});
        }
    }
    if (failure) std::rethrow_exception(failure);
    co_return report;
}

}  // namespace emporium::db
