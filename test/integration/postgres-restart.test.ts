/**
 * The machine's PostgreSQL fast-restarted (`pg_ctlcluster … restart -m fast`: every session
 * terminated) while a client places orders. It restarts the shared server, so run this file
 * alone (no other test run on the machine). PostgreSQL is started again whatever happens.
 */
import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { queueDepth } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { assertBalanced, testDatabases, untilAllFinished } from "../support/db";
import { apiClient } from "../support/http";
import { ensurePostgres, restartPostgres } from "../support/postgres-server";
import { fundedUser } from "../support/shop";

describe("PostgreSQL fast-restarted under orders", function () {
	this.timeout(150_000);
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();

	before(async () => {
		await ensurePostgres();
		await cluster.start();
	});
	after(async () => {
		await ensurePostgres();
		await cluster.stop();
		await db.close();
	});

	/** Handler failures counted against their messages (requeued with a count), both services. */
	const counted = async () => {
		let n = 0;
		for (const b of cluster.brokers)
			for (const service of ["orders", "payments"])
				if (b.getLocalService(service)) {
					const stats = await b.call<{ consumers: { retried: number }[] }, object>(
						`${service}.stats`,
						{},
						{ nodeID: b.nodeID },
					);
					n += stats.consumers.reduce((sum, c) => sum + c.retried, 0);
				}
		return n;
	};

	it("When PostgreSQL restarts while a payment batch is under way and orders are placed, then no failure is counted against a message, and every order a client was given is stored once, paid once and final, and balance = ledger", async () => {
		const userId = await fundedUser(api, 100_000);

		const countedBefore = await counted();
		// A careful client: one Idempotency-Key per order, retried until accepted.
		const ids: string[] = [];
		let unavailable = 0;
		const place = async (i: number) => {
			const headers = { "Idempotency-Key": randomUUID() };
			for (let attempt = 0; attempt < 60; attempt++) {
				const r = await api("POST", "/api/orders", {
					userId,
					headers,
					body: { amount: 100, description: `restart ${i}` },
				}).catch(() => undefined);
				if (r?.status === 202) return void ids.push(r.body.id);
				if (r) {
					// What a client sees of a database restart: a 503 worth retrying, never a 500.
					assert.equal(r.status, 503, `order ${i}: ${r.status} ${JSON.stringify(r.body)}`);
					assert.equal(r.body.type, "SERVICE_UNAVAILABLE");
					assert.equal(r.headers?.get("retry-after"), "1");
					unavailable++;
				}
				await new Promise(res => setTimeout(res, 500));
			}
			throw new Error(`order ${i} never accepted`);
		};

		// Five orders whose payment batch is under way when the server goes: it waits on the
		// locked accounts table, and the restart cuts its transaction (and the lock) off.
		const lock = await db.payments.transaction();
		await lock.raw("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
		await Promise.all(Array.from({ length: 5 }, (_, i) => place(i)));
		await new Promise(r => setTimeout(r, 1000));
		// Then orders before, during and after the restart: 15 more at 10 per second.
		const orders = Array.from(
			{ length: 15 },
			(_, i) =>
				new Promise<void>((res, rej) => setTimeout(() => place(5 + i).then(res, rej), i * 100)),
		);
		try {
			await new Promise(r => setTimeout(r, 500));
			await restartPostgres();
		} finally {
			await lock.rollback().catch(() => undefined);
			await ensurePostgres();
		}
		await Promise.all(orders);
		assert.equal(ids.length, 20);
		console.log(`      (${unavailable} POSTs answered 503 SERVICE_UNAVAILABLE during the restart)`);
		assert.equal(new Set(ids).size, 20, "one order per Idempotency-Key");

		await untilAllFinished(db.orders, ids, "every accepted order to finish", 90_000, 250);
		assert.equal(
			(await db.orders("orders").where({ user_id: userId })).length,
			20,
			"nothing stored twice",
		);
		await assertBalanced(db.payments, userId, 100_000 - 2000, 20);
		assert.equal(await counted(), countedBefore, "database trouble counted against a message");
		for (const q of [Queues.ordersToPay, Queues.paymentResults])
			assert.equal(await queueDepth(deadLetterQueue(q)), 0, `${q}: nothing dead-lettered`);
	});
});
