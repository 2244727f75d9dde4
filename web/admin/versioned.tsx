// An edit form for a versioned resource (product, variant, promotion): it PATCHes with
// If-Match: W/"<version it was loaded at>". When someone else saved first (412) it never overwrites
// and never drops the edit: the form keeps what the user typed, the current server copy is loaded
// and shown next to it, and the user either re-applies their changes on top of that version or
// discards them. The server's If-Match check is the only one: the browser tests lose the race for
// real (a 412), not against a copy read just before.
//
// Number and money fields are parsed strictly (web/shared/parse.ts) before anything is sent: an
// empty required field or a typo is shown as that field's error and nothing is saved; an empty
// `nullable` field is sent as null, which the API documents as "clear" for those members.
import { useRef, useState } from "preact/hooks";

import { ApiError } from "../shared/api";
import type { Problem } from "../shared/api";
import { moneyText, parseInteger, parseMoney } from "../shared/parse";
import type { Parsed } from "../shared/parse";
import { ErrorNotice } from "../shared/ui";

export type Kind = "text" | "textarea" | "number" | "money" | "checkbox" | "datetime";
export interface FieldSpec {
    key: string; // the API's member name (field errors come back under it)
    label: string;
    kind: Kind;
    nullable?: boolean; // empty means null: only where the API documents null as "clear"
    hint?: string;
    min?: number; // number: the bounds the API declares; money: in cents
    max?: number;
}
export type Values = Record<string, string | boolean>;

interface Versioned {
    version: number;
}
interface Answer {
    status: number;
    body: unknown;
}

