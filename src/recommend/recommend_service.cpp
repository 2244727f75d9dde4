#include "recommend/recommend_service.hpp"

#include "core/codec.hpp"

#include "core/cpu_pool.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "redis/dump.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace emporium::recommend {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kPublishChunk = 1000;  // products per pipeline

// The hash tag of a product's keys (its neighbour set, the set's temporary build, the markers of
// the orders that bumped it): a script or RENAME over them stays in one slot of a cluster.
std::string product_tag(std::int64_t product_id) { return "p:" + std::to_string(product_id); }

// KEYS: lock. ARGV: token. Releases the rebuild lock only if we hold it.
const redis::Script kRelease(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

// One product of a paid order (both keys in the product's slot, tag {p:<id>}).
// KEYS: the product's "bumped by this order" marker, the product's neighbour set.
// ARGV: marker ttl s, "incr" | "nx", K, the order's other products…
// Bumps the product's pairs once per order: the marker makes a redelivered job a no-op for the
// products it already bumped, and a job that failed half-way bumps the rest when it runs again.
const redis::Script kBump(R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local k = tonumber(ARGV[3])
for j = 4, #ARGV do
  if ARGV[2] == 'incr' then
    redis.call('ZINCRBY', KEYS[2], 1, ARGV[j])
  else
    redis.call('ZADD', KEYS[2], 'NX', 0, ARGV[j])
  end
end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(k + 1))
return 1
)lua");

std::optional<std::int64_t> to_id(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

double to_double(const std::string& s) {
    try {
        return std::stod(s);
    } catch (const std::exception&) {
        return 0;
    }
}

// Sends a batch of commands; any error reply fails the whole publication.
asio::awaitable<void> send_all(redis::Client* client, std::vector<std::vector<std::string>> commands) {
    if (commands.empty()) co_return;
    auto replies = co_await client->pipeline(std::move(commands));
    for (const auto& r : replies) {
        if (r.is_error()) throw redis::RedisError("recommend: publishing failed: " + r.str);
    }
}

// The items of an answer; the views point into `products`, which must stay as they are.
std::vector<RecommendedProduct> scored(const std::vector<catalog::Product>& products,
                                       const std::vector<std::optional<double>>& scores) {
    std::vector<RecommendedProduct> out;
    out.reserve(products.size());
    for (std::size_t i = 0; i < products.size(); ++i) {
        RecommendedProduct item;
        static_cast<catalog::ProductView&>(item) = catalog::view_of(products[i]);
        item.score = scores[i];
        out.push_back(std::move(item));
    }
    return out;
}

}  // namespace

// The commands publishing products ids[from, to).
RecommendService::PublishChunk RecommendService::ChunkEncoder::operator()(std::size_t from, std::size_t to) const {
    PublishChunk chunk;
    const auto& settings = service->settings_;
    std::vector<redis::ZsetIdMember> members;
    std::vector<Neighbour> top;
    std::vector<std::string> added{"SADD", service->keys_.make("cooccurrence", "index")};  // new in the index
    for (auto at = from; at < to; ++at) {
        const auto id = (*ids)[at];
        // The payload puts the members in Redis' order; the commands below do not depend on it.
        counter->top(id, settings.top_k, settings.scoring, top);
        if (top.empty()) continue;
        if (plan->restore) {
            members.clear();
            for (const auto& n : top) members.push_back({n.product_id, n.score});
            std::vector<std::string> restore_cmd;
            restore_cmd.reserve(5);
            restore_cmd.emplace_back("RESTORE");
            restore_cmd.push_back(service->neighbours_key(id));
            restore_cmd.emplace_back("0");
            restore_cmd.push_back(redis::zset_restore_payload(members));  // moved, not copied
            restore_cmd.emplace_back("REPLACE");
            chunk.commands.push_back(std::move(restore_cmd));
        } else {
            // Renamed over the live key: both in the product's slot.
            const auto tmp = service->keys_.tagged(product_tag(id), "cooccurrence", "tmp", plan->build);
            std::vector<std::string> zadd{"ZADD", tmp};
            zadd.reserve(2 + 2 * top.size());
            for (const auto& n : top) {
                zadd.push_back(redis::listpack_score(n.score));
                zadd.push_back(std::to_string(n.product_id));
            }
            chunk.commands.push_back(std::move(zadd));
            chunk.commands.push_back(redis::cmd("RENAME", tmp, service->neighbours_key(id)));
        }
        chunk.ids.push_back(id);
        if (!std::binary_search(plan->before.begin(), plan->before.end(), id)) added.push_back(std::to_string(id));
    }
    if (added.size() > 2) chunk.commands.push_back(std::move(added));
    return chunk;
}

