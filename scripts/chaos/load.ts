/**
 * The chaos suite's client: it places orders at a fixed offered rate, like a careful shop
 * front-end would: every order has an Idempotency-Key and is retried until the API accepts it.
 * It keeps what a window of time needs to be judged afterwards: when each order was due and
 * first sent, when it was accepted, and every failed attempt (5xx or no answer) with its time.
 * Every REFUND_EVERY-th order is refunded once it is FINISHED, the same careful way (its own
 * Idempotency-Key, retried until accepted): refunds then cross every fault too.
 */
import { randomUUID } from "crypto";
import { call, sleep } from "../support/harness";

/** One order in this many is refunded. */
export const REFUND_EVERY = 10;

export interface RefundAsk {
	key: string;
	askedAt: number;
	acceptedAt?: number;
	/** A 4xx other than "not FINISHED yet": the refund was given up. None should happen. */
	refused?: string;
	/** Attempts that got a 5xx or no answer (they are retried, and judged by the final checks). */
	failedAttempts: number;
}

export interface Placed {
	key: string;
	userId: number;
	amount: number;
	/** When the schedule wanted it sent, and when its first POST went out (ms since epoch). */
	due: number;
	sentAt: number;
	id?: string;
	acceptedAt?: number;
	/** A 4xx answer: the order was given up. None should happen, whatever the fault. */
	refused?: string;
	/** Set on the orders chosen for a refund, from their first refund attempt. */
	refund?: RefundAsk;
}

/** A POST attempt that got a 5xx or no answer at all (status 0): sent at `at`, over at `end`. */
export interface Failure {
	at: number;
	end: number;
	status: number;
	detail: string;
}

/** A GET of the reader (order list or balance): when sent, when answered, its status (0: none). */
export interface Read {
	at: number;
	end: number;
	status: number;
}

export interface WindowStats {
	/** Orders first sent inside the window, per second of it. */
	offered: number;
	/** The longest an order due inside the window waited past its due time to be sent. */
	maxLagMs: number;
	failures: Failure[];
	/** From first send to 202, of the orders first sent inside the window; Infinity if not accepted. */
	postP99Ms: number;
	/** GETs of the reader sent inside the window: how many got a 5xx or no answer, and their p99. */
	getFailures: number;
	getP99Ms: number;
}

/**
 * The client's pause before retrying an order after its `attempt`-th failure: doubling from
 * 100 ms up to 2 s, then 5 s once it has failed ten times (about 15 s), as a careful client
 * spaces its retries out in a long outage instead of multiplying its requests.
 */
export const retryDelayMs = (attempt: number) =>
	attempt >= 10 ? 5000 : Math.min(2000, 100 * 2 ** attempt);

export class Load {
	readonly placed: Placed[] = [];
	readonly failures: Failure[] = [];
	readonly reads: Read[] = [];
	private running = false;
	private done: Promise<void> = Promise.resolve();
	private reading: Promise<void> = Promise.resolve();

	/** `readRate`: GETs per second (the order list and the balance in turn) beside the orders. */
	constructor(
		private readonly base: string,
		private readonly rate: number,
		private readonly users: number[],
		private readonly readRate = 10,
	) {}

	start(): void {
		this.running = true;
		this.done = this.generate();
		this.reading = this.read();
	}

	/** Stops placing new orders; waits up to `ms` for the ones still being retried. */
	async stop(ms: number): Promise<void> {
		this.running = false;
		await Promise.race([Promise.all([this.done, this.reading]), sleep(ms)]);
	}

	/** Reads at a fixed rate, whatever the answers, each recorded with its status and time. */
	private async read(): Promise<void> {
		const interval = 1000 / this.readRate;
		const start = Date.now();
		const inFlight = new Set<Promise<void>>();
		for (let i = 0; this.running; i++) {
			const wait = start + i * interval - Date.now();
			if (wait > 1) await sleep(wait);
			const userId = this.users[(i * 7) % this.users.length];
			const path = i % 2 ? "/api/accounts/me" : "/api/orders?limit=5";
			const at = Date.now();
			const p = call(this.base, "GET", path, userId)
				.then(
					r => r.status,
					() => 0,
				)
				.then(status => {
					this.reads.push({ at, end: Date.now(), status });
					inFlight.delete(p);
				});
			inFlight.add(p);
		}
		await Promise.all(inFlight);
	}

	private async generate(): Promise<void> {
		const interval = 1000 / this.rate;
		const inFlight = new Set<Promise<void>>();
		const start = Date.now();
		// The schedule does not wait for answers (open loop): a fault does not lower the offered
		// rate. Only a runaway backlog (two minutes of orders unanswered) would pause it, and that
		// shows as lag and a low offered rate in the fault's row.
		const cap = this.rate * 120;
		for (let i = 0; this.running; i++) {
			const due = start + i * interval;
			const wait = due - Date.now();
			if (wait > 1) await sleep(wait);
			while (inFlight.size > cap && this.running) await sleep(50);
			const p = this.place(
				this.users[i % this.users.length],
				100 + (i % 7),
				due,
				i % REFUND_EVERY === 0,
			).finally(() => inFlight.delete(p));
			inFlight.add(p);
		}
		await Promise.all(inFlight);
	}