// "77.99" ↔ 7799. Money is typed in the currency's main unit.
export const toMoney = moneyText;
// An ISO instant ↔ the "YYYY-MM-DDTHH:mm" of <input type="datetime-local"> (local time).
export function toLocalInput(iso: string | null | undefined): string {
    if (!iso) return "";
    const d = new Date(iso);
    const p = (n: number) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// The JSON value of one form value, or the field's error (never NaN, never a silent 0).
function jsonOf(field: FieldSpec, value: string | boolean): Parsed<unknown> {
    if (field.kind === "checkbox") return { ok: true, value: value === true };
    const text = String(value).trim();
    const rules = { min: field.min, max: field.max, empty: field.nullable ? { value: null } : undefined };
    if (field.kind === "money") return parseMoney(text, rules);
    if (field.kind === "number") return parseInteger(text, rules);
    if (field.kind === "datetime") {
        if (text === "") return field.nullable ? { ok: true, value: null } : { ok: false, error: "Required: enter a date and time." };
        const d = new Date(text);
        return Number.isNaN(d.getTime()) ? { ok: false, error: "Enter a date and time." } : { ok: true, value: d.toISOString() };
    }
    return { ok: true, value: text };
}

function shown(field: FieldSpec, value: string | boolean | undefined): string {
    if (field.kind === "checkbox") return value ? "yes" : "no";
    return value === undefined || value === "" ? "—" : String(value);
}

interface Props<T extends Versioned> {
    label: string; // the form's accessible name ("Edit product")
    fields: FieldSpec[];
    initial: T;
    values: (t: T) => Values;
    // PATCH the changed members with this If-Match; answers the status and body (call()).
    save: (patch: Record<string, unknown>, ifMatch: string) => Promise<Answer>;
    // GET the current server copy.
    reload: () => Promise<T>;
    onSaved?: (t: T) => void;
}

export function VersionedForm<T extends Versioned>({ label, fields, initial, values, save, reload, onSaved }: Props<T>) {
    const [base, setBase] = useState<T>(initial); // the version being edited
    const [form, setForm] = useState<Values>(() => values(initial));
    const [conflict, setConflict] = useState<T | null>(null); // the server's copy after a 412
    const [error, setError] = useState<unknown>(undefined);
    const [status, setStatus] = useState("");
    const [busy, setBusy] = useState(false);
    const [invalid, setInvalid] = useState<Record<string, string>>({}); // the browser's own field errors
    const formRef = useRef<HTMLFormElement>(null);

    const baseValues = values(base);
    const changed = fields.filter((f) => form[f.key] !== baseValues[f.key]);
    const fieldErrors = { ...(error instanceof ApiError ? error.fields() : {}), ...invalid };

    async function submit(onto: T, formValues: Values) {
        const original = values(onto);
        const patch: Record<string, unknown> = {};
        const errors: Record<string, string> = {};
        for (const f of fields) {
            if (formValues[f.key] === original[f.key]) continue;
            const parsed = jsonOf(f, formValues[f.key] ?? "");
            if (parsed.ok) patch[f.key] = parsed.value;
            else errors[f.key] = parsed.error;
        }
        setInvalid(errors);
        const wrong = Object.keys(errors);
        if (wrong.length > 0) {
            setError(undefined);
            setStatus(`Not saved: ${wrong.length === 1 ? "one field needs" : `${wrong.length} fields need`} fixing.`);
            formRef.current?.querySelector<HTMLElement>(`[name="${wrong[0]}"]`)?.focus();
            return;
        }
        if (Object.keys(patch).length === 0) {
            setStatus("Nothing to save: no field changed.");
            return;
        }
        setBusy(true);
        setError(undefined);
        setStatus("Saving…");
        try {
            const answer = await save(patch, `W/"${onto.version}"`);
            if (answer.status >= 200 && answer.status < 300) {
                const saved = answer.body as T;
                setBase(saved);
                setForm(values(saved));
                setConflict(null);
                setStatus(`Saved: now version ${saved.version}.`);
                onSaved?.(saved);
            } else if (answer.status === 412) {
                // Someone saved in between: keep the form as typed, fetch what the server has now.
                conflictWith(onto, await reload());
            } else {
                setStatus("");
                setError(new ApiError(answer.status, answer.body as Problem | undefined));
            }
        } catch (e) {
            setStatus("");
            setError(e);
        } finally {
            setBusy(false);
        }
    }

    function conflictWith(onto: T, current: T) {
        setConflict(current);
        setStatus(`Not saved: version ${onto.version} is out of date, the server has version ${current.version}.`);
    }

    // Re-apply: the server's copy with the user's changed fields on top, saved against its version.
    function reapply() {
        if (conflict === null) return;
        const merged = { ...values(conflict) };
        for (const f of changed) merged[f.key] = form[f.key] ?? "";
        setBase(conflict);
        setForm(merged);
        void submit(conflict, merged);
    }

    function discard() {
        if (conflict === null) return;
        setBase(conflict);
        setForm(values(conflict));
        setConflict(null);
        setStatus(`Your changes were discarded; showing version ${conflict.version}.`);
    }

    const theirs = conflict === null ? {} : values(conflict);
    return (
        <form
            ref={formRef}
            class="edit"
            aria-label={label}
            noValidate
            onSubmit={(e) => {
                e.preventDefault();
                if (conflict === null) void submit(base, form);
            }}
        >
            <p class="muted">Editing version {base.version}.</p>
            {fields.map((f) => {
                const id = `edit-${f.key}`;
                const err = fieldErrors[f.key];
                const described = [f.hint ? `${id}-hint` : "", err ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
                const common = { id, name: f.key, "aria-invalid": err ? ("true" as const) : undefined, "aria-describedby": described };
                const value = form[f.key];
                const set = (v: string | boolean) => {
                    setForm((old) => ({ ...old, [f.key]: v }));
                    if (invalid[f.key] !== undefined) {
                        setInvalid((old) => {
                            const next = { ...old };
                            delete next[f.key];
                            return next;
                        });
                    }
                };
                return (
                    <div class={f.kind === "checkbox" ? "field check" : "field"} key={f.key}>
                        {f.kind === "checkbox" ? (
                            <>
                                <input type="checkbox" {...common} checked={value === true} onChange={(e) => set(e.currentTarget.checked)} />
                                <label for={id}>{f.label}</label>
                            </>
                        ) : (
                            <>
                                <label for={id}>{f.label}</label>
                                {f.kind === "textarea" ? (
                                    <textarea {...common} rows={4} value={String(value ?? "")} onInput={(e) => set(e.currentTarget.value)} />
                                ) : f.kind === "datetime" ? (
                                    <input {...common} type="datetime-local" value={String(value ?? "")} onInput={(e) => set(e.currentTarget.value)} />
                                ) : (
                                    <input
                                        {...common}
                                        type="text"
                                        inputMode={f.kind === "money" ? "decimal" : f.kind === "number" ? "numeric" : undefined}
                                        value={String(value ?? "")}
                                        onInput={(e) => set(e.currentTarget.value)}
                                    />
                                )}
                            </>
                        )}
                        {f.hint && (
                            <span class="hint" id={`${id}-hint`}>
                                {f.hint}
                            </span>
                        )}
                        {err && (
                            <span class="field-error" id={`${id}-error`}>
                                {err}
                            </span>
                        )}
                    </div>
                );
            })}

            {conflict !== null && (
                <section class="conflict" aria-labelledby="conflict-title">
                    <h2 id="conflict-title">Version conflict</h2>
                    <p>
                        Someone saved version {conflict.version} while you were editing version {base.version}. Your edit is kept in the
                        form; compare it with the current version.
                    </p>
                    <table tabIndex={0}>
                        <caption class="visually-hidden">Your edit and the current server version</caption>
                        <thead>
                            <tr>
                                <th scope="col">Field</th>
                                <th scope="col">Your edit</th>
                                <th scope="col">Current (version {conflict.version})</th>
                            </tr>
                        </thead>
                        <tbody>
                            {fields
                                .filter((f) => changed.includes(f) || theirs[f.key] !== baseValues[f.key])
                                .map((f) => (
                                    <tr key={f.key} class={changed.includes(f) ? "mine" : undefined}>
                                        <th scope="row">
                                            {f.label}
                                            {changed.includes(f) ? " (you changed)" : ""}
                                        </th>
                                        <td data-testid={`mine-${f.key}`}>
                                            {changed.includes(f) ? shown(f, form[f.key]) : <span class="muted">not changed by you: keeps the current</span>}
                                        </td>
                                        <td data-testid={`theirs-${f.key}`}>{shown(f, theirs[f.key])}</td>
                                    </tr>
                                ))}
                        </tbody>
                    </table>
                    <div class="row">
                        <button type="button" onClick={reapply} disabled={busy || changed.length === 0}>
                            Re-apply my changes to version {conflict.version}
                        </button>
                        <button type="button" class="secondary" onClick={discard} disabled={busy}>
                            Discard my changes
                        </button>
                    </div>
                </section>
            )}

            <div class="row">
                <button type="submit" disabled={busy || conflict !== null}>
                    Save
                </button>
                {changed.length > 0 && conflict === null && <span class="muted">{changed.length} unsaved change(s)</span>}
            </div>
            <p role="status" class="status">
                {status}
            </p>
            <ErrorNotice error={error} />
        </form>
    );
}
