// The Redis client's RESP reply reader (redis::detail::feed / next_reply over hiredis's
// redisReader, and the conversion to redis::Reply), fed as the client feeds it: whatever arrived,
// then every complete reply. The first input byte picks where the bytes are split in two reads.
// Invariants: the replies (and whether a protocol error ends the stream) do not depend on how the
// bytes were split; a command the client encodes (append_command) reads back as the same array of
// bulk strings.

#include "redis/redis.hpp"
#include "redis/resp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace emporium::redis;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

bool same(const Reply& a,
          const Reply& b) {  // NOLINT(misc-no-recursion): bounded by the reader's nesting limit
    if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
        a.elements.size() != b.elements.size())
        return false;
    for (std::size_t i = 0; i < a.elements.size(); ++i)
        if (!same(a.elements[i], b.elements[i])) return false;
    return true;
}

struct Outcome {
    std::vector<Reply> replies;
    bool protocol_error = false;
};

// Feeds `chunks` one after the other, draining complete replies after each, as the client's read
// loop does. A protocol error ends the stream (the client drops the connection).
Outcome read_all(const std::vector<std::string_view>& chunks) {
    Outcome out;
    auto reader = detail::make_reader();
    try {
        for (auto chunk : chunks) {
            if (chunk.empty()) continue;
            detail::feed(*reader, chunk.data(), chunk.size());
            while (auto reply = detail::next_reply(*reader)) out.replies.push_back(std::move(*reply));
        }
    } catch (const RedisError&) {
        out.protocol_error = true;
    }
    return out;
}

// The arguments of a command: the input split at '\0'.
std::vector<std::string> split_args(std::string_view input) {
    std::vector<std::string> args;
    while (true) {
        const auto nul = input.find('\0');
        args.emplace_back(input.substr(0, nul));
        if (nul == std::string_view::npos) break;
        input.remove_prefix(nul + 1);
    }
    return args;
}

// hiredis allocates the element array of a multi-bulk reply as soon as it reads the count
// (`*2147483647` asks for 16 GiB before any element arrived). The server is trusted and never
// declares more elements than it sends, so inputs declaring more than a million elements in all
// are left out instead of reported as out-of-memory.
bool declares_huge_array(std::string_view bytes) {
    constexpr std::uint64_t kMaxElements = 1'000'000;
    std::uint64_t total = 0;
    for (std::size_t i = bytes.find('*'); i != std::string_view::npos; i = bytes.find('*', i + 1)) {
        std::uint64_t count = 0;
        for (std::size_t j = i + 1; j < bytes.size() && bytes[j] >= '0' && bytes[j] <= '9'; ++j) {
            count = count * 10 + static_cast<std::uint64_t>(bytes[j] - '0');
            if (count > kMaxElements) return true;
        }
        total += count;
        if (total > kMaxElements) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);  // NOLINT: bytes

    // Replies do not depend on how they were split into reads.
    if (declares_huge_array(bytes)) return 0;
    const auto whole = read_all({bytes});
    const auto cut = bytes.empty() ? 0 : data[0] % (bytes.size() + 1);
    const auto split = read_all({bytes.substr(0, cut), bytes.substr(cut)});
    check(whole.protocol_error == split.protocol_error, "a protocol error does not depend on the split");
    if (!whole.protocol_error) {
        check(whole.replies.size() == split.replies.size(),
              "the number of replies does not depend on the split");
        for (std::size_t i = 0; i < whole.replies.size(); ++i)
            check(same(whole.replies[i], split.replies[i]), "replies do not depend on the split");
    }
    for (const auto& r : whole.replies) {
        if (r.type != Reply::Type::kInteger && r.type != Reply::Type::kString) continue;
        try {
            (void)r.as_int();  // what callers do with counters; RedisError when it is no number
        } catch (const RedisError&) {
        }
    }

    // A command we encode reads back as itself.
    const auto args = split_args(bytes);
    std::string encoded;
    detail::append_command(encoded, args);
    const auto echo = read_all({encoded});
    check(!echo.protocol_error && echo.replies.size() == 1, "an encoded command is one reply");
    const auto& array = echo.replies.front();
    check(array.type == Reply::Type::kArray && array.elements.size() == args.size(),
          "an encoded command is an array");
    for (std::size_t i = 0; i < args.size(); ++i)
        check(array.elements[i].type == Reply::Type::kString && array.elements[i].str == args[i],
              "each argument reads back as the same bulk string");
    return 0;
}
