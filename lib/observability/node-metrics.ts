/**
 * What a service node reports to the gateway's GET /metrics (`<service>.metrics` action).
 *
 * `node`: figures of this process (Moleculer's registry, relay and consumer counters); the
 * gateway labels them with the node id. `shared`: figures of the service's database and of
 * the broker, the same whichever node reads them, so the gateway asks one node per service
 * for them (a query and a few checkQueue calls per scrape, none per message).
 */
import type { Knex } from "knex";
import type { ServiceBroker } from "moleculer";
import { epochCacher } from "../cache";
import { deadLetterQueue, MessagingRuntime, OutboxStore } from "../messaging";
import { counter, fromMoleculer, gauge, MetricFamily, MoleculerMetric } from "./metrics";

/** The answer of `<service>.metrics`: this node's figures, or the service's shared ones. */
export interface NodeMetrics {
	nodeID: string;
	families: MetricFamily[];
}

export interface ServiceMetricsSource {
	service: string;
	db: Knex;
	messaging: MessagingRuntime;
	/** Queues whose depth (and DLQ depth) the service reports. */
	queues: string[];
	duplicatesSkipped: number;
	/** More figures of this node (e.g. a histogram the service keeps). */
	node?: MetricFamily[];
	/** More scrape-time collectors of the service's database. */
	shared?: (() => Promise<MetricFamily[]>)[];
}

/**
 * What `<service>.metrics` answers: with `shared` false the node's own figures (Moleculer's
 * registry, relay and consumer counters; no I/O), with `shared` true the service's database
 * and queue figures (a few queries and checkQueue calls).
 */
export async function serviceMetrics(broker: ServiceBroker, src: ServiceMetricsSource, shared: boolean): Promise<NodeMetrics> {
	const families = shared
		? await collectShared(broker, [
				() => outboxFamilies(src.service, src.db),
				() => queueFamilies(src.messaging, src.queues),
				...(src.shared ?? []),
			])
		: [
				...moleculerFamilies(broker),
				...messagingFamilies(src.service, src.messaging, src.duplicatesSkipped),
				...cacheFamilies(broker),
				...(src.node ?? []),
			];
	return { nodeID: broker.nodeID, families };
}

/**
 * Moleculer's figures /metrics never shows. What identifies the host: its name, OS user
 * (name, uid, gid, home), network interfaces (addresses, MACs), OS and CPU model, and the
 * process's command line. Per-second clock values are noise, as Moleculer's own Prometheus
 * reporter says too. Memory, CPU load and uptime stay.
 */
export const HIDDEN_METRICS = [
	"os.hostname",
	"os.user.**",
	"os.network.**",
	"os.type",
	"os.release",
	"os.arch",
	"os.platform",
	"os.cpu.info.**",
	"os.datetime.**",
	"process.arguments",
];

/** Moleculer's own figures of this node; empty when METRICS=false. */
export function moleculerFamilies(broker: ServiceBroker): MetricFamily[] {
	if (!broker.isMetricsEnabled()) return [];
	const list = broker.metrics.list({ excludes: HIDDEN_METRICS } as never) as unknown as MoleculerMetric[];
	return fromMoleculer(list);
}

