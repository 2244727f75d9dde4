// `emporium recommend rebuild`: the full co-occurrence rebuild, run in the foreground.
#include "app/commands.hpp"
#include "app/jobs_wiring.hpp"
#include "app/wiring.hpp"
#include "core/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace emporium::app {

namespace {

namespace asio = boost::asio;

asio::awaitable<int> rebuild(core::Config config) {
    auto ex = co_await asio::this_coro::executor;
    db::Pool pool(ex, pool_options(config, 1));
    redis::Client redis(ex, redis_options(config));
    recommend::RecommendService service(recommend_settings(config),
                                        recommend::RecommendStore([p = &pool]() -> db::Pool& { return *p; }),
                                        [r = &redis]() -> redis::Client& { return *r; },
                                        redis::Keys(config.cache.key_prefix),
                                        nullptr);
    auto report = co_await service.rebuild();
    pool.close();
    redis.close();
    if (!report) {
        std::cerr << "recommend rebuild: " << report.error().message << "\n";
        co_return 1;
    }
    std::cout << "recommend rebuild: " << report->baskets << " baskets, " << report->pairs << " pairs, "
              << report->products << " products published (" << report->removed << " removed); read "
              << report->read_seconds << " s, counted " << report->count_seconds << " s, published "
              << report->publish_seconds << " s\n";
    co_return 0;
}

}  // namespace

int run_recommend_rebuild(const core::Config& config) {
    return run_command(rebuild(config), "recommend rebuild");
}

}  // namespace emporium::app
