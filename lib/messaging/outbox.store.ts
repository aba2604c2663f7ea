import { randomUUID } from "crypto";
import type { Knex } from "knex";
import type { PoolClient, QueryResult } from "pg";

export interface OutboxMessage {
	id: number;
	messageId: string;
	queue: string;
	payload: unknown;
	headers: Record<string, unknown> | null;
}

/** Writes outbox rows inside the caller's transaction and lets the relay claim them. */
export class OutboxStore {
	constructor(private readonly table = "outbox_messages") {}

	/**
	 * Messages' insert as SQL to embed in a data-modifying CTE, so that business rows and their
	 * messages are written by ONE statement (one round trip, atomic without BEGIN/COMMIT).
	 */
	insertFragment(queue: string, payloads: unknown[]): { sql: string; bindings: unknown[]; messageIds: string[] } {
		const messageIds = payloads.map(() => randomUUID());
		return {
			sql: `INSERT INTO ${this.table} (message_id, queue, payload)
			      SELECT m.id, ?, m.payload FROM unnest(?::uuid[], ?::jsonb[]) AS m(id, payload)`,
			bindings: [queue, messageIds, payloads.map(p => JSON.stringify(p))],
			messageIds,
		};
	}

	/**
	 * Opens a transaction on `conn` and locks up to `limit` unsent rows. SKIP LOCKED lets any
	 * number of relays run side by side: each claims rows the others have not, and a crashed
	 * relay's rows come back on rollback. BEGIN and the SELECT go as one simple query (one round
	 * trip instead of two); the limit is an integer, so it is written into the SQL.
	 */
	async claim(conn: PoolClient, limit: number): Promise<OutboxMessage[]> {
		const results = (await conn.query(
			`BEGIN; SELECT id, message_id, queue, payload, headers FROM ${this.table}
			  WHERE sent_at IS NULL ORDER BY id LIMIT ${integer(limit)} FOR UPDATE SKIP LOCKED`,
		)) as unknown as QueryResult[];
		return results[1].rows.map(r => ({
			id: r.id,
			messageId: r.message_id,
			queue: r.queue,
			payload: r.payload,
			headers: r.headers,
		}));
	}

	/** Marks the rows sent and commits the claim's transaction, in one round trip (ids are integers, written into the SQL). */
	async markSentAndCommit(conn: PoolClient, ids: number[]): Promise<void> {
		await conn.query(
			ids.length
				? `UPDATE ${this.table} SET sent_at = now() WHERE id = ANY('{${ids.map(integer).join(",")}}'::bigint[]); COMMIT`
				: "COMMIT",
		);
	}

	/** Unsent rows and the age of the oldest, for metrics and tests. */
	async pending(knex: Knex): Promise<{ count: number; oldestAgeMs: number }> {
		const row = await knex(this.table)
			.whereNull("sent_at")
			.select(
				knex.raw("count(*)::int AS count"),
				knex.raw(
					"coalesce(extract(epoch from now() - min(created_at)) * 1000, 0)::float8 AS age",
				),
			)
			.first();
		return { count: Number(row?.count ?? 0), oldestAgeMs: Number(row?.age ?? 0) };
	}
}

/** A value written into SQL: only ever a safe integer. */
function integer(n: number): string {
	if (!Number.isSafeInteger(n)) throw new TypeError(`not an integer: ${n}`);
	return String(n);
}
