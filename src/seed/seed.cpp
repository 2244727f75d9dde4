#include "seed/seed.hpp"

#include "core/log.hpp"
#include "db/pg.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <sodium.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <deque>
#include <numeric>
#include <span>
#include <tuple>
#include <utility>

namespace emporium::seed {

// ================================================================================================
// PRNG
// ================================================================================================

std::uint64_t splitmix64(std::uint64_t& state) {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

Rng::Rng(std::uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
}

Rng Rng::for_row(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
    std::uint64_t state = seed;
    std::uint64_t mixed = splitmix64(state) ^ (stream * 0xd1b54a32d192ed03ULL);
    state = mixed;
    mixed = splitmix64(state) ^ index;
    return Rng(mixed);
}

std::uint64_t Rng::next() {
    const std::uint64_t result = std::rotl(s_[1] * 5U, 7) * 9U;
    const std::uint64_t t = s_[1] << 17U;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
}

std::uint64_t Rng::below(std::uint64_t n) {
    // Rejection sampling: drop the top partial range so every residue is equally likely.
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
        const std::uint64_t r = next();
        if (r >= threshold) return r % n;
    }
}

std::int64_t Rng::between(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1U;
    return lo + static_cast<std::int64_t>(below(span));
}

// ================================================================================================
// COPY text helpers
// ================================================================================================

void append_copy_text(std::string& out, std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const char* escape = nullptr;
        switch (c) {
            case '\\':
                escape = "\\\\";
                break;
            case '\t':
                escape = "\\t";
                break;
            case '\n':
                escape = "\\n";
                break;
            case '\r':
                escape = "\\r";
                break;
            case '\0':
                throw SeedError("seed: NUL byte in text value");
            default:
                continue;
        }
        out.append(s.substr(start, i - start));
        out.append(escape);
        start = i + 1;
    }
    out.append(s.substr(start));
}

namespace {

void append_int(std::string& out, std::int64_t v) {
    std::array<char, 24> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    (void)ec;  // 24 chars always fit an int64
    out.append(buf.data(), end);
}

void append_two(std::string& out, unsigned v) {
    out.push_back(static_cast<char>('0' + v / 10U));
    out.push_back(static_cast<char>('0' + v % 10U));
}

}  // namespace

void append_timestamp(std::string& out, std::int64_t unix_seconds) {
    using namespace std::chrono;
    const sys_seconds t{seconds{unix_seconds}};
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const auto secs = static_cast<unsigned>((t - day).count());
    append_int(out, static_cast<int>(ymd.year()));
    out.push_back('-');
    append_two(out, static_cast<unsigned>(ymd.month()));
    out.push_back('-');
    append_two(out, static_cast<unsigned>(ymd.day()));
    out.push_back(' ');
    append_two(out, secs / 3600U);
    out.push_back(':');
    append_two(out, secs / 60U % 60U);
    out.push_back(':');
    append_two(out, secs % 60U);
    out.append("+00");
}

