import Redis from "ioredis";
import type { Logger } from "moleculer";

/**
 * Longest a limit check may hold a request up. A check is one small script on Redis (well
 * under a millisecond); past this the request goes through unlimited rather than wait.
 */
export const LIMITS_COMMAND_TIMEOUT_MS = 100;

/**
 * The gateway's own Redis connection for limits. Redis must never block a request: while the
 * link is down a command fails at once (no offline queue, no retry, no resend after a
 * reconnect), a hung Redis costs at most LIMITS_COMMAND_TIMEOUT_MS, and the caller lets the
 * request through (fail open).
 */
export function limitsRedis(url: string, name: string): Redis {
	return new Redis(url, {
		commandTimeout: LIMITS_COMMAND_TIMEOUT_MS,
		enableOfflineQueue: false,
		maxRetriesPerRequest: 0,
		autoResendUnfulfilledCommands: false,
		connectTimeout: 1000,
		// Back within a second of Redis returning.
		retryStrategy: times => Math.min(times * 100, 1000),
		// Named so an operator (or a test) can find it in CLIENT LIST.
		connectionName: name.replace(/\s/g, "_"),
	});
}

/**
 * Logs an outage once, not at every failed command (under load that would be thousands of
 * lines a second), and its end once.
 */
export class OutageLog {
	private down = false;

	constructor(
		private readonly logger: Logger,
		private readonly what: string,
	) {}

	failed(err: unknown): void {
		if (this.down) return;
		this.down = true;
		this.logger.warn(
			`Redis unavailable: ${this.what} not enforced until it is back (failing open)`,
			{
				err: (err as Error)?.message,
			},
		);
	}

	succeeded(): void {
		if (!this.down) return;
		this.down = false;
		this.logger.info(`Redis back: ${this.what} enforced again`);
	}
}
