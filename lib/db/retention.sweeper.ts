import type { Knex } from "knex";
import type { Logger } from "moleculer";
import type { Config } from "../config";
import { Sweeper } from "./sweeper";

/** What the retention sweep deletes, and how much per statement. */
export interface RetentionPolicy {
	/** Inbox rows (handled message ids) older than this are deleted. */
	inboxMs: number;
	/** Idempotency keys (and their stored first responses) older than this are deleted. */
	idempotencyMs: number;
	/** Sent outbox rows older than this are deleted; unsent rows never are. */
	sentOutboxMs: number;
	/** Rows per DELETE: each batch is its own short transaction. */
	batchSize: number;
	/** Most batches per table and sweep, so one sweep stays bounded after a long pause. */
	maxBatches: number;
}

export const SENT_OUTBOX_RETENTION_MS = 60 * 60 * 1000;

export interface RetentionResult {
	inbox: number;
	idempotencyKeys: number;
	sentOutbox: number;
}

/** Rows of one table past their age, as a condition the table's index can serve. */
interface Target {
	table: string;
	column: string;
	extra?: string;
}

/**
 * Deletes rows past their retention in both services' databases (same tables on each), in
 * batches of `batchSize` from the oldest end, each batch reached through its age index.
 *
 * Why each is safe to forget:
 * - inbox: a message redelivered after its row is gone is still no second effect — payments
 *   keeps one decision per order (order_payments) and answers a repeat with it; orders moves
 *   an order only out of NEW.
 * - idempotency keys: a retry after its key was deleted is a new request (the documented
 *   lifetime of a key); a retry racing the delete either finds the key or inserts it anew in
 *   one statement (see runIdempotent), never an error.
 * - sent outbox rows: the broker has them; they are kept an hour only for inspection.
 */
export async function sweepRetention(
	knex: Knex,
	policy: RetentionPolicy,
): Promise<RetentionResult> {
	const now = Date.now();
	const purge = (t: Target, maxAgeMs: number) =>
		deleteOlderThan(knex, t, new Date(now - maxAgeMs), policy);
	return {
		inbox: await purge({ table: "inbox_messages", column: "received_at" }, policy.inboxMs),
		idempotencyKeys: await purge(
			{ table: "idempotency_keys", column: "created_at" },
			policy.idempotencyMs,
		),
		sentOutbox: await purge(
			{ table: "outbox_messages", column: "sent_at", extra: "sent_at IS NOT NULL" },
			policy.sentOutboxMs,
		),
	};
}

async function deleteOlderThan(
	knex: Knex,
	t: Target,
	before: Date,
	policy: RetentionPolicy,
): Promise<number> {
	const where = `${t.column} < ?${t.extra ? ` AND ${t.extra}` : ""}`;
	let total = 0;
	for (let i = 0; i < policy.maxBatches; i++) {
		// ctid: the physical row address, so one statement deletes exactly the rows its
		// subquery picked from the index, whatever the table's key.
		const deleted: number = (
			await knex.raw(
				`DELETE FROM ${t.table} WHERE ctid = ANY(ARRAY(
					SELECT ctid FROM ${t.table} WHERE ${where} ORDER BY ${t.column} LIMIT ?
				))`,
				[before, policy.batchSize],
			)
		).rowCount;
		total += deleted;
		if (deleted < policy.batchSize) break;
	}
	return total;
}

/** The retention sweep of a service's database, every SWEEP_INTERVAL_MS, one node at a time. */
export function retentionSweeper(
	knex: Knex,
	config: Config,
	logger: Logger,
): Sweeper<RetentionResult> {
	const policy: RetentionPolicy = {
		inboxMs: config.inboxRetentionDays * 24 * 3600_000,
		idempotencyMs: config.idempotencyRetentionHours * 3600_000,
		sentOutboxMs: SENT_OUTBOX_RETENTION_MS,
		batchSize: 1000,
		maxBatches: 100,
	};
	return new Sweeper(knex, "gozon.retention", config.sweepIntervalMs, logger, async () => {
		const deleted = await sweepRetention(knex, policy);
		if (deleted.inbox || deleted.idempotencyKeys || deleted.sentOutbox)
			logger.info("Retention sweep deleted old rows", deleted);
		return deleted;
	});
}
