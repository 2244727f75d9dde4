// Redis Cluster routing for redis::Client (see cluster.hpp).
//
// Everything runs on the Client's single-threaded executor, like Client itself: no locks. The
// node Clients are never removed while the Cluster lives (a node that left simply stops being
// the owner of any slot), so a reference to one stays valid across a co_await.

#include "redis/cluster.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace emporium::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// ---- Slots --------------------------------------------------------------------------------------

namespace {

// CRC16/XMODEM (polynomial 0x1021, initial value 0), the cluster's key hash.
constexpr std::array<std::uint16_t, 256> make_crc16_table() {
    std::array<std::uint16_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        auto crc = static_cast<std::uint16_t>(i << 8);
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 0x8000U) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021U)
                                       : static_cast<std::uint16_t>(crc << 1);
        }
        table[i] = crc;
    }
    return table;
}
constexpr auto kCrc16Table = make_crc16_table();

}  // namespace

std::uint16_t crc16(std::string_view data) {
    std::uint16_t crc = 0;
    for (unsigned char byte : data) {
        crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ byte) & 0xFFU]);
    }
    return crc;
}

std::uint16_t key_slot(std::string_view key) {
    // Only the part between the first '{' and the next '}' is hashed, when it is not empty.
    if (auto open = key.find('{'); open != std::string_view::npos) {
        if (auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1) {
            key = key.substr(open + 1, close - open - 1);
        }
    }
    return static_cast<std::uint16_t>(crc16(key) % detail::kSlotCount);
}

bool is_cluster_url(std::string_view url) {
    return url.starts_with("redis+cluster://");
}

namespace detail {

namespace {

constexpr std::string_view kClusterScheme = "redis+cluster://";
constexpr std::uint16_t kNoOwner = std::numeric_limits<std::uint16_t>::max();
// A stale map is read again at most this often (a storm of errors during a failover must not
// turn into a storm of CLUSTER SHARDS).
constexpr std::chrono::milliseconds kRefreshInterval{250};
constexpr int kMaxHops = 16;
constexpr std::chrono::milliseconds kRetryPause{100};
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

bool is_port(std::string_view s) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc{} && end == s.data() + s.size() && value > 0 && value <= 65535;
}

}  // namespace

std::vector<std::string> cluster_seed_urls(const std::string& url) {
    constexpr std::string_view kShape = "redis+cluster://[[user]:password@]host:port[,host:port…][/0]";
    std::string_view rest(url);
    if (!rest.starts_with(kClusterScheme)) {
        throw RedisError("redis: a cluster URL starts with redis+cluster:// (" + std::string(kShape) + ")");
    }
    rest.remove_prefix(kClusterScheme.size());
    std::string_view userinfo;
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        userinfo = rest.substr(0, at + 1);
        rest.remove_prefix(at + 1);
    }
    std::string_view hosts = rest;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        hosts = rest.substr(0, slash);
        auto path = rest.substr(slash);
        if (path != "/" && path != "/0") {
            throw RedisError("redis: a cluster has only database 0 (" + std::string(kShape) + ")");
        }
    }
    std::vector<std::string> seeds;
    while (!hosts.empty()) {
        auto comma = hosts.find(',');
        auto one = hosts.substr(0, comma);
        hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
        auto colon = one.rfind(':');
        if (one.empty() || colon == std::string_view::npos || colon == 0 || !is_port(one.substr(colon + 1))) {
            throw RedisError("redis: every cluster seed needs host:port (" + std::string(kShape) + ")");
        }
        seeds.push_back("redis://" + std::string(userinfo) + std::string(one));
    }
    if (seeds.empty()) throw RedisError("redis: a cluster URL names no node (" + std::string(kShape) + ")");
    return seeds;
}

