// The header's search: as you type (debounced), up to six matching products appear as links under
// the box (the API forgives typos: unknown words are replaced by the catalog's nearest words);
// Enter opens the full results page. The suggestions are plain links, so Tab reaches them and no
// combobox emulation is needed (arrow keys also move through them); their count is announced
// through a status region.
import { useEffect, useRef, useState } from "preact/hooks";

import { ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { errorText, money } from "../shared/ui";

const kDebounceMs = 200;

export function SearchBox() {
    const onSearchPage = route.value.path === "/search";
    const [text, setText] = useState(onSearchPage ? (route.value.query.get("q") ?? "") : "");
    const [hits, setHits] = useState<Schemas["ListedProduct"][] | null>(null);
    const [note, setNote] = useState("");
    const [open, setOpen] = useState(false);
    const box = useRef<HTMLDivElement>(null);
    const seq = useRef(0);

    // The box follows the results page's query (back/forward, links).
    const routeQ = onSearchPage ? (route.value.query.get("q") ?? "") : null;
    useEffect(() => {
        if (routeQ !== null) setText(routeQ);
        setOpen(false);
    }, [routeQ, route.value.path]);

    useEffect(() => {
        const q = text.trim();
        if (!open || q.length < 2) {
            setHits(null);
            setNote("");
            return undefined;
        }
        const mine = ++seq.current;
        const timer = setTimeout(() => {
            ok("/api/v1/products", "get", { query: { q, sort: "relevance", limit: 6 } }).then(
                (page) => {
                    if (mine !== seq.current) return;
                    setHits(page.items);
                    setNote(page.items.length === 0 ? "No suggestions" : `${page.items.length} suggestions`);
                },
                (error: unknown) => {
                    if (mine !== seq.current) return;
                    setHits([]);
                    setNote(`Search failed: ${errorText(error)}`);
                },
            );
        }, kDebounceMs);
        return () => clearTimeout(timer);
    }, [text, open]);

    const submit = (e: Event) => {
        e.preventDefault();
        const q = text.trim();
        if (q === "") return;
        setOpen(false);
        navigate("/search", { q });
    };

    return (
        <div
            class="search"
            ref={box}
            onFocusOut={(e) => {
                // Close only when focus leaves the box and its suggestions altogether.
                const next = e.relatedTarget as Node | null;
                if (next === null || !box.current?.contains(next)) setOpen(false);
            }}
            onKeyDown={(e) => {
                if (e.key === "Escape" && open) {
                    setOpen(false);
                    box.current?.querySelector("input")?.focus();
                    return;
                }
                // Arrow keys move between the box and its suggestions (Tab works too).
                if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
                const stops = [box.current?.querySelector("input"), ...(box.current?.querySelectorAll(".suggestions a") ?? [])].filter(
                    (x): x is HTMLElement => x instanceof HTMLElement,
                );
                if (stops.length < 2) return;
                e.preventDefault();
                const at = stops.indexOf(document.activeElement as HTMLElement);
                const next = e.key === "ArrowDown" ? Math.min(at + 1, stops.length - 1) : Math.max(at - 1, 0);
                stops[next]?.focus();
            }}
        >
            <form role="search" onSubmit={submit}>
                <label for="search-q" class="visually-hidden">
                    Search products
                </label>
                <input
                    id="search-q"
                    type="search"
                    autocomplete="off"
                    placeholder="Search products"
                    aria-describedby="search-note"
                    value={text}
                    onInput={(e) => {
                        setText(e.currentTarget.value);
                        setOpen(true);
                    }}
                />
                <button type="submit">Search</button>
            </form>
            <p id="search-note" class="visually-hidden" role="status">
                {open ? note : ""}
            </p>
            {open && hits !== null && hits.length > 0 && (
                // mousedown would move focus out of the box first (and close the list before the
                // click lands, in browsers that do not focus links on click): keep it in the input.
                <ul class="suggestions" aria-label="Suggestions" onMouseDown={(e) => e.preventDefault()}>
                    {hits.map((p) => (
                        <li key={p.id}>
                            <a href={href(`/p/${p.id}`)} onClick={() => setOpen(false)}>
                                <span>{p.name}</span>
                                <span class="muted">{money(p.price.amount_cents, p.price.currency)}</span>
                            </a>
                        </li>
                    ))}
                    <li>
                        <a href={href("/search", { q: text.trim() })} onClick={() => setOpen(false)}>
                            All results for “{text.trim()}”
                        </a>
                    </li>
                </ul>
            )}
        </div>
    );
}
