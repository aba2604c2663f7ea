import type { ServiceBroker } from "moleculer";

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
export function userKeygen<P>(build: (userId: number, params: P) => string) {
	return (_action: string, params: Record<string, unknown>, meta: unknown) =>
		build((meta as { userId: number }).userId, params as P);
}
