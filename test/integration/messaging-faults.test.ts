import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import * as amqp from "amqplib";
import { ServiceBroker } from "moleculer";
import { AmqpConnection, OutboxRelay, Publisher } from "../../lib/messaging";
import { publishRaw, queueDepth, drainQueue } from "../support/amqp";
import { testDatabases } from "../support/db";
import { testEnv } from "../support/env";
import { eventually } from "../support/http";
import { numberConsumer } from "../support/number-consumer";
import { connectionsInTestVhost, rabbitmqctl } from "../support/rabbit";
import { TEST_VHOST } from "../support/env";

const logger = new ServiceBroker({ logger: false }).getLogger("test");
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function withChannel<T>(fn: (ch: amqp.Channel) => Promise<T>): Promise<T> {
	const conn = await amqp.connect(testEnv.AMQP_URL);
	try {
		return await fn(await conn.createChannel());
	} finally {
		await conn.close().catch(() => undefined);
	}
}

describe("Messaging under broker faults (shared module)", () => {
	const db = testDatabases();
	after(() => db.close());

	it("When the queue setup of a connection fails, then that connection is closed before the next attempt", async () => {
		// A classic queue under the name the module declares as quorum: every declaration fails.
		const queue = `test.setup-fails.${Date.now()}`;
		await withChannel(ch => ch.assertQueue(queue, { durable: true }));
		const before = connectionsInTestVhost();
		const connection = new AmqpConnection(testEnv.AMQP_URL, [queue], logger, {
			retryBackoffMs: 50,
			maxBackoffMs: 200,
		});
		try {
			await connection.start();
			await sleep(2500); // a dozen failed attempts
			assert.equal(connection.isConnected, false);
			const during = connectionsInTestVhost();
			assert.ok(
				during <= before + 1,
				`at most the attempt under way is open: ${before} before, ${during} during`,
			);
		} finally {
			await connection.stop();
			await withChannel(ch => ch.deleteQueue(queue));
		}
		await eventually(
			async () => connectionsInTestVhost() === before,
			"no connection left behind",
			10_000,
			500,
		);
	});

	it("When the relay publishes to a queue that does not exist, then the row stays unsent and is published once the queue exists", async () => {
		const queue = `test.unroutable.${Date.now()}`;
		const messageId = randomUUID();
		const connection = new AmqpConnection(testEnv.AMQP_URL, [], logger);
		const relay = new OutboxRelay(db.orders, new Publisher(connection, 5000), logger, {
			pollIntervalMs: 200,
			retryBackoffMs: 100,
			maxBackoffMs: 500,
		});
		await db
			.orders("outbox_messages")
			.insert({ message_id: messageId, queue, payload: JSON.stringify({ n: 1 }) });
		try {
			await connection.start();
			relay.start();
			await sleep(2000); // several rounds, every one returned by the broker
			const row = await db
				.orders("outbox_messages")
				.where({ message_id: messageId })
				.first("sent_at");
			assert.equal(row.sent_at, null, "a returned message is not marked sent");

			await withChannel(ch => ch.assertQueue(queue, { durable: true }));
			await eventually(
				async () =>
					(await db.orders("outbox_messages").where({ message_id: messageId }).first("sent_at"))
						.sent_at !== null,
				"the row to be sent once the queue exists",
				10_000,
				100,
			);
			const got = await drainQueue(queue);
			assert.deepEqual(
				got.map(m => m.properties.messageId),
				[messageId],
				"published once, after the queue appeared",
			);
		} finally {
			await relay.stop();
			await connection.stop();
			await withChannel(ch => ch.deleteQueue(queue)).catch(() => undefined);
			await db.orders("outbox_messages").where({ message_id: messageId }).delete();
		}
	});

	it("When deliveries come back unprocessed after lost connections, then they do not count toward maxDeliveries", async () => {
		const queue = `test.uncounted.${Date.now()}`;
		// Every held attempt waits on this one gate, opened at the end.
		let release: () => void = () => undefined;
		const gate = new Promise<void>(r => (release = r));
		const attempts: number[] = [];
		const { connection, consumer, start, stop } = numberConsumer(
			queue,
			async batch => {
				attempts.push(...batch.map(m => m.attempt));
				// The first attempt fails for the message's own reason: that one counts.
				if (attempts.length === 1) throw new Error("its own fault, once");
				await gate;
			},
			// concurrency: the attempts held on lost connections keep their slots until the gate opens
			{ maxDeliveries: 2, retryBackoffMs: 10, recoverDelayMs: 50, concurrency: 8 },
			{ retryBackoffMs: 50 },
		);
		try {
			await start();
			await publishRaw(queue, [{ content: JSON.stringify({ n: 1 }), messageId: "m1" }]);
			// Three times: the handler holds the message, the broker loses the connection, the
			// message comes back unprocessed (the quorum queue raises its x-delivery-count).
			for (let i = 1; i <= 3; i++) {
				await eventually(
					async () => attempts.length === i + 1,
					`handler attempt ${i + 1}`,
					15_000,
					50,
				);
				const before = connection.connects;
				closeTestVhostConnections();
				await eventually(
					async () => connection.connects > before && connection.isConnected,
					"the reconnect",
					15_000,
					50,
				);
			}
			await eventually(async () => attempts.length === 5, "the last delivery", 15_000, 50);
			release();
			await eventually(
				async () => consumer.stats.handled >= 1,
				"the message to be handled",
				10_000,
				50,
			);
			assert.equal(consumer.stats.deadLettered, 0, "not dead-lettered");
			assert.deepEqual(attempts, [1, 2, 2, 2, 2], "only the failed handler attempt counted");
			assert.equal(await queueDepth(`${queue}.dlq`), 0);
		} finally {
			release();
			await stop();
		}
	});
});

/** Closes every client connection of the test vhost from the broker's side. */
function closeTestVhostConnections(): void {
	rabbitmqctl(
		"eval",
		// element 6 of a tracked_connection record is the connection's process
		`[rabbit_networking:close_connection(element(6, C), "test: lost link") || C <- rabbit_connection_tracking:list(<<"${TEST_VHOST}">>)], ok.`,
	);
}
