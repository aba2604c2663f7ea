import type { Knex } from "knex";
import type { Logger } from "moleculer";
import { faultPoint } from "../faults";
import { defaultRelayOptions, RelayOptions } from "./options";
import { OutboxStore } from "./outbox.store";
import type { Publisher } from "./publisher";

/**
 * Moves committed outbox rows to RabbitMQ. A round claims a batch, publishes it with
 * publisher confirms and marks it sent in the same transaction, so a row is marked only after
 * the broker has it. A crash between publish and commit republishes the batch; the
 * consumers' inbox drops those duplicates. New rows wake the relay at once; the poll
 * interval is only the fallback (rows committed by another process, or a missed wake).
 */
export class OutboxRelay {
	private readonly opts: RelayOptions;
	/** Rounds under way; up to `concurrency`, each on rows the others skipped (SKIP LOCKED). */
	private readonly running = new Set<Promise<void>>();
	private again = false;
	/** Set while rounds fail; wakes wait for the backoff timer (or `resume`) instead of spinning. */
	private failing = false;
	private stopped = true;
	private timer: NodeJS.Timeout | null = null;
	private backoff: number;
	/** Messages published since start, for metrics. */
	published = 0;

	constructor(
		private readonly knex: Knex,
		private readonly publisher: Publisher,
		private readonly logger: Logger,
		opts: Partial<RelayOptions> = {},
		private readonly store = new OutboxStore(),
	) {
		this.opts = { ...defaultRelayOptions, ...opts };
		this.backoff = this.opts.retryBackoffMs;
	}

	start(): void {
		this.stopped = false;
		this.wake();
	}

	/**
	 * Asks for a round now. Below `concurrency` rounds, another starts beside those under way;
	 * past that the wake is remembered and served when a round ends. (Measured on 2 cores:
	 * one round at a time gives the most orders/s, since fewer, fuller rounds cost less CPU.)
	 */
	wake(): void {
		if (this.stopped) return;
		if (this.failing || this.running.size >= this.opts.concurrency) {
			this.again = true;
			return;
		}
		this.again = false;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		const round = this.drain().finally(() => {
			this.running.delete(round);
			if (this.again && !this.failing) this.wake();
			else if (!this.running.size) this.schedule(this.failing ? this.backoff : this.opts.pollIntervalMs);
		});
		this.running.add(round);
	}

	/** Retries at once after an outage (the broker connection is back). */
	resume(): void {
		this.failing = false;
		this.backoff = this.opts.retryBackoffMs;
		this.wake();
	}

	/** Finishes the rounds under way and stops. */
	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await Promise.all([...this.running]);
	}

	private schedule(delay: number): void {
		if (this.stopped || this.timer) return;
		this.timer = setTimeout(() => {
			this.timer = null;
			this.failing = false;
			this.wake();
		}, delay);
		this.timer.unref();
	}

	/** Rounds until a batch comes back short (the backlog is drained). Sent rows are deleted by the retention sweep. */
	private async drain(): Promise<void> {
		try {
			while (!this.stopped && (await this.round()) === this.opts.batchSize);
			this.failing = false;
			this.backoff = this.opts.retryBackoffMs;
		} catch (err) {
			this.failing = true;
			this.logger.warn("Outbox relay round failed, retrying", {
				err: (err as Error).message,
				retryInMs: this.backoff,
			});
			this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
		}
	}

	/** One claimed batch: publish, wait for confirms, mark sent, commit. Returns its size. */
	private round(): Promise<number> {
		return this.knex.transaction(async trx => {
			const rows = await this.store.claim(trx, this.opts.batchSize);
			if (!rows.length) return 0;
			await this.publisher.publish(
				rows.map(r => ({
					queue: r.queue,
					messageId: r.messageId,
					payload: r.payload,
					headers: r.headers ?? undefined,
				})),
			);
			faultPoint("relay.after-publish-before-mark-sent");
			await this.store.markSent(
				trx,
				rows.map(r => r.id),
			);
			this.published += rows.length;
			return rows.length;
		});
	}
}
