import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { assertError } from "../support/assertions";
import { eventually, newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("Idempotency-Key on POST /api/orders and POST /api/accounts/me/top-ups", () => {
	const { api, db, fundedUser } = clusterSuite({
		nodes: ["gateway", "orders", "orders", "payments"],
	});

	const order = (userId: number, key: string, body: object) =>
		api("POST", "/api/orders", { userId, body, headers: { "Idempotency-Key": key } });
	const topUp = (userId: number, key: string, amount: number) =>
		api("POST", "/api/accounts/me/top-ups", {
			userId,
			body: { amount },
			headers: { "Idempotency-Key": key },
		});

	const settled = (userId: number, id: string) =>
		eventually(async () => {
			const r = await api("GET", `/api/orders/${id}`, { userId });
			return r.body.status !== "NEW" && r.body;
		}, `order ${id} to settle`);

	describe("orders", () => {
		it("When an order is repeated with the same key and body, then the same 202 and order come back and it is stored and debited once", async () => {
			const userId = await fundedUser(1_000);
			const key = randomUUID();
			const body = { amount: 300, description: "Kettle" };

			const first = await order(userId, key, body);
			const repeat = await order(userId, key, body);
			await settled(userId, first.body.id);
			const late = await order(userId, key, body);

			assert.equal(first.status, 202);
			assert.deepEqual([repeat.status, late.status], [202, 202]);
			assert.deepEqual(repeat.body, first.body);
			assert.deepEqual(
				late.body,
				first.body,
				"a repeat after the payment still gets the first response",
			);
			assert.equal((await db.orderRows(userId)).length, 1);
			assert.equal((await db.ordersOutboxRows(userId)).length, 1);
			const ledger = await db.ledgerRows(userId);
			assert.deepEqual(
				ledger.map(e => [e.kind, e.amount, e.order_id]),
				[
					["TOP_UP", 1_000, null],
					["ORDER_PAYMENT", -300, first.body.id],
				],
			);
			assert.equal(await db.balance(userId), 700);
		});

		it("When the same key comes with a different body, then it is 422 IDEMPOTENCY_KEY_REUSED and nothing more is stored", async () => {
			const userId = newUserId();
			const key = randomUUID();
			const first = await order(userId, key, { amount: 300, description: "Kettle" });
			// The orders side only: the first order's payment goes on in the background.
			const ordersSide = async () => {
				const f = await db.footprint(userId);
				return [f.orders, f.ordersOutbox, f.ordersKeys];
			};

			const otherAmount = await order(userId, key, { amount: 301, description: "Kettle" });
			const otherDescription = await order(userId, key, { amount: 300, description: "Toaster" });

			assert.equal(first.status, 202);
			assertError(otherAmount, 422, "IDEMPOTENCY_KEY_REUSED");
			assertError(otherDescription, 422, "IDEMPOTENCY_KEY_REUSED");
			assert.deepEqual(await ordersSide(), [1, 1, 1]);
			assert.deepEqual(
				(await db.orderRows(userId)).map(o => o.id),
				[first.body.id],
			);
		});

		it("When 10 requests with the same key and body arrive at once, then all get the same 202 and one order is stored", async () => {
			const userId = newUserId();
			const key = randomUUID();
			const body = { amount: 50, description: "Concurrent" };

			const replies = await Promise.all(Array.from({ length: 10 }, () => order(userId, key, body)));

			assert.deepEqual(
				replies.map(r => r.status),
				Array(10).fill(202),
			);
			for (const r of replies) assert.deepEqual(r.body, replies[0].body);
			const footprint = await db.footprint(userId);
			assert.deepEqual([footprint.orders, footprint.ordersOutbox, footprint.ordersKeys], [1, 1, 1]);
			assert.equal((await db.orderRows(userId))[0].id, replies[0].body.id);
		});

		it("When two users use the same key, then each gets their own order", async () => {
			const alice = newUserId();
			const bob = newUserId();
			const key = "shared-key";

			const a = await order(alice, key, { amount: 10, description: "Same" });
			const b = await order(bob, key, { amount: 10, description: "Same" });
			const bDifferent = await order(newUserId(), key, { amount: 99, description: "Other" });

			assert.deepEqual([a.status, b.status, bDifferent.status], [202, 202, 202]);
			assert.notEqual(a.body.id, b.body.id);
			assert.deepEqual([a.body.userId, b.body.userId], [alice, bob]);
			assert.deepEqual(
				(await db.orderRows(alice)).map(o => o.id),
				[a.body.id],
			);
			assert.deepEqual(
				(await db.orderRows(bob)).map(o => o.id),
				[b.body.id],
			);
		});

		it("When orders are sent without a key, then each request is a new order", async () => {
			const userId = newUserId();
			const body = { amount: 10, description: "No key" };

			const a = await api("POST", "/api/orders", { userId, body });
			const b = await api("POST", "/api/orders", { userId, body });

			assert.notEqual(a.body.id, b.body.id);
			assert.equal((await db.orderRows(userId)).length, 2);
		});
	});

	describe("top-ups", () => {
		it("When a top-up is repeated with the same key and amount, then the same 200 and account come back and the balance is credited once", async () => {
			const userId = await fundedUser(0);
			const key = randomUUID();

			const first = await topUp(userId, key, 500);
			const repeat = await topUp(userId, key, 500);

			assert.equal(first.status, 200);
			assert.equal(first.body.balance, 500);
			assert.equal(repeat.status, 200);
			assert.deepEqual(repeat.body, first.body);
			assert.equal(await db.balance(userId), 500);
			assert.deepEqual(
				(await db.ledgerRows(userId)).map(e => [e.kind, e.amount]),
				[["TOP_UP", 500]],
			);
			assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 500);
		});

		it("When the same key comes with a different amount, then it is 422 IDEMPOTENCY_KEY_REUSED and the balance is unchanged", async () => {
			const userId = await fundedUser(0);
			const key = randomUUID();
			await topUp(userId, key, 500);

			const reused = await topUp(userId, key, 600);

			assertError(reused, 422, "IDEMPOTENCY_KEY_REUSED");
			assert.equal(await db.balance(userId), 500);
			assert.equal((await db.ledgerRows(userId)).length, 1);
			assert.equal((await db.footprint(userId)).paymentsKeys, 1);
		});

		it("When 10 top-ups with the same key arrive at once, then all get the same 200 and the balance is credited once", async () => {
			const userId = await fundedUser(0);
			const key = randomUUID();

			const replies = await Promise.all(Array.from({ length: 10 }, () => topUp(userId, key, 250)));

			assert.deepEqual(
				replies.map(r => r.status),
				Array(10).fill(200),
			);
			for (const r of replies) assert.deepEqual(r.body, replies[0].body);
			assert.equal(replies[0].body.balance, 250);
			assert.equal(await db.balance(userId), 250);
			assert.equal((await db.ledgerRows(userId)).length, 1);
		});

		it("When two users top up with the same key, then each is credited", async () => {
			const alice = await fundedUser(0);
			const bob = await fundedUser(0);

			const a = await topUp(alice, "shared-top-up", 100);
			const b = await topUp(bob, "shared-top-up", 200);

			assert.deepEqual([a.status, a.body.balance, b.status, b.body.balance], [200, 100, 200, 200]);
			assert.deepEqual([await db.balance(alice), await db.balance(bob)], [100, 200]);
		});

		it("When a keyed top-up failed (no account yet), then the same key works once the account exists", async () => {
			const userId = newUserId();
			const key = randomUUID();

			const failed = await topUp(userId, key, 100);
			await api("POST", "/api/accounts", { userId });
			const retried = await topUp(userId, key, 100);
			const repeated = await topUp(userId, key, 100);

			assertError(failed, 404, "ACCOUNT_NOT_FOUND");
			assert.deepEqual([retried.status, retried.body.balance], [200, 100]);
			assert.deepEqual(repeated.body, retried.body);
			assert.equal(await db.balance(userId), 100);
		});

		it("When the same key is used for an order and a top-up, then both take effect (keys are per action)", async () => {
			const userId = await fundedUser(0);
			const key = randomUUID();

			const credited = await topUp(userId, key, 100);
			const ordered = await order(userId, key, { amount: 100, description: "Same key" });

			assert.deepEqual([credited.status, ordered.status], [200, 202]);
			assert.equal((await settled(userId, ordered.body.id)).status, "FINISHED");
			assert.equal(await db.balance(userId), 0);
		});
	});
});
