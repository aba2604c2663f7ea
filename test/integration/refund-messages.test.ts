import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { sweepStuckOrders } from "../../services/orders/stuck-orders.sweeper";
import { drainQueue, publishRaw } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { accountFacts, untilWaitingOnLocks, whileAccountLocked } from "../support/db";
import { TestDatabases } from "../support/footprint";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

type Db = TestDatabases;

/** Balance, ledger sum, debits, and the refund credits of an account. */
async function moneyOf(db: Db, userId: number) {
	const refunds = await db
		.payments("account_transactions")
		.where({ user_id: userId, kind: "ORDER_REFUND" });
	return { ...(await accountFacts(db.payments, userId)), refunds: refunds.length };
}

/** The money of a user who topped up 1 000, paid one order and had it refunded. */
const REFUNDED_ONCE = { balance: 1_000, ledgerSum: 1_000, debits: 1, refunds: 1 };

const resultsFor = (db: Db, orderId: string) => db.outboxOf("payments", orderId);

/** Counters summed over the consumers of a service's nodes in the cluster. */
async function consumerStats(cluster: TestCluster, service: "orders" | "payments") {
	const total = { handled: 0, retried: 0, deadLettered: 0 };
	for (const b of cluster.brokers) {
		if (!b.getLocalService(service)) continue;
		const s = await b.call<{ consumers: (typeof total)[] }, object>(
			`${service}.stats`,
			{},
			{ nodeID: b.nodeID },
		);
		for (const c of s.consumers)
			for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += c[k];
	}
	return total;
}

describe("Refund messages", () => {
	const { cluster, api, db, fundedUser, orderReaches, settledOrder } = clusterSuite({
		nodes: ["gateway", "orders", "orders", "payments"],
	});

	async function refundedOrder() {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 300);
		assert.equal((await api("POST", `/api/orders/${id}/refund`, { userId })).status, 202);
		await orderReaches(id, "REFUNDED");
		const request = await db.outboxOf("orders", id, Queues.ordersToRefund).first();
		return { userId, id, request };
	}

	it("When the same orders.to_refund message is delivered again, and again under a new message id, then the account is credited once", async () => {
		const { userId, id, request } = await refundedOrder();
		const money = await moneyOf(db, userId);
		assert.deepEqual(money, REFUNDED_ONCE);

		await cluster.deliver(Queues.ordersToRefund, "payments", [
			{ content: JSON.stringify(request.payload), messageId: request.message_id },
			{ content: JSON.stringify(request.payload), messageId: request.message_id },
		]);
		await cluster.deliver(Queues.ordersToRefund, "payments", [
			{ content: JSON.stringify(request.payload), messageId: randomUUID() },
		]);

		assert.deepEqual(await moneyOf(db, userId), money);
		assert.equal((await db.payments("order_refunds").where({ order_id: id })).length, 1);
		// The new message id is answered with the recorded outcome (the sweeper relies on it).
		const results = (await resultsFor(db, id)).map(r => r.payload.status);
		assert.deepEqual(results, ["PAID", "REFUNDED", "REFUNDED"]);
		await eventually(
			async () => (await resultsFor(db, id)).every(r => r.sent_at),
			"the results to be published",
		);
		assert.equal(await db.orderStatus(id), "REFUNDED");
	});

	it("When a REFUNDED result is delivered again, or a forged REFUNDED for a FINISHED order, then no order moves", async () => {
		const { id } = await refundedOrder();
		const userId = await fundedUser(1_000);
		const finished = await settledOrder(userId, 100);

		await cluster.deliver(Queues.paymentResults, "orders", [
			{
				content: JSON.stringify({ orderId: id, userId, status: "REFUNDED" }),
				messageId: randomUUID(),
			},
			{
				content: JSON.stringify({ orderId: finished, userId, status: "REFUNDED" }),
				messageId: randomUUID(),
			},
		]);

		assert.equal(await db.orderStatus(id), "REFUNDED");
		assert.equal(
			await db.orderStatus(finished),
			"FINISHED",
			"REFUNDED applies only from REFUNDING",
		);
	});

	it("When a refund message names an order payments never debited (or not for that user and amount), then nothing is credited, payments answers REFUND_REFUSED and the order is not moved", async () => {
		const userId = await fundedUser(1_000);
		const cancelled = await settledOrder(userId, 5_000, "CANCELLED");
		const finished = await settledOrder(userId, 100);
		const stranger = await fundedUser(1_000);
		// REFUNDING in orders, as if its refund had been asked, but payments never debited it.
		const refunding = randomUUID();
		await db.orders("orders").insert({
			id: refunding,
			user_id: userId,
			amount: 100,
			description: "forged",
			status: "REFUNDING",
		});
		const unknown = randomUUID();
		const before = { user: await moneyOf(db, userId), stranger: await moneyOf(db, stranger) };
		const forged = [
			{ orderId: cancelled, userId, amount: 5_000 },
			{ orderId: refunding, userId, amount: 100 },
			{ orderId: unknown, userId, amount: 100 },
			{ orderId: finished, userId, amount: 1_000 },
			{ orderId: finished, userId: stranger, amount: 100 },
		];
		const ordersBefore = (await consumerStats(cluster, "orders")).handled;

		await cluster.deliver(
			Queues.ordersToRefund,
			"payments",
			forged.map(f => ({ content: JSON.stringify(f), messageId: randomUUID() })),
		);
		await eventually(
			async () => (await consumerStats(cluster, "orders")).handled >= ordersBefore + forged.length,
			"orders to handle the refusals",
		);

		assert.deepEqual(await moneyOf(db, userId), before.user);
		assert.deepEqual(await moneyOf(db, stranger), before.stranger);
		assert.equal(
			(
				await db
					.payments("order_refunds")
					.whereIn("order_id", [cancelled, refunding, unknown, finished])
			).length,
			0,
		);
		for (const orderId of [cancelled, refunding, unknown]) {
			const answers = (await resultsFor(db, orderId)).filter(r =>
				r.payload.status.startsWith("REFUND"),
			);
			assert.deepEqual(
				answers.map(r => r.payload),
				[{ orderId, userId, status: "REFUND_REFUSED", reason: "NOT_DEBITED" }],
			);
		}
		assert.equal(await db.orderStatus(cancelled), "CANCELLED");
		assert.equal(await db.orderStatus(refunding), "REFUNDING");
		assert.equal(await db.orderStatus(finished), "FINISHED");
		assert.equal(await db.orderStatus(unknown), undefined, "nothing created");
		assert.equal((await consumerStats(cluster, "payments")).deadLettered, 0);
		await db.orders("orders").where({ id: refunding }).delete();
	});
});

