// The customer's account: who is signed in, their orders (paged), and "recommended for you"; plus
// the sign-in / sign-up page, which brings the guest cart along (its token goes with the login and
// the server merges it into the customer's cart).
import { useEffect, useState } from "preact/hooks";

import { ApiError, ok, session, signIn, signOut, signUp } from "../../shared/api";
import type { Schemas } from "../../shared/api";
import { href, navigate, route } from "../../shared/router";
import { ErrorNotice, Field, Show, money, useLoad, when } from "../../shared/ui";
import { ProductGrid, useTitle } from "../bits";
import { afterSignIn, forgetCart, guestToken } from "../state";
import { statusText } from "./order";

export function AccountPage() {
    useTitle("Your account");
    const user = session.value?.user;
    if (!user) {
        return (
            <>
                <h1>Your account</h1>
                <p>
                    Please <a href={href("/signin", { next: "/account" })}>sign in or create an account</a>.
                </p>
            </>
        );
    }
    return (
        <>
            <h1>Your account</h1>
            <p>
                Signed in as <strong>{user.name}</strong> ({user.email}).
            </p>
            <button
                type="button"
                class="secondary"
                onClick={async () => {
                    await signOut();
                    forgetCart();
                    navigate("/");
                }}
            >
                Sign out
            </button>
            <Orders />
            <Recommended />
        </>
    );
}

function Orders() {
    const [items, setItems] = useState<Schemas["Order"][] | null>(null);
    const [cursor, setCursor] = useState<string | null>(null);
    const [error, setError] = useState<unknown>(undefined);
    const load = async (from?: string) => {
        setError(undefined);
        try {
            const page = await ok("/api/v1/orders", "get", { query: { limit: 10, cursor: from } });
            setItems((old) => (from === undefined || old === null ? page.items : [...old, ...page.items]));
            setCursor(page.next_cursor);
        } catch (e) {
            setError(e);
        }
    };
    useEffect(() => {
        void load();
    }, []);
    return (
        <section aria-labelledby="orders-title">
            <h2 id="orders-title">Your orders</h2>
            <ErrorNotice error={error} />
            {items === null && !error && <p class="loading">Loading your orders…</p>}
            {items !== null && items.length === 0 && (
                <p>
                    No orders yet. <a href={href("/")}>Start shopping</a>
                </p>
            )}
            {items !== null && items.length > 0 && (
                <table>
                    <thead>
                        <tr>
                            <th scope="col">Order</th>
                            <th scope="col">Placed</th>
                            <th scope="col">Status</th>
                            <th scope="col">Total</th>
                        </tr>
                    </thead>
                    <tbody>
                        {items.map((o) => (
                            <tr key={o.id}>
                                <td>
                                    <a href={href(`/orders/${o.id}`)}>Order #{o.id}</a>
                                </td>
                                <td>{when(o.created_at)}</td>
                                <td>{statusText[o.status]}</td>
                                <td>{money(o.total_cents, o.currency)}</td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
            {cursor && (
                <button type="button" class="secondary" onClick={() => void load(cursor)}>
                    More orders
                </button>
            )}
        </section>
    );
}

function Recommended() {
    const picks = useLoad(() => ok("/api/v1/recommendations", "get", { query: { limit: 8 } }), []);
    return (
        <section aria-labelledby="recommended-title">
            <h2 id="recommended-title">Recommended for you</h2>
            <Show loaded={picks} what="recommendations">
                {(r) =>
                    r.items.length === 0 ? (
                        <p>Nothing to recommend yet.</p>
                    ) : (
                        <>
                            <p class="muted">{r.source === "popular" ? "Popular in the shop right now." : "Based on what you bought."}</p>
                            <ProductGrid products={r.items} />
                        </>
                    )
                }
            </Show>
        </section>
    );
}

// Where to go after signing in: the page that sent us here (a path of this app only).
function nextPath(): string {
    const next = route.value.query.get("next") ?? "";
    return /^\/[A-Za-z0-9/_-]*$/.test(next) ? next : "/account";
}

export function SignInPage() {
    useTitle("Sign in");
    const [mode, setMode] = useState<"in" | "up">(route.value.query.get("mode") === "up" ? "up" : "in");
    if (session.value !== null) {
        return (
            <>
                <h1>Sign in</h1>
                <p>
                    You are signed in as {session.value.user.email}. <a href={href(nextPath())}>Continue</a>
                </p>
            </>
        );
    }
    return (
        <>
            <h1>{mode === "in" ? "Sign in" : "Create an account"}</h1>
            <p class="muted">{guestToken() ? "The items in your cart stay with you." : "Sign in to check out and see your orders."}</p>
            <div class="auth">
                {mode === "in" ? <SignInForm /> : <SignUpForm />}
                <p>
                    {mode === "in" ? "New here? " : "Already have an account? "}
                    <button type="button" class="link" onClick={() => setMode(mode === "in" ? "up" : "in")}>
                        {mode === "in" ? "Create an account" : "Sign in instead"}
                    </button>
                </p>
            </div>
        </>
    );
}

async function enter(email: string, password: string): Promise<void> {
    await signIn(email, password, guestToken());
    await afterSignIn();
    navigate(nextPath());
}

function SignInForm() {
    const [email, setEmail] = useState("");
    const [password, setPassword] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const submit = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
            await enter(email.trim(), password);
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };
    const fields = error instanceof ApiError ? error.fields() : {};
    return (
        <form onSubmit={submit} class="auth-form" aria-label="Sign in">
            <Field label="E-mail" name="signin-email" type="email" autocomplete="username" required value={email} error={fields.email} onInput={(e) => setEmail(e.currentTarget.value)} />
            <Field
                label="Password"
                name="signin-password"
                type="password"
                autocomplete="current-password"
                required
                value={password}
                error={fields.password}
                onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <button type="submit" disabled={busy}>
                {busy ? "Signing in…" : "Sign in"}
            </button>
            <ErrorNotice error={error} />
        </form>
    );
}

function SignUpForm() {
    const [name, setName] = useState("");
    const [email, setEmail] = useState("");
    const [password, setPassword] = useState("");
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const submit = async (e: Event) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
            await signUp(email.trim(), password, name.trim());
            await enter(email.trim(), password);
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    };
    const fields = error instanceof ApiError ? error.fields() : {};
    return (
        <form onSubmit={submit} class="auth-form" aria-label="Create an account">
            <Field label="Your name" name="signup-name" autocomplete="name" required value={name} error={fields.name} onInput={(e) => setName(e.currentTarget.value)} />
            <Field label="E-mail" name="signup-email" type="email" autocomplete="email" required value={email} error={fields.email} onInput={(e) => setEmail(e.currentTarget.value)} />
            <Field
                label="Password"
                name="signup-password"
                type="password"
                autocomplete="new-password"
                required
                minLength={10}
                aria-describedby="password-hint"
                value={password}
                error={fields.password}
                onInput={(e) => setPassword(e.currentTarget.value)}
            />
            <p id="password-hint" class="muted hint">
                At least 10 characters, not all the same, and not your e-mail address.
            </p>
            <button type="submit" disabled={busy}>
                {busy ? "Creating your account…" : "Create account"}
            </button>
            <ErrorNotice error={error} />
        </form>
    );
}
