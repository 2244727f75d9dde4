// Orders and reviews, and the pre-pass over the orders that the products' counters come from.
#include "seed/dataset.hpp"
#include "seed/users.hpp"
#include "seed/vocabulary.hpp"

#include <algorithm>
#include <bit>
#include <numeric>

namespace emporium::seed {

namespace {

constexpr std::array<std::array<std::string_view, 3>, 5> kReviewTitles{{
    {"Disappointed", "Would not buy again", "Broke quickly"},
    {"Not great", "Below expectations", "Meh"},
    {"It's okay", "Does the job", "Average"},
    {"Very good", "Happy with it", "Solid choice"},
    {"Excellent!", "Love it", "Best purchase this year"},
}};
constexpr std::array<std::array<std::string_view, 3>, 5> kReviewBodies{{
    {"Stopped working after a week.",
     "The quality is much worse than the photos suggest.",
     "Returned it, not worth the price."},
    {"It works, but the build quality could be better.",
     "Arrived late and smaller than expected.",
     "Some good ideas, poorly executed."},
    {"Nothing special, but it works as described.",
     "Fair value for the price.",
     "Decent, with a few rough edges."},
    {"Great quality and fast delivery.", "Works exactly as described.", "Would recommend to friends."},
    {"Absolutely perfect, exceeded my expectations.",
     "Fantastic quality, I bought a second one.",
     "Five stars, great value for money."},
}};

template <typename T, std::size_t N>
const T& pick(Rng& rng, const std::array<T, N>& items) {
    return items[rng.below(N)];
}

std::int32_t rating_for(std::uint64_t seed, std::uint64_t pair_key, std::int64_t quality) {
    Rng rng = Rng::for_row(seed, kStreamRating, pair_key);
    const std::uint64_t roll = rng.below(100);
    const std::int64_t shift = roll < 10 ? -2 : roll < 30 ? -1 : roll < 75 ? 0 : 1;
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(quality + shift, 1, 5));
}

}  // namespace

Dataset::Dataset(SeedOptions options, std::int64_t anchor_unix_seconds, std::string password_hash)
    : options_(options), anchor_(anchor_unix_seconds), password_hash_(std::move(password_hash)) {
    if (options_.products < 0 || options_.users < 0 || options_.orders < 0) {
        throw SeedError("seed: counts must not be negative");
    }
    if (options_.products == 0 || options_.users == 0) options_.orders = 0;

    // The first bundles deal the leaves with a stride coprime to their number (a bijection).
    const std::uint64_t leaves = vocab::vocabulary().leaves.size();
    leaf_stride_ = 7;
    while (std::gcd(leaf_stride_, leaves) != 1) leaf_stride_ += 2;

    const auto products = static_cast<std::uint64_t>(options_.products);
    if (products > 0) {
        // Popularity rank r maps to product id (r * stride + offset) mod n: a bijection when
        // gcd(stride, n) = 1, so the best sellers are scattered over the catalog.
        Rng rng = Rng::for_row(options_.seed, kStreamPermutation, 0);
        permutation_stride_ = rng.below(products) | 1U;
        while (std::gcd(permutation_stride_, products) != 1) permutation_stride_ += 2;
        permutation_offset_ = rng.below(products);
    }

    const auto slots = static_cast<std::size_t>(options_.products) + 1;
    purchase_count_.assign(slots, 0);
    rating_sum_.assign(slots, 0);
    rating_count_.assign(slots, 0);

    // Pre-pass over the orders: purchase counts, and which order lines become reviews.
    const auto user_slots = static_cast<std::uint64_t>(options_.users) + 1;
    for (std::int64_t id = 1; id <= options_.orders; ++id) {
        const OrderRow o = order(id);
        Rng pick_rng = Rng::for_row(options_.seed, kStreamReviewPick, static_cast<std::uint64_t>(id));
        for (int k = 0; k < o.item_count; ++k) {
            const auto& item = o.items[static_cast<std::size_t>(k)];
            purchase_count_[static_cast<std::size_t>(item.product_id)] += item.quantity;
            if (pick_rng.chance(1, 20) && reviewed_.size() < static_cast<std::size_t>(kMaxReviews)) {
                reviewed_.push_back(static_cast<std::uint64_t>(item.product_id) * user_slots +
                                    static_cast<std::uint64_t>(o.user_id));
            }
        }
        order_items_ += o.item_count;
    }
    std::sort(reviewed_.begin(), reviewed_.end());
    reviewed_.erase(std::unique(reviewed_.begin(), reviewed_.end()), reviewed_.end());
    for (std::size_t i = 0; i < reviewed_.size(); ++i) {
        const ReviewRow r = review(static_cast<std::int64_t>(i) + 1);
        rating_sum_[static_cast<std::size_t>(r.product_id)] += r.rating;
        rating_count_[static_cast<std::size_t>(r.product_id)] += 1;
    }
}

std::int64_t Dataset::rows(Table table) const {
    switch (table) {
        case Table::kCategories:
            return category_count();
        case Table::kUsers:
            return options_.users;
        case Table::kProducts:
        case Table::kInventoryMovements:  // one opening balance per product
            return options_.products;
        case Table::kOrders:
            return options_.orders;
        case Table::kOrderItems:
            return order_items_;
        case Table::kReviews:
            return static_cast<std::int64_t>(reviewed_.size());
    }
    return 0;
}

std::int64_t Dataset::units(Table table) const {
    return rows(table == Table::kOrderItems ? Table::kOrders : table);
}

