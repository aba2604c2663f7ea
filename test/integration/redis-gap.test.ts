import { strict as assert } from "assert";
import Redis from "ioredis";
import type { Socket } from "socket.io-client";
import { epochCacher } from "../../lib/cache";
import { preflight } from "../../lib/preflight";
import { connectUserSocket, untilAnOrderIsPushed } from "../support/sockets";
import { TestCluster } from "../support/cluster";
import { testEnv } from "../support/env";
import { apiClient, eventually } from "../support/http";
import { fundedUser, untilOrderReads } from "../support/shop";
import { TcpProxy } from "../support/tcp-proxy";

/**
 * Redis cut off from every node by a TCP proxy: to the nodes it is gone, but it keeps its
 * data, so whatever was cached before the cut is still there when the link comes back. That
 * is the case where a lost invalidation would serve a stale entry (a stopped Redis loses its
 * data: see redis-outage.test.ts). No Redis restart: the shared lock is enough.
 */
describe("Redis unreachable for the nodes (a cut link; Redis keeps its data)", function () {
	this.timeout(60_000);
	const proxy = new TcpProxy(6379);
	let redis: Redis;
	const api = apiClient(`http://127.0.0.1:${testEnv.API_PORT}`);
	const sockets: Socket[] = [];
	let cluster: TestCluster;
	let proxiedUrl = "";
	let linkCut = false;
	const cut = async () => {
		await proxy.cut();
		linkCut = true;
	};
	const restore = async () => {
		if (linkCut) await proxy.restore();
		linkCut = false;
	};

	const epoch = async () => Number((await redis.get(`${testEnv.REDIS_PREFIX}cache-epoch`)) ?? 0);
	const cachedAccount = async (userId: number, inEpoch: number) => {
		// Under the user's generation: `payments:<user>:<generation>:account` (lib/cache.ts).
		const keys = await redis.keys(
			`${testEnv.REDIS_PREFIX}cache-${inEpoch}:payments:${userId}:*:account`,
		);
		const generation = (key: string) => Number(key.split(":").at(-2));
		const newest = keys.sort((a, b) => generation(a) - generation(b)).pop();
		const raw = newest ? await redis.get(newest) : null;
		return raw === null ? null : (JSON.parse(raw) as { balance: number });
	};
	const allCachersUp = () =>
		eventually(
			async () => cluster.brokers.every(b => epochCacher(b)?.connected === true),
			"every node's cacher to be back",
			15_000,
		);

	before(async () => {
		redis = new Redis(testEnv.REDIS_URL);
		await proxy.start();
		await cut();
		proxiedUrl = `redis://127.0.0.1:${proxy.port}`;
		const redisUrl = { redisUrl: proxiedUrl };
		cluster = new TestCluster({
			nodes: ["gateway", "orders", "orders", "payments"],
			overrides: { gateway: redisUrl, orders: redisUrl, payments: redisUrl },
		});
		await cluster.start();
	});
	after(async () => {
		for (const s of sockets.splice(0)) s.disconnect();
		await cluster?.stop();
		await proxy.stop();
		redis?.disconnect();
	});

	it("When the nodes start while Redis is unreachable, then the preflight only warns, every call is served, readiness is 200 degraded and liveness up", async () => {
		const warnings: string[] = [];
		const down = await preflight(
			{ postgres: [testEnv.ORDERS_DATABASE_URL], amqp: testEnv.AMQP_URL, redis: proxiedUrl },
			line => warnings.push(line),
		);
		assert.deepEqual(down, []);
		assert.match(warnings.join("\n"), /Redis is not reachable/);

		const userId = await fundedUser(api, 70);
		const order = await api("POST", "/api/orders", {
			userId,
			body: { amount: 20, description: "no redis" },
		});
		assert.equal(order.status, 202, JSON.stringify(order.body));
		await untilOrderReads(api, userId, order.body.id, "FINISHED");
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 50);

		const ready = await api("GET", "/health/ready");
		assert.equal(ready.status, 200, JSON.stringify(ready.body));
		assert.equal(ready.body.status, "degraded");
		assert.deepEqual(ready.body.failing, []);
		assert.ok(ready.body.degraded.includes("gateway/redis"), ready.body.degraded.join());
		assert.ok(
			ready.body.degraded.some((d: string) => /^orders\/(.+\/)?redis$/.test(d)),
			ready.body.degraded.join(),
		);
		assert.equal((await api("GET", "/health/live")).status, 200);
	});

	it("When a write happens while Redis is cut off and Redis comes back, then the reads right after are fresh, never the entry cached before", async () => {
		await restore();
		await allCachersUp();
		const userId = await fundedUser(api, 100);
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 100);
		const before = await epoch();
		await eventually(
			async () => (await cachedAccount(userId, before))?.balance === 100,
			"the account to be cached",
		);

		await cut();
		const topUp = await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 50 } });
		assert.equal(topUp.status, 200);
		assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 150);
		// The invalidation was lost: the old entry is still in Redis, so a stale read is possible.
		assert.equal((await cachedAccount(userId, before))?.balance, 100);

		await restore();
		const until = Date.now() + 3000;
		const seen = new Set<number>();
		// Paced under the per-user rate limit (RATE_LIMIT_PER_USER_PER_S).
		while (Date.now() < until) {
			seen.add((await api("GET", "/api/accounts/me", { userId })).body.balance);
			await new Promise(r => setTimeout(r, 25));
		}
		assert.deepEqual([...seen], [150]);
		assert.ok((await epoch()) > before, "the epoch was bumped");
		// And the cache is used again, under the new epoch.
		await eventually(
			async () => (await cachedAccount(userId, await epoch()))?.balance === 150,
			"the fresh account to be cached",
		);
	});

	it("When Redis comes back after the nodes started without it, then pushes resume: a new order's status reaches the socket", async () => {
		await restore();
		await allCachersUp();
		const userId = await fundedUser(api, 10);
		const { events } = await connectUserSocket(cluster.apiUrl, userId, sockets);
		await untilAnOrderIsPushed(api, userId, events, "a push for a new order");
	});
});
