import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "moleculer";
import { faultPoint, FaultPoint } from "../faults";
import type { AmqpConnection } from "./connection";
import { ConsumerOptions, defaultConsumerOptions } from "./options";
import type { Publisher } from "./publisher";
import { deadLetterQueue } from "./topology";

export interface IncomingMessage<T> {
	messageId: string;
	body: T;
	/** 1 on the first delivery, counting redeliveries after failures and crashes. */
	attempt: number;
}

/** Thrown by a decoder: the message can never be processed, so it goes to the DLQ at once. */
export class PoisonMessageError extends Error {}

export interface ConsumerSpec<T> {
	queue: string;
	/** Validates a parsed JSON body; throws PoisonMessageError for a malformed one. */
	decode(body: unknown): T;
	/**
	 * Handles a batch in one database transaction: all of it commits, or none. Messages are
	 * acknowledged only after it resolves.
	 */
	handle(batch: IncomingMessage<T>[]): Promise<void>;
	/** Where a crash test may kill the process: after the commit, before the acks. */
	faultAfterCommit?: FaultPoint;
	/** What names a message's business object in log lines, e.g. `{ orderId }`. */
	logFields?(body: T): Record<string, unknown>;
}

interface Delivery<T> extends IncomingMessage<T> {
	raw: ConsumeMessage;
	channel: Channel;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

const TRANSIENT_CODES = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"EPIPE",
	"ENOTFOUND",
	"EAI_AGAIN",
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now
	"53300", // too_many_connections
	"40001", // serialization_failure
	"40P01", // deadlock_detected
]);

/** Infrastructure trouble that says nothing about the message: retry without counting it. */
export function isTransientError(err: unknown): boolean {
	const e = err as { code?: string; name?: string; message?: string };
	if (!e) return false;
	if (e.code && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("08"))) return true;
	if (e.name === "KnexTimeoutError") return true;
	return /Connection terminated|connection ended|Client has encountered a connection error/i.test(
		e.message ?? "",
	);
}

/**
 * Consumes a durable queue in batches with manual acks. A message is acknowledged after its
 * batch's transaction commits; a malformed one goes to `<queue>.dlq` at once; one that keeps
 * failing is retried (nack + requeue) until `maxDeliveries`, then dead-lettered with the
 * error as its reason. Transient failures (database unreachable) are retried with backoff
 * while the messages stay unacknowledged, so an outage never fills the DLQ.
 */
export class QueueConsumer<T> {
	private readonly opts: ConsumerOptions;
	private channel: Channel | null = null;
	private consumerTag: string | null = null;
	private buffer: Delivery<T>[] = [];
	private active = 0;
	private idle: (() => void)[] = [];
	private stopping = false;
	private readonly onConnected = () => void this.subscribe();
	/** Counters for metrics. */
	readonly stats = { handled: 0, deadLettered: 0, retried: 0 };

	constructor(
		private readonly connection: AmqpConnection,
		private readonly publisher: Publisher,
		readonly spec: ConsumerSpec<T>,
		private readonly logger: Logger,
		opts: Partial<ConsumerOptions> = {},
	) {
		this.opts = { ...defaultConsumerOptions, ...opts };
	}

	async start(): Promise<void> {
		this.stopping = false;
		this.connection.on("connected", this.onConnected);
		if (this.connection.isConnected) await this.subscribe();
	}

	/** Stops taking messages, finishes (and acks) the batches under way, closes the channel. */
	async stop(): Promise<void> {
		this.stopping = true;
		this.connection.off("connected", this.onConnected);
		const channel = this.channel;
		if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
		this.buffer = [];
		if (this.active) await new Promise<void>(resolve => this.idle.push(resolve));
		this.channel = null;
		if (channel) await channel.close().catch(() => undefined);
	}

	private async subscribe(): Promise<void> {
		if (this.stopping) return;
		try {
			const channel = await this.connection.createChannel();
			channel.on("error", err =>
				this.logger.warn("Consumer channel error", { queue: this.spec.queue, err: err.message }),
			);
			channel.on("close", () => {
				if (this.channel !== channel) return;
				this.channel = null;
				// Unacknowledged messages go back to the queue with the channel.
				this.buffer = this.buffer.filter(d => d.channel !== channel);
			});
			await channel.prefetch(this.opts.prefetch);
			this.channel = channel;
			const { consumerTag } = await channel.consume(this.spec.queue, msg => {
				if (msg) void this.receive(channel, msg);
			});
			this.consumerTag = consumerTag;
			this.logger.info("Consuming", { queue: this.spec.queue, prefetch: this.opts.prefetch });
		} catch (err) {
			this.logger.warn("Cannot subscribe, waiting for the next connection", {
				queue: this.spec.queue,
				err: (err as Error).message,
			});
		}
	}

