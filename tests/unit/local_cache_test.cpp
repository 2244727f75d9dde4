// The in-process product layer: serves only while live, expires, evicts, stays bounded.
#include "catalog/local_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace emporium::catalog {
namespace {

std::shared_ptr<const Product> product(std::int64_t id, std::string name = "P") {
    auto p = std::make_shared<Product>();
    p->id = id;
    p->name = std::move(name);
    return p;
}

TEST(LocalProductCache, ServesNothingUntilLiveAndForgetsWhenDown) {
    LocalProductCache cache;
    cache.put(product(1));
    EXPECT_EQ(cache.get(1), nullptr);  // not live: not even kept
    cache.set_live(true);
    cache.put(product(1, "one"));
    ASSERT_NE(cache.get(1), nullptr);
    EXPECT_EQ(cache.get(1)->name, "one");
    cache.set_live(false);
    EXPECT_EQ(cache.get(1), nullptr);
    cache.set_live(true);
    EXPECT_EQ(cache.get(1), nullptr);  // emptied when the channel went down
}

TEST(LocalProductCache, EntriesExpireAndAreEvicted) {
    LocalCacheSettings s;
    s.ttl = std::chrono::milliseconds(30);
    LocalProductCache cache(s);
    cache.set_live(true);
    cache.put(product(1));
    cache.put(product(2));
    cache.evict(2);
    EXPECT_NE(cache.get(1), nullptr);
    EXPECT_EQ(cache.get(2), nullptr);
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    EXPECT_EQ(cache.get(1), nullptr);
}

TEST(LocalProductCache, StaysWithinItsCapacity) {
    LocalCacheSettings s;
    s.capacity = 160;
    LocalProductCache cache(s);
    cache.set_live(true);
    for (std::int64_t id = 1; id <= 10'000; ++id) cache.put(product(id));
    EXPECT_LE(cache.size(), 160U + 16U);
    EXPECT_NE(cache.get(10'000), nullptr);  // the newest is kept
}

TEST(LocalProductCache, AZeroTtlTurnsItOff) {
    LocalCacheSettings s;
    s.ttl = std::chrono::milliseconds(0);
    LocalProductCache cache(s);
    cache.set_live(true);
    EXPECT_FALSE(cache.enabled());
    cache.put(product(1));
    EXPECT_EQ(cache.get(1), nullptr);
}

}  // namespace
}  // namespace emporium::catalog