namespace {

// ================================================================================================
// Word lists. Fixed forever: changing them changes the data every seed produces.
// ================================================================================================

struct Noun {
    std::string_view name;
    std::string_view brand;  // empty: the bundle's brand
};

struct Leaf {
    std::string_view slug;
    std::string_view name;
    std::array<Noun, 5> nouns;
    std::int64_t base_price_dollars;  // prices start here…
    std::int64_t octaves;             // …and span this many doublings
};

struct TopCategory {
    std::string_view slug;
    std::string_view name;
    std::array<std::string_view, 6> features;
    std::array<std::string_view, 4> uses;
    std::array<Leaf, 5> leaves;
};

constexpr std::array<TopCategory, 8> kTree{{
    {"electronics",
     "Electronics",
     {"bluetooth 5.3",
      "USB-C charging",
      "long battery life",
      "fast charging",
      "water resistance",
      "voice control"},
     {"everyday use", "travel", "working from home", "gaming"},
     {{
         {"smartphones",
          "Smartphones",
          {{{"iPhone", "Apple"},
            {"Android Phone", ""},
            {"Smartphone", ""},
            {"Foldable Phone", ""},
            {"Galaxy Phone", "Samsung"}}},
          150,
          3},
         {"headphones-audio",
          "Headphones & Audio",
          {{{"Wireless Headphones", ""},
            {"Noise-Cancelling Headphones", ""},
            {"Earbuds", ""},
            {"Bluetooth Speaker", ""},
            {"Soundbar", ""}}},
          20,
          4},
         {"laptops",
          "Laptops",
          {{{"MacBook Air", "Apple"},
            {"Laptop", ""},
            {"Ultrabook", ""},
            {"Gaming Laptop", ""},
            {"Chromebook", ""}}},
          300,
          3},
         {"cameras",
          "Cameras",
          {{{"Mirrorless Camera", ""},
            {"Action Camera", ""},
            {"Camera Lens", ""},
            {"Tripod", ""},
            {"Webcam", ""}}},
          30,
          5},
         {"phone-accessories",
          "Phone Accessories",
          {{{"iPhone Case", ""},
            {"Screen Protector", ""},
            {"USB-C Charger", ""},
            {"Wireless Charger", ""},
            {"Power Bank", ""}}},
          8,
          3},
     }}},
    {"home-kitchen",
     "Home & Kitchen",
     {"dishwasher safe",
      "stainless steel",
      "non-stick coating",
      "easy cleaning",
      "energy efficiency",
      "compact design"},
     {"busy kitchens", "small apartments", "family dinners", "weekend baking"},
     {{
         {"cookware",
          "Cookware",
          {{{"Frying Pan", ""},
            {"Cast Iron Skillet", ""},
            {"Saucepan", ""},
            {"Dutch Oven", ""},
            {"Wok", ""}}},
          15,
          4},
         {"small-appliances",
          "Small Appliances",
          {{{"Coffee Maker", ""},
            {"Espresso Machine", ""},
            {"Air Fryer", ""},
            {"Blender", ""},
            {"Toaster", ""}}},
          25,
          4},
         {"furniture",
          "Furniture",
          {{{"Office Chair", ""},
            {"Bookshelf", ""},
            {"Standing Desk", ""},
            {"Sofa", ""},
            {"Side Table", ""}}},
          60,
          4},
         {"bedding",
          "Bedding",
          {{{"Duvet Cover", ""},
            {"Pillow", ""},
            {"Weighted Blanket", ""},
            {"Mattress Topper", ""},
            {"Sheet Set", ""}}},
          20,
          3},
         {"lighting",
          "Lighting",
          {{{"Desk Lamp", ""},
            {"Floor Lamp", ""},
            {"LED Strip", ""},
            {"Smart Bulb", ""},
            {"Pendant Light", ""}}},
          10,
          4},
     }}},
    {"fashion",
     "Fashion",
     {"organic cotton",
      "breathable fabric",
      "a slim fit",
      "machine washable fabric",
      "recycled materials",
      "a water repellent finish"},
     {"everyday wear", "the office", "weekends", "cold weather"},
     {{
         {"mens-clothing",
          "Men's Clothing",
          {{{"T-Shirt", ""},
            {"Hoodie", ""},
            {"Chino Pants", ""},
            {"Denim Jacket", ""},
            {"Oxford Shirt", ""}}},
          15,
          3},
         {"womens-clothing",
          "Women's Clothing",
          {{{"Summer Dress", ""}, {"Cardigan", ""}, {"Blouse", ""}, {"Wool Coat", ""}, {"Leggings", ""}}},
          15,
          4},
         {"shoes",
          "Shoes",
          {{{"Running Shoes", ""},
            {"Leather Boots", ""},
            {"Sneakers", ""},
            {"Sandals", ""},
            {"Loafers", ""}}},
          30,
          3},
         {"bags",
          "Bags",
          {{{"Backpack", ""},
            {"Leather Wallet", ""},
            {"Tote Bag", ""},
            {"Duffel Bag", ""},
            {"Laptop Sleeve", ""}}},
          15,
          4},
         {"watches-jewelry",
          "Watches & Jewelry",
          {{{"Smartwatch", ""},
            {"Analog Watch", ""},
            {"Silver Necklace", ""},
            {"Bracelet", ""},
            {"Sunglasses", ""}}},
          20,
          5},
     }}},
    {"sports-outdoors",
     "Sports & Outdoors",
     {"a lightweight build",
      "waterproof materials",
      "durable construction",
      "adjustable straps",
      "an anti-slip grip",
      "quick-dry fabric"},
     {"hiking", "the gym", "camping trips", "trail running"},
     {{
         {"fitness",
          "Fitness",
          {{{"Yoga Mat", ""},
            {"Adjustable Dumbbells", ""},
            {"Resistance Bands", ""},
            {"Kettlebell", ""},
            {"Foam Roller", ""}}},
          10,
          4},
         {"camping",
          "Camping",
          {{{"Tent", ""},
            {"Sleeping Bag", ""},
            {"Camping Stove", ""},
            {"Headlamp", ""},
            {"Water Filter", ""}}},
          15,
          4},
         {"cycling",
          "Cycling",
          {{{"Road Bike", ""},
            {"Bike Helmet", ""},
            {"Bike Lights", ""},
            {"Cycling Gloves", ""},
            {"Bike Pump", ""}}},
          15,
          6},
         {"running",
          "Running",
          {{{"Running Jacket", ""},
            {"GPS Running Watch", ""},
            {"Hydration Vest", ""},
            {"Running Socks", ""},
            {"Compression Tights", ""}}},
          10,
          4},
         {"team-sports",
          "Team Sports",
          {{{"Soccer Ball", ""},
            {"Basketball", ""},
            {"Tennis Racket", ""},
            {"Baseball Glove", ""},
            {"Shin Guards", ""}}},
          10,
          4},
     }}},
    {"books-media",
     "Books & Media",
     {"a hardcover edition",
      "full-colour illustrations",
      "a new foreword",
      "an audio edition",
      "a reading guide",
      "bonus material"},
     {"long evenings", "book clubs", "students", "curious minds"},
     {{
         {"fiction",
          "Fiction",
          {{{"Mystery Novel", ""},
            {"Fantasy Saga", ""},
            {"Thriller", ""},
            {"Romance Novel", ""},
            {"Short Stories", ""}}},
          8,
          2},
         {"non-fiction",
          "Non-Fiction",
          {{{"Biography", ""},
            {"History Book", ""},
            {"Science Book", ""},
            {"Travel Guide", ""},
            {"Essay Collection", ""}}},
          10,
          2},
         {"cookbooks",
          "Cookbooks",
          {{{"Baking Cookbook", ""},
            {"Vegan Cookbook", ""},
            {"Italian Cookbook", ""},
            {"Grilling Guide", ""},
            {"Meal Prep Cookbook", ""}}},
          12,
          2},
         {"music",
          "Music",
          {{{"Vinyl Record", ""},
            {"Turntable", ""},
            {"Acoustic Guitar", ""},
            {"Digital Piano", ""},
            {"Ukulele", ""}}},
          20,
          5},
         {"movies-tv",
          "Movies & TV",
          {{{"Blu-ray Box Set", ""},
            {"Documentary Series", ""},
            {"Animated Movie", ""},
            {"Classic Film Collection", ""},
            {"4K Movie", ""}}},
          10,
          3},
     }}},
    {"toys-games",
     "Toys & Games",
     {"safe non-toxic materials",
      "an educational design",
      "battery-free play",
      "family-friendly rules",
      "an award-winning design",
      "easy storage"},
     {"family game night", "rainy days", "birthday gifts", "young builders"},
     {{
         {"board-games",
          "Board Games",
          {{{"Strategy Board Game", ""},
            {"Card Game", ""},
            {"Party Game", ""},
            {"Chess Set", ""},
            {"Jigsaw Puzzle", ""}}},
          10,
          3},
         {"building-toys",
          "Building Toys",
          {{{"Building Blocks Set", ""},
            {"Marble Run", ""},
            {"Magnetic Tiles", ""},
            {"Robot Kit", ""},
            {"Model Kit", ""}}},
          15,
          4},
         {"dolls-figures",
          "Dolls & Figures",
          {{{"Action Figure", ""},
            {"Doll House", ""},
            {"Plush Bear", ""},
            {"Dinosaur Figure", ""},
            {"Puppet", ""}}},
          8,
          3},
         {"outdoor-play",
          "Outdoor Play",
          {{{"Kick Scooter", ""},
            {"Water Blaster", ""},
            {"Kite", ""},
            {"Trampoline", ""},
            {"Sandbox Set", ""}}},
          10,
          5},
         {"video-games",
          "Video Games",
          {{{"Game Console", ""},
            {"Wireless Controller", ""},
            {"Gaming Headset", ""},
            {"Racing Wheel", ""},
            {"Video Game", ""}}},
          20,
          5},
     }}},
    {"beauty-health",
     "Beauty & Health",
     {"a fragrance-free formula",
      "dermatologist testing",
      "a vegan formula",
      "a travel size",
      "a rechargeable battery",
      "cruelty-free ingredients"},
     {"daily routines", "sensitive skin", "self-care evenings", "travel"},
     {{
         {"skincare",
          "Skincare",
          {{{"Face Moisturizer", ""},
            {"Vitamin C Serum", ""},
            {"Sunscreen SPF 50", ""},
            {"Cleansing Gel", ""},
            {"Night Cream", ""}}},
          8,
          3},
         {"hair-care",
          "Hair Care",
          {{{"Shampoo", ""},
            {"Conditioner", ""},
            {"Hair Dryer", ""},
            {"Hair Straightener", ""},
            {"Hair Oil", ""}}},
          6,
          4},
         {"personal-care",
          "Personal Care",
          {{{"Electric Toothbrush", ""},
            {"Electric Shaver", ""},
            {"Beard Trimmer", ""},
            {"Water Flosser", ""},
            {"Body Lotion", ""}}},
          8,
          4},
         {"vitamins-supplements",
          "Vitamins & Supplements",
          {{{"Multivitamin", ""},
            {"Vitamin D3", ""},
            {"Protein Powder", ""},
            {"Omega-3 Capsules", ""},
            {"Magnesium Tablets", ""}}},
          8,
          3},
         {"fragrance",
          "Fragrance",
          {{{"Eau de Parfum", ""},
            {"Cologne", ""},
            {"Scented Candle", ""},
            {"Body Mist", ""},
            {"Diffuser Oil", ""}}},
          12,
          4},
     }}},
    {"grocery",
     "Grocery",
     {"organic ingredients",
      "fair trade sourcing",
      "a gluten-free recipe",
      "non-GMO ingredients",
      "a family size pack",
      "small-batch production"},
     {"breakfast", "quick snacks", "home cooking", "a well-stocked pantry"},
     {{
         {"coffee-tea",
          "Coffee & Tea",
          {{{"Whole Bean Coffee", ""},
            {"Ground Coffee", ""},
            {"Green Tea", ""},
            {"Earl Grey Tea", ""},
            {"Cold Brew Concentrate", ""}}},
          5,
          3},
         {"snacks",
          "Snacks",
          {{{"Dark Chocolate", ""},
            {"Trail Mix", ""},
            {"Potato Chips", ""},
            {"Granola Bars", ""},
            {"Roasted Almonds", ""}}},
          3,
          3},
         {"pantry",
          "Pantry",
          {{{"Olive Oil", ""},
            {"Pasta", ""},
            {"Basmati Rice", ""},
            {"Maple Syrup", ""},
            {"Peanut Butter", ""}}},
          3,
          3},
         {"beverages",
          "Beverages",
          {{{"Sparkling Water", ""},
            {"Orange Juice", ""},
            {"Kombucha", ""},
            {"Energy Drink", ""},
            {"Oat Milk", ""}}},
          2,
          3},
         {"spices",
          "Spices",
          {{{"Sea Salt", ""},
            {"Black Pepper", ""},
            {"Smoked Paprika", ""},
            {"Curry Powder", ""},
            {"Cinnamon", ""}}},
          3,
          2},
     }}},
}};

constexpr std::int64_t kTopCount = static_cast<std::int64_t>(kTree.size());
constexpr std::int64_t kLeavesPerTop = 5;
constexpr std::int64_t kLeafCount = kTopCount * kLeavesPerTop;
constexpr std::int64_t kCategoryCount = kTopCount + kLeafCount;

constexpr std::array<std::string_view, 30> kBrands{
    "Sonora",   "Aurora",    "Northwind", "Vantage", "Lumen",     "Kestrel",  "Altura", "Brightline",
    "Cobalt",   "Evergreen", "Fjord",     "Harbor",  "Juniper",   "Meridian", "Nimbus", "Orbit",
    "Pinnacle", "Quartz",    "Redwood",   "Summit",  "Tidal",     "Umbra",    "Velvet", "Willow",
    "Zenith",   "Atlas",     "Beacon",    "Cascade", "Driftwood", "Ember"};

constexpr std::array<std::string_view, 20> kAdjectives{
    "Premium",  "Classic",  "Ultra",  "Compact", "Pro",       "Essential", "Deluxe",
    "Smart",    "Portable", "Eco",    "Sport",   "Lite",      "Max",       "Elite",
    "Everyday", "Vintage",  "Modern", "Travel",  "Signature", "Original"};

constexpr std::array<std::string_view, 5> kAppleSuffixes{"", " Pro", " Pro Max", " Plus", " mini"};
constexpr std::string_view kModelLetters = "AXQRSTVZ";

constexpr std::array<std::string_view, 8> kClosings{"Backed by a two-year warranty.",
                                                    "Free returns within 30 days.",
                                                    "A customer favourite since launch.",
                                                    "Designed in-house and tested by our team.",
                                                    "Packed in plastic-free packaging.",
                                                    "Pairs well with the rest of the collection.",
                                                    "Limited stock: popular every season.",
                                                    "Gift wrapping available at checkout."};

constexpr std::array<std::string_view, 24> kFirstNames{
    "Ava",    "Liam",  "Olivia", "Noah",  "Emma",  "Mateo", "Sofia", "Lucas",
    "Mia",    "Ethan", "Amelia", "Kenji", "Zara",  "Omar",  "Chloe", "Ravi",
    "Ingrid", "Diego", "Hana",   "Felix", "Leila", "Tomas", "Nadia", "Samuel"};
constexpr std::array<std::string_view, 24> kLastNames{
    "Smith",  "Garcia", "Nguyen", "Müller", "Johnson", "Kowalski", "Okafor",  "Rossi",
    "Tanaka", "Silva",  "Brown",  "Haddad", "Larsen",  "Patel",    "O'Brien", "Dubois",
    "Kim",    "Novak",  "Cohen",  "Ahmed",  "Walker",  "Ivanova",  "Moreau",  "Santos"};
constexpr std::array<std::string_view, 12> kStreets{"Main St",
                                                    "Oak Ave",
                                                    "Maple Dr",
                                                    "Cedar Ln",
                                                    "Elm St",
                                                    "Pine Rd",
                                                    "Lake View",
                                                    "Hill Crest",
                                                    "River Rd",
                                                    "Park Ave",
                                                    "Sunset Blvd",
                                                    "Mill Lane"};
constexpr std::array<std::string_view, 12> kCities{"Springfield",
                                                   "Riverton",
                                                   "Lakewood",
                                                   "Fairview",
                                                   "Greenville",
                                                   "Madison",
                                                   "Oakland",
                                                   "Franklin",
                                                   "Clinton",
                                                   "Georgetown",
                                                   "Salem",
                                                   "Bristol"};

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

// Stream ids for Rng::for_row: every kind of row draws from its own stream.
enum Stream : std::uint64_t {
    kStreamProduct = 1,
    kStreamBundle = 2,
    kStreamUser = 3,
    kStreamOrder = 4,
    kStreamReviewPick = 5,
    kStreamRating = 6,
    kStreamReview = 7,
    kStreamPermutation = 8,
    kStreamSalt = 9,
};

constexpr std::int64_t kDay = 86'400;

template <typename T, std::size_t N>
const T& pick(Rng& rng, const std::array<T, N>& items) {
    return items[rng.below(N)];
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

const TopCategory& top_of_leaf(std::int64_t leaf) {
    return kTree[static_cast<std::size_t>(leaf / kLeavesPerTop)];
}
const Leaf& leaf_at(std::int64_t leaf) {
    return top_of_leaf(leaf).leaves[static_cast<std::size_t>(leaf % kLeavesPerTop)];
}
// Category ids: top-level 1..8, then the leaves in tree order.
std::int64_t leaf_category_id(std::int64_t leaf) {
    return kTopCount + 1 + leaf;
}

// 2^(h/2) in thousandths, for half-octave price bands.
std::int64_t half_octave_scale(std::int64_t h) {
    const std::int64_t whole = std::int64_t{1} << (h / 2);
    return (h % 2 == 0 ? 1000 : 1414) * whole;
}

}  // namespace

// ================================================================================================
// Dataset
// ================================================================================================

struct Dataset::ProductBase {
    std::int64_t leaf = 0;
    std::int64_t brand = 0;    // index in kBrands
    std::int64_t noun = 0;     // index in the leaf's nouns
    std::int64_t quality = 3;  // 2..5: the mean rating reviewers give
    std::int64_t price_cents = 0;
    std::int32_t stock = 0;
    std::int64_t created_at = 0;
};

Dataset::Dataset(SeedOptions options, std::int64_t anchor_unix_seconds, std::string password_hash)
    : options_(options), anchor_(anchor_unix_seconds), password_hash_(std::move(password_hash)) {
    if (options_.products < 0 || options_.users < 0 || options_.orders < 0) {
        throw SeedError("seed: counts must not be negative");
    }
    if (options_.products == 0 || options_.users == 0) options_.orders = 0;

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
            return kCategoryCount;
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

CategoryRow Dataset::category(std::int64_t id) {
    CategoryRow row;
    row.id = id;
    if (id <= kTopCount) {
        const auto& top = kTree[static_cast<std::size_t>(id - 1)];
        row.slug = top.slug;
        row.name = top.name;
    } else {
        const std::int64_t leaf = id - kTopCount - 1;
        row.parent_id = leaf / kLeavesPerTop + 1;
        row.slug = leaf_at(leaf).slug;
        row.name = leaf_at(leaf).name;
    }
    return row;
}

Dataset::ProductBase Dataset::product_base(std::int64_t id) const {
    ProductBase base;
    // Products come in bundles of kBundleSize consecutive ids sharing a category and a brand:
    // the things people buy together (headphones + case + charger).
    const std::int64_t bundle = (id - 1) / kBundleSize;
    // Leaves are dealt round-robin (stride 7 is coprime with 40, offset from the seed), so any
    // catalog of at least kLeafCount bundles has products in every leaf.
    base.leaf =
        (bundle * 7 + static_cast<std::int64_t>(options_.seed % static_cast<std::uint64_t>(kLeafCount))) %
        kLeafCount;
    Rng bundle_rng = Rng::for_row(options_.seed, kStreamBundle, static_cast<std::uint64_t>(bundle));
    base.brand = static_cast<std::int64_t>(bundle_rng.below(kBrands.size()));

    Rng rng = Rng::for_row(options_.seed, kStreamProduct, static_cast<std::uint64_t>(id));
    const Leaf& leaf = leaf_at(base.leaf);
    base.noun = static_cast<std::int64_t>(rng.below(leaf.nouns.size()));
    base.quality = 2 + static_cast<std::int64_t>(rng.below(4));
    if (base.quality == 2 && rng.chance(1, 2)) base.quality = 4;  // fewer bad products

    // Log-normal-ish price: a triangular choice of half-octave band above the leaf's base price,
    // uniform inside the band, then shop-style endings (.99 mostly).
    const auto h = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(leaf.octaves)) +
                                             rng.below(static_cast<std::uint64_t>(leaf.octaves)));
    const std::int64_t low = leaf.base_price_dollars * 100 * half_octave_scale(h) / 1000;
    const std::int64_t high = low * 1414 / 1000;
    const std::int64_t cents = rng.between(low, high);
    const std::int64_t dollars = std::max<std::int64_t>(cents / 100, 1);
    const std::uint64_t ending = rng.below(10);
    base.price_cents = dollars * 100 + (ending < 7 ? 99 : ending < 9 ? 49 : 0);

