/**
 * Faults raised in the broker itself: a consumer timeout that closes a consumer's channel, and
 * the memory alarm that blocks every publishing connection. Both change broker-wide settings,
 * so this file runs under the exclusive lock:
 *   flock -x /tmp/gozon-heavy.lock env TEST_SLOT=<n> npx mocha test/integration/broker-alarms.test.ts
 */
import { strict as assert } from "assert";
import type { Knex } from "knex";
import type { ServiceBroker } from "moleculer";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { queueDepth } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";
import { rabbitEval, rabbitmqctl } from "../support/rabbit";

interface MessagingStats {
	connects: number;
	relayPaused: string | null;
	blocked: string | null;
	consumers: {
		queue: string;
		state: string;
		recovered: number;
		retried: number;
		deadLettered: number;
	}[];
}

describe("Broker alarms", () => {
	const db = testDatabases();
	after(() => db.close());

	const local = (cluster: TestCluster, service: string): ServiceBroker =>
		cluster.brokers.find(b => b.getLocalService(service))!;
	const stats = (cluster: TestCluster, service: string) => {
		const b = local(cluster, service);
		return b.call<MessagingStats, object>(`${service}.stats`, {}, { nodeID: b.nodeID });
	};
	const orderStatuses = async (ids: string[]) =>
		(await db.orders("orders").whereIn("id", ids).pluck("status")) as string[];

	describe("a consumer channel closed by the broker's consumer timeout", () => {
		const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
		const api = apiClient(cluster.apiUrl);
		const saved: Record<string, string> = {};

		before(async () => {
			for (const key of ["consumer_timeout", "channel_tick_interval", "quorum_tick_interval"])
				saved[key] = rabbitEval(`application:get_env(rabbit, ${key}).`);
			// Read by each channel when it opens: only the channels of the cluster started now get
			// them. The timeout is checked on a tick, hence the short ticks.
			rabbitEval("application:set_env(rabbit, consumer_timeout, 2000).");
			rabbitEval("application:set_env(rabbit, channel_tick_interval, 500).");
			rabbitEval("application:set_env(rabbit, quorum_tick_interval, 500).");
			try {
				await cluster.start();
			} finally {
				restore(saved);
			}
		});
		after(() => cluster.stop());

		it("When a batch is held longer than the timeout (accounts locked), then the consumer comes back on the same connection and every order completes once", async function () {
			this.timeout(150_000);
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
			const before = await stats(cluster, "payments");
			const recoveredBefore = before.consumers.find(c => c.queue === Queues.ordersToPay)!.recovered;

			let lock: Knex.Transaction | undefined = await db.payments.transaction();
			const ids: string[] = [];
			try {
				await lock.raw("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
				for (let i = 0; i < 3; i++)
					ids.push(
						(
							await api("POST", "/api/orders", {
								userId,
								body: { amount: 100, description: `held ${i}` },
							})
						).body.id,
					);
				// The broker closes the channel whose delivery stays unacknowledged past the timeout.
				await eventually(
					async () =>
						(await stats(cluster, "payments")).consumers.find(c => c.queue === Queues.ordersToPay)!
							.recovered > recoveredBefore,
					"the broker to close the consumer's channel and the consumer to re-subscribe",
					// RabbitMQ 3.10 may check consumer timeouts only about once a minute
					75_000,
					100,
				);
				assert.deepEqual([...new Set(await orderStatuses(ids))], ["NEW"]);
				await lock.commit();
				lock = undefined;
			} finally {
				if (lock) await lock.rollback().catch(() => undefined);
			}

			await eventually(
				async () => (await orderStatuses(ids)).every(s => s === "FINISHED"),
				"every held order to finish",
				30_000,
				100,
			);
			const after = await stats(cluster, "payments");
			assert.equal(after.connects, before.connects, "healed on the same connection");
			assert.equal(after.consumers.find(c => c.queue === Queues.ordersToPay)!.state, "consuming");
			assert.deepEqual(await accountFacts(db.payments, userId), {
				balance: 700,
				ledgerSum: 700,
				debits: 3,
			});
			assert.equal(await queueDepth(deadLetterQueue(Queues.ordersToPay)), 0);
		});
	});

	describe("the memory alarm", () => {
		const cluster = new TestCluster({
			nodes: ["gateway", "orders", "payments"],
			overrides: { gateway: { healthDetails: true } },
		});
		const api = apiClient(cluster.apiUrl);
		before(() => cluster.start());
		after(() => cluster.stop());

		it("When the broker blocks publishes, then the relay pauses, readiness says so, RPC writes fail fast, and the orders complete after the alarm", async () => {
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
			const orders = local(cluster, "orders");
			const place = async (description: string) =>
				(
					await orders.call<{ id: string }, object>(
						"orders.create",
						{ amount: 100, description },
						{ nodeID: orders.nodeID, meta: { userId } },
					)
				).id;

			const ids: string[] = [];
			try {
				rabbitmqctl("set_vm_memory_high_watermark", "0.000001");
				// Orders placed on the orders node itself (the RPC from the gateway is refused now):
				// their relay publishes, and the broker blocks its connection.
				ids.push(await place("blocked 1"));
				await eventually(
					async () => (await stats(cluster, "orders")).relayPaused !== null,
					"the orders relay to pause",
					20_000,
					100,
				);
				ids.push(await place("blocked 2"));

				const health = await orders.call<
					{ checks: Record<string, { status: string; error?: string }> },
					object
				>("orders.health", {}, { nodeID: orders.nodeID });
				assert.equal(health.checks.rabbitmq.status, "down");
				assert.match(health.checks.rabbitmq.error ?? "", /blocks publishes/);

				await eventually(
					async () => {
						const r = await api("GET", "/health/ready");
						return (
							r.status === 503 && (r.body.failing as string[]).includes("gateway/transporter") && r
						);
					},
					"readiness to show the blocked transporter",
					20_000,
					200,
				);
				const started = Date.now();
				const refused = await api("POST", "/api/orders", {
					userId,
					body: { amount: 100, description: "refused" },
				});
				const tookMs = Date.now() - started;
				assert.equal(refused.status, 503);
				assert.equal(refused.body.type, "SERVICE_UNAVAILABLE");
				assert.ok(tookMs < 2000, `refused in ${tookMs} ms`);

				await new Promise(r => setTimeout(r, 1000));
				assert.deepEqual([...new Set(await orderStatuses(ids))], ["NEW"]);
			} finally {
				rabbitmqctl("set_vm_memory_high_watermark", "0.4");
			}

			await eventually(
				async () => (await stats(cluster, "orders")).relayPaused === null,
				"the relay to resume",
				20_000,
				100,
			);
			await eventually(
				async () => (await orderStatuses(ids)).every(s => s === "FINISHED"),
				"the orders placed during the alarm to finish",
				30_000,
				100,
			);
			assert.deepEqual(await accountFacts(db.payments, userId), {
				balance: 800,
				ledgerSum: 800,
				debits: 2,
			});
			await eventually(
				async () => (await api("GET", "/health/ready")).status === 200,
				"readiness to recover",
				20_000,
				200,
			);
		});
	});
});

function restore(saved: Record<string, string>): void {
	for (const [key, value] of Object.entries(saved)) {
		const m = /^\{ok,\s*(\d+)\}$/.exec(value.replace(/\s+/g, ""));
		if (m) rabbitEval(`application:set_env(rabbit, ${key}, ${m[1]}).`);
		else rabbitEval(`application:unset_env(rabbit, ${key}).`);
	}
}
