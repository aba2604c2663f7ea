/**
 * The benchmark's load generator: places orders closed loop (N clients, each sending when its
 * previous POST is answered) or open loop (one order every 1/rate s on a fixed schedule), and
 * times each order to its final `order.updated` push over socket.io.
 *
 * Every order placed counts in the percentiles. One whose POST failed, or whose final push did
 * not come within CAP_MS, counts as +Infinity: worse than any figure, so failures can only make
 * the percentiles look worse, never drop out of them.
 */
import { io, Socket } from "socket.io-client";
import { call, sleep } from "./harness";

/** An order's push must come within this of its start, or the order counts as timed out. */
export const CAP_MS = 60_000;

export type Load = { concurrency: number } | { rate: number };

export interface Pushed {
	at: number;
	status: string;
	reason?: string;
}

/** What one run measured, as written to the results. Latencies may be +Infinity. */
export interface RunResult {
	name: string;
	orders: number;
	load: Load;
	accepted: number;
	postFailed: number;
	postErrors?: Record<string, number>;
	/** Accepted orders whose final push did not come within CAP_MS. */
	timedOut: number;
	postPerSec: number;
	e2ePerSec: number;
	/** From the POST's actual send (closed loop) or its scheduled send (open loop). */
	latencyFrom: "send" | "schedule";
	latencyMs: { p50: number; p95: number; p99: number; max: number };
	/** Open loop only: how late the generator sent orders after their scheduled time. */
	sendLagMs?: { p99: number; max: number };
	finished: number;
	cancelled: number;
	cancelReasons: Record<string, number>;
}

/**
 * A run's result plus what the checks need: every accepted order, its user and its push, and
 * when its clock started (`startOf`, like `Pushed.at` in `performance.now()` time).
 */
export interface Run {
	result: RunResult;
	acceptedBy: Map<string, number>;
	pushed: Map<string, Pushed>;
	startOf: Map<string, number>;
}

export const round = (n: number) => Math.round(n * 10) / 10;