    const std::uint64_t stock_kind = rng.below(25);
    base.stock = static_cast<std::int32_t>(stock_kind == 0   ? 0
                                           : stock_kind <= 5 ? rng.between(1, 20)
                                                             : rng.between(21, 500));
    base.created_at = anchor_ - rng.between(3600, 90 * kDay);
    return base;
}

ProductRow Dataset::product(std::int64_t id) const {
    const ProductBase base = product_base(id);
    const Leaf& leaf = leaf_at(base.leaf);
    const TopCategory& top = top_of_leaf(base.leaf);
    const Noun& noun = leaf.nouns[static_cast<std::size_t>(base.noun)];
    // A second generator for the words, so numeric fields never depend on the text.
    Rng rng = Rng::for_row(
        options_.seed, kStreamProduct, static_cast<std::uint64_t>(id) ^ (std::uint64_t{1} << 63U));

    ProductRow row;
    row.id = id;
    row.sku.reserve(16);
    row.sku.append(top.slug.substr(0, 3));
    for (auto& c : row.sku) c = static_cast<char>(c - 'a' + 'A');
    row.sku.push_back('-');
    std::string digits = std::to_string(id);
    if (digits.size() < 7) row.sku.append(7 - digits.size(), '0');
    row.sku.append(digits);

    const std::string_view brand =
        noun.brand.empty() ? kBrands[static_cast<std::size_t>(base.brand)] : noun.brand;
    const std::string_view adjective = pick(rng, kAdjectives);
    row.name.append(brand);
    row.name.push_back(' ');
    if (noun.brand.empty()) {
        row.name.append(adjective);
        row.name.push_back(' ');
        row.name.append(noun.name);
        row.name.push_back(' ');
        row.name.push_back(kModelLetters[rng.below(kModelLetters.size())]);
        row.name.append(std::to_string(rng.between(10, 99) * 10));
    } else {
        row.name.append(noun.name);
        row.name.push_back(' ');
        row.name.append(std::to_string(rng.between(11, 16)));
        row.name.append(pick(rng, kAppleSuffixes));
    }

    const std::string_view use = pick(rng, top.uses);
    const std::size_t f1 = rng.below(top.features.size());
    const std::size_t f2 = (f1 + 1 + rng.below(top.features.size() - 1)) % top.features.size();
    row.description.append("The ");
    row.description.append(row.name);
    row.description.append(" by ");
    row.description.append(brand);
    const std::string lower_adjective = to_lower(adjective);
    row.description.append(lower_adjective.find_first_of("aeiou") == 0 ? " is an " : " is a ");
    row.description.append(lower_adjective);
    row.description.push_back(' ');
    row.description.append(to_lower(noun.name));
    row.description.append(" made for ");
    row.description.append(use);
    row.description.append(".\n\nFeatures ");
    row.description.append(top.features[f1]);
    row.description.append(" and ");
    row.description.append(top.features[f2]);
    row.description.append(". ");
    row.description.append(pick(rng, kClosings));

    row.category_id = leaf_category_id(base.leaf);
    row.category_name = leaf.name;
    row.price_cents = base.price_cents;
    row.stock = base.stock;
    row.purchase_count = purchase_count_[static_cast<std::size_t>(id)];
    row.rating_sum = rating_sum_[static_cast<std::size_t>(id)];
    row.rating_count = rating_count_[static_cast<std::size_t>(id)];
    row.created_at = base.created_at;
    return row;
}

