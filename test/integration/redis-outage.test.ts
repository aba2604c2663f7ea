import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import Redis from "ioredis";
import type { Socket } from "socket.io-client";
import { epochCacher } from "../../lib/cache";
import { connectUserSocket, untilAnOrderIsPushed } from "../support/sockets";
import { TestCluster } from "../support/cluster";
import { testEnv } from "../support/env";
import { apiClient, eventually, newUserId, Reply, type Json } from "../support/http";
import { hangRedis, redisPid, resumeRedis, startRedis, stopRedis } from "../support/redis-server";
import { fundedUser } from "../support/shop";

/** How long Redis stays stopped while the load runs. */
const OUTAGE_MS = 8000;
/** The p99 bound of POST and GET during the outage (issue 10). */
const P99_MS = 300;
/**
 * The longest one call may take while Redis hangs: its waits on Redis are bounded by the
 * command timeouts (rate limit 100 ms, then at most two cache steps of REDIS_COMMAND_TIMEOUT_MS,
 * 100 ms), and the rest is PostgreSQL and this shared machine. A call that waited on Redis
 * unbounded would hang for the RPC timeout (10 s) or for ever.
 */
const HUNG_CALL_MS = 1000;

interface Sample {
	kind: "POST" | "GET";
	status: number;
	ms: number;
}

/**
 * The machine's Redis stopped (and OOM) under the cluster: these change the shared Redis, so
 * run this file under the exclusive lock: flock -x /tmp/gozon-heavy.lock … Redis is started
 * again (and its memory limit restored) whatever happens.
 */
