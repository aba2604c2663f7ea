import { randomUUID } from "crypto";
import type { Knex } from "knex";
import { prepared } from "../db/prepared";
import { Sql, sql, trustedSql } from "../db/sql";
import { noteOutboxInserted, noteOutboxWrite } from "./outbox.writes";

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
	 * messages are written by ONE statement (one round trip, atomic without BEGIN/COMMIT). The
	 * unit of work under way (MessagingRuntime.write) is marked: the relay is woken after it.
	 */
	insertFragment(queue: string, payloads: unknown[]): Sql {
		noteOutboxWrite();
		const messageIds = payloads.map(() => randomUUID());
		const json = payloads.map(p => JSON.stringify(p));
		const messages = payloads.map((payload, i) => ({ queue, messageId: messageIds[i], payload }));
		return sql`INSERT INTO ${trustedSql(this.table)} (message_id, queue, payload)
			      SELECT m.id, ${queue}, m.payload FROM unnest(${messageIds}::uuid[], ${json}::jsonb[]) AS m(id, payload)`.whenRun(
			db => noteOutboxInserted(db, messages),
		);
	}

	/**
	 * Locks up to `limit` unsent rows. SKIP LOCKED lets any number of relays run side by side:
	 * each claims rows the others have not, and a crashed relay's rows come back on rollback.
	 */
	async claim(trx: Knex.Transaction, limit: number, minAgeMs = 0): Promise<OutboxMessage[]> {
		const rows = await prepared<{
			id: number;
			message_id: string;
			queue: string;
			payload: unknown;
			headers: Record<string, unknown> | null;
		}>(
			"outbox.claim",
			`SELECT id, message_id, queue, payload, headers FROM ${this.table}
			  WHERE sent_at IS NULL AND created_at <= now() - make_interval(secs => ?)
			  ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
		).rows(trx, [minAgeMs / 1000, limit]);
		return rows.map(r => ({
			id: r.id,
			messageId: r.message_id,
			queue: r.queue,
			payload: r.payload,
			headers: r.headers,
		}));
	}

	/**
	 * Whether any row is unsent: one statement on its own, for the relay's fallback poll, which
	 * at idle finds nothing and so need not pay a transaction (BEGIN, claim, COMMIT) to say so.
	 */
	async hasPending(knex: Knex, minAgeMs = 0): Promise<boolean> {
		const [row] = await prepared<{ pending: boolean }>(
			"outbox.has-pending",
			`SELECT EXISTS (SELECT 1 FROM ${this.table}
			  WHERE sent_at IS NULL AND created_at <= now() - make_interval(secs => ?)) AS pending`,
		).rows(knex, [minAgeMs / 1000]);
		return row.pending;
	}

	async markSent(trx: Knex.Transaction, ids: number[]): Promise<void> {
		await prepared(
			"outbox.mark-sent",
			`UPDATE ${this.table} SET sent_at = now() WHERE id = ANY(?::bigint[])`,
		).rows(trx, [ids]);
	}

	/** Marks rows sent by message id, in one statement of its own (no transaction around it). */
	async markSentByMessageId(knex: Knex, messageIds: string[]): Promise<void> {
		await prepared(
			"outbox.mark-sent-by-message-id",
			`UPDATE ${this.table} SET sent_at = now() WHERE message_id = ANY(?::uuid[]) AND sent_at IS NULL`,
		).rows(knex, [messageIds]);
	}

	/** Unsent rows and the age of the oldest, for metrics and tests. */
	async pending(knex: Knex): Promise<{ count: number; oldestAgeMs: number }> {
		const row = await knex(this.table)
			.whereNull("sent_at")
			.select(
				knex.raw("count(*)::int AS count"),
				knex.raw("coalesce(extract(epoch from now() - min(created_at)) * 1000, 0)::float8 AS age"),
			)
			.first();
		return { count: Number(row?.count ?? 0), oldestAgeMs: Number(row?.age ?? 0) };
	}
}
