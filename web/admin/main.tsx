// The admin console at /admin/ (docs/web.md): sign-in, then one page per route. It only calls the
// public API with the signed-in admin's token; the server's checks are the only ones.
import "../shared/base.css";
import "uplot/dist/uPlot.min.css";
import "./admin.css";

import { signal } from "@preact/signals";
import { render } from "preact";
import type { ComponentChildren } from "preact";

import { restoreSession, session, signOut, useSessionKey } from "../shared/api";
import { match, route } from "../shared/router";
import { Frame, Loading } from "../shared/ui";
import { JobsPage } from "./jobs";
import { OrderPage, OrdersPage } from "./orders";
import { ProductPage, ProductsPage, VariantPage } from "./products";
import { PromotionPage, PromotionsPage } from "./promotions";
import { RecommendationsPage } from "./recommendations";
import { checkingRole, NotAdmin, SignIn } from "./signin";
import { StockPage } from "./stock";
import { DeliveryPage, WebhookPage, WebhooksPage } from "./webhooks";

const restored = signal(false);

const sections: [string, string][] = [
    ["/products", "Products"],
    ["/stock", "Stock"],
    ["/orders", "Orders"],
    ["/promotions", "Promotions"],
    ["/webhooks", "Webhooks"],
    ["/jobs", "Jobs"],
    ["/recommendations", "Recommendations"],
];

// Route pattern → page; the first match wins.
const pages: [string, (p: Record<string, string>) => ComponentChildren][] = [
    ["/products", () => <ProductsPage />],
    ["/products/:id", (p) => <ProductPage id={Number(p.id)} />],
    ["/variants/:id", (p) => <VariantPage id={Number(p.id)} />],
    ["/stock", () => <StockPage />],
    ["/orders", () => <OrdersPage />],
    ["/orders/:id", (p) => <OrderPage id={Number(p.id)} />],
    ["/promotions", () => <PromotionsPage />],
    ["/promotions/:id", (p) => <PromotionPage id={Number(p.id)} />],
    ["/webhooks", () => <WebhooksPage />],
    ["/webhooks/:id", (p) => <WebhookPage id={Number(p.id)} />],
    ["/deliveries/:id", (p) => <DeliveryPage id={Number(p.id)} />],
    ["/jobs", () => <JobsPage />],
    ["/recommendations", () => <RecommendationsPage />],
];

function Page() {
    const path = route.value.path === "/" ? "/products" : route.value.path;
    for (const [pattern, page] of pages) {
        const params = match(pattern, path);
        if (params !== null) return <>{page(params)}</>;
    }
    return (
        <>
            <h1>Not found</h1>
            <p>
                There is no page at {path}. <a href="#/products">Go to the products</a>.
            </p>
        </>
    );
}

function Nav() {
    const here = route.value.path === "/" ? "/products" : route.value.path;
    return (
        <nav aria-label="Console">
            {sections.map(([path, name]) => (
                <a key={path} href={`#${path}`} aria-current={here === path || here.startsWith(`${path}/`) ? "page" : undefined}>
                    {name}
                </a>
            ))}
        </nav>
    );
}

function App() {
    const user = session.value?.user;

    if (!restored.value) return <Loading what="the console" />;
    const header = (
        <>
            <a class="brand" href="#/products">
                Emporium admin
            </a>
            {user?.role === "admin" && !checkingRole.value && <Nav />}
            {user && !checkingRole.value && (
                <div class="who">
                    <span class="muted">{user.email}</span>
                    <button type="button" class="secondary" onClick={() => void signOut()}>
                        Sign out
                    </button>
                </div>
            )}
        </>
    );
    return (
        <Frame header={header}>
            <div>{!user || checkingRole.value ? <SignIn /> : user.role !== "admin" ? <NotAdmin /> : <Page />}</div>
        </Frame>
    );
}

useSessionKey("admin");
void restoreSession().finally(() => {
    restored.value = true;
});
render(<App />, document.getElementById("app") as HTMLElement);
