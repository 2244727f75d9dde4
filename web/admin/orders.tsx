// Orders: every customer's orders (filter by status and e-mail), and one order with its fulfilment,
// refunds (by lines or amount; they run in the background, so their state is polled and announced)
// and returns (receive).
import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError, ok, idempotencyKey } from "../shared/api";
import { keepsKey } from "../shared/ids";
import type { Schemas } from "../shared/api";
import { parseInteger, parseMoney } from "../shared/parse";
import { href, navigate, route } from "../shared/router";
import { ErrorNotice, Field, money, Show, useLoad, when } from "../shared/ui";
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
    // The last order shown stays when a reload fails (the refund form keeps what was typed); the
    // error is shown above it.
    const [order, setOrder] = useState<Order | undefined>(undefined);
    useEffect(() => {
        if (loaded.data !== undefined) setOrder(loaded.data);
    }, [loaded.data]);
    const current = order?.id === id ? order : undefined;
    return (
        <>
            <p>
                <a href="#/orders">← Orders</a>
            </p>
            <h1>Order #{id}</h1>
            {current === undefined ? (
                <Show loaded={loaded} what="the order">
                    {() => null}
                </Show>
            ) : (
                <>
                    {loaded.error !== undefined && (
                        <div class="row">
                            <ErrorNotice error={loaded.error} />
                            <button type="button" class="secondary" onClick={loaded.reload}>
                                Reload the order
                            </button>
                        </div>
                    )}
                    <OrderDetail order={current} onChange={setOrder} reload={loaded.reload} />
                </>
            )}
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
    // The fulfilment's outcome: one live region, there from the first render (a region inserted
    // together with its text is often not announced); focus moves to it, since the button goes away.
    const fulfilStatus = useRef<HTMLParagraphElement>(null);
    useEffect(() => {
        if (fulfil.message) fulfilStatus.current?.focus();
    }, [fulfil.message]);
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
                </div>
            )}
            <p role="status" class="status" tabIndex={-1} ref={fulfilStatus}>
                {fulfil.message}
            </p>
            <ErrorNotice error={fulfil.error} />

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

// How the refunds are polled while one is pending: every 1.5 s for the first 15 s, then every 5 s,
// then every 15 s; after 3 minutes the page stops and says so (the worker may be down).
const kRefundPollMs = 3 * 60_000;
function refundPollDelay(elapsedMs: number): number {
    return elapsedMs < 15_000 ? 1500 : elapsedMs < 60_000 ? 5000 : 15_000;
}