asio::awaitable<RecommendService::PublishChunk> RecommendService::encode_chunk(core::CpuPool* pool,
                                                                              const ChunkEncoder* encoder,
                                                                              std::size_t from) {
    const auto size = encoder->ids->size();
    const auto end = std::min(size, from + kPublishChunk);
    const auto middle = std::min(end, from + kPublishChunk / 2);
    auto first = core::run_on_cpu(*pool, EncodeChunk{encoder, from, middle});
    auto second = core::run_on_cpu(*pool, EncodeChunk{encoder, middle, end});
    auto [chunk, rest] = co_await (std::move(first) && std::move(second));
    std::move(rest.commands.begin(), rest.commands.end(), std::back_inserter(chunk.commands));
    chunk.ids.insert(chunk.ids.end(), rest.ids.begin(), rest.ids.end());
    co_return chunk;
}

RecommendService::RecommendService(RecommendSettings settings,
                                   RecommendStore store,
                                   ClientRef redis,
                                   redis::Keys keys,
                                   std::shared_ptr<catalog::CatalogService> catalog)
    : settings_(settings),
      store_(std::move(store)),
      redis_(std::move(redis)),
      keys_(std::move(keys)),
      catalog_(std::move(catalog)) {}

std::string RecommendService::neighbours_key(std::int64_t product_id) const {
    return keys_.tagged(product_tag(product_id), "cooccurrence");
}

std::string RecommendService::legacy_neighbours_key(std::int64_t product_id) const {
    return keys_.make("cooccurrence", product_id);
}

std::string RecommendService::lock_key() const {
    return keys_.make("cooccurrence", "rebuild-lock");
}

std::string RecommendService::last_rebuild_key() const {
    return keys_.make("cooccurrence", "last-rebuild");
}

asio::awaitable<RecommendStatus> RecommendService::status() {
    RecommendStatus out;
    out.scoring = std::string(scoring_name(settings_.scoring));
    auto running = co_await redis_().command(redis::cmd("EXISTS", lock_key()));
    out.running = running.as_int() > 0;
    auto last = co_await redis_().command(redis::cmd("GET", last_rebuild_key()));
    if (!last.is_nil()) {
        boost::system::error_code ec;
        auto value = boost::json::parse(last.as_string(), ec);
        if (!ec) {
            auto decoded = core::codec::decode<LastRebuild>(value);
            if (decoded) out.last_run = std::move(*decoded);
        }
    }
    co_return out;
}

