#pragma once
// Read-your-writes across read replicas: after a signed-in client's write (POST, PUT, PATCH,
// DELETE), its reads are served only by a replica that has replayed that write, or by the primary.
//
// - record (an http::AfterHook, after the handler and before its response is sent): reads the
//   primary's WAL insert position, which is at or past every commit the handler made, and keeps
//   it for the user for `ttl`, in this process (a map) and in Redis (`<prefix>rw:<user id>`, only
//   ever raised), so that every API process behind the load balancer honours it;
// - lookup (an http::Middleware, for GET and HEAD of a signed-in client on an operation declared
//   with `replica_reads`): the larger of the two positions goes into RequestContext::read_after,
//   which replica-eligible reads pass to db::ReplicaSet. If Redis cannot be asked, only the primary
//   will do (read_after = the largest position): a write made through another process may be
//   unknown here. Other operations of a signed-in client, and every write, get the largest position
//   without asking Redis: a replica read that was not declared goes to the primary.
//
// Used only when read replicas are configured. Thread-safe (a mutex around the map, never held
// across an await).

#include "db/pg.hpp"
#include "db/replicas.hpp"
#include "http/server.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace emporium::app {

class ReadYourWrites {
public:
    using PoolProvider = std::function<db::Pool&()>;
    using ClientProvider = std::function<redis::Client&()>;

    ReadYourWrites(PoolProvider primary,
                   ClientProvider redis,
                   redis::Keys keys,
                   std::chrono::milliseconds ttl = std::chrono::milliseconds(60'000));

    // After a write by `user_id`: its position now, kept here and in Redis. Throws db errors (the
    // primary unavailable); Redis failures are logged.
    boost::asio::awaitable<db::Lsn> record(std::int64_t user_id);
    // The position `user_id`'s reads must have replayed: 0 when none is known.
    boost::asio::awaitable<db::Lsn> lookup(std::int64_t user_id);

    // The in-process part (tests).
    void remember(std::int64_t user_id, db::Lsn lsn);
    db::Lsn remembered(std::int64_t user_id) const;

private:
    using Clock = std::chrono::steady_clock;
    struct Entry {
        db::Lsn lsn = 0;
        Clock::time_point expires;
    };
    std::string key(std::int64_t user_id) const;

    PoolProvider primary_;
    ClientProvider redis_;
    redis::Keys keys_;
    std::chrono::milliseconds ttl_;
    mutable std::mutex mutex_;
    std::unordered_map<std::int64_t, Entry> entries_;
};

// Records the position after every POST, PUT, PATCH and DELETE a signed-in user made.
http::AfterHook read_your_writes_recorder(std::shared_ptr<ReadYourWrites> tracker);
// Sets RequestContext::read_after (above). Register after authentication.
http::Middleware read_your_writes_middleware(std::shared_ptr<ReadYourWrites> tracker);

}  // namespace emporium::app
