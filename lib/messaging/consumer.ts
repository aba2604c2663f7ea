import type { Channel, ConsumeMessage } from "amqplib";
import type { Logger } from "moleculer";
import { faultPoint, FaultPoint } from "../faults";
import type { AmqpConnection } from "./connection";
import { handlerAttempt, isTransientError, PoisonMessageError } from "./failures";
import { ConsumerOptions, defaultConsumerOptions } from "./options";
import type { Publisher } from "./publisher";
import { ack, HeldMessage, Redelivery } from "./redelivery";

export { isTransientError, PoisonMessageError } from "./failures";

export interface IncomingMessage<T> {
	messageId: string;
	body: T;
	/** 1 until a handler has failed on this message; then 1 + the failed handler attempts. */
	attempt: number;
}

/** What a handler may report of a batch it committed. */
export interface HandledBatch {
	/** Messages skipped as already handled (an inbox hit, or an order already decided). */
	duplicates: number;
}

export interface ConsumerSpec<T> {
	queue: string;
	/** Validates a parsed JSON body; throws PoisonMessageError for a malformed one. */
	decode(body: unknown): T;
	/**
	 * Handles a batch in one database transaction: all of it commits, or none. Messages are
	 * acknowledged only after it resolves.
	 */
	handle(batch: IncomingMessage<T>[]): Promise<HandledBatch | void>;
	/** Where a crash test may kill the process: after the commit, before the acks. */
	faultAfterCommit?: FaultPoint;
	/** What names a message's business object in log lines, e.g. `{ orderId }`. */
	logFields?(body: T): Record<string, unknown>;
}

/** consuming: subscribed; recovering: its channel or subscription was lost and is being re-made. */
export type ConsumerState = "starting" | "consuming" | "recovering" | "disconnected" | "stopped";

export interface ConsumerStatus {
	queue: string;
	state: ConsumerState;
	/** When it last subscribed, received a message or finished a batch (ms since the epoch). */
	lastProgressAt: number;
	/** Messages it holds: received and not yet acknowledged or handed back. */
	holding: number;
}

interface Delivery<T> extends IncomingMessage<T>, HeldMessage {}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Consumes a durable queue in batches with manual acks. A message is acknowledged after its
 * batch's transaction commits; a malformed one goes to `<queue>.dlq` at once; one whose handler
 * keeps failing is requeued with its count of failed attempts until `maxDeliveries`, then
 * dead-lettered with the error as its reason (both done by Redelivery). Transient failures
 * (database or network trouble) are retried with capped backoff while the messages stay
 * unacknowledged and are never counted, so an outage never fills the DLQ.
 *
 * The consumer heals itself: a channel the broker closes (consumer timeout, a failed operation)
 * or a subscription it cancels (queue deleted) is re-made on the live connection within
 * seconds; a lost connection is re-made by AmqpConnection, which then emits "connected".
 */
export class QueueConsumer<T> {
	private readonly opts: ConsumerOptions;
	private channel: Channel | null = null;
	private consumerTag: string | null = null;
	private buffer: Delivery<T>[] = [];
	private active = 0;
	private pumpScheduled = false;
	private activeMessages = 0;
	private idle: (() => void)[] = [];
	private stopping = false;
	private subscribing = false;
	private recoverTimer: NodeJS.Timeout | null = null;
	private recoverBackoff: number;
	private currentState: ConsumerState = "starting";
	private lastProgressAt = Date.now();
	private readonly onConnected = () => void this.subscribe();
	private readonly onDisconnected = () => this.setState("disconnected");
	/**
	 * Counters for metrics; `batches` counts committed batches, so handled ÷ batches is their mean
	 * size; `duplicates` counts the handled messages the handler skipped as already handled.
	 */
	readonly stats = {
		handled: 0,
		batches: 0,
		duplicates: 0,
		deadLettered: 0,
		retried: 0,
		recovered: 0,
	};
	private readonly redelivery: Redelivery;

	constructor(
		private readonly connection: AmqpConnection,
		publisher: Publisher,
		readonly spec: ConsumerSpec<T>,
		private readonly logger: Logger,
		opts: Partial<ConsumerOptions> = {},
	) {
		this.opts = { ...defaultConsumerOptions, ...opts };
		this.recoverBackoff = this.opts.recoverDelayMs;
		this.redelivery = new Redelivery(
			spec.queue,
			publisher,
			logger,
			this.opts,
			this.stats,
			channel => this.channel === channel,
		);
	}

	/** For readiness: whether it is subscribed, and when it last made progress. */
	status(): ConsumerStatus {
		return {
			queue: this.spec.queue,
			state: this.currentState,
			lastProgressAt: this.lastProgressAt,
			holding: this.buffer.length + this.activeMessages,
		};
	}

	async start(): Promise<void> {
		this.stopping = false;
		this.connection.on("connected", this.onConnected);
		this.connection.on("disconnected", this.onDisconnected);
		if (this.connection.isConnected) await this.subscribe();
		else this.setState("disconnected");
	}

	/** Stops taking messages, finishes (and acks) the batches under way, closes the channel. */
	async stop(): Promise<void> {
		this.stopping = true;
		this.setState("stopped");
		this.connection.off("connected", this.onConnected);
		this.connection.off("disconnected", this.onDisconnected);
		if (this.recoverTimer) clearTimeout(this.recoverTimer);
		this.recoverTimer = null;
		const channel = this.channel;
		if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
		this.buffer = [];
		if (this.active) await new Promise<void>(resolve => this.idle.push(resolve));
		this.channel = null;
		if (channel) await channel.close().catch(() => undefined);
	}