/** Nearest-rank percentile of an ascending list; +Infinity entries sort last. */
export function percentile(sorted: number[], p: number): number {
	if (!sorted.length) return Infinity;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Sort order for latencies; safe with +Infinity, which `a - b` is not. */
export const ascending = (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1);

function connectSockets(
	base: string,
	userIds: number[],
	onPush: (id: string, p: Pushed) => void,
): Promise<Socket[]> {
	return Promise.all(
		userIds.map(
			userId =>
				new Promise<Socket>((resolve, reject) => {
					const socket = io(base, {
						path: "/socket.io",
						auth: { userId },
						transports: ["websocket"],
					});
					socket.on(
						"order.updated",
						(e: { orderId: string; status: string; cancelReason?: string }) => {
							if (e.status === "NEW") return;
							onPush(e.orderId, {
								at: performance.now(),
								status: e.status,
								reason: e.cancelReason,
							});
						},
					);
					socket.once("connect", () => resolve(socket));
					socket.once("connect_error", reject);
				}),
		),
	);
}

export async function runLoad(
	base: string,
	name: string,
	userIds: number[],
	amountOf: (i: number) => number,
	total: number,
	load: Load,
): Promise<Run> {
	// The first final push of each order; it may arrive before its POST's answer does.
	const pushed = new Map<string, Pushed>();
	const waiters = new Map<string, () => void>();
	const sockets = await connectSockets(base, [...new Set(userIds)], (id, p) => {
		if (pushed.has(id)) return;
		pushed.set(id, p);
		waiters.get(id)?.();
	});
	const startOf = new Map<string, number>();
	const acceptedBy = new Map<string, number>();
	const postErrors: Record<string, number> = {};
	const sendLag: number[] = [];
	let postFailed = 0;
	let lastPost = 0;
	const finals: Promise<void>[] = [];
	const started = performance.now();

	// `start` is when the order's clock starts: its scheduled time in the open loop, so a
	// generator that falls behind shows up in the latency instead of vanishing from it.
	const placeOne = async (i: number, start: number) => {
		const userId = userIds[i % userIds.length];
		const body = { amount: amountOf(i), description: `bench ${i}` };
		const r = await call(base, "POST", "/api/orders", userId, body).catch((err: Error) => ({
			status: 0,
			body: err.message,
		}));
		lastPost = performance.now();
		if (r.status !== 202) {
			postFailed++;
			const kind = r.status ? `${r.status} ${r.body?.type ?? ""}`.trim() : `network: ${r.body}`;
			postErrors[kind] = (postErrors[kind] ?? 0) + 1;
			return;
		}
		const id = r.body.id as string;
		acceptedBy.set(id, userId);
		startOf.set(id, start);
		if (!pushed.has(id)) finals.push(new Promise<void>(resolve => waiters.set(id, resolve)));
	};

	if ("concurrency" in load) {
		let next = 0;
		await Promise.all(
			Array.from({ length: load.concurrency }, async () => {
				while (next < total) await placeOne(next++, performance.now());
			}),
		);
	} else {
		const interval = 1000 / load.rate;
		const inFlight: Promise<void>[] = [];
		for (let i = 0; i < total; i++) {
			const due = started + i * interval;
			const wait = due - performance.now();
			if (wait > 1) await sleep(wait);
			sendLag.push(Math.max(0, performance.now() - due));
			inFlight.push(placeOne(i, due));
		}
		await Promise.all(inFlight);
	}
	const postsDone = lastPost || performance.now();
	await Promise.race([Promise.all(finals), sleep(CAP_MS)]);
	sockets.forEach(s => s.close());

	const latencies: number[] = [];
	let lastFinal = started;
	let completed = 0;
	const statusCount = { FINISHED: 0, CANCELLED: 0 } as Record<string, number>;
	const cancelReasons: Record<string, number> = {};
	for (const [id, start] of startOf) {
		const p = pushed.get(id);
		const ms = p ? p.at - start : Infinity;
		if (ms > CAP_MS) {
			latencies.push(Infinity);
			continue;
		}
		latencies.push(ms);
		completed++;
		lastFinal = Math.max(lastFinal, p!.at);
		statusCount[p!.status] = (statusCount[p!.status] ?? 0) + 1;
		if (p!.status === "CANCELLED") {
			const reason = p!.reason ?? "no reason";
			cancelReasons[reason] = (cancelReasons[reason] ?? 0) + 1;
		}
	}
	for (let i = 0; i < postFailed; i++) latencies.push(Infinity);
	latencies.sort(ascending);
	sendLag.sort(ascending);
	const seconds = (ms: number) => Math.max(ms, 1) / 1000;
	const result: RunResult = {
		name,
		orders: total,
		load,
		accepted: acceptedBy.size,
		postFailed,
		...(postFailed ? { postErrors } : {}),
		timedOut: acceptedBy.size - completed,
		postPerSec: round(acceptedBy.size / seconds(postsDone - started)),
		e2ePerSec: completed ? round(completed / seconds(lastFinal - started)) : 0,
		latencyFrom: "rate" in load ? "schedule" : "send",
		latencyMs: {
			p50: round(percentile(latencies, 50)),
			p95: round(percentile(latencies, 95)),
			p99: round(percentile(latencies, 99)),
			max: round(latencies[latencies.length - 1] ?? Infinity),
		},
		...("rate" in load
			? {
					sendLagMs: {
						p99: round(percentile(sendLag, 99)),
						max: round(sendLag[sendLag.length - 1] ?? 0),
					},
				}
			: {}),
		finished: statusCount.FINISHED ?? 0,
		cancelled: statusCount.CANCELLED ?? 0,
		cancelReasons,
	};
	return { result, acceptedBy, pushed, startOf };
}
