// Recommendations: the last rebuild of the "bought together" pairs, a rebuild (it runs in the
// worker: the page polls until a newer run finishes), and a product's neighbours.
import { useEffect, useState } from "preact/hooks";

import { ok } from "../shared/api";
import { href, navigate, route } from "../shared/router";
import { money, Show, useLoad, when } from "../shared/ui";
import { Facts, Outcome, useAction, useTitle } from "./bits";

export function RecommendationsPage() {
    useTitle("Recommendations");
    const product = Number(route.value.query.get("product") ?? "") || undefined;
    const [text, setText] = useState(product ? String(product) : "");
    return (
        <>
            <h1>Recommendations</h1>
            <LastRun />
            <section aria-labelledby="neighbours-title">
                <h2 id="neighbours-title">Neighbours of a product</h2>
                <form
                    class="row filters"
                    onSubmit={(e) => {
                        e.preventDefault();
                        navigate("/recommendations", { product: text.trim() });
                    }}
                >
                    <div class="field">
                        <label for="neighbours-product">Product ID</label>
                        <input id="neighbours-product" inputMode="numeric" value={text} onInput={(e) => setText(e.currentTarget.value)} />
                    </div>
                    <button type="submit">Show neighbours</button>
                </form>
                {product ? <Neighbours id={product} /> : <p class="muted">Enter a product ID (or follow “Also bought” on a product).</p>}
            </section>
        </>
    );
}

// How long "Rebuild now" waits for the worker to finish the run before it says it gave up.
const kRebuildWaitMs = 60_000;
const kRebuildPollMs = 2000;

function LastRun() {
    const status = useLoad(() => ok("/api/v1/admin/recommendations", "get", {}), []);
    const action = useAction();
    const finished = status.data?.last_run?.finished_at ?? null;
    const running = status.data?.running ?? false;
    // After a rebuild is queued: the last finish time read when the button was pressed (a run must
    // finish after it to be this one) and when to give up. One timer, cleared on unmount.
    const [waiting, setWaiting] = useState<{ since: string | null; deadline: number } | null>(null);
    const [done, setDone] = useState("");
    useEffect(() => {
        if (waiting === null) return;
        const newer = finished !== null && (waiting.since === null || Date.parse(finished) > Date.parse(waiting.since));
        if (!running && newer) {
            setWaiting(null);
            setDone(`Rebuild finished at ${when(finished)}.`);
            return;
        }
        const left = waiting.deadline - Date.now();
        if (left <= 0) {
            setWaiting(null);
            setDone(`The rebuild has not finished yet after ${kRebuildWaitMs / 1000} s — the worker may be down. The job stays queued; check again later.`);
            return;
        }
        const timer = setTimeout(status.reload, Math.min(kRebuildPollMs, left));
        return () => clearTimeout(timer);
    }, [waiting, finished, running, status.data, status.error, status.reload]);

    return (
        <section aria-labelledby="run-title">
            <h2 id="run-title">Last rebuild</h2>
            <Show loaded={status} what="the last rebuild">
                {(s) =>
                    s.last_run === null ? (
                        <p>Never rebuilt (scoring: {s.scoring}){s.running ? "; a rebuild is running now" : ""}.</p>
                    ) : (
                        <Facts
                            items={[
                                ["Scoring", s.scoring],
                                ["Now", s.running ? "rebuilding…" : "idle"],
                                ["Finished", when(s.last_run.finished_at)],
                                ["Baskets", s.last_run.baskets],
                                ["Products", s.last_run.products],
                                ["Pairs", s.last_run.pairs],
                                ["Products dropped", s.last_run.removed],
                                ["Took", `${s.last_run.seconds.toFixed(2)} s`],
                            ]}
                        />
                    )
                }
            </Show>
            <div class="row">
                <button
                    type="button"
                    disabled={action.busy || waiting !== null}
                    onClick={() =>
                        action.run(async () => {
                            setDone("");
                            // The last finish as of now (the page's copy may be older): a run that
                            // finishes after it is this one.
                            const since = (await ok("/api/v1/admin/recommendations", "get", {})).last_run?.finished_at ?? null;
                            const { job_id } = await ok("/api/v1/admin/recommendations/rebuild", "post", {});
                            setWaiting({ since, deadline: Date.now() + kRebuildWaitMs });
                            return `Rebuild queued (job ${job_id}); it runs in the worker.`;
                        })
                    }
                >
                    Rebuild now
                </button>
                <Outcome action={action} />
                <span role="status" class="status">
                    {done}
                </span>
            </div>
        </section>
    );
}

function Neighbours({ id }: { id: number }) {
    const list = useLoad(() => ok("/api/v1/products/{id}/also-bought", "get", { path: { id }, query: { limit: 20 } }), [id]);
    return (
        <Show loaded={list} what="neighbours">
            {(l) =>
                l.items.length === 0 ? (
                    <p>Product {id} was never bought together with another product.</p>
                ) : (
                    <table tabIndex={0}>
                        <caption>
                            Bought with <a href={href(`/products/${id}`)}>product {id}</a>, best first ({l.scoring})
                        </caption>
                        <thead>
                            <tr>
                                <th scope="col">Product</th>
                                <th scope="col">Score</th>
                                <th scope="col">Price</th>
                                <th scope="col">Sold</th>
                            </tr>
                        </thead>
                        <tbody>
                            {l.items.map((p) => (
                                <tr key={p.id}>
                                    <td>
                                        <a href={href(`/products/${p.id}`)}>{p.name}</a>
                                    </td>
                                    <td>{p.score === null || p.score === undefined ? "—" : p.score.toFixed(3)}</td>
                                    <td>{money(p.price.amount_cents, p.price.currency)}</td>
                                    <td>{p.purchase_count}</td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                )
            }
        </Show>
    );
}
