// A hash router: the route is the part of the URL after "#" ("#/product/12?tab=reviews"), so the
// server serves one page per app and a reload keeps the place. `route` is a signal: components that
// read it render again when it changes.
import { signal } from "@preact/signals";

export interface Route {
    path: string; // "/product/12"
    query: URLSearchParams;
}

function current(): Route {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path = "/", search = ""] = hash.split("?", 2);
    return { path, query: new URLSearchParams(search) };
}

export const route = signal<Route>(current());
addEventListener("hashchange", () => {
    route.value = current();
});

// "#/product/12" for use in href.
export function href(path: string, query?: Record<string, string | number | undefined>): string {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== "") search.set(k, String(v));
    const text = search.toString();
    return `#${path}${text ? `?${text}` : ""}`;
}

export function navigate(path: string, query?: Record<string, string | number | undefined>): void {
    location.hash = href(path, query);
}

// The parameters of `pattern` ("/product/:id") in `path`, or null when it does not match.
export function match(pattern: string, path: string): Record<string, string> | null {
    const want = pattern.split("/");
    const have = path.split("/");
    if (want.length !== have.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < want.length; ++i) {
        const w = want[i] ?? "";
        const h = have[i] ?? "";
        if (w.startsWith(":")) {
            try {
                params[w.slice(1)] = decodeURIComponent(h);
            } catch {
                return null; // a malformed escape ("%E0") matches nothing: the app shows "not found"
            }
        } else if (w !== h) return null;
    }
    return params;
}
