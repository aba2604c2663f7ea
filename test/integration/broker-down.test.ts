/**
 * The machine's RabbitMQ stopped (`rabbitmqctl stop_app`) under a running cluster. It stops the
 * shared broker, so run this file alone (no other test run on the machine); the broker is started
 * again whatever happens.
 */
import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import { TestCluster } from "../support/cluster";
import { accountFacts, testDatabases } from "../support/db";
import { apiClient, eventually, newUserId, Reply } from "../support/http";
import { rabbitmqctl, rabbitmqctlInBackground } from "../support/rabbit";

/** A write that needs RPC while the broker is down: a 503 within this, never a hang (issue 10). */
const FAIL_FAST_MS = 2000;

describe("RabbitMQ stopped", function () {
	this.timeout(180_000);
	const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
	const api = apiClient(cluster.apiUrl);
	const db = testDatabases();
	let stopped = false;

	before(() => cluster.start());
	after(async () => {
		if (stopped) rabbitmqctl("start_app");
		await cluster.stop();
		await db.close();
	});

	it("When the broker is down, then writes and reads that need RPC answer 503 within 2 s, never hang, and at once after the outage's first second; once it is back, the same order (same key) is accepted once and completes", async () => {
		const userId = newUserId();
		await api("POST", "/api/accounts", { userId });
		await api("POST", "/api/accounts/me/top-ups", { userId, body: { amount: 1_000 } });
		const key = randomUUID();
		const order = () =>
			api("POST", "/api/orders", {
				userId,
				headers: { "Idempotency-Key": key },
				body: { amount: 100, description: "while the broker is down" },
			});
		let lostAt = 0;
		const timed = async (what: string, call: () => Promise<Reply>) => {
			const started = Date.now();
			const reply = await call();
			return {
				what,
				status: reply.status,
				type: reply.body?.type,
				ms: Date.now() - started,
				intoOutage: started - lostAt,
			};
		};

		const answers: Awaited<ReturnType<typeof timed>>[] = [];
		// Calls go on while stop_app runs: it closes the connections first and takes seconds to
		// return, and the first seconds of the outage are the ones the hold (RPC_HOLD_MS) is about.
		stopped = true;
		const stopping = rabbitmqctlInBackground("stop_app");
		try {
			// No write before the gateway has seen the broker go (a top-up would land).
			await eventually(
				async () => (await api("GET", "/api/orders", { userId })).status === 503,
				"the gateway to answer 503 for want of the broker",
				30_000,
				50,
			);
			lostAt = Date.now();
			// Longer than a heartbeat interval, so the nodes have seen the broker go.
			for (const t = Date.now(); Date.now() - t < 8000;) {
				answers.push(await timed("POST /api/orders", order));
				answers.push(
					await timed("POST /api/accounts/me/top-ups", () =>
						api("POST", "/api/accounts/me/top-ups", {
							userId,
							headers: { "Idempotency-Key": randomUUID() },
							body: { amount: 1 },
						}),
					),
				);
				// A read, retried by its retry policy: each retry must not be held again.
				answers.push(await timed("GET /api/orders", () => api("GET", "/api/orders", { userId })));
				await new Promise(r => setTimeout(r, 500));
			}
			await stopping;
		} finally {
			await stopping.catch(() => undefined);
			rabbitmqctl("start_app");
			stopped = false;
		}
		assert.ok(answers.length >= 6, `only ${answers.length} calls`);
		assert.deepEqual(
			answers.filter(
				a => a.status !== 503 || a.type !== "SERVICE_UNAVAILABLE" || a.ms >= FAIL_FAST_MS,
			),
			[],
			`every call while the broker was down: 503 SERVICE_UNAVAILABLE within ${FAIL_FAST_MS} ms`,
		);
		// RPC_HOLD_MS holds calls for the first second of an outage (the 503 above waited it out),
		// in case RPC comes back; after that they fail as fast as without a hold: the hold is not
		// started again per call, nor per retry of a read.
		// A read's retry policy waits 100 + 200 + 400 ms between its tries: it takes 0.7 s to fail.
		const bound = (a: { what: string }) => (a.what.startsWith("GET") ? 1000 : 500);
		const late = answers.filter(a => a.intoOutage > 1000);
		assert.ok(late.length >= 6, `only ${late.length} calls 1 s into the outage`);
		assert.deepEqual(
			late.filter(a => a.ms >= bound(a)),
			[],
			"1 s into the outage, every write answers within 0.5 s and every read within 1 s",
		);

		const accepted = await eventually(
			async () => {
				const r = await order();
				return r.status === 202 && r;
			},
			"the order to be accepted once the broker is back",
			90_000,
			500,
		);
		await eventually(
			async () =>
				(await db.orders("orders").where({ id: accepted.body.id }).first("status"))?.status ===
				"FINISHED",
			"the order to finish",
			30_000,
			200,
		);
		assert.equal(
			(await db.orders("orders").where({ user_id: userId })).length,
			1,
			"one order for the key",
		);
		assert.deepEqual(await accountFacts(db.payments, userId), {
			balance: 900,
			ledgerSum: 900,
			debits: 1,
		});
	});
});
