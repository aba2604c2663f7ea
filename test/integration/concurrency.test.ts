import { strict as assert } from "assert";
import { assertError } from "../support/assertions";
import { eventually, newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("Many requests at once", () => {
	// Two payments nodes, so debits of one account race across consumers, not only within a batch.
	const { api, db } = clusterSuite({
		nodes: ["gateway", "orders", "orders", "payments", "payments"],
	});

	const times = <T>(n: number, f: (i: number) => Promise<T>) =>
		Promise.all(Array.from({ length: n }, (_, i) => f(i)));

	it("When 100 orders race for an account funded for exactly 30, then 30 are FINISHED, 70 CANCELLED, and the money adds up", async function () {
		this.timeout(120_000);
		const userId = newUserId();
		const price = 1_000;
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 30 * price } });

		const replies = await times(100, i =>
			api("POST", "/api/orders", { userId, body: { amount: price, description: `race ${i}` } }),
		);
		const orders = await eventually(
			async () => {
				const list = await api("GET", "/api/orders?limit=1000", { userId });
				return (
					list.body.length === 100 &&
					list.body.every((o: { status: string }) => o.status !== "NEW") &&
					list.body
				);
			},
			"all 100 orders to settle",
			60_000,
		);

		assert.deepEqual(
			replies.map(r => r.status),
			Array(100).fill(202),
		);
		const finished = orders.filter((o: { status: string }) => o.status === "FINISHED");
		const cancelled = orders.filter((o: { status: string }) => o.status === "CANCELLED");
		assert.equal(finished.length, 30);
		assert.equal(cancelled.length, 70);
		assert.ok(
			cancelled.every((o: { cancelReason: string }) => o.cancelReason === "INSUFFICIENT_FUNDS"),
		);

		assert.equal(await db.balance(userId), 0);
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 0);
		assert.equal(await db.ledgerSum(userId), 0);

		const ledger = await db.ledgerRows(userId);
		const debits = ledger.filter(e => e.kind === "ORDER_PAYMENT");
		assert.equal(debits.length, 30);
		assert.ok(debits.every(e => e.amount === -price));
		assert.deepEqual(
			debits.map(e => e.order_id).sort(),
			finished.map((o: { id: string }) => o.id).sort(),
			"the debited orders are exactly the FINISHED ones, each once",
		);
		// Every entry's balance_after is the running sum of the ledger. (That no balance goes below
		// zero is the CHECK constraints' job, tested on the tables in money.test.ts.)
		let running = 0;
		for (const e of ledger) {
			running += e.amount;
			assert.equal(e.balance_after, running, `ledger entry ${e.id}`);
		}

		const decisions = await db.payments("order_payments").where({ user_id: userId });
		assert.equal(decisions.length, 100, "one payment decision per order");
		assert.equal(decisions.filter(d => d.status === "PAID").length, 30);
	});

	it("When 20 requests create the same user's account at once, then exactly one is 201 and nineteen are 409 ACCOUNT_EXISTS", async () => {
		const userId = newUserId();

		const replies = await times(20, () => api("POST", "/api/accounts", { userId }));

		const created = replies.filter(r => r.status === 201);
		const refused = replies.filter(r => r.status !== 201);
		assert.equal(created.length, 1);
		assert.equal(refused.length, 19);
		for (const r of refused) assertError(r, 409, "ACCOUNT_EXISTS");
		assert.equal(created[0].body.balance, 0);
		assert.equal((await db.footprint(userId)).accounts, 1);
	});

	it("When 50 top-ups of different amounts arrive at once, then the balance is their exact sum and the ledger has 50 TOP_UP rows", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		const amounts = Array.from({ length: 50 }, (_, i) => 1 + i * 7_919);
		const expected = amounts.reduce((a, b) => a + b, 0);

		const replies = await times(50, i =>
			api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: amounts[i] } }),
		);

		assert.deepEqual(
			replies.map(r => r.status),
			Array(50).fill(200),
		);
		assert.equal(Math.max(...replies.map(r => r.body.balance)), expected);
		assert.equal(await db.balance(userId), expected);
		assert.equal(await db.ledgerSum(userId), expected);
		const ledger = await db.ledgerRows(userId);
		assert.equal(ledger.length, 50);
		assert.ok(ledger.every(e => e.kind === "TOP_UP"));
		assert.deepEqual(
			ledger.map(e => e.amount).sort((a, b) => a - b),
			[...amounts].sort((a, b) => a - b),
		);
		assert.deepEqual(
			replies.map(r => r.body.balance).sort((a, b) => a - b),
			ledger.map(e => e.balance_after).sort((a, b) => a - b),
			"each answer shows the balance right after its own credit",
		);
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, expected);
	});
});
