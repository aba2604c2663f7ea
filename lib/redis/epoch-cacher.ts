import type Redis from "ioredis";
import { Cachers, ServiceBroker } from "moleculer";

/**
 * Lua, so that reading the epoch and using it is one round trip and one atomic step. KEYS[1]
 * is the epoch key, ARGV[1] the cacher's prefix; every cache key is `<prefix><epoch>:<key>`.
 */
const EPOCH = "local e = redis.call('GET', KEYS[1]) or '0' local p = ARGV[1] .. e .. ':' ";
const SCRIPTS = {
	// → { epoch, value or false }
	epochGet: `${EPOCH} return { e, redis.call('GET', p .. ARGV[2]) }`,
	// ARGV[2] key, ARGV[3] value, ARGV[4] ttl (0: none), ARGV[5] epoch the value was read under
	epochSet: `${EPOCH} if ARGV[5] ~= e then return 0 end
		if ARGV[4] == '0' then redis.call('SET', p .. ARGV[2], ARGV[3])
		else redis.call('SET', p .. ARGV[2], ARGV[3], 'EX', ARGV[4]) end return 1`,
	epochDel: `${EPOCH} for i = 2, #ARGV do redis.call('DEL', p .. ARGV[i]) end return 1`,
	epochIncr: `${EPOCH} for i = 2, #ARGV do redis.call('INCR', p .. ARGV[i]) end return 1`,
	// An entry of a user's scope: ARGV[2] the generation key, ARGV[3] the entry's head, ARGV[4]
	// its tail; the entry's key is head .. generation .. ':' .. tail.
	// → { epoch, generation, value or false }
	scopedGet: `${EPOCH} local g = redis.call('GET', p .. ARGV[2]) or '0'
		return { e, g, redis.call('GET', p .. ARGV[3] .. g .. ':' .. ARGV[4]) }`,
	// ARGV[5] value, ARGV[6] ttl, ARGV[7] and ARGV[8] the epoch and generation the read began
	// under: stored only if neither moved, and then under that generation.
	scopedSet: `${EPOCH} if ARGV[7] ~= e then return 0 end
		local g = redis.call('GET', p .. ARGV[2]) or '0'
		if ARGV[8] ~= g then return 0 end
		redis.call('SET', p .. ARGV[3] .. ARGV[8] .. ':' .. ARGV[4], ARGV[5], 'EX', ARGV[6]) return 1`,
};

type ScriptClient = Redis & {
	epochGetBuffer(epochKey: string, prefix: string, key: string): Promise<[Buffer, Buffer | null]>;
	epochSet(
		epochKey: string,
		prefix: string,
		key: string,
		value: Buffer | string,
		ttl: string,
		epoch: string,
	): Promise<number>;
	epochDel(epochKey: string, prefix: string, ...keys: string[]): Promise<number>;
	epochIncr(epochKey: string, prefix: string, ...keys: string[]): Promise<number>;
	scopedGetBuffer(
		epochKey: string,
		prefix: string,
		generationKey: string,
		head: string,
		tail: string,
	): Promise<[Buffer, Buffer, Buffer | null]>;
	scopedSet(
		epochKey: string,
		prefix: string,
		generationKey: string,
		head: string,
		tail: string,
		value: Buffer | string,
		ttl: string,
		epoch: string,
		generation: string,
	): Promise<number>;
};

/** Where an entry of a user's scope lives: `<head><generation>:<tail>`, under `generationKey`'s value. */
export interface ScopedKey {
	generationKey: string;
	head: string;
	tail: string;
}

/** A scoped read: the value (null on a miss) and the epoch and generation it was read under. */
export interface ScopedRead {
	value: unknown;
	epoch: string;
	generation: string;
}

export type CacheOp = "get" | "set" | "del" | "incr" | "epoch";

/** How often a node retries the epoch bump it owes (Redis back, or an invalidation lost). */
const BUMP_RETRY_MS = 1000;
/** At most one warning per operation kind in this window: an outage fails every command. */
const WARN_EVERY_MS = 10_000;
/** Reads whose miss waits for its SET; bounded in case handlers fail and never set. */
const MAX_PENDING_READS = 10_000;

