// Products: the searchable listing, one product's edit form with its variants, one variant's edit
// form. Edits go through VersionedForm (If-Match, conflicts shown side by side).
import { useState } from "preact/hooks";

import { call, ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { money, Show, useLoad } from "../shared/ui";
import { Badge, Pager, usePager, useTitle } from "./bits";
import { toMoney, VersionedForm } from "./versioned";
import type { FieldSpec } from "./versioned";

type Product = Schemas["Product"];
type Variant = Schemas["Variant"];
type Sort = "rank" | "relevance" | "price_asc" | "price_desc" | "newest";

export function ProductsPage() {
    useTitle("Products");
    const q = route.value.query.get("q") ?? "";
    const sort = (route.value.query.get("sort") ?? "newest") as Sort;
    const [text, setText] = useState(q);
    const pager = usePager([q, sort]);
    const list = useLoad(
        () => ok("/api/v1/products", "get", { query: { q: q || undefined, sort, limit: 25, cursor: pager.cursor } }),
        [q, sort, pager.cursor],
    );
    return (
        <>
            <h1>Products</h1>
            <form
                class="row filters"
                role="search"
                aria-label="Products"
                onSubmit={(e) => {
                    e.preventDefault();
                    navigate("/products", { q: text, sort });
                }}
            >
                <div class="field">
                    <label for="product-q">Search products</label>
                    <input id="product-q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
                </div>
                <div class="field">
                    <label for="product-sort">Sort by</label>
                    <select id="product-sort" value={sort} onChange={(e) => navigate("/products", { q, sort: e.currentTarget.value })}>
                        <option value="newest">Newest</option>
                        <option value="rank">Rank</option>
                        <option value="relevance">Relevance</option>
                        <option value="price_asc">Price, low to high</option>
                        <option value="price_desc">Price, high to low</option>
                    </select>
                </div>
                <button type="submit">Search</button>
            </form>
            <Show loaded={list} what="products">
                {(page) => (
                    <>
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Products</caption>
                            <thead>
                                <tr>
                                    <th scope="col">ID</th>
                                    <th scope="col">SKU</th>
                                    <th scope="col">Name</th>
                                    <th scope="col">Price</th>
                                    <th scope="col">Stock</th>
                                    <th scope="col">Status</th>
                                    <th scope="col">Version</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.map((p) => (
                                    <tr key={p.id}>
                                        <td>{p.id}</td>
                                        <td>{p.sku}</td>
                                        <td>
                                            <a href={href(`/products/${p.id}`)}>{p.name}</a>
                                        </td>
                                        <td>{money(p.price.amount_cents, p.price.currency)}</td>
                                        <td>{p.stock}</td>
                                        <td>
                                            <Badge value={p.is_active ? "active" : "inactive"} />
                                        </td>
                                        <td>{p.version}</td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        {page.items.length === 0 && <p>No products match.</p>}
                        <Pager pager={pager} nextCursor={page.next_cursor} label="Products" />
                    </>
                )}
            </Show>
        </>
    );
}

const productFields = (currency: string): FieldSpec[] => [
    { key: "name", label: "Name", kind: "text" },
    { key: "description", label: "Description", kind: "textarea" },
    { key: "price_cents", label: `Price (${currency})`, kind: "money", min: 0, max: 10_000_000_000 },
    { key: "is_active", label: "Active (on sale)", kind: "checkbox" },
];
const productValues = (p: Product) => ({
    name: p.name,
    description: p.description,
    price_cents: toMoney(p.price.amount_cents),
    is_active: p.is_active,
});

export function ProductPage({ id }: { id: number }) {
    const product = useLoad(() => ok("/api/v1/products/{id}", "get", { path: { id } }), [id]);
    const variants = useLoad(() => ok("/api/v1/products/{id}/variants", "get", { path: { id } }), [id]);
    useTitle(product.data ? `Product ${product.data.name}` : `Product ${id}`);
    return (
        <>
            <p>
                <a href="#/products">← Products</a>
            </p>
            <h1>Product {product.data ? `“${product.data.name}”` : id}</h1>
            <Show loaded={product} what="the product">
                {(p) => (
                    <div class="columns-wide">
                        <section aria-labelledby="edit-title">
                            <h2 id="edit-title">Edit</h2>
                            <p class="muted">
                                SKU {p.sku} · {p.stock} in stock · {p.purchase_count} sold · <a href={href("/recommendations", { product: p.id })}>Also bought</a>
                            </p>
                            <VersionedForm
                                key={p.id}
                                label="Edit product"
                                fields={productFields(p.price.currency)}
                                initial={p}
                                values={productValues}
                                save={(patch, ifMatch) =>
                                    call("/api/v1/products/{id}", "patch", { path: { id }, header: { "If-Match": ifMatch }, body: patch })
                                }
                                reload={() => ok("/api/v1/products/{id}", "get", { path: { id } })}
                                onSaved={() => variants.reload()}
                            />
                        </section>
                        <section aria-labelledby="variants-title">
                            <h2 id="variants-title">Variants</h2>
                            <Show loaded={variants} what="variants">
                                {(list) => <VariantTable items={list.items} />}
                            </Show>
                        </section>
                    </div>
                )}
            </Show>
        </>
    );
}

function VariantTable({ items }: { items: Variant[] }) {
    return (
        <table tabIndex={0}>
            <caption class="visually-hidden">Variants with their stock</caption>
            <thead>
                <tr>
                    <th scope="col">SKU</th>
                    <th scope="col">Options</th>
                    <th scope="col">Price</th>
                    <th scope="col">Stock</th>
                    <th scope="col">Held</th>
                    <th scope="col">Available</th>
                    <th scope="col">Status</th>
                    <th scope="col">Actions</th>
                </tr>
            </thead>
            <tbody>
                {items.map((v) => (
                    <tr key={v.id}>
                        <td>{v.sku}</td>
                        <td>{v.options.map((o) => `${o.option} ${o.value}`).join(", ") || "—"}</td>
                        <td>{money(v.price_cents, v.currency)}</td>
                        <td>{v.stock}</td>
                        <td>{v.held}</td>
                        <td>{v.available}</td>
                        <td>
                            <Badge value={v.is_active ? "active" : "inactive"} />
                        </td>
                        <td class="actions">
                            <a href={href(`/variants/${v.id}`)} aria-label={`Edit variant ${v.sku}`}>
                                Edit
                            </a>{" "}
                            <a href={href("/stock", { variant: v.id })} aria-label={`Ledger of ${v.sku}`}>
                                Ledger
                            </a>
                        </td>
                    </tr>
                ))}
            </tbody>
        </table>
    );
}

const variantFields = (currency: string): FieldSpec[] => [
    { key: "sku", label: "SKU", kind: "text" },
    // price_cents: null is documented as "use the product's price", so an empty field clears it.
    { key: "price_cents", label: `Own price (${currency})`, kind: "money", nullable: true, hint: "Empty: the product's price.", min: 0, max: 10_000_000_000 },
    {
        key: "stock",
        label: "Stock (units not sold)",
        kind: "number",
        hint: "The difference is written to the ledger; not below the units held.",
        min: 0,
        max: 10_000_000,
    },
    { key: "low_stock_threshold", label: "Low-stock threshold", kind: "number", min: 0, max: 1_000_000 },
    { key: "weight_g", label: "Weight (grams)", kind: "number", min: 0, max: 1_000_000 },
    { key: "is_active", label: "Active (on sale)", kind: "checkbox" },
];
const variantValues = (v: Variant) => ({
    sku: v.sku,
    price_cents: toMoney(v.price_override_cents),
    stock: String(v.stock),
    low_stock_threshold: String(v.low_stock_threshold),
    weight_g: String(v.weight_g),
    is_active: v.is_active,
});

export function VariantPage({ id }: { id: number }) {
    const variant = useLoad(() => ok("/api/v1/variants/{id}", "get", { path: { id } }), [id]);
    useTitle(variant.data ? `Variant ${variant.data.sku}` : `Variant ${id}`);
    return (
        <>
            <Show loaded={variant} what="the variant">
                {(v) => (
                    <p>
                        <a href={href(`/products/${v.product_id}`)}>← Product {v.product_id}</a> · <a href={href("/stock", { variant: v.id })}>Ledger</a>
                    </p>
                )}
            </Show>
            <h1>Variant {variant.data?.sku ?? id}</h1>
            <Show loaded={variant} what="the variant">
                {(v) => (
                    <>
                        <p class="muted">
                            {v.options.map((o) => `${o.option} ${o.value}`).join(", ")} · {v.held} held by carts · {v.available} available · price charged{" "}
                            {money(v.price_cents, v.currency)}
                        </p>
                        <VersionedForm
                            key={v.id}
                            label="Edit variant"
                            fields={variantFields(v.currency)}
                            initial={v}
                            values={variantValues}
                            save={(patch, ifMatch) => call("/api/v1/variants/{id}", "patch", { path: { id }, header: { "If-Match": ifMatch }, body: patch })}
                            reload={() => ok("/api/v1/variants/{id}", "get", { path: { id } })}
                        />
                    </>
                )}
            </Show>
        </>
    );
}
