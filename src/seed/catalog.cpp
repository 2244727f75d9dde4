// Categories and products: the tree from the vocabulary, and each product's numbers and text.
#include "seed/dataset.hpp"
#include "seed/vocabulary.hpp"

#include <algorithm>
#include <array>
#include <numeric>
#include <unordered_set>

namespace emporium::seed {

namespace {

using vocab::Leaf;
using vocab::Template;
using vocab::Vocabulary;
using vocab::Word;

// 2^(k/16) in millionths, k = 0..15: log-normal prices in sixteenth-octave steps without floats.
constexpr std::array<std::int64_t, 16> kPow2Sixteenths{1'000'000,
                                                       1'044'274,
                                                       1'090'508,
                                                       1'138'789,
                                                       1'189'207,
                                                       1'241'858,
                                                       1'296'840,
                                                       1'354'256,
                                                       1'414'214,
                                                       1'476'826,
                                                       1'542'211,
                                                       1'610'490,
                                                       1'681'793,
                                                       1'756'252,
                                                       1'834'008,
                                                       1'915'207};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// A shop price around `median_cents`: log-normal with a standard deviation of sigma16 sixteenths
// of an octave (the normal deviate is an Irwin–Hall sum of four uniforms, so it stays within ±3.5
// standard deviations), then .99 / .49 / .00 endings.
std::int64_t lognormal_price(Rng& rng, std::int64_t median_cents, std::int64_t sigma16) {
    std::int64_t sum = 0;
    for (int i = 0; i < 4; ++i) sum += static_cast<std::int64_t>(rng.below(std::uint64_t{1} << 16U));
    // (sum - 2^17) / 2^16 has standard deviation 1/√3; scale it to sixteenth-octave steps.
    const std::int64_t steps = floor_div((sum - (std::int64_t{1} << 17)) * 1732 * sigma16, 1000LL << 16);
    const std::int64_t octaves = floor_div(steps, 16);
    const auto fraction = static_cast<std::size_t>(steps - 16 * octaves);
    std::int64_t cents = median_cents * kPow2Sixteenths[fraction] / 1'000'000;
    cents = octaves >= 0 ? cents << octaves : cents >> -octaves;
    cents += static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cents * 443 / 10'000 + 1)));
    const std::int64_t dollars = std::max<std::int64_t>(cents / 100, 1);
    const std::uint64_t ending = rng.below(10);
    return dollars * 100 + (ending < 7 ? 99 : ending < 9 ? 49 : 0);
}

bool contains_word(std::string_view haystack, std::string_view needle) {
    // Case-sensitive is enough: attributes and noun texts are both lower case.
    return haystack.find(needle) != std::string_view::npos;
}

// Draws each slot of one product once, on first use, from the product's text generator; expands
// templates with those values.
class TextContext {
public:
    TextContext(const Vocabulary& v, const Leaf& leaf, const Dataset::ProductBase& base, Rng& rng)
        : v_(v), leaf_(leaf), base_(base), rng_(rng) {
        picks_.fill(-1);
    }

    // The value of `slot` (see vocabulary.hpp); upper-case slots give the Title Case spelling.
    std::string_view value(char slot) {
        const bool title = slot >= 'A' && slot <= 'Z' && slot != 'T';
        const char key = title ? static_cast<char>(slot - 'A' + 'a') : slot;
        switch (key) {
            case 'n':
                return spell(leaf_.nouns[base_.noun], title);
            case 'b':
                return v_.tops[leaf_.top].brands[base_.brand].text;
            case 'a':
                return spell(leaf_.attributes[attribute(0)], title);
            case 'd':
                return spell(leaf_.attributes[attribute(1)], title);
            case 'u':
                return pick_from(key, v_.mids[leaf_.mid].uses, title);
            case 'g':
                return pick_from(key, v_.generic, title);
            case 'c':
                return pick_from(key, v_.colours, title);
            case 'm':
                return material(title);
            case 'f':
                return pick_from(key, v_.fabrics, title);
            case 's':
                return pick_from(key, v_.styles, title);
            case 'x':
                return pick_from(key, v_.flavours, title);
            case 'r':
                return pick_from(key, v_.scents, title);
            case 't':
                return pick_from(key, v_.themes, false);
            case 'o':
                return pick_from(key, v_.origins, title);
            case 'e':
                return pick_from(key, v_.features, false);
            case 'z':
                return pick_from(key, v_.series, true);
            case 'w':
                return person();
            case 'T':
                return story_title();
            case 'q':
                return model_code();
            case 'h':
                return plural() ? (title ? "These" : "these") : (title ? "This" : "this");
            case 'i':
                return plural() ? "are" : "is";
            default:
                return {};
        }
    }