namespace {

struct UserBase {
    std::size_t first = 0;
    std::size_t last = 0;
    std::int64_t house = 0;
    std::size_t street = 0;
    std::size_t city = 0;
    std::int64_t postal_code = 0;
    std::int64_t created_at = 0;
};

UserBase user_base(std::uint64_t seed, std::int64_t anchor, std::int64_t id) {
    Rng rng = Rng::for_row(seed, kStreamUser, static_cast<std::uint64_t>(id));
    UserBase u;
    u.first = rng.below(kFirstNames.size());
    u.last = rng.below(kLastNames.size());
    u.house = rng.between(1, 999);
    u.street = rng.below(kStreets.size());
    u.city = rng.below(kCities.size());
    u.postal_code = rng.between(10000, 99999);
    // Every user exists before the first product, so every order is after its user's sign-up.
    u.created_at = anchor - rng.between(91 * kDay, 180 * kDay);
    return u;
}

}  // namespace

UserRow Dataset::user(std::int64_t id) const {
    const UserBase u = user_base(options_.seed, anchor_, id);
    UserRow row;
    row.id = id;
    row.email = "user" + std::to_string(id) + "@example.com";
    row.name.append(kFirstNames[u.first]);
    row.name.push_back(' ');
    row.name.append(kLastNames[u.last]);
    row.created_at = u.created_at;
    return row;
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

    std::int64_t newest_product = 0;
    for (int k = 0; k < row.item_count; ++k) {
        auto& item = row.items[static_cast<std::size_t>(k)];
        const ProductBase base = product_base(item.product_id);
        const std::uint64_t quantity_roll = rng.below(100);
        item.quantity = quantity_roll < 80 ? 1 : quantity_roll < 95 ? 2 : 3;
        item.unit_price_cents = base.price_cents;
        row.total_cents += item.unit_price_cents * item.quantity;
        newest_product = std::max(newest_product, base.created_at);
    }
    // Placed after every product in it existed, at least an hour before the anchor.
    const std::int64_t window = std::max<std::int64_t>(anchor_ - 3600 - newest_product, 1);
    row.created_at =
        newest_product + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(window)));
    row.paid_at = row.created_at + rng.between(30, 900);
    row.is_fulfilled = anchor_ - row.created_at > 4 * kDay && rng.chance(9, 10);
    if (row.is_fulfilled) row.fulfilled_at = row.paid_at + rng.between(kDay, 3 * kDay);
    return row;
}

