import { strict as assert } from "assert";
import Redis from "ioredis";
import { TestCluster } from "../support/cluster";
import { testEnv } from "../support/env";
import { apiClient, eventually, newUserId } from "../support/http";

describe("Cached reads", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const redis = new Redis(testEnv.REDIS_URL);
	const keys = (pattern: string) => redis.keys(`${testEnv.REDIS_PREFIX}cache-${pattern}`);

	before(() => cluster.start());
	after(async () => {
		await cluster.stop();
		redis.disconnect();
	});

	it("When a list page is read, then it is kept in Redis under the user's generation, and a change moves the generation", async () => {
		const userId = newUserId();
		await api("GET", "/api/orders", { userId });
		assert.equal((await keys(`orders.list:${userId}:0:100:`)).length, 1);

		await api("POST", "/api/orders", { userId, body: { amount: 1, description: "bump" } });
		const generation = Number(await redis.get(`${testEnv.REDIS_PREFIX}cache-orders.list:generation:${userId}`));
		assert.ok(generation >= 1, `generation ${generation}`);
	});

	it("When pages of another size or deeper pages are read, then only the first page of the default size is cached", async () => {
		const userId = newUserId();
		const first = (await api("POST", "/api/orders", { userId, body: { amount: 1, description: "older" } })).body;
		await api("POST", "/api/orders", { userId, body: { amount: 1, description: "newer" } });
		for (const limit of [1, 5, 99, 1000]) assert.equal((await api("GET", `/api/orders?limit=${limit}`, { userId })).status, 200);
		assert.equal((await api("GET", `/api/orders?before=${first.id}`, { userId })).status, 200);
		assert.equal((await api("GET", `/api/orders?limit=100&before=${first.id}`, { userId })).status, 200);
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1 } });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 2 } });
		const ledger = await api("GET", "/api/accounts/me/transactions?limit=7", { userId });
		assert.equal(ledger.body.length, 2);
		assert.equal((await api("GET", `/api/accounts/me/transactions?limit=100&before=${ledger.body[0].id}`, { userId })).status, 200);
		assert.deepEqual(await keys(`orders.list:${userId}:*`), []);
		assert.deepEqual(await keys(`payments.listTransactions:${userId}:*`), []);

		await api("GET", "/api/orders?limit=100", { userId });
		await api("GET", "/api/accounts/me/transactions", { userId });
		assert.equal((await keys(`orders.list:${userId}:*`)).length, 1);
		assert.equal((await keys(`payments.listTransactions:${userId}:*`)).length, 1);
	});

	it("When an order is read, listed, then paid, then every read shows it FINISHED (no stale page or entity)", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 500 } });
		const ledgerBefore = await api("GET", "/api/accounts/me/transactions", { userId });
		assert.equal(ledgerBefore.body.length, 1);

		const order = (await api("POST", "/api/orders", { userId, body: { amount: 200, description: "cached" } })).body;
		// Read everything while the order may still be NEW, so that those answers get cached.
		await api("GET", `/api/orders/${order.id}`, { userId });
		await api("GET", "/api/orders", { userId });
		await api("GET", "/api/accounts/me", { userId });

		await eventually(async () => (await api("GET", `/api/orders/${order.id}`, { userId })).body.status === "FINISHED", "the order to finish");
		const list = await api("GET", "/api/orders", { userId });
		assert.equal(list.body[0].status, "FINISHED");
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 300);
		const ledger = await api("GET", "/api/accounts/me/transactions", { userId });
		assert.deepEqual(ledger.body.map((t: any) => t.kind), ["ORDER_PAYMENT", "TOP_UP"]);
	});

	it("When many orders finish while the list is read in a loop, then the final read matches the database", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 10_000 } });
		const ids = (await Promise.all(Array.from({ length: 20 }, (_, i) => api("POST", "/api/orders", { userId, body: { amount: 10, description: `loop ${i}` } })))).map(r => r.body.id);
		await eventually(async () => {
			const list = await api("GET", "/api/orders?limit=50", { userId });
			return list.body.length === 20 && list.body.every((o: any) => o.status === "FINISHED");
		}, "every listed order to be FINISHED", 20_000, 20);
		const single = await Promise.all(ids.map(id => api("GET", `/api/orders/${id}`, { userId })));
		assert.ok(single.every(r => r.body.status === "FINISHED"));
	});
});
