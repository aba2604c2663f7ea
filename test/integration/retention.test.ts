import { strict as assert } from "assert";
import { randomUUID } from "crypto";
import type { Knex } from "knex";
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config";
import { retentionSweeper, sweepRetention } from "../../lib/db/retention.sweeper";
import { TestCluster } from "../support/cluster";
import { testDatabases } from "../support/db";
import { apiClient, newUserId } from "../support/http";

const logger = new ServiceBroker({ logger: false }).getLogger("test");

describe("Retention sweep", () => {
	const db = testDatabases();
	after(() => db.close());

	/** Rows of every kind the sweep looks at, some past their retention and some not, tagged by `tag`. */
	async function seed(knex: Knex, tag: string) {
		await knex.raw(
			`INSERT INTO inbox_messages (message_id, consumer, received_at)
			 VALUES (?, 'test', now() - interval '8 days'), (?, 'test', now() - interval '6 days')`,
			[`${tag}-old`, `${tag}-kept`],
		);
		const user = newUserId();
		await knex.raw(
			`INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response, created_at)
			 VALUES (?, 'test', ?, 'h', '{}', now() - interval '25 hours'), (?, 'test', ?, 'h', '{}', now() - interval '23 hours')`,
			[user, `${tag}-old`, user, `${tag}-kept`],
		);
		await knex.raw(
			`INSERT INTO outbox_messages (message_id, queue, payload, created_at, sent_at) VALUES
			 (?, 'test', ?, now() - interval '3 hours', now() - interval '2 hours'),
			 (?, 'test', ?, now() - interval '3 hours', now() - interval '10 minutes'),
			 (?, 'test', ?, now() - interval '3 hours', NULL)`,
			[
				randomUUID(),
				{ tag: `${tag}-old` },
				randomUUID(),
				{ tag: `${tag}-kept` },
				randomUUID(),
				{ tag: `${tag}-unsent` },
			],
		);
		return user;
	}

	async function remaining(knex: Knex, tag: string, user: number) {
		const inbox = await knex("inbox_messages")
			.where("message_id", "like", `${tag}-%`)
			.pluck("message_id");
		const keys = await knex("idempotency_keys").where({ user_id: user }).pluck("key");
		const outbox = await knex("outbox_messages").whereRaw("payload->>'tag' LIKE ?", [`${tag}-%`]);
		return {
			inbox: inbox.sort(),
			keys: keys.sort(),
			outbox: outbox.map(r => r.payload.tag).sort(),
		};
	}

	for (const which of ["orders", "payments"] as const)
		it(`When the ${which} database holds rows past their retention, then the sweep deletes exactly those`, async () => {
			const knex = db[which];
			const tag = `ret-${which}-${Date.now()}`;
			const user = await seed(knex, tag);

			const deleted = await retentionSweeper(knex, loadConfig(), logger).sweep();

			assert.ok(
				deleted && deleted.inbox >= 1 && deleted.idempotencyKeys >= 1 && deleted.sentOutbox >= 1,
				JSON.stringify(deleted),
			);
			assert.deepEqual(await remaining(knex, tag, user), {
				inbox: [`${tag}-kept`],
				keys: [`${tag}-kept`],
				outbox: [`${tag}-kept`, `${tag}-unsent`],
			});
			await knex("outbox_messages")
				.whereRaw("payload->>'tag' LIKE ?", [`${tag}-%`])
				.delete();
		});

	it("When many rows are old, then they go in batches of the given size, at most maxBatches per sweep", async () => {
		const tag = `batch-${Date.now()}`;
		await db.orders.raw(
			`INSERT INTO inbox_messages (message_id, consumer, received_at)
			 SELECT ? || '-' || n, 'test', now() - interval '30 days' FROM generate_series(1, 35) AS n`,
			[tag],
		);
		const policy = {
			inboxMs: 7 * 86400_000,
			idempotencyMs: 86400_000,
			sentOutboxMs: 3600_000,
			batchSize: 10,
		};
		const left = async () =>
			Number(
				(
					await db
						.orders("inbox_messages")
						.where("message_id", "like", `${tag}-%`)
						.count({ n: "*" })
				)[0].n,
			);

		const bounded = await sweepRetention(db.orders, { ...policy, maxBatches: 2 });
		const afterBounded = await left();
		const rest = await sweepRetention(db.orders, { ...policy, maxBatches: 100 });

		assert.equal(bounded.inbox, 20);
		assert.equal(afterBounded, 15);
		assert.equal(rest.inbox, 15);
		assert.equal(await left(), 0);
	});

	it("When the sweep looks for old rows, then an index serves each table's lookup", async () => {
		for (const knex of [db.orders, db.payments])
			for (const [table, column, index] of [
				["inbox_messages", "received_at", "inbox_messages_received_at"],
				["idempotency_keys", "created_at", "idempotency_keys_created_at"],
				["outbox_messages", "sent_at", "outbox_messages_sent_at"],
			]) {
				const plan = await knex.transaction(async trx => {
					// Tiny test tables would be scanned anyway: forbid that to see whether an index can serve.
					await trx.raw("SET LOCAL enable_seqscan = off");
					const { rows } = await trx.raw(
						`EXPLAIN SELECT ctid FROM ${table} WHERE ${column} < now() AND ${column} IS NOT NULL ORDER BY ${column} LIMIT 1000`,
					);
					return rows.map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"]).join("\n");
				});
				assert.match(plan, new RegExp(`Index (Only )?Scan (using|on) ${index}`), plan);
			}
	});

	describe("and Idempotency-Keys", () => {
		const cluster = new TestCluster({ nodes: ["gateway", "orders", "payments"] });
		const api = apiClient(cluster.apiUrl);
		before(() => cluster.start());
		after(() => cluster.stop());

		const order = (userId: number, key: string) =>
			api("POST", "/api/orders", {
				userId,
				body: { amount: 5, description: "kept?" },
				headers: { "Idempotency-Key": key },
			});
		const age = (userId: number, key: string) =>
			db
				.orders("idempotency_keys")
				.where({ user_id: userId, key })
				.update({ created_at: db.orders.raw("now() - interval '25 hours'") });

		it("When a key was purged, then a retry with it is a new request (202, a new order), not an error", async () => {
			const userId = newUserId();
			const key = randomUUID();
			const first = await order(userId, key);
			await age(userId, key);

			await retentionSweeper(db.orders, loadConfig(), logger).sweep();
			const retry = await order(userId, key);

			assert.equal(first.status, 202);
			assert.equal(retry.status, 202, JSON.stringify(retry.body));
			assert.notEqual(retry.body.id, first.body.id);
			assert.equal((await db.orders("orders").where({ user_id: userId })).length, 2);
		});

		it("When a retry arrives while its key is being purged, then it waits and answers 2xx: the stored answer if the purge is undone, a new order if it commits", async () => {
			const userId = newUserId();
			const [kept, purged] = [randomUUID(), randomUUID()];
			const firstKept = await order(userId, kept);
			await order(userId, purged);

			const undone = await purgeDuring(userId, kept, "rollback");
			const committed = await purgeDuring(userId, purged, "commit");

			assert.deepEqual([undone.status, committed.status], [202, 202]);
			assert.deepEqual(undone.body, firstKept.body, "the purge was undone: the first answer");
			assert.equal(
				(await db.orders("orders").where({ user_id: userId })).length,
				3,
				"the committed purge made the retry new",
			);
		});

		it("When the key is purged right after a retry found it, then the retry still answers with the first response", async () => {
			const userId = newUserId();
			const key = randomUUID();
			const first = await order(userId, key);
			// Hold the retry inside its claim of the key (after the conflict was found, before the
			// transaction reads on): a statement trigger that sleeps, for this test only.
			await db.orders.raw(`
				CREATE FUNCTION test_pause_claim() RETURNS trigger LANGUAGE plpgsql AS
				  $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$;
				CREATE TRIGGER test_pause_claim AFTER INSERT ON idempotency_keys
				  FOR EACH STATEMENT EXECUTE FUNCTION test_pause_claim();`);
			try {
				const retry = order(userId, key);
				await new Promise(r => setTimeout(r, 400));
				const purge = db.orders("idempotency_keys").where({ user_id: userId, key }).delete();

				const [answer] = await Promise.all([retry, purge]);

				assert.equal(answer.status, 202, JSON.stringify(answer.body));
				assert.deepEqual(answer.body, first.body);
			} finally {
				await db.orders.raw(
					"DROP TRIGGER IF EXISTS test_pause_claim ON idempotency_keys; DROP FUNCTION IF EXISTS test_pause_claim()",
				);
			}
		});

		/** Deletes the key in an open transaction, sends the retry (which must wait), then ends the transaction. */
		async function purgeDuring(userId: number, key: string, end: "commit" | "rollback") {
			const trx = await db.orders.transaction();
			await trx("idempotency_keys").where({ user_id: userId, key }).delete();
			let answered = false;
			const retry = order(userId, key).then(r => ((answered = true), r));
			await new Promise(r => setTimeout(r, 300));
			assert.equal(answered, false, "the retry waits for the purge to end");
			await (end === "commit" ? trx.commit() : trx.rollback());
			return retry;
		}
	});
});