std::int64_t Dataset::popular_product(Rng& rng) const {
    // Zipf-like (s ≈ 1) with integers only: choose an octave [2^j, 2^(j+1)) of popularity ranks
    // uniformly, then a rank inside it, so P(rank r) ≈ 1 / (r · log2 n). The octaves start at
    // 2^kHeadBits (ranks shifted down to start at 1), so the head is a group of 8 best sellers
    // rather than a single product in a tenth of all orders.
    constexpr unsigned kHeadBits = 3;
    constexpr std::uint64_t kShift = (std::uint64_t{1} << kHeadBits) - 1;
    const auto n = static_cast<std::uint64_t>(options_.products);
    const auto octaves = static_cast<std::uint64_t>(std::bit_width(n + kShift)) - kHeadBits;
    std::uint64_t rank = 0;
    do {
        const std::uint64_t j = kHeadBits + rng.below(octaves);
        rank = (std::uint64_t{1} << j) + rng.below(std::uint64_t{1} << j) - kShift;
    } while (rank > n);
    return static_cast<std::int64_t>(((rank - 1) * permutation_stride_ + permutation_offset_) % n) + 1;
}

OrderRow Dataset::order(std::int64_t id) const {
    Rng rng = Rng::for_row(options_.seed, kStreamOrder, static_cast<std::uint64_t>(id));
    OrderRow row;
    row.id = id;
    row.user_id = rng.between(1, options_.users);

    const std::uint64_t size_roll = rng.below(100);
    int wanted = size_roll < 15 ? 1 : size_roll < 35 ? 2 : size_roll < 65 ? 3 : size_roll < 85 ? 4 : 5;
    wanted = static_cast<int>(std::min<std::int64_t>(wanted, options_.products));

    auto contains = [&row](std::int64_t product_id) {
        for (int k = 0; k < row.item_count; ++k) {
            if (row.items[static_cast<std::size_t>(k)].product_id == product_id) return true;
        }
        return false;
    };
    const std::int64_t anchor_product = popular_product(rng);
    const std::int64_t bundle_first = (anchor_product - 1) / kBundleSize * kBundleSize + 1;
    const std::int64_t bundle_last = std::min(bundle_first + kBundleSize - 1, options_.products);
    row.items[0].product_id = anchor_product;
    row.item_count = 1;
    while (row.item_count < wanted) {
        std::int64_t candidate = 0;
        for (int attempt = 0; attempt < 8 && (candidate == 0 || contains(candidate)); ++attempt) {
            // The planted co-purchase signal: most extra lines come from the first one's bundle.
            candidate = rng.chance(7, 10) ? rng.between(bundle_first, bundle_last) : popular_product(rng);
        }
        if (contains(candidate)) {
            // Tiny catalogs: take the next free id (wanted <= products, so one exists).
            candidate = candidate % options_.products + 1;
            while (contains(candidate)) candidate = candidate % options_.products + 1;
        }
        row.items[static_cast<std::size_t>(row.item_count)].product_id = candidate;
        ++row.item_count;
    }

    // Placed after the user signed up and after every product in it existed, at least an hour
    // before the anchor.
    std::int64_t start = user_base(options_.seed, anchor_, row.user_id).created_at;
    for (int k = 0; k < row.item_count; ++k) {
        auto& item = row.items[static_cast<std::size_t>(k)];
        const ProductBase base = product_base(item.product_id);
        const std::uint64_t quantity_roll = rng.below(100);
        item.quantity = quantity_roll < 80 ? 1 : quantity_roll < 95 ? 2 : 3;
        item.unit_price_cents = base.price_cents;
        row.total_cents += item.unit_price_cents * item.quantity;
        start = std::max(start, base.created_at);
    }
    const std::int64_t window = std::max<std::int64_t>(anchor_ - 3600 - start - 1, 1);
    row.created_at = start + 1 + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(window)));
    row.paid_at = row.created_at + rng.between(30, 900);
    row.is_fulfilled = anchor_ - row.created_at > 4 * kDay && rng.chance(9, 10);
    if (row.is_fulfilled) row.fulfilled_at = row.paid_at + rng.between(kDay, 3 * kDay);
    return row;
}

ReviewRow Dataset::review(std::int64_t id) const {
    const vocab::Vocabulary& v = vocab::vocabulary();
    const std::uint64_t key = reviewed_[static_cast<std::size_t>(id - 1)];
    const auto user_slots = static_cast<std::uint64_t>(options_.users) + 1;
    ReviewRow row;
    row.id = id;
    row.product_id = static_cast<std::int64_t>(key / user_slots);
    row.user_id = static_cast<std::int64_t>(key % user_slots);
    const ProductBase base = product_base(row.product_id);
    const vocab::Leaf& leaf = v.leaves[base.leaf];
    row.rating = rating_for(options_.seed, key, base.quality);
    Rng rng = Rng::for_row(options_.seed, kStreamReview, key);
    const auto stars = static_cast<std::size_t>(row.rating - 1);
    row.title = pick(rng, kReviewTitles[stars]);
    row.body = pick(rng, kReviewBodies[stars]);
    row.body.append(" Bought this ");
    row.body.append(leaf.nouns[base.noun].text);
    row.body.append(" for ");
    const auto& uses = v.mids[leaf.mid].uses;
    row.body.append(uses[rng.below(uses.size())].text);
    row.body.push_back('.');
    // After the product existed and the reviewer signed up.
    const std::int64_t start =
        std::max(base.created_at, user_base(options_.seed, anchor_, row.user_id).created_at);
    const std::int64_t window = std::max<std::int64_t>(anchor_ - 3600 - start, 1);
    row.created_at = start + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(window)));
    return row;
}

}  // namespace emporium::seed