asio::awaitable<core::Result<RebuildReport>> RecommendService::rebuild() {
    const auto lock = lock_key();
    const auto began = Clock::now();
    const auto token = core::random_hex_id();
    auto taken = co_await redis_().command(redis::cmd("SET", lock, token, "NX", "PX", "900000"));
    if (!taken.is_ok()) co_return core::make_error(core::Errc::kConflict, "a recommendations rebuild is already running");
    RebuildReport report;
    std::exception_ptr failure;
    try {
        CooccurrenceCounter counter;
        // Each basket's pairs are buffered as its rows arrive (the server produces the next rows
        // meanwhile); counting them is sorting the buffer, at the end (or whenever it is full).
        const auto started = Clock::now();
        BasketAssembler::OnBasket add = [&counter](std::span<const std::int64_t> products) { counter.add_basket(products); };
        // Meanwhile (Redis is idle) the publication is prepared.
        auto reading = store_.stream_paid_baskets(settings_.batch_orders, settings_.read_streams, add);
        auto planning = plan_publish();
        auto [rows, plan] = co_await (std::move(reading) && std::move(planning));
        static_cast<void>(rows);
        const auto streamed = Clock::now();
        counter.prepare();
        report.read_seconds = std::chrono::duration<double>(streamed - started).count();
        report.count_seconds = std::chrono::duration<double>(Clock::now() - streamed).count();
        report.baskets = counter.baskets();
        report.pairs = counter.pairs();
        const auto publishing = Clock::now();
        report.products = co_await publish(counter, plan, report);
        report.publish_seconds = std::chrono::duration<double>(Clock::now() - publishing).count();
        // Written while the lock is held: whoever sees the lock gone also sees this run's report.
        const LastRebuild last{
            std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()), report.baskets,
            report.products, report.pairs, report.removed, std::chrono::duration<double>(Clock::now() - began).count()};
        co_await redis_().command(redis::cmd("SET", last_rebuild_key(), core::codec::encode(last)));
    } catch (const std::exception&) {
        failure = std::current_exception();
    }
    std::vector<std::string> keys{lock};
    std::vector<std::string> args{token};
    try {
        co_await redis_().eval(kRelease, std::move(keys), std::move(args));
    } catch (const std::exception&) {
        // The lock expires on its own.
    }
    if (failure) std::rethrow_exception(failure);
    core::Metrics::global().counter("emporium_recommend_rebuilds_total", "Full recommendation rebuilds").inc();
    core::log::info("recommendations rebuilt", {{"baskets", static_cast<std::int64_t>(report.baskets)},
                                                {"products", report.products},
                                                {"pairs", report.pairs},
                                                {"removed", report.removed},
                                                {"read_s", report.read_seconds},
                                                {"count_s", report.count_seconds},
                                                {"publish_s", report.publish_seconds}});
    co_return report;
}

asio::awaitable<bool> RecommendService::restore_matches(const std::string& build) {
    // A small set written by ZADD and the same set restored from our payload must DUMP alike: then
    // this server stores sets exactly as the payloads do (same encoding, same RDB version family).
    const std::vector<std::pair<std::string, double>> probe{
        {"7", 1}, {"300", 2}, {"70000", 2}, {"9000000", 0.5}, {"3000000000", 2}, {"12", 0.1}, {"-4", 1e-7}, {"x", 3}};
    std::vector<redis::ZsetMember> members;
    std::vector<std::string> zadd{"ZADD", keys_.make("cooccurrence", "tmp", build, "probe-a")};
    for (const auto& [m, score] : probe) {
        members.push_back({m, score});
        zadd.push_back(redis::listpack_score(score));
        zadd.push_back(m);
    }
    const auto a = zadd[1];
    const auto b = keys_.make("cooccurrence", "tmp", build, "probe-b");
    std::vector<std::vector<std::string>> commands;
    commands.push_back(std::move(zadd));
    // Both expire on their own should this process die before the DEL below.
    commands.push_back(redis::cmd("PEXPIRE", a, "60000"));
    commands.push_back(redis::cmd("RESTORE", b, "60000", redis::zset_restore_payload(members), "REPLACE"));
    commands.push_back(redis::cmd("DUMP", a));
    commands.push_back(redis::cmd("DUMP", b));
    commands.push_back(redis::cmd("DEL", a));
    commands.push_back(redis::cmd("DEL", b));
    auto replies = co_await redis_().pipeline(std::move(commands));
    const bool same = replies[2].is_ok() && !replies[3].is_error() && !replies[3].is_nil() &&
                      replies[3].str == replies[4].str && replies[4].type == replies[3].type;
    if (!same) {
        core::log::warn("recommendations: this Redis does not load sorted-set payloads like its own; publishing with ZADD",
                        {{"restore", replies[2].is_error() ? replies[2].str : std::string("ok")}});
    }
    co_return same;
}

