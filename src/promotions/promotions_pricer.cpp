#include "promotions/promotions_pricer.hpp"

#include "core/codec.hpp"
#include "shipping/shipping_types.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace emporium::promotions {

namespace {

namespace asio = boost::asio;

constexpr auto kAutomaticFor = std::chrono::seconds(1);

bool contains(const std::vector<std::string>& codes, const std::string& code) {
    return std::find(codes.begin(), codes.end(), code) != codes.end();
}

pricing::Promotion to_pricing(const Promotion& p) {
    pricing::Promotion out;
    out.id = p.id;
    out.code = p.code.value_or("");
    out.kind = p.kind;
    out.value = p.value;
    out.min_subtotal_cents = p.min_subtotal_cents;
    out.product_ids = p.product_ids;
    out.category_ids = p.category_ids;
    out.variant_ids = p.variant_ids;
    out.first_order_only = p.first_order_only;
    out.starts_at = p.starts_at;
    out.ends_at = p.ends_at;
    out.exclusive = p.exclusive;
    out.priority = p.priority;
    out.usage_limit = p.usage_limit;
    out.redeemed = p.redeemed;
    out.per_customer_limit = p.per_customer_limit;
    out.active = p.is_active;
    return out;
}

// What pricing one customer's lines needs besides the promotions.
struct Facts {
    const std::map<std::int64_t, std::int64_t>* categories = nullptr;  // product → category
    std::map<std::int64_t, std::int64_t> uses;                         // promotion → live uses
    bool first_order = true;
    const std::map<std::int64_t, std::int64_t>* redeemed_since = nullptr;  // promotion → uses this round
};

// Shipping and tax of one order: the chosen option (none: no shipping), the variants' weights, the
// destination's rates.
struct Charges {
    const shipping::ShippingOption* option = nullptr;
    const std::map<std::int64_t, std::int64_t>* weights = nullptr;  // variant → grams
    pricing::TaxRates tax;
    bool prices_include_tax = false;
};

pricing::TaxRates tax_of(const std::optional<shipping::TaxRates>& rates) {
    pricing::TaxRates out;
    if (!rates) return out;
    out.standard_bp = rates->standard_bp;
    for (const auto& c : rates->categories) out.category_bp[c.category_id] = c.rate_bp;
    return out;
}

// Prices `lines` with the automatic `promotions` and those whose code is in `codes`, the shipping
// and the tax. A promotion of another currency than the lines' is skipped, or rejected
// (kOtherCurrency) when it was entered. Free-above shipping compares with the lines after their
// discounts, so the price is computed once without shipping first.
pricing::Priced evaluate(const std::vector<Promotion>& promotions,
                         const std::vector<std::string>& codes,
                         const std::vector<inventory::ReservedLine>& lines,
                         const Facts& facts,
                         const Charges& charges) {
    pricing::PricingInput in;
    in.tax = charges.tax;
    in.prices_include_tax = charges.prices_include_tax;
    in.now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    in.first_order = facts.first_order;
    in.uses = facts.uses;
    for (const auto& l : lines) {
        std::optional<std::int64_t> category;
        if (facts.categories) {
            if (auto it = facts.categories->find(l.product_id); it != facts.categories->end()) category = it->second;
        }
        in.lines.push_back(pricing::Line{l.variant_id, l.product_id, category, l.quantity, l.unit_price_cents});
    }
    const std::string currency = lines.empty() ? std::string() : lines.front().currency;
    std::vector<pricing::Rejected> other_currency;
    for (const auto& p : promotions) {
        const bool entered = p.code && contains(codes, *p.code);
        if (p.code && !entered) continue;
        if (!currency.empty() && p.currency != currency) {
            if (entered) other_currency.push_back(pricing::Rejected{p.id, *p.code, pricing::Rejection::kOtherCurrency});
            continue;
        }
        auto promotion = to_pricing(p);
        if (facts.redeemed_since) {
            if (auto it = facts.redeemed_since->find(p.id); it != facts.redeemed_since->end()) promotion.redeemed += it->second;
        }
        in.promotions.push_back(std::move(promotion));
    }
    if (charges.option) {
        const auto goods = pricing::price(in);
        std::int64_t weight = 0;
        for (const auto& l : lines) {
            if (!charges.weights) break;
            if (auto it = charges.weights->find(l.variant_id); it != charges.weights->end()) weight += it->second * l.quantity;
        }
        in.shipping_cents = shipping::shipping_price(*charges.option, weight, goods.subtotal_cents - goods.discount_cents);
    }
    auto priced = pricing::price(in);
    priced.rejected.insert(priced.rejected.end(), other_currency.begin(), other_currency.end());
    return priced;
}

// Where an order goes: its country's options and rates, read once per round (or quote).
struct Destinations {
    std::map<std::string, std::vector<shipping::ShippingOption>> options;  // country → active options
    std::map<std::string, std::optional<shipping::TaxRates>> rates;
    std::map<std::int64_t, std::int64_t> weights;
    bool any_rates = false;
    bool prices_include_tax = false;

