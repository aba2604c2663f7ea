import { strict as assert } from "assert";
import { exited, separatePayments, stopChild, TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";

describe("A payments node killed after its commit, before its ack", () => {
	// Payments runs in its own process here, so it can really die (SIGKILL) mid-message.
	const cluster = new TestCluster({ nodes: ["gateway", "orders"], waitFor: [] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();
	const payments = separatePayments(cluster);

	before(() => cluster.start());
	after(async () => {
		await payments.stopAll();
		await cluster.stop();
		await db.close();
	});

	it("When the message comes back after the crash, then the order is debited once and still finishes", async () => {
		const userId = newUserId();
		const normal = await payments.start();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		await stopChild(normal);
		await payments.gone();

		const doomed = await payments.start({ GOZON_FAULTS: "payments.after-commit-before-ack" });
		const order = (await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })).body;
		assert.equal(await exited(doomed), "SIGKILL");
		await payments.gone();

		// The debit committed before the crash; the message was never acknowledged.
		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 600, ledgerSum: 600, debits: 1 });
		assert.equal((await db.orders("orders").where({ id: order.id }).first()).status, "NEW");

		await payments.start();
		await eventually(
			async () => (await db.orders("orders").where({ id: order.id }).first()).status === "FINISHED",
			"the order to finish after the restart",
			30_000,
			100,
		);
		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 600, ledgerSum: 600, debits: 1 });
		const stats = await cluster.brokers[0].call<{ duplicatesSkipped: number }, object>("payments.stats", {});
		assert.equal(stats.duplicatesSkipped, 1, "the redelivered message was recognised by the inbox");
	});
});
