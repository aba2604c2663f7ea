import { strict as assert } from "assert";
import { TestCluster } from "../support/cluster";
import { assertBalanced, testDatabases, untilAllFinished } from "../support/db";
import { testEnv } from "../support/env";
import { apiClient } from "../support/http";
import { fundedUser } from "../support/shop";
import { TcpProxy } from "../support/tcp-proxy";

describe("RabbitMQ unreachable for the business queues", () => {
	const proxy = new TcpProxy(5672);
	let cluster: TestCluster;
	const db = testDatabases();

	before(async () => {
		await proxy.start();
		// Business messages go through the proxy; Moleculer RPC goes straight to RabbitMQ, so the
		// API keeps answering while the queues are out of reach.
		const viaProxy = { amqpUrl: testEnv.AMQP_URL.replace(":5672", `:${proxy.port}`) };
		cluster = new TestCluster({
			nodes: ["gateway", "orders", "orders", "payments"],
			overrides: { orders: viaProxy, payments: viaProxy },
		});
		await cluster.start();
	});
	after(async () => {
		await cluster.stop();
		await proxy.stop();
		await db.close();
	});

	it("When orders are placed while the broker is cut off, then they are accepted, wait in the outbox, and complete once it is back", async () => {
		const api = apiClient(cluster.apiUrl);
		const userId = await fundedUser(api, 1_000);

		await proxy.cut();
		const placed = await Promise.all(
			Array.from({ length: 10 }, (_, i) =>
				api("POST", "/api/orders", { userId, body: { amount: 100, description: `offline ${i}` } }),
			),
		);
		assert.deepEqual(
			placed.map(r => r.status),
			Array(10).fill(202),
		);
		const ids = placed.map(r => r.body.id);
		const unsentMessages = () =>
			db
				.orders("outbox_messages")
				.whereNull("sent_at")
				.whereRaw("payload->>'orderId' = ANY(?)", [ids]);

		await new Promise(r => setTimeout(r, 1500));
		assert.equal((await unsentMessages()).length, 10, "every order's message waits in the outbox");
		const statuses = await db.orders("orders").whereIn("id", ids).pluck("status");
		assert.deepEqual([...new Set(statuses)], ["NEW"]);

		await proxy.restore();
		await untilAllFinished(
			db.orders,
			ids,
			"every order to finish after the broker is back",
			30_000,
			200,
		);
		await assertBalanced(db.payments, userId, 0, 10);
		assert.equal((await unsentMessages()).length, 0);
	});
});