    // Whether a destination taxes some category at its own rate (the lines' categories matter).
    bool rates_by_category() const {
        return std::any_of(rates.begin(), rates.end(), [](const auto& r) { return r.second && !r.second->categories.empty(); });
    }

    // The charges of `request`, or why it cannot be priced (kValidation). `lenient` (a cart's
    // quote): an option that does not serve the country is ignored instead.
    core::Result<Charges> charges_of(const orders::PricingRequest& request, const std::string& currency, bool lenient) const {
        Charges c;
        c.weights = &weights;
        c.prices_include_tax = prices_include_tax;
        if (!request.country) {
            if (request.shipping_option_id && !lenient) {
                return core::make_error(core::Errc::kValidation, "a shipping option needs the destination country",
                                        {{"country", "is required with a shipping option"}});
            }
            if (any_rates && !lenient) {
                return core::make_error(core::Errc::kValidation, "the destination country is required",
                                        {{"country", "is required: the shop charges tax by country"}});
            }
            return c;
        }
        const auto& country = *request.country;
        if (auto r = rates.find(country); r != rates.end()) c.tax = tax_of(r->second);
        const auto found = options.find(country);
        const std::vector<shipping::ShippingOption> none;
        const auto& served = found == options.end() ? none : found->second;
        if (request.shipping_option_id) {
            for (const auto& o : served) {
                if (o.id == *request.shipping_option_id && (currency.empty() || o.currency == currency)) c.option = &o;
            }
            if (!c.option && !lenient) {
                return core::make_error(core::Errc::kValidation, "no such shipping option for " + country,
                                        {{"shipping_option_id", "is not an active option for " + country + " in " +
                                                                    (currency.empty() ? "this currency" : currency)}});
            }
        } else if (!served.empty() && !lenient) {
            return core::make_error(core::Errc::kValidation, "choose a shipping option",
                                    {{"shipping_option_id", "is required: " + country + " has shipping options"}});
        }
        return c;
    }
};

// Reads the destinations of `requests` (in `tx` when given). Whether any country has rates only
// matters to a strict check (an order), not to a quote.
asio::awaitable<Destinations> read_destinations(shipping::ShippingStore& store,
                                                db::Transaction* tx,
                                                const std::vector<orders::PricingRequest>& requests,
                                                bool prices_include_tax,
                                                bool strict) {
    Destinations d;
    d.prices_include_tax = prices_include_tax;
    bool without_country = false;
    std::vector<std::int64_t> variants;
    for (const auto& r : requests) {
        variants.insert(variants.end(), r.variant_ids.begin(), r.variant_ids.end());
        if (!r.country) {
            without_country = true;
            continue;
        }
        if (d.options.contains(*r.country)) continue;
        d.options[*r.country] = co_await store.options_for(tx, *r.country);
        d.rates[*r.country] = co_await store.rates_of(tx, *r.country);
    }
    if (without_country && strict) d.any_rates = co_await store.any_rates(tx);
    bool by_weight = false;
    for (const auto& [country, list] : d.options) {
        for (const auto& o : list) by_weight = by_weight || o.per_kg_cents > 0;
    }
    if (by_weight && !variants.empty()) d.weights = co_await store.weights(tx, variants);
    co_return d;
}

std::vector<std::string> unknown_codes(const std::vector<Promotion>& promotions, const std::vector<std::string>& codes) {
    std::vector<std::string> out;
    for (const auto& code : codes) {
        if (std::none_of(promotions.begin(), promotions.end(), [&code](const Promotion& p) { return p.code == code; })) {
            out.push_back(code);
        }
    }
    return out;
}

bool any_targets_categories(const std::vector<Promotion>& promotions) {
    return std::any_of(promotions.begin(), promotions.end(), [](const Promotion& p) { return !p.category_ids.empty(); });
}
bool any_per_customer(const std::vector<Promotion>& promotions) {
    return std::any_of(promotions.begin(), promotions.end(), [](const Promotion& p) { return p.per_customer_limit.has_value(); });
}
bool any_first_order(const std::vector<Promotion>& promotions) {
    return std::any_of(promotions.begin(), promotions.end(), [](const Promotion& p) { return p.first_order_only; });
}

std::vector<std::int64_t> ids_of(const std::vector<Promotion>& promotions) {
    std::vector<std::int64_t> ids;
    for (const auto& p : promotions) ids.push_back(p.id);
    return ids;
}

// The orders of one transaction, priced in turn against the promotions it locked.
class Round final : public orders::PricingRound {
public:
    Round(PromotionsStore store, std::vector<orders::PricingRequest> requests, std::vector<Promotion> promotions)
        : store_(std::move(store)),
          requests_(std::move(requests)),
          promotions_(std::move(promotions)),
          accepted_(requests_.size()) {}

