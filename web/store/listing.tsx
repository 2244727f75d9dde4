// A product listing with facets, for category pages and search results. The filters live in the
// URL (#/c/shoes?sort=price_asc&min=0&max=999&stock=1) so that links, reloads and back work and
// every filter is an ordinary link or form control.
import { useEffect, useRef, useState } from "preact/hooks";

import { ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, route } from "../shared/router";
import { ErrorNotice, money } from "../shared/ui";
import { ProductGrid } from "./bits";

type Sort = "rank" | "relevance" | "price_asc" | "price_desc" | "newest";
type Page = Schemas["ProductPage"];

const sorts: { value: Sort; label: string }[] = [
    { value: "relevance", label: "Best match" },
    { value: "rank", label: "Popular" },
    { value: "price_asc", label: "Price: low to high" },
    { value: "price_desc", label: "Price: high to low" },
    { value: "newest", label: "Newest" },
];

// The facets the listing shows (queryString sends the list as "facets=category,price").
const kFacets: ("category" | "price")[] = ["category", "price"];

function intOrUndefined(text: string | null): number | undefined {
    if (text === null || text === "" || !/^\d+$/.test(text)) return undefined;
    return Number(text);
}

interface Props {
    q?: string; // search text (search page)
    category?: string; // category slug (category page, or a search narrowed to one)
    basePath: string; // where filter links point: "/search" or "/c/<slug>"
}