std::optional<std::string_view> routing_key(const std::vector<std::string>& args) {
    if (args.size() < 2) return std::nullopt;
    const auto name = upper(args[0]);
    if (name == "EVAL" || name == "EVALSHA" || name == "EVAL_RO" || name == "EVALSHA_RO" || name == "FCALL" ||
        name == "FCALL_RO") {
        if (args.size() < 4 || args[2] == "0") return std::nullopt;
        return args[3];
    }
    if (name == "XREAD" || name == "XREADGROUP") {
        for (std::size_t i = 1; i + 1 < args.size(); ++i) {
            if (upper(args[i]) == "STREAMS") return args[i + 1];
        }
        return std::nullopt;
    }
    if (name == "XGROUP" || name == "XINFO" || name == "OBJECT" || name == "MEMORY") {
        if (args.size() < 3) return std::nullopt;
        return args[2];
    }
    static const std::array<std::string_view, 22> kKeyless = {
        "PING",     "ECHO",    "PUBLISH", "SCRIPT",   "INFO",  "TIME", "CLUSTER", "CONFIG",
        "CLIENT",   "DBSIZE",  "FLUSHDB", "FLUSHALL", "KEYS",  "SCAN", "WAIT",    "ASKING",
        "READONLY", "COMMAND", "AUTH",    "SELECT",   "HELLO", "ROLE"};
    if (std::find(kKeyless.begin(), kKeyless.end(), name) != kKeyless.end()) return std::nullopt;
    return args[1];
}

std::vector<std::string> evalsha_command(const Script& script,
                                         std::vector<std::string> keys,
                                         std::vector<std::string> args) {
    std::vector<std::string> out;
    out.reserve(3 + keys.size() + args.size());
    out.emplace_back("EVALSHA");
    out.push_back(script.sha1());
    out.push_back(std::to_string(keys.size()));
    for (auto& k : keys) out.push_back(std::move(k));
    for (auto& a : args) out.push_back(std::move(a));
    return out;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
    // "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"
    Redirect out;
    if (error.starts_with("MOVED ")) {
        error.remove_prefix(6);
    } else if (error.starts_with("ASK ")) {
        out.is_ask = true;
        error.remove_prefix(4);
    } else {
        return std::nullopt;
    }
    auto space = error.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    unsigned slot = 0;
    auto digits = error.substr(0, space);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), slot);
    if (ec != std::errc{} || end != digits.data() + digits.size() || slot >= kSlotCount) return std::nullopt;
    out.slot = static_cast<std::uint16_t>(slot);
    out.address = std::string(error.substr(space + 1));
    auto colon = out.address.rfind(':');
    if (colon == std::string::npos || !is_port(std::string_view(out.address).substr(colon + 1)))
        return std::nullopt;
    if (colon == 0)
        return std::nullopt;  // ":port": an unknown endpoint (cluster-preferred-endpoint-type
                              // unknown-endpoint)
    return out;
}

namespace {

std::string join_address(std::string_view host, std::int64_t port) {
    std::string out;
    if (host.find(':') != std::string_view::npos) {  // IPv6
        out.append("[").append(host).append("]");
    } else {
        out.append(host);
    }
    return out + ":" + std::to_string(port);
}

// The value after `field` in a RESP2 map (a flat array of field, value, field, value…).
const Reply* field_of(const Reply& map, std::string_view field) {
    if (map.type != Reply::Type::kArray) return nullptr;
    for (std::size_t i = 0; i + 1 < map.elements.size(); i += 2) {
        const auto& name = map.elements[i];
        if ((name.type == Reply::Type::kString || name.type == Reply::Type::kStatus) && name.str == field) {
            return &map.elements[i + 1];
        }
    }
    return nullptr;
}

std::optional<std::uint16_t> slot_number(const Reply& r) {
    if (r.type != Reply::Type::kInteger || r.integer < 0 ||
        r.integer >= static_cast<std::int64_t>(kSlotCount)) {
        return std::nullopt;
    }
    return static_cast<std::uint16_t>(r.integer);
}

}  // namespace