    const std::vector<orders::PricingRequest>& requests() const { return requests_; }

    Destinations destinations;
    std::map<std::int64_t, std::int64_t> categories;
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> uses;  // (user, promotion) → live uses
    std::set<std::int64_t> with_orders;                                  // users with an earlier order

    core::Result<pricing::Priced> price(std::size_t i, const std::vector<inventory::ReservedLine>& lines) override {
        const auto& request = requests_.at(i);
        if (auto unknown = unknown_codes(promotions_, request.codes); !unknown.empty()) {
            return core::make_error(core::Errc::kValidation, "no promotion has the code " + unknown.front(),
                                    {{"codes", "no promotion has the code " + unknown.front()}});
        }
        Facts facts;
        facts.categories = &categories;
        facts.first_order = !with_orders.contains(request.user_id);
        facts.redeemed_since = &redeemed_;
        for (const auto& p : promotions_) {
            if (auto it = uses.find({request.user_id, p.id}); it != uses.end()) facts.uses[p.id] = it->second;
        }
        auto charges = destinations.charges_of(request, lines.empty() ? std::string() : lines.front().currency, false);
        if (!charges) return charges.error();
        auto priced = evaluate(promotions_, request.codes, lines, facts, *charges);
        for (const auto& r : priced.rejected) {
            if (r.code.empty() || !contains(request.codes, r.code)) continue;
            const std::string reason(core::codec::enum_name(r.reason));
            return core::make_error(core::Errc::kPromotionUnavailable,
                                    "the code " + r.code + " cannot be used: " + reason,
                                    {{"codes", r.code + ": " + reason}});
        }
        if (request.expected_total_cents && *request.expected_total_cents != priced.total_cents) {
            return orders::unexpected_total(priced.total_cents, *request.expected_total_cents);
        }
        // Accepted: what it redeems counts for the orders after it. A promotion worth nothing
        // here (free shipping without shipping) uses up nothing.
        for (const auto& a : priced.applied) {
            if (a.discount_cents <= 0) continue;
            ++redeemed_[a.promotion_id];
            ++uses[{request.user_id, a.promotion_id}];
        }
        with_orders.insert(request.user_id);
        accepted_[i] = priced.applied;
        return priced;
    }

    asio::awaitable<void> commit_in(
        db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
        std::vector<std::pair<std::size_t, std::int64_t>> orders) override {
        std::vector<Redemption> redemptions;
        std::set<std::int64_t> counted;
        for (const auto& [i, order_id] : orders) {
            for (const auto& a : accepted_.at(i)) {
                if (a.discount_cents <= 0) continue;
                redemptions.push_back(Redemption{a.promotion_id, order_id, requests_[i].user_id,
                                                 a.code.empty() ? std::nullopt : std::optional<std::string>(a.code),
                                                 a.discount_cents});
                counted.insert(a.promotion_id);
            }
        }
        if (redemptions.empty()) co_return;
        const auto n = co_await store_.redeem(tx, std::move(redemptions));
        // Cannot happen while the promotions stay locked; the caller rolls back if it does.
        if (n != counted.size()) throw core::InfraError("promotions: a redemption would pass a usage limit");
    }

private:
    PromotionsStore store_;
    std::vector<orders::PricingRequest> requests_;
    std::vector<Promotion> promotions_;  // locked, ascending id
    std::map<std::int64_t, std::int64_t> redeemed_;
    std::vector<std::vector<pricing::Applied>> accepted_;
};

}  // namespace

