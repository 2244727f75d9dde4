// The demo storefront at / (docs/web.md): a hash-routed Preact app over the public API only.
//   #/                 ranked home page        #/c/<slug>        category with facets
//   #/search?q=…       search results          #/p/<id>          product
//   #/cart             cart (holds counting)   #/checkout        checkout and payment
//   #/account          orders, recommended     #/orders/<id>     order, payment state, receipt
//   #/signin           sign in / create an account
import "../shared/base.css";
import "./store.css";

import { render } from "preact";

import { session, useSessionKey } from "../shared/api";
import { href, match, route } from "../shared/router";
import { Frame, Loading } from "../shared/ui";
import { useTitle } from "./bits";
import { AccountPage, SignInPage } from "./pages/account";
import { CartPage } from "./pages/cart";
import { CategoryPage, HomePage, SearchPage } from "./pages/catalog";
import { CheckoutPage } from "./pages/checkout";
import { OrderPage } from "./pages/order";
import { ProductPage } from "./pages/product";
import { SearchBox } from "./search";
import { itemCount, ready, start } from "./state";

function Header() {
    const user = session.value?.user;
    const count = itemCount.value;
    const path = route.value.path;
    const current = (p: string) => (path === p ? "page" : undefined);
    return (
        <>
            <a class="brand" href={href("/")}>
                Emporium
            </a>
            <SearchBox />
            <nav aria-label="Shop">
                <a href={href("/cart")} aria-current={current("/cart")}>
                    Cart <span class="cart-count">({count})</span>
                    <span class="visually-hidden"> {count === 1 ? "item" : "items"}</span>
                </a>
                {user ? (
                    <a href={href("/account")} aria-current={current("/account")}>
                        Account
                    </a>
                ) : (
                    <a href={href("/signin")} aria-current={current("/signin")}>
                        Sign in
                    </a>
                )}
            </nav>
        </>
    );
}

function NotFound() {
    useTitle("Not found");
    return (
        <>
            <h1>Page not found</h1>
            <p>
                There is nothing at this address. <a href={href("/")}>Go to the home page</a>
            </p>
        </>
    );
}

function Page() {
    const { path, query } = route.value;
    if (!ready.value) return <Loading />;
    let m: Record<string, string> | null;
    if (path === "/") return <HomePage />;
    if ((m = match("/c/:slug", path))) return <CategoryPage key={m.slug} slug={m.slug ?? ""} />;
    if (path === "/search") return <SearchPage q={query.get("q") ?? ""} category={query.get("category") ?? undefined} />;
    if ((m = match("/p/:id", path)) && /^\d+$/.test(m.id ?? "")) return <ProductPage key={m.id} id={Number(m.id)} />;
    if (path === "/cart") return <CartPage />;
    if (path === "/checkout") return <CheckoutPage />;
    if (path === "/account") return <AccountPage />;
    if ((m = match("/orders/:id", path)) && /^\d+$/.test(m.id ?? "")) return <OrderPage key={m.id} id={Number(m.id)} />;
    if (path === "/signin") return <SignInPage />;
    return <NotFound />;
}

function App() {
    return (
        <Frame header={<Header />}>
            <Page />
        </Frame>
    );
}

useSessionKey("store");
void start();
render(<App />, document.getElementById("app") as HTMLElement);
