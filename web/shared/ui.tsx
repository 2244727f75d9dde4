// Pieces both apps use: money, dates, loading a resource, problem+json errors shown next to the
// form they belong to, labelled fields, and the page frame with its skip link.
import type { ComponentChildren, InputHTMLAttributes } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

import { ApiError } from "./api";
import { route } from "./router";

// USD, the server's default CURRENCY, when an answer names none.
export function money(cents: number | undefined | null, currency = "USD"): string {
    if (cents === undefined || cents === null) return "";
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(cents / 100);
}

export function when(iso: string | undefined | null): string {
    if (!iso) return "";
    return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export interface Loaded<T> {
    data: T | undefined;
    error: unknown;
    loading: boolean;
    reload: () => void;
}

// Runs `load` when `deps` change (and on reload()); the latest answer wins.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
    const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
    const [tick, setTick] = useState(0);
    const seq = useRef(0);
    useEffect(() => {
        const mine = ++seq.current;
        setState((s) => ({ ...s, loading: true }));
        load().then(
            (data) => mine === seq.current && setState({ data, loading: false }),
            (error: unknown) => mine === seq.current && setState({ error, loading: false }),
        );
        // eslint-disable-next-line react-hooks/exhaustive-deps
    }, [...deps, tick]);
    const reload = useCallback(() => setTick((t) => t + 1), []);
    return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function errorText(error: unknown): string {
    if (error instanceof ApiError) return error.message;
    if (error instanceof Error) return error.message;
    return String(error);
}

// An error for the user, announced to screen readers.
export function ErrorNotice({ error }: { error: unknown }) {
    if (error === undefined || error === null) return null;
    const fields = error instanceof ApiError ? Object.entries(error.fields()) : [];
    return (
        <div class="error" role="alert">
            <p>{errorText(error)}</p>
            {fields.length > 0 && (
                <ul>
                    {fields.map(([field, message]) => (
                        <li key={field}>
                            {field}: {message}
                        </li>
                    ))}
                </ul>
            )}
        </div>
    );
}

export function Loading({ what }: { what?: string }) {
    return (
        <p class="loading" role="status">
            Loading{what ? ` ${what}` : ""}…
        </p>
    );
}

// A resource's three states in one place.
export function Show<T>({ loaded, what, children }: { loaded: Loaded<T>; what?: string; children: (data: T) => ComponentChildren }) {
    if (loaded.error !== undefined) return <ErrorNotice error={loaded.error} />;
    if (loaded.data === undefined) return <Loading what={what} />;
    return <>{children(loaded.data)}</>;
}

type InputProps = InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string; name: string };

// A labelled input with its field error; a hint the caller names in aria-describedby is kept next
// to the error's id.
export function Field({ label, error, name, "aria-describedby": hint, ...rest }: InputProps) {
    const id = `f-${name}`;
    const described = [hint, error ? `${id}-error` : undefined].filter(Boolean).join(" ") || undefined;
    return (
        <div class="field">
            <label for={id}>{label}</label>
            <input {...rest} id={id} name={name} aria-invalid={error ? "true" : undefined} aria-describedby={described} />
            {error && (
                <span class="field-error" id={`${id}-error`}>
                    {error}
                </span>
            )}
        </div>
    );
}

// The document's title: "<title> · <site>", or the site alone.
export function useDocumentTitle(title: string, site: string): void {
    useEffect(() => {
        document.title = title ? `${title} · ${site}` : site;
    }, [title, site]);
}

// The page frame: a skip link to the main content, the header, the main region. On a move to
// another page (not on the first load, not on a change of the query's filters) it focuses the main
// region and scrolls to the top, so keyboard and screen-reader users start at the new content
// rather than deep in the old one.
export function Frame({ header, children }: { header: ComponentChildren; children: ComponentChildren }) {
    const main = useRef<HTMLElement>(null);
    const path = route.value.path;
    const first = useRef(true);
    useEffect(() => {
        if (first.current) {
            first.current = false;
            return;
        }
        main.current?.focus();
        window.scrollTo(0, 0);
    }, [path]);
    return (
        <>
            <button class="skip" type="button" onClick={() => main.current?.focus()}>
                Skip to content
            </button>
            <header class="top">{header}</header>
            <main id="main" ref={main} tabIndex={-1}>
                {children}
            </main>
        </>
    );
}
