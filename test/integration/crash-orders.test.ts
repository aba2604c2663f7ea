import { strict as assert } from "assert";
import { ChildProcess } from "child_process";
import { Queues } from "../../lib/messaging";
import { queueDepth } from "../support/amqp";
import { exited, spawnNode, stopChild } from "../support/cluster";
import { accountFacts, assertBalanced } from "../support/db";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("An orders node killed mid-message (SIGKILL)", () => {
	// Orders runs in its own process here, so it can really die; gateway and payments stay up.
	const { cluster, api, db, fundedUser } = clusterSuite(
		{ nodes: ["gateway", "payments"], waitFor: ["payments"] },
		{ beforeStop: () => Promise.all(children.map(stopChild)) },
	);
	const children: ChildProcess[] = [];
	const gateway = () => cluster.brokers[0];

	const startOrders = async (env: Record<string, string> = {}) => {
		const child = spawnNode("orders", env);
		children.push(child);
		await gateway().waitForServices(["orders"], 30_000);
		return child;
	};

	/** Until the gateway's registry has dropped every orders node (a killed one after the heartbeat timeout). */
	const ordersGone = () =>
		eventually(
			async () =>
				!gateway()
					.registry.getServiceList({ onlyAvailable: true })
					.some((s: { name: string }) => s.name === "orders"),
			"orders to leave the registry",
			30_000,
			100,
		);

	const orderRow = async (id: string) => db.orders("orders").where({ id }).first();
	const stats = <T>(service: string) => gateway().call<T, object>(`${service}.stats`, {});

	it("When orders dies after committing a payment result and before its ack, then the redelivery is recognised and changes nothing", async () => {
		const userId = await fundedUser(1_000);
		// Results other files left in payment.results would kill the doomed node before this
		// test's order: a normal node takes them first.
		const normal = await startOrders();
		await eventually(
			async () => (await queueDepth(Queues.paymentResults)) === 0,
			"payment.results to be empty",
		);
		await stopChild(normal);
		await ordersGone();
		const doomed = await startOrders({ GOZON_FAULTS: "orders.after-commit-before-ack" });

		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })
		).body;
		assert.equal(await exited(doomed), "SIGKILL");
		await ordersGone();

		// The result was committed (order final, inbox row) but never acknowledged: it is back.
		const committed = await orderRow(order.id);
		assert.equal(committed.status, "FINISHED");
		const result = await db
			.payments("outbox_messages")
			.whereRaw("payload->>'orderId' = ?", [order.id])
			.first();
		const inbox = () => db.orders("inbox_messages").where({ message_id: result.message_id });
		assert.equal((await inbox()).length, 1);
		assert.equal(
			await queueDepth(Queues.paymentResults),
			1,
			"the unacknowledged result is back in its queue",
		);

		await startOrders();
		await eventually(
			async () => (await stats<{ duplicatesSkipped: number }>("orders")).duplicatesSkipped === 1,
			"the new orders node to skip the redelivered result",
			30_000,
			100,
		);
		await eventually(
			async () => (await queueDepth(Queues.paymentResults)) === 0,
			"the redelivery to be acknowledged",
		);

		const final = await orderRow(order.id);
		assert.equal(final.status, "FINISHED");
		assert.equal(
			final.updated_at.getTime(),
			committed.updated_at.getTime(),
			"the redelivery did not touch the order",
		);
		assert.equal((await inbox()).length, 1);
		await assertBalanced(db.payments, userId, 600, 1);
		await stopChild(children[children.length - 1]);
		await ordersGone();
	});

	it("When the relay dies after the broker confirmed a message and before marking it sent, then the second publish is debited once", async () => {
		const userId = await fundedUser(1_000);
		const skippedBefore = (await stats<{ duplicatesSkipped: number }>("payments"))
			.duplicatesSkipped;
		const doomed = await startOrders({ GOZON_FAULTS: "relay.after-publish-before-mark-sent" });

		const reply = await api("POST", "/api/orders", {
			userId,
			body: { amount: 300, description: "twice" },
		});
		assert.equal(reply.status, 202);
		assert.equal(await exited(doomed), "SIGKILL");
		await ordersGone();
		const message = await db
			.orders("outbox_messages")
			.whereRaw("payload->>'orderId' = ?", [reply.body.id])
			.first();
		assert.equal(message.sent_at, null, "the outbox row was not marked sent");
		// The first copy reached payments and was paid.
		await eventually(
			async () => (await accountFacts(db.payments, userId)).debits === 1,
			"the first copy to be paid",
		);

		await startOrders();
		await eventually(
			async () => (await orderRow(reply.body.id)).status === "FINISHED",
			"the order to finish",
			30_000,
			100,
		);
		await eventually(
			async () =>
				(await db.orders("outbox_messages").where({ message_id: message.message_id }).first())
					.sent_at !== null,
			"the new relay to publish the row again and mark it sent",
		);
		await eventually(
			async () =>
				(await stats<{ duplicatesSkipped: number }>("payments")).duplicatesSkipped ===
				skippedBefore + 1,
			"payments to skip the second copy",
		);
		await assertBalanced(db.payments, userId, 700, 1);
		assert.equal(
			(await db.payments("order_payments").where({ order_id: reply.body.id })).length,
			1,
		);
	});
});
