/**
 * The batching figures behind an order's CPU: how many PostgreSQL transactions and statements,
 * relay rounds, consumer batches and AMQP messages one order costs. Each is a delta of a
 * counter between two snapshots, divided by the run's accepted orders:
 *
 * - transactions: pg_stat_database xact_commit + xact_rollback of the cluster's two databases;
 * - statements: pg_stat_statements calls in those databases (BEGIN/COMMIT/ROLLBACK apart), when
 *   the extension is loaded (scripts/setup-machine.sh loads it), else "not available" and why;
 * - relay rounds, rows per round, consumer batches: the nodes' own counters, summed over every
 *   node of a service, from the gateway's GET /metrics;
 * - AMQP messages: the business ones from those counters (relay publishes, consumer deliveries),
 *   and everything in the cluster's vhost (Moleculer's RPC too) from the RabbitMQ management API.
 *
 * PostgreSQL and RabbitMQ publish these counters late: an idle backend flushes its pending
 * statistics within 10 s (PGSTAT_IDLE_INTERVAL), the management plugin every 5 s
 * (collect_statistics_interval). So every snapshot waits SETTLE_MS first, and a window holds its
 * run plus that settle's idle background (relay polls, sweepers, heartbeats) and one scrape.
 */
import knexFactory, { Knex } from "knex";
import { request } from "http";
import { call, sleep } from "./harness";

export const SETTLE_MS = 11_000;

/** Counter values by `<series>|<service or queue>|<nodeID>`. */
type Counters = Record<string, number>;

interface Snapshot {
	xacts: number | { error: string };
	statements: { all: number; control: number } | { error: string };
	counters: Counters | { error: string };
	vhost: { published: number; delivered: number } | { error: string };
}

export interface RelayFigures {
	/** Rows published per round that claimed rows. */
	rowsPerRound: number | null;
	roundsPerOrder: number | null;
	emptyRoundsPerOrder: number | null;
}

/** Per accepted order unless named otherwise; null when not measured (see `notes`). */
export interface BatchingFigures {
	pgTransactionsPerOrder: number | null;
	pgStatementsPerOrder: number | null;
	/** BEGIN/COMMIT/ROLLBACK, counted apart from `pgStatementsPerOrder`. */
	pgTransactionControlPerOrder: number | null;
	relay: Record<string, RelayFigures>;
	/** Mean messages per committed batch, by queue. */
	consumerBatch: Record<string, number | null>;
	amqpBusinessPublishedPerOrder: number | null;
	amqpBusinessDeliveredPerOrder: number | null;
	/** The whole vhost: business messages, Moleculer's RPC, events and heartbeats. */
	amqpVhostPublishedPerOrder: number | null;
	amqpVhostDeliveredPerOrder: number | null;
	notes: string[];
}

const SERIES = [
	"gozon_outbox_published_total",
	"gozon_outbox_relay_rounds_total",
	"gozon_outbox_relay_empty_rounds_total",
	"gozon_consumer_handled_total",
	"gozon_consumer_batches_total",
	"gozon_consumer_retried_total",
	"gozon_dead_lettered_total",
];

// PostgreSQL regular expressions spell a word boundary \y (\b is a backspace there).
const CONTROL = String.raw`^\s*(begin|commit|rollback|start transaction|end|abort)\y`;

const dbName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));
// knex prefixes PostgreSQL's message with the whole query: keep only the message.
const errorOf = (err: unknown) => (err as Error).message.split(" - ").pop()!.split("\n")[0];

export class BatchingProbe {
	private readonly pg: Knex;
	private readonly databases: string[];
	private readonly vhost: string;

	constructor(
		private readonly base: string,
		env: Record<string, string>,
		private readonly management = "http://guest:guest@127.0.0.1:15672",
	) {
		const admin = new URL(env.ORDERS_DATABASE_URL);
		admin.pathname = "/postgres";
		this.pg = knexFactory({ client: "pg", connection: admin.href, pool: { min: 0, max: 1 } });
		this.databases = [dbName(env.ORDERS_DATABASE_URL), dbName(env.PAYMENTS_DATABASE_URL)];
		this.vhost = dbName(env.AMQP_URL) || "/";
	}

	/** Creates the extension where it is loaded; where it is not, the figures say why. */
	async prepare(): Promise<void> {
		await this.pg.raw("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").catch(() => undefined);
	}

	/** Waits SETTLE_MS for the counters to be published, then reads them all. */
	async snapshot(): Promise<Snapshot> {
		await sleep(SETTLE_MS);
		const [xacts, statements, counters, vhost] = await Promise.all([
			this.xacts().catch(err => ({ error: errorOf(err) })),
			this.statements().catch(err => ({ error: errorOf(err) })),
			this.counters().catch(err => ({ error: errorOf(err) })),
			this.vhostStats().catch(err => ({ error: errorOf(err) })),
		]);
		return { xacts, statements, counters, vhost };
	}