namespace {

std::int32_t rating_for(std::uint64_t seed, std::uint64_t pair_key, std::int64_t quality) {
    Rng rng = Rng::for_row(seed, kStreamRating, pair_key);
    const std::uint64_t roll = rng.below(100);
    const std::int64_t shift = roll < 10 ? -2 : roll < 30 ? -1 : roll < 75 ? 0 : 1;
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(quality + shift, 1, 5));
}

}  // namespace

ReviewRow Dataset::review(std::int64_t id) const {
    const std::uint64_t key = reviewed_[static_cast<std::size_t>(id - 1)];
    const auto user_slots = static_cast<std::uint64_t>(options_.users) + 1;
    ReviewRow row;
    row.id = id;
    row.product_id = static_cast<std::int64_t>(key / user_slots);
    row.user_id = static_cast<std::int64_t>(key % user_slots);
    const ProductBase base = product_base(row.product_id);
    row.rating = rating_for(options_.seed, key, base.quality);
    Rng rng = Rng::for_row(options_.seed, kStreamReview, key);
    const auto stars = static_cast<std::size_t>(row.rating - 1);
    row.title = pick(rng, kReviewTitles[stars]);
    row.body = pick(rng, kReviewBodies[stars]);
    row.body.append(" Bought it for ");
    row.body.append(pick(rng, top_of_leaf(base.leaf).uses));
    row.body.push_back('.');
    const std::int64_t window = std::max<std::int64_t>(anchor_ - 3600 - base.created_at, 1);
    row.created_at =
        base.created_at + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(window)));
    return row;
}