describe("Refund messages racing each other", () => {
	// Batches of one on two payments nodes: the copies are handled in separate transactions at once.
	const { cluster, api, db, fundedUser, orderReaches, settledOrder } = clusterSuite({
		nodes: ["gateway", "orders", "payments", "payments"],
		overrides: { payments: { consumerBatchSize: 1 } },
	});

	it("When a refund and a copy under a new message id are in flight at once, then one credits, the other answers REFUNDED again, and neither fails", async () => {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 400);
		const before = await consumerStats(cluster, "payments");

		// Hold the account: the refund and its copy both wait for it inside their transactions.
		await whileAccountLocked(db.payments, userId, async () => {
			assert.equal((await api("POST", `/api/orders/${id}/refund`, { userId })).status, 202);
			await untilWaitingOnLocks(db.payments, 1, "the refund to wait on the account");
			const request = await db.outboxOf("orders", id, Queues.ordersToRefund).first();
			await publishRaw(Queues.ordersToRefund, [
				{ content: JSON.stringify(request.payload), messageId: randomUUID() },
			]);
			await untilWaitingOnLocks(db.payments, 2, "both to wait on the account");
		});

		await orderReaches(id, "REFUNDED");
		await eventually(
			async () => (await consumerStats(cluster, "payments")).handled >= before.handled + 2,
			"both copies handled",
		);
		assert.deepEqual(await moneyOf(db, userId), REFUNDED_ONCE);
		assert.deepEqual(
			(await resultsFor(db, id)).map(r => r.payload.status),
			["PAID", "REFUNDED", "REFUNDED"],
		);
		assert.equal(
			(await consumerStats(cluster, "payments")).retried,
			before.retried,
			"no copy failed and was retried",
		);
	});
});