std::vector<SlotRange> parse_shards(const Reply& reply) {
    std::vector<SlotRange> out;
    if (reply.type != Reply::Type::kArray) return out;
    for (const auto& shard : reply.elements) {
        const auto* slots = field_of(shard, "slots");
        const auto* nodes = field_of(shard, "nodes");
        if (slots == nullptr || nodes == nullptr || nodes->type != Reply::Type::kArray) continue;
        std::string address;
        for (const auto& node : nodes->elements) {
            const auto* role = field_of(node, "role");
            const auto* health = field_of(node, "health");
            const auto* port = field_of(node, "port");
            const auto* ip = field_of(node, "ip");
            if (role == nullptr || role->str != "master" || port == nullptr || ip == nullptr) continue;
            if (health != nullptr && health->str != "online") continue;
            address = join_address(ip->str, port->type == Reply::Type::kInteger ? port->integer : 0);
            break;
        }
        if (address.empty()) continue;
        for (std::size_t i = 0; i + 1 < slots->elements.size(); i += 2) {
            auto first = slot_number(slots->elements[i]);
            auto last = slot_number(slots->elements[i + 1]);
            if (first && last && *first <= *last) out.push_back(SlotRange{*first, *last, address});
        }
    }
    return out;
}

std::vector<SlotRange> parse_slots(const Reply& reply) {
    std::vector<SlotRange> out;
    if (reply.type != Reply::Type::kArray) return out;
    for (const auto& range : reply.elements) {
        if (range.type != Reply::Type::kArray || range.elements.size() < 3) continue;
        auto first = slot_number(range.elements[0]);
        auto last = slot_number(range.elements[1]);
        const auto& master = range.elements[2];
        if (!first || !last || *first > *last || master.type != Reply::Type::kArray ||
            master.elements.size() < 2 || master.elements[1].type != Reply::Type::kInteger) {
            continue;
        }
        out.push_back(
            SlotRange{*first, *last, join_address(master.elements[0].str, master.elements[1].integer)});
    }
    return out;
}

// ---- Cluster ------------------------------------------------------------------------------------

class Cluster {
public:
    Cluster(asio::any_io_executor executor, ClientOptions opts)
        : ex(std::move(executor)),
          options(std::move(opts)),
          seeds(cluster_seed_urls(options.url)),
          refreshed(ex) {
        refreshed.expires_at(Clock::time_point::max());
        owner.fill(kNoOwner);
        // Credentials: everything between the scheme and the host of the first seed.
        const auto& first = seeds.front();
        auto at = first.rfind('@');
        userinfo = at == std::string::npos ? std::string{} : first.substr(8, at - 8 + 1);
        for (const auto& seed : seeds) seed_addresses.push_back(seed.substr(8 + userinfo.size()));
    }

    asio::any_io_executor ex;
    ClientOptions options;
    std::vector<std::string> seeds;
    std::string userinfo;  // "user:password@" or empty
    std::vector<std::string> seed_addresses;
    std::map<std::string, std::unique_ptr<Client>> nodes;  // host:port → connection to that node
    std::vector<std::string> addresses;                    // masters of the current map
    std::array<std::uint16_t, kSlotCount> owner{};         // slot → index in `addresses`
    std::size_t next_any = 0;
    bool has_map = false;
    bool is_stale = true;
    bool is_refreshing = false;
    bool is_closed = false;
    Clock::time_point last_refresh{};
    asio::steady_timer refreshed;  // waiters for a refresh in progress; cancelled when it ends

    Client& node(const std::string& address) {
        auto it = nodes.find(address);
        if (it != nodes.end()) return *it->second;
        auto node_options = options;
        node_options.url = "redis://" + userinfo + address;
        auto client = std::make_unique<Client>(ex, std::move(node_options));
        auto& ref = *client;
        nodes.emplace(address, std::move(client));
        return ref;
    }

