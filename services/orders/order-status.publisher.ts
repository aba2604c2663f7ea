import Redis from "ioredis";
import type { Logger } from "moleculer";
import { OrderUpdated, orderStatusChannel } from "../../lib/contracts";
import { cacheRedisOptions } from "../../lib/redis/options";
import type { OrderRow } from "./order.repository";

/** The `order.updated` event of an order row just changed. */
export function orderUpdated(row: OrderRow): OrderUpdated {
	const event: OrderUpdated = {
		orderId: row.id,
		userId: row.user_id,
		status: row.status,
		amount: row.amount,
		updatedAt: row.updated_at.toISOString(),
	};
	if (row.cancel_reason) event.cancelReason = row.cancel_reason;
	return event;
}

/**
 * Announces committed status changes on Redis pub/sub; every gateway relays them to the
 * user's sockets. A notification, not the record: if Redis is down the change is still in
 * PostgreSQL and clients see it on their next read. So it never waits for Redis: no offline
 * queue, a command timeout, and a publish that fails is logged (once per outage) and dropped.
 */
export class OrderStatusPublisher {
	private readonly redis: Redis;
	private readonly channel: string;

	private down = false;

	constructor(
		redisUrl: string,
		redisPrefix: string,
		private readonly logger: Logger,
		commandTimeoutMs = 100,
	) {
		this.redis = new Redis({
			...cacheRedisOptions(redisUrl, { commandTimeoutMs }),
			lazyConnect: true,
		});
		this.redis.on("error", () => undefined); // reconnects by itself; failures are logged per publish
		this.redis.on("ready", () => {
			if (this.down) this.logger.info("Redis back: status events published again");
			this.down = false;
		});
		this.channel = orderStatusChannel(redisPrefix);
	}

	async connect(): Promise<void> {
		await this.redis
			.connect()
			.catch(err =>
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
			if (!this.down)
				this.logger.warn("Status events not published until Redis is back", {
					count: events.length,
					err: (err as Error).message,
				});
			this.down = true;
		}
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}
