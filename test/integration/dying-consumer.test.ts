import { strict as assert } from "assert";
import type { ChildProcess } from "child_process";
import { drainQueue, queueDepth } from "../support/amqp";
import { exited, spawnNode, stopChild, TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId } from "../support/http";

describe("A message that kills its consumer on every delivery", () => {
	// Payments runs in its own process; the fault point kills it (SIGKILL) before each ack.
	const cluster = new TestCluster({ nodes: ["gateway", "orders"], waitFor: [] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();
	const children: ChildProcess[] = [];
	const maxDeliveries = 2;

	const startPayments = async (env: Record<string, string> = {}) => {
		const child = spawnNode("payments", { MAX_DELIVERIES: String(maxDeliveries), ...env });
		children.push(child);
		await cluster.brokers[0].waitForServices(["payments"], 30_000);
		return child;
	};
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

	it("When it has been delivered MAX_DELIVERIES times without an ack, then the next delivery dead-letters it with the reason", async () => {
		const userId = newUserId();
		const normal = await startPayments();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		await stopChild(normal);
		await paymentsGone();
		await drainQueue("orders.to_pay.dlq");

		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "dying" } })
		).body;
		for (let i = 1; i <= maxDeliveries; i++) {
			// It may die before it registers, so wait for its death, not its services.
			const doomed = spawnNode("payments", {
				MAX_DELIVERIES: String(maxDeliveries),
				GOZON_FAULTS: "payments.after-commit-before-ack",
			});
			children.push(doomed);
			assert.equal(await exited(doomed), "SIGKILL", `delivery ${i} killed its consumer`);
			await paymentsGone();
		}
		// Still armed: without the delivery count this node would die a third time.
		const last = await startPayments({ GOZON_FAULTS: "payments.after-commit-before-ack" });
		await eventually(
			async () => (await queueDepth("orders.to_pay.dlq")) === 1,
			"the dead letter",
			30_000,
			100,
		);
		assert.equal(last.exitCode, null, "the node that dead-lettered it is alive");
		const [dead] = await drainQueue("orders.to_pay.dlq");
		const reason = String(dead.properties.headers?.["x-dead-letter-reason"]);
		assert.match(reason, /without being acknowledged/);
		assert.equal(await queueDepth("orders.to_pay"), 0);
		// The first delivery committed its debit; the others were recognised by the inbox.
		assert.deepEqual(await accountFacts(db.payments, userId), {
			balance: 600,
			ledgerSum: 600,
			debits: 1,
		});
		assert.ok(order.id);
	});
});
