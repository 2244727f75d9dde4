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

function LastRun() {
    const status = useLoad(() => ok("/api/v1/admin/recommendations", "get", {}), []);
    const action = useAction();
    // After a rebuild is queued: the finish time it must move past, polled every 2 s.
    const [waitingFor, setWaitingFor] = useState<string | null | undefined>(undefined);
    useEffect(() => {
        if (waitingFor === undefined) return;
        const timer = setInterval(status.reload, 2000);
        return () => clearInterval(timer);
    }, [waitingFor, status.reload]);
    const finished = status.data?.last_run?.finished_at ?? null;
    const running = status.data?.running ?? false;
    const [done, setDone] = useState("");
    useEffect(() => {
        if (waitingFor !== undefined && !running && finished !== null && finished !== waitingFor) {
            setWaitingFor(undefined);
            setDone(`Rebuild finished at ${when(finished)}.`);
        }
    }, [finished, running, waitingFor]);

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
                    disabled={action.busy || waitingFor !== undefined}
                    onClick={() =>
                        action.run(async () => {
                            setDone("");
                            const { job_id } = await ok("/api/v1/admin/recommendations/rebuild", "post", {});
                            setWaitingFor(finished);
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
