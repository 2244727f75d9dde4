// A product: its variants (one radio group per option, e.g. Size), live availability, add to cart,
// reviews (paged) and "customers also bought".
import { useEffect, useState } from "preact/hooks";

import { ok, session } from "../../shared/api";
import type { Schemas } from "../../shared/api";
import { href } from "../../shared/router";
import { ErrorNotice, Show, money, useLoad, when } from "../../shared/ui";
import { Placeholder, ProductGrid, Rating, optionText, useTitle } from "../bits";
import { addLine } from "../state";

type Product = Schemas["Product"];
type VariantSummary = Schemas["VariantSummary"];

export function ProductPage({ id }: { id: number }) {
    const product = useLoad(() => ok("/api/v1/products/{id}", "get", { path: { id } }), [id]);
    useTitle(product.data?.name ?? "Product");
    return (
        <Show loaded={product} what="the product">
            {(p) => <ProductView product={p} />}
        </Show>
    );
}

function ProductView({ product }: { product: Product }) {
    const variants = product.variants ?? [];
    const options = product.options ?? [];
    // Live stock per variant (the product answer is cached; this one is not).
    const live = useLoad(() => ok("/api/v1/products/{id}/variants", "get", { path: { id: product.id } }), [product.id]);
    const available = new Map<number, number>((live.data?.items ?? []).map((v) => [v.id, v.available]));

    const initial = variants.find((v) => v.is_default) ?? variants[0];
    const [chosen, setChosen] = useState<Record<string, string>>(() => valuesOf(initial));
    useEffect(() => setChosen(valuesOf(initial)), [product.id]);
    const variant = variants.find((v) => v.options.every((o) => chosen[o.option] === o.value));
    // A product without listed variants is bought as itself (its default variant).
    const plain = variants.length === 0;

    const [quantity, setQuantity] = useState(1);
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const [added, setAdded] = useState("");

    const stockOf = (v: VariantSummary | undefined): number | undefined => (v === undefined ? undefined : available.get(v.id));
    const left = stockOf(variant);
    const soldOut = plain ? !product.in_stock : variant === undefined || !variant.in_stock || left === 0;

    const add = async (e: Event) => {
        e.preventDefault();
        if (variant === undefined && !plain) return;
        setBusy(true);
        setError(undefined);
        setAdded("");
        try {
            await addLine(variant ? { variant_id: variant.id } : { product_id: product.id }, quantity);
            const what = variant && options.length > 0 ? ` (${optionText(variant.options)})` : "";
            setAdded(`Added ${quantity} × ${product.name}${what} to your cart.`);
            live.reload();
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };

    return (
        <>
            <nav aria-label="Breadcrumb" class="breadcrumb">
                <ol>
                    <li>
                        <a href={href("/")}>Home</a>
                    </li>
                    {product.category && (
                        <li>
                            <a href={href(`/c/${product.category.slug}`)}>{product.category.name}</a>
                        </li>
                    )}
                    <li>
                        <span aria-current="page">{product.name}</span>
                    </li>
                </ol>
            </nav>
            <div class="product">
                <Placeholder product={product} large />
                <div class="product-info">
                    <h1>{product.name}</h1>
                    <p class="product-price">{money(variant?.price_cents ?? product.price.amount_cents, product.price.currency)}</p>
                    <p>
                        <Rating rating={product.rating} />
                    </p>
                    <form class="buy" onSubmit={add}>
                        {options.map((option) => (
                            <fieldset key={option.name} class="choices">
                                <legend>{option.name}</legend>
                                {option.values.map((value) => {
                                    // The variant this value would pick with the other choices kept.
                                    const candidate = variants.find((v) =>
                                        v.options.every((o) => (o.option === option.name ? o.value === value : chosen[o.option] === o.value)),
                                    );
                                    const out = candidate === undefined || !candidate.in_stock || stockOf(candidate) === 0;
                                    const inputId = `opt-${option.name}-${value}`.replace(/[^A-Za-z0-9_-]/g, "_");
                                    return (
                                        <span class="choice" key={value}>
                                            <input
                                                type="radio"
                                                id={inputId}
                                                name={`option-${option.name}`}
                                                value={value}
                                                checked={chosen[option.name] === value}
                                                onChange={() => setChosen({ ...chosen, [option.name]: value })}
                                            />
                                            <label for={inputId} class={out ? "out" : undefined}>
                                                {value}
                                                {out && <span class="visually-hidden"> (sold out)</span>}
                                            </label>
                                        </span>
                                    );
                                })}
                            </fieldset>
                        ))}
                        <p class="stock" aria-live="polite">
                            {variant === undefined && !plain
                                ? "This combination is not sold."
                                : soldOut
                                  ? "Sold out"
                                  : left !== undefined && left <= 5
                                    ? `Only ${left} left`
                                    : "In stock"}
                        </p>
                        <div class="row">
                            <div class="field qty">
                                <label for="quantity">Quantity</label>
                                <input
                                    id="quantity"
                                    type="number"
                                    min={1}
                                    max={Math.min(100, left ?? 100)}
                                    value={quantity}
                                    onInput={(e) => setQuantity(Math.max(1, Math.min(100, Number(e.currentTarget.value) || 1)))}
                                />
                            </div>
                            <button type="submit" disabled={busy || soldOut}>
                                {busy ? "Adding…" : "Add to cart"}
                            </button>
                        </div>
                        <div role="status" class="added">
                            {added && (
                                <p class="notice">
                                    {added} <a href={href("/cart")}>View cart</a>
                                </p>
                            )}
                        </div>
                        <ErrorNotice error={error} />
                    </form>
                    <h2>Description</h2>
                    {product.description.split(/\n\n+/).map((para, i) => (
                        <p key={i}>{para}</p>
                    ))}
                    <p class="muted">SKU {variant?.sku ?? product.sku}</p>
                </div>
            </div>
            <Reviews product={product} />
            <AlsoBought id={product.id} />
        </>
    );
}

function valuesOf(v: VariantSummary | undefined): Record<string, string> {
    return Object.fromEntries((v?.options ?? []).map((o) => [o.option, o.value]));
}

function Reviews({ product }: { product: Product }) {
    const [items, setItems] = useState<Schemas["Review"][]>([]);
    const [cursor, setCursor] = useState<string | null | undefined>(undefined);
    const [error, setError] = useState<unknown>(undefined);
    const [busy, setBusy] = useState(false);
    const load = async (from?: string) => {
        setBusy(true);
        setError(undefined);
        try {
            const page = await ok("/api/v1/products/{id}/reviews", "get", { path: { id: product.id }, query: { limit: 5, cursor: from } });
            setItems((old) => (from === undefined ? page.items : [...old, ...page.items]));
            setCursor(page.next_cursor);
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    };
    useEffect(() => {
        void load();
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [product.id]);
    return (
        <section aria-labelledby="reviews-title" class="reviews">
            <h2 id="reviews-title">Reviews</h2>
            <p>
                <Rating rating={product.rating} />
            </p>
            {items.length > 0 && (
                <ul class="review-list">
                    {items.map((r) => (
                        <li key={r.id} class="review">
                            <h3>{r.title || "Review"}</h3>
                            <p class="muted">
                                <span class="stars" aria-hidden="true">
                                    {"★".repeat(r.rating)}
                                    {"☆".repeat(5 - r.rating)}
                                </span>{" "}
                                <span class="visually-hidden">{r.rating} out of 5, </span>
                                {when(r.created_at)}
                                {r.verified_purchase && <span class="badge">Verified purchase</span>}
                            </p>
                            {r.body && <p>{r.body}</p>}
                        </li>
                    ))}
                </ul>
            )}
            {cursor === undefined && !error && <p class="loading">Loading reviews…</p>}
            {cursor && (
                <button type="button" class="secondary" disabled={busy} onClick={() => void load(cursor)}>
                    {busy ? "Loading…" : "More reviews"}
                </button>
            )}
            <ErrorNotice error={error} />
            {session.value !== null && <WriteReview productId={product.id} onDone={() => void load()} />}
        </section>
    );
}

function WriteReview({ productId, onDone }: { productId: number; onDone: () => void }) {
    const [rating, setRating] = useState("5");
    const [title, setTitle] = useState("");
    const [body, setBody] = useState("");
    const [error, setError] = useState<unknown>(undefined);
    const [done, setDone] = useState("");
    const submit = async (e: Event) => {
        e.preventDefault();
        setError(undefined);
        setDone("");
        try {
            await ok("/api/v1/products/{id}/reviews", "post", { path: { id: productId }, body: { rating: Number(rating), title, body } });
            setDone("Thank you, your review is published.");
            setTitle("");
            setBody("");
            onDone();
        } catch (err) {
            setError(err);
        }
    };
    return (
        <details class="write-review">
            <summary>Write a review</summary>
            <form onSubmit={submit}>
                <div class="field">
                    <label for="review-rating">Rating</label>
                    <select id="review-rating" value={rating} onChange={(e) => setRating(e.currentTarget.value)}>
                        {[5, 4, 3, 2, 1].map((n) => (
                            <option key={n} value={n}>
                                {n} out of 5
                            </option>
                        ))}
                    </select>
                </div>
                <div class="field">
                    <label for="review-title">Title</label>
                    <input id="review-title" maxLength={200} value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
                </div>
                <div class="field">
                    <label for="review-body">Your review</label>
                    <textarea id="review-body" rows={4} maxLength={5000} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
                </div>
                <button type="submit">Publish review</button>
                <div role="status">{done && <p class="notice">{done}</p>}</div>
                <ErrorNotice error={error} />
            </form>
        </details>
    );
}

function AlsoBought({ id }: { id: number }) {
    const also = useLoad(() => ok("/api/v1/products/{id}/also-bought", "get", { path: { id }, query: { limit: 6 } }), [id]);
    if (also.error !== undefined) return <ErrorNotice error={also.error} />;
    if (!also.data || also.data.items.length === 0) return null;
    return (
        <section aria-labelledby="also-title">
            <h2 id="also-title">Customers also bought</h2>
            <ProductGrid products={also.data.items} />
        </section>
    );
}
