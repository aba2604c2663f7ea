import type { ActionCacheOptions, ServiceBroker } from "moleculer";

/**
 * Drops cached reads after a change, by exact key (O(1) in Redis; a pattern would scan the
 * whole keyspace on every change). It runs twice: now, and once more a moment later, so
 * that a read which started before the commit and stored its stale result after the first
 * drop is dropped too.
 */
export function invalidate(broker: ServiceBroker, keys: string[], secondPassMs = 500): Promise<void> {
	const run = async () => {
		const cacher = broker.cacher;
		if (!cacher || !keys.length || (broker as unknown as { stopping?: boolean }).stopping) return;
		try {
			await cacher.del(keys);
		} catch (err) {
			broker.logger.warn("Cache invalidation failed", { err: (err as Error).message });
		}
	};
	setTimeout(() => void run(), secondPassMs).unref();
	return run();
}

/** A cache key builder for actions whose result depends on the caller (ctx.meta.userId). */
export function userKeygen<P>(build: (userId: number, params: P) => string): NonNullable<ActionCacheOptions["keygen"]> {
	return (_action, _opts, ctx) => build((ctx.meta as { userId: number }).userId, ctx.params as P);
}

/** The size of a list page when the request names none. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * The cache key of a list page, or undefined when the page is read through. Only the first
 * page at the default size is cached: the one the dashboard reads on every open and after
 * every change. Any other size or a deeper page would let one user fill Redis with up to
 * 1000 sizes × every cursor of their history; those go to PostgreSQL.
 */
export function cachedPage(limit: number, before: unknown): string | undefined {
	return limit === DEFAULT_PAGE_SIZE && (before === undefined || before === "") ? `${limit}:` : undefined;
}

interface RedisLike {
	get(key: string): Promise<string | null>;
	pipeline(): { incr(key: string): unknown; exec(): Promise<unknown> };
}

/**
 * The cache of a user's paged lists, kept in the Redis cacher under generation keys:
 * `<name>:<user>:<generation>:<page>`. A change bumps the user's generation (one INCR, O(1)
 * however many pages are cached), so every page of before is out of reach at once and
 * expires by TTL. A read that began before a commit stores its page under the old
 * generation, where nobody looks any more: no stale page, no keyspace scan.
 */
export class UserPageCache {
	constructor(
		private readonly broker: ServiceBroker,
		private readonly name: string,
		private readonly ttlSeconds = 300,
	) {}

	private get redis(): { client: RedisLike; prefix: string } | undefined {
		const cacher = this.broker.cacher as unknown as { client?: RedisLike; prefix?: string } | undefined;
		return cacher?.client ? { client: cacher.client, prefix: cacher.prefix ?? "" } : undefined;
	}

	private generationKey(userId: number): string {
		return `${this.name}:generation:${userId}`;
	}

	/**
	 * The cached page, or `load()` stored for next time. Any cache failure just loads; so does
	 * a page that is not cached at all (`page` undefined: see cachedPage).
	 */
	async read<T>(userId: number, page: string | undefined, load: () => Promise<T>): Promise<T> {
		const redis = this.redis;
		const cacher = this.broker.cacher;
		if (page === undefined || !redis || !cacher) return load();
		let key: string;
		try {
			const generation = (await redis.client.get(redis.prefix + this.generationKey(userId))) ?? "0";
			key = `${this.name}:${userId}:${generation}:${page}`;
			const cached = await cacher.get(key);
			if (cached !== null && cached !== undefined) return cached as T;
		} catch {
			return load();
		}
		const value = await load();
		await cacher.set(key, value, this.ttlSeconds).catch(() => undefined);
		return value;
	}

	/** After a commit that changes these users' lists. */
	async bump(userIds: number[]): Promise<void> {
		const redis = this.redis;
		if (!redis || !userIds.length || (this.broker as unknown as { stopping?: boolean }).stopping) return;
		try {
			const pipeline = redis.client.pipeline();
			for (const u of new Set(userIds)) pipeline.incr(redis.prefix + this.generationKey(u));
			await pipeline.exec();
		} catch (err) {
			this.broker.logger.warn("Cache generation bump failed", { err: (err as Error).message });
		}
	}
}