	private async place(userId: number, amount: number, due: number, refund: boolean): Promise<void> {
		const order: Placed = { userId, key: randomUUID(), amount, due, sentAt: Date.now() };
		this.placed.push(order);
		const body = { amount, description: "chaos" };
		const headers = { "Idempotency-Key": order.key };
		for (let attempt = 0; ; attempt++) {
			const at = Date.now();
			const r = await call(this.base, "POST", "/api/orders", userId, body, headers).catch(
				(err: Error) => ({ status: 0, body: err.message }),
			);
			if (r.status === 202) {
				order.id = r.body.id;
				order.acceptedAt = Date.now();
				if (refund) await this.refund(order);
				return;
			}
			if (r.status >= 400 && r.status < 500) {
				order.refused = `${r.status} ${JSON.stringify(r.body)}`;
				return;
			}
			this.failures.push({ at, end: Date.now(), status: r.status, detail: brief(r.body) });
			await sleep(retryDelayMs(attempt));
		}
	}

	/**
	 * Refunds an accepted order once it is FINISHED: 409 with status NEW means "not paid yet",
	 * asked again shortly (a refused refund stores nothing, so the key stays free). Keeps trying
	 * while the load runs, and for 50 more attempts after it stopped (then the final checks
	 * report it as never accepted).
	 */
	private async refund(order: Placed): Promise<void> {
		const ask: RefundAsk = { key: randomUUID(), askedAt: Date.now(), failedAttempts: 0 };
		order.refund = ask;
		const headers = { "Idempotency-Key": ask.key };
		for (let attempt = 0; this.running || attempt < 50; attempt++) {
			await sleep(attempt ? Math.min(2000, 100 * 2 ** Math.min(attempt, 5)) : 200);
			const r = await call(
				this.base,
				"POST",
				`/api/orders/${order.id}/refund`,
				order.userId,
				undefined,
				headers,
			).catch((err: Error) => ({ status: 0, body: err.message }));
			if (r.status === 202) {
				ask.acceptedAt = Date.now();
				return;
			}
			if (r.status === 409 && r.body?.data?.status === "NEW") continue;
			if (r.status >= 400 && r.status < 500) {
				ask.refused = `${r.status} ${brief(r.body)}`;
				return;
			}
			ask.failedAttempts++;
		}
	}

	/** Refunds asked for, accepted, given up, and their attempts that failed with a 5xx or no answer. */
	refunds() {
		const asks = this.placed.flatMap(p => (p.refund ? [p.refund] : []));
		return {
			asked: asks.length,
			accepted: asks.filter(a => a.acceptedAt).length,
			refused: asks.filter(a => a.refused).map(a => a.refused!),
			failedAttempts: asks.reduce((n, a) => n + a.failedAttempts, 0),
		};
	}

	/**
	 * What happened inside [from, to). A failed attempt belongs to it if it was in flight at any
	 * moment of it: one sent just before a node is killed fails because of the kill.
	 */
	window(from: number, to: number): WindowStats {
		const inside = (t: number) => t >= from && t < to;
		const sent = this.placed.filter(p => inside(p.sentAt));
		const lags = this.placed.filter(p => inside(p.due)).map(p => p.sentAt - p.due);
		const reads = this.readsSent(from, to);
		return {
			offered: sent.length / ((to - from) / 1000),
			maxLagMs: lags.reduce((a, b) => Math.max(a, b), 0),
			failures: this.failures.filter(f => overlaps(f, from, to)),
			postP99Ms: this.postP99(from, to),
			getFailures: reads.filter(r => r.status === 0 || r.status >= 500).length,
			getP99Ms: percentile(
				reads.map(r => r.end - r.at),
				0.99,
			),
		};
	}

	/** From first send to 202 (retries included) of the orders first sent in [from, to). */
	postP99(from: number, to: number): number {
		const waits = this.placed
			.filter(p => p.sentAt >= from && p.sentAt < to)
			.map(p => (p.acceptedAt ? p.acceptedAt - p.sentAt : Infinity));
		return percentile(waits, 0.99);
	}

	/** The reader's GETs sent in [from, to). */
	readsSent(from: number, to: number): Read[] {
		return this.reads.filter(r => r.at >= from && r.at < to);
	}

	/** GETs that got a 5xx or no answer and were in flight at no moment of any of `windows`. */
	readFailuresOutside(windows: { from: number; to: number }[]): Read[] {
		return this.reads.filter(
			r =>
				(r.status === 0 || r.status >= 500) && !windows.some(w => r.at < w.to && r.end >= w.from),
		);
	}
}

export const overlaps = (f: Failure, from: number, to: number) => f.at < to && f.end >= from;

export function percentile(values: number[], q: number): number {
	if (!values.length) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function brief(body: unknown): string {
	const text = typeof body === "string" ? body : JSON.stringify(body);
	return (text ?? "").slice(0, 160);
}
