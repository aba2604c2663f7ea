import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { Queues } from "../../lib/messaging";
import { publishRaw } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { assertBalanced, untilWaitingOnLocks, whileAccountLocked } from "../support/db";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("Duplicate deliveries", () => {
	const { cluster, api, db, fundedUser } = clusterSuite({
		nodes: ["gateway", "orders", "orders", "payments"],
	});

	async function placeAndSettle(userId: number, amount: number) {
		const order = (
			await api("POST", "/api/orders", { userId, body: { amount, description: "dup" } })
		).body;
		await eventually(
			async () => (await api("GET", `/api/orders/${order.id}`, { userId })).body.status !== "NEW",
			"the order to settle",
		);
		const message = await db.outboxOf("orders", order.id).first();
		return { order, message };
	}

	it("When the same orders.to_pay message is delivered twice, then the order is debited once", async () => {
		const userId = await fundedUser(1_000);
		const { message } = await placeAndSettle(userId, 300);

		await cluster.deliver(Queues.ordersToPay, "payments", [
			{ content: JSON.stringify(message.payload), messageId: message.message_id },
		]);

		await assertBalanced(db.payments, userId, 700, 1);
	});

	it("When two orders' messages arrive five times each, interleaved, then each order is debited once", async () => {
		const userId = await fundedUser(1_000);
		const a = await placeAndSettle(userId, 100);
		const b = await placeAndSettle(userId, 200);
		const copy = (m: typeof a.message) => ({
			content: JSON.stringify(m.payload),
			messageId: m.message_id,
		});

		await cluster.deliver(Queues.ordersToPay, "payments", [
			copy(b.message),
			copy(a.message),
			copy(a.message),
			copy(b.message),
			copy(b.message),
			copy(a.message),
			copy(b.message),
			copy(a.message),
		]);

		await assertBalanced(db.payments, userId, 700, 2);
		const decisions = await db
			.payments("order_payments")
			.whereIn("order_id", [a.order.id, b.order.id]);
		assert.equal(decisions.length, 2);
	});

	it("When an order arrives again under a new message id, then it is still debited once", async () => {
		const userId = await fundedUser(1_000);
		const { message } = await placeAndSettle(userId, 400);

		await cluster.deliver(Queues.ordersToPay, "payments", [
			{ content: JSON.stringify(message.payload), messageId: randomUUID() },
		]);

		await assertBalanced(db.payments, userId, 600, 1);
	});

	it("When a payment result is delivered again, then the order keeps its final status", async () => {
		const userId = await fundedUser(100);
		const { order } = await placeAndSettle(userId, 100);
		const result = await db.outboxOf("payments", order.id).first();
		// A forged opposite result under a new id must not move a final order either.
		const forged = { ...result.payload, status: "REFUSED", reason: "INSUFFICIENT_FUNDS" };

		await cluster.deliver(Queues.paymentResults, "orders", [
			{ content: JSON.stringify(result.payload), messageId: result.message_id },
			{ content: JSON.stringify(forged), messageId: randomUUID() },
		]);

		const final = await db.orders("orders").where({ id: order.id }).first();
		assert.equal(final.status, "FINISHED");
		assert.equal(final.cancel_reason, null);
	});
});

describe("Duplicate deliveries racing the first one", () => {
	// Batches of one on two payments nodes (two batches each at once): the copies are handled in
	// separate transactions at the same time, not one after the other in a batch.
	const { cluster, db, fundedUser } = clusterSuite({
		nodes: ["gateway", "orders", "payments", "payments"],
		overrides: { payments: { consumerBatchSize: 1 } },
	});

	it("When three copies of a new message are in flight at once, then one debits and the other two are skipped", async () => {
		const userId = await fundedUser(1_000);
		const skippedBefore = await skipped(cluster);
		const message = {
			content: JSON.stringify({ orderId: randomUUID(), userId, amount: 250 }),
			messageId: randomUUID(),
		};

		// Hold the account: the first copy waits for it inside its transaction, the others for
		// the first copy's inbox row. Only when all three wait are they surely in flight together.
		await whileAccountLocked(db.payments, userId, async () => {
			await publishRaw(Queues.ordersToPay, [message, message, message]);
			await untilWaitingOnLocks(db.payments, 3, "three payment transactions in flight");
		});

		await eventually(
			async () => (await skipped(cluster)) === skippedBefore + 2,
			"two copies to be skipped",
		);
		await assertBalanced(db.payments, userId, 750, 1);
		const order = JSON.parse(message.content).orderId;
		assert.equal((await db.payments("order_payments").where({ order_id: order })).length, 1);
		assert.equal((await db.outboxOf("payments", order)).length, 1, "one result");
	});
});

/** Copies the payments nodes of a cluster recognised as already seen, summed. */
async function skipped(cluster: TestCluster): Promise<number> {
	let total = 0;
	for (const b of cluster.brokers)
		if (b.getLocalService("payments"))
			total += (
				await b.call<{ duplicatesSkipped: number }, object>(
					"payments.stats",
					{},
					{ nodeID: b.nodeID },
				)
			).duplicatesSkipped;
	return total;
}