/** The relay and consumer counters of a node (kept as plain numbers on the hot path). */
export function messagingFamilies(
	service: string,
	messaging: MessagingRuntime,
	duplicatesSkipped: number,
): MetricFamily[] {
	const consumers = messaging.consumers.map(c => ({ queue: c.spec.queue, ...c.stats }));
	return [
		counter("gozon_outbox_published_total", "Outbox messages the relay published (broker-confirmed) and marked sent, since the node started.", [
			{ labels: { service }, value: messaging.relay.published },
		]),
		counter(
			"gozon_outbox_relay_rounds_total",
			"Relay rounds (one transaction each) that claimed outbox rows, since the node started; published ÷ rounds is the mean batch.",
			[{ labels: { service }, value: messaging.relay.rounds }],
		),
		counter(
			"gozon_outbox_relay_empty_rounds_total",
			"Relay rounds (one transaction each) that found no row to claim, since the node started.",
			[{ labels: { service }, value: messaging.relay.emptyRounds }],
		),
		counter(
			"gozon_inbox_duplicates_skipped_total",
			"Business messages skipped as already handled (inbox hit or order already decided), since the node started.",
			[{ labels: { service }, value: duplicatesSkipped }],
		),
		counter(
			"gozon_consumer_handled_total",
			"Messages a consumer handled and acknowledged after its transaction committed, since the node started.",
			consumers.map(c => ({ labels: { queue: c.queue }, value: c.handled })),
		),
		counter(
			"gozon_consumer_batches_total",
			"Batches a consumer committed (one transaction each), since the node started; handled ÷ batches is the mean batch.",
			consumers.map(c => ({ labels: { queue: c.queue }, value: c.batches })),
		),
		counter(
			"gozon_dead_lettered_total",
			"Messages moved to <queue>.dlq (malformed, or failing MAX_DELIVERIES times), since the node started.",
			consumers.map(c => ({ labels: { queue: c.queue }, value: c.deadLettered })),
		),
		counter(
			"gozon_consumer_retried_total",
			"Failed messages given back to the queue for another attempt, since the node started.",
			consumers.map(c => ({ labels: { queue: c.queue }, value: c.retried })),
		),
	];
}

/** Failed cache operations and epoch bumps of this node's cacher (lib/redis/epoch-cacher.ts). */
export function cacheFamilies(broker: ServiceBroker): MetricFamily[] {
	const cacher = epochCacher(broker);
	if (!cacher) return [];
	return [
		counter(
			"gozon_cache_errors_total",
			"Cache operations that failed (Redis down, slow or refusing) and were skipped, by op (get, set, del, incr: a lost invalidation; epoch: a bump that failed), since the node started.",
			Object.entries(cacher.errors).map(([op, value]) => ({ labels: { op }, value })),
		),
		counter(
			"gozon_cache_epoch_bumps_total",
			"Times this node bumped the cache epoch (Redis back after a gap, or an invalidation lost), since the node started.",
			[{ labels: {}, value: cacher.bumps }],
		),
	];
}

/** Unsent outbox rows and the age of the oldest: one indexed query. */
export async function outboxFamilies(service: string, db: Knex): Promise<MetricFamily[]> {
	const pending = await new OutboxStore().pending(db);
	return [
		gauge("gozon_outbox_pending_messages", "Outbox rows not yet published to RabbitMQ.", [
			{ labels: { service }, value: pending.count },
		]),
		gauge("gozon_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row (0 when none).", [
			{ labels: { service }, value: pending.oldestAgeMs / 1000 },
		]),
	];
}

/**
 * Messages ready in each business queue and its DLQ (amqplib checkQueue on a short-lived
 * channel). Nothing while the node is cut off from RabbitMQ.
 */
export async function queueFamilies(messaging: MessagingRuntime, queues: string[]): Promise<MetricFamily[]> {
	if (!messaging.connection.isConnected) return [];
	const channel = await messaging.connection.createChannel();
	// A failed check closes the channel with an error event; the rejection below reports it.
	channel.on("error", () => undefined);
	try {
		const names = queues.flatMap(q => [q, deadLetterQueue(q)]);
		const samples = [];
		for (const queue of names) samples.push({ labels: { queue }, value: (await channel.checkQueue(queue)).messageCount });
		return [gauge("gozon_queue_messages", "Messages ready in a RabbitMQ queue (orders.to_pay, payment.results, orders.to_refund and their .dlq).", samples)];
	} finally {
		await channel.close().catch(() => undefined);
	}
}

/** Runs the scrape-time collectors; one that fails is left out rather than failing the scrape. */
export async function collectShared(
	broker: ServiceBroker,
	collectors: (() => Promise<MetricFamily[]>)[],
): Promise<MetricFamily[]> {
	const results = await Promise.allSettled(collectors.map(c => c()));
	const out: MetricFamily[] = [];
	for (const r of results) {
		if (r.status === "fulfilled") out.push(...r.value);
		else broker.logger.warn("A metrics collector failed", { err: (r.reason as Error)?.message });
	}
	return out;
}
