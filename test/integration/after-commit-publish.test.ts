import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import * as amqp from "amqplib";
import { ServiceBroker } from "moleculer";
import { runSql } from "../../lib/db/sql";
import { MessagingRuntime, OutboxStore } from "../../lib/messaging";
import { drainQueue } from "../support/amqp";
import { testDatabases } from "../support/db";
import { testEnv } from "../support/env";
import { eventually } from "../support/http";

const logger = new ServiceBroker({ logger: false }).getLogger("test");
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * A unit of work (MessagingRuntime.write) publishes the outbox rows it committed itself, from
 * the messages it inserted: no relay round claims them. Only rows that were really committed
 * go out; the relay's poll leaves young rows to their writer and takes the older ones.
 */
describe("Outbox rows published after their commit (shared module)", () => {
	const db = testDatabases();
	const outbox = new OutboxStore();
	const queue = `test.after-commit.${Date.now()}`;
	let runtime: MessagingRuntime;

	before(async () => {
		runtime = new MessagingRuntime(
			db.orders,
			{
				amqpUrl: testEnv.AMQP_URL,
				queues: [queue],
				relay: { pollIntervalMs: 200, pollGraceMs: 1500, markDelayMs: 50 },
				consumer: {},
			},
			logger,
		);
		await runtime.start();
		await eventually(async () => runtime.connection.isConnected, "the connection");
	});

	after(async () => {
		await runtime.stop();
		const conn = await amqp.connect(testEnv.AMQP_URL);
		const ch = await conn.createChannel();
		await ch.deleteQueue(queue).catch(() => undefined);
		await ch.deleteQueue(`${queue}.dlq`).catch(() => undefined);
		await conn.close();
		await db.orders("outbox_messages").where({ queue }).delete();
		await db.close();
	});

	const rowsOf = (n: number) =>
		db.orders("outbox_messages").where({ queue }).whereRaw("(payload->>'n')::int = ?", [n]);

	it("When a unit of work commits an outbox row, then the row's message is published without a relay round and the row is marked sent", async () => {
		const relayed = runtime.relay.published;
		await runtime.write(() => runSql(db.orders, outbox.insertFragment(queue, [{ n: 1 }])));
		await eventually(
			async () => (await rowsOf(1).first("sent_at"))?.sent_at != null,
			"the row marked sent",
			5_000,
			50,
		);
		const [row] = await rowsOf(1);
		const got = await drainQueue(queue);
		assert.deepEqual(
			got.map(m => [m.properties.messageId, JSON.parse(m.content.toString())]),
			[[row.message_id, { n: 1 }]],
		);
		assert.equal(runtime.relay.published, relayed, "no relay round carried it");
		assert.equal(runtime.afterCommit.published, 1);
	});

	it("When a unit's transaction rolls back after its outbox insert ran, then nothing is published, even though the work resolves", async () => {
		const publishedBefore = runtime.published;
		const outcome = await runtime.write(async () => {
			try {
				await db.orders.transaction(async trx => {
					await runSql(trx, outbox.insertFragment(queue, [{ n: 2 }]));
					throw new Error("rolled back on purpose");
				});
				return "committed";
			} catch {
				return "caught";
			}
		});
		assert.equal(outcome, "caught");
		await sleep(2_500); // past the poll's grace: the relay would have found a row
		assert.deepEqual(await drainQueue(queue), []);
		assert.equal((await rowsOf(2)).length, 0);
		assert.equal(runtime.published, publishedBefore);
	});

	it("When a unit's work fails after its statement ran in a transaction, then the caller gets the error and nothing is published", async () => {
		await assert.rejects(
			runtime.write(() =>
				db.orders.transaction(async trx => {
					await runSql(trx, outbox.insertFragment(queue, [{ n: 3 }]));
					throw new Error("work failed");
				}),
			),
			/work failed/,
		);
		await sleep(500);
		assert.deepEqual(await drainQueue(queue), []);
		assert.equal((await rowsOf(3)).length, 0);
	});

	it("When a committed row was never published (its writer died), then the poll leaves it alone while it is young and publishes it once past the grace", async () => {
		const messageId = randomUUID();
		await db
			.orders("outbox_messages")
			.insert({ message_id: messageId, queue, payload: JSON.stringify({ n: 4 }) });
		const inserted = Date.now();
		await sleep(900); // several polls, all within the 1.5 s grace
		assert.equal(
			(await rowsOf(4).first("sent_at")).sent_at,
			null,
			"left to its writer while young",
		);
		await eventually(
			async () => (await rowsOf(4).first("sent_at")).sent_at !== null,
			"the poll to publish the row",
			5_000,
			50,
		);
		assert.ok(Date.now() - inserted >= 1_400, "not before the grace");
		const got = await drainQueue(queue);
		assert.deepEqual(
			got.map(m => m.properties.messageId),
			[messageId],
		);
	});
});
