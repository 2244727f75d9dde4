#pragma once
// Recommendations: the batch builder (paid orders read in order-id batches → co-occurrence counts →
// top K neighbours per product published to Redis sorted sets <prefix>{p:<id>}:cooccurrence, each
// replaced atomically with a temporary key + RENAME), incremental bumps when an order is paid,
// and the two reads: "also bought" for a product and "recommended for you" for a customer.

#include "catalog/catalog_service.hpp"
#include "core/cpu_pool.hpp"
#include "core/error.hpp"
#include "recommend/cooccurrence.hpp"
#include "recommend/recommend_store.hpp"
#include "redis/redis.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace emporium::recommend {

struct RecommendSettings {
    std::size_t top_k = 50;  // neighbours kept per product
    Scoring scoring = Scoring::kCount;
    std::int64_t batch_orders = 100'000;  // order ids per COPY statement of the builder
    std::size_t read_streams = 2;         // connections the builder reads on concurrently
    // Publish by RESTORE of ready-made sets where the server is found to take them (probed per
    // rebuild); false: always ZADD under a temporary name + RENAME.
    bool restore_payloads = true;
    std::chrono::seconds cache_ttl{60};  // also-bought answers
    std::chrono::seconds bump_memory{7 * 24 * 3600};  // how long an order's incremental bump is remembered
};

struct RebuildReport {
    std::uint64_t baskets = 0;
    std::size_t products = 0;   // products with at least one neighbour
    std::size_t pairs = 0;      // distinct directed pairs counted
    std::size_t removed = 0;    // products whose neighbours disappeared
    double read_seconds = 0;
    double count_seconds = 0;
    double publish_seconds = 0;
};

// A product with the strength of its link to what it is recommended for.
struct RecommendedProduct : catalog::ProductView {
    std::optional<double> score;  // absent for products from the shop's ranking
    static constexpr std::array kFields{core::field("score").omitted_when_null()};
};
BOOST_DESCRIBE_STRUCT(RecommendedProduct, (catalog::ProductView), (score))

// GET /products/{id}/also-bought.
struct AlsoBought {
    std::int64_t product_id = 0;
    std::string scoring;
    std::vector<RecommendedProduct> items;
    static constexpr std::array kFields{
        core::field("scoring").values("count|cosine|jaccard|lift").describe("RECOMMEND_SCORING of the last rebuild"),
        core::field("items").describe("neighbours, best first (empty when never bought together)")};
};
BOOST_DESCRIBE_STRUCT(AlsoBought, (), (product_id, scoring, items))

// GET /recommendations.
struct Recommendations {
    std::string source;
    std::vector<RecommendedProduct> items;
    static constexpr std::array kFields{core::field("source").values("cooccurrence|popular|mixed").describe(
        "cooccurrence: neighbours of your purchases; popular: the shop's ranking (no purchases yet); mixed: "
        "topped up with the ranking")};
};
BOOST_DESCRIBE_STRUCT(Recommendations, (), (source, items))

// The last full rebuild, as GET /admin/recommendations shows it.
struct LastRebuild {
    std::chrono::sys_time<std::chrono::microseconds> finished_at{};
    std::uint64_t baskets = 0;
    std::size_t products = 0;
    std::size_t pairs = 0;
    std::size_t removed = 0;
    double seconds = 0;
    static constexpr std::array kFields{core::field("products").describe("products with at least one neighbour"),
                                        core::field("pairs").describe("distinct directed pairs counted"),
                                        core::field("removed").describe("products whose neighbours disappeared"),
                                        core::field("seconds").rounded(3).describe("how long the rebuild took")};
};
BOOST_DESCRIBE_STRUCT(LastRebuild, (), (finished_at, baskets, products, pairs, removed, seconds))

// GET /admin/recommendations.
struct RecommendStatus {
    std::string scoring;
    bool running = false;
    std::optional<LastRebuild> last_run;
    static constexpr std::array kFields{
        core::field("scoring").values("count|cosine|jaccard|lift").describe("RECOMMEND_SCORING"),
        core::field("running").describe("a rebuild holds the lock now"),
        core::field("last_run").describe("null until a rebuild finished (kept in Redis)")};
};
BOOST_DESCRIBE_STRUCT(RecommendStatus, (), (scoring, running, last_run))

