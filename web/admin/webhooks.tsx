// Webhooks: the endpoints (create, enable/disable, rotate the secret), an endpoint's delivery log
// with replay, and one delivery's body and attempts.
import { useEffect, useRef, useState } from "preact/hooks";

import { ApiError, ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { ErrorNotice, Field, Show, useLoad, when } from "../shared/ui";
import { Badge, Facts, Outcome, Pager, useAction, usePager, useTitle } from "./bits";

type Delivery = Schemas["WebhookDelivery"];
type DeliveryStatus = Delivery["status"];

export function WebhooksPage() {
    useTitle("Webhooks");
    const list = useLoad(() => ok("/api/v1/admin/webhook-endpoints", "get", {}), []);
    const [secret, setSecret] = useState<{ id: number; secret: string } | null>(null);
    // The new secret goes into one live region, there from the first render (a region inserted with
    // its text is often not announced), and focus moves to it: it is shown only once.
    const notice = useRef<HTMLDivElement>(null);
    useEffect(() => {
        if (secret !== null) notice.current?.focus();
    }, [secret]);
    return (
        <>
            <h1>Webhooks</h1>
            <div role="status" tabIndex={-1} ref={notice}>
                {secret && (
                    <div class="notice">
                        <p>
                            The signing secret of endpoint {secret.id} (shown only now): <code>{secret.secret}</code>
                        </p>
                    </div>
                )}
            </div>
            <Show loaded={list} what="webhook endpoints">
                {(l) =>
                    l.items.length === 0 ? (
                        <p>No endpoints yet.</p>
                    ) : (
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Webhook endpoints</caption>
                            <thead>
                                <tr>
                                    <th scope="col">URL</th>
                                    <th scope="col">Events</th>
                                    <th scope="col">Description</th>
                                    <th scope="col">Status</th>
                                    <th scope="col">Actions</th>
                                </tr>
                            </thead>
                            <tbody>
                                {l.items.map((w) => (
                                    <tr key={w.id}>
                                        <td class="wrap">
                                            <a href={href(`/webhooks/${w.id}`)}>{w.url}</a>
                                        </td>
                                        <td>{w.events.join(", ")}</td>
                                        <td>{w.description || "—"}</td>
                                        <td>
                                            <Badge value={w.enabled ? "enabled" : "disabled"} />
                                        </td>
                                        <td>
                                            <EndpointActions id={w.id} enabled={w.enabled} onChange={list.reload} onSecret={(s) => setSecret({ id: w.id, secret: s })} />
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    )
                }
            </Show>
            <NewEndpoint
                onCreated={(id, s) => {
                    setSecret({ id, secret: s });
                    list.reload();
                }}
            />
        </>
    );
}

function EndpointActions({ id, enabled, onChange, onSecret }: { id: number; enabled: boolean; onChange: () => void; onSecret: (s: string) => void }) {
    const action = useAction();
    return (
        <div class="row">
            <button
                type="button"
                class="secondary"
                disabled={action.busy}
                onClick={() =>
                    action.run(async () => {
                        await ok("/api/v1/admin/webhook-endpoints/{id}", "patch", { path: { id }, body: { enabled: !enabled } });
                        onChange();
                        return enabled ? "Disabled." : "Enabled.";
                    })
                }
            >
                {enabled ? "Disable" : "Enable"} endpoint {id}
            </button>
            <button
                type="button"
                class="secondary"
                disabled={action.busy}
                onClick={() =>
                    action.run(async () => {
                        onSecret((await ok("/api/v1/admin/webhook-endpoints/{id}/secret", "post", { path: { id } })).secret);
                        return "New secret made.";
                    })
                }
            >
                Rotate secret of {id}
            </button>
            <Outcome action={action} />
        </div>
    );
}

function NewEndpoint({ onCreated }: { onCreated: (id: number, secret: string) => void }) {
    const [url, setUrl] = useState("");
    const [events, setEvents] = useState("*");
    const [description, setDescription] = useState("");
    const [error, setError] = useState<unknown>(undefined);
    const fields = error instanceof ApiError ? error.fields() : {};
    async function submit(e: Event) {
        e.preventDefault();
        setError(undefined);
        try {
            const list = events.split(",").map((s) => s.trim()).filter(Boolean);
            const created = await ok("/api/v1/admin/webhook-endpoints", "post", { body: { url, events: list, description } });
            setUrl("");
            onCreated(created.id, created.secret);
        } catch (err) {
            setError(err);
        }
    }
    return (
        <section aria-labelledby="new-hook-title">
            <h2 id="new-hook-title">New endpoint</h2>
            <form onSubmit={submit} aria-labelledby="new-hook-title" class="grid-form">
                <Field label="URL" name="hook-url" type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} error={fields.url} />
                <Field
                    label="Events (comma-separated: order.paid, order.*, *)"
                    name="hook-events"
                    required
                    value={events}
                    onInput={(e) => setEvents(e.currentTarget.value)}
                    error={fields.events}
                />
                <Field label="Description" name="hook-description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
                <div>
                    <button type="submit">Add endpoint</button>
                </div>
            </form>
            <ErrorNotice error={error} />
        </section>
    );
}

const deliveryStatuses: DeliveryStatus[] = ["pending", "retrying", "succeeded", "dead"];

export function WebhookPage({ id }: { id: number }) {
    useTitle(`Webhook endpoint ${id}`);
    const status = (route.value.query.get("status") ?? "") as DeliveryStatus | "";
    const endpoint = useLoad(() => ok("/api/v1/admin/webhook-endpoints/{id}", "get", { path: { id } }), [id]);
    const pager = usePager([id, status]);
    const deliveries = useLoad(
        () =>
            ok("/api/v1/admin/webhook-endpoints/{id}/deliveries", "get", {
                path: { id },
                query: { limit: 25, cursor: pager.cursor, status: status || undefined },
            }),
        [id, status, pager.cursor],
    );
    const action = useAction();
    return (
        <>
            <p>
                <a href="#/webhooks">← Webhooks</a>
            </p>
            <h1>Webhook endpoint {id}</h1>
            <Show loaded={endpoint} what="the endpoint">
                {(w) => (
                    <Facts
                        items={[
                            ["URL", w.url],
                            ["Events", w.events.join(", ")],
                            ["Status", <Badge value={w.enabled ? "enabled" : "disabled"} />],
                            ["Created", when(w.created_at)],
                        ]}
                    />
                )}
            </Show>
            <h2>Delivery log</h2>
            <div class="field narrow">
                <label for="delivery-status">Status</label>
                <select id="delivery-status" value={status} onChange={(e) => navigate(`/webhooks/${id}`, { status: e.currentTarget.value })}>
                    <option value="">Any</option>
                    {deliveryStatuses.map((s) => (
                        <option key={s} value={s}>
                            {s}
                        </option>
                    ))}
                </select>
            </div>
            <Outcome action={action} />
            <Show loaded={deliveries} what="deliveries">
                {(page) => (
                    <>
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Deliveries, newest first</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Delivery</th>
                                    <th scope="col">Event</th>
                                    <th scope="col">Status</th>
                                    <th scope="col">Attempts</th>
                                    <th scope="col">Last answer</th>
                                    <th scope="col">Created</th>
                                    <th scope="col">Action</th>
                                </tr>
                            </thead>
                            <tbody>
                                {page.items.map((d) => (
                                    <tr key={d.id}>
                                        <td>
                                            <a href={href(`/deliveries/${d.id}`)}>#{d.id}</a>
                                        </td>
                                        <td>{d.event_type}</td>
                                        <td>
                                            <Badge value={d.status} />
                                        </td>
                                        <td>{d.attempts}</td>
                                        <td class="wrap">{d.last_status_code ?? d.last_error ?? "—"}</td>
                                        <td>{when(d.created_at)}</td>
                                        <td>
                                            {(d.status === "dead" || d.status === "succeeded") && (
                                                <button
                                                    type="button"
                                                    class="secondary"
                                                    disabled={action.busy}
                                                    onClick={() =>
                                                        action.run(async () => {
                                                            await ok("/api/v1/admin/webhook-deliveries/{id}/replay", "post", { path: { id: d.id } });
                                                            deliveries.reload();
                                                            return `Delivery #${d.id} queued again.`;
                                                        })
                                                    }
                                                >
                                                    Replay #{d.id}
                                                </button>
                                            )}
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        {page.items.length === 0 && <p>No deliveries.</p>}
                        <Pager pager={pager} nextCursor={page.next_cursor} label="Deliveries" />
                    </>
                )}
            </Show>
        </>
    );
}

export function DeliveryPage({ id }: { id: number }) {
    useTitle(`Delivery ${id}`);
    const delivery = useLoad(() => ok("/api/v1/admin/webhook-deliveries/{id}", "get", { path: { id } }), [id]);
    return (
        <>
            <h1>Delivery #{id}</h1>
            <Show loaded={delivery} what="the delivery">
                {(d) => (
                    <>
                        <p>
                            <a href={href(`/webhooks/${d.endpoint_id}`)}>← Endpoint {d.endpoint_id}</a>
                        </p>
                        <Facts
                            items={[
                                ["Event", `${d.event_type} (${d.event_id})`],
                                ["Status", <Badge value={d.status} />],
                                ["Attempts", d.attempts],
                                ["Replays", d.replays],
                                ["Delivered", d.delivered_at ? when(d.delivered_at) : "—"],
                            ]}
                        />
                        <h2>Attempts</h2>
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Every attempt, oldest first</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Attempt</th>
                                    <th scope="col">Started</th>
                                    <th scope="col">Duration</th>
                                    <th scope="col">Answer</th>
                                    <th scope="col">Response</th>
                                </tr>
                            </thead>
                            <tbody>
                                {d.log.map((a) => (
                                    <tr key={a.attempt}>
                                        <td>{a.attempt}</td>
                                        <td>{when(a.started_at)}</td>
                                        <td>{a.duration_ms} ms</td>
                                        <td class="wrap">{a.status_code ?? a.error ?? "—"}</td>
                                        <td class="wrap">
                                            <code>{a.response_excerpt}</code>
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                        <h2>Body</h2>
                        <pre class="body" tabIndex={0} aria-label="Delivery body">
                            {d.body}
                        </pre>
                    </>
                )}
            </Show>
        </>
    );
}
