import type { IncomingMessage } from "http";
import type Redis from "ioredis";
import { RateLimitedError } from "../../../lib/errors";
import type { OutageLog } from "./redis-link";

/**
 * A token bucket in one Redis hash per client, so that every gateway draws from the same
 * bucket. One atomic script: read, refill by the time elapsed, take one token, write back.
 * Redis's own clock (TIME) is the only clock, so gateways with skewed clocks agree.
 * ARGV: rate per second, burst. Returns { 1 | 0, ms until a token is available }.
 */
const TAKE_TOKEN = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
	tokens = tokens - 1
	allowed = 1
else
	wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
-- A full bucket is the same as no bucket: let the key go once it would have refilled.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return { allowed, wait }
`;

type BucketClient = Redis & {
	takeToken(key: string, rate: number, burst: number): Promise<[number, number]>;
};

/**
 * Whom a request counts against: its user once the gateway knows who it is, else the
 * client's address. The one place that says so: where the identity comes from (the X-User-ID
 * header today, a verified token later) is the caller's business.
 */
export function rateLimitKey(
	identity: { userId?: number } | undefined,
	req: IncomingMessage,
): string {
	if (identity?.userId !== undefined) return `user:${identity.userId}`;
	// The TCP peer, not X-Forwarded-For: a client can write that header itself.
	return `ip:${req.socket.remoteAddress ?? "unknown"}`;
}

export interface RateLimitOptions {
	/** Tokens added per second; 0 turns the limit off. */
	perSecond: number;
	burst: number;
	/** Prefix of the bucket keys in Redis. */
	prefix: string;
}

/** The per-client request limit of the REST API, shared by every gateway through Redis. */
export class RateLimiter {
	constructor(
		private readonly redis: Redis,
		private readonly opts: RateLimitOptions,
		private readonly outage: OutageLog,
	) {
		// ioredis sends EVALSHA and falls back to EVAL when Redis does not know the script yet
		// (a restart or SCRIPT FLUSH), so the script text goes over the wire only then.
		redis.defineCommand("takeToken", { numberOfKeys: 1, lua: TAKE_TOKEN });
	}

	get enabled(): boolean {
		return this.opts.perSecond > 0;
	}

	/** Takes one request from the client's bucket; throws RateLimitedError when it is empty. */
	async take(key: string): Promise<void> {
		if (!this.enabled) return;
		let allowed: number;
		let waitMs: number;
		try {
			[allowed, waitMs] = await (this.redis as BucketClient).takeToken(
				`${this.opts.prefix}${key}`,
				this.opts.perSecond,
				this.opts.burst,
			);
			this.outage.succeeded();
		} catch (err) {
			// Fail open: an unlimited request is better than none while Redis is away.
			this.outage.failed(err);
			return;
		}
		if (!allowed) throw new RateLimitedError(Math.max(1, Math.ceil(waitMs / 1000)));
	}
}
