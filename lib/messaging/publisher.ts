import { once } from "events";
import type { Message } from "amqplib";
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

/** The broker confirmed the messages but routed them to no queue (it returned them). */
export class UnroutableError extends Error {
	constructor(readonly messageIds: string[]) {
		super(
			`RabbitMQ could not route ${messageIds.length} message(s) (no such queue): ${messageIds.slice(0, 5).join(", ")}`,
		);
	}
}

/**
 * Publishes persistent messages on the connection's confirm channel and resolves only when
 * the broker has confirmed every one of them (all in flight at once, not one at a time).
 *
 * Every publish is `mandatory`: a message no queue takes (its queue was deleted) comes back as
 * basic.return before its confirm. Without it the broker confirms and drops the message, and the
 * relay would mark its outbox row sent.
 */
export class Publisher {
	/** Publishes awaiting their confirm, by messageId, oldest first: where a return is recorded. */
	private readonly inFlight = new Map<string, { returned: boolean }[]>();

	constructor(
		private readonly connection: AmqpConnection,
		private readonly timeoutMs: number,
	) {
		connection.on("returned", (msg: Message) => {
			const id = msg.properties.messageId as string | undefined;
			const pending = id === undefined ? undefined : this.inFlight.get(id)?.find(p => !p.returned);
			if (pending) pending.returned = true;
		});
	}

	/** Publishes and confirms all; throws UnroutableError if the broker returned any of them. */
	async publish(messages: OutgoingMessage[]): Promise<void> {
		const returned = await this.publishAll(messages);
		if (returned.length) throw new UnroutableError(returned);
	}

	/**
	 * Publishes and waits for every confirm; resolves with the messageIds the broker returned
	 * (confirmed but unroutable), which the caller must not count as delivered.
	 */
	async publishAll(messages: OutgoingMessage[]): Promise<string[]> {
		if (!messages.length) return [];
		const channel = this.connection.publishChannel;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new PublishTimeoutError(this.timeoutMs)), this.timeoutMs);
		});
		timeout.catch(() => undefined);
		const tracked: { id: string; entry: { returned: boolean } }[] = [];
		try {
			const confirms: Promise<void>[] = [];
			for (const m of messages) {
				const entry = { returned: false };
				tracked.push({ id: m.messageId, entry });
				const list = this.inFlight.get(m.messageId);
				if (list) list.push(entry);
				else this.inFlight.set(m.messageId, [entry]);
				let writable = true;
				confirms.push(
					new Promise<void>((resolve, reject) => {
						writable = channel.publish(
							"",
							m.queue,
							m.content ?? Buffer.from(JSON.stringify(m.payload)),
							{
								persistent: true,
								mandatory: true,
								messageId: m.messageId,
								contentType: "application/json",
								timestamp: Math.floor(Date.now() / 1000),
								headers: m.headers,
							},
							err =>
								err ? reject(new Error(`Publish not confirmed: ${err.message ?? err}`)) : resolve(),
						);
					}),
				);
				confirms[confirms.length - 1].catch(() => undefined);
				// The socket buffer is full: let it drain before writing more.
				if (!writable) await Promise.race([once(channel, "drain"), timeout]);
			}
			await Promise.race([Promise.all(confirms), timeout]);
			// basic.return precedes the basic.ack of the same message on the channel, so by now
			// every return of this batch has been recorded.
			return tracked.filter(t => t.entry.returned).map(t => t.id);
		} finally {
			clearTimeout(timer);
			for (const { id, entry } of tracked) {
				const list = this.inFlight.get(id);
				if (!list) continue;
				list.splice(list.indexOf(entry), 1);
				if (!list.length) this.inFlight.delete(id);
			}
		}
	}
}