export function Listing({ q, category, basePath }: Props) {
    const query = route.value.query;
    const sortParam = query.get("sort") as Sort | null;
    const sort: Sort = sorts.some((s) => s.value === sortParam) ? (sortParam as Sort) : q ? "relevance" : "rank";
    const min = intOrUndefined(query.get("min"));
    const max = intOrUndefined(query.get("max"));
    const inStock = query.get("stock") === "1";

    const [wide] = useState(() => matchMedia("(min-width: 641px)").matches);
    const [page, setPage] = useState<Page | null>(null);
    const [items, setItems] = useState<Schemas["ListedProduct"][]>([]);
    const [error, setError] = useState<unknown>(undefined);
    const [moreError, setMoreError] = useState<unknown>(undefined);
    const [loadingMore, setLoadingMore] = useState(false);
    // Bumped whenever the filters change: an answer (first page or "more") for an older generation
    // is dropped, so that results of old filters never mix with the new ones.
    const generation = useRef(0);

    const filters = {
        q,
        category,
        sort,
        min_price: min,
        max_price: max,
        in_stock: inStock ? true : undefined,
    };

    useEffect(() => {
        const mine = ++generation.current;
        const live = () => mine === generation.current;
        setError(undefined);
        setMoreError(undefined);
        setLoadingMore(false);
        setPage(null);
        ok("/api/v1/products", "get", { query: { ...filters, limit: 24, facets: kFacets } }).then(
            (answer) => {
                if (!live()) return;
                setPage(answer);
                setItems(answer.items);
            },
            (e: unknown) => {
                if (live()) setError(e);
            },
        );
        return () => {
            // Unmounted or filters changed: whatever is in flight is now stale.
            if (live()) generation.current++;
        };
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [q, category, sort, min, max, inStock]);

    const more = async () => {
        if (!page?.next_cursor || loadingMore) return;
        const mine = generation.current;
        setLoadingMore(true);
        setMoreError(undefined);
        try {
            const next = await ok("/api/v1/products", "get", { query: { ...filters, limit: 24, cursor: page.next_cursor } });
            if (mine !== generation.current) return;
            setItems((old) => [...old, ...next.items]);
            setPage((old) => (old === null ? old : { ...old, next_cursor: next.next_cursor }));
        } catch (e) {
            if (mine === generation.current) setMoreError(e);
        } finally {
            if (mine === generation.current) setLoadingMore(false);
        }
    };

    // The link to this listing with some filters changed (undefined removes one).
    const link = (change: Record<string, string | undefined>) => {
        const current: Record<string, string | undefined> = {
            q,
            category: basePath === "/search" ? category : undefined,
            sort: query.get("sort") ?? undefined,
            min: query.get("min") ?? undefined,
            max: query.get("max") ?? undefined,
            stock: query.get("stock") ?? undefined,
        };
        return href(basePath, { ...current, ...change });
    };
    const go = (change: Record<string, string | undefined>) => {
        location.hash = link(change);
    };

    const facets = page?.facets;
    const currency = currencyOf(items);
    const total = facets?.total;
    return (
        <div class="listing">
            <aside class="filters" aria-labelledby="filters-title">
                {/* Open beside the results on wide screens; folded above them on a phone. */}
                <details open={wide}>
                    <summary>
                        <h2 id="filters-title">Filter and sort</h2>
                    </summary>
                    <div class="field">
                        <label for="sort">Sort by</label>
                        <select id="sort" value={sort} onChange={(e) => go({ sort: e.currentTarget.value })}>
                            {sorts
                                .filter((s) => s.value !== "relevance" || q)
                                .map((s) => (
                                    <option key={s.value} value={s.value}>
                                        {s.label}
                                    </option>
                                ))}
                        </select>
                    </div>
                    <div class="check">
                        <input id="in-stock" type="checkbox" checked={inStock} onChange={(e) => go({ stock: e.currentTarget.checked ? "1" : undefined })} />
                        <label for="in-stock">In stock only</label>
                    </div>
                    {facets?.category && facets.category.length > 0 && (
                        <nav aria-labelledby="facet-category">
                            <h3 id="facet-category">Category</h3>
                            <ul class="facet">
                                {basePath === "/search" && category && (
                                    <li>
                                        <a href={link({ category: undefined })}>All categories</a>
                                    </li>
                                )}
                                {facets.category.map((c) =>
                                    c.slug === null ? null : (
                                        <li key={c.slug}>
                                            <a
                                                href={basePath === "/search" ? link({ category: c.slug }) : href(`/c/${c.slug}`)}
                                                aria-current={c.slug === category ? "true" : undefined}
                                            >
                                                {c.name} <span class="count">({c.count})</span>
                                            </a>
                                        </li>
                                    ),
                                )}
                            </ul>
                        </nav>
                    )}
                    {facets?.price && facets.price.length > 0 && (
                        <nav aria-labelledby="facet-price">
                            <h3 id="facet-price">Price</h3>
                            <ul class="facet">
                                {(min !== undefined || max !== undefined) && (
                                    <li>
                                        <a href={link({ min: undefined, max: undefined })}>Any price</a>
                                    </li>
                                )}
                                {facets.price
                                    .filter((b) => b.count > 0)
                                    .map((b) => {
                                        const label = b.max_cents === null ? `${money(b.min_cents, currency)} and up` : `${money(b.min_cents, currency)} – ${money(b.max_cents, currency)}`;
                                        const selected = min === b.min_cents && max === (b.max_cents ?? undefined);
                                        return (
                                            <li key={b.min_cents}>
                                                <a
                                                    href={link({ min: String(b.min_cents), max: b.max_cents === null ? undefined : String(b.max_cents) })}
                                                    aria-current={selected ? "true" : undefined}
                                                >
                                                    {label} <span class="count">({b.count})</span>
                                                </a>
                                            </li>
                                        );
                                    })}
                            </ul>
                        </nav>
                    )}
                </details>
            </aside>
            <section class="results" aria-labelledby="results-title">
                <h2 id="results-title">Products</h2>
                <p role="status" class="muted">
                    {page === null
                        ? error
                            ? ""
                            : "Loading products…"
                        : total === undefined
                          ? `${items.length} products`
                          : `Showing ${items.length} of ${facets?.approximate ? "about " : ""}${total} products`}
                </p>
                <ErrorNotice error={error} />
                {page !== null && items.length === 0 && <p>Nothing matches. Try other words or fewer filters.</p>}
                {items.length > 0 && <ProductGrid products={items} />}
                {page?.next_cursor && (
                    <div class="more">
                        <button type="button" class="secondary" onClick={more} disabled={loadingMore}>
                            {loadingMore ? "Loading…" : "Show more products"}
                        </button>
                        <ErrorNotice error={moreError} />
                    </div>
                )}
            </section>
        </div>
    );
}

// The currency of the listed prices (the price facets' bands are in it); when there is none,
// money()'s own default (web/shared/ui.tsx), the one fallback of the storefront.
function currencyOf(items: Schemas["ListedProduct"][]): string | undefined {
    return items[0]?.price.currency;
}
