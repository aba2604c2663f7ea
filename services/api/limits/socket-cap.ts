import type Redis from "ioredis";
import type { OutageLog } from "./redis-link";

/**
 * Each user's live sockets, all gateways together: a sorted set per user of socket ids scored
 * by when the entry expires. A gateway refreshes its own sockets' entries well before that, so
 * a gateway that dies without saying goodbye leaves entries that simply expire: its users get
 * their slots back within ENTRY_TTL_MS, with no sweeper and nothing to reconcile.
 */
const ENTRY_TTL_MS = 60_000;
const REFRESH_EVERY_MS = 20_000;

/** Redis's clock, in ms: the only clock, so gateways with skewed clocks agree on expiry. */
const NOW =
	"local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)";

/** ARGV: socket id, entry ttl ms, cap. 1: admitted (and counted), 0: the user is at the cap. */
const ADMIT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

/** ARGV: socket id, entry ttl ms. Also re-adds a socket admitted while Redis was away. */
const TOUCH = `${NOW}
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

type CapClient = Redis & {
	admitSocket(key: string, socketId: string, ttlMs: number, cap: number): Promise<number>;
	touchSocket(key: string, socketId: string, ttlMs: number): Promise<number>;
};

/** SOCKETS_PER_USER across every gateway, through Redis. */
export class SocketCap {
	private readonly local = new Map<string, number>();
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly redis: Redis,
		private readonly cap: number,
		private readonly prefix: string,
		private readonly outage: OutageLog,
	) {
		redis.defineCommand("admitSocket", { numberOfKeys: 1, lua: ADMIT });
		redis.defineCommand("touchSocket", { numberOfKeys: 1, lua: TOUCH });
	}

	private get client(): CapClient {
		return this.redis as CapClient;
	}

	/** Why this handshake is refused, or undefined when the socket may connect (and is counted). */
	async admit(userId: number, socketId: string): Promise<string | undefined> {
		if (this.cap <= 0) return undefined;
		try {
			const admitted = await this.client.admitSocket(
				this.prefix + userId,
				socketId,
				ENTRY_TTL_MS,
				this.cap,
			);
			this.outage.succeeded();
			if (!admitted)
				return `too many connections: user ${userId} already has ${this.cap} open sockets (SOCKETS_PER_USER); close one and retry`;
		} catch (err) {
			// Fail open; the refresh counts this socket once Redis is back.
			this.outage.failed(err);
		}
		this.local.set(socketId, userId);
		return undefined;
	}

	/** The socket is gone: its slot is free at once (or at its entry's expiry if Redis is away). */
	release(socketId: string): void {
		const userId = this.local.get(socketId);
		if (userId === undefined) return;
		this.local.delete(socketId);
		this.redis.zrem(this.prefix + userId, socketId).catch(err => this.outage.failed(err));
	}

	start(): void {
		if (this.cap <= 0) return;
		this.timer = setInterval(() => void this.refresh(), REFRESH_EVERY_MS);
		this.timer.unref();
	}

	private async refresh(): Promise<void> {
		if (!this.local.size) return;
		const pipeline = this.redis.pipeline() as unknown as {
			touchSocket(key: string, socketId: string, ttlMs: number): void;
			exec(): Promise<[Error | null, unknown][] | null>;
		};
		for (const [socketId, userId] of this.local)
			pipeline.touchSocket(this.prefix + userId, socketId, ENTRY_TTL_MS);
		try {
			const results = await pipeline.exec();
			const failed = results?.find(([err]) => err);
			if (failed) throw failed[0];
			this.outage.succeeded();
		} catch (err) {
			this.outage.failed(err);
		}
	}

	/** On shutdown: this gateway's sockets give their slots back now rather than at expiry. */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		const entries = [...this.local];
		this.local.clear();
		if (!entries.length) return;
		const pipeline = this.redis.pipeline();
		for (const [socketId, userId] of entries) pipeline.zrem(this.prefix + userId, socketId);
		await pipeline.exec().catch(() => undefined);
	}
}