/**
 * Moleculer's Redis cacher with Redis kept off the critical path and never trusted after a gap.
 *
 * Never a dependency: every operation fails fast (cacheRedisOptions) and never rejects: a
 * failed GET is a miss, a failed SET is skipped, a failed DEL or INCR is logged and counted
 * (`errors`). Moleculer's cacher middleware calls `set` without a catch, so a rejection there
 * (Redis OOM, READONLY after a failover) would be an unhandled rejection that kills the node.
 *
 * Never stale after a gap: every key carries the global epoch (`<prefix>epoch` in Redis).
 * A node that lost its link, or lost an invalidation (a DEL or INCR that failed), owes a bump:
 * it reads nothing from the cache until its INCR of the epoch succeeds, and from then on
 * every node reads and writes under the new epoch (each command reads it inside Redis), so
 * whatever was cached before the invalidation was lost is out of reach and expires by TTL.
 * A value is stored only under the epoch its read missed in, so a read that began before a
 * bump cannot store its older result under the new epoch.
 */
export class EpochRedisCacher extends Cachers.Redis<ScriptClient> {
	/** Failed operations since start, by kind (gozon_cache_errors_total). */
	readonly errors: Record<CacheOp, number> = { get: 0, set: 0, del: 0, incr: 0, epoch: 0 };
	/** Epoch bumps this node made (gozon_cache_epoch_bumps_total). */
	bumps = 0;
	declare serializer: { serialize(data: unknown): Buffer; deserialize(data: Buffer): unknown };
	private basePrefix = "";
	/** Losses (link drops, failed invalidations) not yet covered by a bump. */
	private owed = 0;
	private linkUp = true;
	private bumping = false;
	private bumpTimer: NodeJS.Timeout | undefined;
	private readonly missedUnder = new Map<string, string>();
	private readonly lastWarn: Partial<Record<CacheOp, number>> = {};

	init(broker: ServiceBroker): void {
		super.init(broker);
		this.basePrefix = this.prefix ?? "";
		for (const [name, lua] of Object.entries(SCRIPTS))
			this.client.defineCommand(name, { numberOfKeys: 1, lua });
		// Moleculer's own error handler logs every failed reconnect attempt (one a second while
		// Redis is down): this one warns once per outage and keeps the $cacher.error event.
		this.client.removeAllListeners("error");
		this.client.on("error", err => {
			if (this.linkUp)
				this.logger.warn("Redis lost: reads go to PostgreSQL until it is back", {
					err: err.message,
				});
			this.linkUp = false;
			this.lost();
			void this.broker.broadcastLocal("$cacher.error", {
				error: err,
				module: "cacher",
				type: "CLIENT_ERROR",
			});
		});
		this.client.on("close", () => {
			// quit() on shutdown closes too; that is no lost invalidation.
			if (!(this.broker as unknown as { stopping?: boolean }).stopping) this.lost();
		});
		// Registered after Moleculer's own "ready" handler, which sets `connected`.
		this.client.on("ready", () => {
			this.linkUp = true;
			if (this.owed > 0) {
				this.connected = false;
				void this.bumpEpoch();
			}
		});
	}

	/** The link dropped or an invalidation failed: owe a bump, read nothing from the cache. */
	private lost(): void {
		this.owed++;
		this.connected = false;
	}

	/** Longest a caller waits on one cache operation: the command timeout. */
	get budgetMs(): number {
		return Number(
			(this.opts.redis as { commandTimeout?: number } | undefined)?.commandTimeout ?? 100,
		);
	}

	private get epochKey(): string {
		return `${this.basePrefix}epoch`;
	}

	/**
	 * INCR of the epoch, retried every second while owed; cache reads resume when it lands. A
	 * loss while the INCR is in flight may come after Redis ran it, so it takes another bump.
	 */
	private async bumpEpoch(): Promise<void> {
		if (this.bumping) return;
		this.bumping = true;
		clearTimeout(this.bumpTimer);
		const covering = this.owed;
		let landed = false;
		try {
			const epoch = await this.client.incr(this.epochKey);
			this.bumps++;
			this.missedUnder.clear();
			this.logger.info("Cache epoch bumped: entries from before the gap are out of reach", {
				epoch,
			});
			this.owed -= covering;
			landed = true;
		} catch (err) {
			this.failed("epoch", err);
		} finally {
			this.bumping = false;
		}
		if (this.owed === 0) this.connected = true;
		else if (this.client.status === "ready")
			this.bumpTimer = setTimeout(() => void this.bumpEpoch(), landed ? 0 : BUMP_RETRY_MS).unref();
	}

	/** An invalidation did not land: stop reading the cache here and bump the epoch. */
	private lostInvalidation(): void {
		this.lost();
		if (this.client.status === "ready") void this.bumpEpoch();
	}

