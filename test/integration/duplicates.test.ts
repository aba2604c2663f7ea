import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { Queues } from "../../lib/messaging";
import { publishRaw } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";

describe("Duplicate deliveries", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();

	before(() => cluster.start());
	after(async () => {
		await cluster.stop();
		await db.close();
	});

	async function fundedUser(amount: number) {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount } });
		return userId;
	}

	async function placeAndSettle(userId: number, amount: number) {
		const order = (await api("POST", "/api/orders", { userId, body: { amount, description: "dup" } })).body;
		await eventually(
			async () => (await api("GET", `/api/orders/${order.id}`, { userId })).body.status !== "NEW",
			"the order to settle",
		);
		const message = await db.orders("outbox_messages").whereRaw("payload->>'orderId' = ?", [order.id]).first();
		return { order, message };
	}

	/** Publishes copies and waits until the consuming service has handled (and acked) every one. */
	async function deliver(queue: string, service: "orders" | "payments", copies: { content: string; messageId: string }[]) {
		const before = await cluster.handled(service);
		await publishRaw(queue, copies);
		await eventually(async () => (await cluster.handled(service)) >= before + copies.length, `${service} to handle the copies`);
	}

	it("When the same orders.to_pay message is delivered twice, then the order is debited once", async () => {
		const userId = await fundedUser(1_000);
		const { message } = await placeAndSettle(userId, 300);

		await deliver(Queues.ordersToPay, "payments", [{ content: JSON.stringify(message.payload), messageId: message.message_id }]);

		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 700, ledgerSum: 700, debits: 1 });
	});

	it("When two orders' messages arrive five times each, interleaved, then each order is debited once", async () => {
		const userId = await fundedUser(1_000);
		const a = await placeAndSettle(userId, 100);
		const b = await placeAndSettle(userId, 200);
		const copy = (m: typeof a.message) => ({ content: JSON.stringify(m.payload), messageId: m.message_id });

		await deliver(Queues.ordersToPay, "payments", [copy(b.message), copy(a.message), copy(a.message), copy(b.message), copy(b.message), copy(a.message), copy(b.message), copy(a.message)]);

		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 700, ledgerSum: 700, debits: 2 });
		const decisions = await db.payments("order_payments").whereIn("order_id", [a.order.id, b.order.id]);
		assert.equal(decisions.length, 2);
	});

	it("When an order arrives again under a new message id, then it is still debited once", async () => {
		const userId = await fundedUser(1_000);
		const { message } = await placeAndSettle(userId, 400);

		await deliver(Queues.ordersToPay, "payments", [{ content: JSON.stringify(message.payload), messageId: randomUUID() }]);

		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 600, ledgerSum: 600, debits: 1 });
	});

	it("When a payment result is delivered again, then the order keeps its final status", async () => {
		const userId = await fundedUser(100);
		const { order } = await placeAndSettle(userId, 100);
		const result = await db.payments("outbox_messages").whereRaw("payload->>'orderId' = ?", [order.id]).first();
		// A forged opposite result under a new id must not move a final order either.
		const forged = { ...result.payload, status: "REFUSED", reason: "INSUFFICIENT_FUNDS" };

		await deliver(Queues.paymentResults, "orders", [
			{ content: JSON.stringify(result.payload), messageId: result.message_id },
			{ content: JSON.stringify(forged), messageId: randomUUID() },
		]);

		const final = await db.orders("orders").where({ id: order.id }).first();
		assert.equal(final.status, "FINISHED");
		assert.equal(final.cancel_reason, null);
	});
});
