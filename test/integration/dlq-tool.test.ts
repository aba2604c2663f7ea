import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as amqp from "amqplib";
import { projectRoot } from "../../lib/paths";
import { deadLetterQueue, declareQueue, Queues } from "../../lib/messaging";
import { DeadLetterQueues } from "../../lib/messaging/dead-letters";
import { drainQueue, publishRaw, queueDepth } from "../support/amqp";
import { testEnv } from "../support/env";
import { eventually } from "../support/http";
import { numberConsumer } from "../support/number-consumer";

interface CliResult {
	code: number;
	stdout: string;
	stderr: string;
}

/** Runs `npm run dlq -- ...` from the sources (same code as dist/scripts/dlq.js) on the test vhost. */
function dlqCli(args: string[], input = ""): Promise<CliResult> {
	return new Promise(resolve => {
		const child = execFile(
			process.execPath,
			["-r", "tsx/cjs", "scripts/dlq.ts", ...args],
			{ cwd: projectRoot, env: { ...process.env, AMQP_URL: testEnv.AMQP_URL } },
			(err, stdout, stderr) =>
				resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
		);
		child.stdin!.end(input);
	});
}

const deadLetterHeaders = (queue: string, reason: string, attempts = 1) => ({
	"x-original-queue": queue,
	"x-dead-letter-reason": reason,
	"x-attempts": attempts,
	"x-dead-lettered-at": new Date().toISOString(),
});

/** A message as a consumer of `queue` dead-letters it, after one attempt. */
const deadLetter = (queue: string, messageId: string, content = "{}", reason = "r") => ({
	content,
	messageId,
	headers: deadLetterHeaders(queue, reason),
});

