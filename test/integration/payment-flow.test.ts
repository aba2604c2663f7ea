import { strict as assert } from "assert";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId, type Json } from "../support/http";
import { fundedUser } from "../support/shop";

describe("Payment flow through the HTTP API", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);

	before(async () => {
		await cluster.start();
	});
	after(() => cluster.stop());

	const finalOrder = (userId: number, id: string) =>
		eventually(async () => {
			const r = await api("GET", `/api/orders/${id}`, { userId });
			return r.body.status !== "NEW" && r.body;
		}, `order ${id} to leave NEW`);

	/** Places an order and waits until it leaves NEW: the order as the API reads it then. */
	const outcomeOf = async (userId: number, amount: number, description: string) => {
		const order = await api("POST", "/api/orders", { userId, body: { amount, description } });
		return finalOrder(userId, order.body.id);
	};

	it("When a funded user orders, then the order is FINISHED and the balance and ledger show one debit", async () => {
		const userId = newUserId();
		const created = await api("POST", "/api/accounts", { userId });
		assert.equal(created.status, 201);
		assert.deepEqual(
			{
				userId: created.body.userId,
				balance: created.body.balance,
				currency: created.body.currency,
			},
			{ userId, balance: 0, currency: "RUB" },
		);
		assert.ok(Date.parse(created.body.createdAt) && Date.parse(created.body.updatedAt));

		const topUp = await api("POST", "/api/accounts/me/top-ups", {
			userId,
			body: { amount: 10_000 },
		});
		assert.equal(topUp.status, 200);
		assert.equal(topUp.body.balance, 10_000);

		const order = await api("POST", "/api/orders", {
			userId,
			body: { amount: 2_500, description: "Book" },
		});
		assert.equal(order.status, 202);
		assert.equal(order.body.status, "NEW");
		assert.equal(order.body.userId, userId);
		assert.equal(order.body.amount, 2_500);
		assert.equal(order.body.description, "Book");
		assert.match(order.body.id, /^[0-9a-f-]{36}$/);

		const final = await finalOrder(userId, order.body.id);
		assert.equal(final.status, "FINISHED");
		assert.equal(final.cancelReason, undefined);

		const account = await api("GET", "/api/accounts/me", { userId });
		assert.equal(account.status, 200);
		assert.equal(account.body.balance, 7_500);

		const ledger = await api("GET", "/api/accounts/me/transactions", { userId });
		assert.equal(ledger.status, 200);
		assert.deepEqual(
			ledger.body.map((t: Json) => [t.kind, t.amount, t.balanceAfter, t.orderId]),
			[
				["ORDER_PAYMENT", -2_500, 7_500, order.body.id],
				["TOP_UP", 10_000, 10_000, undefined],
			],
		);
	});

	it("When the balance is too small, then the order is CANCELLED with INSUFFICIENT_FUNDS and the balance is unchanged", async () => {
		const userId = await fundedUser(api, 100);

		const final = await outcomeOf(userId, 101, "Too dear");

		assert.equal(final.status, "CANCELLED");
		assert.equal(final.cancelReason, "INSUFFICIENT_FUNDS");
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 100);
		assert.equal((await api("GET", "/api/accounts/me/transactions", { userId })).body.length, 1);
	});

	it("When a user without an account orders, then the order is CANCELLED with ACCOUNT_NOT_FOUND", async () => {
		const userId = newUserId();

		const final = await outcomeOf(userId, 1, "No account");

		assert.equal(final.status, "CANCELLED");
		assert.equal(final.cancelReason, "ACCOUNT_NOT_FOUND");
		assert.equal((await api("GET", "/api/accounts/me", { userId })).status, 404);
	});

	it("When a user lists orders, then they come newest first, paged with limit and before, and only their own", async () => {
		const userId = newUserId();
		const other = newUserId();
		const ids: string[] = [];
		for (let i = 0; i < 5; i++)
			ids.push(
				(
					await api("POST", "/api/orders", {
						userId,
						body: { amount: 1 + i, description: `n${i}` },
					})
				).body.id,
			);
		await api("POST", "/api/orders", {
			userId: other,
			body: { amount: 1, description: "someone else" },
		});

		const page1 = await api("GET", "/api/orders?limit=2", { userId });
		assert.equal(page1.status, 200);
		assert.deepEqual(
			page1.body.map((o: Json) => o.id),
			[ids[4], ids[3]],
		);
		const page2 = await api("GET", `/api/orders?limit=2&before=${ids[3]}`, { userId });
		assert.deepEqual(
			page2.body.map((o: Json) => o.id),
			[ids[2], ids[1]],
		);
		const page3 = await api("GET", `/api/orders?limit=2&before=${ids[1]}`, { userId });
		assert.deepEqual(
			page3.body.map((o: Json) => o.id),
			[ids[0]],
		);
		const all = await api("GET", "/api/orders", { userId });
		assert.deepEqual(
			all.body.map((o: Json) => o.id),
			[...ids].reverse(),
		);
	});

	it("When a POST also carries a query string, then the order is made from the JSON body alone", async () => {
		const userId = newUserId();
		const order = await api("POST", "/api/orders?description=from-query&amount=5", {
			userId,
			body: { amount: 7, description: "from-body" },
		});
		assert.equal(order.status, 202);
		assert.equal(order.body.description, "from-body");
		assert.equal(order.body.amount, 7);
		const noBody = await api("POST", "/api/orders?description=x&amount=5", { userId, body: {} });
		assert.equal(noBody.status, 422);
	});
});
