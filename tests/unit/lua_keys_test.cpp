// Lint of the Lua scripts in src/: every key a script touches comes from KEYS, never built inside
// the script (by `..` or from ARGV) nor written as a literal. Redis Cluster routes a script by the
// keys it is given and refuses one that touches a key of another slot; a key the script makes up
// is invisible to the router (and to the hash tags that keep a script's keys in one slot).
//
// Scripts are written as R"lua( … )lua" raw strings so this test can find them; a `redis.call`
// anywhere else in a source file is reported too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string trim(std::string_view s) {
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return {};
    const auto end = s.find_last_not_of(" \t\r\n");
    return std::string(s.substr(begin, end - begin + 1));
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

// Drops `--` comments (outside string literals).
std::string strip_comments(std::string_view lua) {
    std::string out;
    char quote = 0;
    for (std::size_t i = 0; i < lua.size(); ++i) {
        const char c = lua[i];
        if (quote != 0) {
            out += c;
            if (c == '\\' && i + 1 < lua.size()) {
                out += lua[++i];
            } else if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '-' && i + 1 < lua.size() && lua[i + 1] == '-') {
            while (i < lua.size() && lua[i] != '\n') ++i;
            out += '\n';
            continue;
        }
        out += c;
    }
    return out;
}

// The arguments of a call whose '(' is at `open`, split at top-level commas; `end` is set past ')'.
std::vector<std::string> call_arguments(const std::string& lua, std::size_t open, std::size_t& end) {
    std::vector<std::string> args;
    std::string current;
    int depth = 0;
    char quote = 0;
    for (std::size_t i = open + 1; i < lua.size(); ++i) {
        const char c = lua[i];
        if (quote != 0) {
            current += c;
            if (c == '\\' && i + 1 < lua.size()) {
                current += lua[++i];
            } else if (c == quote) {
                quote = 0;
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '(' || c == '[' || c == '{') {
            ++depth;
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) {
                args.push_back(trim(current));
                end = i + 1;
                return args;
            }
            --depth;
        } else if (c == ',' && depth == 0) {
            args.push_back(trim(current));
            current.clear();
            continue;
        }
        current += c;
    }
    end = lua.size();
    args.push_back(trim(current));
    return args;
}

// Which arguments (1-based, after the command name) of `command` are keys. Commands whose key
// positions this table does not know are reported, so a new one is looked at before it is used.
enum class KeySpec { kNone, kFirst, kFirstTwo, kAll, kUnknown };

KeySpec key_spec(const std::string& command) {
    static const std::set<std::string> none{"TIME", "PUBLISH", "PING", "ECHO"};
    static const std::set<std::string> all{"DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "SINTER", "SUNION", "SDIFF",
                                           "SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE", "PFCOUNT", "PFMERGE"};
    static const std::set<std::string> first_two{"RENAME", "RENAMENX", "SMOVE", "LMOVE", "RPOPLPUSH", "COPY"};
    static const std::set<std::string> unknown{"EVAL", "EVALSHA", "FCALL", "XREAD", "XREADGROUP", "ZUNIONSTORE",
                                               "ZINTERSTORE", "ZDIFFSTORE", "ZUNION", "ZINTER", "ZDIFF", "MSET",
                                               "MSETNX", "SORT", "MIGRATE", "OBJECT", "BITOP", "GEORADIUS",
                                               "LMPOP", "ZMPOP", "SINTERCARD", "ZINTERCARD", "KEYS", "SCAN"};
    if (none.contains(command)) return KeySpec::kNone;
    if (all.contains(command)) return KeySpec::kAll;
    if (first_two.contains(command)) return KeySpec::kFirstTwo;
    if (unknown.contains(command)) return KeySpec::kUnknown;
    return KeySpec::kFirst;
}

