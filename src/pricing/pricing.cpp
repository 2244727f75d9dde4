#include "pricing/pricing.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <tuple>

namespace emporium::pricing {

namespace {

__extension__ typedef __int128 Wide;  // NOLINT(modernize-use-using): __extension__ keeps -Wpedantic quiet

bool contains(const std::vector<std::int64_t>& ids, std::int64_t id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool matches(const Promotion& p, const Line& line) {
    return contains(p.variant_ids, line.variant_id) || contains(p.product_ids, line.product_id) ||
           (line.category_id && contains(p.category_ids, *line.category_id));
}

// 0: line promotions, 1: order promotions, 2: free shipping.
int stage_of(const Promotion& p) {
    if (p.kind == PromotionKind::kFreeShipping) return 2;
    return p.targets_lines() ? 0 : 1;
}

std::optional<Rejection> ineligible(const Promotion& p, const PricingInput& in, std::int64_t subtotal) {
    if (!p.active) return Rejection::kInactive;
    if (p.starts_at && in.now < *p.starts_at) return Rejection::kNotStarted;
    if (p.ends_at && in.now >= *p.ends_at) return Rejection::kEnded;
    if (subtotal < p.min_subtotal_cents) return Rejection::kMinimumNotMet;
    if (p.kind != PromotionKind::kFreeShipping && p.targets_lines() &&
        std::none_of(in.lines.begin(), in.lines.end(), [&p](const Line& l) { return matches(p, l); })) {
        return Rejection::kNoMatchingLines;
    }
    if (p.first_order_only && !in.first_order) return Rejection::kNotFirstOrder;
    if (p.usage_limit && p.redeemed >= *p.usage_limit) return Rejection::kUsageLimitReached;
    if (p.per_customer_limit) {
        const auto used = in.uses.find(p.id);
        if (used != in.uses.end() && used->second >= *p.per_customer_limit) return Rejection::kCustomerLimitReached;
    }
    return std::nullopt;
}

}  // namespace

std::int64_t percent_of(std::int64_t amount, std::int64_t bp) {
    return static_cast<std::int64_t>(static_cast<Wide>(amount) * bp / kBasisPoints);
}

std::int64_t divide_rounded(std::int64_t numerator, std::int64_t denominator) {
    return static_cast<std::int64_t>((static_cast<Wide>(numerator) * 2 + denominator) / (static_cast<Wide>(denominator) * 2));
}

std::vector<std::int64_t> allocate(std::int64_t amount, const std::vector<std::int64_t>& weights) {
    const Wide total = std::accumulate(weights.begin(), weights.end(), Wide{0});
    std::vector<std::int64_t> parts(weights.size(), 0);
    if (amount <= 0 || total == 0) return parts;
    if (amount > total) throw std::invalid_argument("pricing::allocate: the amount exceeds the weights' sum");
    std::vector<std::pair<Wide, std::size_t>> remainders;
    remainders.reserve(weights.size());
    std::int64_t given = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const Wide exact = static_cast<Wide>(amount) * weights[i];
        parts[i] = static_cast<std::int64_t>(exact / total);
        given += parts[i];
        remainders.emplace_back(exact % total, i);
    }
    // Largest remainder first; ties to the lower index.
    std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    for (std::size_t k = 0; given < amount; ++k, ++given) ++parts[remainders[k].second];
    return parts;
}

Priced price(const PricingInput& in) {
    Priced out;
    out.lines.reserve(in.lines.size());
    std::vector<std::int64_t> left;  // each line's amount not yet discounted
    left.reserve(in.lines.size());
    for (const auto& l : in.lines) {
        PricedLine line;
        line.variant_id = l.variant_id;
        line.quantity = l.quantity;
        line.unit_price_cents = l.unit_price_cents;
        line.amount_cents = l.unit_price_cents * l.quantity;
        out.subtotal_cents += line.amount_cents;
        left.push_back(line.amount_cents);
        out.lines.push_back(line);
    }
    out.shipping_cents = in.shipping_cents;

    // Eligible promotions in order of application; the ineligible rejected with their reason.
    std::vector<const Promotion*> eligible;
    for (const auto& p : in.promotions) {
        if (auto reason = ineligible(p, in, out.subtotal_cents)) {
            out.rejected.push_back(Rejected{p.id, p.code, *reason});
        } else {
            eligible.push_back(&p);
        }
    }
    std::sort(eligible.begin(), eligible.end(), [](const Promotion* a, const Promotion* b) {
        return std::make_tuple(stage_of(*a), a->priority, a->id) < std::make_tuple(stage_of(*b), b->priority, b->id);
    });
    const auto exclusive = std::find_if(eligible.begin(), eligible.end(), [](const Promotion* p) { return p->exclusive; });
    if (exclusive != eligible.end()) {
        const Promotion* alone = *exclusive;
        for (const Promotion* p : eligible) {
            if (p != alone) out.rejected.push_back(Rejected{p->id, p->code, Rejection::kNotCombinable});
        }
        eligible.assign(1, alone);
    }

    std::int64_t shipping_left = in.shipping_cents;
    for (const Promotion* p : eligible) {
        Applied applied{p->id, p->code, 0};
        if (p->kind == PromotionKind::kFreeShipping) {
            applied.discount_cents = shipping_left;
            out.shipping_discount_cents += shipping_left;
            shipping_left = 0;
        } else {
            std::vector<std::int64_t> base(in.lines.size(), 0);
            for (std::size_t i = 0; i < in.lines.size(); ++i) {
                if (!p->targets_lines() || matches(*p, in.lines[i])) base[i] = left[i];
            }
            const std::int64_t room = std::accumulate(base.begin(), base.end(), std::int64_t{0});
            const std::int64_t discount = p->kind == PromotionKind::kPercentage
                                              ? percent_of(room, std::clamp<std::int64_t>(p->value, 0, kBasisPoints))
                                              : std::clamp<std::int64_t>(p->value, 0, room);
            const auto shares = allocate(discount, base);
            for (std::size_t i = 0; i < shares.size(); ++i) {
                left[i] -= shares[i];
                out.lines[i].discount_cents += shares[i];
            }
            applied.discount_cents = discount;
            out.discount_cents += discount;
        }
        out.applied.push_back(std::move(applied));
    }

    // Tax per line on what is left, then on the shipping; the totals.
    std::int64_t lines_total = 0;
    for (std::size_t i = 0; i < in.lines.size(); ++i) {
        auto& line = out.lines[i];
        const auto& source = in.lines[i];
        line.tax_rate_bp = in.tax.standard_bp;
        if (source.category_id) {
            if (auto rate = in.tax.category_bp.find(*source.category_id); rate != in.tax.category_bp.end()) {
                line.tax_rate_bp = rate->second;
            }
        }
        const std::int64_t net = line.amount_cents - line.discount_cents;
        if (in.prices_include_tax) {
            line.tax_cents = divide_rounded(net * line.tax_rate_bp, kBasisPoints + line.tax_rate_bp);
            line.total_cents = net;
        } else {
            line.tax_cents = divide_rounded(net * line.tax_rate_bp, kBasisPoints);
            line.total_cents = net + line.tax_cents;
        }
        out.tax_cents += line.tax_cents;
        lines_total += line.total_cents;
    }
    const std::int64_t shipping_net = in.shipping_cents - out.shipping_discount_cents;
    if (in.prices_include_tax) {
        out.shipping_tax_cents = divide_rounded(shipping_net * in.tax.standard_bp, kBasisPoints + in.tax.standard_bp);
        out.total_cents = lines_total + shipping_net;
    } else {
        out.shipping_tax_cents = divide_rounded(shipping_net * in.tax.standard_bp, kBasisPoints);
        out.total_cents = lines_total + shipping_net + out.shipping_tax_cents;
    }
    out.tax_cents += out.shipping_tax_cents;
    return out;
}

}  // namespace emporium::pricing
