import { strict as assert } from "assert";
import Redis from "ioredis";
import { orderStatusChannel } from "../../lib/contracts";
import { KnexAdapter } from "../../lib/db/knex-adapter";
import { TestCluster } from "../support/cluster";
import { testEnv } from "../support/env";
import { TestDatabases } from "../support/footprint";
import { apiClient, eventually, newUserId } from "../support/http";

/**
 * How soon after a commit every cached read must show it. The invalidation (a bump of the
 * user's generation) runs right after the commit, so a few milliseconds would do on an idle machine;
 * one second leaves room for two busy cores, and is still far below the 60 s and 300 s TTLs
 * a lost invalidation would leave a stale entry for.
 */
const FRESH_WITHIN_MS = 1_000;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe("Cached reads", () => {
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const db = new TestDatabases();
	const redis = new Redis(testEnv.REDIS_URL);
	// Every cache key carries the global epoch: `<prefix>cache-<epoch>:<key>` (lib/redis/epoch-cacher.ts).
	const epoch = async () => Number((await redis.get(`${testEnv.REDIS_PREFIX}cache-epoch`)) ?? 0);
	const keys = async (pattern: string) =>
		redis.keys(`${testEnv.REDIS_PREFIX}cache-${await epoch()}:${pattern}`);

	before(() => cluster.start());
	after(async () => {
		await cluster.stop();
		await db.close();
		redis.disconnect();
	});

	/** Polls the database (not the API) until `done`, and returns the moment it saw it. */
	async function committed(what: string, done: () => Promise<boolean>): Promise<number> {
		await eventually(done, what, 30_000, 20);
		return Date.now();
	}

	/** Reads until `fresh` holds, and fails if that takes longer than FRESH_WITHIN_MS after `since`. */
	async function freshWithin<T>(
		since: number,
		what: string,
		read: () => Promise<T>,
		fresh: (v: T) => boolean,
	) {
		for (;;) {
			const value = await read();
			if (fresh(value)) return;
			if (Date.now() - since > FRESH_WITHIN_MS)
				assert.fail(
					`${what} still stale ${Date.now() - since} ms after the commit: ${JSON.stringify(value)}`,
				);
			await sleep(20);
		}
	}

	it("When a list page is read, then it is kept in Redis under the user's generation, and a change moves the generation", async () => {
		const userId = newUserId();
		await api("GET", "/api/orders", { userId });
		assert.equal((await keys(`orders:${userId}:0:list:100:`)).length, 1);

		await api("POST", "/api/orders", { userId, body: { amount: 1, description: "bump" } });
		const generation = Number(
			await redis.get(`${testEnv.REDIS_PREFIX}cache-${await epoch()}:orders:generation:${userId}`),
		);
		assert.ok(generation >= 1, `generation ${generation}`);
	});

	it("When pages of another size or deeper pages are read, then only the first page of the default size is cached", async () => {
		const userId = newUserId();
		const first = (
			await api("POST", "/api/orders", { userId, body: { amount: 1, description: "older" } })
		).body;
		await api("POST", "/api/orders", { userId, body: { amount: 1, description: "newer" } });
		for (const limit of [1, 5, 99, 1000])
			assert.equal((await api("GET", `/api/orders?limit=${limit}`, { userId })).status, 200);
		assert.equal((await api("GET", `/api/orders?before=${first.id}`, { userId })).status, 200);
		assert.equal(
			(await api("GET", `/api/orders?limit=100&before=${first.id}`, { userId })).status,
			200,
		);
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1 } });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 2 } });
		const ledger = await api("GET", "/api/accounts/me/transactions?limit=7", { userId });
		assert.equal(ledger.body.length, 2);
		assert.equal(
			(
				await api("GET", `/api/accounts/me/transactions?limit=100&before=${ledger.body[0].id}`, {
					userId,
				})
			).status,
			200,
		);
		assert.deepEqual(await keys(`orders:${userId}:*:list:*`), []);
		assert.deepEqual(await keys(`payments:${userId}:*:transactions:*`), []);

		await api("GET", "/api/orders?limit=100", { userId });
		await api("GET", "/api/accounts/me/transactions", { userId });
		assert.equal((await keys(`orders:${userId}:*:list:*`)).length, 1);
		assert.equal((await keys(`payments:${userId}:*:transactions:*`)).length, 1);
	});

	it("When an order, its list and the account are read (and cached) while NEW, then within 1 s of the payment's commit every read shows it paid", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 500 } });
		assert.equal((await api("GET", "/api/accounts/me/transactions", { userId })).body.length, 1);

		// Hold the account's row lock, so the payment waits and the reads below surely see NEW.
		const lock = await db.payments.transaction();
		let order: { id: string };
		try {
			await lock("accounts").where({ user_id: userId }).forUpdate();
			order = (
				await api("POST", "/api/orders", { userId, body: { amount: 200, description: "cached" } })
			).body;

			const one = await api("GET", `/api/orders/${order.id}`, { userId });
			const list = await api("GET", "/api/orders", { userId });
			const account = await api("GET", "/api/accounts/me", { userId });
			assert.equal(one.body.status, "NEW");
			assert.deepEqual(
				list.body.map((o: { status: string }) => o.status),
				["NEW"],
			);
			assert.equal(account.body.balance, 500);
			// ...and those answers are now in the cache, where a missed invalidation would keep them.
			assert.equal((await keys(`orders:${userId}:*:get:${order.id}`)).length, 1);
			assert.equal((await keys(`orders:${userId}:*:list:*`)).length, 1);
			assert.equal((await keys(`payments:${userId}:*:account`)).length, 1);
			assert.equal((await api("GET", `/api/orders/${order.id}`, { userId })).body.status, "NEW");
		} finally {
			await lock.commit();
		}

		const paid = await committed("the debit", async () => (await db.balance(userId)) === 300);
		await freshWithin(
			paid,
			"GET /api/accounts/me",
			() => api("GET", "/api/accounts/me", { userId }),
			r => r.body.balance === 300,
		);
		await freshWithin(
			paid,
			"the ledger page",
			() => api("GET", "/api/accounts/me/transactions", { userId }),
			r => r.body.map((t: { kind: string }) => t.kind).join() === "ORDER_PAYMENT,TOP_UP",
		);
		const finished = await committed(
			"the order to be FINISHED in the database",
			async () => (await db.orders("orders").where({ id: order.id }).first()).status === "FINISHED",
		);
		await freshWithin(
			finished,
			"GET /api/orders/:id",
			() => api("GET", `/api/orders/${order.id}`, { userId }),
			r => r.body.status === "FINISHED",
		);
		await freshWithin(
			finished,
			"GET /api/orders",
			() => api("GET", "/api/orders", { userId }),
			r => r.body[0]?.status === "FINISHED",
		);
	});

	type FindOne = (this: { entity?: { table?: string } }, ...args: unknown[]) => Promise<unknown>;

	/**
	 * Holds the next `findOne` of the read adapter of `table` (moleculer-db's KnexAdapter, in
	 * every node of this process) after it has read PostgreSQL and before it returns: a read
	 * slowed down by a failover, a GC pause or a busy core.
	 */
	function holdNextRead(table: "orders" | "accounts") {
		let armed = true;
		let loaded!: () => void;
		let release!: () => void;
		const hasLoaded = new Promise<void>(r => (loaded = r));
		const gate = new Promise<void>(r => (release = r));
		const proto = KnexAdapter.prototype as unknown as { findOne: FindOne };
		const original = proto.findOne;
		const held: FindOne = async function (...args) {
			const row = await original.apply(this, args);
			if (!armed || this.entity?.table !== table) return row;
			armed = false;
			loaded();
			await gate;
			return row;
		};
		proto.findOne = held;
		// Restored in the reverse order of holding: each puts back what it found.
		const restore = () => {
			if (proto.findOne === held) proto.findOne = original;
		};
		return { hasLoaded, release, restore };
	}

	it("When a read loads an order and the account before the payment commits and stores after its push, then a read after the push is fresh", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 500 } });
		const events = new Redis(testEnv.REDIS_URL);
		const pushed: { orderId: string; at: number }[] = [];
		await events.subscribe(orderStatusChannel(testEnv.REDIS_PREFIX));
		events.on("message", (_c, text) =>
			pushed.push({ orderId: JSON.parse(text).orderId, at: Date.now() }),
		);
		const heldOrder = holdNextRead("orders");
		const heldAccount = holdNextRead("accounts");
		// The account's row lock holds the payment until both reads have loaded the old state.
		const lock = await db.payments.transaction();
		try {
			await lock("accounts").where({ user_id: userId }).forUpdate();
			const order = (
				await api("POST", "/api/orders", {
					userId,
					body: { amount: 200, description: "held read" },
				})
			).body;
			const slowOrder = api("GET", `/api/orders/${order.id}`, { userId });
			const slowAccount = api("GET", "/api/accounts/me", { userId });
			await Promise.all([heldOrder.hasLoaded, heldAccount.hasLoaded]);
			await lock.commit();

			const push = await eventually(
				async () => pushed.find(e => e.orderId === order.id),
				"the status push",
			);
			// Past any drop that follows the commit (we once dropped keys twice, 500 ms apart).
			await sleep(700 - (Date.now() - push.at));
			heldOrder.release();
			heldAccount.release();
			assert.equal((await slowOrder).body.status, "NEW", "the held read answers what it loaded");
			assert.equal((await slowAccount).body.balance, 500);
			// Its store is not awaited by the reader: give it time to land, were it to land.
			await sleep(200);

			assert.equal(
				(await api("GET", `/api/orders/${order.id}`, { userId })).body.status,
				"FINISHED",
			);
			assert.equal((await api("GET", "/api/accounts/me", { userId })).body.balance, 300);
			assert.equal((await api("GET", "/api/orders", { userId })).body[0].status, "FINISHED");
			// And the cache still serves: the fresh answers are stored under the new generation.
			assert.equal((await keys(`orders:${userId}:*:get:${order.id}`)).length, 1);
			assert.equal((await keys(`payments:${userId}:*:account`)).length, 1);
		} finally {
			heldAccount.restore();
			heldOrder.restore();
			heldOrder.release();
			heldAccount.release();
			if (!lock.isCompleted()) await lock.commit();
			events.disconnect();
		}
	});

	it("When many orders finish while the list is read in a loop, then within 1 s of the last commit every read matches the database", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		// Enough for 15 of the 20: the list must show both outcomes, as the database has them.
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 150 } });
		let reading = true;
		let reads = 0;
		const reader = (async () => {
			while (reading) {
				await api("GET", "/api/orders?limit=50", { userId });
				reads++;
			}
		})();
		const ids = (
			await Promise.all(
				Array.from({ length: 20 }, (_, i) =>
					api("POST", "/api/orders", { userId, body: { amount: 10, description: `loop ${i}` } }),
				),
			)
		).map(r => r.body.id as string);

		const settled = await committed("every order to leave NEW in the database", async () => {
			const rows = await db.orderRows(userId);
			return rows.length === 20 && rows.every(r => r.status !== "NEW");
		});
		reading = false;
		await reader;
		assert.ok(reads > 1, "the list was read while the orders were paid");

		const rows = await db.orderRows(userId);
		const expected = rows
			.map(r => ({
				id: r.id,
				status: r.status,
				amount: r.amount,
				cancelReason: r.cancel_reason ?? undefined,
			}))
			.reverse();
		assert.equal(rows.filter(r => r.status === "FINISHED").length, 15);
		const shape = (o: { id: string; status: string; amount: number; cancelReason?: string }) => ({
			id: o.id,
			status: o.status,
			amount: o.amount,
			cancelReason: o.cancelReason,
		});
		await freshWithin(
			settled,
			"GET /api/orders?limit=50",
			() => api("GET", "/api/orders?limit=50", { userId }),
			r => JSON.stringify(r.body.map(shape)) === JSON.stringify(expected),
		);
		for (const id of ids)
			await freshWithin(
				settled,
				`GET /api/orders/${id}`,
				() => api("GET", `/api/orders/${id}`, { userId }),
				r => JSON.stringify(shape(r.body)) === JSON.stringify(expected.find(e => e.id === id)),
			);
	});
});
