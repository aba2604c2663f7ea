import { strict as assert } from "assert";
import { assertError } from "../support/assertions";
import { TestCluster } from "../support/cluster";
import { TestDatabases } from "../support/footprint";
import { apiClient, eventually, newUserId, Reply } from "../support/http";

describe("When a service cannot answer", () => {
	describe("no node of it is up", () => {
		// A gateway alone in its namespace: no orders or payments node at all.
		const cluster = new TestCluster({ nodes: ["gateway"], waitFor: [] });
		const api = apiClient(cluster.apiUrl);

		before(() => cluster.start());
		after(() => cluster.stop());

		it("When no orders or payments node is up, then every /api call is 503 SERVICE_UNAVAILABLE with Retry-After: 1", async () => {
			const userId = newUserId();
			const calls: [string, string, object?][] = [
				["POST", "/api/orders", { amount: 5, description: "nobody home" }],
				["GET", "/api/orders"],
				["GET", "/api/orders/3b9a8a52-8f3c-4f43-9c57-0d6e3c1f8a11"],
				["POST", "/api/accounts"],
				["GET", "/api/accounts/me"],
				["POST", "/api/accounts/me/top-ups", { amount: 5 }],
				["GET", "/api/accounts/me/transactions"],
			];
			for (const [method, path, body] of calls) {
				const reply = await api(method, path, { userId, body });
				assertError(reply, 503, "SERVICE_UNAVAILABLE");
				assert.equal(reply.headers?.get("retry-after"), "1", `${method} ${path}: Retry-After`);
			}
		});
	});

	describe("a write times out", () => {
		// Two orders nodes: a blind retry of the call would have another node to go to.
		const cluster = new TestCluster({ nodes: ["gateway", "orders", "orders", "payments"] });
		const api = apiClient(cluster.apiUrl);
		const db = new TestDatabases();
		// Shorter than the default 10 s, so the test does not wait that long for the timeout.
		const REQUEST_TIMEOUT_MS = 2_000;

		before(async () => {
			await cluster.start();
			cluster.brokers[0].options.requestTimeout = REQUEST_TIMEOUT_MS;
		});
		after(async () => {
			await cluster.stop();
			await db.close();
		});

		it("When POST /api/orders times out while its insert waits, then the gateway answers 503 and does not send it again: one order once the insert goes through", async () => {
			const userId = newUserId();
			const key = `slow-${userId}`;
			// A table lock that lets reads through but makes every INSERT INTO orders wait.
			const lock = await db.orders.transaction();
			let reply: Reply | undefined;
			try {
				await lock.raw("LOCK TABLE orders IN SHARE MODE");
				const pending = api("POST", "/api/orders", {
					userId,
					body: { amount: 5, description: "slow" },
					headers: { "Idempotency-Key": key },
				}).then(r => (reply = r));
				// Wait past the timeout and past what a retry (100 ms later) would need to start.
				await eventually(async () => reply, "the gateway to answer", 3 * REQUEST_TIMEOUT_MS, 50);
				await new Promise(r => setTimeout(r, REQUEST_TIMEOUT_MS));
				await pending;
			} finally {
				await lock.commit();
			}
			assertError(reply!, 503, "SERVICE_UNAVAILABLE");

			// The insert that timed out still commits: exactly one order, from exactly one call.
			const inserts = async () =>
				Number(
					(
						await db.orders.raw(
							`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
						)
					).rows[0].n,
				);
			await eventually(async () => (await inserts()) === 0, "the waiting inserts to finish");
			// No longer waiting on the lock is not committed yet: wait for the row, then for any second one.
			await eventually(async () => (await db.orderRows(userId)).length > 0, "the order to commit");
			await new Promise(r => setTimeout(r, 500));
			const rows = await db.orderRows(userId);
			assert.equal(rows.length, 1, `${rows.length} orders from one POST`);
			// The documented remedy: the same Idempotency-Key gives back the order that was placed.
			const again = await api("POST", "/api/orders", {
				userId,
				body: { amount: 5, description: "slow" },
				headers: { "Idempotency-Key": key },
			});
			assert.equal(again.status, 202);
			assert.equal(again.body.id, rows[0].id);
			assert.equal((await db.orderRows(userId)).length, 1);
		});
	});
});