	private async receive(channel: Channel, raw: ConsumeMessage): Promise<void> {
		const attempt = deliveryAttempt(raw);
		const messageId = raw.properties.messageId as string | undefined;
		let body: T;
		try {
			if (!messageId) throw new PoisonMessageError("message has no messageId");
			let parsed: unknown;
			try {
				parsed = JSON.parse(raw.content.toString("utf8"));
			} catch {
				throw new PoisonMessageError("body is not valid JSON");
			}
			body = this.spec.decode(parsed);
		} catch (err) {
			await this.deadLetter(channel, raw, (err as Error).message, attempt);
			return;
		}
		if (attempt > this.opts.maxDeliveries) {
			await this.deadLetter(
				channel,
				raw,
				`delivered ${attempt} times without being acknowledged (its consumer kept stopping)`,
				attempt,
			);
			return;
		}
		this.buffer.push({ messageId, body, attempt, raw, channel });
		this.pump();
	}

	private pump(): void {
		while (this.active < this.opts.concurrency && this.buffer.length && !this.stopping) {
			const batch = this.buffer.splice(0, this.opts.batchSize);
			this.active++;
			void this.process(batch).finally(() => {
				this.active--;
				if (this.active === 0) this.idle.splice(0).forEach(resolve => resolve());
				this.pump();
			});
		}
	}

	private async process(batch: Delivery<T>[]): Promise<void> {
		let backoff = this.opts.retryBackoffMs;
		for (;;) {
			const channel = batch[0].channel;
			if (this.channel !== channel) return; // channel gone: the broker redelivers these
			try {
				await this.spec.handle(batch.map(({ messageId, body, attempt }) => ({ messageId, body, attempt })));
				if (this.spec.faultAfterCommit) faultPoint(this.spec.faultAfterCommit);
				for (const d of batch) ack(d);
				this.stats.handled += batch.length;
				// TRACING=true only: a line per message is too dear on the hot path.
				if (this.opts.logMessages) for (const d of batch) this.logger.info("Message handled", this.logFields(d));
				return;
			} catch (err) {
				if (isTransientError(err)) {
					this.logger.warn("Transient failure, retrying the batch", {
						queue: this.spec.queue,
						size: batch.length,
						err: (err as Error).message,
						retryInMs: backoff,
					});
					await sleep(backoff);
					backoff = Math.min(backoff * 2, this.opts.maxBackoffMs);
					if (this.stopping) return;
					continue;
				}
				if (batch.length > 1) {
					// Find the bad message: handle the batch one by one.
					for (const d of batch) await this.process([d]);
					return;
				}
				await this.failed(batch[0], err as Error);
				return;
			}
		}
	}

	private logFields(d: Delivery<T>): Record<string, unknown> {
		return { queue: this.spec.queue, messageId: d.messageId, attempt: d.attempt, ...this.spec.logFields?.(d.body) };
	}

	private async failed(d: Delivery<T>, err: Error): Promise<void> {
		if (d.attempt >= this.opts.maxDeliveries) {
			await this.deadLetter(d.channel, d.raw, err.message, d.attempt, this.spec.logFields?.(d.body));
			return;
		}
		this.stats.retried++;
		this.logger.warn("Message failed, it will be redelivered", { ...this.logFields(d), err: err.message });
		await sleep(this.opts.retryBackoffMs * d.attempt);
		try {
			d.channel.nack(d.raw, false, true);
		} catch {
			// Channel closed: the broker returns the message anyway.
		}
	}

	private async deadLetter(
		channel: Channel,
		raw: ConsumeMessage,
		reason: string,
		attempt: number,
		fields: Record<string, unknown> = {},
	): Promise<void> {
		const queue = this.spec.queue;
		try {
			await this.publisher.publish([
				{
					queue: deadLetterQueue(queue),
					messageId: (raw.properties.messageId as string | undefined) ?? `unidentified-${Date.now()}`,
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
			// Left unacknowledged: it comes back and is dead-lettered on a later delivery.
			this.logger.warn("Cannot dead-letter a message now", { queue, err: (err as Error).message });
		}
	}
}

function ack<T>(d: Delivery<T>): void {
	try {
		d.channel.ack(d.raw);
	} catch {
		// Channel closed after the commit: the message is redelivered and the inbox skips it.
	}
}

/** Quorum queues count earlier deliveries in x-delivery-count; classic ones only flag them. */
function deliveryAttempt(raw: ConsumeMessage): number {
	const count = Number(raw.properties.headers?.["x-delivery-count"]);
	if (Number.isFinite(count) && count >= 0) return count + 1;
	return raw.fields.redelivered ? 2 : 1;
}
