#include "inventory/inventory_routes.hpp"

#include <boost/describe/class.hpp>

#include <array>
#include <chrono>

namespace emporium::inventory {
namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::Reply;

struct VariantRef {
    std::int64_t id = 0;
    static constexpr std::array kFields{core::field("id").at_least(1).describe("variant id")};
};
BOOST_DESCRIBE_STRUCT(VariantRef, (), (id))

asio::awaitable<Reply<VariantLedger>> variant_ledger(std::shared_ptr<InventoryService> service,
                                                     In<VariantRef, http::PageQuery> in, Caller /*caller*/) {
    co_return co_await service->ledger(in.path.id, in.query.limit, std::move(in.query.cursor));
}

asio::awaitable<Reply<InventoryAudit>> audit(std::shared_ptr<InventoryService> service, In<> /*in*/,
                                             Caller /*caller*/) {
    InventoryAudit out;
    out.mismatches = co_await service->audit();
    out.clean = out.mismatches.empty();
    out.checked_at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    co_return out;
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<InventoryService>& service) {
    using http::Access;
    using http::Verb;
    api.openapi().add_tag("inventory", "The stock ledger and its audit (admin)");
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/variants/{id}/ledger",
             .id = "variantLedger",
             .tag = "inventory",
             .summary = "A variant's stock, holds and ledger sum with its ledger rows, newest first (admin)",
             .access = Access::kAdmin,
             .rate_group = "read",
             .success_description = "the variant's books and a page of its ledger",
             .errors = {{400, "malformed cursor"}, {404, "no such variant"}}},
            variant_ledger, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/admin/inventory/audit",
             .id = "inventoryAudit",
             .tag = "inventory",
             .summary = "Check the books (admin): each variant's stock against its ledger, each product's stock flag "
                        "against its variants, each variant's holds against its carts' lines",
             .description = "Reads every variant once: meant for an operator, not for a loop.",
             .access = Access::kAdmin,
             .rate_group = "write",
             .success_description = "clean, or the mismatches"},
            audit, service);
}

}  // namespace emporium::inventory