int line_of(const std::string& text, std::size_t pos) {
    return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// The problems of one script: "line N: …" (lines counted from the script's first line).
std::vector<std::string> lint_script(std::string_view source) {
    const std::string lua = strip_comments(source);
    std::vector<std::string> problems;
    // Names bound to a key given in KEYS: `local k = KEYS[2]` or `for i, k in ipairs(KEYS)`.
    std::set<std::string> key_names;
    static const std::regex bound(R"(local\s+([A-Za-z_]\w*)\s*=\s*KEYS\s*\[([^\]]*)\]\s*(?=\n|;|$|local\b|if\b|for\b|redis\b|return\b))");
    static const std::regex iterated(R"(for\s+[A-Za-z_]\w*\s*,\s*([A-Za-z_]\w*)\s+in\s+ipairs\s*\(\s*KEYS\s*\))");
    for (auto it = std::sregex_iterator(lua.begin(), lua.end(), bound); it != std::sregex_iterator(); ++it) {
        if ((*it)[2].str().find("..") == std::string::npos) key_names.insert((*it)[1].str());
    }
    for (auto it = std::sregex_iterator(lua.begin(), lua.end(), iterated); it != std::sregex_iterator(); ++it) {
        key_names.insert((*it)[1].str());
    }
    // A name bound to a key and then assigned something else is not a key any more.
    for (auto name = key_names.begin(); name != key_names.end();) {
        const std::regex reassigned("(^|[^\\w.])" + *name + R"(\s*=[^=])");
        const std::regex declared("local\\s+" + *name + R"(\s*=)");
        const auto assignments = std::distance(std::sregex_iterator(lua.begin(), lua.end(), reassigned), std::sregex_iterator());
        const auto declarations = std::distance(std::sregex_iterator(lua.begin(), lua.end(), declared), std::sregex_iterator());
        if (assignments > declarations) {
            name = key_names.erase(name);
        } else {
            ++name;
        }
    }
    static const std::regex key_ref(R"(^KEYS\s*\[[^\]]*\]$)");
    static const std::regex call(R"(redis\s*\.\s*p?call\s*\()");
    for (auto it = std::sregex_iterator(lua.begin(), lua.end(), call); it != std::sregex_iterator(); ++it) {
        const auto at = static_cast<std::size_t>(it->position());
        const auto where = "line " + std::to_string(line_of(lua, at)) + ": ";
        std::size_t end = 0;
        const auto args = call_arguments(lua, at + static_cast<std::size_t>(it->length()) - 1, end);
        const auto& name = args.front();
        if (name.size() < 2 || (name.front() != '\'' && name.front() != '"') || name.back() != name.front()) {
            problems.push_back(where + "the command name is not a literal (" + name + "): its keys cannot be checked");
            continue;
        }
        const auto command = upper(name.substr(1, name.size() - 2));
        std::size_t keys = 0;
        switch (key_spec(command)) {
            case KeySpec::kNone: keys = 0; break;
            case KeySpec::kFirst: keys = 1; break;
            case KeySpec::kFirstTwo: keys = 2; break;
            case KeySpec::kAll: keys = args.size() - 1; break;
            case KeySpec::kUnknown:
                problems.push_back(where + command + ": this lint does not know its key positions; teach it first");
                continue;
        }
        for (std::size_t k = 1; k <= keys && k < args.size(); ++k) {
            const auto& arg = args[k];
            if (std::regex_match(arg, key_ref) && arg.find("..") == std::string::npos) continue;
            if (key_names.contains(arg)) continue;
            std::string why = "is not KEYS[n]";
            if (arg.find("..") != std::string::npos) {
                why = "is built by concatenation";
            } else if (arg.find("ARGV") != std::string::npos) {
                why = "comes from ARGV";
            } else if (!arg.empty() && (arg.front() == '\'' || arg.front() == '"')) {
                why = "is a literal";
            }
            problems.push_back(where + command + " key argument " + std::to_string(k) + " (" + arg + ") " + why);
        }
    }
    return problems;
}

struct SourceScripts {
    std::vector<std::string> scripts;   // the raw strings' contents
    std::vector<std::string> problems;  // "<file>:<line>: …"
};

// The R"lua( … )lua" blocks of a C++ source, and any redis.call outside them.
SourceScripts scan_source(const std::string& text, const std::string& file) {
    SourceScripts out;
    static constexpr std::string_view kOpen = "R\"lua(";
    static constexpr std::string_view kClose = ")lua\"";
    std::string outside;
    std::size_t pos = 0;
    while (true) {
        const auto open = text.find(kOpen, pos);
        outside += text.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
        if (open == std::string::npos) break;
        const auto body = open + kOpen.size();
        const auto close = text.find(kClose, body);
        if (close == std::string::npos) {
            out.problems.push_back(file + ":" + std::to_string(line_of(text, open)) + ": unterminated R\"lua( string");
            break;
        }
        const auto script = text.substr(body, close - body);
        out.scripts.push_back(script);
        const int first_line = line_of(text, body);
        for (const auto& p : lint_script(script)) {
            // "line N: …" → "<file>:<line in file>: …"
            const auto colon = p.find(':');
            const int n = std::stoi(p.substr(5, colon - 5));
            out.problems.push_back(file + ":" + std::to_string(first_line + n - 1) + p.substr(colon));
        }
        pos = close + kClose.size();
        outside += "\n";  // keeps nothing of the script; line numbers below are not needed
    }
    static const std::regex stray(R"(redis\s*\.\s*p?call\s*\()");
    if (std::regex_search(outside, stray)) {
        out.problems.push_back(file + ": redis.call outside a R\"lua( raw string: write the script as one, so it is linted");
    }
    return out;
}

// The old recommendations bump (before the neighbour sets were hash-tagged): it built its keys.
constexpr std::string_view kOldBump = R"(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local k = tonumber(ARGV[4])
for i = 5, #ARGV do
  local key = ARGV[2] .. ARGV[i]
  for j = 5, #ARGV do
    if i ~= j then
      if ARGV[3] == 'incr' then
        redis.call('ZINCRBY', key, 1, ARGV[j])
      else
        redis.call('ZADD', key, 'NX', 0, ARGV[j])
      end
    end
  end
  redis.call('ZREMRANGEBYRANK', key, 0, -(k + 1))
  redis.call('SADD', KEYS[2], ARGV[i])
end
redis.call('INCR', KEYS[3])
return 1
)";

