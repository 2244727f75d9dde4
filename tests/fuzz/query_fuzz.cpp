// Query strings and what is read out of them: the first input byte picks
//   0: a query string → Boost.URL as the server parses request targets → the catalog listing's
//      filters (catalog::parse_list_query) → its keyset cursor (catalog::decode_cursor);
//   1: a raw cursor → decode_cursor;
//   2: a number → http::parse_positive_int (path ids and limits).
// Invariants: accepted filters are within their documented ranges; a cursor that decodes
// re-encodes to a canonical text that decodes to the same cursor and re-encodes to itself; a
// parsed positive integer is all digits and within [1, max].

#include "catalog/catalog_routes.hpp"
#include "catalog/catalog_service.hpp"
#include "catalog/catalog_types.hpp"
#include "http/types.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

namespace {

using namespace emporium;

void check(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant violated: %s\n", what);
        std::abort();
    }
}

bool same(const catalog::ListCursor& a, const catalog::ListCursor& b) {
    return a.sort == b.sort && a.mode == b.mode && a.filter_hash == b.filter_hash &&
           a.score_key == b.score_key && a.int_key == b.int_key && a.id == b.id &&
           a.max_purchase == b.max_purchase && a.now_micros == b.now_micros;
}

void fuzz_cursor(std::string_view text) {
    auto cursor = catalog::decode_cursor(text);
    if (!cursor) return;
    check(cursor->id > 0 && cursor->max_purchase >= 0, "decoded cursors have a positive id");
    check(std::isfinite(cursor->score_key), "decoded score keys are finite");
    const auto canonical = catalog::encode_cursor(*cursor);
    auto again = catalog::decode_cursor(canonical);
    check(again.has_value(), "an encoded cursor decodes");
    check(same(*again, *cursor), "a cursor round-trips");
    check(catalog::encode_cursor(*again) == canonical, "a cursor re-encodes to itself");
}

void fuzz_list_query(std::string_view query) {
    std::string target = "/api/v1/products?";
    target += query;
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return;
    http::Request request;
    http::RequestContext ctx{request,
                             "fuzz",
                             {},
                             "/api/v1/products",
                             {},
                             {},
                             std::chrono::steady_clock::time_point{},
                             std::nullopt,
                             {}};
    for (auto param : url->params()) ctx.query_params.emplace_back(param.key, param.value);
    auto q = catalog::parse_list_query(ctx);
    if (!q) {
        check(q.error().code == core::Errc::kValidation && !q.error().details.empty(),
              "query errors name the field");
        return;
    }
    check(q->limit >= 1 && q->limit <= catalog::kMaxPageSize, "limit in range");
    if (q->min_price)
        check(*q->min_price >= 0 && *q->min_price <= catalog::kMaxPriceCents, "min_price in range");
    if (q->max_price)
        check(*q->max_price >= 0 && *q->max_price <= catalog::kMaxPriceCents, "max_price in range");
    if (q->q) {
        check(q->q->empty() || (q->q->front() != ' ' && q->q->front() != '\t'), "q is trimmed at the front");
        check(q->q->empty() || (q->q->back() != ' ' && q->q->back() != '\t'), "q is trimmed at the back");
    }
    if (q->category) check(!q->category->empty(), "an empty category is no filter");
    check(!catalog::sort_name(q->sort).empty(), "the sort has a name");
    check(catalog::parse_sort(catalog::sort_name(q->sort)) == q->sort, "sort names round-trip");
    if (q->cursor) fuzz_cursor(*q->cursor);
}

void fuzz_positive_int(std::string_view text) {
    for (const std::int64_t max : {std::numeric_limits<std::int64_t>::max(), std::int64_t{100}}) {
        auto v = http::parse_positive_int(text, max);
        if (!v) continue;
        check(*v >= 1 && *v <= max, "positive integers are within [1, max]");
        check(!text.empty() &&
                  std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }),
              "positive integers are all digits");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The selector is a digit in the seed corpora: '0' picks the first case.
    const auto selector = static_cast<unsigned>(static_cast<std::uint8_t>(data[0] - '0'));
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);  // NOLINT: bytes
    switch (selector % 3) {
        case 0:
            fuzz_list_query(rest);
            break;
        case 1:
            fuzz_cursor(rest);
            break;
        default:
            fuzz_positive_int(rest);
            break;
    }
    return 0;
}
