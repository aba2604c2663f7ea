import Redis from "ioredis";
import type { Logger } from "moleculer";
import { OrderUpdated, orderStatusChannel } from "../../lib/contracts";

/**
 * Announces committed status changes on Redis pub/sub; every gateway relays them to the
 * user's sockets. A notification, not the record: if Redis is down the change is still in
 * PostgreSQL and clients see it on their next read.
 */
export class OrderStatusPublisher {
	private readonly redis: Redis;
	private readonly channel: string;

	constructor(redisUrl: string, redisPrefix: string, private readonly logger: Logger) {
		this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
		this.redis.on("error", () => undefined); // reconnects by itself; failures are logged per publish
		this.channel = orderStatusChannel(redisPrefix);
	}

	async connect(): Promise<void> {
		await this.redis.connect().catch(err =>
			this.logger.warn("Redis not reachable yet for status events", { err: err.message }),
		);
	}

	async publish(events: OrderUpdated[]): Promise<void> {
		if (!events.length) return;
		try {
			const pipeline = this.redis.pipeline();
			for (const e of events) pipeline.publish(this.channel, JSON.stringify(e));
			await pipeline.exec();
		} catch (err) {
			this.logger.warn("Status events not published", { count: events.length, err: (err as Error).message });
		}
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}
