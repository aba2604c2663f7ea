import { strict as assert } from "assert";
import * as amqp from "amqplib";
import type { Knex } from "knex";
import type { ServiceBroker } from "moleculer";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { queueDepth } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { testEnv } from "../support/env";
import { apiClient, eventually, newUserId } from "../support/http";

interface ConsumerStats {
	queue: string;
	state: string;
	recovered: number;
	retried: number;
	deadLettered: number;
}
interface MessagingStats {
	connects: number;
	consumers: ConsumerStats[];
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("Consumers that heal, and failures that are not the message's fault", () => {
	// A short stall bound, so that readiness can be seen to fail on a stuck consumer.
	const cluster = new TestCluster({
		nodes: ["gateway", "orders", "payments"],
		overrides: { payments: { consumerStallMs: 1500 }, gateway: { healthDetails: true } },
	});
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();

	const payments = (): ServiceBroker => cluster.brokers.find(b => b.getLocalService("payments"))!;
	const paymentsStats = () =>
		payments().call<MessagingStats, object>("payments.stats", {}, { nodeID: payments().nodeID });
	const toPay = async () =>
		(await paymentsStats()).consumers.find(c => c.queue === Queues.ordersToPay)!;
	const orderStatus = async (id: string) =>
		(await db.orders("orders").where({ id }).first()).status as string;

	async function fundedUser(amount: number): Promise<number> {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount } });
		return userId;
	}

	before(async () => {
		await cluster.start();
		// A fault switch in payments' database: while fault_code holds a row, every insert into
		// the inbox (the first write of each payment batch) fails with that SQLSTATE.
		await db.payments.raw(`
			CREATE TABLE IF NOT EXISTS test_fault (code text NOT NULL);
			CREATE OR REPLACE FUNCTION test_inject_fault() RETURNS trigger AS $$
			DECLARE c text;
			BEGIN
				SELECT code INTO c FROM test_fault LIMIT 1;
				IF c IS NOT NULL THEN RAISE EXCEPTION 'injected fault %', c USING ERRCODE = c; END IF;
				RETURN NEW;
			END $$ LANGUAGE plpgsql;
			DROP TRIGGER IF EXISTS test_inject_fault ON inbox_messages;
			CREATE TRIGGER test_inject_fault BEFORE INSERT ON inbox_messages
				FOR EACH STATEMENT EXECUTE FUNCTION test_inject_fault();
		`);
	});
	after(async () => {
		await db.payments.raw(
			`DROP TRIGGER IF EXISTS test_inject_fault ON inbox_messages; DROP TABLE IF EXISTS test_fault;`,
		);
		await cluster.stop();
		await db.close();
	});

	it("When the broker cancels a consumer (its queue deleted), then it is re-subscribed on the same connection and orders still complete", async () => {
		const userId = await fundedUser(1_000);
		const before = await paymentsStats();

		const conn = await amqp.connect(testEnv.AMQP_URL);
		try {
			const ch = await conn.createChannel();
			await ch.deleteQueue(Queues.ordersToPay); // the broker sends basic.cancel to its consumers
		} finally {
			await conn.close();
		}
		await eventually(
			async () => {
				const c = await toPay();
				return (
					c.recovered > before.consumers.find(x => x.queue === Queues.ordersToPay)!.recovered &&
					c.state === "consuming"
				);
			},
			"the consumer to be re-subscribed",
			10_000,
			100,
		);

		const order = (
			await api("POST", "/api/orders", {
				userId,
				body: { amount: 300, description: "after cancel" },
			})
		).body;
		await eventually(
			async () => (await orderStatus(order.id)) === "FINISHED",
			"the order to finish",
			20_000,
			100,
		);
		assert.equal(
			(await paymentsStats()).connects,
			before.connects,
			"healed on the same connection",
		);
		assert.deepEqual(await accountFacts(db.payments, userId), {
			balance: 700,
			ledgerSum: 700,
			debits: 1,
		});
		const ready = await api("GET", "/health/ready");
		assert.equal(ready.status, 200, JSON.stringify(ready.body.failing));
		const node = ready.body.checks.payments.nodes[0];
		assert.equal(node.checks[`consumer:${Queues.ordersToPay}`].state, "consuming");
	});

	it("When the payments consumer makes no progress past CONSUMER_STALL_MS while messages wait, then /health/ready is 503 naming it, and 200 once it moves again", async () => {
		const userId = await fundedUser(1_000);
		const check = `consumer:${Queues.ordersToPay}`;
		let lock: Knex.Transaction | undefined = await db.payments.transaction();
		let orderId: string;
		try {
			await lock.raw("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE");
			orderId = (
				await api("POST", "/api/orders", { userId, body: { amount: 100, description: "stuck" } })
			).body.id;
			const stuck = await eventually(
				async () => {
					const r = await api("GET", "/health/ready");
					return (
						r.status === 503 && (r.body.failing as string[]).some(f => f.endsWith(`/${check}`)) && r
					);
				},
				"readiness to name the stalled consumer",
				15_000,
				200,
			);
			assert.match(stuck.body.checks.payments.nodes[0].checks[check].error, /stalled/);
			await lock.commit();
			lock = undefined;
		} finally {
			if (lock) await lock.rollback().catch(() => undefined);
		}
		await eventually(
			async () => (await orderStatus(orderId)) === "FINISHED",
			"the order to finish",
			20_000,
			100,
		);
		await eventually(
			async () => (await api("GET", "/health/ready")).status === 200,
			"readiness to recover",
			10_000,
			200,
		);
	});

	for (const [code, name] of [
		["25006", "read_only_sql_transaction"],
		["53100", "disk_full"],
		["53200", "out_of_memory"],
		["57014", "query_canceled"],
		["55P03", "lock_not_available"],
		["58030", "io_error"],
	]) {
		it(`When payments' database fails with ${name} (${code}), then the batch is retried uncounted, nothing is dead-lettered, and the order completes after the fault clears`, async () => {
			const userId = await fundedUser(1_000);
			const before = await toPay();
			await db.payments("test_fault").insert({ code });
			let orderId: string;
			try {
				orderId = (
					await api("POST", "/api/orders", { userId, body: { amount: 250, description: name } })
				).body.id;
				// Longer than five quick tries: a counted failure would have reached the DLQ by now.
				await sleep(2500);
				assert.equal(await orderStatus(orderId), "NEW");
			} finally {
				await db.payments("test_fault").delete();
			}
			await eventually(
				async () => (await orderStatus(orderId)) === "FINISHED",
				"the order to finish",
				20_000,
				100,
			);
			const after = await toPay();
			assert.equal(after.retried, before.retried, "no failure was counted");
			assert.equal(after.deadLettered, before.deadLettered, "nothing dead-lettered");
			assert.equal(await queueDepth(deadLetterQueue(Queues.ordersToPay)), 0);
			assert.deepEqual(await accountFacts(db.payments, userId), {
				balance: 750,
				ledgerSum: 750,
				debits: 1,
			});
		});
	}
});
