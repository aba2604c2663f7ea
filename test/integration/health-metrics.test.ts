import { strict as assert } from "assert";
import { createNode } from "../../services/node";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually } from "../support/http";
import { type Api, fundedUser, untilOrderReads } from "../support/shop";
import { TcpProxy } from "../support/tcp-proxy";

interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** Parses the Prometheus text format strictly enough to catch a malformed line. */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
	const samples: Sample[] = [];
	const types = new Map<string, string>();
	for (const line of text.split("\n")) {
		if (!line) continue;
		const type = line.match(
			/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/,
		);
		if (type) {
			assert.ok(!types.has(type[1]), `one TYPE line for ${type[1]}`);
			types.set(type[1], type[2]);
			continue;
		}
		if (line.startsWith("# HELP ")) continue;
		const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
		assert.ok(m, `a sample line: ${line}`);
		const labels: Record<string, string> = {};
		for (const l of (m![3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
			labels[l[1]] = l[2];
		samples.push({ name: m![1], labels, value: Number(m![4]) });
	}
	return { samples, types };
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
	samples.filter(
		s => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
	);

const sum = (samples: Sample[]) => samples.reduce((n, s) => n + s.value, 0);

/** The orders service in the /health/ready summary while everything is up. */
const ORDERS_UP = {
	status: "up",
	checks: {
		"consumer:payment.results": { status: "up" },
		postgres: { status: "up" },
		rabbitmq: { status: "up" },
		redis: { status: "up" },
	},
};

describe("Health and metrics", () => {
	// The orders nodes reach PostgreSQL through a proxy the test can cut: their database
	// "goes down" while PostgreSQL itself keeps running for everyone else.
	const pgProxy = new TcpProxy(5432);
	let cluster: TestCluster;
	// The default gateway, and one with HEALTH_DETAILS=true and a METRICS_TOKEN.
	let api: Api;
	let detailed: Api;
	let detailedUrl: string;
	const METRICS_TOKEN = "scrape-secret-1";

	before(async () => {
		await pgProxy.start();
		const base = new TestCluster({ nodes: [] }).config;
		const ordersDb = new URL(base.ordersDatabaseUrl);
		ordersDb.port = String(pgProxy.port);
		cluster = new TestCluster({
			nodes: ["gateway", "orders", "orders", "payments"],
			overrides: { orders: { ordersDatabaseUrl: ordersDb.toString() } },
		});
		await cluster.start();
		api = apiClient(cluster.apiUrl);
		const port = cluster.config.apiPort + 1;
		const gateway = createNode(
			{ ...cluster.config, apiPort: port, healthDetails: true, metricsToken: METRICS_TOKEN },
			"gateway",
			"gateway-details",
		);
		cluster.brokers.push(gateway);
		await gateway.start();
		await gateway.waitForServices(["orders", "payments"], 20_000);
		// Every scrape lists every node: the first gateway must have discovered this one too.
		const registry = cluster.brokers[0].registry as unknown as {
			nodes: { get(id: string): { available: boolean } | undefined };
		};
		await eventually(
			async () => registry.nodes.get(gateway.nodeID)?.available,
			"the gateways to discover each other",
		);
		detailedUrl = `http://127.0.0.1:${port}`;
		detailed = apiClient(detailedUrl);
	});
	after(async () => {
		await cluster.stop();
		await pgProxy.stop();
	});

	async function metrics() {
		const res = await fetch(`${cluster.apiUrl}/metrics`);
		assert.equal(res.status, 200);
		assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
		return parsePrometheus(await res.text());
	}

	/** Waits until the gateway behind `client` answers /health/ready with 503; that answer. */
	const notReady = (client: Api, what: string) =>
		eventually(async () => {
			const r = await client("GET", "/health/ready");
			return r.status === 503 && r;
		}, what);

	async function metricsWith(authorization?: string) {
		const res = await fetch(`${detailedUrl}/metrics`, {
			headers: authorization ? { Authorization: authorization } : {},
		});
		return { status: res.status, body: await res.text() };
	}

	it("When the process runs, then /health/live is 200 ok", async () => {
		const reply = await api("GET", "/health/live");
		assert.equal(reply.status, 200);
		assert.deepEqual(reply.body, { status: "ok" });
	});

	it("When everything is up, then /health/ready is 200 with only up or down for each service's PostgreSQL, RabbitMQ, Redis and consumer (no node ids)", async () => {
		const reply = await api("GET", "/health/ready");
		assert.equal(reply.status, 200, JSON.stringify(reply.body));
		assert.deepEqual(reply.body, {
			status: "ready",
			checks: {
				gateway: {
					status: "up",
					checks: { redis: { status: "up" }, transporter: { status: "up" } },
				},
				orders: ORDERS_UP,
				payments: {
					status: "up",
					checks: {
						"consumer:orders.to_pay": { status: "up" },
						"consumer:orders.to_refund": { status: "up" },
						postgres: { status: "up" },
						rabbitmq: { status: "up" },
						redis: { status: "up" },
					},
				},
			},
			failing: [],
			degraded: [],
		});
		for (const b of cluster.brokers)
			assert.ok(!JSON.stringify(reply.body).includes(b.nodeID), `no ${b.nodeID}`);
	});

	it("When everything is up and HEALTH_DETAILS=true, then /health/ready is 200 with every node's PostgreSQL, RabbitMQ, Redis and consumer checks", async () => {
		const reply = await detailed("GET", "/health/ready");
		assert.equal(reply.status, 200, JSON.stringify(reply.body));
		assert.equal(reply.body.status, "ready");
		assert.deepEqual(reply.body.failing, []);
		assert.deepEqual(Object.keys(reply.body.checks).sort(), ["gateway", "orders", "payments"]);
		assert.deepEqual(Object.keys(reply.body.checks.gateway.checks).sort(), [
			"redis",
			"transporter",
		]);
		assert.equal(reply.body.checks.orders.nodes.length, 2);
		assert.equal(reply.body.checks.payments.nodes.length, 1);
		// Each service node also reports its consumers: orders consumes payment.results, payments
		// orders.to_pay and orders.to_refund.
		const consumes = {
			orders: ["payment.results"],
			payments: ["orders.to_pay", "orders.to_refund"],
		} as const;
		for (const service of ["orders", "payments"] as const)
			for (const node of reply.body.checks[service].nodes) {
				assert.equal(node.status, "up");
				const consumers = consumes[service].map(q => `consumer:${q}`);
				assert.deepEqual(Object.keys(node.checks).sort(), [
					...consumers,
					"postgres",
					"rabbitmq",
					"redis",
				]);
				for (const c of Object.values<{ status: string }>(node.checks))
					assert.equal(c.status, "up");
				for (const consumer of consumers) assert.equal(node.checks[consumer].state, "consuming");
			}
	});

	it("When scraped, then /metrics has Moleculer's figures of every node and the Gozon series", async () => {
		const { samples, types } = await metrics();
		const nodeIDs = cluster.brokers.map(b => b.nodeID).sort();
		assert.deepEqual(
			find(samples, "gozon_scrape_node_up")
				.map(s => [s.labels.nodeID, s.value])
				.sort(),
			nodeIDs.map(id => [id, 1]),
		);
		for (const id of nodeIDs)
			assert.ok(
				find(samples, "moleculer_request_total", { nodeID: id }).length,
				`moleculer_request_total of ${id}`,
			);
		// Moleculer 0.15 dropped its event-loop metrics; ours come from perf_hooks (lib/observability/event-loop.ts).
		for (const id of nodeIDs)
			assert.ok(
				find(samples, "process_eventloop_delay_p99", { nodeID: id }).length,
				`process_eventloop_delay_p99 of ${id}`,
			);
		assert.equal(types.get("moleculer_request_time"), "histogram");

		for (const status of ["NEW", "FINISHED", "CANCELLED", "REFUNDING", "REFUNDED"])
			assert.equal(find(samples, "gozon_orders_by_status", { status }).length, 1, status);
		for (const service of ["orders", "payments"]) {
			assert.equal(find(samples, "gozon_outbox_pending_messages", { service }).length, 1, service);
			assert.equal(
				find(samples, "gozon_outbox_oldest_pending_age_seconds", { service }).length,
				1,
				service,
			);
			assert.ok(find(samples, "gozon_outbox_published_total", { service }).length, service);
			assert.ok(find(samples, "gozon_inbox_duplicates_skipped_total", { service }).length, service);
		}
		for (const queue of [
			"orders.to_pay",
			"orders.to_pay.dlq",
			"payment.results",
			"payment.results.dlq",
			"orders.to_refund",
			"orders.to_refund.dlq",
		])
			assert.equal(find(samples, "gozon_queue_messages", { queue }).length, 1, queue);
		for (const queue of ["orders.to_pay", "payment.results", "orders.to_refund"])
			assert.ok(find(samples, "gozon_dead_lettered_total", { queue }).length, queue);
		assert.equal(types.get("gozon_payments_batch_duration_seconds"), "histogram");
		assert.equal(types.get("gozon_outbox_published_total"), "counter");
		assert.ok(find(samples, "gozon_payments_batch_duration_seconds_bucket", { le: "+Inf" }).length);
	});

	it("When METRICS_TOKEN is set, then /metrics is 401 without the token or with a wrong one, and 200 with it", async () => {
		const none = await metricsWith();
		assert.equal(none.status, 401);
		assert.equal(JSON.parse(none.body).type, "UNAUTHORIZED");
		assert.equal((await metricsWith(`Bearer ${METRICS_TOKEN}x`)).status, 401);
		assert.equal((await metricsWith("Bearer scrape-secret-2")).status, 401);
		assert.equal((await metricsWith(METRICS_TOKEN)).status, 401, "the Bearer scheme is required");
		const ok = await metricsWith(`Bearer ${METRICS_TOKEN}`);
		assert.equal(ok.status, 200);
		assert.ok(parsePrometheus(ok.body).samples.some(s => s.name === "gozon_scrape_node_up"));
		assert.equal((await api("GET", "/metrics")).status, 200, "no token set: open");
	});

	it("When scraped, then /metrics has no series that identify the host (name, OS user, network interfaces, command line)", async () => {
		const { samples, types } = await metrics();
		const names = [...new Set([...samples.map(s => s.name), ...types.keys()])];
		const hidden = names.filter(n =>
			/^os_(hostname|user|network|type|release|arch|platform|cpu_info|datetime)|^process_arguments/.test(
				n,
			),
		);
		assert.deepEqual(hidden, []);
		assert.ok(names.includes("os_memory_free"), "host load figures stay");
		assert.ok(names.includes("process_memory_rss"));
	});

	it("When an order is paid, then orders by status, relay publishes and payment batches count it", async () => {
		const before = (await metrics()).samples;
		const userId = await fundedUser(api, 100);
		const order = await api("POST", "/api/orders", {
			userId,
			body: { amount: 60, description: "counted" },
		});
		await untilOrderReads(api, userId, order.body.id, "FINISHED");

		const after = await eventually(async () => {
			const s = (await metrics()).samples;
			return (
				sum(find(s, "gozon_outbox_published_total", { service: "payments" })) >
					sum(find(before, "gozon_outbox_published_total", { service: "payments" })) && s
			);
		}, "the payments relay count to rise");
		const finished = (s: Sample[]) =>
			sum(find(s, "gozon_orders_by_status", { status: "FINISHED" }));
		assert.equal(finished(after), finished(before) + 1);
		assert.ok(
			sum(find(after, "gozon_outbox_published_total", { service: "orders" })) >=
				sum(find(before, "gozon_outbox_published_total", { service: "orders" })) + 1,
		);
		const batches = (s: Sample[]) => sum(find(s, "gozon_payments_batch_duration_seconds_count"));
		assert.ok(batches(after) >= batches(before) + 1);
		assert.ok(
			sum(find(after, "gozon_consumer_handled_total", { queue: "orders.to_pay" })) >=
				sum(find(before, "gozon_consumer_handled_total", { queue: "orders.to_pay" })) + 1,
		);
		// What the bench divides for its batching figures: rounds and batches count as rows do.
		for (const service of ["orders", "payments"]) {
			const rounds = (s: Sample[]) => sum(find(s, "gozon_outbox_relay_rounds_total", { service }));
			assert.ok(rounds(after) >= rounds(before) + 1, `relay rounds of ${service}`);
		}
		const consumed = (s: Sample[]) =>
			sum(find(s, "gozon_consumer_batches_total", { queue: "orders.to_pay" }));
		assert.ok(consumed(after) >= consumed(before) + 1, "consumer batches of orders.to_pay");
	});

	it("When the orders nodes lose their database, then /health/ready is 503 naming the postgres check of orders, each node's with HEALTH_DETAILS=true, and 200 once it is back", async () => {
		await pgProxy.cut();
		try {
			const summary = await notReady(api, "readiness to fail");
			assert.equal(summary.body.status, "not_ready");
			assert.deepEqual(summary.body.failing, ["orders/postgres"]);
			assert.deepEqual(summary.body.checks.orders, {
				status: "down",
				checks: { ...ORDERS_UP.checks, postgres: { status: "down" } },
			});
			// No error text: it names the database's host:port.
			assert.ok(
				!JSON.stringify(summary.body).includes(String(pgProxy.port)),
				JSON.stringify(summary.body),
			);

			const reply = await notReady(detailed, "readiness to fail with details");
			assert.equal(reply.body.status, "not_ready");
			const orders = cluster.brokers
				.filter(b => b.getLocalService("orders"))
				.map(b => b.nodeID)
				.sort();
			assert.deepEqual(
				reply.body.failing.sort(),
				orders.map(id => `orders/${id}/postgres`),
			);
			assert.equal(reply.body.checks.payments.status, "up");
			for (const node of reply.body.checks.orders.nodes) {
				assert.equal(node.checks.postgres.status, "down");
				assert.equal(typeof node.checks.postgres.error, "string");
				assert.equal(node.checks.rabbitmq.status, "up");
			}
		} finally {
			await pgProxy.restore();
		}
		await eventually(
			async () => (await api("GET", "/health/ready")).status === 200,
			"readiness to recover",
		);
	});

	it("When the payments node is stopped, then /health/ready is 503 naming payments, and /metrics no longer lists it", async () => {
		const payments = cluster.brokers.find(b => b.getLocalService("payments"))!;
		await payments.stop();
		cluster.brokers.splice(cluster.brokers.indexOf(payments), 1);

		const summary = await notReady(api, "readiness to fail");
		assert.deepEqual(summary.body.failing, ["payments"]);
		assert.deepEqual(summary.body.checks.payments, { status: "down", checks: {} });

		const reply = await notReady(detailed, "readiness to fail with details");
		assert.equal(reply.body.status, "not_ready");
		assert.deepEqual(reply.body.failing, ["payments"]);
		assert.deepEqual(reply.body.checks.payments, {
			status: "down",
			error: "no payments node is available",
			nodes: [],
		});
		assert.equal(reply.body.checks.orders.status, "up");

		const { samples } = await metrics();
		assert.ok(!find(samples, "gozon_scrape_node_up", { nodeID: payments.nodeID }).length);
		assert.equal(
			find(samples, "gozon_queue_messages", { queue: "orders.to_pay" }).length,
			1,
			"queue depths still come from orders",
		);
	});
});
