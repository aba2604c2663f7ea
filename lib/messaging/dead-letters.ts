/**
 * Inspecting and replaying the dead-letter queues (`<queue>.dlq`) without losing a message.
 *
 * How a DLQ is read: one channel consumes the whole queue (prefetch = the most we read), the
 * messages are looked at while they are held unacknowledged, the consumer is cancelled, and
 * the channel is closed without acking them, so the broker puts every one of them back at
 * once. Only a message that was replayed (and confirmed by the broker in its original queue)
 * is acknowledged, which removes it from the DLQ.
 *
 * Why not `basic.get` + `nack(requeue)`: on a quorum queue a nacked message goes to the back
 * of the queue, so a get/nack loop walks a moving queue, reorders it, and cannot tell when it
 * has seen every message. Closing the channel returns all held messages together in their
 * order. Each read raises the broker's `x-delivery-count` of the DLQ messages; the DLQs have
 * no delivery limit, so that is harmless, and replay drops the header.
 */
import type * as amqp from "amqplib";
import { deadLetterQueue, Queues } from "./topology";

/** Headers of a dead-lettering (ours and the broker's) that a replayed message must not carry. */
const DEAD_LETTER_HEADERS = [
	"x-original-queue",
	"x-dead-letter-reason",
	"x-attempts",
	"x-failed-attempts",
	"x-dead-lettered-at",
	"x-delivery-count",
	"x-death",
	"x-first-death-exchange",
	"x-first-death-queue",
	"x-first-death-reason",
	"x-last-death-exchange",
	"x-last-death-queue",
	"x-last-death-reason",
];

export const DLQ_SUFFIX = ".dlq";

/** The dead-letter queues of the business queues. */
export const businessDeadLetterQueues = Object.values(Queues).map(deadLetterQueue);

export interface DeadLetter {
	/** The DLQ it sits in. */
	dlq: string;
	messageId?: string;
	/** Where a replay sends it: x-original-queue, else the broker's x-first-death-queue, else the DLQ name without `.dlq`. */
	originalQueue: string;
	reason?: string;
	attempts?: number;
	deadLetteredAt?: string;
	headers: Record<string, unknown>;
	properties: amqp.MessageProperties;
	content: Buffer;
}

export interface DeadLetterOptions {
	/** Most messages read from one DLQ in one pass (and the consumer's prefetch). */
	limit: number;
	/** How long the queue must stay empty of ready messages before a read counts as complete. */
	settleMs: number;
	/** Longest a read of one DLQ may take. */
	readTimeoutMs: number;
	/** How long a replay waits for the broker's publisher confirms. */
	publishTimeoutMs: number;
}

export const defaultDeadLetterOptions: DeadLetterOptions = {
	limit: 10_000,
	settleMs: 250,
	readTimeoutMs: 30_000,
	publishTimeoutMs: 10_000,
};

export interface DeadLetterPage {
	dlq: string;
	/** Messages in the DLQ when it was read (may exceed `messages.length` when over the limit). */
	total: number;
	messages: DeadLetter[];
}

export class DeadLetterError extends Error {}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** `orders.to_pay` or `orders.to_pay.dlq` → `orders.to_pay.dlq` (likewise for every business queue). */
export function toDeadLetterQueue(name: string): string {
	return name.endsWith(DLQ_SUFFIX) ? name : deadLetterQueue(name);
}

function text(value: unknown): string | undefined {
	if (value === undefined || value === null) return undefined;
	return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}

export function describeDeadLetter(dlq: string, msg: amqp.Message): DeadLetter {
	const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
	const attempts = Number(headers["x-attempts"]);
	const brokerReason = text(headers["x-first-death-reason"]);
	return {
		dlq,
		messageId: msg.properties.messageId ? String(msg.properties.messageId) : undefined,
		originalQueue:
			text(headers["x-original-queue"]) ??
			text(headers["x-first-death-queue"]) ??
			dlq.slice(0, dlq.length - DLQ_SUFFIX.length),
		reason:
			text(headers["x-dead-letter-reason"]) ??
			(brokerReason ? `broker: ${brokerReason}` : undefined),
		attempts:
			Number.isFinite(attempts) && headers["x-attempts"] !== undefined ? attempts : undefined,
		deadLetteredAt: text(headers["x-dead-lettered-at"]),
		headers,
		properties: msg.properties,
		content: msg.content,
	};
}

