// Small pieces the console's pages share: the document title, actions whose outcome (or
// problem+json error) is shown next to their button, status badges, a cursor pager.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

import { ErrorNotice, useDocumentTitle } from "../shared/ui";

export function useTitle(title: string): void {
    useDocumentTitle(title, "Emporium admin");
}

export interface Action {
    busy: boolean;
    error: unknown;
    message: string;
    run: (work: () => Promise<string>) => Promise<void>;
}

// One user action at a time: `work` answers the message to announce, or throws.
export function useAction(): Action {
    const [busy, setBusy] = useState(false);
    const [error, setError] = useState<unknown>(undefined);
    const [message, setMessage] = useState("");
    async function run(work: () => Promise<string>) {
        setBusy(true);
        setError(undefined);
        setMessage("");
        try {
            setMessage(await work());
        } catch (e) {
            setError(e);
        } finally {
            setBusy(false);
        }
    }
    return { busy, error, message, run };
}

// The live outcome of an action, placed right after its button.
export function Outcome({ action }: { action: Action }) {
    return (
        <>
            <span role="status" class="status">
                {action.message}
            </span>
            <ErrorNotice error={action.error} />
        </>
    );
}

export function Badge({ value }: { value: string }) {
    return <span class={`badge badge-${value}`}>{value.replace(/_/g, " ")}</span>;
}

// Keyset pagination: the cursors of the pages before this one, so "Previous" works too.
export function usePager(reset: unknown[]) {
    const [stack, setStack] = useState<string[]>([]);
    const cursor = stack[stack.length - 1];
    useEffect(() => setStack([]), reset); // eslint-disable-line react-hooks/exhaustive-deps
    return {
        cursor,
        page: stack.length + 1,
        next: (c: string) => setStack((s) => [...s, c]),
        previous: () => setStack((s) => s.slice(0, -1)),
    };
}

export function Pager({ pager, nextCursor, label }: { pager: ReturnType<typeof usePager>; nextCursor: string | null | undefined; label: string }) {
    return (
        <nav class="row pager" aria-label={`${label} pages`}>
            <button type="button" class="secondary" disabled={pager.page === 1} onClick={pager.previous}>
                Previous page
            </button>
            <span>Page {pager.page}</span>
            <button type="button" class="secondary" disabled={!nextCursor} onClick={() => nextCursor && pager.next(nextCursor)}>
                Next page
            </button>
        </nav>
    );
}

// A definition list of label → value pairs.
export function Facts({ items }: { items: [string, ComponentChildren][] }) {
    return (
        <dl class="facts">
            {items.map(([k, v]) => (
                <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                </div>
            ))}
        </dl>
    );
}