    std::uint16_t index_of(const std::string& address) {
        auto it = std::find(addresses.begin(), addresses.end(), address);
        if (it != addresses.end()) return static_cast<std::uint16_t>(it - addresses.begin());
        addresses.push_back(address);
        return static_cast<std::uint16_t>(addresses.size() - 1);
    }

    std::string any_address() {
        if (addresses.empty()) return seed_addresses[next_any++ % seed_addresses.size()];
        return addresses[next_any++ % addresses.size()];
    }

    std::string address_for(std::optional<std::uint16_t> slot) {
        if (!slot || owner[*slot] == kNoOwner) return any_address();  // its MOVED will teach us
        return addresses[owner[*slot]];
    }

    void install(const std::vector<SlotRange>& ranges) {
        addresses.clear();
        owner.fill(kNoOwner);
        std::size_t covered = 0;
        for (const auto& range : ranges) {
            auto index = index_of(range.address);
            for (std::size_t slot = range.first; slot <= range.last; ++slot) {
                if (owner[slot] == kNoOwner) ++covered;
                owner[slot] = index;
            }
        }
        has_map = true;
        // Slots without an owner (a master failed and nothing took over yet): read the map again soon.
        is_stale = covered < kSlotCount;
    }
};

namespace {

auto& redirects_total() {
    static auto& counter = core::Metrics::global().counter("emporium_redis_cluster_redirects_total",
                                                           "Redis Cluster MOVED and ASK replies followed");
    return counter;
}
auto& refreshes_total() {
    static auto& counter =
        core::Metrics::global().counter("emporium_redis_cluster_map_refreshes_total",
                                        "Redis Cluster slot maps read (CLUSTER SHARDS or SLOTS)");
    return counter;
}

// Reads the slot map from the first node that answers, the known masters before the seeds. When
// a refresh is already running, waits for it instead. Throws RedisError when no node answered.
asio::awaitable<void> refresh(ClusterPtr c) {
    if (c->is_refreshing) {
        co_await c->refreshed.async_wait(kTuple);
        if (!c->has_map) throw RedisError("redis cluster: no slot map (no node answered)");
        co_return;
    }
    c->is_refreshing = true;
    std::vector<std::string> candidates = c->addresses;
    for (const auto& seed : c->seed_addresses) {
        if (std::find(candidates.begin(), candidates.end(), seed) == candidates.end())
            candidates.push_back(seed);
    }
    std::string failure = "no node to ask";
    bool is_done = false;
    for (const auto& address : candidates) {
        try {
            auto& node = c->node(address);
            auto reply = co_await node.command(cmd("CLUSTER", "SHARDS"));
            std::vector<SlotRange> ranges;
            if (reply.is_error()) {
                // Before Redis 7.0, or a server that is not in cluster mode ("ERR This instance has
                // cluster support disabled"): the second reply tells which.
                reply = co_await node.command(cmd("CLUSTER", "SLOTS"));
                if (reply.is_error()) {
                    failure = reply.str;
                    continue;
                }
                ranges = parse_slots(reply);
            } else {
                ranges = parse_shards(reply);
            }
            if (ranges.empty()) {
                failure = address + " knows no slot owner";
                continue;
            }
            c->install(ranges);
            is_done = true;
            break;
        } catch (const RedisError& e) {
            failure = e.what();
        } catch (const RedisTimeoutError& e) {
            failure = e.what();
        }
    }
    refreshes_total().inc();
    c->is_refreshing = false;
    c->last_refresh = Clock::now();
    c->refreshed.cancel();
    c->refreshed.expires_at(Clock::time_point::max());
    if (!is_done) {
        core::log::warn("redis cluster: cannot read the slot map", {{"error", failure}});
        if (!c->has_map) throw RedisError("redis cluster: cannot read the slot map: " + failure);
    }
}

asio::awaitable<void> ensure_map(ClusterPtr c) {
    if (c->is_closed) throw RedisError("redis: client is closed");
    if (!c->has_map) {
        co_await refresh(c);
        co_return;
    }
    if (c->is_stale && !c->is_refreshing && Clock::now() - c->last_refresh >= kRefreshInterval) {
        co_await refresh(c);  // keeps the old map when no node answers
    }
}

// One command on one node, preceded by ASKING when following an ASK redirect.
asio::awaitable<Reply> send(ClusterPtr c,
                            std::string address,
                            bool asking,
                            std::vector<std::string> args,
                            std::optional<std::chrono::milliseconds> timeout) {
    auto& node = c->node(address);
    try {
        if (!asking) co_return co_await node.command(std::move(args), timeout);
        std::vector<std::vector<std::string>> both;
        both.push_back(cmd("ASKING"));
        both.push_back(std::move(args));
        auto replies = co_await node.pipeline(std::move(both));
        co_return std::move(replies[1]);
    } catch (const RedisError&) {
        c->is_stale = true;  // the node may have failed over: read the map again before the next command
        throw;
    } catch (const RedisTimeoutError&) {
        c->is_stale = true;
        throw;
    }
}

asio::awaitable<void> pause(asio::any_io_executor ex, std::chrono::milliseconds delay) {
    asio::steady_timer timer(ex);
    timer.expires_after(delay);
    co_await timer.async_wait(kTuple);
}

std::optional<std::uint16_t> command_slot(const std::vector<std::string>& args) {
    if (auto key = routing_key(args)) return key_slot(*key);
    return std::nullopt;
}

bool is_retryable(const Reply& reply) {
    return reply.is_error() && (reply.str.starts_with("MOVED ") || reply.str.starts_with("ASK ") ||
                                reply.str.starts_with("TRYAGAIN") || reply.str.starts_with("CLUSTERDOWN"));
}

// Runs one command on the master of `slot` (any master without one), following redirects. With
// `script`, a NOSCRIPT reply loads the script on that node and runs the command again.
asio::awaitable<Reply> run_one(ClusterPtr c,
                               std::vector<std::string> args,
                               std::optional<std::chrono::milliseconds> timeout,
                               std::optional<Script> script,
                               std::optional<std::uint16_t> slot) {
    co_await ensure_map(c);
    auto address = c->address_for(slot);
    bool asking = false;
    bool is_loaded = false;
    const auto retry_until = Clock::now() + c->options.command_timeout;
    for (int hop = 0; hop < kMaxHops; ++hop) {
        auto reply = co_await send(c, address, asking, args, timeout);
        if (!reply.is_error()) co_return reply;
        if (auto redirect = parse_redirect(reply.str)) {
            redirects_total().inc();
            asking = redirect->is_ask;
            if (!redirect->is_ask) {
                c->owner[redirect->slot] = c->index_of(redirect->address);
                c->is_stale = true;  // one slot moved: others probably did too
            }
            address = redirect->address;
            continue;
        }
        if (script && !is_loaded && reply.str.starts_with("NOSCRIPT")) {
            // This node has not seen the script (new node, restart, failover): load it here.
            is_loaded = true;
            auto load =
                co_await send(c, address, false, cmd("SCRIPT", "LOAD", script->source()), std::nullopt);
            if (load.is_error()) co_return load;
            continue;
        }
        const bool is_down = reply.str.starts_with("CLUSTERDOWN");
        if ((is_down || reply.str.starts_with("TRYAGAIN")) && Clock::now() + kRetryPause < retry_until) {
            // Nothing ran: a slot is migrating (TRYAGAIN) or a master failed and its replica is not
            // promoted yet (CLUSTERDOWN). Wait a little, re-read the map and try again.
            co_await pause(c->ex, kRetryPause);
            if (is_down) {
                c->is_stale = true;
                co_await ensure_map(c);
                address = c->address_for(slot);
                asking = false;
            }
            continue;
        }
        co_return reply;
    }
    throw RedisError("redis cluster: too many redirections");
}

}  // namespace