/** The headers a replayed message carries: the original ones, without any dead-lettering trace. */
export function replayHeaders(headers: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(headers)) if (!DEAD_LETTER_HEADERS.includes(k)) out[k] = v;
	return out;
}

/** A DLQ read in progress: the messages are held unacknowledged until `release()`. */
interface HeldRead {
	channel: amqp.Channel;
	messages: amqp.ConsumeMessage[];
	/** Ready messages left in the queue (beyond the limit). */
	remaining: number;
}

/**
 * Lists, replays and purges dead letters over one AMQP connection (the caller owns it).
 */
export class DeadLetterQueues {
	private readonly opts: DeadLetterOptions;

	constructor(
		private readonly connection: amqp.ChannelModel,
		opts: Partial<DeadLetterOptions> = {},
	) {
		this.opts = { ...defaultDeadLetterOptions, ...opts };
	}

	/** Whether a queue exists (a failed passive declare closes its channel, so it gets its own). */
	async exists(queue: string): Promise<boolean> {
		const channel = await this.connection.createChannel();
		channel.on("error", () => undefined);
		try {
			await channel.checkQueue(queue);
			await channel.close();
			return true;
		} catch (err) {
			if ((err as { code?: number }).code === 404) return false;
			throw err;
		}
	}

	/** Every message of the DLQ (up to the limit), left in place. */
	async list(dlq: string): Promise<DeadLetterPage> {
		const held = await this.hold(dlq);
		try {
			return {
				dlq,
				total: held.messages.length + held.remaining,
				messages: held.messages.map(m => describeDeadLetter(dlq, m)),
			};
		} finally {
			await this.release(dlq, held, 0);
		}
	}

	/**
	 * Republishes the chosen messages to their original queues with the same messageId and
	 * body, waits for the broker's confirms, and only then removes them from the DLQ. If the
	 * publish fails nothing is removed; if the removal fails after a confirmed publish, the
	 * message is in both queues and the consumer's inbox drops the second copy.
	 */
	async replay(dlq: string, select: (d: DeadLetter) => boolean): Promise<DeadLetter[]> {
		const held = await this.hold(dlq);
		let acked = 0;
		try {
			const chosen = held.messages
				.map(raw => ({ raw, letter: describeDeadLetter(dlq, raw) }))
				.filter(({ letter }) => select(letter));
			if (!chosen.length) return [];
			for (const q of new Set(chosen.map(c => c.letter.originalQueue)))
				if (!(await this.exists(q)))
					throw new DeadLetterError(
						`The original queue "${q}" does not exist; nothing was replayed`,
					);
			const unroutable = await this.publishConfirmed(chosen.map(c => c.letter));
			const routed = chosen.filter(c => !unroutable.has(c.letter));
			for (const c of routed) held.channel.ack(c.raw);
			acked = routed.length;
			if (unroutable.size)
				throw new DeadLetterError(
					`RabbitMQ could not route ${unroutable.size} message(s) to their original queue; they stay in the DLQ`,
				);
			return routed.map(c => c.letter);
		} finally {
			await this.release(dlq, held, acked);
		}
	}

	/** Deletes every ready message of the DLQ; resolves with how many. */
	async purge(dlq: string): Promise<number> {
		const channel = await this.connection.createChannel();
		try {
			const { messageCount } = await channel.purgeQueue(dlq);
			return messageCount;
		} finally {
			await channel.close().catch(() => undefined);
		}
	}