    void expand(const Template& t, std::string& out) {
        const std::size_t start = out.size();
        for (const vocab::Segment& s : t) {
            out.append(s.literal);
            if (s.slot == 0) continue;
            const std::string_view v = value(s.slot);
            if (s.article == vocab::Article::kAlways ||
                (s.article == vocab::Article::kAgreeing && !plural())) {
                std::string_view article = vocab::article_for(v);
                // Capitalised at the start of a sentence.
                const bool sentence_start = out.size() == start || out.ends_with(". ");
                out.push_back(sentence_start ? static_cast<char>(article.front() - 'a' + 'A')
                                             : article.front());
                out.append(article.substr(1));
                out.push_back(' ');
            }
            out.append(v);
        }
    }

    Rng& rng() { return rng_; }
    bool plural() const { return leaf_.nouns[base_.noun].plural; }

private:
    static std::string_view spell(const Word& w, bool title) { return title ? w.title : w.text; }

    std::int16_t& slot_pick(char key) { return picks_[static_cast<unsigned char>(key) & 0x7FU]; }

    std::string_view pick_from(char key, const std::vector<Word>& list, bool title) {
        std::int16_t& p = slot_pick(key);
        if (p < 0) p = static_cast<std::int16_t>(zipf_pick(rng_, list.size()));
        return spell(list[static_cast<std::size_t>(p)], title);
    }

    // Attribute `which` (0: {a}, 1: {d}), never one already in the noun ("wireless" for Wireless
    // Headphones) and the two never equal.
    std::size_t attribute(int which) {
        std::int16_t& p = slot_pick(which == 0 ? 'a' : 'd');
        if (p >= 0) return static_cast<std::size_t>(p);
        const std::size_t n = leaf_.attributes.size();
        const std::string_view noun = leaf_.nouns[base_.noun].text;
        std::size_t i = zipf_pick(rng_, n);
        const std::int16_t other = which == 0 ? slot_pick('d') : slot_pick('a');
        for (std::size_t tries = 0; tries < n; ++tries) {
            const bool clash =
                static_cast<std::int16_t>(i) == other || contains_word(noun, leaf_.attributes[i].text);
            if (!clash) break;
            i = (i + 1) % n;
        }
        p = static_cast<std::int16_t>(i);
        return i;
    }

    std::string_view material(bool title) {
        std::int16_t& p = slot_pick('m');
        const bool metal = (leaf_.traits & vocab::kMaterial) != 0;
        const bool wood = (leaf_.traits & vocab::kWood) != 0;
        if (p < 0) {
            // Both allowed: one list or the other per product; the flag is stored in the pick.
            use_wood_ = wood && (!metal || rng_.chance(1, 2));
            p = static_cast<std::int16_t>(zipf_pick(rng_, (use_wood_ ? v_.woods : v_.materials).size()));
        }
        return spell((use_wood_ ? v_.woods : v_.materials)[static_cast<std::size_t>(p)], title);
    }

    // An author, artist or director: first and last name from the shared lists.
    std::string_view person() {
        if (person_.empty()) {
            person_.append(v_.first_names[rng_.below(v_.first_names.size())].text);
            person_.push_back(' ');
            person_.append(v_.last_names[rng_.below(v_.last_names.size())].text);
        }
        return person_;
    }

    // "The Hidden Harbor", "Winter Letters", "The Map of Stars", "Storm and Promise".
    std::string_view story_title() {
        if (title_.empty()) {
            const auto& adj = v_.title_adjectives;
            const auto& nouns = v_.title_nouns;
            const std::uint64_t form = rng_.below(4);
            const std::string_view a = adj[zipf_pick(rng_, adj.size())].text;
            const std::size_t n1 = zipf_pick(rng_, nouns.size());
            std::size_t n2 = zipf_pick(rng_, nouns.size());
            if (n2 == n1) n2 = (n1 + 1) % nouns.size();
            switch (form) {
                case 0:
                    title_.append("The ").append(a).append(" ").append(nouns[n1].text);
                    break;
                case 1:
                    title_.append(a).append(" ").append(nouns[n1].text);
                    break;
                case 2:
                    title_.append("The ").append(nouns[n1].text).append(" of ").append(nouns[n2].text);
                    break;
                default:
                    title_.append(nouns[n1].text).append(" and ").append(nouns[n2].text);
                    break;
            }
        }
        return title_;
    }

