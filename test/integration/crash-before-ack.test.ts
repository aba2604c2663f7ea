import { strict as assert } from "assert";
import { exited, separatePayments, stopChild } from "../support/cluster";
import { assertBalanced } from "../support/db";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("A payments node killed after its commit, before its ack", () => {
	// Payments runs in its own process here, so it can really die (SIGKILL) mid-message.
	const { cluster, api, db, fundedUser } = clusterSuite(
		{ nodes: ["gateway", "orders"], waitFor: [] },
		{ beforeStop: () => payments.stopAll() },
	);
	const payments = separatePayments(cluster);

	it("When the message comes back after the crash, then the order is debited once and still finishes", async () => {
		const normal = await payments.start();
		const userId = await fundedUser(1_000);
		await stopChild(normal);
		await payments.gone();

		const doomed = await payments.start({ GOZON_FAULTS: "payments.after-commit-before-ack" });
		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })
		).body;
		assert.equal(await exited(doomed), "SIGKILL");
		await payments.gone();

		// The debit committed before the crash; the message was never acknowledged.
		await assertBalanced(db.payments, userId, 600, 1);
		assert.equal((await db.orders("orders").where({ id: order.id }).first()).status, "NEW");

		await payments.start();
		await eventually(
			async () => (await db.orders("orders").where({ id: order.id }).first()).status === "FINISHED",
			"the order to finish after the restart",
			30_000,
			100,
		);
		await assertBalanced(db.payments, userId, 600, 1);
		const stats = await cluster.brokers[0].call<{ duplicatesSkipped: number }, object>(
			"payments.stats",
			{},
		);
		assert.equal(stats.duplicatesSkipped, 1, "the redelivered message was recognised by the inbox");
	});
});