asio::awaitable<RecommendService::PublishPlan> RecommendService::plan_publish() {
    PublishPlan plan;
    plan.build = core::random_hex_id().substr(0, 12);
    // Each list replaces the live one in one command, so a reader sees the old list or the new one,
    // never a mix: RESTORE … REPLACE of the whole set where the server takes our payloads, else a
    // set written under a temporary name and renamed over the live key.
    if (settings_.restore_payloads) plan.restore = co_await restore_matches(plan.build);
    // The products that have a list now. Taken before counting: a list an order.paid bump creates
    // meanwhile is not mistaken for a stale one.
    auto old = co_await redis_().command(redis::cmd("SMEMBERS", keys_.make("cooccurrence", "index")));
    plan.before.reserve(old.elements.size());
    for (const auto& member : old.elements) {
        if (auto id = to_id(member.str)) plan.before.push_back(*id);
    }
    std::sort(plan.before.begin(), plan.before.end());
    auto dropped = co_await redis_().command(redis::cmd("EXISTS", keys_.make("cooccurrence", "legacy-dropped")));
    plan.legacy_dropped = dropped.as_int() > 0;
    co_return plan;
}

asio::awaitable<std::size_t> RecommendService::publish(const CooccurrenceCounter& counter,
                                                       const PublishPlan& plan,
                                                       RebuildReport& report) {
    const auto index = keys_.make("cooccurrence", "index");
    counter.prepare();  // from here on the encoding threads only read the counter
    const auto ids = counter.product_ids();
    const ChunkEncoder encoder{this, &counter, &ids, &plan};
    std::vector<std::int64_t> published;
    // Two threads rank and encode the next chunk while this one sends the current chunk and
    // Redis loads it. Declared last: destroyed (joined) before what their work refers to.
    core::CpuPool encoders(2);
    auto chunk = co_await encode_chunk(&encoders, &encoder, 0);
    for (std::size_t from = 0;; from += kPublishChunk) {
        published.insert(published.end(), chunk.ids.begin(), chunk.ids.end());
        const auto next = from + kPublishChunk;
        if (next >= ids.size()) {
            co_await send_all(&redis_(), std::move(chunk.commands));
            break;
        }
        auto sending = send_all(&redis_(), std::move(chunk.commands));
        auto encoding = encode_chunk(&encoders, &encoder, next);
        chunk = co_await (std::move(sending) && std::move(encoding));
    }
    encoders.join();

    // New products went into the index with their chunk. Products that had a list before but
    // have none now lose their stale one.
    // One DEL per list (each in its product's slot).
    std::vector<std::vector<std::string>> commands;
    std::vector<std::string> forget{"SREM", index};
    for (auto id : plan.before) {
        if (std::binary_search(published.begin(), published.end(), id)) continue;
        commands.push_back(redis::cmd("DEL", neighbours_key(id)));
        forget.push_back(std::to_string(id));
    }
    report.removed = commands.size();
    if (forget.size() > 2) commands.push_back(std::move(forget));
    // Lists under the names of releases before the hash tags (`cooccurrence:<id>`, one per
    // product of the index) are read no more: the first rebuild after the upgrade drops them.
    if (!plan.legacy_dropped) {
        for (auto id : plan.before) commands.push_back(redis::cmd("DEL", legacy_neighbours_key(id)));
        commands.push_back(redis::cmd("SET", keys_.make("cooccurrence", "legacy-dropped"), "1"));
    }
    commands.push_back(redis::cmd("INCR", keys_.make("cooccurrence", "version")));
    for (std::size_t from = 0; from < commands.size(); from += kPublishChunk) {
        const auto to = std::min(commands.size(), from + kPublishChunk);
        std::vector<std::vector<std::string>> part(std::make_move_iterator(commands.begin() + static_cast<std::ptrdiff_t>(from)),
                                                   std::make_move_iterator(commands.begin() + static_cast<std::ptrdiff_t>(to)));
        co_await send_all(&redis_(), std::move(part));
    }
    co_return published.size();
}