// ================================================================================================
// COPY rows
// ================================================================================================

std::string_view table_name(Table table) {
    switch (table) {
        case Table::kCategories:
            return "categories";
        case Table::kUsers:
            return "users";
        case Table::kProducts:
            return "products";
        case Table::kInventoryMovements:
            return "inventory_movements";
        case Table::kOrders:
            return "orders";
        case Table::kOrderItems:
            return "order_items";
        case Table::kReviews:
            return "reviews";
    }
    return "";
}

std::string_view copy_sql(Table table) {
    switch (table) {
        case Table::kCategories:
            return "COPY categories (id, parent_id, slug, name, created_at) FROM STDIN";
        case Table::kUsers:
            return "COPY users (id, email, password_hash, name, role, created_at, updated_at) FROM STDIN";
        case Table::kProducts:
            return "COPY products (id, sku, name, description, category_id, category_name, price_cents, "
                   "currency, "
                   "stock, version, purchase_count, rating_sum, rating_count, is_active, created_at, "
                   "updated_at) "
                   "FROM STDIN";
        case Table::kInventoryMovements:
            return "COPY inventory_movements (id, product_id, delta, reason, created_at) FROM STDIN";
        case Table::kOrders:
            return "COPY orders (id, user_id, status, total_cents, currency, shipping_address, expires_at, "
                   "created_at, updated_at, paid_at, fulfilled_at) FROM STDIN";
        case Table::kOrderItems:
            return "COPY order_items (order_id, product_id, quantity, unit_price_cents) FROM STDIN";
        case Table::kReviews:
            return "COPY reviews (id, product_id, user_id, rating, title, body, verified_purchase, "
                   "created_at, "
                   "updated_at) FROM STDIN";
    }
    return "";
}

namespace {

void field(std::string& out, std::int64_t v) {
    append_int(out, v);
    out.push_back('\t');
}
void field(std::string& out, std::string_view v) {
    append_copy_text(out, v);
    out.push_back('\t');
}
void time_field(std::string& out, std::int64_t unix_seconds) {
    append_timestamp(out, unix_seconds);
    out.push_back('\t');
}
// Replaces the trailing tab of the last field with the row terminator.
void end_row(std::string& out) {
    out.back() = '\n';
}

}  // namespace

void Dataset::append_row(Table table, std::int64_t index, std::string& out) const {
    const std::int64_t id = index + 1;
    switch (table) {
        case Table::kCategories: {
            const CategoryRow c = category(id);
            field(out, c.id);
            if (c.parent_id == 0) {
                out.append("\\N\t");
            } else {
                field(out, c.parent_id);
            }
            field(out, c.slug);
            field(out, c.name);
            time_field(out, anchor_ - 200 * kDay);
            break;
        }
        case Table::kUsers: {
            const UserRow u = user(id);
            field(out, u.id);
            field(out, u.email);
            field(out, password_hash_);
            field(out, u.name);
            field(out, "customer");
            time_field(out, u.created_at);
            time_field(out, u.created_at);
            break;
        }
        case Table::kProducts: {
            const ProductRow p = product(id);
            field(out, p.id);
            field(out, p.sku);
            field(out, p.name);
            field(out, p.description);
            field(out, p.category_id);
            field(out, p.category_name);
            field(out, p.price_cents);
            field(out, "USD");
            field(out, p.stock);
            field(out, 1);  // version
            field(out, p.purchase_count);
            field(out, p.rating_sum);
            field(out, p.rating_count);
            field(out, "t");
            time_field(out, p.created_at);
            time_field(out, p.created_at);
            break;
        }
        case Table::kInventoryMovements: {
            // The ledger's opening balance, dated at the anchor: the seeded order history predates
            // it, so stock = Σ delta holds without movements for the historical orders.
            field(out, id);
            field(out, id);
            field(out, product_base(id).stock);
            field(out, "initial");
            time_field(out, anchor_);
            break;
        }
        case Table::kOrders: {
            const OrderRow o = order(id);
            const UserBase u = user_base(options_.seed, anchor_, o.user_id);
            field(out, o.id);
            field(out, o.user_id);
            field(out, o.is_fulfilled ? "fulfilled" : "paid");
            field(out, o.total_cents);
            field(out, "USD");
            out.append(R"({"name": ")");
            append_copy_text(out, kFirstNames[u.first]);
            out.push_back(' ');
            append_copy_text(out, kLastNames[u.last]);
            out.append(R"(", "line1": ")");
            append_int(out, u.house);
            out.push_back(' ');
            out.append(kStreets[u.street]);
            out.append(R"(", "city": ")");
            out.append(kCities[u.city]);
            out.append(R"(", "postal_code": ")");
            append_int(out, u.postal_code);
            out.append(R"(", "country": "US"})");
            out.push_back('\t');
            time_field(out, o.created_at + 1800);  // expires_at: unpaid orders expire after 30 min
            time_field(out, o.created_at);
            time_field(out, o.is_fulfilled ? o.fulfilled_at : o.paid_at);
            time_field(out, o.paid_at);
            if (o.is_fulfilled) {
                time_field(out, o.fulfilled_at);
            } else {
                out.append("\\N\t");
            }
            break;
        }
        case Table::kOrderItems: {
            // One "row" of this stream is all the lines of order `id`.
            const OrderRow o = order(id);
            for (int k = 0; k < o.item_count; ++k) {
                const auto& item = o.items[static_cast<std::size_t>(k)];
                field(out, o.id);
                field(out, item.product_id);
                field(out, item.quantity);
                field(out, item.unit_price_cents);
                end_row(out);
            }
            return;
        }
        case Table::kReviews: {
            const ReviewRow r = review(id);
            field(out, r.id);
            field(out, r.product_id);
            field(out, r.user_id);
            field(out, r.rating);
            field(out, r.title);
            field(out, r.body);
            field(out, "t");
            time_field(out, r.created_at);
            time_field(out, r.created_at);
            break;
        }
    }
    end_row(out);
}

