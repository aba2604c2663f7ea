import { strict as assert } from "assert";
import { exited, separatePayments, stopChild, TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";

describe("A payments node killed after committing a refund, before its ack", () => {
	// Payments runs in its own process here, so it can really die (SIGKILL) mid-message.
	const cluster = new TestCluster({ nodes: ["gateway", "orders"], waitFor: [] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();
	const payments = separatePayments(cluster);

	const statusOf = async (id: string) => (await db.orders("orders").where({ id }).first()).status;
	const refunds = async (userId: number) =>
		(await db.payments("account_transactions").where({ user_id: userId, kind: "ORDER_REFUND" }))
			.length;

	before(() => cluster.start());
	after(async () => {
		await payments.stopAll();
		await cluster.stop();
		await db.close();
	});

	it("When the refund request comes back after the crash, then the account is credited once and the order ends REFUNDED", async () => {
		const userId = newUserId();
		const normal = await payments.start();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })
		).body;
		await eventually(async () => (await statusOf(order.id)) === "FINISHED", "the order to finish");
		await stopChild(normal);
		await payments.gone();

		const doomed = await payments.start({ GOZON_FAULTS: "payments.refund.after-commit-before-ack" });
		assert.equal((await api("POST", `/api/orders/${order.id}/refund`, { userId })).status, 202);
		assert.equal(await exited(doomed), "SIGKILL");
		await payments.gone();

		// The credit committed before the crash; the message was never acknowledged.
		assert.deepEqual(await accountFacts(db.payments, userId), {
			balance: 1_000,
			ledgerSum: 1_000,
			debits: 1,
		});
		assert.equal(await refunds(userId), 1);
		assert.equal(await statusOf(order.id), "REFUNDING");

		await payments.start();
		await eventually(
			async () => (await statusOf(order.id)) === "REFUNDED",
			"the order to be REFUNDED after the restart",
			30_000,
			100,
		);
		assert.deepEqual(await accountFacts(db.payments, userId), {
			balance: 1_000,
			ledgerSum: 1_000,
			debits: 1,
		});
		assert.equal(await refunds(userId), 1);
		const stats = await cluster.brokers[0].call<{ duplicatesSkipped: number }, object>(
			"payments.stats",
			{},
		);
		assert.equal(stats.duplicatesSkipped, 1, "the redelivered refund was recognised by the inbox");
	});
});