describe("Dead letters tool (npm run dlq)", () => {
	let connection: amqp.ChannelModel;
	let dlqs: DeadLetterQueues;

	before(async () => {
		connection = await amqp.connect(testEnv.AMQP_URL);
		const ch = await connection.createChannel();
		await declareQueue(ch, Queues.ordersToPay);
		await declareQueue(ch, Queues.paymentResults);
		await declareQueue(ch, Queues.ordersToRefund);
		await ch.close();
		dlqs = new DeadLetterQueues(connection);
	});
	after(() => connection.close());

	/** The messageIds a DLQ holds, as the tool lists them. */
	const listed = async (dlq: string) => (await dlqs.list(dlq)).messages.map(d => d.messageId);

	describe("on messages a real consumer dead-lettered", () => {
		const queue = `test.dlq-tool.${Date.now()}`;
		const dlq = deadLetterQueue(queue);
		let unlucky = true;
		const handled: string[] = [];
		const { start, stop } = numberConsumer(
			queue,
			async batch => {
				if (unlucky && batch.some(m => m.body.n === 13)) throw new Error("thirteen is unlucky");
				handled.push(...batch.map(m => m.messageId));
			},
			{ maxDeliveries: 2, retryBackoffMs: 10, batchSize: 1 },
		);

		before(async () => {
			await start();
			await publishRaw(queue, [
				{ content: "{not json", messageId: "bad-json" },
				{ content: JSON.stringify({ n: 13 }), messageId: "unlucky-13" },
				{ content: JSON.stringify({ n: 1 }), messageId: "fine-1" },
			]);
			await eventually(async () => (await queueDepth(dlq)) === 2, "two dead letters");
		});
		after(stop);

		it("When the DLQ is listed twice, then both lists show every message with its reason, attempts and body, and the DLQ still holds them", async () => {
			const first = await dlqs.list(dlq);
			const second = await dlqs.list(dlq);

			assert.equal(first.total, 2);
			const byId = Object.fromEntries(first.messages.map(d => [d.messageId, d]));
			assert.equal(byId["bad-json"].originalQueue, queue);
			assert.match(byId["bad-json"].reason!, /not valid JSON/);
			assert.equal(byId["bad-json"].content.toString(), "{not json");
			assert.equal(byId["unlucky-13"].reason, "thirteen is unlucky");
			assert.equal(byId["unlucky-13"].attempts, 2);
			assert.ok(
				byId["unlucky-13"].deadLetteredAt && !isNaN(Date.parse(byId["unlucky-13"].deadLetteredAt)),
			);
			assert.deepEqual(
				second.messages.map(d => d.messageId),
				first.messages.map(d => d.messageId),
			);
			assert.equal(await queueDepth(dlq), 2);
		});

		it("When `list` runs from the command line, then it prints a row per message and exits 0", async () => {
			const { code, stdout } = await dlqCli(["list", "--queue", queue]);

			assert.equal(code, 0);
			assert.match(stdout, new RegExp(`${dlq.replace(/\./g, "\\.")}: 2 dead letters`));
			assert.match(
				stdout,
				/bad-json\s+test\.dlq-tool\.\d+\s+1\s+\S+\s+body is not valid JSON\s+\{not json/,
			);
			assert.match(
				stdout,
				/unlucky-13\s+test\.dlq-tool\.\d+\s+2\s+\S+\s+thirteen is unlucky\s+\{"n":13\}/,
			);
			assert.equal(await queueDepth(dlq), 2);
		});

		it("When `show <messageId>` runs, then it prints that message's headers and body in full", async () => {
			const { code, stdout } = await dlqCli(["show", "unlucky-13", "--queue", dlq]);

			assert.equal(code, 0);
			assert.match(stdout, /x-dead-letter-reason: thirteen is unlucky/);
			assert.match(stdout, /x-attempts: 2/);
			assert.match(stdout, new RegExp(`x-original-queue: ${queue.replace(/\./g, "\\.")}`));
			assert.match(stdout, /"n": 13/);
			assert.doesNotMatch(stdout, /bad-json/);
		});

		it("When `show` or `replay` names an unknown messageId, then it exits 1 with a message and changes nothing", async () => {
			const show = await dlqCli(["show", "no-such-id", "--queue", queue]);
			const replay = await dlqCli(["replay", "no-such-id", "--queue", queue]);

			for (const r of [show, replay]) {
				assert.equal(r.code, 1);
				assert.match(r.stderr, /No dead letter with messageId "no-such-id"/);
			}
			assert.equal(await queueDepth(dlq), 2);
		});

		it("When the cause is fixed and one message is replayed, then the consumer handles it and only that one leaves the DLQ", async () => {
			unlucky = false;

			const { code, stdout } = await dlqCli(["replay", "unlucky-13", "--queue", queue]);

			assert.equal(code, 0, stdout);
			assert.match(stdout, /replayed unlucky-13/);
			await eventually(async () => handled.includes("unlucky-13"), "the replayed message handled");
			assert.deepEqual(await listed(dlq), ["bad-json"]);
			assert.deepEqual([...handled].sort(), ["fine-1", "unlucky-13"]);
		});
	});

	describe("on the business DLQs", () => {
		const dlq = deadLetterQueue(Queues.ordersToPay);

		beforeEach(async () => {
			await drainQueue(dlq);
			await drainQueue(Queues.ordersToPay);
		});

		it("When a message is replayed, then it is in its original queue with the same messageId and body and without the dead-letter headers", async () => {
			const body = JSON.stringify({
				orderId: "9b0f0f5e-3a1e-4a55-9f1e-0d7b1f8f0a01",
				userId: 7,
				amount: 5,
			});
			await publishRaw(dlq, [
				{
					content: body,
					messageId: "order-msg-1",
					headers: {
						...deadLetterHeaders(Queues.ordersToPay, "database was down", 5),
						"x-trace": "t-1",
					},
				},
				deadLetter(Queues.ordersToPay, "order-msg-2", "{}", "bad"),
			]);

			const replayed = await dlqs.replay(dlq, d => d.messageId === "order-msg-1");

			assert.deepEqual(
				replayed.map(d => d.messageId),
				["order-msg-1"],
			);
			const [back] = await drainQueue(Queues.ordersToPay);
			assert.equal(back.properties.messageId, "order-msg-1");
			assert.equal(back.content.toString(), body);
			const headers = back.properties.headers ?? {};
			assert.equal(headers["x-trace"], "t-1");
			for (const h of [
				"x-original-queue",
				"x-dead-letter-reason",
				"x-attempts",
				"x-dead-lettered-at",
			])
				assert.equal(headers[h], undefined, h);
			assert.ok(
				!headers["x-delivery-count"],
				"a replayed message starts counting deliveries again",
			);
			assert.deepEqual(await listed(dlq), ["order-msg-2"]);
		});

		it("When `replay --all` runs, then every dead letter of every business DLQ (orders.to_refund's too) is back in its original queue and the DLQs are empty", async () => {
			await publishRaw(dlq, [
				deadLetter(Queues.ordersToPay, "all-1", '{"a":1}'),
				deadLetter(Queues.ordersToPay, "all-2", '{"a":2}'),
			]);
			await publishRaw(deadLetterQueue(Queues.paymentResults), [
				deadLetter(Queues.paymentResults, "all-3", '{"b":1}'),
			]);
			await publishRaw(deadLetterQueue(Queues.ordersToRefund), [
				deadLetter(Queues.ordersToRefund, "all-4", '{"c":1}'),
			]);

			const { code, stdout } = await dlqCli(["replay", "--all"]);

			assert.equal(code, 0, stdout);
			assert.match(stdout, /4 messages replayed/);
			assert.deepEqual(
				(await drainQueue(Queues.ordersToPay)).map(m => m.properties.messageId).sort(),
				["all-1", "all-2"],
			);
			assert.deepEqual(
				(await drainQueue(Queues.paymentResults)).map(m => m.properties.messageId),
				["all-3"],
			);
			assert.deepEqual(
				(await drainQueue(Queues.ordersToRefund)).map(m => m.properties.messageId),
				["all-4"],
			);
			assert.equal(await queueDepth(dlq), 0);
			assert.equal(await queueDepth(deadLetterQueue(Queues.paymentResults)), 0);
			assert.equal(await queueDepth(deadLetterQueue(Queues.ordersToRefund)), 0);
		});

		it("When the original queue does not exist, then replay fails with a message and the dead letter stays", async () => {
			await publishRaw(dlq, [deadLetter("no.such.queue", "orphan-1")]);

			const { code, stderr } = await dlqCli(["replay", "orphan-1", "--queue", dlq]);

			assert.equal(code, 1);
			assert.match(stderr, /"no\.such\.queue" does not exist/);
			assert.deepEqual(await listed(dlq), ["orphan-1"]);
		});

		it("When `purge` is declined, then nothing is deleted; with --yes, then the DLQ is emptied", async () => {
			await publishRaw(dlq, [
				deadLetter(Queues.ordersToPay, "purge-1"),
				deadLetter(Queues.ordersToPay, "purge-2"),
			]);

			const declined = await dlqCli(["purge", "--queue", dlq], "n\n");
			const depthAfterDecline = await queueDepth(dlq);
			const purged = await dlqCli(["purge", "--queue", dlq, "--yes"]);

			assert.equal(declined.code, 0);
			assert.match(declined.stdout, /Delete 2 dead letters from orders\.to_pay\.dlq \(2\)\?/);
			assert.match(declined.stdout, /Not purged/);
			assert.equal(depthAfterDecline, 2);
			assert.equal(purged.code, 0);
			assert.match(purged.stdout, /orders\.to_pay\.dlq: 2 deleted/);
			assert.equal(await queueDepth(dlq), 0);
		});
	});
});
