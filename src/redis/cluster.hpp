#pragma once
// Redis Cluster support behind redis::Client (internal). A Client made with a
// redis+cluster://host:port,host:port URL holds a Cluster: the slot map read from CLUSTER SHARDS
// (CLUSTER SLOTS on servers before 7.0) and one ordinary single-node Client per master. Each
// command goes to the master of its key's slot; MOVED updates the map and retries there, ASK
// retries once on the named node after ASKING, TRYAGAIN and CLUSTERDOWN are retried after a short
// pause (none of them ran the command, so a retry can never apply it twice). A connection error
// marks the map stale: the next command reads it again (at most every kRefreshInterval), so a
// replica promoted after a failover is found without a restart. A failed command is not retried:
// whether it ran is unknown.

#include "redis/redis.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::redis::detail {

struct Endpoint;

inline constexpr std::size_t kSlotCount = 16384;

// The seeds of a redis+cluster://[[user]:password@]host:port,host:port… URL, as single-node
// redis:// URLs carrying the same credentials. Throws RedisError (without echoing the URL) when
// malformed: no host, a bad port, a database number other than 0 (a cluster has only db 0).
std::vector<std::string> cluster_seed_urls(const std::string& url);

// The key a command is routed by: the first key for EVAL/EVALSHA/FCALL (none when numkeys is 0),
// the first stream after STREAMS for XREAD/XREADGROUP, the key after the subcommand for XGROUP,
// XINFO, OBJECT and MEMORY, no key for server-wide commands (PING, PUBLISH, SCRIPT, INFO, …), and
// the first argument otherwise.
std::optional<std::string_view> routing_key(const std::vector<std::string>& args);

// EVALSHA <sha1> <numkeys> <keys…> <args…>
std::vector<std::string> evalsha_command(const Script& script,
                                         std::vector<std::string> keys,
                                         std::vector<std::string> args);

// A MOVED or ASK error reply, parsed.
struct Redirect {
    bool is_ask = false;
    std::uint16_t slot = 0;
    std::string address;  // host:port
};
std::optional<Redirect> parse_redirect(std::string_view error);

// One master's slot ranges, from CLUSTER SHARDS or CLUSTER SLOTS.
struct SlotRange {
    std::uint16_t first = 0;
    std::uint16_t last = 0;
    std::string address;  // host:port of the master
};
// Parses a CLUSTER SHARDS reply (Redis 7) into the masters' ranges; nodes not "online" are skipped.
std::vector<SlotRange> parse_shards(const Reply& reply);
// Parses a CLUSTER SLOTS reply (every version).
std::vector<SlotRange> parse_slots(const Reply& reply);

class Cluster;
using ClusterPtr = std::shared_ptr<Cluster>;

// Made by Client for a cluster URL; lives as long as the Client.
ClusterPtr make_cluster(boost::asio::any_io_executor ex, ClientOptions options);
boost::asio::awaitable<std::vector<Reply>> cluster_execute(ClusterPtr cluster,
                                                           std::vector<std::vector<std::string>> commands,
                                                           std::optional<std::chrono::milliseconds> timeout);
boost::asio::awaitable<Reply> cluster_eval(ClusterPtr cluster,
                                           Script script,
                                           std::vector<std::string> keys,
                                           std::vector<std::string> args);
// A keyless command (WAIT) sent to the master of `key`'s slot.
boost::asio::awaitable<Reply> cluster_wait(ClusterPtr cluster,
                                           std::string key,
                                           std::vector<std::string> args,
                                           std::chrono::milliseconds timeout);
bool cluster_is_connected(const Cluster& cluster);
void cluster_close(Cluster& cluster);

}  // namespace emporium::redis::detail
