import { strict as assert } from "assert";
import { eventually } from "../support/http";
import { clusterSuite } from "../support/suite";

/**
 * Every commit that writes outbox rows wakes its relay (MessagingRuntime.write): here the relays
 * poll once a minute, so a message whose wake was missed would wait that long.
 */
describe("Relay wake after an outbox write", () => {
	const pollOnceAMinute = { relayPollMs: 60_000 };
	const { api, fundedUser } = clusterSuite({
		nodes: ["gateway", "orders", "payments"],
		overrides: { orders: pollOnceAMinute, payments: pollOnceAMinute },
	});

	const reaches = (userId: number, id: string, status: string) =>
		eventually(
			async () => (await api("GET", `/api/orders/${id}`, { userId })).body.status === status,
			`order ${id} to be ${status} well before the next poll`,
			5_000,
		);

	it("When orders are placed (grouped, and with an Idempotency-Key), paid, refunded and answered, then each message leaves at once, not at the next poll", async () => {
		const userId = await fundedUser(10_000);

		const grouped = await Promise.all(
			[1, 2, 3].map(n =>
				api("POST", "/api/orders", { userId, body: { amount: 100 * n, description: "Tea" } }),
			),
		);
		const keyed = await api("POST", "/api/orders", {
			userId,
			body: { amount: 50, description: "Tea" },
			headers: { "Idempotency-Key": `wake-${userId}` },
		});
		for (const placed of [...grouped, keyed]) await reaches(userId, placed.body.id, "FINISHED");
		const refund = await api("POST", `/api/orders/${keyed.body.id}/refund`, { userId });

		assert.equal(refund.status, 202);
		await reaches(userId, keyed.body.id, "REFUNDED");
	});
});
