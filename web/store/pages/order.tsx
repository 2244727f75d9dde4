// One order: its state followed live while the payment is captured in the background (polled,
// with a growing interval), paying again after a decline, cancelling an unpaid order, and the PDF
// receipt (rendered by a background job after payment, so the first tries may find none yet).
import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError, call, fetchFile, idempotencyKey, ok, saveFile, session } from "../../shared/api";
import type { Schemas } from "../../shared/api";
import { keyAfter } from "../../shared/ids";
import { href } from "../../shared/router";
import { ErrorNotice, Loading, money, when } from "../../shared/ui";
import { ActionButton, optionText, useProducts, useTitle } from "../bits";
import { PaymentChoice } from "./checkout";

type Order = Schemas["Order"];
type Payment = Schemas["PaymentStatus"];

export const statusText: Record<Order["status"], string> = {
    pending_payment: "Awaiting payment",
    paid: "Paid",
    fulfilled: "Shipped",
    cancelled: "Cancelled",
    expired: "Expired (not paid in time)",
    payment_failed: "Payment failed",
    return_requested: "Return requested",
    returned: "Returned",
};

const kPollLimitMs = 90_000;
const kReceiptTries = 12;

export function OrderPage({ id }: { id: number }) {
    useTitle(`Order #${id}`);
    if (session.value === null) {
        return (
            <>
                <h1>Order #{id}</h1>
                <p>
                    Please <a href={href("/signin", { next: `/orders/${id}` })}>sign in</a> to see your order.
                </p>
            </>
        );
    }
    return <OrderView id={id} />;
}

