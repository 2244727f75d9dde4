// Orders: every customer's orders (filter by status and e-mail), and one order with its fulfilment,
// refunds (by lines or amount; they run in the background, so their state is polled and announced)
// and returns (receive).
import { useEffect, useRef, useState } from "preact/hooks";

import { ok, idempotencyKey } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { ErrorNotice, money, Show, useLoad, when } from "../shared/ui";
import { Badge, Facts, Outcome, Pager, useAction, usePager, useTitle } from "./bits";

type Order = Schemas["Order"];
type Refund = Schemas["Refund"];

const statuses = ["pending_payment", "paid", "fulfilled", "cancelled", "expired", "payment_failed", "return_requested", "returned"];

export function OrdersPage() {
    useTitle("Orders");
    const status = route.value.query.get("status") ?? "";
    const email = route.value.query.get("email") ?? "";
    const [form, setForm] = useState({ status, email });
    const pager = usePager([status, email]);
    const list = useLoad(
        () => ok("/api/v1/admin/orders", "get", {
                query: { status: (status || undefined) as Order["status"] | undefined, email: email || undefined, cursor: pager.cursor, limit: 25 },
            }),
        [status, email, pager.cursor],
    );
    return (
        <>
            <h1>Orders</h1>
            <form
                class="row filters"
                role="search"
                aria-label="Orders"
                onSubmit={(e) => {
                    e.preventDefault();
                    navigate("/orders", { status: form.status, email: form.email.trim() });
                }}
            >
                <div class="field">
                    <label for="order-status">Status</label>
                    <select id="order-status" value={form.status} onChange={(e) => setForm({ ...form, status: e.currentTarget.value })}>
                        <option value="">Any</option>
                        {statuses.map((s) => (
                            <option key={s} value={s}>
                                {s.replace(/_/g, " ")}
                            </option>
                        ))}
                    </select>
                </div>
                <div class="field">
                    <label for="order-email">Customer e-mail contains</label>
                    <input id="order-email" type="search" value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
                </div>
                <button type="submit">Filter</button>
            </form>
            <Show loaded={list} what="orders">
                {(page) => (
                    <>
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Orders, newest first</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Order</th>
                                    <th scope="col">Placed</th>
                                    <th scope="col">Customer</th>
                                    <th scope="col">Status</th>
                                    <th scope="col">Total</th>
                                    <th scope="col">Refunded</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.map((o) => (
                                    <tr key={o.id}>
                                        <td>
                                            <a href={href(`/orders/${o.id}`)}>Order #{o.id}</a>
                                        </td>
                                        <td>{when(o.created_at)}</td>
                                        <td>user {o.user_id}</td>
                                        <td>
                                            <Badge value={o.status} />
                                        </td>
                                        <td>{money(o.total_cents, o.currency)}</td>
                                        <td>{o.refunded_cents ? money(o.refunded_cents, o.currency) : "—"}</td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        {page.items.length === 0 && <p>No orders match.</p>}
                        <Pager pager={pager} nextCursor={page.next_cursor} label="Orders" />
                    </>
                )}
            </Show>
            <Flagged />
        </>
    );
}

// Payments captured that must go back (a second charge, or a cancelled/expired order).
function Flagged() {
    const flagged = useLoad(() => ok("/api/v1/admin/payments/flagged", "get", { query: { limit: 20 } }), []);
    return (
        <section aria-labelledby="flagged-title">
            <h2 id="flagged-title">Flagged payments</h2>
            <Show loaded={flagged} what="flagged payments">
                {(page) =>
                    page.items.length === 0 ? (
                        <p class="muted">None.</p>
                    ) : (
                        <ul>
                            {page.items.map((p) => (
                                <li key={p.id}>
                                    Payment {p.id} of <a href={href(`/orders/${p.order_id}`)}>order #{p.order_id}</a>: {money(p.amount_cents, p.currency)},{" "}
                                    {p.flag_reason?.replace(/_/g, " ")} ({when(p.flagged_at)})
                                </li>
                            ))}
                        </ul>
                    )
                }
            </Show>
        </section>
    );
}

export function OrderPage({ id }: { id: number }) {
    useTitle(`Order #${id}`);
    const loaded = useLoad(() => ok("/api/v1/orders/{id}", "get", { path: { id } }), [id]);
    const [order, setOrder] = useState<Order | undefined>(undefined);
    useEffect(() => setOrder(loaded.data), [loaded.data]);
    return (
        <>
            <p>
                <a href="#/orders">← Orders</a>
            </p>
            <h1>Order #{id}</h1>
            {order === undefined ? <Show loaded={loaded} what="the order">{() => null}</Show> : <OrderDetail order={order} onChange={setOrder} reload={loaded.reload} />}
        </>
    );
}

function OrderDetail({ order, onChange, reload }: { order: Order; onChange: (o: Order) => void; reload: () => void }) {
    const customer = useLoad(() => ok("/api/v1/auth/users/{id}", "get", { path: { id: order.user_id } }), [order.user_id]);
    // The SKUs and names of the order's variants, from their products (display only).
    const names = useLoad(async () => {
        const ids = [...new Set(order.items.map((i) => i.product_id))];
        const products = await Promise.all(ids.map((pid) => ok("/api/v1/products/{id}", "get", { path: { id: pid } }).catch(() => null)));
        const out = new Map<number, string>();
        for (const p of products) for (const v of p?.variants ?? []) out.set(v.id, `${p?.name} (${v.sku})`);
        return out;
    }, [order.id]);
    const fulfil = useAction();
    const refunds = useRefunds(order.id, reload);
    const c = order.currency;
    const canRefund = order.paid_payment_id !== null && order.refunded_cents < order.total_cents;
    const label = (variantId: number) => names.data?.get(variantId) ?? `variant ${variantId}`;

    return (
        <>
            <Facts
                items={[
                    ["Status", <Badge value={order.status} />],
                    ["Customer", customer.data ? `${customer.data.name} <${customer.data.email}>` : `user ${order.user_id}`],
                    ["Placed", when(order.created_at)],
                    ["Fulfilled", order.fulfilled_at ? when(order.fulfilled_at) : "—"],
                    ["Total", money(order.total_cents, c)],
                    ["Subtotal", money(order.subtotal_cents, c)],
                    ["Discount", money(order.discount_cents, c)],
                    ["Shipping", money(order.shipping_cents, c)],
                    ["Tax", money(order.tax_cents, c)],
                    ["Refunded", money(order.refunded_cents, c)],
                    ["Ship to", addressText(order.shipping_address, order.country)],
                ]}
            />
            {order.status === "paid" && (
                <div class="row">
                    <button
                        type="button"
                        disabled={fulfil.busy}
                        onClick={() =>
                            fulfil.run(async () => {
                                onChange(await ok("/api/v1/orders/{id}/fulfil", "post", { path: { id: order.id } }));
                                return "Order fulfilled.";
                            })
                        }
                    >
                        Mark as fulfilled
                    </button>
                    <Outcome action={fulfil} />
                </div>
            )}
            {order.status !== "paid" && fulfil.message && <p role="status" class="notice">{fulfil.message}</p>}

            <h2>Items</h2>
            <table tabIndex={0}>
                <caption class="visually-hidden">Order items</caption>
                <thead>
                    <tr>
                        <th scope="col">Item</th>
                        <th scope="col">Quantity</th>
                        <th scope="col">Unit price</th>
                        <th scope="col">Discount</th>
                        <th scope="col">Tax</th>
                    </tr>
                </thead>
                <tbody>
                    {order.items.map((i) => (
                        <tr key={i.variant_id}>
                            <td>
                                <a href={href(`/products/${i.product_id}`)}>{label(i.variant_id)}</a>
                            </td>
                            <td>{i.quantity}</td>
                            <td>{money(i.unit_price_cents, c)}</td>
                            <td>{money(i.discount_cents, c)}</td>
                            <td>{money(i.tax_cents, c)}</td>
                        </tr>
                    ))}
                </tbody>
            </table>

            <h2>Refunds</h2>
            {canRefund ? <RefundForm order={order} label={label} onCreated={refunds.add} /> : <p class="muted">Nothing can be refunded: no captured payment left.</p>}
            <RefundTable refunds={refunds} currency={c} label={label} />

            <Returns order={order} reload={() => { reload(); refunds.reload(); }} label={label} />
        </>
    );
}

function addressText(address: unknown, country: string | null): string {
    const parts = typeof address === "object" && address !== null ? Object.values(address).filter((v) => typeof v === "string" || typeof v === "number") : [];
    return [...parts.map(String), country ?? ""].filter(Boolean).join(", ") || "—";
}

// The order's refunds, polled every 1.5 s while one is pending (the worker calls the provider);
// when one settles, the order is reloaded (its refunded total changed).
function useRefunds(orderId: number, reloadOrder: () => void) {
    const loaded = useLoad(() => ok("/api/v1/orders/{id}/refunds", "get", { path: { id: orderId } }), [orderId]);
    const [items, setItems] = useState<Refund[] | undefined>(undefined);
    const [news, setNews] = useState("");
    const previous = useRef(new Map<number, string>());
    useEffect(() => {
        if (loaded.data === undefined) return;
        const before = previous.current;
        for (const r of loaded.data.items) {
            const was = before.get(r.id);
            if (was !== undefined && was !== r.status) {
                setNews(`Refund #${r.id} ${r.status}.`);
                if (r.status === "succeeded") reloadOrder();
            }
        }
        previous.current = new Map(loaded.data.items.map((r) => [r.id, r.status]));
        setItems(loaded.data.items);
    }, [loaded.data]); // eslint-disable-line react-hooks/exhaustive-deps
    const pending = items?.some((r) => r.status === "pending") ?? false;
    useEffect(() => {
        if (!pending) return;
        const timer = setInterval(loaded.reload, 1500);
        return () => clearInterval(timer);
    }, [pending, loaded.reload]);
    return {
        items,
        error: loaded.error,
        news,
        reload: loaded.reload,
        add(r: Refund) {
            previous.current.set(r.id, r.status);
            setItems((old) => [r, ...(old ?? []).filter((x) => x.id !== r.id)]);
            setNews(`Refund #${r.id} ${r.status}: the payment provider is being called.`);
            loaded.reload();
        },
    };
}

function RefundTable({ refunds, currency, label }: { refunds: ReturnType<typeof useRefunds>; currency: string; label: (v: number) => string }) {
    return (
        <>
            <p role="status" class="status">
                {refunds.news}
            </p>
            <ErrorNotice error={refunds.error} />
            {refunds.items !== undefined && refunds.items.length === 0 && <p class="muted">No refunds yet.</p>}
            {refunds.items !== undefined && refunds.items.length > 0 && (
                <table tabIndex={0}>
                    <caption class="visually-hidden">Refunds of this order</caption>
                    <thead>
                        <tr>
                            <th scope="col">Refund</th>
                            <th scope="col">Amount</th>
                            <th scope="col">Lines</th>
                            <th scope="col">State</th>
                            <th scope="col">Created</th>
                            <th scope="col">Reason</th>
                        </tr>
                    </thead>
                    <tbody>
                        {refunds.items.map((r) => (
                            <tr key={r.id} data-refund={r.id}>
                                <td>#{r.id}</td>
                                <td>{money(r.amount_cents, currency)}</td>
                                <td>{r.lines.length === 0 ? "by amount" : r.lines.map((l) => `${l.quantity} × ${label(l.variant_id)}`).join("; ")}</td>
                                <td>
                                    <Badge value={r.status} />
                                    {r.last_error && <span class="muted"> {r.last_error}</span>}
                                </td>
                                <td>{when(r.created_at)}</td>
                                <td>{r.reason || "—"}</td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
        </>
    );
}

function RefundForm({ order, label, onCreated }: { order: Order; label: (v: number) => string; onCreated: (r: Refund) => void }) {
    const [quantities, setQuantities] = useState<Record<number, string>>({});
    const [amount, setAmount] = useState("");
    const [reason, setReason] = useState("");
    const action = useAction();
    // A retry of the same refund (same body) reuses its Idempotency-Key, so a lost answer cannot
    // refund twice; a different refund gets a fresh key.
    const key = useRef<{ body: string; key: string } | null>(null);

    async function refund(body: Schemas["NewRefund"]) {
        const text = JSON.stringify(body);
        if (key.current?.body !== text) key.current = { body: text, key: idempotencyKey() };
        const created = await ok("/api/v1/orders/{id}/refunds", "post", {
            path: { id: order.id },
            header: { "Idempotency-Key": key.current.key },
            body,
        });
        key.current = null;
        setQuantities({});
        setAmount("");
        onCreated(created);
        return `Refund #${created.id} requested (${money(created.amount_cents, created.currency)}), ${created.status}.`;
    }

    const lines = order.items
        .map((i) => ({ variant_id: i.variant_id, quantity: Number(quantities[i.variant_id] ?? "0") }))
        .filter((l) => l.quantity > 0);
    return (
        <form class="refund" aria-label="Refund" onSubmit={(e) => e.preventDefault()}>
            <fieldset>
                <legend>By lines</legend>
                {order.items.map((i) => (
                    <div class="field inline" key={i.variant_id}>
                        <label for={`refund-${i.variant_id}`}>Units of {label(i.variant_id)} to refund</label>
                        <input
                            id={`refund-${i.variant_id}`}
                            type="number"
                            min={0}
                            max={i.quantity}
                            value={quantities[i.variant_id] ?? ""}
                            placeholder="0"
                            onInput={(e) => setQuantities({ ...quantities, [i.variant_id]: e.currentTarget.value })}
                        />
                        <span class="muted">of {i.quantity}</span>
                    </div>
                ))}
                <button type="button" disabled={action.busy || lines.length === 0} onClick={() => action.run(() => refund({ lines, reason }))}>
                    Refund selected lines
                </button>
            </fieldset>
            <fieldset>
                <legend>By amount</legend>
                <div class="field">
                    <label for="refund-amount">Amount ({order.currency})</label>
                    <input id="refund-amount" inputMode="decimal" value={amount} onInput={(e) => setAmount(e.currentTarget.value)} />
                </div>
                <button
                    type="button"
                    disabled={action.busy || amount.trim() === ""}
                    onClick={() => action.run(() => refund({ amount_cents: Math.round(Number(amount.replace(",", ".")) * 100), reason }))}
                >
                    Refund amount
                </button>
            </fieldset>
            <div class="field">
                <label for="refund-reason">Reason (optional)</label>
                <input id="refund-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            </div>
            <Outcome action={action} />
        </form>
    );
}

function Returns({ order, reload, label }: { order: Order; reload: () => void; label: (v: number) => string }) {
    const returns = useLoad(() => ok("/api/v1/orders/{id}/returns", "get", { path: { id: order.id } }), [order.id, order.status]);
    const action = useAction();
    return (
        <section aria-labelledby="returns-title">
            <h2 id="returns-title">Returns</h2>
            <Show loaded={returns} what="returns">
                {(list) =>
                    list.items.length === 0 ? (
                        <p class="muted">No returns requested.</p>
                    ) : (
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Returns of this order</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Return</th>
                                    <th scope="col">Units</th>
                                    <th scope="col">Reason</th>
                                    <th scope="col">State</th>
                                    <th scope="col">Action</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.items.map((r) => (
                                    <tr key={r.id}>
                                        <td>#{r.id}</td>
                                        <td>{r.lines.map((l) => `${l.quantity} × ${label(l.variant_id)}`).join("; ")}</td>
                                        <td>{r.reason || "—"}</td>
                                        <td>
                                            <Badge value={r.status} />
                                            {r.refund_id !== null && <span class="muted"> refund #{r.refund_id}</span>}
                                        </td>
                                        <td>
                                            {r.status === "requested" ? (
                                                <button
                                                    type="button"
                                                    disabled={action.busy}
                                                    onClick={() =>
                                                        action.run(async () => {
                                                            await ok("/api/v1/admin/returns/{id}/receive", "post", { path: { id: r.id } });
                                                            returns.reload();
                                                            reload();
                                                            return `Return #${r.id} received; its units are back on sale and refunded.`;
                                                        })
                                                    }
                                                >
                                                    Receive return #{r.id}
                                                </button>
                                            ) : (
                                                when(r.received_at)
                                            )}
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    )
                }
            </Show>
            <Outcome action={action} />
        </section>
    );
}
