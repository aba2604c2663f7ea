import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "moleculer";
import { FAILED_ATTEMPTS_HEADER } from "./failures";
import type { ConsumerOptions } from "./options";
import type { Publisher } from "./publisher";
import { deadLetterQueue } from "./topology";

/** A message a consumer holds: what the handler sees, and where to acknowledge it. */
export interface HeldMessage {
	messageId: string;
	/** 1 until a handler has failed on this message; then 1 + the failed handler attempts. */
	attempt: number;
	raw: ConsumeMessage;
	channel: Channel;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * What becomes of a message its handler failed on, or that can never be handled: a copy that
 * carries the count of failed attempts goes to the back of the queue, or, at `maxDeliveries`
 * (or at once for a malformed one), the message goes to `<queue>.dlq` with its reason. Broker
 * trouble while doing so is never the message's fault: it is handed back uncounted.
 */
export class Redelivery {
	constructor(
		private readonly queue: string,
		private readonly publisher: Publisher,
		private readonly logger: Logger,
		private readonly opts: ConsumerOptions,
		private readonly stats: { deadLettered: number; retried: number },
		/** Whether the consumer still holds messages of this channel (not handed back with it). */
		private readonly isLive: (channel: Channel) => boolean,
	) {}

	/**
	 * The handler failed on this message for a reason of its own. Below the bound, a copy that
	 * carries the count goes to the back of the queue and the original is acknowledged; if the
	 * broker cannot take the copy, the original is handed back uncounted.
	 */
	async failed(d: HeldMessage, err: Error, fields: Record<string, unknown>): Promise<void> {
		if (d.attempt >= this.opts.maxDeliveries) {
			await this.deadLetter(d.channel, d.raw, err.message, d.attempt, fields);
			return;
		}
		this.stats.retried++;
		const logFields = { queue: this.queue, messageId: d.messageId, attempt: d.attempt, ...fields };
		this.logger.warn("Message failed, it will be redelivered", { ...logFields, err: err.message });
		await sleep(this.opts.retryBackoffMs * d.attempt);
		if (!this.isLive(d.channel)) return; // handed back with its channel, uncounted
		try {
			await this.publisher.publish([
				{
					queue: this.queue,
					messageId: d.messageId,
					content: d.raw.content,
					headers: { ...(d.raw.properties.headers ?? {}), [FAILED_ATTEMPTS_HEADER]: d.attempt },
				},
			]);
		} catch (publishErr) {
			this.logger.warn("Cannot requeue a failed message with its count, handing it back", {
				...logFields,
				err: (publishErr as Error).message,
			});
			nack(d.channel, d.raw);
			return;
		}
		ack(d);
	}

	async deadLetter(
		channel: Channel,
		raw: ConsumeMessage,
		reason: string,
		attempt: number,
		fields: Record<string, unknown> = {},
	): Promise<void> {
		const queue = this.queue;
		try {
			await this.publisher.publish([
				{
					queue: deadLetterQueue(queue),
					messageId:
						(raw.properties.messageId as string | undefined) ?? `unidentified-${Date.now()}`,
					content: raw.content,
					headers: {
						...(raw.properties.headers ?? {}),
						"x-original-queue": queue,
						"x-dead-letter-reason": reason.slice(0, 1000),
						"x-attempts": attempt,
						"x-dead-lettered-at": new Date().toISOString(),
					},
				},
			]);
			channel.ack(raw);
			this.stats.deadLettered++;
			this.logger.error("Message moved to the dead-letter queue", {
				queue,
				messageId: raw.properties.messageId,
				...fields,
				reason,
				attempt,
			});
		} catch (err) {
			// Broker trouble, not the message's: hand it back (uncounted) to be dead-lettered later.
			this.logger.warn("Cannot dead-letter a message now, handing it back", {
				queue,
				err: (err as Error).message,
			});
			await sleep(this.opts.retryBackoffMs);
			nack(channel, raw);
		}
	}
}

export function ack(d: HeldMessage): void {
	try {
		d.channel.ack(d.raw);
	} catch {
		// Channel closed after the commit: the message is redelivered and the inbox skips it.
	}
}

function nack(channel: Channel, raw: ConsumeMessage): void {
	try {
		channel.nack(raw, false, true);
	} catch {
		// Channel closed: the broker hands the message back anyway.
	}
}
