// Jobs: queue depth and the age of the oldest job per queue as live charts (GET /admin/jobs every
// 5 s; the last 10 minutes are kept in memory, across visits to the page), the figures as a table,
// and the dead letters with retry.
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";

import { ok } from "../shared/api";
import type { Schemas } from "../shared/api";
import { ErrorNotice, Show, useLoad, when } from "../shared/ui";
import { Outcome, useAction, useTitle } from "./bits";

type QueueStats = Schemas["QueueStats"];

const kPollMs = 5000;
const kWindow = 120; // samples: 10 minutes at 5 s
const colors = ["#0b57d0", "#b3261e", "#146c2e", "#7a4b00", "#6a1b9a", "#00695c", "#37474f"];

interface Sample {
    t: number; // unix seconds
    queues: QueueStats[];
}
// The rolling window, module-wide so that leaving the page and coming back keeps the history.
const history: Sample[] = [];

function usePolledStats() {
    const [samples, setSamples] = useState<Sample[]>(() => [...history]);
    const [error, setError] = useState<unknown>(undefined);
    useEffect(() => {
        let live = true;
        async function poll() {
            try {
                const stats = await ok("/api/v1/admin/jobs", "get", {});
                history.push({ t: Date.now() / 1000, queues: stats.queues });
                if (history.length > kWindow) history.splice(0, history.length - kWindow);
                if (live) {
                    setSamples([...history]);
                    setError(undefined);
                }
            } catch (e) {
                if (live) setError(e);
            }
        }
        void poll();
        const timer = setInterval(poll, kPollMs);
        return () => {
            live = false;
            clearInterval(timer);
        };
    }, []);
    return { samples, error };
}

// One uPlot chart of `value` per queue over the samples; resized with its container.
function Chart({ title, samples, value, unit }: { title: string; samples: Sample[]; value: (q: QueueStats) => number | null; unit: string }) {
    const box = useRef<HTMLDivElement>(null);
    const plot = useRef<uPlot | null>(null);
    const names = samples[samples.length - 1]?.queues.map((q) => q.queue) ?? [];
    const key = names.join(",");

    const data = (): uPlot.AlignedData => [
        samples.map((s) => s.t),
        ...names.map((name) => samples.map((s) => {
            const q = s.queues.find((x) => x.queue === name);
            return q === undefined ? null : value(q);
        })),
    ];

    // (Re)create the chart when the set of queues changes.
    useEffect(() => {
        const el = box.current;
        if (el === null || names.length === 0) return;
        const chart = new uPlot(
            {
                width: Math.max(280, el.clientWidth),
                height: 220,
                series: [{}, ...names.map((name, i) => ({ label: name, stroke: colors[i % colors.length], width: 2, spanGaps: true }))],
                axes: [{}, { label: unit, size: 60 }],
                // Always the whole window, ending at the latest sample (one sample alone has no span).
                scales: { x: { time: true, range: (_u, _min, max) => [max - (kWindow * kPollMs) / 1000, max] } },
                legend: { live: false },
            },
            data(),
            el,
        );
        plot.current = chart;
        const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 220 }));
        resize.observe(el);
        return () => {
            resize.disconnect();
            chart.destroy();
            plot.current = null;
        };
    }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

    useEffect(() => {
        plot.current?.setData(data());
    }, [samples]); // eslint-disable-line react-hooks/exhaustive-deps

    return (
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div ref={box} role="img" aria-label={`${title}: a line per queue over the last ${samples.length} samples; the table below has the latest figures.`} />
        </figure>
    );
}

export function JobsPage() {
    useTitle("Jobs");
    const { samples, error } = usePolledStats();
    const latest = samples[samples.length - 1];
    return (
        <>
            <h1>Jobs</h1>
            <p class="muted">Live: refreshed every 5 seconds; the charts keep the last 10 minutes while the console is open.</p>
            <ErrorNotice error={error} />
            <div class="charts">
                <Chart title="Queue depth (jobs waiting: pending + delayed)" samples={samples} value={(q) => q.pending + q.delayed} unit="jobs" />
                <Chart title="Age of the oldest waiting job" samples={samples} value={(q) => (q.oldest_age_ms === null ? 0 : q.oldest_age_ms / 1000)} unit="seconds" />
            </div>
            {latest && (
                <table tabIndex={0}>
                    <caption>Queues as of {new Date(latest.t * 1000).toLocaleTimeString("en-GB")}</caption>
                    <thead>
                        <tr>
                            <th scope="col">Queue</th>
                            <th scope="col">Pending</th>
                            <th scope="col">In progress</th>
                            <th scope="col">Delayed</th>
                            <th scope="col">Dead</th>
                            <th scope="col">Oldest</th>
                            <th scope="col">Succeeded</th>
                            <th scope="col">Retried</th>
                        </tr>
                    </thead>
                    <tbody>
                        {latest.queues.map((q) => (
                            <tr key={q.queue}>
                                <th scope="row">{q.queue}</th>
                                <td>{q.pending}</td>
                                <td>{q.in_progress}</td>
                                <td>{q.delayed}</td>
                                <td>{q.dead}</td>
                                <td>{q.oldest_age_ms === null ? "—" : `${(q.oldest_age_ms / 1000).toFixed(1)} s`}</td>
                                <td>{q.outcomes.succeeded ?? 0}</td>
                                <td>{q.outcomes.retried ?? 0}</td>
                            </tr>
                        ))}
                    </tbody>
                </table>
            )}
            <DeadLetters />
        </>
    );
}

function DeadLetters() {
    const dead = useLoad(() => ok("/api/v1/admin/jobs/dead", "get", { query: { limit: 50 } }), []);
    const action = useAction();
    return (
        <section aria-labelledby="dead-title">
            <h2 id="dead-title">Dead letters</h2>
            <div class="row">
                <button type="button" class="secondary" onClick={dead.reload} disabled={dead.loading}>
                    Refresh dead letters
                </button>
                <Outcome action={action} />
            </div>
            <Show loaded={dead} what="dead letters">
                {(list) =>
                    list.items.length === 0 ? (
                        <p>No dead jobs.</p>
                    ) : (
                        <table tabIndex={0}>
                            <caption class="visually-hidden">Dead-lettered jobs, newest first</caption>
                            <thead>
                                <tr>
                                    <th scope="col">Job</th>
                                    <th scope="col">Queue</th>
                                    <th scope="col">Failed</th>
                                    <th scope="col">Attempts</th>
                                    <th scope="col">Error</th>
                                    <th scope="col">Action</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.items.map((d) => (
                                    <tr key={d.id}>
                                        <td>
                                            {d.job.type} <span class="muted">{d.job.id}</span>
                                        </td>
                                        <td>{d.queue}</td>
                                        <td>{when(new Date(d.failed_ms).toISOString())}</td>
                                        <td>{d.job.attempt}</td>
                                        <td class="wrap">{d.error}</td>
                                        <td>
                                            <button
                                                type="button"
                                                disabled={action.busy}
                                                aria-label={`Retry job ${d.job.type} ${d.job.id}`}
                                                onClick={() =>
                                                    action.run(async () => {
                                                        const r = await ok("/api/v1/admin/jobs/dead/{id}/retry", "post", { path: { id: d.id } });
                                                        dead.reload();
                                                        return `Job ${r.requeued.type} ${r.requeued.id} is back in its queue.`;
                                                    })
                                                }
                                            >
                                                Retry
                                            </button>
                                        </td>
                                    </tr>
                                ))}
                            </tbody>
                        </table>
                    )
                }
            </Show>
        </section>
    );
}
