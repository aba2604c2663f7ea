import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { ServiceBroker } from "moleculer";
import { createNode } from "../../services/node";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import type { MetricSnapshot } from "../../lib/observability/metrics";
import { Sweeper } from "../../lib/db/sweeper";
import { sweepStuckOrders } from "../../services/orders/stuck-orders.sweeper";
import { drainQueue, publishRaw } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { assertBalanced } from "../support/db";
import { TestDatabases } from "../support/footprint";
import { apiClient, eventually, newUserId, type Json } from "../support/http";

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("Stuck orders", () => {
	const db = new TestDatabases();
	after(() => db.close());

	describe("in the running system", () => {
		// This orders node counts an order as stuck after 1 s but would sweep only in an hour: the
		// sweeping node is added by the test, after the result was lost.
		const cluster = new TestCluster({
			nodes: ["gateway", "orders", "payments"],
			overrides: { orders: { maxDeliveries: 2, orderStuckAfterS: 1, sweepIntervalMs: 3_600_000 } },
		});
		const api = apiClient(cluster.apiUrl);
		const logged: Record<string, Json>[] = [];
		const saved = {
			info: console.info,
			log: console.log,
			warn: console.warn,
			error: console.error,
		};

		before(async () => {
			await cluster.start();
			await drainQueue(deadLetterQueue(Queues.paymentResults));
		});
		after(async () => {
			Object.assign(console, saved);
			await cluster.stop();
			await db.orders.raw("ALTER TABLE orders DROP CONSTRAINT IF EXISTS test_results_blocked");
		});

		async function fundedUser(amount: number) {
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			if (amount) await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount } });
			return userId;
		}

		const stuckGauge = async (nodeID: string) => {
			const m = await cluster.brokers[0].call<MetricSnapshot[], object>(
				"orders.metrics",
				{ shared: true },
				{ nodeID },
			);
			return m.find(metric => metric.name === "gozon_orders_stuck")?.values[0]?.value as
				number | undefined;
		};

		/** A second orders node that sweeps every 200 ms, logging JSON warnings the test reads. */
		async function startSweepingNode() {
			const capture = (...args: unknown[]) => {
				try {
					logged.push(JSON.parse(args.join(" ")));
				} catch {
					// not a log line of ours
				}
			};
			Object.assign(console, { info: capture, log: capture, warn: capture, error: capture });
			const node = createNode(
				{
					...cluster.config,
					orderStuckAfterS: 1,
					sweepIntervalMs: 200,
					logFormat: "json",
					logLevel: "warn",
				},
				"orders",
				"orders-sweeper",
			);
			cluster.brokers.push(node);
			await node.start();
			return node;
		}

		it("When an order's payment result is dead-lettered, then the order stays NEW until the sweeper asks again, and then it is FINISHED with one debit", async () => {
			const userId = await fundedUser(1_000);
			// Orders cannot apply this user's results: each fails, twice, and is dead-lettered.
			await db.orders.raw(
				`ALTER TABLE orders ADD CONSTRAINT test_results_blocked CHECK (status = 'NEW' OR user_id <> ${userId})`,
			);
			const order = (
				await api("POST", "/api/orders", { userId, body: { amount: 300, description: "lost" } })
			).body;
			const dead = await eventually(async () => {
				const got = await drainQueue(deadLetterQueue(Queues.paymentResults));
				return got.find(m => JSON.parse(m.content.toString()).orderId === order.id);
			}, "the payment result in payment.results.dlq");
			await db.orders.raw("ALTER TABLE orders DROP CONSTRAINT test_results_blocked");
			await sleep(1_200);

			// The state the sweeper exists for: debited, yet NEW, and counted as stuck.
			assert.equal(JSON.parse(dead.content.toString()).status, "PAID");
			assert.equal((await db.orders("orders").where({ id: order.id }).first()).status, "NEW");
			await assertBalanced(db.payments, userId, 700, 1);
			const stuckBefore = await stuckGauge(cluster.brokers[1].nodeID);
			assert.ok(stuckBefore! >= 1, `gozon_orders_stuck is ${stuckBefore}`);

			const sweeper = await startSweepingNode();
			await eventually(
				async () =>
					(await db.orders("orders").where({ id: order.id }).first()).status === "FINISHED",
				"the swept order to finish",
			);

			await assertBalanced(db.payments, userId, 700, 1);
			const requests = await db.outboxOf("orders", order.id);
			assert.equal(requests.length, 2, "the first request and the sweeper's");
			const results = await db.outboxOf("payments", order.id);
			assert.deepEqual(
				results.map(r => r.payload.status),
				["PAID", "PAID"],
				"the recorded decision was sent again",
			);
			const line = logged.find(l => l.orderId === order.id && /stuck/i.test(l.msg));
			assert.ok(line, `a log line names the swept order: ${JSON.stringify(logged.slice(-5))}`);
			assert.equal(line.level, "warn");
			const stats = await sweeper.call<{ swept: number }, object>(
				"orders.stats",
				{},
				{ nodeID: sweeper.nodeID },
			);
			assert.ok(stats.swept >= 1);
			const stuckAfter = await stuckGauge(cluster.brokers[1].nodeID);
			assert.ok(
				stuckAfter! <= stuckBefore! - 1,
				`gozon_orders_stuck went from ${stuckBefore} to ${stuckAfter}`,
			);
		});

		it("When payments is asked again for an order it refused, then it sends the refusal again and debits nothing, even with funds now", async () => {
			const userId = await fundedUser(0);
			const order = (
				await api("POST", "/api/orders", { userId, body: { amount: 500, description: "poor" } })
			).body;
			await eventually(
				async () =>
					(await db.orders("orders").where({ id: order.id }).first()).status === "CANCELLED",
				"the refusal",
			);
			await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });

			await publishRaw(Queues.ordersToPay, [
				{
					content: JSON.stringify({ orderId: order.id, userId, amount: 500 }),
					messageId: randomUUID(),
				},
			]);

			const results = await eventually(async () => {
				const rows = await db.outboxOf("payments", order.id);
				return rows.length === 2 && rows;
			}, "the refusal sent again");
			assert.deepEqual(
				results.map(r => [r.payload.status, r.payload.reason]),
				[
					["REFUSED", "INSUFFICIENT_FUNDS"],
					["REFUSED", "INSUFFICIENT_FUNDS"],
				],
			);
			await assertBalanced(db.payments, userId, 1_000, 0);
			assert.equal((await db.orders("orders").where({ id: order.id }).first()).status, "CANCELLED");
		});
	});

	describe("the sweep itself", () => {
		const ids: string[] = [];
		after(async () => {
			await db.orders("outbox_messages").whereRaw("payload->>'orderId' = ANY(?)", [ids]).delete();
			await db.orders("orders").whereIn("id", ids).delete();
		});

		async function oldNewOrder(ageS: number) {
			const id = randomUUID();
			ids.push(id);
			await db.orders.raw(
				`INSERT INTO orders (id, user_id, amount, description, created_at)
				 VALUES (?, ?, 10, 'stuck', now() - make_interval(secs => ?))`,
				[id, newUserId(), ageS],
			);
			return id;
		}

		const sweptIds = async (stuckAfterS: number) =>
			(await sweepStuckOrders(db.orders, stuckAfterS)).filter(o => ids.includes(o.orderId));
		const waitS = async (id: string) =>
			Number(
				(
					await db.orders.raw(
						"SELECT extract(epoch FROM next_sweep_at - now()) AS s FROM orders WHERE id = ?",
						[id],
					)
				).rows[0].s,
			);

		it("When an order stays stuck, then it is asked again only after a delay that doubles, and a young order not at all", async () => {
			const stuck = await oldNewOrder(30);
			await oldNewOrder(0); // placed just now: not stuck

			const first = await sweptIds(10);
			const atOnce = await sweptIds(10);
			const firstWait = await waitS(stuck);
			await db
				.orders("orders")
				.where({ id: stuck })
				.update({ next_sweep_at: db.orders.raw("now()") });
			const second = await sweptIds(10);
			const secondWait = await waitS(stuck);

			assert.deepEqual(
				first.map(o => [o.orderId, o.attempt]),
				[[stuck, 1]],
				"the old order once, the young one not",
			);
			assert.deepEqual(atOnce, [], "not again before its delay");
			assert.deepEqual(
				second.map(o => [o.orderId, o.attempt]),
				[[stuck, 2]],
			);
			assert.ok(firstWait > 9 && firstWait <= 10, `first delay ${firstWait} s`);
			assert.ok(secondWait > 19 && secondWait <= 20, `second delay ${secondWait} s`);
			const requests = await db.outboxOf("orders", stuck);
			assert.equal(requests.length, 2);
			assert.deepEqual(requests[0].payload, {
				orderId: stuck,
				userId: requests[0].payload.userId,
				amount: 10,
			});
		});

		it("When two nodes start a sweep at once, then one sweeps and the other skips its turn", async () => {
			const logger = new ServiceBroker({ logger: false }).getLogger("test");
			let release!: () => void;
			const held = new Promise<void>(r => (release = r));
			let runs = 0;
			const job = async () => {
				runs++;
				await held;
				return "swept";
			};
			const a = new Sweeper(db.orders, "gozon.test-lock", 60_000, logger, job);
			const b = new Sweeper(db.orders, "gozon.test-lock", 60_000, logger, job);

			const first = a.sweep();
			await eventually(async () => runs === 1, "the first sweep to hold the lock");
			// Bounded: a second sweep that took the lock anyway would wait on the first's job.
			const second = await Promise.race([
				b.sweep(),
				sleep(2_000).then(() => "ran beside the first"),
			]);
			release();

			assert.equal(second, undefined, "the second node skipped");
			assert.equal(await first, "swept");
			assert.equal(runs, 1);
			assert.equal(await b.sweep(), "swept", "the lock is free again afterwards");
		});
	});
});