asio::awaitable<core::Result<void>> RecommendService::on_order_paid(std::int64_t order_id) {
    auto [paid, products] = co_await store_.order_products(order_id);
    if (!paid) co_return core::Result<void>{};  // not (or no longer) a purchase
    std::sort(products.begin(), products.end());
    products.erase(std::unique(products.begin(), products.end()), products.end());
    if (products.size() < 2) co_return core::Result<void>{};
    // One script per product, each in that product's slot; then the index and the version, which
    // are idempotent (SADD) or harmless to repeat (a new version only refreshes cached answers), so
    // a job redelivered after a failure anywhere in between completes the work exactly once.
    for (auto p : products) {
        std::vector<std::string> keys{keys_.tagged(product_tag(p), "cooccurrence", "bumped", order_id), neighbours_key(p)};
        std::vector<std::string> args{std::to_string(settings_.bump_memory.count()),
                                      settings_.scoring == Scoring::kCount ? "incr" : "nx", std::to_string(settings_.top_k)};
        for (auto other : products) {
            if (other != p) args.push_back(std::to_string(other));
        }
        auto r = co_await redis_().eval(kBump, std::move(keys), std::move(args));
        if (r.is_error()) throw redis::RedisError("recommend: bump failed: " + r.str);
    }
    std::vector<std::string> index{"SADD", keys_.make("cooccurrence", "index")};
    for (auto p : products) index.push_back(std::to_string(p));
    std::vector<std::vector<std::string>> commands;
    commands.push_back(std::move(index));
    commands.push_back(redis::cmd("INCR", keys_.make("cooccurrence", "version")));
    auto replies = co_await redis_().pipeline(std::move(commands));
    for (const auto& r : replies) {
        if (r.is_error()) throw redis::RedisError("recommend: bump failed: " + r.str);
    }
    co_return core::Result<void>{};
}

asio::awaitable<core::Result<std::string>> RecommendService::also_bought(std::int64_t product_id,
                                                                         std::int64_t limit,
                                                                         db::Lsn after) {
    // One round trip for a cached answer: the model version and the answer (stored as
    // "<version>\n<json>"); an answer of an older model is recomputed.
    const auto cache_key = keys_.make("rec", "also", product_id, limit);
    std::vector<std::vector<std::string>> lookup;
    lookup.push_back(redis::cmd("GET", keys_.make("cooccurrence", "version")));
    lookup.push_back(redis::cmd("GET", cache_key));
    auto found = co_await redis_().pipeline(std::move(lookup));
    const std::string current = found[0].is_nil() || found[0].is_error() ? std::string("0") : found[0].str;
    if (!found[1].is_nil() && !found[1].is_error()) {
        const auto& cached = found[1].str;
        const auto newline = cached.find('\n');
        if (newline != std::string::npos && std::string_view(cached).substr(0, newline) == current) {
            co_return cached.substr(newline + 1);
        }
    }
    auto product = co_await catalog_->get_product(product_id, false, after);
    if (!product) co_return product.error();

    auto members = co_await redis_().command(
        redis::cmd("ZREVRANGE", neighbours_key(product_id), "0", std::to_string(limit + 20), "WITHSCORES"));
    std::vector<std::int64_t> ids;
    std::unordered_map<std::int64_t, double> scores;
    for (std::size_t i = 0; i + 1 < members.elements.size(); i += 2) {
        if (auto id = to_id(members.elements[i].str)) {
            ids.push_back(*id);
            scores[*id] = to_double(members.elements[i + 1].str);
        }
    }
    auto products = co_await catalog_->get_visible_products(ids, after);
    if (static_cast<std::int64_t>(products.size()) > limit) products.resize(static_cast<std::size_t>(limit));
    std::vector<std::optional<double>> item_scores;
    item_scores.reserve(products.size());
    for (const auto& p : products) item_scores.emplace_back(scores[p.id]);
    auto body = core::codec::encode(
        AlsoBought{product_id, std::string(scoring_name(settings_.scoring)), scored(products, item_scores)});
    co_await redis_().command(redis::cmd("SET", cache_key, current + "\n" + body, "EX",
                                         std::to_string(std::max<std::int64_t>(1, settings_.cache_ttl.count()))));
    co_return body;
}

