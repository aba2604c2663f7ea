import type { Knex } from "knex";
import type { CancelReason, OrderStatus, PaymentResult } from "../../lib/contracts";
import { prepared } from "../../lib/db/prepared";

export interface OrderRow {
	seq: number;
	id: string;
	user_id: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancel_reason: CancelReason | null;
	created_at: Date;
	updated_at: Date;
}

export interface Order {
	id: string;
	userId: number;
	amount: number;
	description: string;
	status: OrderStatus;
	cancelReason?: CancelReason;
	createdAt: string;
	updatedAt: string;
}

export function toOrder(row: OrderRow): Order {
	const order: Order = {
		id: row.id,
		userId: row.user_id,
		amount: row.amount,
		description: row.description,
		status: row.status,
		createdAt: row.created_at.toISOString(),
		updatedAt: row.updated_at.toISOString(),
	};
	if (row.cancel_reason) order.cancelReason = row.cancel_reason;
	return order;
}

/**
 * Inserts orders and their payment requests (outbox rows, one per order, in the same order) in
 * ONE statement: all the rows commit together or not at all, in one round trip. Returns the
 * stored orders, in no particular order.
 */
export async function insertOrdersWithRequests(
	db: Knex | Knex.Transaction,
	orders: { id: string; userId: number; amount: number; description: string }[],
	requests: { sql: string; bindings: unknown[] },
): Promise<OrderRow[]> {
	const statement = prepared<OrderRow>(
		"orders.insert",
		`WITH o AS (
			INSERT INTO orders (id, user_id, amount, description)
			SELECT * FROM unnest(?::uuid[], ?::bigint[], ?::bigint[], ?::text[])
			RETURNING *
		), m AS (${requests.sql})
		SELECT * FROM o`,
	);
	return statement.rows(db, [
		orders.map(o => o.id),
		orders.map(o => o.userId),
		orders.map(o => o.amount),
		orders.map(o => o.description),
		...requests.bindings,
	]);
}

/** The insertion position of a user's order, for "older than" pages; undefined if not theirs. */
export async function findOrderSeq(knex: Knex, userId: number, id: string): Promise<number | undefined> {
	const row = await knex("orders").where({ id, user_id: userId }).first("seq");
	return row?.seq;
}

/**
 * Records the result messages in the inbox and applies the new ones — NEW → FINISHED or
 * NEW → CANCELLED, never out of a final status — in ONE statement (atomic, one round trip).
 * Returns how many messages were new, and the orders that actually changed.
 */
export async function applyResults(
	db: Knex,
	messages: { messageId: string; result: PaymentResult }[],
	inbox: { sql: string; bindings: unknown[] },
): Promise<{ fresh: number; changed: OrderRow[] }> {
	if (!messages.length) return { fresh: 0, changed: [] };
	const rows = await prepared<Record<string, any>>(
		"orders.apply-results",
		`WITH fresh AS (${inbox.sql}),
		r AS (
			SELECT r.* FROM unnest(?::text[], ?::uuid[], ?::text[], ?::text[]) AS r(message_id, id, status, reason)
			 WHERE r.message_id IN (SELECT message_id FROM fresh)
		),
		changed AS (
			UPDATE orders o SET status = r.status, cancel_reason = r.reason, updated_at = now()
			  FROM r WHERE o.id = r.id AND o.status = 'NEW'
			RETURNING o.*
		)
		SELECT (SELECT count(*) FROM fresh)::int AS fresh, (SELECT coalesce(json_agg(changed), '[]') FROM changed) AS changed`,
	).rows(db, [
		...inbox.bindings,
		messages.map(m => m.messageId),
		messages.map(m => m.result.orderId),
		messages.map(m => (m.result.status === "PAID" ? "FINISHED" : "CANCELLED")),
		messages.map(m => m.result.reason ?? null),
	]);
	const changed = (rows[0].changed as Record<string, any>[]).map(r => ({
		...r,
		created_at: new Date(r.created_at),
		updated_at: new Date(r.updated_at),
	})) as OrderRow[];
	return { fresh: rows[0].fresh, changed };
}
