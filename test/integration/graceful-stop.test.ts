import { strict as assert } from "assert";
import type { ChildProcess } from "child_process";
import type { Knex } from "knex";
import { queueDepth } from "../support/amqp";
import { exited, spawnNode, stopChild } from "../support/cluster";
import { assertBalanced } from "../support/db";
import { eventually, newUserId } from "../support/http";
import { clusterSuite } from "../support/suite";

describe("A payments node stopped gracefully (SIGTERM, as Ctrl-C does) with a batch under way", () => {
	// Payments runs in its own process, so it can receive a real signal mid-batch.
	const { cluster, api, db } = clusterSuite(
		{ nodes: ["gateway", "orders"], waitFor: [] },
		{ beforeStop: () => Promise.all(children.map(stopChild)) },
	);
	const children: ChildProcess[] = [];

	const startPayments = async () => {
		const child = spawnNode("payments");
		children.push(child);
		await cluster.brokers[0].waitForServices(["payments"], 30_000);
		return child;
	};

	/** Sessions of the payments test database waiting on a lock: the held batch. */
	const waitingOnLock = async () =>
		Number(
			(
				await db.payments.raw(
					`SELECT count(*)::int AS n FROM pg_stat_activity
					 WHERE datname = current_database() AND wait_event_type = 'Lock'`,
				)
			).rows[0].n,
		);

	it("When the signal arrives while the batch is blocked, then the node commits and acks it before exiting 0", async () => {
		const userId = newUserId();
		const payments = await startPayments();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		const inboxBefore = Number((await db.payments("inbox_messages").count({ n: "*" }))[0].n);

		// Hold the account row, so the batch for this order blocks inside its transaction.
		let release!: () => void;
		const released = new Promise<void>(resolve => (release = resolve));
		let lockTaken!: () => void;
		const locked = new Promise<void>(resolve => (lockTaken = resolve));
		const holder = db.payments.transaction(async (trx: Knex.Transaction) => {
			await trx("accounts").where({ user_id: userId }).forUpdate().first();
			lockTaken();
			await released;
		});
		await locked;

		const order = (
			await api("POST", "/api/orders", { userId, body: { amount: 400, description: "graceful" } })
		).body;
		await eventually(
			async () => (await waitingOnLock()) === 1,
			"the batch to block on the account lock",
			20_000,
			50,
		);

		payments.kill("SIGTERM");
		// The node must wait for the batch: it is still running a second later.
		await new Promise(resolve => setTimeout(resolve, 1_000));
		assert.equal(payments.exitCode, null, "the node waits for the batch under way");
		release();
		await holder;

		assert.equal(await exited(payments), 0, "a graceful stop exits 0");
		// Committed: one debit, one decision, one inbox row. Acked: nothing back in the queue.
		await assertBalanced(db.payments, userId, 600, 1);
		assert.equal((await db.payments("order_payments").where({ order_id: order.id })).length, 1);
		const inboxAfter = Number((await db.payments("inbox_messages").count({ n: "*" }))[0].n);
		assert.equal(inboxAfter - inboxBefore, 1, "one inbox row for the order's message");
		assert.equal(
			await queueDepth("orders.to_pay"),
			0,
			"the message was acknowledged, not returned",
		);

		// The next node publishes the stored result; the message is not handled again.
		await startPayments();
		await eventually(
			async () => (await db.orders("orders").where({ id: order.id }).first()).status === "FINISHED",
			"the order to finish",
			30_000,
			100,
		);
		const stats = await cluster.brokers[0].call<{ duplicatesSkipped: number }, object>(
			"payments.stats",
			{},
		);
		assert.equal(stats.duplicatesSkipped, 0, "no redelivery reached the inbox");
		await assertBalanced(db.payments, userId, 600, 1);
	});
});
