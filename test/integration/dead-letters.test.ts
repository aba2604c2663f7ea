import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { deadLetterQueue, Queues } from "../../lib/messaging";
import { drainQueue, publishRaw } from "../support/amqp";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId } from "../support/http";
import { numberConsumer } from "../support/number-consumer";

describe("Dead-letter queues", () => {
	describe("in the running system", () => {
		const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
		const api = apiClient(cluster.apiUrl);

		before(async () => {
			await cluster.start();
			await drainQueue(deadLetterQueue(Queues.ordersToPay));
		});
		after(() => cluster.stop());
		const collected: Awaited<ReturnType<typeof drainQueue>> = [];

		it("When poison messages reach orders.to_pay, then they go to its DLQ with a reason and other orders still complete", async () => {
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 500 } });

			await publishRaw(Queues.ordersToPay, [
				{ content: "{not json", messageId: "poison-1" },
				{
					content: JSON.stringify({ orderId: "nope", userId: 1, amount: 5 }),
					messageId: "poison-2",
				},
				{
					content: JSON.stringify({ orderId: randomUUID(), userId, amount: -5 }),
					messageId: "poison-3",
				},
				{ content: JSON.stringify({ orderId: randomUUID(), userId, amount: 5 }) }, // no messageId
			]);
			const order = (
				await api("POST", "/api/orders", { userId, body: { amount: 200, description: "fine" } })
			).body;

			const dead = await eventually(async () => {
				const got = await drainQueue(deadLetterQueue(Queues.ordersToPay)).catch(() => []);
				collected.push(...got);
				return collected.length >= 4 && collected;
			}, "four dead letters");
			// Nothing else may follow: the good order is not dead-lettered, nor any poison twice.
			const final = await eventually(async () => {
				const r = await api("GET", `/api/orders/${order.id}`, { userId });
				return r.body.status !== "NEW" && r.body;
			}, "the good order");
			collected.push(...(await drainQueue(deadLetterQueue(Queues.ordersToPay))));
			assert.equal(collected.length, 4, JSON.stringify(collected.map(m => m.properties.messageId)));
			for (const m of dead) {
				const headers = m.properties.headers ?? {};
				assert.equal(headers["x-original-queue"], Queues.ordersToPay, `${m.properties.messageId}`);
				assert.equal(
					headers["x-attempts"],
					1,
					`${m.properties.messageId} is dead-lettered at once`,
				);
				assert.ok(headers["x-dead-letter-reason"], `${m.properties.messageId} has a reason`);
				assert.ok(
					!Number.isNaN(Date.parse(headers["x-dead-lettered-at"])),
					`${m.properties.messageId} has a time`,
				);
			}
			const reasons = Object.fromEntries(
				dead.map(m => [
					m.properties.messageId ?? "none",
					String(m.properties.headers?.["x-dead-letter-reason"]),
				]),
			);
			assert.match(reasons["poison-1"], /not valid JSON/);
			assert.match(reasons["poison-2"], /orderId/);
			assert.match(reasons["poison-3"], /amount/);
			const unidentified = Object.keys(reasons).filter(k => k.startsWith("unidentified"));
			assert.equal(unidentified.length, 1, JSON.stringify(reasons));
			assert.match(reasons[unidentified[0]], /no messageId/);
			assert.equal(
				dead.find(m => m.properties.messageId === "poison-1")!.content.toString(),
				"{not json",
			);
			assert.equal(final.status, "FINISHED");
			assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 300);
		});
	});

	describe("in the shared consumer", () => {
		const queue = `test.poison.${Date.now()}`;
		const handled: string[] = [];
		const attemptsOfBad: number[] = [];
		const { consumer, start, stop } = numberConsumer(
			queue,
			async batch => {
				for (const m of batch)
					if (m.body.n === 13) {
						attemptsOfBad.push(m.attempt);
						throw new Error("thirteen is unlucky");
					}
				handled.push(...batch.map(m => m.messageId));
			},
			{ maxDeliveries: 3, retryBackoffMs: 10, batchSize: 10 },
		);

		before(start);
		after(stop);

		it("When a message keeps failing, then it is tried maxDeliveries times, dead-lettered with the error, and its batch-mates are handled once", async () => {
			await publishRaw(
				queue,
				[1, 2, 13, 4, 5].map(n => ({ content: JSON.stringify({ n }), messageId: `m${n}` })),
			);

			const dead = await eventually(async () => {
				const got = await drainQueue(deadLetterQueue(queue));
				return got.length > 0 && got;
			}, "the dead letter");

			assert.equal(dead.length, 1);
			assert.equal(dead[0].properties.messageId, "m13");
			assert.equal(dead[0].properties.headers?.["x-dead-letter-reason"], "thirteen is unlucky");
			assert.equal(dead[0].properties.headers?.["x-attempts"], 3);
			assert.deepEqual(
				attemptsOfBad.filter((a, i, all) => all.indexOf(a) === i),
				[1, 2, 3],
			);
			assert.deepEqual([...handled].sort(), ["m1", "m2", "m4", "m5"]);
			assert.equal(consumer.stats.deadLettered, 1);
		});
	});
});
