// The storefront's shared state: whether the session restore finished, a clock that ticks every
// second (hold countdowns, against the server's clock), and the shopping cart. A guest's cart is remembered in localStorage as
// {id, token} (the token is shown once, when the cart is made); a signed-in customer's cart is the
// one POST /carts answers for them, so only guests need the stored token.
import { computed, signal } from "@preact/signals";

import { ApiError, call, restoreSession, session } from "../shared/api";
import type { Schemas } from "../shared/api";

export type Cart = Schemas["Cart"];
export type CartLine = Schemas["CartLine"];

// False until the refresh token (if any) was tried: pages that need a user wait for it.
export const ready = signal(false);

// Now, every second; only components that read it re-render.
export const now = signal(Date.now());
setInterval(() => {
    now.value = Date.now();
}, 1000);

// The server's clock minus this browser's, in ms, from the Date header of the cart answers: the
// holds' expiry times are the server's, and the browser's clock may be off. 0 while unknown (no
// header). The header has whole seconds, so a difference under 2 s is taken as none (rounding
// would otherwise make the countdowns jump).
export const clockSkew = signal(0);
// The server's time now (by this browser's clock and the skew), every second.
export const serverNow = computed(() => now.value + clockSkew.value);

function noteServerClock(headers: Headers, sent: number): void {
    const date = headers.get("Date");
    const server = date === null ? Number.NaN : Date.parse(date);
    if (Number.isNaN(server)) return;
    // The server answered between `sent` and now, some time in the second the header names.
    const skew = server + 500 - (sent + Date.now()) / 2;
    clockSkew.value = Math.abs(skew) < 2000 ? 0 : Math.round(skew);
}

type Answered = { status: number; body: unknown; headers: Headers };

// A cart call's answer, its Date header noted.
async function timed<A extends Answered>(run: () => Promise<A>): Promise<A> {
    const sent = Date.now();
    const answer = await run();
    noteServerClock(answer.headers, sent);
    return answer;
}

// The cart a cart call answers; any non-2xx answer throws ApiError.
async function cartOf(run: () => Promise<Answered>): Promise<Cart> {
    const answer = await timed(run);
    if (answer.status >= 200 && answer.status < 300) return answer.body as Cart;
    const body = answer.body;
    throw new ApiError(answer.status, typeof body === "object" && body !== null ? (body as Schemas["Problem"]) : undefined);
}

export const cart = signal<Cart | null>(null);
export const itemCount = computed(() => cart.value?.item_count ?? 0);

interface Stored {
    id: number;
    token: string;
}
const kKey = "emporium.store.guest-cart";

function storedGuest(): Stored | null {
    try {
        const value: unknown = JSON.parse(localStorage.getItem(kKey) ?? "null");
        if (typeof value === "object" && value !== null && "id" in value && "token" in value) {
            const { id, token } = value as Stored;
            if (typeof id === "number" && typeof token === "string") return { id, token };
        }
    } catch {
        // A damaged entry is as good as none.
    }
    return null;
}

function storeGuest(value: Stored | null): void {
    if (value === null) localStorage.removeItem(kKey);
    else localStorage.setItem(kKey, JSON.stringify(value));
}

// The guest cart's token, for signIn() (the server merges that cart into the customer's).
export function guestToken(): string | undefined {
    return session.value === null ? storedGuest()?.token : undefined;
}

// The X-Cart-Token header a cart call needs (guests only).
function cartHeader(): Record<string, string> {
    const token = guestToken();
    return token === undefined ? {} : { "X-Cart-Token": token };
}

// Loads the current cart (renewing its holds): the customer's open cart, or the stored guest cart.
// A guest cart that is gone or no longer open is forgotten.
export async function loadCart(): Promise<Cart | null> {
    if (session.value !== null) {
        cart.value = await cartOf(() => call("/api/v1/carts", "post", {}));
        return cart.value;
    }
    const guest = storedGuest();
    if (guest === null) {
        cart.value = null;
        return null;
    }
    const answer = await timed(() => call("/api/v1/carts/{id}", "get", { path: { id: guest.id }, header: cartHeader() }));
    if (answer.status === 200 && answer.body.status === "open") {
        cart.value = answer.body;
    } else if (answer.status === 200 || answer.status === 403 || answer.status === 404) {
        storeGuest(null);
        cart.value = null;
    } else {
        throw new ApiError(answer.status, answer.body);
    }
    return cart.value;
}

// The cart to add to, made when there is none yet.
async function ensureCart(): Promise<Cart> {
    if (cart.value !== null && cart.value.status === "open") return cart.value;
    const made = await cartOf(() => call("/api/v1/carts", "post", {}));
    if (session.value === null && made.token) storeGuest({ id: made.id, token: made.token });
    cart.value = made;
    return made;
}

// Adds units of a variant (or of a product's default variant).
export async function addLine(what: { variant_id: number } | { product_id: number }, quantity: number): Promise<Cart> {
    const { id } = await ensureCart();
    cart.value = await cartOf(() =>
        call("/api/v1/carts/{id}/lines", "post", {
            path: { id },
            header: cartHeader(),
            body: { ...what, quantity },
        }),
    );
    return cart.value;
}

function currentId(): number {
    if (cart.value === null) throw new Error("there is no cart");
    return cart.value.id;
}

export async function setQuantity(variantId: number, quantity: number): Promise<void> {
    cart.value = await cartOf(() =>
        call("/api/v1/carts/{id}/lines/{variant_id}", "put", {
            path: { id: currentId(), variant_id: variantId },
            header: cartHeader(),
            body: { quantity },
        }),
    );
}

export async function removeLine(variantId: number): Promise<void> {
    cart.value = await cartOf(() =>
        call("/api/v1/carts/{id}/lines/{variant_id}", "delete", {
            path: { id: currentId(), variant_id: variantId },
            header: cartHeader(),
        }),
    );
}

export async function addCode(code: string): Promise<void> {
    cart.value = await cartOf(() => call("/api/v1/carts/{id}/codes", "post", { path: { id: currentId() }, header: cartHeader(), body: { code } }));
}

export async function removeCode(code: string): Promise<void> {
    cart.value = await cartOf(() => call("/api/v1/carts/{id}/codes/{code}", "delete", { path: { id: currentId(), code }, header: cartHeader() }));
}

export async function setShipping(country: string, optionId: number | null): Promise<void> {
    cart.value = await cartOf(() =>
        call("/api/v1/carts/{id}/shipping", "put", {
            path: { id: currentId() },
            header: cartHeader(),
            body: optionId === null ? { country } : { country, shipping_option_id: optionId },
        }),
    );
}

// After a sign-in that carried the guest cart's token: that cart now lives in the customer's.
export async function afterSignIn(): Promise<void> {
    storeGuest(null);
    await loadCart();
}

// After checkout (the cart became an order) or sign-out: no current cart.
export function forgetCart(): void {
    storeGuest(null);
    cart.value = null;
}

// Start-up: restore the session, then load the cart (for the header's count).
export async function start(): Promise<void> {
    try {
        await restoreSession();
    } finally {
        ready.value = true;
    }
    await loadCart().catch(() => {
        // The cart page shows the error when it loads the cart itself.
    });
}
