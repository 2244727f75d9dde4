#pragma once
// The seeder's vocabulary: the category tree (top level → subcategory → leaf), each leaf's own
// product nouns, attributes and description phrases, and the shared word groups (colours,
// materials, fabrics, styles, flavours, scents, themes, origins, features) that several leaves draw
// from. Fixed forever: changing a word changes the data every seed produces.
//
// Every list is ordered from the most to the least common entry, and words are drawn with a
// Zipf-like law over that rank (see zipf_pick), so a few words appear in a large share of the
// catalog and most words in few products.
//
// Phrases are templates: `{k}` is replaced by the product's value for slot k, `{^k}` by the value
// with "a"/"an" in front, `{@k}` likewise but without the article when the product's noun is plural
// ("a wireless mouse", "wireless earbuds"). Slots (lower case: as in running text; upper case:
// Title Case, for names):
//   n/N noun      a/A attribute   d/D second attribute   b brand    g/G generic adjective
//   c/C colour    m/M material or wood    f/F fabric     s/S style  x/X flavour   r/R scent
//   t theme       o origin        e feature              u use      w author or artist
//   T title       z series        q model code
//   h/H this/these (agreeing with the noun)            i is/are (agreeing with the noun)
// A product draws each slot once, so the colour in its name is the colour in its description.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace emporium::seed::vocab {

// How a leaf's product names are built (see catalog.cpp).
enum class NameStyle : std::uint8_t {
    kDevice,   // brand, series, noun, model code: "Norvik Aero Noise-Cancelling Headphones X240"
    kGoods,    // brand, one qualifier, noun: "Halden Walnut Standing Desk"
    kApparel,  // brand, colour and/or fabric, noun: "Linnea Navy Linen Shirt"
    kFood,     // brand, qualifier or flavour or origin, noun: "Greenacre Ethiopian Whole Bean Coffee"
    kBook,     // title and kind: "The Hidden Harbor: A Mystery Novel"
    kMedia,    // title and format: "Midnight Rivers (Vinyl LP)"
};

// The shared word groups a leaf draws from (bit set).
enum Trait : std::uint32_t {
    kColour = 1U << 0U,
    kMaterial = 1U << 1U,
    kFabric = 1U << 2U,
    kStyle = 1U << 3U,
    kFlavour = 1U << 4U,
    kScent = 1U << 5U,
    kTheme = 1U << 6U,
    kOrigin = 1U << 7U,
    kTech = 1U << 8U,
    kWood = 1U << 9U,  // the 'm' slot draws from the woods (from either list when kMaterial is set too)
};

enum class Article : std::uint8_t {
    kNone,
    kAlways,    // {^k}
    kAgreeing,  // {@k}: none when the product's noun is plural
};

// A parsed template: literal text and slots, alternating.
struct Segment {
    std::string_view literal;  // text before the slot
    char slot = 0;             // 0: no slot (the last segment)
    Article article = Article::kNone;
};
using Template = std::vector<Segment>;

// One list entry in the two spellings the generator needs.
struct Word {
    std::string text;     // as in running text ("noise-cancelling", "forest green", "Ethiopian")
    std::string title;    // Title Case for names ("Noise-Cancelling", "Forest Green")
    bool plural = false;  // nouns only: "Earbuds", "Potato Chips"
};

struct Top {
    std::string_view slug;
    std::string_view name;
    std::vector<Word> brands;
    std::vector<Template> phrases;
};

struct Mid {
    std::size_t top = 0;
    std::string_view slug;
    std::string_view name;
    std::vector<Word> uses;  // what its products are for ("… made for the commute")
    std::vector<Template> phrases;
};

struct Leaf {
    std::size_t mid = 0;
    std::size_t top = 0;
    std::string_view slug;
    std::string_view name;
    std::string_view sku_prefix;  // three capital letters, unique per leaf
    std::int64_t weight = 1;      // relative share of the catalog
    std::int64_t median_cents = 0;
    std::int64_t sigma16 = 0;  // log-normal spread of prices, in sixteenths of an octave
    NameStyle style = NameStyle::kGoods;
    std::uint32_t traits = 0;
    std::vector<Word> nouns;  // title as written ("Over-Ear Headphones", "USB-C Charger"); text in
                              // lower case except acronyms ("over-ear headphones", "USB-C charger")
    std::vector<Word> attributes;
    std::vector<Template> phrases;
};

struct Vocabulary {
    std::vector<Top> tops;
    std::vector<Mid> mids;
    std::vector<Leaf> leaves;
    std::vector<std::int64_t> leaf_weight_prefix;  // prefix sums of Leaf::weight (size leaves + 1)

    std::vector<Word> colours, materials, woods, fabrics, styles, flavours, scents, themes, origins, features;
    std::vector<Word> generic, series, title_adjectives, title_nouns, first_names, last_names;

    std::vector<Template> intros;        // products other than books and media
    std::vector<Template> story_intros;  // books and media
    std::vector<Template> closings;
    // One list of sentences per Trait bit (index = bit position).
    std::vector<std::vector<Template>> trait_sentences;

    // Category ids: top levels 1..T, then the subcategories, then the leaves, in tree order.
    static std::int64_t top_id(std::size_t top) { return static_cast<std::int64_t>(top) + 1; }
    std::int64_t mid_id(std::size_t mid) const { return static_cast<std::int64_t>(tops.size() + mid) + 1; }
    std::int64_t leaf_id(std::size_t leaf) const {
        return static_cast<std::int64_t>(tops.size() + mids.size() + leaf) + 1;
    }
    std::int64_t category_count() const {
        return static_cast<std::int64_t>(tops.size() + mids.size() + leaves.size());
    }
};

// The vocabulary, parsed once (thread-safe) from the constant tables in vocabulary.cpp.
const Vocabulary& vocabulary();

// Parses a template ("Made from {m}.", "{@a} {n} by {w}."). Throws std::logic_error on an
// unterminated or unknown slot (the tables are checked by a unit test).
Template parse_template(std::string_view text);

// Title Case: the first letter of every space- or hyphen-separated word in upper case.
std::string title_case(std::string_view text);

// "a" or "an" for a word (by its first letter; the word lists avoid the exceptions).
std::string_view article_for(std::string_view word);

// Whether a noun (its last word) is plural: "Wireless Headphones" yes; "Zoom Lens", "Couscous",
// "Complete Series", "Dress" no.
bool is_plural(std::string_view noun);

}  // namespace emporium::seed::vocab
