// Checkout: the address, the destination country (its tax and shipping options apply), a shipping
// option, and the sandbox payment method. "Place order and pay" turns the cart into an order
// (checkout, with the total the customer saw) and starts the payment; the order page then follows
// the capture, which runs in the background.
import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError, idempotencyKey, ok, session } from "../../shared/api";
import type { Schemas } from "../../shared/api";
import { keyAfter } from "../../shared/ids";
import { href, navigate } from "../../shared/router";
import { ErrorNotice, Field, Loading, money } from "../../shared/ui";
import { useTitle } from "../bits";
import { cart, forgetCart, loadCart, setShipping } from "../state";
import { Totals } from "./cart";

export const countries: [string, string][] = [
    ["US", "United States"],
    ["CA", "Canada"],
    ["GB", "United Kingdom"],
    ["IE", "Ireland"],
    ["NL", "Netherlands"],
    ["BE", "Belgium"],
    ["DE", "Germany"],
    ["FR", "France"],
    ["ES", "Spain"],
    ["IT", "Italy"],
    ["AT", "Austria"],
    ["DK", "Denmark"],
    ["SE", "Sweden"],
    ["PL", "Poland"],
    ["AU", "Australia"],
    ["JP", "Japan"],
];

// The sandbox's payment method tokens (POST /orders/{id}/pay).
export const paymentMethods: { token: string; label: string }[] = [
    { token: "tok_ok", label: "Test card that is approved (tok_ok)" },
    { token: "tok_declined", label: "Test card that is declined (tok_declined)" },
];

export function PaymentChoice({ value, onChange, name }: { value: string; onChange: (token: string) => void; name: string }) {
    return (
        <fieldset class="choices-list">
            <legend>Payment method</legend>
            {paymentMethods.map((m) => (
                <div class="check" key={m.token}>
                    <input
                        type="radio"
                        id={`${name}-${m.token}`}
                        name={name}
                        value={m.token}
                        checked={value === m.token}
                        onChange={() => onChange(m.token)}
                    />
                    <label for={`${name}-${m.token}`}>{m.label}</label>
                </div>
            ))}
        </fieldset>
    );
}

export function CheckoutPage() {
    useTitle("Checkout");
    if (session.value === null) {
        return (
            <>
                <h1>Checkout</h1>
                <p>
                    Please <a href={href("/signin", { next: "/checkout" })}>sign in or create an account</a> to check out. Your cart comes
                    with you.
                </p>
            </>
        );
    }
    return <Checkout />;
}