	async destroy(): Promise<void> {
		await this.pg.destroy();
	}

	private async xacts(): Promise<number> {
		const r = await this.pg.raw(
			"SELECT coalesce(sum(xact_commit + xact_rollback), 0)::bigint AS n FROM pg_stat_database WHERE datname = ANY(?)",
			[this.databases],
		);
		return Number(r.rows[0].n);
	}

	private async statements(): Promise<{ all: number; control: number }> {
		const r = await this.pg.raw(
			`SELECT coalesce(sum(s.calls), 0)::bigint AS all,
			        coalesce(sum(s.calls) FILTER (WHERE s.query ~* ?), 0)::bigint AS control
			   FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
			  WHERE d.datname = ANY(?)`,
			[CONTROL, this.databases],
		);
		return { all: Number(r.rows[0].all), control: Number(r.rows[0].control) };
	}

	private async counters(): Promise<Counters> {
		const r = await call(this.base, "GET", "/metrics", 1);
		if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
		const out: Counters = {};
		const down: string[] = [];
		for (const line of String(r.body).split("\n")) {
			const m = line.match(/^(\w+)\{([^}]*)\} (\S+)$/);
			if (!m) continue;
			const labels = Object.fromEntries(
				[...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(l => [l[1], l[2]]),
			);
			if (m[1] === "gozon_scrape_node_up" && Number(m[3]) !== 1) down.push(labels.nodeID);
			if (!SERIES.includes(m[1])) continue;
			out[`${m[1]}|${labels.service ?? labels.queue}|${labels.nodeID}`] = Number(m[3]);
		}
		if (down.length) throw new Error(`nodes not scraped: ${down.join(", ")}`);
		return out;
	}

	private vhostStats(): Promise<{ published: number; delivered: number }> {
		const url = new URL(`${this.management}/api/vhosts/${encodeURIComponent(this.vhost)}`);
		const auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
		return new Promise((resolve, reject) => {
			const req = request(
				{ host: url.hostname, port: url.port, path: url.pathname, auth, timeout: 5000 },
				res => {
					let text = "";
					res.on("data", d => (text += d));
					res.on("end", () => {
						if (res.statusCode !== 200)
							return reject(new Error(`management API ${url.pathname}: ${res.statusCode}`));
						const stats = JSON.parse(text).message_stats ?? {};
						resolve({ published: stats.publish ?? 0, delivered: stats.deliver_get ?? 0 });
					});
				},
			);
			req.on("timeout", () => req.destroy(new Error("management API timed out")));
			req.on("error", reject);
			req.end();
		});
	}
}

const perOrder = (n: number, orders: number) =>
	orders > 0 && n >= 0 ? Math.round((n / orders) * 1000) / 1000 : null;
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10) / 10 : null);

