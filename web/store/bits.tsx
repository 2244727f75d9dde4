// Small pieces the store's pages share: the product placeholder "image", ratings, product cards,
// the hold countdown, the page title and problem-aware action buttons.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

import { call } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href } from "../shared/router";
import { ErrorNotice, money, useDocumentTitle } from "../shared/ui";
import { serverNow } from "./state";

// What a listing, recommendation or product answer has in common.
export type AnyProduct = Pick<Schemas["Product"], "id" | "name" | "price" | "in_stock" | "category" | "rating" | "price_range">;

// Sets the document's title for the page (screen readers announce it; tabs show it).
export function useTitle(title: string): void {
    useDocumentTitle(title, "Emporium");
}

// A stable small number from a text: picks the placeholder's colour class.
function hue(text: string): number {
    let h = 0;
    for (const c of text) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 997;
    return h % 8;
}

function initials(name: string): string {
    const words = name.split(/\s+/).filter((w) => /^[A-Za-z0-9]/.test(w));
    return words.slice(0, 2).map((w) => w[0]?.toUpperCase() ?? "").join("");
}

// Products have no pictures: a coloured box (by category) with the name's initials. Decorative:
// the name is always printed next to it.
export function Placeholder({ product, large }: { product: Pick<AnyProduct, "name" | "category">; large?: boolean }) {
    const category = product.category?.name ?? "Emporium";
    return (
        <div class={`ph ph-${hue(category)}${large ? " ph-large" : ""}`} aria-hidden="true">
            <span class="ph-initials">{initials(product.name)}</span>
            <span class="ph-category">{category}</span>
        </div>
    );
}

export function Rating({ rating }: { rating: Schemas["Rating"] }) {
    if (rating.count === 0) return <span class="rating muted">No reviews yet</span>;
    const full = Math.round(rating.average);
    return (
        <span class="rating">
            <span class="stars" aria-hidden="true">
                {"★".repeat(full)}
                {"☆".repeat(5 - full)}
            </span>{" "}
            <span class="visually-hidden">Rated </span>
            {rating.average.toFixed(1)}
            <span class="visually-hidden"> out of 5</span> ({rating.count} {rating.count === 1 ? "review" : "reviews"})
        </span>
    );
}

export function PriceText({ product }: { product: AnyProduct }) {
    const range = product.price_range;
    const currency = product.price.currency;
    if (range && range.min_cents !== range.max_cents) {
        return (
            <span class="price">
                {money(range.min_cents, currency)} – {money(range.max_cents, currency)}
            </span>
        );
    }
    return <span class="price">{money(product.price.amount_cents, currency)}</span>;
}

// A product in a grid; its name (a link to it) is a heading of the given level.
export function ProductCard({ product, level = 3 }: { product: AnyProduct; level?: 2 | 3 }) {
    const Heading = level === 2 ? "h2" : "h3";
    return (
        <li class="card product-card">
            <Placeholder product={product} />
            <Heading class="product-name">
                <a href={href(`/p/${product.id}`)}>{product.name}</a>
            </Heading>
            <p class="product-meta">
                <PriceText product={product} />
                {!product.in_stock && <span class="badge badge-out">Sold out</span>}
            </p>
            <p class="product-meta">
                <Rating rating={product.rating} />
            </p>
        </li>
    );
}

export function ProductGrid({ products, label }: { products: AnyProduct[]; label?: string }) {
    return (
        <ul class="product-grid" aria-label={label}>
            {products.map((p) => (
                <ProductCard key={p.id} product={p} />
            ))}
        </ul>
    );
}

function clock(ms: number): string {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const m = Math.floor(total / 60);
    const s = total % 60;
    return `${m}:${String(s).padStart(2, "0")}`;
}

// Whether a cart line's hold has lapsed, by the server's clock (the expiry time is the server's).
export function holdLapsed(line: Schemas["CartLine"]): boolean {
    return !!line.hold_expires_at && line.held > 0 && new Date(line.hold_expires_at).getTime() <= serverNow.value;
}

// A cart line's hold: the time left (by the server's clock), ticking every second, then that it
// lapsed. role=timer is not announced every second (it is a polite region off by default), which is
// what we want; the cart page announces a lapse once in its status region.
export function HoldCountdown({ line }: { line: Schemas["CartLine"] }) {
    if (!line.hold_expires_at || line.held === 0) {
        return <span class="hold hold-none">Not held: {line.unavailable ? "unavailable" : "units are taken at checkout if still in stock"}</span>;
    }
    const left = new Date(line.hold_expires_at).getTime() - serverNow.value;
    if (left <= 0) {
        return <span class="hold hold-lapsed">Hold lapsed: these units are no longer reserved for you</span>;
    }
    return (
        <span class={`hold${left < 60_000 ? " hold-soon" : ""}`}>
            {line.held} held for you for <span role="timer">{clock(left)}</span>
        </span>
    );
}

// A button that runs an async action and shows its state and any API problem right after it.
export function ActionButton({
    onRun,
    children,
    busyText,
    class: className,
    disabled,
}: {
    onRun: () => Promise<void>;
    children: ComponentChildren;
    busyText?: string;
    class?: string;
    disabled?: boolean;
}) {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const run = async () => {
        setBusy(true);
        setError(undefined);
        try {
            await onRun();
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    };
    return (
        <div class="action">
            <button type="button" class={className} disabled={busy || disabled} onClick={run}>
                {busy && busyText ? busyText : children}
            </button>
            <ErrorNotice error={error} />
        </div>
    );
}

// The variant's option values, "Size 38".
export function optionText(options: Schemas["VariantOption"][]): string {
    return options.map((o) => `${o.option} ${o.value}`).join(", ");
}

// The products of some order or cart lines (names, variants' option values), fetched once each.
export function useProducts(ids: number[]): Map<number, Schemas["Product"]> {
    const [products, setProducts] = useState(new Map<number, Schemas["Product"]>());
    const key = [...new Set(ids)].sort().join(",");
    useEffect(() => {
        let live = true;
        const unique = key === "" ? [] : key.split(",").map(Number);
        Promise.all(unique.map((pid) => call("/api/v1/products/{id}", "get", { path: { id: pid } }))).then((answers) => {
            if (!live) return;
            const map = new Map<number, Schemas["Product"]>();
            for (const a of answers) if (a.status === 200) map.set(a.body.id, a.body);
            setProducts(map);
        }, () => undefined); // names are a nicety: the lines still show their ids
        return () => {
            live = false;
        };
    }, [key]);
    return products;
}
