import { strict as assert } from "assert";
import type { Knex } from "knex";
import { createKnex } from "../../lib/db/knex";
import { NewOrder, OrderIntake } from "../../services/orders/create-order.use-case";
import type { Order } from "../../services/orders/order.repository";
import { newUserId } from "../support/http";

describe("Group commit of POST /api/orders (OrderIntake, real PostgreSQL)", () => {
	let db: Knex;
	let committed: Order[][];
	let intake: OrderIntake;

	before(() => {
		db = createKnex({
			url: process.env.ORDERS_DATABASE_URL!,
			poolMax: 4,
			applicationName: "order-intake-test",
		});
	});
	beforeEach(() => {
		committed = [];
		intake = new OrderIntake(db, async orders => {
			committed.push(orders);
		});
	});
	after(() => db.destroy());

	const stored = (ids: string[]) =>
		db("orders")
			.whereIn("id", ids)
			.select("id", "amount", "description", db.raw("created_at::text AS at"));
	const requests = async (ids: string[]) =>
		(
			await db("outbox_messages").whereRaw("payload->>'orderId' = ANY(?)", [ids]).select("payload")
		).map(r => r.payload.orderId as string);

	it("When orders arrive in the same moment, then one statement and one commit store them all, and each caller gets its own order", async () => {
		const userId = newUserId();
		const inputs: NewOrder[] = [1, 2, 3, 4, 5].map(n => ({
			userId,
			amount: 100 * n,
			description: `Tea ${n}`,
		}));

		const orders = await Promise.all(inputs.map(i => intake.place(i)));

		assert.deepEqual(
			orders.map(o => [o.userId, o.amount, o.description, o.status]),
			inputs.map(i => [userId, i.amount, i.description, "NEW"]),
		);
		const ids = orders.map(o => o.id);
		assert.equal(new Set(ids).size, 5);
		assert.equal(committed.length, 1, "one batch after commit");
		assert.deepEqual(committed[0].map(o => o.id).sort(), [...ids].sort());
		const rows = await stored(ids);
		assert.equal(rows.length, 5);
		// now() is the transaction's start: one value for all means one transaction.
		assert.equal(new Set(rows.map(r => r.at)).size, 1);
		assert.deepEqual((await requests(ids)).sort(), [...ids].sort());
	});

	it("When PostgreSQL refuses one order of a batch, then only its caller gets the error and the others are stored with their payment requests", async () => {
		const userId = newUserId();
		const good: NewOrder[] = [1, 2, 3, 4].map(n => ({
			userId,
			amount: 10 * n,
			description: `Cup ${n}`,
		}));
		// Past the action's validation: the schema's CHECK on description is what refuses it.
		const bad: NewOrder = { userId, amount: 50, description: "x".repeat(501) };

		const outcomes = await Promise.allSettled(
			[good[0], good[1], bad, good[2], good[3]].map(i => intake.place(i)),
		);

		assert.deepEqual(
			outcomes.map(o => o.status),
			["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"],
			"only the refused order fails",
		);
		const failed = outcomes[2];
		assert.equal(failed.status, "rejected");
		assert.equal((failed as PromiseRejectedResult).reason.code, "23514");
		const orders = outcomes
			.filter((o, i) => i !== 2)
			.map(o => (o as PromiseFulfilledResult<Order>).value);
		assert.deepEqual(
			orders.map(o => [o.amount, o.description]),
			good.map(i => [i.amount, i.description]),
		);
		const ids = orders.map(o => o.id);
		assert.equal((await stored(ids)).length, 4);
		assert.deepEqual((await requests(ids)).sort(), [...ids].sort());
		assert.equal(Number((await db("orders").where({ user_id: userId }).count({ n: "*" }))[0].n), 4);
		assert.equal(committed.flat().length, 4, "afterCommit saw the four stored orders");
	});

	it("When the database cannot be reached, then every caller of the batch gets the error", async () => {
		const down = createKnex({
			url: "postgres://postgres@127.0.0.1:1/nowhere",
			poolMax: 1,
			applicationName: "x",
		});
		try {
			const unreachable = new OrderIntake(down, async () => undefined);
			const outcomes = await Promise.allSettled(
				[1, 2, 3].map(n => unreachable.place({ userId: 1, amount: n, description: "Tea" })),
			);
			assert.deepEqual(
				outcomes.map(o => o.status),
				["rejected", "rejected", "rejected"],
			);
		} finally {
			await down.destroy();
		}
	});
});
