/**
 * Where an order's latency goes: each accepted order's time from POST to push split into the
 * four stages between the timestamps the databases keep, so a missed latency target shows which
 * hop it is missed in.
 *
 * - placed: from the order's start (its send in a closed loop, its schedule in an open loop) to
 *   `orders.created_at` (the gateway, the RPC to an orders node, the wait for its insert);
 * - to payment: to `order_payments.created_at` (the insert's commit, the publish of
 *   `orders.to_pay`, the payments consumer's wait for a batch);
 * - to result: to `orders.updated_at` (the payment batch, its commit, the publish of
 *   `payment.results`, the orders consumer's wait);
 * - to push: to the push's arrival (the results' commit, the Redis publish, the gateway's emit).
 *
 * PostgreSQL's `now()` is its transaction's start, so a stage's end is when the batch that took
 * the order began: the time spent inside that batch falls in the next stage. The bench, the
 * databases and the nodes share one machine and so one wall clock.
 */
import { ascending, percentile, round, Run } from "./bench-load";
import type { BenchDatabases } from "./bench-checks";

export const STAGES = ["placed", "to payment", "to result", "to push"] as const;
type Stage = (typeof STAGES)[number];

export interface StageFigures {
	/** Orders whose four timestamps were all found (a refused POST has none). */
	orders: number;
	ms: Record<Stage, { p50: number; p99: number }>;
}

/** A `performance.now()` time as epoch ms, the databases' clock. */
export const epochMs = (performanceMs: number) => performance.timeOrigin + performanceMs;

/** An order's row times, epoch ms: its insert, and its last update (the result applied). */
export interface StoredTimes {
	created: number;
	updated: number;
}

/**
 * The stage figures of a run from its orders' rows (`stored`) and payments (`paid`, epoch ms);
 * an order missing any of its four timestamps is left out, and `orders` says how many counted.
 */
export function stageFigures(
	run: Pick<Run, "acceptedBy" | "startOf" | "pushed">,
	stored: Map<string, StoredTimes>,
	paid: Map<string, number>,
): StageFigures {
	const spans: Record<Stage, number[]> = {
		placed: [],
		"to payment": [],
		"to result": [],
		"to push": [],
	};
	for (const id of run.acceptedBy.keys()) {
		const start = run.startOf.get(id);
		const push = run.pushed.get(id);
		const row = stored.get(id);
		const payment = paid.get(id);
		if (start === undefined || !push || !row || payment === undefined) continue;
		spans.placed.push(row.created - epochMs(start));
		spans["to payment"].push(payment - row.created);
		spans["to result"].push(row.updated - payment);
		spans["to push"].push(epochMs(push.at) - row.updated);
	}
	const ms = {} as StageFigures["ms"];
	for (const stage of STAGES) {
		const sorted = spans[stage].sort(ascending);
		ms[stage] = sorted.length
			? { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)) }
			: { p50: NaN, p99: NaN };
	}
	return { orders: spans.placed.length, ms };
}

async function runStages({ orders, payments }: BenchDatabases, run: Run): Promise<StageFigures> {
	const ids = [...run.acceptedBy.keys()];
	const stored = new Map<string, StoredTimes>();
	const paid = new Map<string, number>();
	for (let i = 0; i < ids.length; i += 5000) {
		const slice = ids.slice(i, i + 5000);
		const rows: { id: string; created: number; updated: number }[] = await orders("orders")
			.whereIn("id", slice)
			.select(
				"id",
				orders.raw("extract(epoch FROM created_at) * 1000 AS created"),
				orders.raw("extract(epoch FROM updated_at) * 1000 AS updated"),
			);
		for (const r of rows)
			stored.set(String(r.id), { created: Number(r.created), updated: Number(r.updated) });
		const payRows: { order_id: string; at: number }[] = await payments("order_payments")
			.whereIn("order_id", slice)
			.select("order_id", payments.raw("extract(epoch FROM created_at) * 1000 AS at"));
		for (const r of payRows) paid.set(String(r.order_id), Number(r.at));
	}
	return stageFigures(run, stored, paid);
}

/** Each run's stage figures, read from the bench databases after the runs. */
export async function stageLatencies(
	db: BenchDatabases,
	runs: Run[],
): Promise<{ name: string; stages: StageFigures }[]> {
	const out: { name: string; stages: StageFigures }[] = [];
	for (const run of runs) out.push({ name: run.result.name, stages: await runStages(db, run) });
	return out;
}

/** One row per run: each stage's p50 / p99 in ms. */
export function stagesTable(runs: { name: string; stages: StageFigures }[]): string {
	const head = ["run", ...STAGES.map(s => `${s} p50 / p99 ms`), "orders timed"];
	const rows = runs.map(r => [
		r.name,
		...STAGES.map(s => `${r.stages.ms[s].p50} / ${r.stages.ms[s].p99}`),
		String(r.stages.orders),
	]);
	return [head, head.map(() => "---"), ...rows].map(cells => `| ${cells.join(" | ")} |`).join("\n");
}
