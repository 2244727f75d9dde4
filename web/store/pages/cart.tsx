// The cart: lines with quantities, each line's hold counting down, promotion codes and totals.
// Loading it renews the holds (the server counts that as activity). What the actions did (and a
// hold that lapsed) is said in one status region, there from the page's first render.
import { useEffect, useRef, useState } from "preact/hooks";

import { session } from "../../shared/api";
import { href } from "../../shared/router";
import { ErrorNotice, Loading, money } from "../../shared/ui";
import { ActionButton, HoldCountdown, holdLapsed, optionText, useProducts, useTitle } from "../bits";
import type { Schemas } from "../../shared/api";
import { addCode, cart, loadCart, removeCode, removeLine, setQuantity } from "../state";
import type { Cart, CartLine } from "../state";

export function CartPage() {
    useTitle("Your cart");
    const [loaded, setLoaded] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const [status, setStatus] = useState("");
    // The same message twice is still a change (a trailing no-break space), so it is said again.
    const announce = (text: string) => setStatus((old) => (old === text ? `${text}\u00a0` : text));
    const heading = useRef<HTMLHeadingElement>(null);
    // After a line was removed (its buttons are gone with it): the index it had, so that focus
    // moves to the line now there (or the last one, or the heading) rather than to the page.
    const removedAt = useRef<number | null>(null);
    const reload = async () => {
        setError(undefined);
        try {
            await loadCart();
        } catch (e) {
            setError(e);
        } finally {
            setLoaded(true);
        }
    };
    useEffect(() => {
        void reload();
    }, [session.value?.user.id]);

    const c = cart.value;
    useEffect(() => {
        const at = removedAt.current;
        if (at === null) return;
        removedAt.current = null;
        const names = document.querySelectorAll<HTMLElement>(".cart-lines .cart-line-name a");
        (names[Math.min(at, names.length - 1)] ?? heading.current)?.focus();
    }, [c]);
    return (
        <>
            <h1 ref={heading} tabIndex={-1}>
                Your cart
            </h1>
            <div role="status" class="cart-status">
                {status}
            </div>
            <ErrorNotice error={error} />
            {!loaded && <Loading what="your cart" />}
            {loaded && (c === null || c.lines.length === 0) && (
                <p>
                    Your cart is empty. <a href={href("/")}>Continue shopping</a>
                </p>
            )}
            {c !== null && c.lines.length > 0 && (
                <CartContents
                    cart={c}
                    onStatus={announce}
                    onRenew={reload}
                    onRemoving={(index) => {
                        removedAt.current = index;
                    }}
                />
            )}
        </>
    );
}

function CartContents({
    cart: c,
    onStatus,
    onRenew,
    onRemoving,
}: {
    cart: Cart;
    onStatus: (s: string) => void;
    onRenew: () => Promise<void>;
    onRemoving: (index: number | null) => void;
}) {
    // Cart lines carry the SKU only: the products tell each variant's options ("Size 38").
    const products = useProducts(c.lines.map((l) => l.product_id));
    return (
        <>
            <ul class="cart-lines" aria-label="Items in your cart">
                {c.lines.map((line, index) => (
                    <Line
                        key={line.variant_id}
                        line={line}
                        product={products.get(line.product_id)}
                        onStatus={onStatus}
                        onRemoving={(removing) => onRemoving(removing ? index : null)}
                    />
                ))}
            </ul>
            <Lapsed cart={c} onRenew={onRenew} onStatus={onStatus} />
            <div class="cart-bottom">
                <Codes cart={c} onStatus={onStatus} />
                <Totals cart={c} />
            </div>
            <p class="row">
                <a class="button" href={href("/checkout")}>
                    Go to checkout
                </a>
                <a href={href("/")}>Continue shopping</a>
            </p>
        </>
    );
}

// Once any hold lapsed (checked every second, in this component only): offer to hold them again,
// and say so once in the status region.
function Lapsed({ cart: c, onRenew, onStatus }: { cart: Cart; onRenew: () => Promise<void>; onStatus: (s: string) => void }) {
    const lapsed = c.lines.some(holdLapsed);
    const told = useRef(false);
    useEffect(() => {
        if (lapsed && !told.current) onStatus("The hold on some of your items ran out: they are no longer reserved for you.");
        told.current = lapsed;
    }, [lapsed]);
    if (!lapsed) return null;
    return (
        <div class="warning">
            <p>Some holds lapsed. Refresh the cart to hold the units again while they are still in stock.</p>
            <ActionButton class="secondary" onRun={onRenew} busyText="Refreshing…">
                Hold my items again
            </ActionButton>
        </div>
    );
}