    // A letter and three digits: 18 000 codes, so a code names a handful of products even in a
    // catalog of millions.
    std::string_view model_code() {
        if (model_.empty()) {
            constexpr std::string_view kLetters = "ABCDEFGHJKLMNPRSTVXZ";
            model_.push_back(kLetters[rng_.below(kLetters.size())]);
            append_three_digits(model_, rng_.between(100, 999));
        }
        return model_;
    }

    static void append_three_digits(std::string& out, std::int64_t v) {
        out.push_back(static_cast<char>('0' + v / 100));
        out.push_back(static_cast<char>('0' + v / 10 % 10));
        out.push_back(static_cast<char>('0' + v % 10));
    }

    const Vocabulary& v_;
    const Leaf& leaf_;
    const Dataset::ProductBase& base_;
    Rng& rng_;
    std::array<std::int16_t, 128> picks_{};
    bool use_wood_ = false;
    std::string person_;
    std::string title_;
    std::string model_;
};

// The product name for the leaf's naming style.
void append_name(TextContext& ctx, const Leaf& leaf, std::string& out) {
    using vocab::NameStyle;
    Rng& rng = ctx.rng();
    const auto word = [&](char slot) {
        out.append(ctx.value(slot));
        out.push_back(' ');
    };
    const auto has = [&leaf](std::uint32_t trait) { return (leaf.traits & trait) != 0; };
    switch (leaf.style) {
        case NameStyle::kDevice:
            word('b');
            word('z');
            if (rng.chance(1, 2)) word('A');
            out.append(ctx.value('N'));
            out.push_back(' ');
            out.append(ctx.value('q'));
            return;
        case NameStyle::kGoods: {
            word('b');
            // One qualifier: the leaf's attribute most often, else one of its shared groups.
            std::array<char, 6> choices{'A', 'A', 'G', 0, 0, 0};
            std::size_t n = 3;
            if (has(vocab::kColour)) choices[n++] = 'C';
            if (has(vocab::kMaterial | vocab::kWood)) choices[n++] = 'M';
            if (has(vocab::kStyle | vocab::kScent)) choices[n++] = has(vocab::kStyle) ? 'S' : 'R';
            word(choices[rng.below(n)]);
            out.append(ctx.value('N'));
            return;
        }
        case NameStyle::kApparel: {
            word('b');
            const std::uint64_t form = rng.below(4);
            if (form == 0 || form == 2) word('A');
            if (form != 3 && has(vocab::kColour)) word('C');
            if ((form == 1 || form == 3) && has(vocab::kFabric)) word('F');
            if (form == 3 && !has(vocab::kFabric)) word('A');
            out.append(ctx.value('N'));
            return;
        }
        case NameStyle::kFood: {
            word('b');
            const std::uint64_t form = rng.below(4);
            if (form == 0 || form == 3) word('A');
            if (form == 1 && has(vocab::kOrigin)) word('O');
            if ((form == 2 || form == 3) && has(vocab::kFlavour)) word('X');
            out.append(ctx.value('N'));
            return;
        }
        case NameStyle::kBook: {
            out.append(ctx.value('T'));
            out.append(": ");
            const std::string_view noun = ctx.value('N');
            if (!ctx.plural()) {
                const std::string_view article = vocab::article_for(noun);
                out.push_back(static_cast<char>(article.front() - 'a' + 'A'));
                out.append(article.substr(1));
                out.push_back(' ');
            }
            out.append(noun);
            return;
        }
        case NameStyle::kMedia:
            out.append(ctx.value('T'));
            out.append(" (");
            out.append(ctx.value('N'));
            out.push_back(')');
            return;
    }
}

// Two paragraphs: an introduction and the leaf's own phrases, then the subcategory, the shared
// groups (colour, material, …), the top-level category and a closing line.
void append_description(TextContext& ctx, const Vocabulary& v, const Leaf& leaf, std::string& out) {
    Rng& rng = ctx.rng();
    const bool story = leaf.style == vocab::NameStyle::kBook || leaf.style == vocab::NameStyle::kMedia;
    const auto& intros = story ? v.story_intros : v.intros;
    ctx.expand(intros[zipf_pick(rng, intros.size())], out);
    const std::size_t p1 = zipf_pick(rng, leaf.phrases.size());
    out.push_back(' ');
    ctx.expand(leaf.phrases[p1], out);
    if (rng.chance(1, 2)) {
        const std::size_t p2 = (p1 + 1 + rng.below(leaf.phrases.size() - 1)) % leaf.phrases.size();
        out.push_back(' ');
        ctx.expand(leaf.phrases[p2], out);
    }
    out.append("\n\n");
    const auto& mid = v.mids[leaf.mid];
    const std::size_t before = out.size();
    if (rng.chance(2, 3)) ctx.expand(mid.phrases[zipf_pick(rng, mid.phrases.size())], out);
    // Sentences about one or two of the leaf's shared groups.
    std::array<std::size_t, 10> traits{};
    std::size_t trait_count = 0;
    for (std::size_t bit = 0; bit < v.trait_sentences.size(); ++bit) {
        const std::uint32_t trait = 1U << bit;
        // Woods and materials share the {m} slot and its sentences: one of them is enough.
        if (trait == vocab::kWood && (leaf.traits & vocab::kMaterial) != 0) continue;
        if ((leaf.traits & trait) != 0) traits[trait_count++] = bit;
    }
    if (trait_count > 0) {
        const std::size_t first = rng.below(trait_count);
        const std::size_t count = trait_count > 1 && rng.chance(1, 3) ? 2 : 1;
        for (std::size_t k = 0; k < count; ++k) {
            const auto& sentences = v.trait_sentences[traits[(first + k) % trait_count]];
            if (out.size() > before) out.push_back(' ');
            ctx.expand(sentences[zipf_pick(rng, sentences.size())], out);
        }
    }
    const auto& top = v.tops[leaf.top];
    if (rng.chance(1, 2)) {
        if (out.size() > before) out.push_back(' ');
        ctx.expand(top.phrases[zipf_pick(rng, top.phrases.size())], out);
    }
    if (out.size() > before) out.push_back(' ');
    ctx.expand(v.closings[zipf_pick(rng, v.closings.size())], out);
}

}  // namespace

// ================================================================================================
// Categories
// ================================================================================================

std::int64_t Dataset::category_count() {
    return vocab::vocabulary().category_count();
}

CategoryRow Dataset::category(std::int64_t id) {
    const Vocabulary& v = vocab::vocabulary();
    CategoryRow row;
    row.id = id;
    const auto index = static_cast<std::size_t>(id - 1);
    if (index < v.tops.size()) {
        row.slug = v.tops[index].slug;
        row.name = v.tops[index].name;
    } else if (index < v.tops.size() + v.mids.size()) {
        const auto& mid = v.mids[index - v.tops.size()];
        row.parent_id = Vocabulary::top_id(mid.top);
        row.slug = mid.slug;
        row.name = mid.name;
    } else {
        const auto& leaf = v.leaves.at(index - v.tops.size() - v.mids.size());
        row.parent_id = v.mid_id(leaf.mid);
        row.slug = leaf.slug;
        row.name = leaf.name;
    }
    return row;
}

// ================================================================================================
// Products
// ================================================================================================

Dataset::ProductBase Dataset::product_base(std::int64_t id) const {
    const Vocabulary& v = vocab::vocabulary();
    ProductBase base;
    // Products come in bundles of kBundleSize consecutive ids sharing a leaf and a brand: the things
    // people buy together (the co-purchase signal the recommendations find).
    const auto bundle = static_cast<std::uint64_t>((id - 1) / kBundleSize);
    const std::uint64_t leaf_count = v.leaves.size();
    Rng bundle_rng = Rng::for_row(options_.seed, kStreamBundle, bundle);
    if (bundle < leaf_count) {
        // The first bundles visit every leaf once, so small catalogs still fill the whole tree…
        base.leaf = static_cast<std::size_t>((bundle * leaf_stride_ + options_.seed) % leaf_count);
    } else {
        // …then leaves are drawn by their weights: big and small categories, as in a real shop.
        base.leaf = weighted_pick(bundle_rng, v.leaf_weight_prefix.data(), v.leaves.size());
    }
    const Leaf& leaf = v.leaves[base.leaf];
    base.brand = zipf_pick(bundle_rng, v.tops[leaf.top].brands.size());

    Rng rng = Rng::for_row(options_.seed, kStreamProduct, static_cast<std::uint64_t>(id));
    base.noun = zipf_pick(rng, leaf.nouns.size());
    base.quality = 2 + static_cast<std::int64_t>(rng.below(4));
    if (base.quality == 2 && rng.chance(1, 2)) base.quality = 4;  // fewer bad products
    base.price_cents = lognormal_price(rng, leaf.median_cents, leaf.sigma16);

    // Mostly in stock, a few percent sold out, some running low.
    const std::uint64_t stock_kind = rng.below(100);
    base.stock = static_cast<std::int32_t>(stock_kind < 4    ? 0
                                           : stock_kind < 16 ? rng.between(1, 9)
                                           : stock_kind < 60 ? rng.between(10, 99)
                                                             : rng.between(100, 500));

    // kFreshPerMille of the catalog is younger than 30 days (uniformly); the rest is 30 to
    // kCatalogAgeDays old with a density falling linearly with age (the minimum of two uniforms):
    // a shop that grew over time.
    if (static_cast<std::int64_t>(rng.below(1000)) < kFreshPerMille) {
        base.created_at = anchor_ - rng.between(3600, 30 * kDay - 1);
    } else {
        const auto span = static_cast<std::uint64_t>((kCatalogAgeDays - 30) * kDay);
        const std::uint64_t age = std::min(rng.below(span), rng.below(span));
        base.created_at = anchor_ - 30 * kDay - static_cast<std::int64_t>(age);
    }
    return base;
}

ProductRow Dataset::product(std::int64_t id) const {
    const Vocabulary& v = vocab::vocabulary();
    const ProductBase base = product_base(id);
    const Leaf& leaf = v.leaves[base.leaf];
    // A separate generator for the words, so numeric fields never depend on the text.
    Rng rng = Rng::for_row(options_.seed, kStreamProductText, static_cast<std::uint64_t>(id));
    TextContext ctx(v, leaf, base, rng);

    ProductRow row;
    row.id = id;
    row.leaf = base.leaf;
    row.noun = base.noun;
    row.sku.reserve(12);
    row.sku.append(leaf.sku_prefix);
    row.sku.push_back('-');
    const std::string digits = std::to_string(id);
    if (digits.size() < 7) row.sku.append(7 - digits.size(), '0');
    row.sku.append(digits);

    row.name.reserve(64);
    append_name(ctx, leaf, row.name);
    row.description.reserve(512);
    append_description(ctx, v, leaf, row.description);

    row.category_id = v.leaf_id(base.leaf);
    row.category_name = leaf.name;
    row.price_cents = base.price_cents;
    row.stock = base.stock;
    row.purchase_count = purchase_count_[static_cast<std::size_t>(id)];
    row.rating_sum = rating_sum_[static_cast<std::size_t>(id)];
    row.rating_count = rating_count_[static_cast<std::size_t>(id)];
    row.created_at = base.created_at;
    return row;
}

std::string Dataset::product_name(std::int64_t id, std::size_t* leaf_index) const {
    const Vocabulary& v = vocab::vocabulary();
    const ProductBase base = product_base(id);
    const Leaf& leaf = v.leaves[base.leaf];
    // The same generator and the same draws as product(), which writes the name first.
    Rng rng = Rng::for_row(options_.seed, kStreamProductText, static_cast<std::uint64_t>(id));
    TextContext ctx(v, leaf, base, rng);
    std::string name;
    append_name(ctx, leaf, name);
    if (leaf_index != nullptr) *leaf_index = base.leaf;
    return name;
}

std::vector<std::string> Dataset::name_words() const {
    const Vocabulary& v = vocab::vocabulary();
    std::unordered_set<std::string> words;
    std::vector<bool> leaves(v.leaves.size());
    const auto add = [&words](std::string_view text) {
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find(' ', start);
            if (end == std::string_view::npos) end = text.size();
            if (end > start) words.emplace(text.substr(start, end - start));
            start = end + 1;
        }
    };
    for (std::int64_t id = 1; id <= options_.products; ++id) {
        std::size_t leaf = 0;
        add(product_name(id, &leaf));
        leaves[leaf] = true;
    }
    for (std::size_t l = 0; l < leaves.size(); ++l) {
        if (leaves[l]) add(v.leaves[l].name);
    }
    std::vector<std::string> out(words.begin(), words.end());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace emporium::seed
