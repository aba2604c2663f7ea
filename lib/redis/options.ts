import type { RedisOptions } from "ioredis";

/** How the cache reaches Redis: fail fast, never wait for it. */
export interface CacheLinkOptions {
	/** Longest a cache command may take before it counts as failed (REDIS_COMMAND_TIMEOUT_MS). */
	commandTimeoutMs: number;
}

/**
 * ioredis options of a REDIS_URL (redis:// or rediss:// with user, password and /db), as an
 * object: Moleculer's Redis cacher does `new Redis(opts.redis)` with one argument, so the URL
 * cannot be passed beside options.
 */
export function redisUrlOptions(url: string): RedisOptions {
	const u = new URL(url);
	const db = u.pathname.replace(/^\//, "");
	return {
		host: u.hostname.replace(/^\[|\]$/g, ""),
		port: u.port ? Number(u.port) : 6379,
		...(u.username ? { username: decodeURIComponent(u.username) } : {}),
		...(u.password ? { password: decodeURIComponent(u.password) } : {}),
		...(db ? { db: Number(db) } : {}),
		...(u.protocol === "rediss:" ? { tls: { servername: u.hostname } } : {}),
	};
}

/**
 * A connection for cache commands. Redis is an accelerator: a command that Redis cannot answer
 * at once fails at once, and the caller goes to PostgreSQL.
 * - No offline queue: while the link is down a command is rejected instead of waiting for it.
 * - commandTimeout: a hung Redis (or a dropped network) costs at most this per command.
 * - No resend after a reconnect: a command that got no answer is a failed one.
 * - Reconnects every second at most, so a returning Redis is used again within ~1 s.
 */
export function cacheRedisOptions(url: string, link: CacheLinkOptions): RedisOptions {
	return {
		...redisUrlOptions(url),
		commandTimeout: link.commandTimeoutMs,
		enableOfflineQueue: false,
		maxRetriesPerRequest: 0,
		autoResendUnfulfilledCommands: false,
		connectTimeout: 1000,
		retryStrategy: times => Math.min(times * 100, 1000),
	};
}