function Line({
    line,
    product,
    onStatus,
    onRemoving,
}: {
    line: CartLine;
    product?: Schemas["Product"];
    onStatus: (s: string) => void;
    onRemoving: (removing: boolean) => void;
}) {
    const options = product?.variants?.find((v) => v.id === line.variant_id)?.options ?? [];
    const [quantity, setQty] = useState(String(line.quantity));
    useEffect(() => setQty(String(line.quantity)), [line.quantity]);
    const qtyId = `qty-${line.variant_id}`;
    const update = async () => {
        const n = Number(quantity);
        if (!Number.isInteger(n) || n < 1 || n > 100) throw new Error("Enter a quantity from 1 to 100.");
        await setQuantity(line.variant_id, n);
        onStatus(`${line.name}: quantity set to ${n}.`);
    };
    return (
        <li class="cart-line">
            <div class="cart-line-main">
                <h2 class="cart-line-name">
                    <a href={href(`/p/${line.product_id}`)}>{line.name}</a>
                </h2>
                <p class="muted">
                    {options.length > 0 && `${optionText(options)} · `}SKU {line.sku}
                </p>
                <p>
                    <HoldCountdown line={line} />
                </p>
                {line.price_changed && (
                    <p class="warning-text">
                        The price changed from {money(line.quoted_price_cents, line.currency)} to {money(line.unit_price_cents, line.currency)}. Update
                        the quantity to accept it.
                    </p>
                )}
                {line.unavailable && <p class="warning-text">This item is no longer available; remove it to check out.</p>}
            </div>
            <form
                class="cart-line-qty"
                onSubmit={(e) => {
                    e.preventDefault();
                }}
            >
                <div class="field">
                    <label for={qtyId}>Quantity of {line.name}</label>
                    <input id={qtyId} type="number" min={1} max={100} value={quantity} onInput={(e) => setQty(e.currentTarget.value)} />
                </div>
                <ActionButton class="secondary" onRun={update} busyText="Updating…">
                    Update<span class="visually-hidden"> quantity of {line.name}</span>
                </ActionButton>
                <ActionButton
                    class="secondary"
                    onRun={async () => {
                        onRemoving(true);
                        try {
                            await removeLine(line.variant_id);
                        } catch (e) {
                            onRemoving(false);
                            throw e;
                        }
                        onStatus(`${line.name} removed from your cart.`);
                    }}
                    busyText="Removing…"
                >
                    Remove<span class="visually-hidden"> {line.name}</span>
                </ActionButton>
            </form>
            <p class="cart-line-price">
                <span class="muted">
                    {line.quantity} × {money(line.unit_price_cents, line.currency)}
                </span>
                <strong>{money(line.line_total_cents, line.currency)}</strong>
                {line.discount_cents > 0 && <span class="ok-text">−{money(line.discount_cents, line.currency)}</span>}
            </p>
        </li>
    );
}

const reasons: Record<string, string> = {
    unknown_code: "unknown code",
    inactive: "not active",
    not_started: "not started yet",
    ended: "ended",
    minimum_not_met: "the order minimum is not met",
    no_matching_lines: "no item in the cart qualifies",
    not_first_order: "only for a first order",
    usage_limit_reached: "used up",
    customer_limit_reached: "you already used it",
    not_combinable: "cannot be combined with another code",
    other_currency: "other currency",
};

function Codes({ cart: c, onStatus }: { cart: Cart; onStatus: (s: string) => void }) {
    const [code, setCode] = useState("");
    const [error, setError] = useState<unknown>(undefined);
    const submit = async (e: Event) => {
        e.preventDefault();
        setError(undefined);
        try {
            await addCode(code.trim());
            onStatus(`Code ${code.trim()} entered.`);
            setCode("");
        } catch (err) {
            setError(err);
        }
    };
    return (
        <section class="codes" aria-labelledby="codes-title">
            <h2 id="codes-title">Promotion code</h2>
            <form onSubmit={submit} class="row">
                <div class="field">
                    <label for="promo-code">Code</label>
                    <input id="promo-code" value={code} onInput={(e) => setCode(e.currentTarget.value)} autocomplete="off" />
                </div>
                <button type="submit" class="secondary" disabled={code.trim() === ""}>
                    Apply
                </button>
            </form>
            <ErrorNotice error={error} />
            {c.codes.length > 0 && (
                <ul class="plain">
                    {c.codes.map((k) => (
                        <li key={k.code} class="row">
                            <span>
                                <strong>{k.code}</strong>:{" "}
                                {k.applied ? `−${money(k.discount_cents, c.currency)}` : `does not apply (${reasons[k.reason ?? ""] ?? k.reason ?? "unknown"})`}
                            </span>
                            <ActionButton
                                class="secondary"
                                onRun={async () => {
                                    await removeCode(k.code);
                                    onStatus(`Code ${k.code} removed.`);
                                    // Its button goes with it: focus the code field rather than the page.
                                    document.getElementById("promo-code")?.focus();
                                }}
                            >
                                Remove<span class="visually-hidden"> code {k.code}</span>
                            </ActionButton>
                        </li>
                    ))}
                </ul>
            )}
        </section>
    );
}

export function Totals({ cart: c }: { cart: Cart }) {
    return (
        <section class="totals" aria-labelledby="totals-title">
            <h2 id="totals-title">Summary</h2>
            <dl>
                <dt>Items ({c.item_count})</dt>
                <dd>{money(c.subtotal_cents, c.currency)}</dd>
                {c.discount_cents > 0 && (
                    <>
                        <dt>Discount</dt>
                        <dd>−{money(c.discount_cents, c.currency)}</dd>
                    </>
                )}
                <dt>Shipping</dt>
                <dd>{c.shipping_option_id ? money(c.shipping_cents, c.currency) : c.country && c.shipping_options.length === 0 ? "free" : "not chosen yet"}</dd>
                {c.tax_cents > 0 && (
                    <>
                        <dt>Tax</dt>
                        <dd>{money(c.tax_cents, c.currency)}</dd>
                    </>
                )}
                <dt class="total">Total</dt>
                <dd class="total">{money(c.total_cents, c.currency)}</dd>
            </dl>
        </section>
    );
}
