/**
 * The benchmark's targets and report: each target is met only by a finite measured value on
 * the right side of its limit, so a missing, NaN or +Infinity figure never counts as met.
 */
import { mkdirSync, rmSync, writeFileSync } from "fs";
import { join } from "path";
import { projectRoot } from "../../lib/paths";
import { Check } from "./bench-checks";
import { RunResult } from "./bench-load";
import type { CpuCost } from "./cpu-sampler";

export interface Target {
	name: string;
	/** null: not measured. */
	value: number | null;
	limit: number;
	op: ">=" | "<=";
	met: boolean;
	note?: string;
}

export function target(
	name: string,
	value: number | undefined,
	op: ">=" | "<=",
	limit: number,
	note?: string,
): Target {
	const measured = value !== undefined && !Number.isNaN(value);
	const met = measured && Number.isFinite(value) && (op === ">=" ? value >= limit : value <= limit);
	return { name, value: measured ? value : null, limit, op, met, ...(note ? { note } : {}) };
}

/** A target that could not be measured in this run: reported, and not met. */
export const notMeasured = (name: string, op: ">=" | "<=", limit: number, note: string) =>
	target(name, undefined, op, limit, note);

const ms = (n: number) => (Number.isFinite(n) ? String(n) : "∞");

export function table(results: RunResult[]): string {
	const head =
		"| run | orders | load | POST/s | end-to-end orders/s | p50 ms | p95 ms | p99 ms | max ms | FINISHED | CANCELLED | POST failed | no push in 60 s |";
	const rows = results.map(r => {
		const load =
			"concurrency" in r.load
				? `closed loop, ${r.load.concurrency} clients`
				: `open loop, ${r.load.rate}/s`;
		const l = r.latencyMs;
		return `| ${r.name} | ${r.orders} | ${load} | ${r.postPerSec} | ${r.e2ePerSec} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ${r.finished} | ${r.cancelled} | ${r.postFailed} | ${r.timedOut} |`;
	});
	return [head, "|---|---|---|---|---|---|---|---|---|---|---|---|---|", ...rows].join("\n");
}

export function targetLines(targets: Target[]): string[] {
	return targets.map(t => {
		const head = `Target ${t.name} ${t.op === ">=" ? "≥" : "≤"} ${t.limit}:`;
		const note = t.note ? ` (${t.note})` : "";
		if (t.value === null) return `${head} NOT MEASURED, counted as not met${note}`;
		return `${head} ${ms(t.value)} — ${t.met ? "met" : "MISSED"}${note}`;
	});
}

export function checkLines(checks: Check[]): string[] {
	return checks.map(c => {
		const verdict = c.status === "ok" ? "ok" : c.status === "failed" ? "FAILED" : "not checked";
		return [`Check ${c.name}: ${verdict}`, ...c.details.map(d => `    ${d}`)].join("\n");
	});
}

/** +Infinity (an order failed or timed out) is written as the string "+Infinity". */
const jsonOf = (data: unknown) =>
	JSON.stringify(data, (_k, v) => (v === Infinity ? "+Infinity" : v), 2);

const resultsDir = join(projectRoot, "bench-results");

/** A stale latest.json must not outlive a run that crashes before writing its own. */
export function clearLatest(): void {
	rmSync(join(resultsDir, "latest.json"), { force: true });
}

export function writeResults(data: Record<string, unknown>, md: string): string {
	mkdirSync(resultsDir, { recursive: true });
	const stamp = new Date().toISOString().replace(/[:.]/g, "-");
	writeFileSync(join(resultsDir, `${stamp}.json`), jsonOf(data));
	writeFileSync(join(resultsDir, `${stamp}.md`), md + "\n");
	writeFileSync(join(resultsDir, "latest.json"), jsonOf(data));
	return stamp;
}

/** CPU ms per order: one row per run, a column per component, the server total last. */
export function cpuTable(runs: { name: string; cpu: CpuCost }[]): string {
	const order = ["gateway", "orders", "payments", "supervisor", "PostgreSQL", "RabbitMQ", "Redis"];
	const names = [...new Set(runs.flatMap(r => Object.keys(r.cpu.perOrder)))]
		.filter(n => n !== "load generator")
		.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
	const head = ["run", ...names, "server total", "load generator"];
	const rows = runs.map(r => [
		r.name,
		...names.map(n => String(r.cpu.perOrder[n] ?? "–")),
		`**${r.cpu.serverPerOrder}**`,
		String(r.cpu.perOrder["load generator"] ?? "–"),
	]);
	return [head, head.map(() => "---"), ...rows].map(cells => `| ${cells.join(" | ")} |`).join("\n");
}

/** The idle window's CPU ms per second, and what it makes per order at a low rate. */
export function idleLine(idle: CpuCost, lowRate: number): string {
	const parts = Object.entries(idle.perOrder)
		.filter(([n]) => n !== "load generator")
		.map(([n, ms]) => `${n} ${ms}`);
	const perOrder = Math.round((idle.serverPerOrder / lowRate) * 100) / 100;
	return `Idle, no load, CPU ms per second: ${parts.join(", ")}; server total **${idle.serverPerOrder}** (${perOrder} ms per order at ${lowRate} orders/s)`;
}

/** Server CPU per order of a run against its limit; not measured against --url. */
export const cpuTarget = (name: string, cpu: CpuCost | undefined, limit: number, run: string) =>
	cpu
		? target(name, cpu.serverPerOrder, "<=", limit, run)
		: notMeasured(name, "<=", limit, "--url: the cluster's processes are not ours to read");

/**
 * The low-rate run's CPU per order split, per component, into the idle system's share (its CPU
 * per second ÷ the rate: what the orders pay for timers, polls and heartbeats) and what is left,
 * the orders' own work: which of the two keeps a component far from its share of the target.
 */
export function lowRateSplit(low: CpuCost, idle: CpuCost, rate: number): string {
	const r2 = (n: number) => Math.round(n * 100) / 100;
	const split = (name: string, total: number, perSecond: number) =>
		`${name} ${total} = ${r2(perSecond / rate)} + ${r2(total - perSecond / rate)}`;
	const parts = Object.entries(low.perOrder)
		.filter(([n]) => n !== "load generator")
		.map(([n, ms]) => split(n, ms, idle.perOrder[n] ?? 0));
	return `At ${rate} orders/s, CPU ms per order = idle share + the orders' own work: ${parts.join(", ")}; server **${split("total", low.serverPerOrder, idle.serverPerOrder)}**`;
}
