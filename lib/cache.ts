import type { ServiceBroker } from "moleculer";
import { EpochRedisCacher, ScopedKey } from "./redis/epoch-cacher";

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

/** The size of a list page when the request names none. */
export const DEFAULT_PAGE_SIZE = 100;

/**
 * The cache entry of a page of the list `name`, or undefined when the page is read through. Only the first
 * page at the default size is cached: the one the dashboard reads on every open and after
 * every change. Any other size or a deeper page would let one user fill Redis with up to
 * 1000 sizes × every cursor of their history; those go to PostgreSQL.
 */
export function cachedPage(name: string, limit: number, before: unknown): string | undefined {
	return limit === DEFAULT_PAGE_SIZE && (before === undefined || before === "")
		? `${name}:${limit}:`
		: undefined;
}

/**
 * A user's cached reads (an order, a list page, the summary, an account), kept in the Redis
 * cacher under the user's generation: `<scope>:<user>:<generation>:<entry>`. A change bumps the
 * generation (one INCR, O(1) however many entries are cached), so every entry of before is out
 * of reach at once and expires by TTL: no keyspace scan, no list of keys to drop.
 *
 * A read stores its result only under the generation it began with, and only while that is still
 * the current one (EpochRedisCacher.scopedSet): a read that loaded before a commit and finishes
 * after the commit's bump — however late, a failover can hold it for seconds — leaves nothing a
 * later read can find. (Dropping keys after the commit, as we once did, twice 500 ms apart, lost
 * that race to any read slower than the second drop.) Generations live in the cacher's epoch
 * like every other key, so a bump lost in an outage is covered too.
 */
export class UserCache {
	constructor(
		private readonly broker: ServiceBroker,
		private readonly scope: string,
		private readonly ttlSeconds = 60,
	) {}

	private key(userId: number, entry: string): ScopedKey {
		return {
			generationKey: `${this.scope}:generation:${userId}`,
			head: `${this.scope}:${userId}:`,
			tail: entry,
		};
	}

	/**
	 * The cached entry, or `load()` stored for next time. Any cache failure just loads; so does
	 * an entry that is not cached at all (`entry` undefined: see cachedPage).
	 */
	async read<T>(userId: number, entry: string | undefined, load: () => Promise<T>): Promise<T> {
		const cacher = epochCacher(this.broker);
		if (entry === undefined || !cacher) return load();
		const key = this.key(userId, entry);
		const read = await cacher.scopedGet(key);
		if (!read) return load();
		if (read.value !== null) return read.value as T;
		const value = await load();
		// Not awaited: the reader has its answer; scopedSet() never rejects.
		void cacher.scopedSet(key, read, value, this.ttlSeconds);
		return value;
	}

	/** After a commit that changes these users' reads; waits at most the cache budget. */
	async bump(userIds: number[]): Promise<void> {
		const cacher = epochCacher(this.broker);
		if (!cacher || !userIds.length || stopping(this.broker)) return;
		const keys = [...new Set(userIds)].map(u => this.key(u, "").generationKey);
		await withinBudget(cacher.incr(keys), cacher.budgetMs);
	}
}