// The order's refunds, polled while one is pending (the worker calls the provider); when one
// settles, the order is reloaded (its refunded total changed).
function useRefunds(orderId: number, reloadOrder: () => void) {
    const loaded = useLoad(() => ok("/api/v1/orders/{id}/refunds", "get", { path: { id: orderId } }), [orderId]);
    const [items, setItems] = useState<Refund[] | undefined>(undefined);
    const [news, setNews] = useState("");
    const [gaveUp, setGaveUp] = useState(false);
    const pollSince = useRef<number | null>(null); // when the current wait for a pending refund began
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
    // One timer at a time: each answer (or failure) schedules the next look; cleared on unmount.
    useEffect(() => {
        if (!pending || gaveUp) {
            if (!pending) pollSince.current = null;
            return;
        }
        if (pollSince.current === null) pollSince.current = Date.now();
        const elapsed = Date.now() - pollSince.current;
        if (elapsed >= kRefundPollMs) {
            setGaveUp(true);
            setNews("A refund is still pending after 3 minutes; the worker may be down. Use “Check refunds again” to look once more.");
            return;
        }
        const timer = setTimeout(loaded.reload, refundPollDelay(elapsed));
        return () => clearTimeout(timer);
    }, [pending, gaveUp, loaded.data, loaded.error, loaded.reload]);
    const restart = () => {
        pollSince.current = Date.now();
        setGaveUp(false);
        loaded.reload();
    };
    return {
        items,
        error: loaded.error,
        news,
        gaveUp,
        restart,
        reload: loaded.reload,
        add(r: Refund) {
            pollSince.current = Date.now();
            setGaveUp(false);
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
            {refunds.gaveUp && (
                <button type="button" class="secondary" onClick={refunds.restart}>
                    Check refunds again
                </button>
            )}
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
    const [invalid, setInvalid] = useState<Record<string, string>>({}); // field id → the browser's own error
    const action = useAction();
    // One Idempotency-Key per user action: a retry of the same refund (same body) after no answer, a
    // 5xx or "still in progress" reuses it, so a lost answer cannot refund twice; after any final
    // answer the key is dropped and the next attempt gets a fresh one.
    const key = useRef<{ body: string; key: string } | null>(null);
    const serverFields = action.error instanceof ApiError ? action.error.fields() : {};

    async function refund(body: Schemas["NewRefund"]) {
        const text = JSON.stringify(body);
        if (key.current?.body !== text) key.current = { body: text, key: idempotencyKey() };
        let created: Refund;
        try {
            created = await ok("/api/v1/orders/{id}/refunds", "post", {
                path: { id: order.id },
                header: { "Idempotency-Key": key.current.key },
                body,
            });
        } catch (e) {
            if (!keepsKey(e)) key.current = null;
            throw e;
        }
        key.current = null;
        setQuantities({});
        setAmount("");
        onCreated(created);
        return `Refund #${created.id} requested (${money(created.amount_cents, created.currency)}), ${created.status}.`;
    }

    function showInvalid(errors: Record<string, string>): boolean {
        setInvalid(errors);
        const first = Object.keys(errors)[0];
        if (first === undefined) return false;
        document.getElementById(first)?.focus();
        return true;
    }

    function refundLines() {
        const errors: Record<string, string> = {};
        const lines: { variant_id: number; quantity: number }[] = [];
        for (const i of order.items) {
            const parsed = parseInteger(quantities[i.variant_id] ?? "", { min: 0, max: i.quantity, empty: { value: 0 } });
            if (!parsed.ok) errors[`refund-${i.variant_id}`] = parsed.error;
            else if (parsed.value > 0) lines.push({ variant_id: i.variant_id, quantity: parsed.value });
        }
        const firstItem = order.items[0];
        if (Object.keys(errors).length === 0 && lines.length === 0 && firstItem !== undefined) {
            errors[`refund-${firstItem.variant_id}`] = "Enter how many units of at least one line to refund.";
        }
        if (showInvalid(errors)) return;
        void action.run(() => refund({ lines, reason }));
    }

    function refundAmount() {
        const parsed = parseMoney(amount, { min: 1 });
        if (!parsed.ok) {
            showInvalid({ "f-refund-amount": parsed.error });
            return;
        }
        showInvalid({});
        void action.run(() => refund({ amount_cents: parsed.value, reason }));
    }

    const edited = (id: string) => {
        if (invalid[id] === undefined) return;
        setInvalid((old) => {
            const next = { ...old };
            delete next[id];
            return next;
        });
    };
    return (
        <form class="refund" aria-label="Refund" noValidate onSubmit={(e) => e.preventDefault()}>
            <fieldset>
                <legend>By lines</legend>
                {order.items.map((i) => {
                    const id = `refund-${i.variant_id}`;
                    const err = invalid[id];
                    return (
                        <div class="field inline" key={i.variant_id}>
                            <label for={id}>Units of {label(i.variant_id)} to refund</label>
                            <input
                                id={id}
                                type="text"
                                inputMode="numeric"
                                value={quantities[i.variant_id] ?? ""}
                                placeholder="0"
                                aria-invalid={err ? "true" : undefined}
                                aria-describedby={err ? `${id}-error` : `${id}-of`}
                                onInput={(e) => {
                                    setQuantities({ ...quantities, [i.variant_id]: e.currentTarget.value });
                                    edited(id);
                                }}
                            />
                            <span class="muted" id={`${id}-of`}>
                                of {i.quantity}
                            </span>
                            {err && (
                                <span class="field-error" id={`${id}-error`}>
                                    {err}
                                </span>
                            )}
                        </div>
                    );
                })}
                <button type="button" disabled={action.busy} onClick={refundLines}>
                    Refund selected lines
                </button>
            </fieldset>
            <fieldset>
                <legend>By amount</legend>
                <Field
                    label={`Amount (${order.currency})`}
                    name="refund-amount"
                    inputMode="decimal"
                    value={amount}
                    onInput={(e) => {
                        setAmount(e.currentTarget.value);
                        edited("f-refund-amount");
                    }}
                    error={invalid["f-refund-amount"] ?? serverFields.amount_cents}
                />
                <button type="button" disabled={action.busy || amount.trim() === ""} onClick={refundAmount}>
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
