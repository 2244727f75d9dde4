// The browser apps' API client: typed calls (web/shared/typed.ts) on the same origin, and the
// signed-in session. The access token lives in memory only; the refresh token in sessionStorage
// (this tab only), so that a reload signs in again without the password. A 401 answer is retried
// once after a refresh. A duplicated tab copies sessionStorage: both tabs then hold one refresh
// token, the second to rotate it is refused (reuse detection revokes the family) and signs in
// again; an httpOnly cookie would avoid that (docs/web.md). Everything goes through the public API: the server's checks are the only
// ones.
import { signal } from "@preact/signals";

import { send } from "./typed";
import type { Answer, CallInit, MethodOf, Operation, Schemas, Success, paths } from "./typed";

export type { Schemas };
export type User = Schemas["User"];
export type Problem = Schemas["Problem"];

// A non-2xx answer: its status and problem+json body.
export class ApiError extends Error {
    constructor(readonly status: number, readonly problem: Problem | undefined) {
        super(problem?.detail ?? problem?.title ?? `request failed (${status})`);
    }
    // Field → message, from the problem's `errors`.
    fields(): Record<string, string> {
        const out: Record<string, string> = {};
        for (const e of this.problem?.errors ?? []) {
            if (e.field !== undefined) out[e.field] = e.message ?? "invalid";
        }
        return out;
    }
    get code(): string {
        return this.problem?.code ?? "";
    }
}

function problemOf(body: unknown): Problem | undefined {
    return typeof body === "object" && body !== null ? (body as Problem) : undefined;
}

export interface Session {
    access: string;
    user: User;
}
export const session = signal<Session | null>(null);

let refreshKey = "emporium.refresh";
let refreshing: Promise<boolean> | null = null;

// The sessionStorage key of this app's refresh token (the storefront's and the console's sessions
// are separate).
export function useSessionKey(app: string): void {
    refreshKey = `emporium.${app}.refresh`;
}

async function raw(path: string, method: string, init: object) {
    const given = (init as { token?: string }).token;
    const token = given ?? session.value?.access;
    return send("", path, method as "get", token === undefined ? init : { ...init, token });
}

// One call; the answer as the document declares it for the status it has.
export async function call<P extends keyof paths, M extends MethodOf<P>>(
    path: P,
    method: M,
    init: CallInit<Operation<P, M>>,
): Promise<Answer<Operation<P, M>>> {
    const plain: object = init;
    let answer = await raw(path, method, plain);
    if (answer.status === 401 && session.value !== null && (await refresh())) {
        answer = await raw(path, method, plain);
    }
    return answer as Answer<Operation<P, M>>;
}

// One call whose 2xx body is returned; any other answer throws ApiError.
export async function ok<P extends keyof paths, M extends MethodOf<P>>(
    path: P,
    method: M,
    init: CallInit<Operation<P, M>>,
): Promise<Success<Operation<P, M>>> {
    const answer: { status: number; body: unknown } = await call(path, method, init);
    if (answer.status >= 200 && answer.status < 300) return answer.body as Success<Operation<P, M>>;
    throw new ApiError(answer.status, problemOf(answer.body));
}

async function adopt(tokens: { access_token: string; refresh_token: string }): Promise<User> {
    sessionStorage.setItem(refreshKey, tokens.refresh_token);
    const me = await send("", "/api/v1/auth/me", "get", { token: tokens.access_token });
    if (me.status !== 200) throw new ApiError(me.status, problemOf(me.body));
    const user = me.body as User;
    session.value = { access: tokens.access_token, user };
    return user;
}

// Signs in; `header` carries a guest cart's X-Cart-Token, which the server merges. Returns the
// user and the answer's headers (X-Cart-Id when a cart was merged).
export async function signIn(
    email: string,
    password: string,
    cartToken?: string,
): Promise<{ user: User; headers: Headers }> {
    const header = cartToken === undefined ? undefined : { "X-Cart-Token": cartToken };
    const answer = await send("", "/api/v1/auth/login", "post", { body: { email, password }, header });
    if (answer.status !== 200) throw new ApiError(answer.status, problemOf(answer.body));
    const user = await adopt(answer.body as { access_token: string; refresh_token: string });
    return { user, headers: answer.headers };
}

// Creates an account (a customer); does not sign in.
export async function signUp(email: string, password: string, name: string): Promise<User> {
    return ok("/api/v1/auth/register", "post", { body: { email, password, name } }) as Promise<User>;
}

// Rotates the refresh token; false (and signed out) when it is no longer valid.
export async function refresh(): Promise<boolean> {
    if (refreshing !== null) return refreshing;
    const token = sessionStorage.getItem(refreshKey);
    if (token === null) {
        session.value = null;
        return false;
    }
    refreshing = (async () => {
        try {
            const answer = await send("", "/api/v1/auth/refresh", "post", { body: { refresh_token: token } });
            if (answer.status === 200) {
                await adopt(answer.body as { access_token: string; refresh_token: string });
                return true;
            }
            // Only the server's "no" ends the session (the token is spent, revoked or expired); a
            // 429 or a 5xx is a moment's trouble and the token stays for the next try.
            if (answer.status === 400 || answer.status === 401) {
                sessionStorage.removeItem(refreshKey);
                session.value = null;
            }
            return false;
        } catch {
            return false;  // no answer (offline): keep the token
        } finally {
            refreshing = null;
        }
    })();
    return refreshing;
}

// On start: signs in again from this tab's refresh token, if it has one.
export async function restoreSession(): Promise<void> {
    if (sessionStorage.getItem(refreshKey) !== null) await refresh();
}

export async function signOut(): Promise<void> {
    const token = sessionStorage.getItem(refreshKey);
    sessionStorage.removeItem(refreshKey);
    session.value = null;
    if (token !== null) await send("", "/api/v1/auth/logout", "post", { body: { refresh_token: token } });
}

// A file (the PDF receipt) with the session's token, retried once after a refresh like every
// call; `signal` aborts it. Throws ApiError on a non-2xx answer.
export async function fetchFile(url: string, signal?: AbortSignal): Promise<Blob> {
    const get = () => {
        const headers = new Headers();
        if (session.value !== null) headers.set("Authorization", `Bearer ${session.value.access}`);
        return fetch(url, { headers, signal });
    };
    let response = await get();
    if (response.status === 401 && session.value !== null && (await refresh())) response = await get();
    if (!response.ok) {
        const type = response.headers.get("Content-Type") ?? "";
        throw new ApiError(response.status, /json/.test(type) ? problemOf(await response.json()) : undefined);
    }
    return response.blob();
}

// Hands a file to the browser's download, under `filename`.
export function saveFile(blob: Blob, filename: string): void {
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

// A fresh Idempotency-Key for one user action (retries of the same action reuse it).
export function idempotencyKey(): string {
    return crypto.randomUUID();
}