describe("Redis stopped or refusing writes: an accelerator, never a dependency", function () {
	this.timeout(120_000);
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const sockets: Socket[] = [];
	/** The pid of a Redis this file froze (SIGSTOP), until it is resumed. */
	let hung: number | undefined;

	before(async () => {
		await startRedis();
		await cluster.start();
	});
	after(async () => {
		for (const s of sockets.splice(0)) s.disconnect();
		// A Redis left frozen by a failed test answers again (no-op when it runs).
		if (hung) resumeRedis(hung);
		await startRedis();
		await cluster.stop();
	});

	const allCachersUp = () =>
		eventually(
			async () => cluster.brokers.every(b => epochCacher(b)?.connected === true),
			"every node's cacher to be back",
			15_000,
		);

	/** Waits until the API lists every one of the user's `placed` orders as FINISHED. */
	const allFinished = (userId: number, placed: string[], what: string) =>
		eventually(
			async () => {
				const list = (await api("GET", "/api/orders?limit=1000", { userId })).body as {
					id: string;
					status: string;
				}[];
				return placed.every(id => list.some(o => o.id === id && o.status === "FINISHED"));
			},
			what,
			30_000,
			200,
		);

	/** Calls `fn` and records its status and duration. */
	async function timed(
		samples: Sample[],
		kind: Sample["kind"],
		fn: () => Promise<Reply>,
	): Promise<Reply> {
		const start = performance.now();
		const reply = await fn();
		samples.push({ kind, status: reply.status, ms: performance.now() - start });
		return reply;
	}

	/** Places an order of 1 with its own Idempotency-Key, timed into `samples`. */
	const timedOrder = (samples: Sample[], userId: number, description: string) =>
		timed(samples, "POST", () =>
			api("POST", "/api/orders", {
				userId,
				body: { amount: 1, description },
				headers: { "Idempotency-Key": randomUUID() },
			}),
		);

	it("When Redis is stopped while orders are placed and read, then no call fails, every write is stored, reads are right and p99 stays under 300 ms; when it is back, pushes and the cache resume", async () => {
		const funds = 1_000_000;
		const userId = await fundedUser(api, funds);
		await api("GET", "/api/accounts/me", { userId });
		await api("GET", "/api/orders", { userId });
		const { events } = await connectUserSocket(cluster.apiUrl, userId, sockets);

		const samples: Sample[] = [];
		const placed: string[] = [];
		const wrongReads: string[] = [];
		let ready: { status: number; body: Json } | undefined;
		try {
			stopRedis();
			const until = Date.now() + OUTAGE_MS;
			// Four clients, each placing an order and reading it, the list and the balance.
			const client = async () => {
				while (Date.now() < until) {
					const order = await timedOrder(samples, userId, "outage");
					if (order.status !== 202) continue;
					placed.push(order.body.id);
					const one = await timed(samples, "GET", () =>
						api("GET", `/api/orders/${order.body.id}`, { userId }),
					);
					if (one.body?.id !== order.body.id)
						wrongReads.push(`order ${order.body.id}: ${JSON.stringify(one.body)}`);
					const list = await timed(samples, "GET", () =>
						api("GET", "/api/orders?limit=1000", { userId }),
					);
					if (
						!Array.isArray(list.body) ||
						!list.body.some((o: { id: string }) => o.id === order.body.id)
					)
						wrongReads.push(`list without ${order.body.id}`);
					const account = await timed(samples, "GET", () =>
						api("GET", "/api/accounts/me", { userId }),
					);
					if (!(account.body?.balance <= funds))
						wrongReads.push(`account ${JSON.stringify(account.body)}`);
				}
			};
			await Promise.all([client(), client(), client(), client()]);
			ready = await api("GET", "/health/ready");
			assert.equal((await api("GET", "/health/live")).status, 200);
		} finally {
			await startRedis();
		}

		const failed = samples.filter(s => s.status >= 500 || s.status < 200 || s.status >= 300);
		assert.deepEqual(failed, [], "every call during the outage answered 2xx");
		assert.deepEqual(wrongReads, []);
		for (const kind of ["POST", "GET"] as const) {
			const of = samples.filter(s => s.kind === kind);
			const slow = of.filter(s => s.ms > P99_MS);
			// p99 under the bound means fewer than 1 % of the calls over it.
			assert.ok(of.length >= 20, `${kind}: only ${of.length} calls`);
			assert.ok(
				slow.length <= Math.floor(of.length / 100),
				`${kind}: ${slow.length} of ${of.length} calls over ${P99_MS} ms (${slow.map(s => Math.round(s.ms)).join(", ")})`,
			);
		}
		assert.equal(ready?.status, 200, JSON.stringify(ready?.body));
		assert.equal(ready?.body.status, "degraded");

		// Every order placed during the outage is stored and gets paid.
		await allFinished(userId, placed, "every outage order to be stored and FINISHED");
		assert.equal(
			(await api("GET", "/api/accounts/me", { userId })).body.balance,
			funds - placed.length,
		);

		// Redis back: pushes resume and cached reads are fresh.
		await allCachersUp();
		const pushed = await untilAnOrderIsPushed(
			api,
			userId,
			events,
			"a push for an order placed after Redis is back",
		);
		placed.push(...pushed);
		const balance = funds - placed.length;
		await eventually(
			async () => (await api("GET", "/api/accounts/me", { userId })).body.balance === balance,
			"the balance after the last order",
		);
		for (let i = 0; i < 3; i++)
			assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, balance);
		const redis = new Redis(testEnv.REDIS_URL);
		try {
			const epoch = (await redis.get(`${testEnv.REDIS_PREFIX}cache-epoch`)) ?? "0";
			// Under the user's generation: `payments:<user>:<generation>:account` (lib/cache.ts).
			const [key] = await redis.keys(
				`${testEnv.REDIS_PREFIX}cache-${epoch}:payments:${userId}:*:account`,
			);
			const cached = key ? await redis.get(key) : null;
			assert.equal(
				JSON.parse(cached ?? "null")?.balance,
				balance,
				"the cache is used again, with the fresh balance",
			);
		} finally {
			redis.disconnect();
		}
	});

	it("When Redis hangs (SIGSTOP: connections open, nothing answered), then every write and read is 2xx within the command-timeout budget, and the cache is used again once it answers", async () => {
		await allCachersUp();
		const userId = await fundedUser(api, 10_000);
		const samples: Sample[] = [];
		const placed: string[] = [];
		hung = redisPid();
		try {
			hangRedis(hung);
			const until = Date.now() + 5000;
			while (Date.now() < until) {
				const order = await timedOrder(samples, userId, "hung");
				if (order.status === 202) placed.push(order.body.id);
				await timed(samples, "GET", () => api("GET", `/api/orders/${order.body?.id}`, { userId }));
				await timed(samples, "GET", () => api("GET", "/api/orders", { userId }));
				await timed(samples, "GET", () => api("GET", "/api/accounts/me", { userId }));
			}
		} finally {
			resumeRedis(hung);
			hung = undefined;
		}
		const failed = samples.filter(s => s.status < 200 || s.status >= 300);
		assert.deepEqual(failed, [], "every call while Redis hung answered 2xx");
		const slow = samples.filter(s => s.ms > HUNG_CALL_MS);
		assert.ok(samples.length >= 8, `only ${samples.length} calls`);
		assert.deepEqual(
			slow.map(s => `${s.kind} ${Math.round(s.ms)} ms`),
			[],
			`calls over ${HUNG_CALL_MS} ms while Redis hung`,
		);
		await allFinished(userId, placed, "every order placed while Redis hung to be FINISHED");
		assert.equal(
			(await api("GET", "/api/accounts/me", { userId })).body.balance,
			10_000 - placed.length,
		);
		await allCachersUp();
		await eventually(
			async () => (await api("GET", "/health/ready")).body?.status === "ready",
			"readiness to be ready (not degraded) once Redis answers",
			20_000,
			200,
		);
	});

	it("When Redis refuses writes (OOM), then failed cache SETs are counted, never an unhandled rejection, and every call is served", async () => {
		await allCachersUp();
		const redis = new Redis(testEnv.REDIS_URL);
		const unhandled: unknown[] = [];
		const onUnhandled = (reason: unknown) => unhandled.push(reason);
		process.on("unhandledRejection", onUnhandled);
		const [, maxmemory] = (await redis.config("GET", "maxmemory")) as [string, string];
		const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
		const payments = cluster.brokers.find(b => b.getLocalService("payments"))!;
		const setErrorsBefore = epochCacher(payments)!.errors.set;
		try {
			const userId = newUserId();
			await api("POST", "/api/accounts", { userId });
			await redis.config("SET", "maxmemory-policy", "noeviction");
			await redis.config("SET", "maxmemory", "1");
			await assert.rejects(redis.set(`${testEnv.REDIS_PREFIX}oom-probe`, "x"), /OOM/);

			// Reads first: each misses, and its SET (not awaited by the call) is refused.
			for (let i = 0; i < 3; i++) {
				const reply = await api("GET", "/api/accounts/me", { userId });
				assert.equal(reply.status, 200);
				assert.equal(reply.body.balance, 0);
				assert.equal((await api("GET", "/api/orders", { userId })).status, 200);
			}
			await eventually(
				async () => epochCacher(payments)!.errors.set > setErrorsBefore,
				"the failed SETs to be counted",
				5000,
			);
			const metrics = await api("GET", "/metrics");
			assert.match(String(metrics.body), /gozon_cache_errors_total\{[^}]*op="set"[^}]*\} [1-9]/);
			// A write: its invalidation is refused too, so the node reads past the cache until it
			// can bump the epoch; every answer is still right.
			const topUp = await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 30 } });
			assert.equal(topUp.status, 200);
			for (let i = 0; i < 3; i++)
				assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 30);
			await new Promise(r => setTimeout(r, 300));
		} finally {
			await redis.config("SET", "maxmemory", maxmemory);
			await redis.config("SET", "maxmemory-policy", policy);
			redis.disconnect();
			process.off("unhandledRejection", onUnhandled);
		}
		assert.deepEqual(unhandled, []);
		assert.ok(
			cluster.brokers.every(b => b.started),
			"every node still runs",
		);
		// Redis takes writes again: the owed epoch bump lands and the cache is used again.
		await allCachersUp();
	});
});
