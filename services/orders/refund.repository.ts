import type { Knex } from "knex";
import { runSql, Sql, sql } from "../../lib/db/sql";
import { fromJson, OrderJson, OrderRow } from "./order.repository";

/**
 * Locks one of the user's orders for a status change. Concurrent refunds of the same order
 * queue on this lock and each reads the status the one before it committed, so exactly one
 * finds it FINISHED.
 */
export async function lockUserOrder(
	trx: Knex.Transaction,
	userId: number,
	id: string,
): Promise<OrderRow | undefined> {
	return trx("orders").where({ id, user_id: userId }).forUpdate().first();
}

/**
 * FINISHED → REFUNDING and the refund request (an outbox row) in ONE statement, on an order
 * the caller has locked and checked. A new refund is a fresh start for the stuck-order sweeper.
 */
export async function markRefunding(
	trx: Knex.Transaction,
	id: string,
	request: Sql,
): Promise<OrderRow> {
	const rows = await runSql<OrderRow>(
		trx,
		sql`WITH o AS (
			UPDATE orders SET status = 'REFUNDING', updated_at = now(), sweep_attempts = 0, next_sweep_at = NULL
			 WHERE id = ${id} AND status = 'FINISHED'
			RETURNING *
		), m AS (${request})
		SELECT * FROM o`,
	);
	return rows[0];
}

/**
 * Records refund results in the inbox and applies the new REFUNDED ones — only
 * REFUNDING → REFUNDED — in ONE statement. A message without `refundedOrderId` (a refusal)
 * is recorded and changes nothing. Returns the new message ids and the orders that changed.
 */
export async function applyRefundResults(
	db: Knex,
	messages: { messageId: string; refundedOrderId?: string }[],
	inbox: Sql,
): Promise<{ fresh: Set<string>; changed: OrderRow[] }> {
	if (!messages.length) return { fresh: new Set(), changed: [] };
	const refunded = messages.flatMap(m =>
		m.refundedOrderId === undefined ? [] : [{ ...m, orderId: m.refundedOrderId }],
	);
	const messageIds = refunded.map(m => m.messageId);
	const orderIds = refunded.map(m => m.orderId);
	const rows = await runSql<{ fresh: string[]; changed: OrderJson[] }>(
		db,
		sql`WITH fresh AS (${inbox}),
		r AS (
			SELECT r.* FROM unnest(${messageIds}::text[], ${orderIds}::uuid[]) AS r(message_id, id)
			 WHERE r.message_id IN (SELECT message_id FROM fresh)
		),
		changed AS (
			UPDATE orders o SET status = 'REFUNDED', updated_at = now()
			  FROM r WHERE o.id = r.id AND o.status = 'REFUNDING'
			RETURNING o.*
		)
		SELECT (SELECT coalesce(array_agg(message_id), '{}') FROM fresh) AS fresh,
		       (SELECT coalesce(json_agg(changed), '[]') FROM changed) AS changed`,
	);
	return { fresh: new Set(rows[0].fresh), changed: rows[0].changed.map(fromJson) };
}
