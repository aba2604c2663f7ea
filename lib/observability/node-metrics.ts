/**
 * What a service node reports to the gateway's GET /metrics (`<service>.metrics` action), in
 * the shape of Moleculer's registry, the same as `$node.metrics` answers.
 *
 * `node`: figures of this process (Moleculer's registry, relay and consumer counters); the
 * gateway labels them with the node id. `shared`: figures of the service's database and of
 * the broker, the same whichever node reads them, so the gateway asks one node per service
 * for them (a query and a few checkQueue calls per scrape, none per message).
 */
import type { Knex } from "knex";
import { MetricTypes, type ServiceBroker } from "moleculer";
import { epochCacher } from "../cache";
import { deadLetterQueue, MessagingRuntime, OutboxStore } from "../messaging";
import type { Labels, MetricSnapshot } from "./metrics";

export interface ServiceMetricsSource {
	service: string;
	db: Knex;
	messaging: MessagingRuntime;
	/** Queues whose depth (and DLQ depth) the service reports. */
	queues: string[];
	/** More figures of this node (e.g. a histogram the service keeps). */
	node?: MetricSnapshot[];
	/** More scrape-time collectors of the service's database. */
	shared?: (() => Promise<MetricSnapshot[]>)[];
}

/**
 * What `<service>.metrics` answers: with `shared` false the node's own figures (Moleculer's
 * registry, relay and consumer counters; no I/O), with `shared` true the service's database
 * and queue figures (a few queries and checkQueue calls).
 */
export async function serviceMetrics(
	broker: ServiceBroker,
	src: ServiceMetricsSource,
	shared: boolean,
): Promise<MetricSnapshot[]> {
	return shared
		? collectShared(broker, [
				() => outboxMetrics(broker, src.service, src.db),
				() => queueMetrics(broker, src.messaging, src.queues),
				...(src.shared ?? []),
			])
		: [
				...moleculerMetrics(broker),
				...messagingMetrics(broker, src.service, src.messaging),
				...cacheMetrics(broker),
				...(src.node ?? []),
			];
}

/**
 * A Moleculer counter or gauge set to these values (its label names are theirs), listed as its
 * registry lists it. The values are figures the node keeps anyway as plain numbers, read at
 * scrape time: nothing per message. Moleculer's metric types, not `broker.metrics`: METRICS=false
 * turns that registry off, and our series stay.
 */
export function valueMetric(
	broker: ServiceBroker,
	type: "counter" | "gauge",
	name: string,
	description: string,
	values: [Labels, number][],
): MetricSnapshot {
	const opts = { type, name, description, labelNames: Object.keys(values[0]?.[0] ?? {}) };
	const metric = new (type === "counter" ? MetricTypes.Counter : MetricTypes.Gauge)(
		opts,
		broker.metrics,
	);
	for (const [labels, value] of values) metric.set(value, labels);
	return snapshot(metric);
}

/** A Moleculer histogram of fixed buckets that a service observes itself (a dozen comparisons each). */
export function histogram(
	broker: ServiceBroker,
	opts: { name: string; description: string; buckets: number[] },
): MetricTypes.Histogram {
	const h = new MetricTypes.Histogram({ type: "histogram", ...opts }, broker.metrics);
	// Moleculer lists a histogram only once observed; ours is listed with zeros from the start.
	h.values.set(h.hashingLabels({}), h.resetItem({ labels: {} }));
	return h;
}

/** Starts a timer; the returned function observes the seconds elapsed (Moleculer's `timer` counts ms). */
export function startTimer(h: MetricTypes.Histogram): () => void {
	const start = process.hrtime.bigint();
	return () => h.observe(Number(process.hrtime.bigint() - start) / 1e9);
}

// Moleculer's .d.ts types `toObject().values` as a Map; it is the snapshot array.
export const snapshot = (metric: MetricTypes.Base<object>) =>
	metric.toObject() as unknown as MetricSnapshot;

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
export function moleculerMetrics(broker: ServiceBroker): MetricSnapshot[] {
	if (!broker.isMetricsEnabled()) return [];
	return broker.metrics.list({ excludes: HIDDEN_METRICS }) as unknown as MetricSnapshot[];
}

