/**
 * Stops and restarts the machine's Redis: run it under the exclusive lock
 * (flock -o -x /tmp/gozon-heavy.lock npx mocha test/integration/limits-redis-down.test.ts).
 */
import { strict as assert } from "assert";
import type { Socket } from "socket.io-client";
import { TestCluster } from "../support/cluster";
import { apiClient, eventually, newUserId } from "../support/http";
import { redisUp, startRedis, stopRedis } from "../support/redis-server";
import { handshake, openUserSocket } from "../support/sockets";

const BURST = 5;

describe("Limits when Redis is down (stops Redis: exclusive lock)", () => {
	// An orders node, so that moleculer-web finds the action (it answers 503 before any
	// onBeforeCall for a service that has no node); the requests themselves never reach it.
	const cluster = new TestCluster({
		nodes: ["gateway", "orders"],
		waitFor: ["orders"],
		overrides: { gateway: { rateLimitPerUserPerS: 1, rateLimitBurst: BURST, socketsPerUser: 1 } },
	});
	const api = apiClient(cluster.apiUrl);
	const sockets: Socket[] = [];

	before(() => cluster.start());
	after(async () => {
		for (const s of sockets.splice(0)) s.disconnect();
		await startRedis();
		await cluster.stop();
	});

	const connectAs = (userId: number) => handshake(openUserSocket(cluster.apiUrl, userId, sockets));

	/** Requests without an identity: they are limited by address and never reach a service. */
	const statuses = async (n: number) => {
		const out: number[] = [];
		for (let i = 0; i < n; i++) out.push((await api("GET", "/api/orders")).status);
		return out;
	};

	it("When Redis stops, then requests past the burst and sockets past the cap go through at once (fail open), and the limits hold again once Redis is back", async () => {
		// Live first: past the burst is 429, past the cap is refused.
		assert.ok((await statuses(BURST + 2)).includes(429), "the limit is enforced while Redis is up");
		const userId = newUserId();
		assert.equal(await connectAs(userId), undefined);
		assert.match((await connectAs(userId)) ?? "connected", /too many connections/);

		stopRedis();
		try {
			await eventually(async () => !redisUp(), "Redis to stop", 10_000, 100);
			const started = Date.now();
			const down = await statuses(BURST * 4);
			const elapsed = Date.now() - started;
			assert.deepEqual(down, Array(BURST * 4).fill(401), "no 429 while Redis is down");
			assert.ok(
				elapsed < 5000,
				`${BURST * 4} requests took ${elapsed} ms: Redis must not hold requests up`,
			);
			const other = newUserId();
			assert.deepEqual(
				await Promise.all([connectAs(other), connectAs(other)]),
				[undefined, undefined],
				"the cap fails open",
			);
		} finally {
			await startRedis();
		}
		await eventually(
			async () => (await statuses(1))[0] === 429,
			"the limit to be enforced again",
			20_000,
			100,
		);
	});
});