function OrderView({ id }: { id: number }) {
    const [order, setOrder] = useState<Order | null>(null);
    const [payment, setPayment] = useState<Payment | null>(null);
    const [error, setError] = useState<unknown>(undefined);
    const [gaveUp, setGaveUp] = useState(false);
    const started = useRef(Date.now());

    const fetchState = async () => {
        const o = await ok("/api/v1/orders/{id}", "get", { path: { id } });
        const p = await call("/api/v1/orders/{id}/payment", "get", { path: { id } });
        if (p.status === 200) setPayment(p.body);
        else if (p.status === 404) setPayment(null);
        else throw new ApiError(p.status, p.body);
        setOrder(o);
        return { o, p: p.status === 200 ? p.body : null };
    };

    // While a payment is being captured: poll, 1 s apart at first, then up to 4 s.
    const [tick, setTick] = useState(0);
    useEffect(() => {
        let live = true;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let delay = 1000;
        const step = async () => {
            try {
                const { o, p } = await fetchState();
                if (!live) return;
                setError(undefined);
                // The payment and the order are updated one after the other: keep polling while a
                // capture runs and until the order itself shows its outcome.
                const unpaid = o.status === "pending_payment" || o.status === "payment_failed";
                const settling = p !== null && unpaid && (p.status === "pending" || p.status === "captured" || o.status === "pending_payment");
                if (!settling) return;
                if (Date.now() - started.current > kPollLimitMs) {
                    setGaveUp(true);
                    return;
                }
                timer = setTimeout(step, delay);
                delay = Math.min(4000, delay * 1.5);
            } catch (e) {
                if (live) setError(e);
            }
        };
        void step();
        return () => {
            live = false;
            if (timer !== undefined) clearTimeout(timer);
        };
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [id, tick]);
    const follow = () => {
        started.current = Date.now();
        setGaveUp(false);
        setTick((t) => t + 1);
    };

    const products = useProducts(order?.items.map((i) => i.product_id) ?? []);

    if (order === null) {
        return (
            <>
                <h1>Order #{id}</h1>
                {error ? <ErrorNotice error={error} /> : <Loading what="the order" />}
            </>
        );
    }
    const unpaid = order.status === "pending_payment" || order.status === "payment_failed";
    const capturing = unpaid && payment?.status === "pending";
    // A decline is known from the payment a moment before the order shows it.
    const declined = order.status === "pending_payment" && (payment?.status === "declined" || payment?.status === "failed");
    const shown: Order["status"] = declined ? "payment_failed" : capturing ? "pending_payment" : order.status;
    const payable = unpaid && !capturing;
    const paid = order.status === "paid" || order.status === "fulfilled" || order.status === "return_requested" || order.status === "returned";
    return (
        <>
            <nav aria-label="Breadcrumb" class="breadcrumb">
                <ol>
                    <li>
                        <a href={href("/account")}>Your account</a>
                    </li>
                    <li>
                        <span aria-current="page">Order #{order.id}</span>
                    </li>
                </ol>
            </nav>
            <h1>Order #{order.id}</h1>
            <p class="muted">Placed {when(order.created_at)}</p>
            <div role="status" class="order-state">
                <p>
                    Status: <strong class={`status status-${shown}`}>{statusText[shown]}</strong>
                </p>
                {capturing && <p>Your payment is being processed…</p>}
                {unpaid && payment?.status === "captured" && <p>Payment received; confirming your order…</p>}
                {payment?.status === "declined" && order.status !== "paid" && (
                    <p class="warning-text">The payment was declined{payment.last_error ? `: ${payment.last_error}` : ""}. You can pay with another method.</p>
                )}
                {payment?.status === "failed" && order.status !== "paid" && (
                    <p class="warning-text">The payment failed{payment.last_error ? `: ${payment.last_error}` : ""}. You can try again.</p>
                )}
                {gaveUp && <p>The payment provider has not answered yet.</p>}
            </div>
            {gaveUp && (
                <button type="button" class="secondary" onClick={follow}>
                    Check the payment again
                </button>
            )}
            <ErrorNotice error={error} />
            {order.status === "pending_payment" && order.expires_at && (
                <p class="muted">Pay before {when(order.expires_at)}, or the reserved items are released.</p>
            )}
            {payable && <PayAgain order={order} onPaid={follow} />}
            {paid && <Receipt id={order.id} />}

            <section aria-labelledby="items-title">
                <h2 id="items-title">Items</h2>
                <table>
                    <thead>
                        <tr>
                            <th scope="col">Item</th>
                            <th scope="col">Quantity</th>
                            <th scope="col">Price</th>
                        </tr>
                    </thead>
                    <tbody>
                        {order.items.map((item) => {
                            const p = products.get(item.product_id);
                            const v = p?.variants?.find((x) => x.id === item.variant_id);
                            return (
                                <tr key={item.variant_id}>
                                    <td>
                                        <a href={href(`/p/${item.product_id}`)}>{p?.name ?? `Product #${item.product_id}`}</a>
                                        {v && v.options.length > 0 && <span class="muted"> · {optionText(v.options)}</span>}
                                    </td>
                                    <td>{item.quantity}</td>
                                    <td>{money(item.unit_price_cents * item.quantity, order.currency)}</td>
                                </tr>
                            );
                        })}
                    </tbody>
                </table>
                <dl class="totals-list">
                    <dt>Subtotal</dt>
                    <dd>{money(order.subtotal_cents, order.currency)}</dd>
                    {order.discount_cents > 0 && (
                        <>
                            <dt>Discount</dt>
                            <dd>−{money(order.discount_cents, order.currency)}</dd>
                        </>
                    )}
                    <dt>Shipping</dt>
                    <dd>{money(order.shipping_cents, order.currency)}</dd>
                    <dt>Tax</dt>
                    <dd>{money(order.tax_cents, order.currency)}</dd>
                    <dt class="total">Total</dt>
                    <dd class="total">{money(order.total_cents, order.currency)}</dd>
                    {order.refunded_cents > 0 && (
                        <>
                            <dt>Refunded</dt>
                            <dd>{money(order.refunded_cents, order.currency)}</dd>
                        </>
                    )}
                </dl>
            </section>
            {payable && (
                <ActionButton
                    class="danger"
                    onRun={async () => {
                        setOrder(await ok("/api/v1/orders/{id}/cancel", "post", { path: { id: order.id } }));
                    }}
                    busyText="Cancelling…"
                >
                    Cancel this order
                </ActionButton>
            )}
        </>
    );
}

function PayAgain({ order, onPaid }: { order: Order; onPaid: () => void }) {
    const [method, setMethod] = useState("tok_ok");
    const [error, setError] = useState<unknown>(undefined);
    const [busy, setBusy] = useState(false);
    // One key per payment attempt (web/shared/ids.ts): kept for a retry of a request whose answer
    // was lost, replaced after any final answer.
    const key = useRef(idempotencyKey());
    const submit = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
            await ok("/api/v1/orders/{id}/pay", "post", {
                path: { id: order.id },
                header: { "Idempotency-Key": key.current },
                body: { payment_method: method },
            });
            key.current = idempotencyKey(); // the next attempt is a new action
            onPaid();
        } catch (err) {
            key.current = keyAfter(key.current, err);
            setError(err);
        } finally {
            setBusy(false);
        }
    };
    return (
        <form class="pay" onSubmit={submit}>
            <PaymentChoice
                name="repay-method"
                value={method}
                onChange={(token) => {
                    setMethod(token);
                    key.current = idempotencyKey();
                }}
            />
            <button type="submit" disabled={busy}>
                {busy ? "Paying…" : `Pay ${money(order.total_cents, order.currency)}`}
            </button>
            <ErrorNotice error={error} />
        </form>
    );
}

