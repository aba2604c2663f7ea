import type { Knex } from "knex";
import type { Logger } from "moleculer";

/**
 * Runs a housekeeping job every `intervalMs` on every node, but lets only one node per
 * database do the work at a time: the job runs while this node holds a PostgreSQL session
 * advisory lock named after it, and a node that cannot take the lock skips its turn. The lock
 * lives on a connection of its own, so the job's batches still commit one by one; it goes
 * away with that connection if the node dies. It only saves duplicated work: every job is
 * also safe when two nodes run it at once (after a lost lock connection, say).
 */
export class Sweeper<R> {
	private timer: NodeJS.Timeout | null = null;
	private running: Promise<R | undefined> | null = null;
	private stopped = true;

	constructor(
		private readonly knex: Knex,
		/** Names the lock, e.g. "gozon.retention"; the same name on every node. */
		readonly name: string,
		private readonly intervalMs: number,
		private readonly logger: Logger,
		private readonly job: () => Promise<R>,
	) {}

	start(): void {
		this.stopped = false;
		this.schedule();
	}

	/** Waits for a sweep under way, then stops. */
	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await this.running;
	}

	/**
	 * One turn now: the job's result, or undefined when another node holds the lock. Turns of
	 * one node never overlap.
	 */
	async sweep(): Promise<R | undefined> {
		if (this.running) return this.running;
		this.running = this.underLock().finally(() => (this.running = null));
		return this.running;
	}

	private schedule(): void {
		if (this.stopped) return;
		this.timer = setTimeout(async () => {
			this.timer = null;
			try {
				await this.sweep();
			} catch (err) {
				this.logger.warn("Sweep failed, trying again at the next turn", {
					sweep: this.name,
					err: (err as Error).message,
				});
			}
			this.schedule();
		}, this.intervalMs);
		this.timer.unref();
	}

	private async underLock(): Promise<R | undefined> {
		const conn = await this.knex.client.acquireConnection();
		try {
			const lock = (fn: string) =>
				this.knex.raw(`SELECT ${fn}(hashtextextended(?, 0)) AS ok`, [this.name]).connection(conn);
			const { rows } = await lock("pg_try_advisory_lock");
			if (!rows[0].ok) return undefined;
			try {
				return await this.job();
			} finally {
				// A connection that cannot unlock must not go back to the pool still holding the lock.
				await lock("pg_advisory_unlock").catch(() => conn.end());
			}
		} finally {
			await this.knex.client.releaseConnection(conn);
		}
	}
}