// ================================================================================================
// TableStream
// ================================================================================================

TableStream::TableStream(std::shared_ptr<const Dataset> data,
                         Table table,
                         std::int64_t first_row,
                         std::int64_t end_row)
    : data_(std::move(data)), table_(table), first_(first_row), next_(first_row) {
    // order_items is streamed order by order.
    const std::int64_t units = data_->rows(table == Table::kOrderItems ? Table::kOrders : table);
    end_ = end_row < 0 ? units : std::min(end_row, units);
}

bool TableStream::fill(std::string& chunk, std::size_t target_bytes) {
    chunk.clear();
    if (chunk.capacity() < target_bytes + 4096) chunk.reserve(target_bytes + 4096);
    while (next_ < end_ && chunk.size() < target_bytes) {
        data_->append_row(table_, next_, chunk);
        ++next_;
    }
    return !chunk.empty();
}

// ================================================================================================
// Password hash
// ================================================================================================

std::string demo_password_hash(std::uint64_t seed) {
    if (sodium_init() < 0) throw SeedError("seed: libsodium failed to initialise");
    constexpr unsigned long long kOpsLimit = 2;
    constexpr std::size_t kMemLimit = std::size_t{19} << 20U;  // 19 MiB, as OWASP suggests for Argon2id
    constexpr std::size_t kHashBytes = 32;
    // A fixed salt (from the seed) keeps seeded users identical across runs; the demo password is
    // public anyway. The PHC string below is exactly what crypto_pwhash_str would produce with
    // that salt, so crypto_pwhash_str_verify accepts it.
    std::array<unsigned char, crypto_pwhash_SALTBYTES> salt{};
    Rng rng = Rng::for_row(seed, kStreamSalt, 0);
    for (auto& b : salt) b = static_cast<unsigned char>(rng.next() & 0xffU);
    std::array<unsigned char, kHashBytes> hash{};
    if (crypto_pwhash(hash.data(),
                      hash.size(),
                      kDemoPassword.data(),
                      kDemoPassword.size(),
                      salt.data(),
                      kOpsLimit,
                      kMemLimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw SeedError("seed: crypto_pwhash failed (out of memory?)");
    }
    auto b64 = [](std::span<const unsigned char> bytes) {
        std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
                         '\0');
        sodium_bin2base64(
            text.data(), text.size(), bytes.data(), bytes.size(), sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        text.resize(std::char_traits<char>::length(text.c_str()));
        return text;
    };
    std::string phc = "$argon2id$v=19$m=";
    phc += std::to_string(kMemLimit / 1024U);
    phc += ",t=";
    phc += std::to_string(kOpsLimit);
    phc += ",p=1$";
    phc += b64(salt);
    phc += '$';
    phc += b64(hash);
    return phc;
}

// ================================================================================================
// Loading
// ================================================================================================

namespace {

// The CopySource handed to db::Pool::copy_in (std::function needs a copyable callable).
struct ChunkSource {
    std::shared_ptr<TableStream> stream;
    bool operator()(std::string& chunk) const { return stream->fill(chunk); }
};

// Foreign-key checks dominate the load time (PostgreSQL checks every row of a COPY separately), so
// big tables are cut into row ranges loaded concurrently, each by its own COPY on its own pooled
// connection. Needs max_size >= kCopyWorkers to be fastest, but works with fewer (see copy_worker).
constexpr int kCopyWorkers = 3;
constexpr std::int64_t kMinShardRows = 10'000;
constexpr std::size_t kTableCount = 7;

struct CopyTask {
    Table table;
    std::int64_t first;
    std::int64_t end;
};

// Shared by the workers of one stage. Every worker runs on the pool's executor (one thread), so
// plain members are enough.
struct LoadState {
    std::shared_ptr<const Dataset> data;
    std::deque<CopyTask> tasks;
    std::array<std::int64_t, kTableCount> rows{};
    int active = 0;
    bool last_worker_retried = false;
};

// Adds the shards of `table` to the stage: up to kCopyWorkers ranges of at least kMinShardRows
// units (orders, for order_items).
void add_shards(LoadState& state, Table table) {
    const std::int64_t units = state.data->rows(table == Table::kOrderItems ? Table::kOrders : table);
    const std::int64_t shards = std::clamp<std::int64_t>(units / kMinShardRows, 1, kCopyWorkers);
    for (std::int64_t k = 0; k < shards; ++k) {
        state.tasks.push_back(CopyTask{table, units * k / shards, units * (k + 1) / shards});
    }
}

// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): run_stage() awaits it
boost::asio::awaitable<void> copy_worker(db::Pool& pool, std::shared_ptr<LoadState> state) {
    while (!state->tasks.empty()) {
        const CopyTask task = state->tasks.front();
        state->tasks.pop_front();
        bool gave_up = false;
        try {
            // Named locals, not temporaries inside the co_await expression: GCC 12 destroys such
            // temporaries twice.
            auto stream = std::make_shared<TableStream>(state->data, task.table, task.first, task.end);
            db::CopySource source{ChunkSource{std::move(stream)}};
            std::string sql(copy_sql(task.table));
            const auto copied = co_await pool.copy_in(std::move(sql), std::move(source));
            state->rows[static_cast<std::size_t>(task.table)] += copied;
        } catch (const db::PoolTimeoutError&) {
            // No connection was free (a pool smaller than kCopyWorkers): nothing was sent, so hand
            // the task back and let the workers that hold connections finish the stage. The last
            // worker retries once (others may have just released theirs), then gives up.
            state->tasks.push_front(task);
            if (state->active == 1 && state->last_worker_retried) throw;
            if (state->active == 1) {
                state->last_worker_retried = true;
            } else {
                gave_up = true;
            }
        }
        if (gave_up) break;
    }
    --state->active;
}

// Foreign keys fix the order of the stages; inside a stage, tables and their shards load
// concurrently. Each shard is its own COPY (and transaction).
constexpr std::array<Table, 1> kStage1{Table::kCategories};
constexpr std::array<Table, 2> kStage2{Table::kProducts, Table::kUsers};
constexpr std::array<Table, 3> kStage3{Table::kOrders, Table::kReviews, Table::kInventoryMovements};
constexpr std::array<Table, 1> kStage4{Table::kOrderItems};

// Loads the given tables (which must not reference each other) concurrently; returns when all
// rows are committed. `tables` must be static (it is read after suspension points).
// NOLINTNEXTLINE(cppcoreguidelines-avoid-reference-coroutine-parameters): run() awaits it
boost::asio::awaitable<void> run_stage(db::Pool& pool,
                                       std::shared_ptr<LoadState> state,
                                       std::span<const Table> tables) {
    using namespace boost::asio::experimental::awaitable_operators;
    for (Table t : tables) add_shards(*state, t);
    state->active = kCopyWorkers;
    state->last_worker_retried = false;
    static_assert(kCopyWorkers == 3, "the && below starts kCopyWorkers workers");
    co_await (copy_worker(pool, state) && copy_worker(pool, state) && copy_worker(pool, state));
}

constexpr db::Statement kStateSql{
    "seed.state",
    "SELECT EXISTS (SELECT 1 FROM products) AS has_products, "
    "EXISTS (SELECT 1 FROM categories) OR EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM orders) "
    "OR EXISTS (SELECT 1 FROM reviews) OR EXISTS (SELECT 1 FROM inventory_movements) AS has_other"};

// After COPY with explicit ids, move each identity sequence past the largest id.
constexpr db::Statement kResetSequencesSql{
    "seed.reset_sequences",
    "SELECT setval(pg_get_serial_sequence('categories', 'id'), coalesce((SELECT max(id) FROM categories), 0) "
    "+ 1, false), "
    "setval(pg_get_serial_sequence('users', 'id'), coalesce((SELECT max(id) FROM users), 0) + 1, false), "
    "setval(pg_get_serial_sequence('products', 'id'), coalesce((SELECT max(id) FROM products), 0) + 1, "
    "false), "
    "setval(pg_get_serial_sequence('orders', 'id'), coalesce((SELECT max(id) FROM orders), 0) + 1, false), "
    "setval(pg_get_serial_sequence('reviews', 'id'), coalesce((SELECT max(id) FROM reviews), 0) + 1, false), "
    "setval(pg_get_serial_sequence('inventory_movements', 'id'), "
    "coalesce((SELECT max(id) FROM inventory_movements), 0) + 1, false)"};

std::int64_t anchor_now() {
    using namespace std::chrono;
    return floor<days>(system_clock::now()).time_since_epoch() / seconds{1};
}

}  // namespace

boost::asio::awaitable<SeedReport> run(db::Pool& pool, SeedOptions options) {
    const auto started = std::chrono::steady_clock::now();
    SeedReport report;

    const db::QueryResult existing = co_await pool.query(kStateSql);
    const bool has_products = existing.get<bool>(0, "has_products");
    if (has_products && options.only_if_empty) {
        core::log::info("seed skipped: products already present");
        report.skipped = true;
        report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        co_return report;
    }
    if (has_products || existing.get<bool>(0, "has_other")) {
        throw SeedError(
            "seed: the database already has catalog, user or order rows; seed an empty (freshly migrated) "
            "database, or pass --if-empty to skip when products exist");
    }

    // CPU work on the caller's thread (~50 ms hash + one pass over the orders): acceptable for
    // the one-shot `seed` command, which runs nothing else.
    auto data = std::make_shared<const Dataset>(options, anchor_now(), demo_password_hash(options.seed));

    auto state = std::make_shared<LoadState>();
    state->data = std::move(data);
    co_await run_stage(pool, state, kStage1);
    co_await run_stage(pool, state, kStage2);
    co_await run_stage(pool, state, kStage3);
    co_await run_stage(pool, state, kStage4);
    const auto rows = [&state](Table t) { return state->rows[static_cast<std::size_t>(t)]; };
    report.categories = rows(Table::kCategories);
    report.products = rows(Table::kProducts);
    report.users = rows(Table::kUsers);
    report.orders = rows(Table::kOrders);
    report.order_items = rows(Table::kOrderItems);
    report.reviews = rows(Table::kReviews);
    const std::int64_t movements = rows(Table::kInventoryMovements);

    co_await pool.query(kResetSequencesSql);
    co_await pool.query_unprepared(
        "ANALYZE categories, users, products, inventory_movements, orders, order_items, reviews");

    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    core::log::info("seed loaded",
                    {{"seed", options.seed},
                     {"categories", report.categories},
                     {"products", report.products},
                     {"users", report.users},
                     {"orders", report.orders},
                     {"order_items", report.order_items},
                     {"reviews", report.reviews},
                     {"inventory_movements", movements},
                     {"seconds", report.seconds}});
    co_return report;
}

}  // namespace emporium::seed