function Checkout() {
    const user = session.value?.user;
    const [loaded, setLoaded] = useState(false);
    const [loadError, setLoadError] = useState<unknown>(undefined);
    useEffect(() => {
        loadCart().then(
            () => setLoaded(true),
            (e: unknown) => {
                setLoadError(e);
                setLoaded(true);
            },
        );
    }, []);

    const [address, setAddress] = useState({ name: user?.name ?? "", line1: "", city: "", postal_code: "" });
    const [country, setCountry] = useState(cart.value?.country ?? "");
    const [shipError, setShipError] = useState<unknown>(undefined);
    // A shipping change in flight: the total is about to move, so the order cannot be placed yet
    // (it would send the old expected_total_cents).
    const [shipping, setShippingBusy] = useState(0);
    // The option being chosen, shown checked until the cart answers.
    const [choosing, setChoosing] = useState<number | null>(null);
    const [method, setMethod] = useState("tok_ok");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const [progress, setProgress] = useState("");
    const [order, setOrder] = useState<Schemas["Order"] | null>(null);
    // One key per action (web/shared/ids.ts): a retry after a lost answer replays instead of
    // ordering twice; after a final answer (cart_changed, a refused payment) the next attempt is a
    // new action with a new key.
    const checkoutKey = useRef(idempotencyKey());
    const payKey = useRef(idempotencyKey());

    const c = cart.value;
    useEffect(() => {
        if (c?.country && country === "") setCountry(c.country);
    }, [c?.country]);

    const edit = (field: keyof typeof address) => (e: Event) => {
        setAddress({ ...address, [field]: (e.currentTarget as HTMLInputElement).value });
        checkoutKey.current = idempotencyKey();
    };

    const updateShipping = async (code: string, id: number | null) => {
        setShipError(undefined);
        checkoutKey.current = idempotencyKey();
        setShippingBusy((n) => n + 1);
        try {
            await setShipping(code, id);
        } catch (e) {
            setShipError(e);
        } finally {
            setShippingBusy((n) => n - 1);
        }
    };
    const chooseCountry = async (code: string) => {
        setCountry(code);
        if (code !== "") {
            await updateShipping(code, null);
        } else {
            setShipError(undefined);
            checkoutKey.current = idempotencyKey();
        }
    };
    const chooseOption = async (id: number) => {
        setChoosing(id);
        try {
            await updateShipping(country, id);
        } finally {
            setChoosing(null);
        }
    };

    const pay = async (o: Schemas["Order"]) => {
        setProgress(`Order #${o.id} placed. Starting the payment…`);
        try {
            await ok("/api/v1/orders/{id}/pay", "post", {
                path: { id: o.id },
                header: { "Idempotency-Key": payKey.current },
                body: { payment_method: method },
            });
        } catch (err) {
            payKey.current = keyAfter(payKey.current, err);
            throw err;
        }
        navigate(`/orders/${o.id}`);
    };

    const submit = async (e: Event) => {
        e.preventDefault();
        if (c === null || busy || shipping > 0) return;
        setBusy(true);
        setError(undefined);
        try {
            if (order === null) {
                if (country === "") throw new Error("Choose the country to ship to.");
                if (c.shipping_options.length > 0 && !c.shipping_option_id) throw new Error("Choose a shipping option.");
                setProgress("Placing your order…");
                let placed: Schemas["Order"];
                try {
                    placed = await ok("/api/v1/carts/{id}/checkout", "post", {
                        path: { id: c.id },
                        header: { "Idempotency-Key": checkoutKey.current },
                        body: { shipping_address: { ...address, country }, expected_total_cents: c.total_cents },
                    });
                } catch (err) {
                    checkoutKey.current = keyAfter(checkoutKey.current, err);
                    throw err;
                }
                setOrder(placed);
                forgetCart();
                await pay(placed);
            } else {
                await pay(order);
            }
        } catch (err) {
            setProgress("");
            setError(err);
            // The cart moved under us (a price, a line): show the new one to confirm.
            if (err instanceof ApiError && err.code === "cart_changed") await loadCart().catch(() => undefined);
        } finally {
            setBusy(false);
        }
    };

    if (!loaded) return <Loading what="your cart" />;
    if (order === null && (c === null || c.lines.length === 0)) {
        return (
            <>
                <h1>Checkout</h1>
                <ErrorNotice error={loadError} />
                <p>
                    Your cart is empty. <a href={href("/")}>Continue shopping</a>
                </p>
            </>
        );
    }
    const total = order ? money(order.total_cents, order.currency) : c ? money(c.total_cents, c.currency) : "";
    return (
        <>
            <h1>Checkout</h1>
            <form class="checkout" onSubmit={submit}>
                <div class="checkout-main">
                    <fieldset disabled={order !== null}>
                        <legend>Shipping address</legend>
                        <Field label="Full name" name="ship-name" autocomplete="name" required value={address.name} onInput={edit("name")} />
                        <Field label="Street and number" name="ship-line1" autocomplete="address-line1" required value={address.line1} onInput={edit("line1")} />
                        <Field label="City" name="ship-city" autocomplete="address-level2" required value={address.city} onInput={edit("city")} />
                        <Field label="Postal code" name="ship-postal" autocomplete="postal-code" required value={address.postal_code} onInput={edit("postal_code")} />
                        <div class="field">
                            <label for="ship-country">Country</label>
                            <select id="ship-country" required autocomplete="country" value={country} onChange={(e) => void chooseCountry(e.currentTarget.value)}>
                                <option value="">Choose a country</option>
                                {countries.map(([code, name]) => (
                                    <option key={code} value={code}>
                                        {name}
                                    </option>
                                ))}
                            </select>
                        </div>
                    </fieldset>
                    {c !== null && country !== "" && order === null && (
                        <fieldset class="choices-list">
                            <legend>Shipping option</legend>
                            {c.shipping_options.length === 0 && <p class="muted">No delivery charge to this country.</p>}
                            {c.shipping_options.map((o) => (
                                <div class="check" key={o.id}>
                                    <input
                                        type="radio"
                                        id={`ship-option-${o.id}`}
                                        name="ship-option"
                                        checked={(choosing ?? c.shipping_option_id) === o.id}
                                        onChange={() => void chooseOption(o.id)}
                                    />
                                    <label for={`ship-option-${o.id}`}>
                                        {o.name}: {o.price_cents === 0 ? "free" : money(o.price_cents, c.currency)}
                                    </label>
                                </div>
                            ))}
                        </fieldset>
                    )}
                    <ErrorNotice error={shipError} />
                    <PaymentChoice
                        name="pay-method"
                        value={method}
                        onChange={(token) => {
                            setMethod(token);
                            payKey.current = idempotencyKey();
                        }}
                    />
                </div>
                <div class="checkout-side">
                    {c !== null && order === null && <Totals cart={c} />}
                    {order !== null && (
                        <p>
                            Order <a href={href(`/orders/${order.id}`)}>#{order.id}</a> is placed and awaits payment.
                        </p>
                    )}
                    <button type="submit" disabled={busy || shipping > 0}>
                        {busy ? "Working…" : shipping > 0 ? "Updating the total…" : order === null ? `Place order and pay ${total}` : `Pay ${total}`}
                    </button>
                    <p role="status" class="muted">
                        {progress}
                    </p>
                    <ErrorNotice error={error} />
                </div>
            </form>
        </>
    );
}
