// Stock: the inventory audit (does every variant's ledger sum to its stock, every product's stock
// to its variants', every hold to a cart?) and one variant's ledger, newest first.
import { useState } from "preact/hooks";

import { ok } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { Show, useLoad, when } from "../shared/ui";
import { Badge, Facts, Pager, usePager, useTitle } from "./bits";

export function StockPage() {
    useTitle("Stock");
    const variant = Number(route.value.query.get("variant") ?? "") || undefined;
    const [text, setText] = useState(variant ? String(variant) : "");
    return (
        <>
            <h1>Stock</h1>
            <Audit />
            <section aria-labelledby="ledger-title">
                <h2 id="ledger-title">Ledger of a variant</h2>
                <form
                    class="row filters"
                    onSubmit={(e) => {
                        e.preventDefault();
                        navigate("/stock", { variant: text.trim() });
                    }}
                >
                    <div class="field">
                        <label for="ledger-variant">Variant ID</label>
                        <input id="ledger-variant" inputMode="numeric" value={text} onInput={(e) => setText(e.currentTarget.value)} />
                    </div>
                    <button type="submit">Show ledger</button>
                </form>
                {variant ? <Ledger id={variant} /> : <p class="muted">Enter a variant ID, or open a product's variants and follow “Ledger”.</p>}
            </section>
        </>
    );
}

function Audit() {
    const audit = useLoad(() => ok("/api/v1/admin/inventory/audit", "get", {}), []);
    return (
        <section aria-labelledby="audit-title">
            <h2 id="audit-title">Inventory audit</h2>
            <div class="row">
                <button type="button" class="secondary" onClick={audit.reload} disabled={audit.loading}>
                    Run the audit again
                </button>
            </div>
            <div aria-live="polite">
                <Show loaded={audit} what="the audit">
                    {(a) => (
                        <>
                            <p class={a.clean ? "notice" : "error"}>
                                {a.clean ? "Clean: every variant's ledger, product total and cart hold matches." : `${a.mismatches.length} mismatch(es) found.`} Checked{" "}
                                {when(a.checked_at)}.
                            </p>
                            {a.mismatches.length > 0 && (
                                <table tabIndex={0}>
                                    <caption class="visually-hidden">Audit mismatches</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">Kind</th>
                                            <th scope="col">ID</th>
                                            <th scope="col">Stock</th>
                                            <th scope="col">Expected</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {a.mismatches.map((m) => (
                                            <tr key={`${m.kind}-${m.id}`}>
                                                <td>{m.kind.replace(/_/g, " ")}</td>
                                                <td>
                                                    {m.kind === "product_in_stock" ? (
                                                        <a href={href(`/products/${m.id}`)}>Product {m.id}</a>
                                                    ) : (
                                                        <a href={href("/stock", { variant: m.id })}>Variant {m.id}</a>
                                                    )}
                                                </td>
                                                <td>{m.stock}</td>
                                                <td>{m.expected}</td>
                                            </tr>
                                        ))}
                                    </tbody>
                                </table>
                            )}
                        </>
                    )}
                </Show>
            </div>
        </section>
    );
}

function Ledger({ id }: { id: number }) {
    const pager = usePager([id]);
    const ledger = useLoad(() => ok("/api/v1/admin/variants/{id}/ledger", "get", { path: { id }, query: { cursor: pager.cursor, limit: 50 } }), [id, pager.cursor]);
    return (
        <Show loaded={ledger} what="the ledger">
            {(l) => (
                <>
                    <Facts
                        items={[
                            ["Variant", <a href={href(`/variants/${l.variant_id}`)}>{l.sku}</a>],
                            ["Product", <a href={href(`/products/${l.product_id}`)}>{l.product_id}</a>],
                            ["Stock", l.stock],
                            ["Held by carts", l.held],
                            ["Ledger sum", l.ledger_sum],
                            ["Balanced", <Badge value={l.stock === l.ledger_sum ? "balanced" : "mismatch"} />],
                        ]}
                    />
                    <table tabIndex={0}>
                        <caption class="visually-hidden">Ledger rows, newest first</caption>
                        <thead>
                            <tr>
                                <th scope="col">When</th>
                                <th scope="col">Change</th>
                                <th scope="col">Reason</th>
                                <th scope="col">Order</th>
                                <th scope="col">Note</th>
                            </tr>
                        </thead>
                        <tbody>
                            {l.items.map((row) => (
                                <tr key={row.id}>
                                    <td>{when(row.created_at)}</td>
                                    <td class={row.delta < 0 ? "minus" : "plus"}>{row.delta > 0 ? `+${row.delta}` : row.delta}</td>
                                    <td>{row.reason}</td>
                                    <td>{row.order_id === null ? "—" : <a href={href(`/orders/${row.order_id}`)}>#{row.order_id}</a>}</td>
                                    <td>{row.note ?? ""}</td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                    {l.items.length === 0 && <p>No ledger rows.</p>}
                    <Pager pager={pager} nextCursor={l.next_cursor} label="Ledger" />
                </>
            )}
        </Show>
    );
}
