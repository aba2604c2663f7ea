import type { Knex } from "knex";
import type { Logger } from "moleculer";
import { amqpClusterSize, type Config } from "../config";
import { AmqpConnection } from "./connection";
import { ConsumerSpec, QueueConsumer } from "./consumer";
import { ConsumerOptions, defaultRelayOptions, RelayOptions } from "./options";
import { AfterCommitPublisher } from "./outbox.after-commit";
import { OutboxRelay } from "./outbox.relay";
import { OutboxStore } from "./outbox.store";
import { trackOutboxWrites } from "./outbox.writes";
import { Publisher } from "./publisher";

export interface MessagingOptions {
	/** One URL, or a comma-separated list of the nodes of a RabbitMQ cluster. */
	amqpUrl: string;
	/** Replicas of a queue created on a cluster; 0 on a single broker (nothing sent). */
	replicas?: number;
	/** Queues this node publishes to or consumes from; declared on every (re)connect. */
	queues: string[];
	relay: Partial<RelayOptions>;
	consumer: Partial<ConsumerOptions>;
}

/** The messaging settings of a node, from its config; both services consume and publish both queues. */
export function messagingOptions(config: Config, queues: string[]): MessagingOptions {
	return {
		amqpUrl: config.amqpUrl,
		replicas: amqpClusterSize(config) > 1 ? amqpClusterSize(config) : 0,
		queues,
		relay: {
			batchSize: config.relayBatchSize,
			concurrency: config.relayConcurrency,
			pollIntervalMs: config.relayPollMs,
			publishTimeoutMs: config.publishTimeoutMs,
		},
		consumer: {
			prefetch: config.consumerPrefetch,
			batchSize: config.consumerBatchSize,
			concurrency: config.consumerConcurrency,
			maxDeliveries: config.maxDeliveries,
			logMessages: config.tracing,
		},
	};
}

/** Runs a unit of work that commits its own transaction; see MessagingRuntime.write. */
export type WriteScope = <T>(work: () => Promise<T>) => Promise<T>;

/**
 * What a service node needs for its business messages: one broker connection, the outbox
 * relay of its own database and its queue consumers, started and stopped together.
 */
export class MessagingRuntime {
	readonly connection: AmqpConnection;
	readonly publisher: Publisher;
	readonly relay: OutboxRelay;
	readonly afterCommit: AfterCommitPublisher;
	readonly consumers: QueueConsumer<unknown>[] = [];

	constructor(
		private readonly knex: Knex,
		private readonly opts: MessagingOptions,
		private readonly logger: Logger,
	) {
		this.connection = new AmqpConnection(opts.amqpUrl, opts.queues, logger, {
			replicas: opts.replicas ?? 0,
		});
		this.publisher = new Publisher(
			this.connection,
			opts.relay.publishTimeoutMs ?? defaultRelayOptions.publishTimeoutMs,
		);
		this.relay = new OutboxRelay(knex, this.publisher, logger, opts.relay);
		this.afterCommit = new AfterCommitPublisher(
			knex,
			this.publisher,
			this.relay,
			logger,
			opts.relay,
		);
		this.connection.on("connected", () => this.relay.resume());
		this.connection.on("blocked", (reason: string) =>
			this.relay.pause(`RabbitMQ blocked the connection: ${reason}`),
		);
		this.connection.on("unblocked", () => this.relay.resume());
	}

	/** Counters and outbox backlog, for the services' `stats` action and metrics. */
	async stats() {
		return {
			relayPublished: this.published,
			relayPaused: this.relay.paused,
			blocked: this.connection.blocked,
			connects: this.connection.connects,
			consumers: this.consumers.map(c => ({ ...c.stats, ...c.status() })),
			duplicatesSkipped: this.duplicatesSkipped,
			outbox: await new OutboxStore().pending(this.knex),
		};
	}

	/** Outbox messages published and marked sent (after their commit, or by the relay), since start. */
	get published(): number {
		return this.relay.published + this.afterCommit.published;
	}

	/** Publishes with confirms that carried outbox rows (after-commit publishes and relay rounds). */
	get publishRounds(): number {
		return this.relay.rounds + this.afterCommit.rounds;
	}

	/** Messages its consumers skipped as already handled, since the node started. */
	get duplicatesSkipped(): number {
		return this.consumers.reduce((sum, c) => sum + c.stats.duplicates, 0);
	}

	/**
	 * Runs `work`, which commits its own transaction (or single statement), and publishes the
	 * outbox rows it committed once it has resolved (AfterCommitPublisher): the outbox store
	 * records them in the work's unit, so no caller publishes or wakes the relay by hand. Rows
	 * written but not recorded as committed (a statement whose outcome is unknown) wake the relay.
	 * Consumer batches are writes by themselves (`consume`); an action or job that writes outbox
	 * rows outside a `write` waits for the poll (OUTBOX_POLL_MS, rows older than its grace).
	 */
	readonly write: WriteScope = async work => {
		const { result, wrote, committed } = await trackOutboxWrites(work);
		if (committed.length) this.afterCommit.publish(committed);
		else if (wrote) this.relay.wake();
		return result;
	};

	/** A consumer of `spec.queue`; each batch its handler commits is a `write` (see above). */
	consume<T>(spec: ConsumerSpec<T>): QueueConsumer<T> {
		const consumer = new QueueConsumer<T>(
			this.connection,
			this.publisher,
			{ ...spec, handle: batch => this.write(() => spec.handle(batch)) },
			this.logger,
			this.opts.consumer,
		);
		this.consumers.push(consumer as QueueConsumer<unknown>);
		return consumer;
	}

	/** Connects (retrying in the background if the broker is down), then starts relay and consumers. */
	async start(): Promise<void> {
		await this.connection.start();
		for (const c of this.consumers) await c.start();
		this.relay.start();
	}

	/** Stops taking messages, lets work under way finish and be acknowledged, then disconnects. */
	async stop(): Promise<void> {
		await Promise.all(this.consumers.map(c => c.stop()));
		await this.afterCommit.stop();
		await this.relay.stop();
		await this.connection.stop();
	}
}
