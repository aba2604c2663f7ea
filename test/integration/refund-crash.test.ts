import { strict as assert } from "assert";
import { exited, separatePayments, stopChild } from "../support/cluster";
import { assertBalanced } from "../support/db";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("A payments node killed after committing a refund, before its ack", () => {
	// Payments runs in its own process here, so it can really die (SIGKILL) mid-message.
	const { cluster, api, db, fundedUser } = clusterSuite(
		{ nodes: ["gateway", "orders"], waitFor: [] },
		{ beforeStop: () => payments.stopAll() },
	);
	const payments = separatePayments(cluster);

	const statusOf = async (id: string) => (await db.orders("orders").where({ id }).first()).status;
	const refunds = async (userId: number) =>
		(await db.payments("account_transactions").where({ user_id: userId, kind: "ORDER_REFUND" }))
			.length;

	it("When the refund request comes back after the crash, then the account is credited once and the order ends REFUNDED", async () => {
		const normal = await payments.start();
		const userId = await fundedUser(1_000);
		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })
		).body;
		await eventually(async () => (await statusOf(order.id)) === "FINISHED", "the order to finish");
		await stopChild(normal);
		await payments.gone();

		const doomed = await payments.start({
			GOZON_FAULTS: "payments.refund.after-commit-before-ack",
		});
		assert.equal((await api("POST", `/api/orders/${order.id}/refund`, { userId })).status, 202);
		assert.equal(await exited(doomed), "SIGKILL");
		await payments.gone();

		// The credit committed before the crash; the message was never acknowledged.
		await assertBalanced(db.payments, userId, 1_000, 1);
		assert.equal(await refunds(userId), 1);
		assert.equal(await statusOf(order.id), "REFUNDING");

		await payments.start();
		await eventually(
			async () => (await statusOf(order.id)) === "REFUNDED",
			"the order to be REFUNDED after the restart",
			30_000,
			100,
		);
		await assertBalanced(db.payments, userId, 1_000, 1);
		assert.equal(await refunds(userId), 1);
		const stats = await cluster.brokers[0].call<{ duplicatesSkipped: number }, object>(
			"payments.stats",
			{},
		);
		assert.equal(stats.duplicatesSkipped, 1, "the redelivered refund was recognised by the inbox");
	});
});