describe("Refunds stuck in REFUNDING", () => {
	// Orders gives up on a failing result after two attempts (dead-letters it) and does not sweep
	// by itself: the test runs the sweep when it wants it.
	const { api, db, fundedUser, orderReaches, settledOrder } = clusterSuite(
		{
			nodes: ["gateway", "orders", "payments"],
			overrides: { orders: { maxDeliveries: 2, sweepIntervalMs: 3_600_000 } },
		},
		{
			// Should a test stop half-way, the constraint it adds must not outlive it.
			beforeStop: () =>
				db.orders.raw("ALTER TABLE orders DROP CONSTRAINT IF EXISTS test_refunds_blocked"),
		},
	);

	before(() => drainQueue(deadLetterQueue(Queues.paymentResults)));

	/** Runs the sweep as if the refund had been asked `ageS` ago; returns the orders it asked again for. */
	async function sweepAsIfOld(id: string, ageS = 120) {
		await db
			.orders("orders")
			.where({ id })
			.update({ updated_at: db.orders.raw("now() - make_interval(secs => ?)", [ageS]) });
		return (await sweepStuckOrders(db.orders, 60)).filter(o => o.orderId === id);
	}

	it("When a REFUNDED result is dead-lettered, then the order stays REFUNDING until the sweeper asks again, and then it is REFUNDED with one credit", async () => {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 300);
		// Orders cannot apply this user's refund result: it fails twice and is dead-lettered.
		await db.orders.raw(
			`ALTER TABLE orders ADD CONSTRAINT test_refunds_blocked CHECK (status <> 'REFUNDED' OR user_id <> ${userId})`,
		);
		assert.equal((await api("POST", `/api/orders/${id}/refund`, { userId })).status, 202);
		const dead = await eventually(async () => {
			const got = await drainQueue(deadLetterQueue(Queues.paymentResults));
			return got.find(m => JSON.parse(m.content.toString()).orderId === id);
		}, "the refund result in payment.results.dlq");
		await db.orders.raw("ALTER TABLE orders DROP CONSTRAINT test_refunds_blocked");

		// The state the sweeper exists for: credited, yet REFUNDING.
		assert.equal(JSON.parse(dead.content.toString()).status, "REFUNDED");
		assert.equal(await db.orderStatus(id), "REFUNDING");
		assert.deepEqual(await moneyOf(db, userId), REFUNDED_ONCE);

		const swept = await sweepAsIfOld(id);
		await orderReaches(id, "REFUNDED");

		assert.deepEqual(
			swept.map(o => [o.status, o.attempt, o.amount]),
			[["REFUNDING", 1, 300]],
		);
		assert.deepEqual(await moneyOf(db, userId), REFUNDED_ONCE);
		const requests = await db.outboxOf("orders", id, Queues.ordersToRefund);
		assert.equal(requests.length, 2, "the first request and the sweeper's");
	});

	it("When a refund request is lost before payments saw it, then the sweeper's request credits it once; a young refund is left alone", async () => {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 250);
		const young = await settledOrder(userId, 50);
		// REFUNDING with no request anywhere: as if the message had been purged from the queue.
		await db
			.orders("orders")
			.whereIn("id", [id, young])
			.update({ status: "REFUNDING", updated_at: db.orders.raw("now()") });

		assert.deepEqual(
			(await sweepStuckOrders(db.orders, 60)).filter(o => o.orderId === id || o.orderId === young),
			[],
			"neither is stuck yet",
		);
		const swept = await sweepAsIfOld(id);
		await orderReaches(id, "REFUNDED");

		assert.equal(swept.length, 1);
		assert.equal(await db.orderStatus(young), "REFUNDING");
		assert.deepEqual(await moneyOf(db, userId), {
			balance: 950,
			ledgerSum: 950,
			debits: 2,
			refunds: 1,
		});
		// Not again before its delay, which doubles like a NEW order's.
		assert.deepEqual(
			(await sweepStuckOrders(db.orders, 60)).filter(o => o.orderId === id),
			[],
		);
		await db.orders("orders").where({ id: young }).update({ status: "FINISHED" });
	});
});