	/** DEL or INCR of keys in the current epoch; a failure is counted as a lost invalidation. */
	private async invalidate(op: "del" | "incr", keys: string[]): Promise<void> {
		if (!keys.length) return;
		try {
			const command = op === "del" ? "epochDel" : "epochIncr";
			await this.client[command](this.epochKey, this.basePrefix, ...keys);
		} catch (err) {
			this.failed(op, err);
			this.lostInvalidation();
		}
	}

	private failed(op: CacheOp, err: unknown): void {
		this.errors[op]++;
		const now = Date.now();
		if ((this.lastWarn[op] ?? 0) + WARN_EVERY_MS > now) return;
		this.lastWarn[op] = now;
		this.logger.warn(`Cache ${op} failed; going on without the cache`, {
			err: (err as Error)?.message ?? String(err),
			failedSoFar: this.errors[op],
		});
	}

	// Moleculer's middleware skips the cache while `connected` is false; these check it too
	// because services call them directly.

	/** The value, or the cacher's missingResponse (undefined by default: the middleware compares to it). */
	async get(key: string): Promise<Record<string, unknown> | null> {
		const missing = this.opts.missingResponse as Record<string, unknown> | null;
		if (!this.connected) return missing;
		try {
			const [epoch, data] = await this.client.epochGetBuffer(this.epochKey, this.basePrefix, key);
			if (data) return this.serializer.deserialize(data) as Record<string, unknown>;
			if (this.missedUnder.size >= MAX_PENDING_READS) this.missedUnder.clear();
			// Concurrent misses of one key: keep the oldest epoch, so no read stores under a newer one.
			if (!this.missedUnder.has(key)) this.missedUnder.set(key, epoch.toString());
		} catch (err) {
			this.failed("get", err);
		}
		return missing;
	}

	/** Stores a value read after a miss, under the epoch of that miss only; otherwise nothing. */
	async set(key: string, data: unknown, ttl?: number): Promise<void> {
		const readUnder = this.missedUnder.get(key);
		this.missedUnder.delete(key);
		if (!this.connected || readUnder === undefined) return;
		try {
			const seconds = String(ttl ?? this.opts.ttl ?? 0);
			await this.client.epochSet(
				this.epochKey,
				this.basePrefix,
				key,
				this.serializer.serialize(data),
				seconds,
				readUnder,
			);
		} catch (err) {
			this.failed("set", err);
		}
	}

	/** Drops entries; a failure is logged, counted and answered with an epoch bump. */
	async del(keys: string | string[]): Promise<void> {
		await this.invalidate("del", Array.isArray(keys) ? keys : [keys]);
	}

	/**
	 * An entry under its scope's current generation, read with the epoch and generation in one
	 * round trip; null when the cache is not used (down, owed a bump, the command failed).
	 */
	async scopedGet(key: ScopedKey): Promise<ScopedRead | null> {
		if (!this.connected) return null;
		try {
			const [epoch, generation, data] = await this.client.scopedGetBuffer(
				this.epochKey,
				this.basePrefix,
				key.generationKey,
				key.head,
				key.tail,
			);
			return {
				value: data ? this.serializer.deserialize(data) : null,
				epoch: epoch.toString(),
				generation: generation.toString(),
			};
		} catch (err) {
			this.failed("get", err);
			return null;
		}
	}

	/**
	 * Stores what a read loaded after its miss, under the epoch and generation the read began
	 * with, and only while both are still current: a bump during the read (a change committed
	 * meanwhile) leaves nothing behind, and nothing can land under a newer generation.
	 */
	async scopedSet(
		key: ScopedKey,
		read: ScopedRead,
		data: unknown,
		ttlSeconds: number,
	): Promise<void> {
		if (!this.connected) return;
		try {
			await this.client.scopedSet(
				this.epochKey,
				this.basePrefix,
				key.generationKey,
				key.head,
				key.tail,
				this.serializer.serialize(data),
				String(ttlSeconds),
				read.epoch,
				read.generation,
			);
		} catch (err) {
			this.failed("set", err);
		}
	}

	/** INCR of counters in the current epoch; a failure is handled as a lost invalidation. */
	async incr(keys: string[]): Promise<void> {
		await this.invalidate("incr", keys);
	}

	async close(): Promise<void> {
		clearTimeout(this.bumpTimer);
		// Not quit(): it would wait for a Redis that may be gone.
		this.client.disconnect();
	}
}