/** The figures of the window between two snapshots, per accepted order. */
export function batchingFigures(
	before: Snapshot,
	after: Snapshot,
	orders: number,
): BatchingFigures {
	const notes: string[] = [];
	const delta = <T>(
		name: string,
		a: T | { error: string },
		b: T | { error: string },
	): [T, T] | undefined => {
		for (const s of [a, b])
			if (s && typeof s === "object" && "error" in s) {
				notes.push(`${name} not available: ${s.error}`);
				return undefined;
			}
		return [a as T, b as T];
	};
	const f: BatchingFigures = {
		pgTransactionsPerOrder: null,
		pgStatementsPerOrder: null,
		pgTransactionControlPerOrder: null,
		relay: {},
		consumerBatch: {},
		amqpBusinessPublishedPerOrder: null,
		amqpBusinessDeliveredPerOrder: null,
		amqpVhostPublishedPerOrder: null,
		amqpVhostDeliveredPerOrder: null,
		notes,
	};
	const xacts = delta("PostgreSQL transactions (pg_stat_database)", before.xacts, after.xacts);
	if (xacts) f.pgTransactionsPerOrder = perOrder(xacts[1] - xacts[0], orders);
	// A counter that went back was reset (its database made anew): no figure, and why.
	if (xacts && xacts[1] < xacts[0])
		notes.push("PostgreSQL counters went back: database recreated?");
	const st = delta(
		"PostgreSQL statements (pg_stat_statements)",
		before.statements,
		after.statements,
	);
	if (st) {
		f.pgStatementsPerOrder = perOrder(
			st[1].all - st[1].control - (st[0].all - st[0].control),
			orders,
		);
		f.pgTransactionControlPerOrder = perOrder(st[1].control - st[0].control, orders);
	}
	const vh = delta(
		"AMQP messages of the vhost (RabbitMQ management API)",
		before.vhost,
		after.vhost,
	);
	if (vh) {
		f.amqpVhostPublishedPerOrder = perOrder(vh[1].published - vh[0].published, orders);
		f.amqpVhostDeliveredPerOrder = perOrder(vh[1].delivered - vh[0].delivered, orders);
	}
	const c = delta("the nodes' counters (GET /metrics)", before.counters, after.counters);
	if (!c) return f;
	// By series and service/queue, over every node; a node restarted meanwhile starts from 0.
	const sums: Record<string, number> = {};
	const restarted = new Set<string>();
	for (const [key, value] of Object.entries(c[1])) {
		const was = c[0][key] ?? 0;
		if (value < was) restarted.add(key.split("|")[2]);
		const [series, group] = key.split("|");
		sums[`${series}|${group}`] =
			(sums[`${series}|${group}`] ?? 0) + (value < was ? value : value - was);
	}
	if (restarted.size)
		notes.push(
			`nodes restarted during the run (counters partly lost): ${[...restarted].join(", ")}`,
		);
	const sum = (series: string, group: string) => sums[`${series}|${group}`] ?? 0;
	const groups = (series: string) =>
		[
			...new Set(
				Object.keys(sums)
					.filter(k => k.startsWith(`${series}|`))
					.map(k => k.split("|")[1]),
			),
		].sort();
	for (const service of groups("gozon_outbox_relay_rounds_total")) {
		const rounds = sum("gozon_outbox_relay_rounds_total", service);
		f.relay[service] = {
			rowsPerRound: ratio(sum("gozon_outbox_published_total", service), rounds),
			roundsPerOrder: perOrder(rounds, orders),
			emptyRoundsPerOrder: perOrder(sum("gozon_outbox_relay_empty_rounds_total", service), orders),
		};
	}
	let delivered = 0;
	for (const queue of groups("gozon_consumer_batches_total")) {
		const handled = sum("gozon_consumer_handled_total", queue);
		f.consumerBatch[queue] = ratio(handled, sum("gozon_consumer_batches_total", queue));
		delivered +=
			handled +
			sum("gozon_consumer_retried_total", queue) +
			sum("gozon_dead_lettered_total", queue);
	}
	const published = groups("gozon_outbox_published_total").reduce(
		(n, s) => n + sum("gozon_outbox_published_total", s),
		0,
	);
	// Requeued and dead-lettered copies are published by the consumer, not the relay.
	const requeued = groups("gozon_consumer_retried_total").reduce(
		(n, q) => n + sum("gozon_consumer_retried_total", q) + sum("gozon_dead_lettered_total", q),
		0,
	);
	f.amqpBusinessPublishedPerOrder = perOrder(published + requeued, orders);
	f.amqpBusinessDeliveredPerOrder = perOrder(delivered, orders);
	return f;
}

const cell = (v: number | null | undefined) => (v === null || v === undefined ? "–" : String(v));

/** One row per run: PostgreSQL, relays and consumers, then AMQP. */
export function batchingTable(runs: { name: string; batching: BatchingFigures }[]): string {
	const services = [...new Set(runs.flatMap(r => Object.keys(r.batching.relay)))].sort();
	const queues = [...new Set(runs.flatMap(r => Object.keys(r.batching.consumerBatch)))].sort();
	const head = [
		"run",
		"PG transactions",
		"PG statements (without BEGIN/COMMIT)",
		"PG BEGIN/COMMIT",
		...services.flatMap(s => [`${s} relay rows/round`, `${s} relay rounds`, `${s} empty rounds`]),
		...queues.map(q => `${q} batch`),
		"AMQP business published",
		"AMQP business delivered",
		"AMQP vhost published",
		"AMQP vhost delivered",
	];
	const rows = runs.map(({ name, batching: b }) => [
		name,
		cell(b.pgTransactionsPerOrder),
		cell(b.pgStatementsPerOrder),
		cell(b.pgTransactionControlPerOrder),
		...services.flatMap(s => [
			cell(b.relay[s]?.rowsPerRound),
			cell(b.relay[s]?.roundsPerOrder),
			cell(b.relay[s]?.emptyRoundsPerOrder),
		]),
		...queues.map(q => cell(b.consumerBatch[q])),
		cell(b.amqpBusinessPublishedPerOrder),
		cell(b.amqpBusinessDeliveredPerOrder),
		cell(b.amqpVhostPublishedPerOrder),
		cell(b.amqpVhostDeliveredPerOrder),
	]);
	const runsOf = new Map<string, string[]>();
	for (const r of runs)
		for (const n of r.batching.notes) runsOf.set(n, [...(runsOf.get(n) ?? []), r.name]);
	const notes = [...runsOf].map(([n, names]) => `${n} (${names.map(x => `"${x}"`).join(", ")})`);
	return [
		...[head, head.map(() => "---"), ...rows].map(cells => `| ${cells.join(" | ")} |`),
		...(notes.length ? ["", ...notes.map(n => `- ${n}`)] : []),
	].join("\n");
}