class RecommendService {
public:
    using ClientRef = std::function<redis::Client&()>;

    RecommendService(RecommendSettings settings,
                     RecommendStore store,
                     ClientRef redis,
                     redis::Keys keys,
                     std::shared_ptr<catalog::CatalogService> catalog);

    // Full rebuild. Errors: kConflict (another rebuild holds the lock).
    boost::asio::awaitable<core::Result<RebuildReport>> rebuild();
    // Whether a rebuild runs now, and the last one's report.
    boost::asio::awaitable<RecommendStatus> status();
    // The `recommend.order_paid` job: bumps the pair counts of the order's products once.
    boost::asio::awaitable<core::Result<void>> on_order_paid(std::int64_t order_id);

    // The JSON text of an AlsoBought answer (cached). Errors: kNotFound. Its reads may use a
    // replica that has replayed `after` (the caller's read-your-writes position; 0: none).
    boost::asio::awaitable<core::Result<std::string>> also_bought(std::int64_t product_id,
                                                                  std::int64_t limit,
                                                                  db::Lsn after = 0);
    // The JSON text of a Recommendations answer (reads as also_bought).
    boost::asio::awaitable<std::string> recommendations(std::int64_t user_id,
                                                        std::int64_t limit,
                                                        db::Lsn after = 0);

    // <prefix>{p:<id>}:cooccurrence (hash tag per product: see docs/architecture.md).
    std::string neighbours_key(std::int64_t product_id) const;
    // <prefix>cooccurrence:<id>: the name before the hash tags; dropped by the first rebuild.
    std::string legacy_neighbours_key(std::int64_t product_id) const;
    std::string lock_key() const;          // held by the running rebuild
    std::string last_rebuild_key() const;  // the last rebuild's LastRebuild (JSON)
    const RecommendSettings& settings() const { return settings_; }

private:
    // The commands publishing one chunk of products.
    struct PublishPlan {
        bool restore = false;              // RESTORE payloads, else ZADD + RENAME
        std::string build;                 // names the temporary keys
        std::vector<std::int64_t> before;  // products in the index when the rebuild began, ascending
        bool legacy_dropped = false;       // the lists under their old names are gone
    };
    struct PublishChunk {
        std::vector<std::vector<std::string>> commands;
        std::vector<std::int64_t> ids;  // the products with a list, ascending
    };
    // Ranks and encodes one chunk of products; runs on the publisher's encoding thread and only
    // reads (the counter must be prepared).
    struct ChunkEncoder {
        const RecommendService* service;
        const CooccurrenceCounter* counter;
        const std::vector<std::int64_t>* ids;  // every product counted, ascending
        const PublishPlan* plan;
        PublishChunk operator()(std::size_t from, std::size_t to) const;  // products ids[from, to)
    };
    struct EncodeChunk {
        const ChunkEncoder* encoder;
        std::size_t from;
        std::size_t to;
        PublishChunk operator()() const { return (*encoder)(from, to); }
    };
    // The chunk of products from `from` on, its two halves encoded on `pool` at once.
    static boost::asio::awaitable<PublishChunk> encode_chunk(core::CpuPool* pool, const ChunkEncoder* encoder, std::size_t from);
    boost::asio::awaitable<bool> restore_matches(const std::string& build);
    boost::asio::awaitable<PublishPlan> plan_publish();
    boost::asio::awaitable<std::size_t> publish(const CooccurrenceCounter& counter, const PublishPlan& plan, RebuildReport& report);
    boost::asio::awaitable<std::vector<catalog::Product>> popular(std::int64_t limit, db::Lsn after);

    RecommendSettings settings_;
    RecommendStore store_;
    ClientRef redis_;
    redis::Keys keys_;
    std::shared_ptr<catalog::CatalogService> catalog_;
};

}  // namespace emporium::recommend