asio::awaitable<std::unique_ptr<orders::PricingRound>> PromotionsPricer::open_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<orders::PricingRequest> requests) {
    std::vector<std::string> codes;
    std::vector<std::int64_t> users;
    std::vector<std::int64_t> products;
    for (const auto& r : requests) {
        for (const auto& c : r.codes) {
            if (!contains(codes, c)) codes.push_back(c);
        }
        users.push_back(r.user_id);
        products.insert(products.end(), r.product_ids.begin(), r.product_ids.end());
    }
    auto promotions = co_await store_.lock_candidates(tx, codes);
    const bool categories = any_targets_categories(promotions);
    const bool per_customer = any_per_customer(promotions);
    const bool first_order = any_first_order(promotions);
    const auto ids = ids_of(promotions);
    auto round = std::make_unique<Round>(store_, std::move(requests), std::move(promotions));
    // Read after the locks: every redemption of these promotions has committed or waits for us.
    round->destinations = co_await read_destinations(shipping_, &tx, round->requests(), prices_include_tax_, true);
    if (categories || round->destinations.rates_by_category()) round->categories = co_await store_.categories(&tx, products);
    if (per_customer) {
        const auto read = co_await store_.customer_uses(&tx, users, ids);
        for (const auto& u : read) round->uses[{u.user_id, u.promotion_id}] = u.uses;
    }
    if (first_order) {
        const auto read = co_await store_.customers_with_orders(&tx, users);
        round->with_orders.insert(read.begin(), read.end());
    }
    co_return round;
}

asio::awaitable<orders::Quote> PromotionsPricer::quote(std::optional<std::int64_t> user_id,
                                                       std::vector<inventory::ReservedLine> lines,
                                                       orders::PricingRequest request) {
    const auto& codes = request.codes;
    std::vector<Promotion> promotions;
    if (codes.empty()) {
        promotions = co_await automatic();
    } else {
        promotions = co_await store_.candidates(codes);
    }
    orders::Quote out;
    out.unknown_codes = unknown_codes(promotions, codes);
    for (const auto& l : lines) request.variant_ids.push_back(l.variant_id);
    std::vector<orders::PricingRequest> one{request};
    const auto destinations = co_await read_destinations(shipping_, nullptr, one, prices_include_tax_, false);
    std::map<std::int64_t, std::int64_t> categories;
    Facts facts;
    if (!lines.empty() && (any_targets_categories(promotions) || destinations.rates_by_category())) {
        std::vector<std::int64_t> products;
        for (const auto& l : lines) products.push_back(l.product_id);
        categories = co_await store_.categories(nullptr, products);
        facts.categories = &categories;
    }
    if (!promotions.empty() && !lines.empty()) {
        if (user_id && any_per_customer(promotions)) {
            std::vector<std::int64_t> users{*user_id};
            const auto read = co_await store_.customer_uses(nullptr, users, ids_of(promotions));
            for (const auto& u : read) facts.uses[u.promotion_id] = u.uses;
        }
        if (user_id && any_first_order(promotions)) {
            std::vector<std::int64_t> users{*user_id};
            const auto read = co_await store_.customers_with_orders(nullptr, users);
            facts.first_order = read.empty();
        }
    }
    const auto charges = destinations.charges_of(request, lines.empty() ? std::string() : lines.front().currency, true);
    out.priced = evaluate(promotions, codes, lines, facts, charges ? *charges : Charges{});
    if (request.country && charges) {
        const auto currency = lines.empty() ? std::string() : lines.front().currency;
        for (const auto& o : destinations.options.at(*request.country)) {
            if (!currency.empty() && o.currency != currency) continue;
            Charges with = *charges;
            with.option = &o;
            const auto priced = evaluate(promotions, codes, lines, facts, with);
            out.shipping_options.push_back(
                orders::ShippingQuote{o.id, o.name, priced.shipping_cents - priced.shipping_discount_cents});
        }
    }
    co_return out;
}

asio::awaitable<void> PromotionsPricer::release_in(
    db::Transaction& tx,  // NOLINT(cppcoreguidelines-avoid-reference-coroutine-parameters): awaited directly
    std::vector<std::int64_t> order_ids) {
    co_await store_.release(tx, std::move(order_ids));
}

asio::awaitable<std::vector<Promotion>> PromotionsPricer::automatic() {
    const auto now = std::chrono::steady_clock::now();
    {
        const std::lock_guard lock(mutex_);
        if (automatic_read_at_ && now - *automatic_read_at_ < kAutomaticFor) co_return automatic_;
    }
    std::vector<std::string> none;
    auto read = co_await store_.candidates(std::move(none));
    const std::lock_guard lock(mutex_);
    automatic_ = read;
    automatic_read_at_ = now;
    co_return read;
}

}  // namespace emporium::promotions
