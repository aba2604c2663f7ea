import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { drainQueue, publishRaw, queueDepth } from "../support/amqp";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("Payment edge cases", () => {
	// One payments batch at a time, so messages that arrive while it runs form the next batch.
	const { cluster, api, db, fundedUser } = clusterSuite({
		nodes: ["gateway", "orders", "payments"],
		overrides: { payments: { consumerConcurrency: 1 } },
	});

	const orderStatus = async (id: string) =>
		(await db.orders("orders").where({ id }).first())?.status;
	const settled = (id: string) =>
		eventually(async () => {
			const s = await orderStatus(id);
			return s !== "NEW" && s;
		}, `order ${id} to settle`);

	it("When a batch refuses an order, then a cheaper order after it in the same batch is still paid from what is left", async () => {
		const blocker = await fundedUser(100);
		const userId = await fundedUser(500);

		// Hold the blocker's account: its order's batch waits, and the next two orders queue up
		// behind it in the consumer, to be handled together as one batch.
		const lock = await db.payments.transaction();
		let expensive: { id: string };
		let cheap: { id: string };
		let first: { id: string };
		try {
			await lock("accounts").where({ user_id: blocker }).forUpdate();
			first = (
				await api("POST", "/api/orders", {
					userId: blocker,
					body: { amount: 10, description: "blocker" },
				})
			).body;
			expensive = (
				await api("POST", "/api/orders", { userId, body: { amount: 800, description: "too dear" } })
			).body;
			cheap = (
				await api("POST", "/api/orders", {
					userId,
					body: { amount: 300, description: "affordable" },
				})
			).body;
			await eventually(
				async () =>
					(
						await db
							.orders("outbox_messages")
							.whereRaw("payload->>'orderId' = ANY(?)", [[expensive.id, cheap.id]])
							.whereNotNull("sent_at")
					).length === 2,
				"both orders to be published",
			);
			await sleep(300); // delivered to the waiting consumer
		} finally {
			await lock.commit();
		}

		assert.equal(await settled(expensive.id), "CANCELLED");
		assert.equal(await settled(cheap.id), "FINISHED");
		assert.equal(await settled(first.id), "FINISHED");
		assert.equal(
			(await db.orders("orders").where({ id: expensive.id }).first()).cancel_reason,
			"INSUFFICIENT_FUNDS",
		);
		assert.equal(await db.balance(userId), 200);
		assert.equal(await db.ledgerSum(userId), 200);
		// Same transaction id: the refusal and the payment were decided in one batch.
		const xmin = async (id: string) =>
			(
				await db
					.payments("order_payments")
					.where({ order_id: id })
					.first(db.payments.raw("xmin::text AS x"))
			).x;
		assert.equal(await xmin(expensive.id), await xmin(cheap.id), "one batch");
		assert.notEqual(await xmin(first.id), await xmin(cheap.id));
	});

	it("When a payment result names an order nobody placed, then orders records and acknowledges it, creates nothing, and carries on", async () => {
		const userId = await fundedUser(500);
		const ghost = randomUUID();
		const messageId = randomUUID();
		const handledBefore = await cluster.handled("orders");

		await publishRaw(Queues.paymentResults, [
			{ content: JSON.stringify({ orderId: ghost, userId, status: "PAID" }), messageId },
		]);

		await eventually(
			async () => (await cluster.handled("orders")) === handledBefore + 1,
			"orders to handle the result",
		);
		assert.equal(await db.orders("orders").where({ id: ghost }).first(), undefined);
		assert.equal((await db.orders("inbox_messages").where({ message_id: messageId })).length, 1);
		assert.equal(await queueDepth(Queues.paymentResults), 0, "acknowledged");
		const dead = await drainQueue(deadLetterQueue(Queues.paymentResults));
		assert.deepEqual(
			dead.map(m => m.properties.messageId),
			[],
			"not dead-lettered",
		);
		// And the next real order goes through as usual.
		const order = (
			await api("POST", "/api/orders", {
				userId,
				body: { amount: 100, description: "after ghost" },
			})
		).body;
		assert.equal(await settled(order.id), "FINISHED");
	});
});