	/** Ready messages in a queue. */
	async depth(queue: string): Promise<number> {
		const channel = await this.connection.createChannel();
		try {
			return (await channel.checkQueue(queue)).messageCount;
		} finally {
			await channel.close().catch(() => undefined);
		}
	}

	/**
	 * Consumes the queue until no ready message is left (or the limit is reached) and keeps
	 * them unacknowledged. The settle time also catches messages that a previous read has just
	 * returned: the broker puts them back a moment after that channel closed.
	 */
	private async hold(dlq: string): Promise<HeldRead> {
		if (!(await this.exists(dlq))) throw new DeadLetterError(`Queue "${dlq}" does not exist`);
		const channel = await this.connection.createChannel();
		channel.on("error", () => undefined);
		const messages: amqp.ConsumeMessage[] = [];
		let lastDelivery = Date.now();
		try {
			await channel.prefetch(Math.min(this.opts.limit, 65535));
			const { consumerTag } = await channel.consume(dlq, msg => {
				if (!msg) return;
				messages.push(msg);
				lastDelivery = Date.now();
			});
			const deadline = Date.now() + this.opts.readTimeoutMs;
			let remaining = 0;
			for (;;) {
				await sleep(25);
				remaining = (await channel.checkQueue(dlq)).messageCount;
				if (messages.length >= this.opts.limit) break;
				if (remaining === 0 && Date.now() - lastDelivery >= this.opts.settleMs) break;
				if (Date.now() > deadline)
					throw new DeadLetterError(
						`Reading "${dlq}" took longer than ${this.opts.readTimeoutMs} ms`,
					);
			}
			// Deliveries sent before the cancel reach the callback before cancel-ok, so the list
			// is complete once this resolves.
			await channel.cancel(consumerTag);
			remaining = (await channel.checkQueue(dlq)).messageCount;
			return { channel, messages, remaining };
		} catch (err) {
			await channel.close().catch(() => undefined);
			throw err;
		}
	}

	/**
	 * Closes the read's channel, which returns every unacknowledged message to the DLQ, and
	 * waits until the broker shows them again, so that the next command sees the whole queue.
	 */
	private async release(dlq: string, held: HeldRead, acked: number): Promise<void> {
		await held.channel.close().catch(() => undefined);
		const expected = held.messages.length - acked + held.remaining;
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline) {
			if ((await this.depth(dlq).catch(() => expected)) >= expected) return;
			await sleep(25);
		}
	}

	/** Publishes with confirms; resolves with the letters no queue took (returned by `mandatory`). */
	private async publishConfirmed(letters: DeadLetter[]): Promise<Set<DeadLetter>> {
		const channel = await this.connection.createConfirmChannel();
		channel.on("error", () => undefined);
		// A returned message arrives before its confirm.
		const returned = new Set<string | undefined>();
		channel.on("return", (msg: amqp.Message) => returned.add(msg.properties.messageId));
		let timer: NodeJS.Timeout | undefined;
		try {
			for (const d of letters) {
				const p = d.properties;
				channel.publish("", d.originalQueue, d.content, {
					mandatory: true,
					persistent: true,
					messageId: d.messageId,
					contentType: p.contentType,
					contentEncoding: p.contentEncoding,
					correlationId: p.correlationId,
					type: p.type,
					appId: p.appId,
					timestamp: p.timestamp,
					headers: { ...replayHeaders(d.headers), "x-replayed-at": new Date().toISOString() },
				});
			}
			await Promise.race([
				channel.waitForConfirms(),
				new Promise((_, reject) => {
					timer = setTimeout(
						() =>
							reject(
								new DeadLetterError(
									`RabbitMQ did not confirm the replay within ${this.opts.publishTimeoutMs} ms`,
								),
							),
						this.opts.publishTimeoutMs,
					);
				}),
			]);
			return new Set(letters.filter(d => returned.has(d.messageId)));
		} finally {
			clearTimeout(timer);
			await channel.close().catch(() => undefined);
		}
	}
}