// The PDF receipt: downloaded on request; "not there yet" (404/409) is retried with a growing
// pause, the state shown as it goes. Leaving the page stops it: the request in flight is aborted,
// and neither a retry nor the download starts once the component is gone.
function Receipt({ id }: { id: number }) {
    const [state, setState] = useState("");
    const [error, setError] = useState<unknown>(undefined);
    const [busy, setBusy] = useState(false);
    const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
    const live = useRef(true);
    const abort = useRef(new AbortController());
    useEffect(() => {
        live.current = true;
        return () => {
            live.current = false;
            clearTimeout(timer.current);
            abort.current.abort();
        };
    }, []);
    const attempt = async (n: number) => {
        if (!live.current) return;
        try {
            const blob = await fetchFile(`/api/v1/orders/${id}/receipt`, abort.current.signal);
            if (!live.current) return;
            saveFile(blob, `receipt-${id}.pdf`);
            setState(`Receipt downloaded (receipt-${id}.pdf).`);
            setBusy(false);
        } catch (e) {
            if (!live.current) return;
            if (e instanceof ApiError && (e.status === 404 || e.status === 409) && n < kReceiptTries) {
                const wait = Math.min(5, n); // seconds: 1, 2, 3, 4, then 5 (about 45 s in all)
                setState(`The receipt is still being prepared. Trying again in ${wait} s (attempt ${n} of ${kReceiptTries})…`);
                timer.current = setTimeout(() => void attempt(n + 1), wait * 1000);
                return;
            }
            setState(e instanceof ApiError && e.status === 404 ? "The receipt is not ready yet; please try again in a minute." : "");
            if (!(e instanceof ApiError && e.status === 404)) setError(e);
            setBusy(false);
        }
    };
    return (
        <section aria-labelledby="receipt-title" class="receipt">
            <h2 id="receipt-title">Receipt</h2>
            <button
                type="button"
                disabled={busy}
                onClick={() => {
                    setBusy(true);
                    setError(undefined);
                    setState("Fetching the receipt…");
                    void attempt(1);
                }}
            >
                Download receipt (PDF)
            </button>
            <p role="status" class="muted">
                {state}
            </p>
            <ErrorNotice error={error} />
        </section>
    );
}
