#include "carts/carts_routes.hpp"

#include "core/codec.hpp"
#include "orders/orders_routes.hpp"

namespace emporium::carts {

namespace {

namespace asio = boost::asio;
using http::Caller;
using http::In;
using http::Reply;

constexpr std::string_view kTokenHeader = "X-Cart-Token";

CartCaller cart_caller(const Caller& caller) {
    CartCaller c;
    c.user_id = caller.user_id;
    if (auto token = caller.header(kTokenHeader)) c.token = std::string(*token);
    return c;
}

asio::awaitable<Reply<Cart>> open_cart(std::shared_ptr<CartsService> service, In<> /*in*/, Caller caller) {
    auto opened = co_await service->open(cart_caller(caller));
    Reply<Cart> reply(std::move(opened.cart));
    if (!opened.created) reply.status(http::Status::ok);
    co_return reply;
}

asio::awaitable<Reply<Cart>> get_cart(std::shared_ptr<CartsService> service, In<CartRef> in, Caller caller) {
    co_return co_await service->get(in.path.id, cart_caller(caller));
}

asio::awaitable<Reply<Cart>> add_line(std::shared_ptr<CartsService> service,
                                      In<CartRef, http::NoInput, NewCartLine> in,
                                      Caller caller) {
    co_return co_await service->add_line(in.path.id, cart_caller(caller), std::move(in.body));
}

asio::awaitable<Reply<Cart>> set_line(std::shared_ptr<CartsService> service,
                                      In<CartLineRef, http::NoInput, LineQuantity> in,
                                      Caller caller) {
    co_return co_await service->set_line(in.path.id, in.path.variant_id, cart_caller(caller), in.body.quantity);
}

asio::awaitable<Reply<Cart>> remove_line(std::shared_ptr<CartsService> service, In<CartLineRef> in, Caller caller) {
    co_return co_await service->remove_line(in.path.id, in.path.variant_id, cart_caller(caller));
}

asio::awaitable<Reply<Cart>> add_code(std::shared_ptr<CartsService> service,
                                      In<CartRef, http::NoInput, NewCartCode> in,
                                      Caller caller) {
    co_return co_await service->add_code(in.path.id, cart_caller(caller), std::move(in.body.code));
}

asio::awaitable<Reply<Cart>> set_shipping(std::shared_ptr<CartsService> service,
                                          In<CartRef, http::NoInput, CartShipping> in,
                                          Caller caller) {
    co_return co_await service->set_shipping(in.path.id, cart_caller(caller), std::move(in.body));
}

asio::awaitable<Reply<Cart>> remove_code(std::shared_ptr<CartsService> service, In<CartCodeRef> in, Caller caller) {
    co_return co_await service->remove_code(in.path.id, cart_caller(caller), std::move(in.path.code));
}

asio::awaitable<Reply<orders::Order>> checkout(std::shared_ptr<CartsService> service,
                                               In<CartRef, http::NoInput, CartCheckout> in,
                                               Caller caller) {
    std::string fingerprint = "POST /api/v1/carts/" + std::to_string(in.path.id) + "/checkout\n" +
                              core::codec::encode(in.body);
    auto placed = co_await service->checkout(in.path.id, cart_caller(caller), caller.idempotency_key,
                                             std::move(in.body), std::move(fingerprint));
    if (!placed) co_return placed.error();
    if (placed->failure) co_return co_await orders::remember_failure(service->orders(), caller, std::move(*placed->failure));
    co_return orders::stored_reply<orders::Order>(*placed);
}

asio::awaitable<Reply<Cart>> merge_cart(std::shared_ptr<CartsService> service, In<CartRef> in, Caller caller) {
    co_return co_await service->merge(in.path.id, cart_caller(caller));
}

}  // namespace

void register_routes(http::Api& api, const std::shared_ptr<CartsService>& service) {
    using http::Access;
    using http::Verb;
    const std::vector<http::HeaderDoc> token{{std::string(kTokenHeader), "a guest cart's token (from the answer that made it)"}};
    const http::ErrorDoc refused{403, "a guest cart without its X-Cart-Token, or with another cart's"};
    const http::ErrorDoc missing{404, "no such cart (or another customer's)"};
    api.openapi().add_tag("carts", "Carts that hold stock while the customer shops, and checkout from them");
    api.add({.method = Verb::post,
             .path = "/api/v1/carts",
             .id = "openCart",
             .tag = "carts",
             .summary = "A new guest cart (its token in the answer, once), or the signed-in customer's open cart",
             .access = Access::kPublic,
             .rate_group = "write",
             .success = http::Status::created,
             .success_description = "a new cart",
             .errors = {{200, "the signed-in customer's open cart, which already existed"}}},
            open_cart, service);
    api.add({.method = Verb::get,
             .path = "/api/v1/carts/{id}",
             .id = "getCart",
             .tag = "carts",
             .summary = "A cart with its lines priced now, flags and totals; activity renews its holds",
             .access = Access::kPublic,
             .rate_group = "read",
             .success_description = "the cart",
             .errors = {refused, missing},
             .request_headers = token},
            get_cart, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/carts/{id}/lines",
             .id = "addCartLine",
             .tag = "carts",
             .summary = "Add units of a variant (held for the cart while it is active)",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart",
             .errors = {refused,
                        missing,
                        {409, "out_of_stock (fewer units available than asked), or the cart is no longer open"},
                        {422, "unknown or withdrawn variant, more than 100 units on a line, more than 50 lines"}},
             .request_headers = token},
            add_line, service);
    api.add({.method = Verb::put,
             .path = "/api/v1/carts/{id}/lines/{variant_id}",
             .id = "setCartLine",
             .tag = "carts",
             .summary = "Set a line's quantity (and accept its current price)",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart",
             .errors = {refused,
                        missing,
                        {409, "out_of_stock, or the cart is no longer open"},
                        {422, "unknown or withdrawn variant, quantity outside 1..100"}},
             .request_headers = token},
            set_line, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/carts/{id}/lines/{variant_id}",
             .id = "removeCartLine",
             .tag = "carts",
             .summary = "Remove a line; its held units are released",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart",
             .errors = {refused, {404, "no such cart or line"}, {409, "the cart is no longer open"}},
             .request_headers = token},
            remove_line, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/carts/{id}/codes",
             .id = "addCartCode",
             .tag = "carts",
             .summary = "Enter a promotion code; the cart then shows whether it applies, and why not",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart, with codes[] and the discounts that apply",
             .errors = {refused,
                        missing,
                        {409, "the cart carries 5 codes already, or is no longer open"},
                        {422, "a malformed code, or one no promotion has"}},
             .request_headers = token},
            add_code, service);
    api.add({.method = Verb::delete_,
             .path = "/api/v1/carts/{id}/codes/{code}",
             .id = "removeCartCode",
             .tag = "carts",
             .summary = "Remove a promotion code from the cart",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart",
             .errors = {refused, {404, "no such cart, or the code is not on it"}, {409, "the cart is no longer open"}},
             .request_headers = token},
            remove_code, service);
    api.add({.method = Verb::put,
             .path = "/api/v1/carts/{id}/shipping",
             .id = "setCartShipping",
             .tag = "carts",
             .summary = "Choose the destination country (its tax applies) and one of its shipping options",
             .access = Access::kPublic,
             .rate_group = "write",
             .success_description = "the cart, priced with the shipping and tax, and the country's shipping_options",
             .errors = {refused,
                        missing,
                        {409, "the cart is no longer open"},
                        {422, "a malformed country, or an option that does not serve it"}},
             .request_headers = token},
            set_shipping, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/carts/{id}/checkout",
             .id = "checkoutCart",
             .tag = "carts",
             .summary = "Order the cart's lines in one transaction: held units are the cart's, the others are "
                        "reserved as POST /orders does; a cart makes at most one order",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .idempotency_key = true,
             .success = http::Status::created,
             .success_description = "the order (or replayed: Idempotent-Replayed: true)",
             .errors = {refused,
                        missing,
                        {409, "cart_changed (a price moved, a variant was withdrawn, the lines or total are not what "
                              "was seen), promotion_unavailable (a code on the cart does not apply: used up, the "
                              "customer's limit, …; remove it), out_of_stock, already checked out, the key in use"},
                        {422, "empty cart, the key reused with another body"}},
             .request_headers = token,
             .response_headers = {{"Idempotent-Replayed", "true when this answer is a replay"}}},
            checkout, service);
    api.add({.method = Verb::post,
             .path = "/api/v1/carts/{id}/merge",
             .id = "mergeCart",
             .tag = "carts",
             .summary = "Move a guest cart into the signed-in customer's cart (quantities added, holds kept)",
             .access = Access::kAuthenticated,
             .rate_group = "write",
             .success_description = "the customer's cart",
             .errors = {refused, missing, {409, "either cart is no longer open"}, {422, "not a guest cart"}},
             .request_headers = token},
            merge_cart, service);
}

}  // namespace emporium::carts