	private setState(state: ConsumerState): void {
		if (this.currentState === "stopped" && state !== "starting") return;
		this.currentState = state;
	}

	private async subscribe(): Promise<void> {
		if (this.stopping || this.subscribing || this.channel) return;
		this.subscribing = true;
		let channel: Channel | null = null;
		try {
			channel = await this.connection.createChannel();
			const own = channel;
			own.on("error", err =>
				this.logger.warn("Consumer channel error", { queue: this.spec.queue, err: err.message }),
			);
			own.on("close", () => {
				if (this.channel !== own) return;
				this.channel = null;
				this.consumerTag = null;
				// Unacknowledged messages go back to the queue with the channel.
				this.buffer = this.buffer.filter(d => d.channel !== own);
				this.scheduleRecovery("its channel was closed");
			});
			// The queue may have been deleted since the connection declared it.
			await this.connection.declare(own, this.spec.queue);
			await own.prefetch(this.opts.prefetch);
			this.channel = own;
			const { consumerTag } = await own.consume(this.spec.queue, msg => {
				if (msg) void this.receive(own, msg);
				else this.onCancelled(own);
			});
			this.consumerTag = consumerTag;
			this.lastProgressAt = Date.now();
			this.recoverBackoff = this.opts.recoverDelayMs;
			this.setState("consuming");
			this.logger.info("Consuming", { queue: this.spec.queue, prefetch: this.opts.prefetch });
		} catch (err) {
			if (channel && this.channel === channel) this.channel = null;
			if (channel) await channel.close().catch(() => undefined);
			this.logger.warn("Cannot subscribe, retrying", {
				queue: this.spec.queue,
				err: (err as Error).message,
			});
			this.subscribing = false;
			this.scheduleRecovery("subscribing failed");
			return;
		}
		this.subscribing = false;
	}

	/** The broker cancelled the subscription (basic.cancel, e.g. the queue was deleted). */
	private onCancelled(channel: Channel): void {
		if (this.channel !== channel) return;
		this.logger.warn("The broker cancelled the subscription, re-subscribing", {
			queue: this.spec.queue,
		});
		this.channel = null;
		this.consumerTag = null;
		this.buffer = this.buffer.filter(d => d.channel !== channel);
		// Closing the channel hands its unacknowledged messages back; batches under way on it
		// see it gone and are redelivered (the inbox drops any that committed).
		channel.close().catch(() => undefined);
		this.scheduleRecovery("the broker cancelled it");
	}

	/** Re-subscribes on the live connection after a short delay (doubling while it keeps failing). */
	private scheduleRecovery(why: string): void {
		if (this.stopping) return;
		if (!this.connection.isConnected) {
			this.setState("disconnected"); // "connected" will re-subscribe
			return;
		}
		this.setState("recovering");
		if (this.recoverTimer) return;
		const delay = this.recoverBackoff;
		this.recoverBackoff = Math.min(this.recoverBackoff * 2, this.opts.maxBackoffMs);
		this.logger.warn("Consumer lost its subscription, re-making it", {
			queue: this.spec.queue,
			why,
			retryInMs: delay,
		});
		this.recoverTimer = setTimeout(() => {
			this.recoverTimer = null;
			this.stats.recovered++;
			void this.subscribe();
		}, delay);
	}

	private async receive(channel: Channel, raw: ConsumeMessage): Promise<void> {
		this.lastProgressAt = Date.now();
		const attempt = handlerAttempt(raw);
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
			await this.redelivery.deadLetter(channel, raw, (err as Error).message, attempt);
			return;
		}
		this.buffer.push({ messageId, body, attempt, raw, channel });
		// The messages of one socket read arrive in the same event-loop turn: batch them together
		// rather than starting a batch of one with the first.
		if (!this.pumpScheduled) {
			this.pumpScheduled = true;
			setImmediate(() => {
				this.pumpScheduled = false;
				this.pump();
			});
		}
	}

	private pump(): void {
		while (this.active < this.opts.concurrency && this.buffer.length && !this.stopping) {
			const batch = this.buffer.splice(0, this.opts.batchSize);
			this.active++;
			this.activeMessages += batch.length;
			void this.process(batch).finally(() => {
				this.active--;
				this.activeMessages -= batch.length;
				this.lastProgressAt = Date.now();
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
				const handled = await this.spec.handle(
					batch.map(({ messageId, body, attempt }) => ({ messageId, body, attempt })),
				);
				this.stats.duplicates += handled?.duplicates ?? 0;
				if (this.spec.faultAfterCommit) faultPoint(this.spec.faultAfterCommit);
				for (const d of batch) ack(d);
				this.stats.handled += batch.length;
				this.stats.batches++;
				// TRACING=true only: a line per message is too dear on the hot path.
				if (this.opts.logMessages)
					for (const d of batch) this.logger.info("Message handled", this.logFields(d));
				return;
			} catch (err) {
				if (isTransientError(err)) {
					this.logger.warn("Transient failure, retrying the batch", {
						queue: this.spec.queue,
						size: batch.length,
						err: (err as Error).message,
						code: (err as { code?: string }).code,
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
				const d = batch[0];
				await this.redelivery.failed(d, err as Error, this.spec.logFields?.(d.body) ?? {});
				return;
			}
		}
	}

	private logFields(d: Delivery<T>): Record<string, unknown> {
		return {
			queue: this.spec.queue,
			messageId: d.messageId,
			attempt: d.attempt,
			...this.spec.logFields?.(d.body),
		};
	}
}
