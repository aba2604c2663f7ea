/**
 * What one client may do to everyone else, enforced by every gateway alike through Redis:
 * a request rate per user (rate-limit.ts) and a number of sockets per user (socket-cap.ts).
 * Redis is never a dependency here: when it is away, both fail open and say so once.
 */
import type Redis from "ioredis";
import type { Logger } from "moleculer";
import type { Config } from "../../../lib/config";
import { RateLimiter } from "./rate-limit";
import { limitsRedis, OutageLog } from "./redis-link";
import { SocketCap } from "./socket-cap";

export { rateLimitKey } from "./rate-limit";

/** How long start-up waits for the Redis link before serving without limits until it is up. */
const CONNECT_WAIT_MS = 2000;

export class GatewayLimits {
	private redis: Redis | undefined;
	rate: RateLimiter | undefined;
	sockets: SocketCap | undefined;

	constructor(private readonly config: Config) {}

	/** Opens the link (in the service's created hook, where the logger exists). */
	open(logger: Logger): void {
		const prefix = `${this.config.redisPrefix}limits:`;
		this.redis = limitsRedis(this.config.redisUrl, `${prefix}gateway`);
		// Errors surface (and are logged once) where commands fail; ioredis emits one per attempt.
		this.redis.on("error", () => undefined);
		this.rate = new RateLimiter(
			this.redis,
			{
				perSecond: this.config.rateLimitPerUserPerS,
				burst: this.config.rateLimitBurst,
				prefix: `${prefix}rate:`,
			},
			new OutageLog(logger, "the rate limit"),
		);
		this.sockets = new SocketCap(
			this.redis,
			this.config.socketsPerUser,
			`${prefix}sockets:`,
			new OutageLog(logger, "the socket cap"),
		);
	}

	async start(): Promise<void> {
		const redis = this.redis!;
		this.sockets!.start();
		if (redis.status === "ready") return;
		await new Promise<void>(resolve => {
			const timer = setTimeout(resolve, CONNECT_WAIT_MS).unref();
			redis.once("ready", () => {
				clearTimeout(timer);
				resolve();
			});
		});
	}

	async stop(): Promise<void> {
		await this.sockets?.stop();
		this.redis?.disconnect();
	}
}
