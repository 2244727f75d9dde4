// Idempotency keys for user actions (place an order, pay): one key per action. The server
// remembers the answer it gave under a key, failures included, and refuses the key (422) with
// another request body; so a key is kept only while the action's outcome is unknown (a true retry
// of the same request replays instead of acting twice), and replaced once the server gave a final
// answer (the next attempt, with a new total or another method, is a new action).
import { ApiError, idempotencyKey } from "./api";

// The server answers 409 "conflict" while the first request with the key is still running (or
// its record is being recycled): the same request may be sent again with the same key later.
function keyBusy(error: ApiError): boolean {
    const detail = error.problem?.detail ?? "";
    return error.status === 409 && error.code === "conflict" && /Idempotency-Key/i.test(detail) && /in progress|recycled/i.test(detail);
}

// Whether what a call sent with the key threw leaves the action's outcome open, so that a retry
// must reuse the key: no answer (a network error, a timeout), a 5xx, a 408 or 429 (refused before
// the key was looked at), or "key still in progress". Any other answer (a 4xx: cart_changed, a
// declined method, validation) is final for that key.
export function keepsKey(error: unknown): boolean {
    if (!(error instanceof ApiError)) return true;
    return error.status >= 500 || error.status === 408 || error.status === 429 || keyBusy(error);
}

// The key to use for the next attempt after `error`: the same one, or a fresh one.
export function keyAfter(key: string, error: unknown): string {
    return keepsKey(error) ? key : idempotencyKey();
}
