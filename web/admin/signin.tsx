// Sign-in through the public auth API. A non-admin account is signed out again at once and told
// why; the server refuses its admin calls anyway (403), this only makes that clear up front.
import { signal } from "@preact/signals";
import { useState } from "preact/hooks";

import { session, signIn, signOut } from "../shared/api";
import { ErrorNotice, Field } from "../shared/ui";

// True while a sign-in's role is being checked: the console keeps this form on screen meanwhile
// (and so its "not an admin" message), instead of flashing the signed-in pages.
export const checkingRole = signal(false);

export function SignIn() {
    const [email, setEmail] = useState("");
    const [password, setPassword] = useState("");
    const [error, setError] = useState<unknown>(undefined);
    const [busy, setBusy] = useState(false);

    async function submit(e: Event) {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        checkingRole.value = true;
        try {
            const { user } = await signIn(email, password);
            if (user.role !== "admin") {
                await signOut();
                setError(new Error(`${user.email} is not an admin: this account cannot use the admin console. Sign in with an admin account.`));
            }
        } catch (err) {
            setError(err);
        } finally {
            checkingRole.value = false;
            setBusy(false);
        }
    }

    return (
        <section class="signin">
            <h1>Sign in to the admin console</h1>
            <form onSubmit={submit} aria-label="Sign in">
                <Field label="E-mail" name="email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
                <Field
                    label="Password"
                    name="password"
                    type="password"
                    autoComplete="current-password"
                    required
                    value={password}
                    onInput={(e) => setPassword(e.currentTarget.value)}
                />
                <button type="submit" disabled={busy}>
                    {busy ? "Signing in…" : "Sign in"}
                </button>
                <ErrorNotice error={error} />
            </form>
        </section>
    );
}

// A restored session of a non-admin (should not happen: the console keeps its own session).
export function NotAdmin() {
    return (
        <section>
            <h1>Not an admin</h1>
            <p role="alert">{session.value?.user.email} is not an admin: this account cannot use the admin console.</p>
            <button type="button" onClick={() => void signOut()}>
                Sign out
            </button>
        </section>
    );
}
