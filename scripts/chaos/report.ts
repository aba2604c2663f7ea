/**
 * The chaos suite's closing account: the table of faults (scripts/chaos.ts fills its rows),
 * every order the client was given looked up, and the checks that hold over the whole run.
 */
import { Knex } from "knex";
import { deadLetters, invariants, Outcomes, unacknowledged } from "./checks";
import { Load, overlaps, WindowStats } from "./load";
import { Probe } from "./probe";

export interface Window {
	fault: string;
	from: number;
	to: number;
}

/** Where a moment falls relative to the fault windows, for a reader of the report. */
function after(windows: Window[], at: number): string {
	const last = windows.filter(w => w.to <= at).pop();
	const when = new Date(at).toISOString();
	return last
		? `${when}, ${seconds((at - last.to) / 1000)} s after the window of "${last.fault}"`
		: `${when}, before the first fault`;
}

export interface Row {
	fault: string;
	inFlight: number;
	stats: WindowStats;
	notFinal: number;
	lost: number;
	cancelled: number;
	doubled: number;
	/** Seconds: restore step returned → ready; start → every order final; end → every order final. */
	readyAfterEnd: number;
	fromStart?: number;
	fromEnd?: number;
	problems: string[];
}

/** What the suite hands its report. */
export interface Run {
	orders: Knex;
	payments: Knex;
	users: number[];
	/** Kopecks each user was funded with. */
	funding: number;
	outcomes: Outcomes;
	rows: Row[];
	windows: Window[];
	poison: string[];
	load: Load;
	probe: Probe;
	/** Orders and GETs per second offered. */
	rate: number;
	readRate: number;
}

