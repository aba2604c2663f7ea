import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import type { Socket } from "socket.io-client";
import { assertError } from "../support/assertions";
import { accountFacts, assertBalanced } from "../support/db";
import { testEnv } from "../support/env";
import { eventually, newUserId, type Json } from "../support/http";
import { connectUserSocket } from "../support/sockets";
import { clusterSuite } from "../support/suite";

describe("Refunds over HTTP", () => {
	const { cluster, api, db, fundedUser, orderReaches, settledOrder } = clusterSuite(
		{ nodes: ["gateway", "orders", "orders", "payments"] },
		{
			async beforeStop() {
				for (const s of sockets) s.disconnect();
				await db.orders("orders").whereIn("id", inserted).delete();
			},
		},
	);
	const sockets: Socket[] = [];
	/** Rows the tests stored directly: removed at the end, so no later sweep acts on them. */
	const inserted: string[] = [];

	const refund = (userId: number, id: string, headers: Record<string, string> = {}) =>
		api("POST", `/api/orders/${id}/refund`, { userId, headers });

	const refunded = (id: string) => orderReaches(id, "REFUNDED");

	it("When a FINISHED order is refunded, then it answers 202 REFUNDING, ends REFUNDED, and the balance is back exactly with the ledger summing to it", async () => {
		const userId = await fundedUser(1_000);
		const { events } = await connectUserSocket(cluster.apiUrl, userId, sockets);
		const id = await settledOrder(userId, 300);

		const res = await fetch(`${cluster.apiUrl}/api/orders/${id}/refund`, {
			method: "POST",
			headers: { "X-User-ID": String(userId) },
		});
		const body = (await res.json()) as { id: string; status: string; amount: number };
		assert.equal(res.status, 202);
		assert.equal(res.headers.get("location"), `/api/orders/${id}`);
		assert.equal(body.status, "REFUNDING");
		assert.equal(body.id, id);
		assert.equal(body.amount, 300);
		await refunded(id);

		await assertBalanced(db.payments, userId, 1_000, 1);
		const ledger = (await api("GET", "/api/accounts/me/transactions", { userId })).body;
		assert.deepEqual(
			ledger.map((e: Json) => [e.kind, e.amount, e.balanceAfter, e.orderId]),
			[
				["ORDER_REFUND", 300, 1_000, id],
				["ORDER_PAYMENT", -300, 700, id],
				["TOP_UP", 1_000, 1_000, undefined],
			],
		);
		assert.equal((await api("GET", `/api/orders/${id}`, { userId })).body.status, "REFUNDED");
		await eventually(
			async () => events.some(e => e.orderId === id && e.status === "REFUNDED"),
			"the REFUNDED push",
		);
		assert.deepEqual(
			events.filter(e => e.orderId === id).map(e => e.status),
			["FINISHED", "REFUNDING", "REFUNDED"],
		);
	});

	it("When the order is NEW, CANCELLED, REFUNDING or REFUNDED, then a refund is 409 ORDER_NOT_REFUNDABLE and changes nothing", async () => {
		const userId = await fundedUser(1_000);
		// A NEW and a REFUNDING order that stay so: rows as the orders service stores them, with no
		// message sent.
		const [newId, refundingId] = [randomUUID(), randomUUID()];
		inserted.push(newId, refundingId);
		await db.orders("orders").insert([
			{ id: newId, user_id: userId, amount: 100, description: "waiting" },
			{
				id: refundingId,
				user_id: userId,
				amount: 100,
				description: "on its way back",
				status: "REFUNDING",
			},
		]);
		const cancelled = await settledOrder(userId, 5_000, "CANCELLED");
		const done = await settledOrder(userId, 200);
		assert.equal((await refund(userId, done)).status, 202);
		await refunded(done);
		const before = await accountFacts(db.payments, userId);
		const outbox = (await db.ordersOutboxRows(userId)).length;

		for (const [id, status] of [
			[newId, "NEW"],
			[refundingId, "REFUNDING"],
			[cancelled, "CANCELLED"],
			[done, "REFUNDED"],
		]) {
			const res = await refund(userId, id);
			assertError(res, 409, "ORDER_NOT_REFUNDABLE");
			assert.deepEqual(res.body.data, { orderId: id, status });
			assert.equal(await db.orderStatus(id), status);
		}
		assert.deepEqual(await accountFacts(db.payments, userId), before);
		assert.equal((await db.ordersOutboxRows(userId)).length, outbox, "no refund request written");
	});

	it("When the order is another user's, unknown, or not a UUID, then a refund is 404 ORDER_NOT_FOUND and changes nothing", async () => {
		const owner = await fundedUser(1_000);
		const id = await settledOrder(owner, 100);
		const stranger = await fundedUser(1_000);

		assertError(await refund(stranger, id), 404, "ORDER_NOT_FOUND");
		assertError(await refund(stranger, randomUUID()), 404, "ORDER_NOT_FOUND");
		assertError(await refund(stranger, "not-a-uuid"), 404, "ORDER_NOT_FOUND");
		// The id comes from the path only: a body naming another order changes nothing.
		const sneaky = await api("POST", `/api/orders/${randomUUID()}/refund`, {
			userId: owner,
			body: { id },
		});
		assertError(sneaky, 404, "ORDER_NOT_FOUND");

		assert.equal(await db.orderStatus(id), "FINISHED");
		await assertBalanced(db.payments, owner, 900, 1);
		await assertBalanced(db.payments, stranger, 1_000, 0);
	});

	it("When 20 refunds of one order race, then exactly one is 202, the rest 409, and the account is credited once", async () => {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 400);

		const answers = await Promise.all(Array.from({ length: 20 }, () => refund(userId, id)));

		assert.equal(
			answers.filter(a => a.status === 202).length,
			1,
			JSON.stringify(answers.map(a => a.status)),
		);
		for (const a of answers.filter(a => a.status !== 202))
			assertError(a, 409, "ORDER_NOT_REFUNDABLE");
		await refunded(id);
		await assertBalanced(db.payments, userId, 1_000, 1);
		const credits = await db
			.payments("account_transactions")
			.where({ order_id: id, kind: "ORDER_REFUND" });
		assert.equal(credits.length, 1);
		const requests = await db.outboxOf("orders", id, "orders.to_refund");
		assert.equal(requests.length, 1, "one refund request");
	});

	it("When a refund is repeated with its Idempotency-Key, then the first answer comes back with no second effect; the key on another order is 422", async () => {
		const userId = await fundedUser(1_000);
		const id = await settledOrder(userId, 250);
		const other = await settledOrder(userId, 50);
		const key = { "Idempotency-Key": `refund-${randomUUID()}` };

		const first = await refund(userId, id, key);
		await refunded(id);
		const again = await refund(userId, id, key);
		const reused = await refund(userId, other, key);

		assert.equal(first.status, 202);
		assert.equal(again.status, 202);
		assert.deepEqual(again.body, first.body, "the stored first answer (REFUNDING)");
		assertError(reused, 422, "IDEMPOTENCY_KEY_REUSED");
		assert.equal(await db.orderStatus(other), "FINISHED");
		await assertBalanced(db.payments, userId, 950, 2);
		const refunds = await db
			.payments("account_transactions")
			.where({ user_id: userId, kind: "ORDER_REFUND" });
		assert.deepEqual(
			refunds.map(r => [r.order_id, r.amount]),
			[[id, 250]],
		);
		assert.equal(
			(await db.orders("idempotency_keys").where({ user_id: userId, scope: "orders.refund" }))
				.length,
			1,
		);
	});

	describe("GET /api/orders/summary", () => {
		const redis = new Redis(testEnv.REDIS_URL);
		after(() => redis.disconnect());

		it("When a user has orders in every status, then the summary matches a hand count, and a refund moves it at once", async () => {
			const userId = await fundedUser(1_000);
			const a = await settledOrder(userId, 100);
			await settledOrder(userId, 200);
			await settledOrder(userId, 300);
			await settledOrder(userId, 5_000, "CANCELLED");
			const r = await settledOrder(userId, 50);
			assert.equal((await refund(userId, r)).status, 202);
			await refunded(r);
			const waiting = randomUUID();
			inserted.push(waiting);
			await db
				.orders("orders")
				.insert({ id: waiting, user_id: userId, amount: 7, description: "waiting" });
			// Another user's orders count for them only.
			await settledOrder(await fundedUser(100), 100);

			const first = await api("GET", "/api/orders/summary", { userId });
			assert.equal(first.status, 200);
			assert.deepEqual(first.body, {
				total: 6,
				byStatus: { NEW: 1, FINISHED: 3, CANCELLED: 1, REFUNDING: 0, REFUNDED: 1 },
				spent: 600,
			});
			const epoch = Number((await redis.get(`${testEnv.REDIS_PREFIX}cache-epoch`)) ?? 0);
			const cached = await redis.keys(
				`${testEnv.REDIS_PREFIX}cache-${epoch}:orders:${userId}:*:summary`,
			);
			assert.equal(cached.length, 1, "kept under the user's generation");

			assert.equal((await refund(userId, a)).status, 202);
			const moved = (await api("GET", "/api/orders/summary", { userId })).body;
			assert.equal(moved.byStatus.FINISHED, 2, JSON.stringify(moved));
			assert.equal(moved.spent, 500);
			await refunded(a);
			await eventually(
				async () =>
					(await api("GET", "/api/orders/summary", { userId })).body.byStatus.REFUNDED === 2,
				"the summary to show the second refund",
				2_000,
			);
			assert.deepEqual((await api("GET", "/api/orders/summary", { userId })).body, {
				total: 6,
				byStatus: { NEW: 1, FINISHED: 2, CANCELLED: 1, REFUNDING: 0, REFUNDED: 2 },
				spent: 500,
			});
		});

		it("When a user has no orders, then every count is 0; and the route is not taken for an order id", async () => {
			const userId = newUserId();
			assert.deepEqual((await api("GET", "/api/orders/summary", { userId })).body, {
				total: 0,
				byStatus: { NEW: 0, FINISHED: 0, CANCELLED: 0, REFUNDING: 0, REFUNDED: 0 },
				spent: 0,
			});
			assertError(await api("GET", "/api/orders/summary"), 401, "UNAUTHORIZED");
			assertError(
				await api("GET", `/api/orders/${randomUUID()}`, { userId }),
				404,
				"ORDER_NOT_FOUND",
			);
		});
	});
});
