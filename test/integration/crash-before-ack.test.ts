import { strict as assert } from "assert";
import type { ChildProcess } from "child_process";
import { exited, spawnNode, stopChild, TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";

describe("A payments node killed after its commit, before its ack", () => {
	// Payments runs in its own process here, so it can really die (SIGKILL) mid-message.
	const cluster = new TestCluster({ nodes: ["gateway", "orders"], waitFor: [] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();
	const children: ChildProcess[] = [];

	const startPayments = async (env: Record<string, string> = {}) => {
		const child = spawnNode("payments", env);
		children.push(child);
		await cluster.brokers[0].waitForServices(["payments"], 30_000);
		return child;
	};

	/** Until the gateway's registry has dropped every payments node (a killed one after the heartbeat timeout). */
	const paymentsGone = () =>
		eventually(
			async () =>
				!cluster.brokers[0].registry
					.getServiceList({ onlyAvailable: true })
					.some((s: { name: string }) => s.name === "payments"),
			"payments to leave the registry",
			30_000,
			100,
		);

	before(() => cluster.start());
	after(async () => {
		await Promise.all(children.map(stopChild));
		await cluster.stop();
		await db.close();
	});

	it("When the message comes back after the crash, then the order is debited once and still finishes", async () => {
		const userId = newUserId();
		const normal = await startPayments();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		await stopChild(normal);
		await paymentsGone();

		const doomed = await startPayments({ GOZON_FAULTS: "payments.after-commit-before-ack" });
		const order = (await api("POST", "/api/orders", { userId, body: { amount: 400, description: "crash" } })).body;
		assert.equal(await exited(doomed), "SIGKILL");
		await paymentsGone();

		// The debit committed before the crash; the message was never acknowledged.
		assert.deepEqual(await accountFacts(db.payments, userId), { balance: 600, ledgerSum: 600, debits: 1 });
		assert.equal((await db.orders("orders").where({ id: order.id }).first()).status, "NEW");

		await startPayments();
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
