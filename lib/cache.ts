import type { ActionCacheOptions, ServiceBroker } from "moleculer";
import { EpochRedisCacher } from "./redis/epoch-cacher";

/** The node's epoch-keyed cacher, if it has one (tests may run a broker without). */
export function epochCacher(broker: ServiceBroker): EpochRedisCacher | undefined {
	return broker.cacher instanceof EpochRedisCacher ? broker.cacher : undefined;
}

const stopping = (broker: ServiceBroker) =>
	(broker as unknown as { stopping?: boolean }).stopping === true;

/**
 * Resolves when `work` settles or after `budgetMs`, whichever is first, and never rejects: a
 * write that changed data must not wait on Redis longer than the budget. Work left running is
 * bounded by the command timeout and fails into the cacher's own error handling.
 */
export function withinBudget(work: Promise<unknown>, budgetMs: number): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		work.then(
			() => undefined,
			() => undefined,
		),
		new Promise<void>(resolve => {
			timer = setTimeout(resolve, budgetMs);
		}),
	]).finally(() => clearTimeout(timer));
}

/**
 * Second passes due in the same slot of this many ms share one timer and one DEL: each key is
 * dropped again between `secondPassMs` and `secondPassMs` + this after its first drop. A timer
 * and a Redis round trip per change cost about 1 ms of CPU on this VM (a wake alone is ~0.3 ms):
 * at 20 orders/s that was one of each per order on the orders and the payments side.
 */
const SECOND_PASS_SLOT_MS = 200;
const secondPasses = new WeakMap<ServiceBroker, Map<number, Set<string>>>();

function dropAgainLater(broker: ServiceBroker, keys: string[], delayMs: number): void {
	const due = Math.ceil((Date.now() + delayMs) / SECOND_PASS_SLOT_MS) * SECOND_PASS_SLOT_MS;
	let slots = secondPasses.get(broker);
	if (!slots) secondPasses.set(broker, (slots = new Map()));
	let slot = slots.get(due);
	if (!slot) {
		const pending = (slot = new Set());
		slots.set(due, pending);
		setTimeout(() => {
			slots.delete(due);
			void drop(broker, [...pending]);
		}, due - Date.now()).unref();
	}
	for (const key of keys) slot.add(key);
}

function drop(broker: ServiceBroker, keys: string[]): Promise<void> {
	const cacher = epochCacher(broker);
	if (!cacher || !keys.length || stopping(broker)) return Promise.resolve();
	return withinBudget(cacher.del(keys), cacher.budgetMs);
}

/**
 * Drops cached reads after a change, by exact key (O(1) in Redis; a pattern would scan the
 * whole keyspace on every change). It runs twice: now, and once more a moment later (at least
 * `secondPassMs`, at most SECOND_PASS_SLOT_MS more), so that a read which started before the
 * commit and stored its stale result after the first drop is dropped too. A drop that fails
 * makes the cacher bump the epoch (EpochRedisCacher).
 */
export function invalidate(
	broker: ServiceBroker,
	keys: string[],
	secondPassMs = 500,
): Promise<void> {
	if (keys.length) dropAgainLater(broker, keys, secondPassMs);
	return drop(broker, keys);
}

/** A cache key builder for actions whose result depends on the caller (ctx.meta.userId). */
export function userKeygen<P>(
	build: (userId: number, params: P) => string,
): NonNullable<ActionCacheOptions["keygen"]> {
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

/**
 * The cache of a user's paged lists, kept in the Redis cacher under generation keys:
 * `<name>:<user>:<generation>:<page>`. A change bumps the user's generation (one INCR, O(1)
 * however many pages are cached), so every page of before is out of reach at once and
 * expires by TTL. A read that began before a commit stores its page under the old
 * generation, where nobody looks any more: no stale page, no keyspace scan. Generations live
 * in the cacher's epoch like every other key, so a bump lost in an outage is covered too.
 */
export class UserPageCache {
	constructor(
		private readonly broker: ServiceBroker,
		private readonly name: string,
		private readonly ttlSeconds = 300,
	) {}

	private generationKey(userId: number): string {
		return `${this.name}:generation:${userId}`;
	}

	/**
	 * The cached page, or `load()` stored for next time. Any cache failure just loads; so does
	 * a page that is not cached at all (`page` undefined: see cachedPage).
	 */
	async read<T>(userId: number, page: string | undefined, load: () => Promise<T>): Promise<T> {
		const cacher = epochCacher(this.broker);
		if (page === undefined || !cacher) return load();
		const generation = await cacher.counter(this.generationKey(userId));
		if (generation === null) return load();
		const key = `${this.name}:${userId}:${generation}:${page}`;
		const cached = await cacher.get(key);
		if (cached !== null && cached !== undefined) return cached as T;
		const value = await load();
		// Not awaited: the reader has its answer; set() never rejects.
		void cacher.set(key, value, this.ttlSeconds);
		return value;
	}

	/** After a commit that changes these users' lists; waits at most the cache budget. */
	async bump(userIds: number[]): Promise<void> {
		const cacher = epochCacher(this.broker);
		if (!cacher || !userIds.length || stopping(this.broker)) return;
		const keys = [...new Set(userIds)].map(u => this.generationKey(u));
		await withinBudget(cacher.incr(keys), cacher.budgetMs);
	}
}