export async function report(run: Run): Promise<boolean> {
	const { orders, outcomes, rows, windows, poison, load, probe } = run;
	const placed = load.placed;
	const fin = await outcomes.progress(placed);
	const accepted = placed.filter(p => p.id);
	const refused = placed.filter(p => p.refused);
	const unaccepted = placed.filter(p => !p.id && !p.refused);
	const extra = await unacknowledged(orders, new Set([...accepted.map(p => p.id!), ...probe.ids]));
	const [{ n: cancelled }] = await orders("orders")
		.where("status", "CANCELLED")
		.select<{ n: number }[]>(orders.raw("count(*)::int AS n"));
	const outside = load.failures.filter(f => !windows.some(w => overlaps(f, w.from, w.to)));
	const readsOutside = load.readFailuresOutside(windows);
	const final = await invariants(orders, run.payments, { users: run.users, funding: run.funding });
	const dead = await deadLetters();
	const unexpectedDead = dead.filter(id => !poison.includes(id));
	const missingPoison = poison.filter(id => !dead.includes(id));

	console.log(
		"\n| fault | in flight | offered/s (max lag ms) | POSTs 5xx / no answer | POST p99 | GETs 5xx / no answer | GET p99 | not final | lost | cancelled | doubled | ready after end (s) | recovered from start / end (s) |",
	);
	console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
	for (const r of rows)
		console.log(
			`| ${r.fault} | ${r.inFlight} | ${r.stats.offered.toFixed(1)} (${Math.round(r.stats.maxLagMs)}) | ${r.stats.failures.length} | ${ms(r.stats.postP99Ms)} | ` +
				`${r.stats.getFailures} | ${ms(r.stats.getP99Ms)} | ` +
				`${r.notFinal} | ${r.lost} | ${r.cancelled} | ${r.doubled} | ${seconds(r.readyAfterEnd)} | ${r.fromStart === undefined ? "—" : `${seconds(r.fromStart)} / ${seconds(r.fromEnd)}`} |`,
		);
	console.log(
		`\nOrders offered: ${placed.length} at ${run.rate}/s; accepted ${accepted.length}, refused (4xx) ${refused.length}, never accepted ${unaccepted.length}.`,
	);
	console.log(
		`Accepted ids looked up: ${outcomes.final.size} final (FINISHED ${outcomes.count("FINISHED")}, CANCELLED ${outcomes.count("CANCELLED")}), ` +
			`${fin.notFinal - unaccepted.length} still NEW, ${fin.missing} never stored. Stored without a 202: ${extra.length}. CANCELLED in the database: ${cancelled}.`,
	);
	console.log(
		`POST attempts failed (5xx or no answer): ${load.failures.length}, of which outside every fault window: ${outside.length}. ` +
			`GETs: ${load.reads.length} at ${run.readRate}/s, failed ${load.reads.filter(r => r.status === 0 || r.status >= 500).length}, of which outside every window: ${readsOutside.length}.`,
	);
	const refunds = load.refunds();
	console.log(
		`Refunds asked: ${refunds.asked}, accepted ${refunds.accepted}, REFUNDED ${outcomes.count("REFUNDED")}, refused (4xx) ${refunds.refused.length}; refund attempts failed (5xx or no answer, retried): ${refunds.failedAttempts}.`,
	);
	console.log(
		`Probe: ${probe.rounds} orders placed after faults; balance not yet the stored one right after the push: ${probe.staleAfterPush.length}${probe.staleAfterPush.length ? ` (${probe.staleAfterPush.join("; ")}), each read again 600 ms later` : ""}.`,
	);
	console.log(
		`Debited twice: ${final.doubled}. Dead letters: ${dead.length} (${poison.length} poison injected; unexpected: ${unexpectedDead.length}, poison missing: ${missingPoison.length}).`,
	);
	const problems = [
		...rows.flatMap(r => r.problems.map(p => `${r.fault}: ${p}`)),
		...rows
			.filter(r => r.notFinal || r.lost || r.doubled)
			.map(
				r =>
					`${r.fault}: ${r.notFinal} not final, ${r.lost} lost, ${r.doubled} debited twice after recovery`,
			),
		...final.problems,
		...refused.slice(0, 5).map(p => `a valid order was refused: ${p.refused}`),
		...refunds.refused.slice(0, 5).map(r => `a refund of a finished order was refused: ${r}`),
		...(refunds.accepted < refunds.asked
			? [`${refunds.asked - refunds.accepted} refunds never accepted`]
			: []),
		...(unaccepted.length
			? [`${unaccepted.length} orders never accepted (their POSTs still failing at the end)`]
			: []),
		...(fin.missing ? [`${fin.missing} accepted orders were never stored (lost)`] : []),
		...(fin.notFinal - unaccepted.length
			? [
					`${fin.notFinal - unaccepted.length} accepted orders still NEW (or not yet REFUNDED) at the end`,
				]
			: []),
		...(cancelled
			? [`${cancelled} orders CANCELLED although every account was funded for all its orders`]
			: []),
		...(extra.length
			? [`${extra.length} stored orders no client got a 202 for, e.g. ${extra[0]}`]
			: []),
		...outside
			.slice(0, 5)
			.map(
				f =>
					`POST failed outside any fault window, ${after(windows, f.at)}: ${f.status} ${f.detail}`,
			),
		...readsOutside
			.slice(0, 5)
			.map(
				r =>
					`GET failed outside any fault window, ${after(windows, r.at)}: ${r.status || "no answer"}`,
			),
		...(final.doubled ? [`${final.doubled} orders debited twice`] : []),
		...(unexpectedDead.length
			? [`unexpected dead letters: ${unexpectedDead.slice(0, 5).join(", ")}`]
			: []),
		...(missingPoison.length
			? [`poison messages not dead-lettered: ${missingPoison.join(", ")}`]
			: []),
	];
	for (const p of problems) console.log(`PROBLEM: ${p}`);
	return problems.length > 0;
}

export const seconds = (s?: number) =>
	s === undefined ? "—" : (Math.round(s * 10) / 10).toFixed(1);
export const ms = (v: number) =>
	Number.isFinite(v) ? `${Math.round(v)} ms` : Number.isNaN(v) ? "—" : "unanswered";