TEST(LuaKeysLint, TheOldBumpThatBuiltItsKeysIsRefused) {
    const auto problems = lint_script(kOldBump);
    ASSERT_EQ(problems.size(), 3U) << ::testing::PrintToString(problems);
    EXPECT_NE(problems[0].find("ZINCRBY key argument 1 (key) is not KEYS[n]"), std::string::npos) << problems[0];
    EXPECT_NE(problems[0].find("line 9:"), std::string::npos) << problems[0];
}

TEST(LuaKeysLint, KeysBuiltTakenFromArgvOrLiteralAreRefused) {
    EXPECT_EQ(lint_script("redis.call('GET', KEYS[1] .. ':x')").size(), 1U);
    EXPECT_NE(lint_script("return redis.call('GET', ARGV[1])").at(0).find("comes from ARGV"), std::string::npos);
    EXPECT_NE(lint_script("redis.call('SET', 'fixed', 1)").at(0).find("is a literal"), std::string::npos);
    EXPECT_NE(lint_script("redis.call('INCR', ARGV[2] .. ARGV[3])").at(0).find("concatenation"), std::string::npos);
    // Every argument of DEL is a key; the second of RENAME too.
    EXPECT_EQ(lint_script("redis.call('DEL', KEYS[1], ARGV[1])").size(), 1U);
    EXPECT_EQ(lint_script("redis.call(\"RENAME\", KEYS[1], ARGV[1])").size(), 1U);
    // A name bound to KEYS and then rebuilt is no longer a key.
    EXPECT_EQ(lint_script("local k = KEYS[1]\nk = k .. ARGV[1]\nredis.call('GET', k)").size(), 1U);
    // The command must be a literal, and one whose key positions are known.
    EXPECT_EQ(lint_script("redis.call(ARGV[1], KEYS[1])").size(), 1U);
    EXPECT_EQ(lint_script("redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[2], KEYS[3])").size(), 1U);
    EXPECT_EQ(lint_script("redis.pcall('GET', ARGV[1])").size(), 1U);
}

TEST(LuaKeysLint, KeysFromKeysPass) {
    EXPECT_TRUE(lint_script("for i, k in ipairs(KEYS) do redis.call('DECRBY', k, ARGV[i]) end").empty());
    EXPECT_TRUE(lint_script("local key = KEYS[2]\nredis.call('ZINCRBY', key, 1, ARGV[1] .. 'x')").empty());
    EXPECT_TRUE(lint_script("local n = #KEYS / 2 redis.call('GET', KEYS[n + 1]) redis.call('TIME')").empty());
    EXPECT_TRUE(lint_script("-- redis.call('GET', ARGV[1])\nreturn redis.call('DEL', KEYS[1], KEYS[2])").empty());
    EXPECT_TRUE(lint_script("redis.call('XADD', KEYS[1], 'MAXLEN', '~', '100', '*', 'job', ARGV[1])").empty());
}

TEST(LuaKeysLint, ScriptsOutsideRawStringsAreReported) {
    const auto found = scan_source("const char* s = \"return redis.call('GET', KEYS[1])\";", "x.cpp");
    ASSERT_EQ(found.problems.size(), 1U);
    EXPECT_NE(found.problems[0].find("outside a R\"lua( raw string"), std::string::npos);
    const auto ok = scan_source("const char* s = R\"lua(\nreturn redis.call('GET', ARGV[1])\n)lua\";", "y.cpp");
    ASSERT_EQ(ok.scripts.size(), 1U);
    ASSERT_EQ(ok.problems.size(), 1U);
    EXPECT_EQ(ok.problems[0].rfind("y.cpp:2: GET", 0), 0U) << ok.problems[0];
}

TEST(LuaKeysLint, EveryScriptInTheSourcesTakesItsKeysFromKeys) {
    const fs::path root = fs::path(EMPORIUM_SOURCE_DIR) / "src";
    ASSERT_TRUE(fs::is_directory(root)) << root;
    std::size_t scripts = 0;
    std::vector<std::string> problems;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        auto found = scan_source(text.str(), fs::relative(entry.path(), root.parent_path()).string());
        scripts += found.scripts.size();
        problems.insert(problems.end(), found.problems.begin(), found.problems.end());
    }
    // The jobs, inventory, recommendations, catalog cache, scheduler, rate limit and Redlock
    // scripts: a scan that finds far fewer is looking in the wrong place.
    EXPECT_GE(scripts, 15U);
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    EXPECT_TRUE(problems.empty()) << all;
}

}  // namespace
