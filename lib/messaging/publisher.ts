import { once } from "events";
import type { AmqpConnection } from "./connection";

export interface OutgoingMessage {
	queue: string;
	messageId: string;
	payload?: unknown;
	/** Raw body, sent as is instead of the JSON of `payload` (dead-lettering keeps the original bytes). */
	content?: Buffer;
	headers?: Record<string, unknown>;
}

export class PublishTimeoutError extends Error {
	constructor(ms: number) {
		super(`RabbitMQ did not confirm the publish within ${ms} ms`);
	}
}

/**
 * Publishes persistent messages on the connection's confirm channel and resolves only when
 * the broker has confirmed every one of them (all in flight at once, not one at a time).
 */
export class Publisher {
	constructor(
		private readonly connection: AmqpConnection,
		private readonly timeoutMs: number,
	) {}

	async publish(messages: OutgoingMessage[]): Promise<void> {
		if (!messages.length) return;
		const channel = this.connection.publishChannel;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new PublishTimeoutError(this.timeoutMs)), this.timeoutMs);
		});
		timeout.catch(() => undefined);
		try {
			const confirms: Promise<void>[] = [];
			for (const m of messages) {
				let writable = true;
				confirms.push(
					new Promise<void>((resolve, reject) => {
						writable = channel.publish(
							"",
							m.queue,
							m.content ?? Buffer.from(JSON.stringify(m.payload)),
							{
								persistent: true,
								messageId: m.messageId,
								contentType: "application/json",
								timestamp: Math.floor(Date.now() / 1000),
								headers: m.headers,
							},
							err => (err ? reject(new Error(`Publish not confirmed: ${err.message ?? err}`)) : resolve()),
						);
					}),
				);
				confirms[confirms.length - 1].catch(() => undefined);
				// The socket buffer is full: let it drain before writing more.
				if (!writable) await Promise.race([once(channel, "drain"), timeout]);
			}
			await Promise.race([Promise.all(confirms), timeout]);
		} finally {
			clearTimeout(timer);
		}
	}
}