ClusterPtr make_cluster(asio::any_io_executor ex, ClientOptions options) {
    return std::make_shared<Cluster>(std::move(ex), std::move(options));
}

asio::awaitable<std::vector<Reply>> cluster_execute(ClusterPtr c,
                                                    std::vector<std::vector<std::string>> commands,
                                                    std::optional<std::chrono::milliseconds> timeout) {
    std::vector<Reply> out(commands.size());
    if (commands.size() == 1) {
        // The slot first: the order in which the arguments below are initialised is unspecified,
        // and the command is moved into one of them.
        const auto slot = command_slot(commands[0]);
        out[0] = co_await run_one(c, std::move(commands[0]), timeout, std::nullopt, slot);
        co_return out;
    }
    co_await ensure_map(c);
    // A command without a key (WAIT, say) goes where the command before it went, so that
    // `XADD …` + `WAIT 1 100` asks the node that took the XADD.
    std::vector<std::optional<std::uint16_t>> slots(commands.size());
    std::vector<bool> keyed(commands.size());
    std::optional<std::uint16_t> previous;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        auto own = command_slot(commands[i]);
        keyed[i] = own.has_value();
        if (own) previous = own;
        slots[i] = previous;
    }
    // One pipeline per node, in the order the nodes first appear.
    std::vector<std::string> order;
    std::map<std::string, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        auto address = c->address_for(slots[i]);
        auto& group = groups[address];
        if (group.empty()) order.push_back(address);
        group.push_back(i);
    }
    for (const auto& address : order) {
        const auto& indices = groups[address];
        std::vector<std::vector<std::string>> batch;
        batch.reserve(indices.size());
        for (auto i : indices) batch.push_back(commands[i]);
        std::vector<Reply> replies;
        try {
            replies = co_await c->node(address).pipeline(std::move(batch));
        } catch (const RedisError&) {
            c->is_stale = true;
            throw;
        } catch (const RedisTimeoutError&) {
            c->is_stale = true;
            throw;
        }
        for (std::size_t k = 0; k < indices.size(); ++k) out[indices[k]] = std::move(replies[k]);
    }
    // A reply that is a redirect (the slot moved meanwhile) runs again on its own, and so do the
    // keyless commands that followed it (their answer was about the wrong node).
    bool follow_again = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const bool again = is_retryable(out[i]) || (!keyed[i] && follow_again);
        if (keyed[i]) follow_again = again;
        if (again) out[i] = co_await run_one(c, std::move(commands[i]), timeout, std::nullopt, slots[i]);
    }
    co_return out;
}

asio::awaitable<Reply> cluster_eval(ClusterPtr c,
                                    Script script,
                                    std::vector<std::string> keys,
                                    std::vector<std::string> args) {
    auto evalsha = evalsha_command(script, std::move(keys), std::move(args));
    auto slot = command_slot(evalsha);
    co_return co_await run_one(c, std::move(evalsha), std::nullopt, std::move(script), slot);
}

asio::awaitable<Reply> cluster_wait(ClusterPtr c,
                                    std::string key,
                                    std::vector<std::string> args,
                                    std::chrono::milliseconds timeout) {
    const auto slot = key_slot(key);
    co_return co_await run_one(c, std::move(args), timeout, std::nullopt, slot);
}

bool cluster_is_connected(const Cluster& cluster) {
    return std::any_of(cluster.nodes.begin(), cluster.nodes.end(), [](const auto& entry) {
        return entry.second->is_connected();
    });
}

void cluster_close(Cluster& cluster) {
    cluster.is_closed = true;
    for (auto& [address, node] : cluster.nodes) node->close();
    cluster.refreshed.cancel();
}

}  // namespace detail
}  // namespace emporium::redis