asio::awaitable<std::vector<catalog::Product>> RecommendService::popular(std::int64_t limit, db::Lsn after) {
    catalog::ListQuery query;
    query.sort = catalog::ListSort::kRank;
    query.limit = std::clamp<std::int64_t>(limit, 1, 100);
    std::vector<catalog::Product> out;
    auto page = co_await catalog_->list_products(query, after);
    if (page) {
        for (auto& item : page->items) out.push_back(std::move(item.product));
    }
    co_return out;
}

asio::awaitable<std::string> RecommendService::recommendations(std::int64_t user_id,
                                                               std::int64_t limit,
                                                               db::Lsn after) {
    auto bought = co_await store_.purchases(user_id, 500, after);
    const std::unordered_set<std::int64_t> owned(bought.begin(), bought.end());
    std::vector<catalog::Product> items;
    std::vector<std::optional<double>> item_scores;
    std::unordered_set<std::int64_t> shown;
    std::string source = "popular";
    if (!bought.empty()) {
        // The neighbour lists of the most recent purchases, summed.
        std::vector<std::vector<std::string>> commands;
        const std::size_t recent = std::min<std::size_t>(bought.size(), 20);
        for (std::size_t i = 0; i < recent; ++i) {
            commands.push_back(redis::cmd("ZREVRANGE", neighbours_key(bought[i]), "0", "49", "WITHSCORES"));
        }
        auto replies = co_await redis_().pipeline(std::move(commands));
        std::unordered_map<std::int64_t, double> sum;
        for (const auto& r : replies) {
            for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
                auto id = to_id(r.elements[i].str);
                if (id && !owned.contains(*id)) sum[*id] += to_double(r.elements[i + 1].str);
            }
        }
        std::vector<std::pair<std::int64_t, double>> ranked(sum.begin(), sum.end());
        std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        if (ranked.size() > static_cast<std::size_t>(limit) + 20) ranked.resize(static_cast<std::size_t>(limit) + 20);
        std::vector<std::int64_t> ids;
        ids.reserve(ranked.size());
        for (const auto& [id, score] : ranked) ids.push_back(id);
        for (const auto& p : co_await catalog_->get_visible_products(ids, after)) {
            if (static_cast<std::int64_t>(items.size()) >= limit) break;
            items.push_back(p);
            item_scores.emplace_back(sum[p.id]);
            shown.insert(p.id);
        }
        if (!items.empty()) source = "cooccurrence";
    }
    const auto from_cooccurrence = items.size();
    if (static_cast<std::int64_t>(items.size()) < limit) {
        // New customers (and short lists) get the shop's ranking, minus what they own.
        for (const auto& p : co_await popular(limit + static_cast<std::int64_t>(owned.size()) + 10, after)) {
            if (static_cast<std::int64_t>(items.size()) >= limit) break;
            if (owned.contains(p.id) || shown.contains(p.id)) continue;
            items.push_back(p);
            item_scores.emplace_back(std::nullopt);
            shown.insert(p.id);
        }
        if (from_cooccurrence > 0 && items.size() > from_cooccurrence) source = "mixed";
    }
    co_return core::codec::encode(Recommendations{source, scored(items, item_scores)});
}

}  // namespace emporium::recommend