/** The relay and consumer counters of a node (kept as plain numbers on the hot path). */
export function messagingMetrics(
	broker: ServiceBroker,
	service: string,
	messaging: MessagingRuntime,
): MetricSnapshot[] {
	const consumers = messaging.consumers.map(c => ({ queue: c.spec.queue, ...c.stats }));
	const byService = (name: string, description: string, value: number) =>
		valueMetric(broker, "counter", name, description, [[{ service }, value]]);
	type Stat = "handled" | "batches" | "deadLettered" | "retried";
	const byQueue = (name: string, description: string, stat: Stat) =>
		valueMetric(
			broker,
			"counter",
			name,
			description,
			consumers.map(c => [{ queue: c.queue }, c[stat]]),
		);
	return [
		byService(
			"gozon_outbox_published_total",
			"Outbox messages published (broker-confirmed) and marked sent, after their commit or by the relay, since the node started.",
			messaging.published,
		),
		byService(
			"gozon_outbox_relay_rounds_total",
			"Publishes with confirms that carried outbox rows (one per committed unit of work, or one relay round each), since the node started; published ÷ rounds is the mean batch.",
			messaging.publishRounds,
		),
		byService(
			"gozon_outbox_relay_empty_rounds_total",
			"Relay rounds (one transaction each) that found no row to claim, since the node started.",
			messaging.relay.emptyRounds,
		),
		byService(
			"gozon_inbox_duplicates_skipped_total",
			"Business messages skipped as already handled (inbox hit or order already decided), since the node started.",
			messaging.duplicatesSkipped,
		),
		byQueue(
			"gozon_consumer_handled_total",
			"Messages a consumer handled and acknowledged after its transaction committed, since the node started.",
			"handled",
		),
		byQueue(
			"gozon_consumer_batches_total",
			"Batches a consumer committed (one transaction each), since the node started; handled ÷ batches is the mean batch.",
			"batches",
		),
		byQueue(
			"gozon_dead_lettered_total",
			"Messages moved to <queue>.dlq (malformed, or failing MAX_DELIVERIES times), since the node started.",
			"deadLettered",
		),
		byQueue(
			"gozon_consumer_retried_total",
			"Failed messages given back to the queue for another attempt, since the node started.",
			"retried",
		),
	];
}

/** Failed cache operations and epoch bumps of this node's cacher (lib/redis/epoch-cacher.ts). */
export function cacheMetrics(broker: ServiceBroker): MetricSnapshot[] {
	const cacher = epochCacher(broker);
	if (!cacher) return [];
	return [
		valueMetric(
			broker,
			"counter",
			"gozon_cache_errors_total",
			"Cache operations that failed (Redis down, slow or refusing) and were skipped, by op (get, set, del, incr: a lost invalidation; epoch: a bump that failed), since the node started.",
			Object.entries(cacher.errors).map(([op, value]) => [{ op }, value]),
		),
		valueMetric(
			broker,
			"counter",
			"gozon_cache_epoch_bumps_total",
			"Times this node bumped the cache epoch (Redis back after a gap, or an invalidation lost), since the node started.",
			[[{}, cacher.bumps]],
		),
	];
}

/** Unsent outbox rows and the age of the oldest: one indexed query. */
export async function outboxMetrics(
	broker: ServiceBroker,
	service: string,
	db: Knex,
): Promise<MetricSnapshot[]> {
	const pending = await new OutboxStore().pending(db);
	const gauge = (name: string, description: string, value: number) =>
		valueMetric(broker, "gauge", name, description, [[{ service }, value]]);
	return [
		gauge(
			"gozon_outbox_pending_messages",
			"Outbox rows not yet published to RabbitMQ.",
			pending.count,
		),
		gauge(
			"gozon_outbox_oldest_pending_age_seconds",
			"Age of the oldest unpublished outbox row (0 when none).",
			pending.oldestAgeMs / 1000,
		),
	];
}

/**
 * Messages ready in each business queue and its DLQ (amqplib checkQueue on a short-lived
 * channel). Nothing while the node is cut off from RabbitMQ.
 */
export async function queueMetrics(
	broker: ServiceBroker,
	messaging: MessagingRuntime,
	queues: string[],
): Promise<MetricSnapshot[]> {
	if (!messaging.connection.isConnected) return [];
	const channel = await messaging.connection.createChannel();
	// A failed check closes the channel with an error event; the rejection below reports it.
	channel.on("error", () => undefined);
	try {
		const depths: [Labels, number][] = [];
		for (const queue of queues.flatMap(q => [q, deadLetterQueue(q)]))
			depths.push([{ queue }, (await channel.checkQueue(queue)).messageCount]);
		const description =
			"Messages ready in a RabbitMQ queue (orders.to_pay, payment.results, orders.to_refund and their .dlq).";
		return [valueMetric(broker, "gauge", "gozon_queue_messages", description, depths)];
	} finally {
		await channel.close().catch(() => undefined);
	}
}

/** Runs the scrape-time collectors; one that fails is left out rather than failing the scrape. */
export async function collectShared(
	broker: ServiceBroker,
	collectors: (() => Promise<MetricSnapshot[]>)[],
): Promise<MetricSnapshot[]> {
	const results = await Promise.allSettled(collectors.map(c => c()));
	const out: MetricSnapshot[] = [];
	for (const r of results) {
		if (r.status === "fulfilled") out.push(...r.value);
		else broker.logger.warn("A metrics collector failed", { err: (r.reason as Error)?.message });
	}
	return out;
}
