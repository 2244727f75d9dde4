// Promotions: the list (newest first), a creation form, one promotion's edit form (versioned).
import { useState } from "preact/hooks";

import { ApiError, call, ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { parseMoney, parsePercent } from "../shared/parse";
import { ErrorNotice, Field, money, Show, useLoad, when } from "../shared/ui";
import { Badge, Pager, usePager, useTitle } from "./bits";
import { toLocalInput, toMoney, VersionedForm } from "./versioned";
import type { FieldSpec } from "./versioned";

type Promotion = Schemas["Promotion"];

function valueText(p: Promotion): string {
    if (p.kind === "percentage") return `${p.value / 100}%`;
    if (p.kind === "fixed_amount") return money(p.value, p.currency);
    return "free shipping";
}

export function PromotionsPage() {
    useTitle("Promotions");
    const active = route.value.query.get("active") ?? "";
    const pager = usePager([active]);
    const list = useLoad(
        () => ok("/api/v1/admin/promotions", "get", { query: { limit: 25, cursor: pager.cursor, active: active === "" ? undefined : active === "true" } }),
        [active, pager.cursor],
    );
    return (
        <>
            <h1>Promotions</h1>
            <div class="field narrow">
                <label for="promo-active">Show</label>
                <select id="promo-active" value={active} onChange={(e) => navigate("/promotions", { active: e.currentTarget.value })}>
                    <option value="">All</option>
                    <option value="true">Active only</option>
                    <option value="false">Inactive only</option>
                </select>
            </div>
            <Show loaded={list} what="promotions">
                {(page) => (
                    <>
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Promotions</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Name</th>
                                    <th scope="col">Code</th>
                                    <th scope="col">Discount</th>
                                    <th scope="col">Window</th>
                                    <th scope="col">Redeemed</th>
                                    <th scope="col">Status</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.map((p) => (
                                    <tr key={p.id}>
                                        <td>
                                            <a href={href(`/promotions/${p.id}`)}>{p.name}</a>
                                        </td>
                                        <td>{p.code ?? <span class="muted">automatic</span>}</td>
                                        <td>{valueText(p)}</td>
                                        <td>
                                            {p.starts_at ? when(p.starts_at) : "always"} – {p.ends_at ? when(p.ends_at) : "no end"}
                                        </td>
                                        <td>
                                            {p.redeemed}
                                            {p.usage_limit !== null ? ` of ${p.usage_limit}` : ""}
                                        </td>
                                        <td>
                                            <Badge value={p.is_active ? "active" : "inactive"} />
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        {page.items.length === 0 && <p>No promotions.</p>}
                        <Pager pager={pager} nextCursor={page.next_cursor} label="Promotions" />
                    </>
                )}
            </Show>
            <NewPromotion onCreated={(p) => navigate(`/promotions/${p.id}`)} />
        </>
    );
}

function NewPromotion({ onCreated }: { onCreated: (p: Promotion) => void }) {
    const [form, setForm] = useState({ name: "", code: "", kind: "percentage", value: "", currency: "USD" });
    const [error, setError] = useState<unknown>(undefined);
    const [busy, setBusy] = useState(false);
    const [valueError, setValueError] = useState<string | undefined>(undefined); // the browser's own check
    const fields = error instanceof ApiError ? error.fields() : {};
    const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) => {
        setForm({ ...form, [k]: e.currentTarget.value });
        if (k === "value" || k === "kind") setValueError(undefined);
    };
    async function submit(e: Event) {
        e.preventDefault();
        // Percentages are typed in percent and sent in basis points (1 to 10000); fixed amounts in
        // money, sent in cents (at least 1). Empty or malformed: the field's error, nothing sent.
        const parsed =
            form.kind === "free_shipping"
                ? ({ ok: true, value: 0 } as const)
                : form.kind === "percentage"
                  ? parsePercent(form.value, { min: 1, max: 10_000 })
                  : parseMoney(form.value, { min: 1, max: 100_000_000_000 });
        if (!parsed.ok) {
            setError(undefined);
            setValueError(parsed.error);
            document.getElementById("f-promo-value")?.focus();
            return;
        }
        const value = parsed.value;
        setValueError(undefined);
        setBusy(true);
        setError(undefined);
        try {
            const kind = form.kind as Promotion["kind"];
            onCreated(await ok("/api/v1/admin/promotions", "post", { body: { name: form.name, code: form.code.trim() || null, kind, value, currency: form.currency } }));
        } catch (err) {
            setError(err);
        } finally {
            setBusy(false);
        }
    }
    return (
        <section aria-labelledby="new-promo-title">
            <h2 id="new-promo-title">New promotion</h2>
            <form onSubmit={submit} aria-labelledby="new-promo-title" class="grid-form" noValidate>
                <Field label="Name" name="promo-name" required value={form.name} onInput={set("name")} error={fields.name} />
                <Field label="Code (empty: applies automatically)" name="promo-code" value={form.code} onInput={set("code")} error={fields.code} />
                <div class="field">
                    <label for="promo-kind">Kind</label>
                    <select id="promo-kind" value={form.kind} onChange={set("kind")}>
                        <option value="percentage">Percentage off</option>
                        <option value="fixed_amount">Fixed amount off</option>
                        <option value="free_shipping">Free shipping</option>
                    </select>
                </div>
                {form.kind !== "free_shipping" && (
                    <Field
                        label={form.kind === "percentage" ? "Percent off" : `Amount off (${form.currency})`}
                        name="promo-value"
                        inputMode="decimal"
                        required
                        value={form.value}
                        onInput={set("value")}
                        error={valueError ?? fields.value}
                    />
                )}
                <Field label="Currency" name="promo-currency" value={form.currency} onInput={set("currency")} error={fields.currency} />
                <div>
                    <button type="submit" disabled={busy}>
                        Create promotion
                    </button>
                </div>
            </form>
            <ErrorNotice error={error} />
        </section>
    );
}

const promotionFields = (p: Promotion): FieldSpec[] => [
    { key: "name", label: "Name", kind: "text" },
    {
        key: "value",
        label: p.kind === "percentage" ? "Value (basis points: 1000 = 10%)" : p.kind === "fixed_amount" ? `Value (cents, ${p.currency})` : "Value (0 for free shipping)",
        kind: "number",
        min: 0,
        max: 100_000_000_000,
    },
    { key: "min_subtotal_cents", label: `Minimum subtotal (${p.currency})`, kind: "money", min: 0, max: 100_000_000_000 },
    // The nullable ones: the API documents null as "no start", "no end", "no limit".
    { key: "starts_at", label: "Starts", kind: "datetime", nullable: true, hint: "Empty: no start." },
    { key: "ends_at", label: "Ends (exclusive)", kind: "datetime", nullable: true, hint: "Empty: no end." },
    { key: "priority", label: "Priority (lower applies first)", kind: "number", min: -1000, max: 1000 },
    { key: "usage_limit", label: "Usage limit", kind: "number", nullable: true, hint: "Empty: no limit.", min: 1, max: 100_000_000_000 },
    { key: "per_customer_limit", label: "Per-customer limit", kind: "number", nullable: true, hint: "Empty: no limit.", min: 1, max: 1_000_000 },
    { key: "exclusive", label: "Exclusive (no other promotion with it)", kind: "checkbox" },
    { key: "first_order_only", label: "First order only", kind: "checkbox" },
    { key: "is_active", label: "Active", kind: "checkbox" },
];
const promotionValues = (p: Promotion) => ({
    name: p.name,
    value: String(p.value),
    min_subtotal_cents: toMoney(p.min_subtotal_cents),
    starts_at: toLocalInput(p.starts_at),
    ends_at: toLocalInput(p.ends_at),
    priority: String(p.priority),
    usage_limit: p.usage_limit === null ? "" : String(p.usage_limit),
    per_customer_limit: p.per_customer_limit === null ? "" : String(p.per_customer_limit),
    exclusive: p.exclusive,
    first_order_only: p.first_order_only,
    is_active: p.is_active,
});

export function PromotionPage({ id }: { id: number }) {
    const promotion = useLoad(() => ok("/api/v1/admin/promotions/{id}", "get", { path: { id } }), [id]);
    useTitle(promotion.data ? `Promotion ${promotion.data.name}` : `Promotion ${id}`);
    return (
        <>
            <p>
                <a href="#/promotions">← Promotions</a>
            </p>
            <h1>Promotion {promotion.data ? `“${promotion.data.name}”` : id}</h1>
            <Show loaded={promotion} what="the promotion">
                {(p) => (
                    <>
                        <p class="muted">
                            {p.code ? `Code ${p.code}` : "Automatic"} · {valueText(p)} · redeemed {p.redeemed} times · the code and kind never change
                        </p>
                        <VersionedForm
                            key={p.id}
                            label="Edit promotion"
                            fields={promotionFields(p)}
                            initial={p}
                            values={promotionValues}
                            save={(patch, ifMatch) =>
                                call("/api/v1/admin/promotions/{id}", "patch", { path: { id }, header: { "If-Match": ifMatch }, body: patch })
                            }
                            reload={() => ok("/api/v1/admin/promotions/{id}", "get", { path: { id } })}
                        />
                    </>
                )}
            </Show>
        </>
    );
}
